#pragma once
// A response body produced piece by piece, for answers too large to hold whole (a CIM-XML
// enumeration of thousands of instances). The session sends each piece as one HTTP/1.1 chunk
// as soon as it is made, so memory stays at one piece whatever the body's size.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vsnapd::server {

/// The rest of a response body. Producing a piece may call providers, so `next` runs on the
/// blocking executor (router::next_piece), one call at a time; the object is not thread-safe.
class body_source {
 public:
  virtual ~body_source() = default;

  /// Replaces `piece` with the next part of the body (a few tens of KiB).
  /// @return true when `piece` holds a part; false once the body has ended, completely or not
  /// (then `failed()` tells which).
  virtual bool next(std::string& piece) = 0;

  /// True when the next `next` only hands out what is already made (no provider call), so it
  /// may run on the I/O thread without the hop to the blocking executor.
  virtual bool ready() const = 0;

  /// After `next` returned false: true when the body stopped before its end (an error after the
  /// headers went out). The client must then not see a complete, wrong message.
  virtual bool failed() const = 0;

  /// The trailer field names this body can report ("" for none), declared in `Trailer:` when the
  /// client sent `TE: trailers`.
  virtual std::string_view trailer_names() const = 0;

  /// After `next` returned false: the trailer fields (names as in `trailer_names`).
  virtual std::vector<std::pair<std::string, std::string>> trailers() const = 0;
};

}  // namespace vsnapd::server

#pragma once
// Open WS-Enumeration contexts (DSP0226 section 8): the object-manager cursor of each enumeration,
// owned here between Pull requests so memory stays bounded by the provider's batch, not by the
// result size.
//
// A request checks a context out (`take`), works on it without holding the table lock, and
// checks it back in (`put_back`), which restarts its expiry. A context that is checked out
// cannot be taken twice (two concurrent Pulls on one context are a client error). Contexts
// expire `idle_expiry` after their last use unless renewed; each user may hold at most
// `max_per_user` contexts, so one client cannot exhaust memory.
// Thread-safe: every member may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cimom/object_manager.hpp"

namespace vsnapd::server::wsman {

using clock = std::chrono::steady_clock;

/// What an enumeration returns per item.
enum class enumeration_mode : std::uint8_t { objects, eprs, objects_and_eprs };

/// One open enumeration.
struct enumeration_context {
  std::string user;  ///< the owner; other users cannot use the context
  std::unique_ptr<cim::named_instance_cursor> cursor;
  /// Items read from the cursor but not yet sent (a Pull stopped by MaxCharacters or the
  /// envelope limit leaves the rest here).
  std::vector<cim::named_instance> pending;
  bool cursor_done = false;  ///< the cursor reported its end
  enumeration_mode mode = enumeration_mode::objects;
  std::uint8_t style = 0;  ///< uri_style of the Enumerate request, for the items' URIs
  std::string ns;          ///< the namespace of the enumeration
  std::uint64_t sent = 0;  ///< items sent so far
  /// Absolute expiry requested by the client (wsen:Expires); nullopt: the table's idle expiry.
  std::optional<clock::time_point> expires_at;
};

/// Outcome of take() when no context is returned.
enum class take_status : std::uint8_t { ok, unknown, busy };

class enumeration_table {
 public:
  /// @param max_per_user open contexts one user may hold. @param idle_expiry how long an
  /// unused context lives.
  enumeration_table(std::size_t max_per_user, clock::duration idle_expiry);

  /// Stores `ctx` and @return its id ("uuid:..."), or nullopt when the user holds
  /// max_per_user contexts already (after dropping expired ones).
  std::optional<std::string> add(std::unique_ptr<enumeration_context> ctx, clock::time_point now);

  /// Checks out the context `id` owned by `user`. @return it, or nullptr with `status` saying
  /// why (unknown or expired or another user's: `unknown`; in use by another request: `busy`).
  std::unique_ptr<enumeration_context> take(std::string_view id, std::string_view user,
                                            clock::time_point now, take_status& status);

  /// Checks a context back in after a request used it; its idle expiry restarts at `now`.
  void put_back(std::string_view id, std::unique_ptr<enumeration_context> ctx,
                clock::time_point now);

  /// Drops a checked-out context for good (its enumeration ended or failed).
  void erase_checked_out(std::string_view id);

  /// Releases context `id` of `user` (wsen:Release). @return false when unknown or busy.
  bool release(std::string_view id, std::string_view user, clock::time_point now);

  /// The time `id` of `user` will expire, after optionally setting a new absolute expiry
  /// (wsen:Renew with Expires; nullopt restarts the idle expiry). nullopt when unknown.
  std::optional<clock::time_point> renew(std::string_view id, std::string_view user,
                                         std::optional<clock::time_point> expires,
                                         clock::time_point now);

  /// The time `id` of `user` will expire (wsen:GetStatus); nullopt when unknown.
  std::optional<clock::time_point> status(std::string_view id, std::string_view user,
                                          clock::time_point now);

  /// Drops every expired context that is not checked out. Called by add(); public for tests.
  void sweep(clock::time_point now);

  /// Open contexts (checked out or not).
  std::size_t size() const;

  clock::duration idle_expiry() const { return idle_expiry_; }

 private:
  struct slot {
    std::unique_ptr<enumeration_context> ctx;  ///< null while checked out
    std::string user;
    clock::time_point last_used;
    std::optional<clock::time_point> expires_at;
  };
  clock::time_point expiry_of(const slot& s) const;

  const std::size_t max_per_user_;
  const clock::duration idle_expiry_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, slot> slots_;
  std::unordered_map<std::string, std::size_t> per_user_;
};

}  // namespace vsnapd::server::wsman

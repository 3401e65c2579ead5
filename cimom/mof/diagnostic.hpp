#pragma once
// MOF compiler diagnostics: every message carries the file, line and column it is about and
// says what was expected, so `vsnapd mof check` output can be fed to an editor's error list.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim::mof {

/// One loaded MOF file. The text stays alive (and unmoved) for the whole compilation, so tokens,
/// identifiers and undecoded strings are views into it rather than copies.
struct source_file {
  std::string path;  ///< as given or as resolved from an include pragma
  std::string text;
};

/// Where something is: a file index into the source_manager, a 1-based line and a 1-based
/// byte column.
struct source_location {
  std::uint32_t file = 0;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

/// Owns the text of every file a compilation reads. Files are never removed or moved.
class source_manager {
 public:
  /// Adds a file whose text is already in memory (tests, stdin). @return its index.
  std::uint32_t add(std::string path, std::string text);
  /// The file at @p index; precondition: index < size().
  const source_file& file(std::uint32_t index) const { return files_[index]; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(files_.size()); }

 private:
  std::deque<source_file> files_;  // deque: references stay valid as files are added
};

enum class severity : std::uint8_t { warning, error };

/// "warning" or "error".
std::string_view to_string(severity s);

struct diagnostic {
  severity level = severity::error;
  source_location where;
  std::string message;  ///< says what was found and what was expected
};

/// Collects diagnostics in the order they were found.
class diagnostics {
 public:
  void error(source_location where, std::string message);
  void warning(source_location where, std::string message);

  const std::vector<diagnostic>& all() const { return items_; }
  std::size_t error_count() const { return errors_; }
  std::size_t warning_count() const { return items_.size() - errors_; }

 private:
  std::vector<diagnostic> items_;
  std::size_t errors_ = 0;
};

/// "path:line:col: error: message", the format compilers and editors agree on.
std::string format(const diagnostic& d, const source_manager& sources);

}  // namespace vsnapd::cim::mof

#pragma once
// Command-line parsing for vsnapd-img in qemu-img's spelling: short options that may be bundled
// (`-qp`) or carry a value attached or separate (`-fqcow2`, `-f qcow2`), long options with `=` or a
// separate value (`--output=json`, `--output json`), `--` ending the options, and options allowed
// after positional arguments (qemu-img uses getopt with permutation).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::img {

/// One option a verb accepts. A short or a long name may be absent ('\0' / empty).
struct option_spec {
  char short_name = '\0';
  std::string_view long_name;
  bool has_value = false;
  /// The value is optional and only taken from `--name=value` (qemu-img's `--repair[=all]`);
  /// a bare `--name` records an empty value.
  bool optional_value = false;
};

/// Options seen, in order, and the positional arguments.
class parsed_args {
 public:
  /// @return true when the option (by short or long name of its spec) was given at least once.
  [[nodiscard]] bool has(std::string_view key) const;
  /// @return the value of the last occurrence of the option, or nullopt when absent.
  [[nodiscard]] std::optional<std::string> value(std::string_view key) const;
  /// @return how many times a flag was given (e.g. `-r` twice).
  [[nodiscard]] int count(std::string_view key) const;

  std::vector<std::string> positional;

  /// Used by parse_args: records one occurrence under the spec's canonical key.
  void add(std::string key, std::string value) { seen_.emplace_back(std::move(key), std::move(value)); }

 private:
  std::vector<std::pair<std::string, std::string>> seen_;
};

/// The canonical key of a spec: its long name when it has one, else its short letter.
std::string key_of(const option_spec& spec);

/// Parses `args` (the words after the verb) against `specs`.
/// @return the parsed options, or a message such as "unrecognized option '--frob'" in `error`.
struct parse_outcome {
  parsed_args args;
  std::string error;  ///< empty on success
};
parse_outcome parse_args(std::span<const std::string_view> args, std::span<const option_spec> specs);

/// Parses a size with qemu's suffixes: plain bytes, or k/K, M, G, T, P, E (powers of 1024),
/// optionally followed by 'B' or 'iB'.
/// @return the byte count, or nullopt for a malformed or overflowing value.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace vsnapd::img

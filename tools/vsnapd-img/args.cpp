#include "tools/vsnapd-img/args.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace vsnapd::img {

std::string key_of(const option_spec& spec) {
  return spec.long_name.empty() ? std::string(1, spec.short_name) : std::string(spec.long_name);
}

bool parsed_args::has(std::string_view key) const { return count(key) > 0; }

int parsed_args::count(std::string_view key) const {
  return static_cast<int>(
      std::count_if(seen_.begin(), seen_.end(), [&](const auto& kv) { return kv.first == key; }));
}

std::optional<std::string> parsed_args::value(std::string_view key) const {
  for (auto it = seen_.rbegin(); it != seen_.rend(); ++it) {
    if (it->first == key) {
      return it->second;
    }
  }
  return std::nullopt;
}

parse_outcome parse_args(std::span<const std::string_view> args, std::span<const option_spec> specs) {
  parse_outcome out;
  const auto fail = [&](std::string msg) {
    out.error = std::move(msg);
    return std::move(out);
  };
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      // A lone "-" is a positional (qemu-img treats it as a file name too).
      out.args.positional.emplace_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a.starts_with("--")) {
      std::string_view name = a.substr(2);
      std::optional<std::string_view> inline_value;
      if (const auto eq = name.find('='); eq != std::string_view::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const auto spec = std::find_if(specs.begin(), specs.end(),
                                     [&](const option_spec& s) { return s.long_name == name; });
      if (spec == specs.end()) {
        return fail("unrecognized option '--" + std::string(name) + "'");
      }
      if (spec->optional_value) {
        out.args.add(key_of(*spec), std::string(inline_value.value_or("")));
        continue;
      }
      if (!spec->has_value) {
        if (inline_value) {
          return fail("option '--" + std::string(name) + "' doesn't allow an argument");
        }
        out.args.add(key_of(*spec), "");
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          return fail("option '--" + std::string(name) + "' requires an argument");
        }
        inline_value = args[++i];
      }
      out.args.add(key_of(*spec), std::string(*inline_value));
      continue;
    }
    // A bundle of short options; the first one taking a value consumes the rest of the word or
    // the next word.
    for (std::size_t j = 1; j < a.size(); ++j) {
      const char c = a[j];
      const auto spec = std::find_if(specs.begin(), specs.end(),
                                     [&](const option_spec& s) { return s.short_name == c; });
      if (spec == specs.end()) {
        return fail(std::string("invalid option -- '") + c + "'");
      }
      if (!spec->has_value) {
        out.args.add(key_of(*spec), "");
        continue;
      }
      if (j + 1 < a.size()) {
        out.args.add(key_of(*spec), std::string(a.substr(j + 1)));
      } else if (i + 1 < args.size()) {
        out.args.add(key_of(*spec), std::string(args[++i]));
      } else {
        return fail(std::string("option requires an argument -- '") + c + "'");
      }
      break;
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end == text.data()) {
    return std::nullopt;
  }
  std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (suffix.ends_with("iB")) {
    suffix.remove_suffix(2);
  } else if (suffix.size() > 1 && suffix.ends_with("B")) {
    suffix.remove_suffix(1);
  }
  int shift = 0;
  if (suffix.size() > 1) {
    return std::nullopt;
  }
  if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'b': case 'B': shift = 0; break;
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      case 'p': case 'P': shift = 50; break;
      case 'e': case 'E': shift = 60; break;
      default: return std::nullopt;
    }
  }
  if (shift > 0 && n > (UINT64_MAX >> shift)) {
    return std::nullopt;
  }
  return n << shift;
}

}  // namespace vsnapd::img

#include "cimom/mof/diagnostic.hpp"

namespace vsnapd::cim::mof {

std::uint32_t source_manager::add(std::string path, std::string text) {
  files_.push_back(source_file{std::move(path), std::move(text)});
  return static_cast<std::uint32_t>(files_.size() - 1);
}

std::string_view to_string(severity s) {
  switch (s) {
    case severity::warning:
      return "warning";
    case severity::error:
      return "error";
  }
  return "error";
}

void diagnostics::error(source_location where, std::string message) {
  items_.push_back(diagnostic{severity::error, where, std::move(message)});
  ++errors_;
}

void diagnostics::warning(source_location where, std::string message) {
  items_.push_back(diagnostic{severity::warning, where, std::move(message)});
}

std::string format(const diagnostic& d, const source_manager& sources) {
  std::string out;
  if (d.where.file < sources.size()) {
    out = sources.file(d.where.file).path;
  } else {
    out = "<unknown>";
  }
  out += ':';
  out += std::to_string(d.where.line);
  out += ':';
  out += std::to_string(d.where.column);
  out += ": ";
  out += to_string(d.level);
  out += ": ";
  out += d.message;
  return out;
}

}  // namespace vsnapd::cim::mof

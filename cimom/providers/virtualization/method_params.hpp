#pragma once
// Reading the IN parameters the object manager hands a method provider (already converted to
// their declared types): by name, case-insensitively, as DSP0004 names compare.

#include "cimom/name.hpp"
#include "cimom/provider.hpp"

#include <string_view>
#include <vector>

namespace vsnapd::cim::providers::virtualization {

/// The parameter `name`, or nullptr when the client did not send it.
inline const value* param(const std::vector<param_value>& in, std::string_view name) {
  for (const auto& p : in) {
    if (name_equal(p.name, name)) {
      return &p.v;
    }
  }
  return nullptr;
}

/// The reference parameter `name`, or nullptr when absent or NULL.
inline const object_path* ref_param(const std::vector<param_value>& in, std::string_view name) {
  const value* v = param(in, name);
  if (v == nullptr) {
    return nullptr;
  }
  const auto* r = v->get_if<reference>();
  return r != nullptr ? r->get() : nullptr;
}

/// The embedded-instance parameter `name`, or nullptr when absent or NULL.
inline const instance* embedded_param(const std::vector<param_value>& in, std::string_view name) {
  const value* v = param(in, name);
  if (v == nullptr) {
    return nullptr;
  }
  const auto* e = v->get_if<embedded_instance>();
  return e != nullptr ? e->get() : nullptr;
}

}  // namespace vsnapd::cim::providers::virtualization

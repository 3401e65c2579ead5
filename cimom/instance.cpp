#include "cimom/instance.hpp"

#include "cimom/class_decl.hpp"
#include "cimom/name.hpp"

#include <algorithm>

namespace vsnapd::cim {

const value* instance::get(std::string_view name) const {
  for (const auto& p : properties_) {
    if (name_equal(p.name, name)) {
      return &p.v;
    }
  }
  return nullptr;
}

value* instance::get(std::string_view name) {
  for (auto& p : properties_) {
    if (name_equal(p.name, name)) {
      return &p.v;
    }
  }
  return nullptr;
}

instance& instance::set(std::string_view name, value v) {
  if (auto* existing = get(name)) {
    *existing = std::move(v);
  } else {
    properties_.push_back(property_value{std::string(name), std::move(v)});
  }
  return *this;
}

bool instance::erase(std::string_view name) {
  const auto it = std::find_if(properties_.begin(), properties_.end(),
                               [&](const property_value& p) { return name_equal(p.name, name); });
  if (it == properties_.end()) {
    return false;
  }
  properties_.erase(it);
  return true;
}

result<object_path> instance::path(std::string_view ns, const class_decl& cls) const {
  object_path out(std::string(ns), class_name_.empty() ? cls.name : class_name_);
  const auto keys = cls.keys();
  if (keys.empty()) {
    out.set_singleton(true);
    return out;
  }
  for (const auto* key : keys) {
    const value* v = get(key->name);
    if (v == nullptr || v->is_null()) {
      return fail(errc::invalid_parameter,
                  "key property " + key->name + " of " + cls.name + " is missing or NULL");
    }
    out.set_key(key->name, *v);
  }
  return out;
}

bool operator==(const instance& a, const instance& b) {
  if (!name_equal(a.class_name_, b.class_name_) || a.properties_.size() != b.properties_.size()) {
    return false;
  }
  for (const auto& p : a.properties_) {
    const value* other = b.get(p.name);
    if (other == nullptr || !(*other == p.v)) {
      return false;
    }
  }
  return true;
}

}  // namespace vsnapd::cim

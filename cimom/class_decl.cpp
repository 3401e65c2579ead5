#include "cimom/class_decl.hpp"

#include "cimom/name.hpp"

namespace vsnapd::cim {

const parameter_decl* method_decl::parameter(std::string_view n) const {
  for (const auto& p : parameters) {
    if (name_equal(p.name, n)) {
      return &p;
    }
  }
  return nullptr;
}

const property_decl* class_decl::property(std::string_view n) const {
  for (const auto& p : properties) {
    if (name_equal(p.name, n)) {
      return &p;
    }
  }
  return nullptr;
}

property_decl* class_decl::property(std::string_view n) {
  for (auto& p : properties) {
    if (name_equal(p.name, n)) {
      return &p;
    }
  }
  return nullptr;
}

const method_decl* class_decl::method(std::string_view n) const {
  for (const auto& m : methods) {
    if (name_equal(m.name, n)) {
      return &m;
    }
  }
  return nullptr;
}

std::vector<const property_decl*> class_decl::keys() const {
  std::vector<const property_decl*> out;
  for (const auto& p : properties) {
    if (p.is_key()) {
      out.push_back(&p);
    }
  }
  return out;
}

std::vector<const property_decl*> class_decl::references() const {
  std::vector<const property_decl*> out;
  for (const auto& p : properties) {
    if (p.is_reference()) {
      out.push_back(&p);
    }
  }
  return out;
}

}  // namespace vsnapd::cim

#pragma once
// A CIM class (DSP0004 section 5.1): name, superclass, qualifiers, properties and methods. The
// class repository stores classes *resolved*: inherited properties and methods are merged in
// with `class_origin` naming the class that introduced them and `propagated` set, so lookups never
// walk the superclass chain on the request path.

#include "cimom/qualifier.hpp"
#include "cimom/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {

/// A property (or reference) of a class.
struct property_decl {
  std::string name;
  cim_type type = cim_type::string;
  bool is_array = false;
  std::optional<std::uint32_t> array_size;  ///< fixed-size array [n]
  std::string ref_class;                    ///< for references: the class referred to
  std::string embedded_class;               ///< EmbeddedInstance("Class"), for type object
  value default_value;                      ///< typed NULL when no default is given
  qualifier_list qualifiers;
  std::string class_origin;  ///< the class that first declared this property
  bool propagated = false;   ///< inherited unchanged from the superclass

  bool is_key() const { return qualifiers.is_true("Key"); }
  bool is_reference() const { return type == cim_type::reference; }
};

/// A method parameter.
struct parameter_decl {
  std::string name;
  cim_type type = cim_type::string;
  bool is_array = false;
  std::optional<std::uint32_t> array_size;
  std::string ref_class;
  std::string embedded_class;
  qualifier_list qualifiers;

  /// IN defaults to true (DSP0004 IN qualifier); a parameter may be both IN and OUT.
  bool is_in() const {
    const auto* q = qualifiers.find("In");
    return q == nullptr || q->v.get_if<bool>() == nullptr || *q->v.get_if<bool>();
  }
  bool is_out() const { return qualifiers.is_true("Out"); }
};

/// A method (extrinsic operation) of a class.
struct method_decl {
  std::string name;
  cim_type return_type = cim_type::uint32;
  qualifier_list qualifiers;
  std::vector<parameter_decl> parameters;
  std::string class_origin;
  bool propagated = false;

  /// Static methods are invoked on a class path (DSP0004 Static qualifier).
  bool is_static() const { return qualifiers.is_true("Static"); }
  const parameter_decl* parameter(std::string_view name) const;
};

/// A class declaration, local (as written in MOF) or resolved (as the repository stores it).
struct class_decl {
  std::string name;
  std::string superclass;  ///< empty for a root class
  qualifier_list qualifiers;
  std::vector<property_decl> properties;
  std::vector<method_decl> methods;

  const property_decl* property(std::string_view name) const;
  property_decl* property(std::string_view name);
  const method_decl* method(std::string_view name) const;
  /// Key properties, in declaration order.
  std::vector<const property_decl*> keys() const;
  /// Reference properties, in declaration order (the ends of an association).
  std::vector<const property_decl*> references() const;

  bool is_association() const { return qualifiers.is_true("Association"); }
  bool is_indication() const { return qualifiers.is_true("Indication"); }
  bool is_abstract() const { return qualifiers.is_true("Abstract"); }
};

}  // namespace vsnapd::cim

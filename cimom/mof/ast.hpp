#pragma once
// The MOF abstract syntax tree: what the parser produces and the compiler lowers into the CIM
// data model. Names and undecoded text are views into the source_manager's files; decoded
// strings live in the parse arena. Nothing here is resolved (no inheritance, no type checks).

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "cimom/mof/diagnostic.hpp"

namespace vsnapd::cim::mof::ast {

/// MOF data types (DSP0004 dataType), plus `reference` for `ClassName REF`.
enum class data_type : std::uint8_t {
  boolean,
  uint8,
  sint8,
  uint16,
  sint16,
  uint32,
  sint32,
  uint64,
  sint64,
  real32,
  real64,
  char16,
  string,
  datetime,
  reference,
};

/// The MOF keyword ("uint32", "string", ...), or "ref" for references.
std::string_view to_string(data_type t);

/// A literal as written, before it is checked against a type. Integers keep sign and
/// magnitude separately so that range checks against every integer type are exact.
struct value {
  enum class kind : std::uint8_t { null, boolean, integer, real, string, char16, alias, array };
  kind k = kind::null;
  bool negative = false;  ///< integer: the literal had a '-' sign
  bool overflow = false;  ///< integer: the magnitude does not fit in 64 bits
  bool boolean = false;
  std::uint64_t magnitude = 0;  ///< integer: absolute value
  double real = 0;
  char16_t ch = 0;
  std::string_view text;  ///< string: decoded text; alias: name; integer/real: the lexeme
  source_location where;
  std::vector<value> elements;  ///< array
};

/// Qualifier flavors as a bit set.
enum flavor_bits : std::uint8_t {
  flavor_enable_override = 1,
  flavor_disable_override = 2,
  flavor_to_subclass = 4,
  flavor_restricted = 8,
  flavor_translatable = 16,
};

/// Qualifier scopes as a bit set (DSP0004 metaElement).
enum scope_bits : std::uint16_t {
  scope_class = 1,
  scope_association = 2,
  scope_indication = 4,
  scope_qualifier = 8,
  scope_property = 16,
  scope_reference = 32,
  scope_method = 64,
  scope_parameter = 128,
  scope_any = 0xFF,
};

/// `Name`, `Name(value)`, `Name{a, b}` with optional `: flavor ...` (old MOF syntax).
struct qualifier {
  std::string_view name;
  std::optional<value> argument;
  std::uint8_t flavors = 0;
  source_location where;
};

using qualifier_list = std::vector<qualifier>;

struct type_ref {
  data_type type = data_type::string;
  std::string_view ref_class;  ///< for references: the referenced class
  bool is_array = false;
  std::uint32_t array_size = 0;  ///< 0 = unbounded
  source_location where;
};

struct property {
  qualifier_list qualifiers;
  type_ref type;
  std::string_view name;
  std::optional<value> default_value;
  source_location where;  ///< of the name
};

struct parameter {
  qualifier_list qualifiers;
  type_ref type;
  std::string_view name;
  std::optional<value> default_value;
  source_location where;
};

struct method {
  qualifier_list qualifiers;
  type_ref return_type;
  std::string_view name;
  std::vector<parameter> parameters;
  source_location where;
};

/// Which keyword introduced a class declaration (DSP0004 3 allows `association` and
/// `indication` as well as the Association/Indication qualifiers on `class`).
enum class class_keyword : std::uint8_t { class_, association, indication };

struct class_decl {
  qualifier_list qualifiers;
  class_keyword keyword = class_keyword::class_;
  std::string_view name;
  std::string_view superclass;
  std::string_view alias;
  std::vector<property> properties;  ///< in declaration order, references included
  std::vector<method> methods;
  source_location where;  ///< of the class name
  source_location superclass_where;
};

struct property_value {
  qualifier_list qualifiers;
  std::string_view name;
  value val;
  source_location where;
};

struct instance_decl {
  qualifier_list qualifiers;
  std::string_view class_name;
  std::string_view alias;
  std::vector<property_value> values;
  source_location where;  ///< of the class name
  source_location alias_where;
};

struct qualifier_decl {
  std::string_view name;
  type_ref type;
  std::optional<value> default_value;
  std::uint16_t scopes = 0;
  std::uint8_t flavors = 0;
  source_location where;
};

/// `#pragma name("value")`.
struct pragma {
  std::string_view name;
  std::string_view value;
  source_location where;
  source_location value_where;
};

}  // namespace vsnapd::cim::mof::ast

#pragma once
// A small programmatic class hierarchy for query tests (the schema MOF lands separately):
//   Q_Base (key Name; one property of every CIM type, an array, a reference, an embedded instance)
//     Q_Child (adds ChildOnly)
//       Q_GrandChild
//   Q_Other (unrelated root class, key Id)
// in namespace "root/test".

#include "cimom/class_repository.hpp"
#include "cimom/instance.hpp"
#include "tests/cimom/query/catch_result.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace vsnapd::cim::test {

inline constexpr std::string_view query_ns = "root/test";

inline property_decl prop(std::string name, cim_type type, bool key = false,
                          bool is_array = false) {
  property_decl p;
  p.name = std::move(name);
  p.type = type;
  p.is_array = is_array;
  if (key) {
    p.qualifiers.set(qualifier{"Key", value(scalar(true))});
  }
  return p;
}

inline std::unique_ptr<class_repository> make_query_repository() {
  auto repo = std::make_unique<class_repository>();
  REQUIRE(repo->add_namespace(query_ns));
  class_decl base;
  base.name = "Q_Base";
  base.properties = {
      prop("Name", cim_type::string, true), prop("Caption", cim_type::string),
      prop("U8", cim_type::uint8),          prop("S8", cim_type::sint8),
      prop("U16", cim_type::uint16),        prop("S16", cim_type::sint16),
      prop("U32", cim_type::uint32),        prop("S32", cim_type::sint32),
      prop("U64", cim_type::uint64),        prop("S64", cim_type::sint64),
      prop("R32", cim_type::real32),        prop("R64", cim_type::real64),
      prop("Flag", cim_type::boolean),      prop("Letter", cim_type::char16),
      prop("When", cim_type::datetime),     prop("Span", cim_type::datetime),
      prop("Parent", cim_type::reference),  prop("Tags", cim_type::string, false, true),
      prop("Emb", cim_type::object)};
  base.property("Parent")->ref_class = "Q_Base";
  base.property("Emb")->embedded_class = "Q_Base";
  REQUIRE(repo->add_class(query_ns, base));
  class_decl child;
  child.name = "Q_Child";
  child.superclass = "Q_Base";
  child.properties = {prop("ChildOnly", cim_type::string)};
  REQUIRE(repo->add_class(query_ns, child));
  class_decl grand;
  grand.name = "Q_GrandChild";
  grand.superclass = "Q_Child";
  REQUIRE(repo->add_class(query_ns, grand));
  class_decl other;
  other.name = "Q_Other";
  other.properties = {prop("Id", cim_type::uint32, true), prop("Name", cim_type::string)};
  REQUIRE(repo->add_class(query_ns, other));
  return repo;
}

}  // namespace vsnapd::cim::test

#pragma once
// The syntax tree of a WHERE clause, shared by WQL and CQL. Built by the parser, read by the
// evaluator; immutable once built.

#include "cimom/query/detail/like.hpp"
#include "cimom/value.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vsnapd::cim::ql {

/// The WMI system properties we evaluate (`__CLASS` etc.); `none` for an ordinary property.
enum class system_property : std::uint8_t {
  none,
  class_,      ///< __CLASS: the instance's class name
  superclass,  ///< __SUPERCLASS: its superclass, NULL for a root class
  dynasty,     ///< __DYNASTY: the root class of its hierarchy
  namespace_,  ///< __NAMESPACE: the namespace, '\' separated as WMI prints it
  relpath,     ///< __RELPATH: the model path
  path,        ///< __PATH: namespace and model path
  genus,       ///< __GENUS: 2 (an instance)
  this_,       ///< __THIS: the instance itself (only with ISA)
};

/// One side of a comparison: a property of the instance, or a literal.
struct operand {
  enum class kind : std::uint8_t { property, literal };
  kind k = kind::literal;
  // property
  std::string name;   ///< property name (or the system property's spelling)
  std::string scope;  ///< CQL `Class::prop`: the property only exists for instances ISA scope
  system_property sys = system_property::none;
  // literal: string, uint64 (non-negative integers), sint64 (negative), real64, boolean, or NULL
  value lit;
  bool lit_is_null = false;
  std::size_t column = 0;  ///< 1-based column in the query text, for diagnostics
};

/// Node kinds: logical connectives and predicates.
enum class node : std::uint8_t {
  and_,         ///< every child is true
  or_,          ///< some child is true
  not_,         ///< the one child is false
  eq,           ///< lhs = rhs
  ne,           ///< lhs <> rhs (or !=)
  lt,           ///< lhs < rhs
  gt,           ///< lhs > rhs
  le,           ///< lhs <= rhs
  ge,           ///< lhs >= rhs
  is_null,      ///< lhs IS NULL
  is_not_null,  ///< lhs IS NOT NULL
  like,         ///< lhs LIKE pattern (rhs: the pattern as a string literal)
  not_like,     ///< lhs NOT LIKE pattern
  isa,          ///< lhs ISA class_name
};

/// One node of a WHERE tree.
struct expr {
  node n = node::and_;
  std::vector<expr> children;
  operand lhs;
  operand rhs;
  std::string class_name;               ///< ISA: the class
  std::optional<like_pattern> pattern;  ///< LIKE / NOT LIKE: rhs compiled
  std::size_t column = 0;               ///< 1-based column of the operator, for diagnostics
};

}  // namespace vsnapd::cim::ql

#pragma once
// WQL and CQL queries (issue 3): parsing, WHERE evaluation against instances, and projection.
//
// Two languages share one AST:
// - WQL, as Windows clients write it (MS-WMI 2.2.1): `SELECT props FROM Class [WHERE ...]`,
//   `ASSOCIATORS OF {path} [WHERE kw...]`, `REFERENCES OF {path} [WHERE kw...]`. Keywords and
//   names are case-insensitive, and so are string comparisons and LIKE (Windows behaviour). LIKE
//   patterns use `%`, `_` and `[...]` / `[^...]` sets with ranges.
// - The CQL subset (DSP0202) that `wsman`, `wsl` and CIM-XML ExecQuery clients send: one class in
//   FROM with an optional alias, `alias.prop`, `Class::prop`, `ISA Class`, the same operators,
//   CQL literals (hex `0x1F`, binary `101b`). String comparisons are case-sensitive (DSP0202), and
//   LIKE takes DSP0202's basic regular expression (`.`, `x*`, `[...]`, `\` escapes).
// Comparisons use SQL three-valued logic: anything compared with NULL is unknown, and a WHERE
// clause selects an instance only when it is true. `prop = NULL` / `prop <> NULL` mean IS NULL /
// IS NOT NULL, as WMI reads them.
//
// What is refused with errc::invalid_query naming the construct and its column: joins, aggregates,
// functions, ORDER BY / GROUP BY / HAVING, event queries (WITHIN), schema queries (Meta_Class),
// subqueries, IN / BETWEEN, arithmetic, array indexing and quantifiers (ANY / EVERY),
// embedded-object property access, LIKE ... ESCAPE, and comparisons on array properties
// (detected by validate() or at evaluation, since only the schema knows them).
//
// Thread safety: a parsed query is immutable; any number of threads may evaluate it at once.

#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {

class class_repository;
struct class_decl;

namespace ql {
struct expr;
}

/// The query languages we accept.
enum class query_language : std::uint8_t {
  wql,  ///< WMI Query Language (MS-WMI 2.2.1)
  cql,  ///< CIM Query Language (DSP0202), the subset clients send
};
inline constexpr std::array all_query_languages{query_language::wql, query_language::cql};

/// The canonical language name: "WQL" or "DMTF:CQL" (the name CIM-XML ExecQuery carries).
std::string_view to_string(query_language l);

/// Parses a CIM-XML QueryLanguage name, case-insensitively: "WQL", "DMTF:CQL" or "CQL" (the
/// name older sblim-sfcb clients send). @return nullopt for anything else.
std::optional<query_language> parse_query_language(std::string_view name);

/// Maps a WS-Man Enumerate filter dialect URI to a language, case-insensitively: WQL as Microsoft
/// (`http://schemas.microsoft.com/wbem/wsman/1/WQL`) and OpenPegasus
/// (`http://schemas.dmtf.org/wbem/wsman/1/WQL`) write it, CQL
/// `http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf`. @return nullopt for other dialects
/// (selector and association filters are not query languages).
std::optional<query_language> query_language_from_dialect(std::string_view uri);

/// What a query asks for.
enum class query_kind : std::uint8_t {
  select,          ///< SELECT ... FROM Class [WHERE ...]
  associators_of,  ///< WQL ASSOCIATORS OF {path} [WHERE ...]
  references_of,   ///< WQL REFERENCES OF {path} [WHERE ...]
};
inline constexpr std::array all_query_kinds{query_kind::select, query_kind::associators_of,
                                            query_kind::references_of};
/// "SELECT", "ASSOCIATORS OF", "REFERENCES OF".
std::string_view to_string(query_kind k);

/// The source object and WHERE keywords of ASSOCIATORS OF / REFERENCES OF. Empty strings mean
/// the keyword was not given. REFERENCES OF never sets assoc_class, result_role or
/// required_assoc_qualifier (the parser refuses them there, as WMI does).
struct association_query {
  /// The `{...}` object path, host and namespace kept. Key values are as the text wrote them
  /// (quoted -> string, numbers -> uint64/sint64/real64, TRUE/FALSE -> boolean): coerce them to
  /// the schema's key types as for any parsed path.
  object_path source;
  std::string assoc_class;               ///< AssocClass = X
  std::string result_class;              ///< ResultClass = X
  std::string role;                      ///< Role = P
  std::string result_role;               ///< ResultRole = P
  std::string required_qualifier;        ///< RequiredQualifier = Q
  std::string required_assoc_qualifier;  ///< RequiredAssocQualifier = Q
  bool class_defs_only = false;          ///< ClassDefsOnly: return class definitions, not instances
  bool keys_only = false;                ///< KeysOnly: return paths (key properties) only
  bool schema_only = false;              ///< SchemaOnly: schema (class) associations only
};

/// A parsed query. Cheap to copy (the WHERE tree is shared and immutable).
class query {
 public:
  query_language language() const { return language_; }
  query_kind kind() const { return kind_; }
  /// The query text as given.
  const std::string& text() const { return text_; }

  /// SELECT: the class after FROM, as written. Empty for ASSOCIATORS OF / REFERENCES OF.
  const std::string& from_class() const { return from_class_; }
  /// SELECT: the CQL alias of the FROM class (`FROM CIM_X AS cs`), or empty.
  const std::string& alias() const { return alias_; }
  /// SELECT: true for `SELECT *` (or CQL `alias.*`).
  bool selects_all() const { return selects_all_; }
  /// SELECT: the selected property names without alias or class scope, in query order, each
  /// once; empty when selects_all(). May include WMI system properties such as `__PATH`.
  const std::vector<std::string>& selected_properties() const { return selected_; }
  /// True when a SELECT has a WHERE clause.
  bool has_where() const { return where_ != nullptr; }

  /// ASSOCIATORS OF / REFERENCES OF: the source path and keywords.
  /// Precondition: kind() != query_kind::select (VSNAPD_CHECK).
  const association_query& association() const;

  /// Checks the SELECT against the schema before any instance is read: the FROM class exists
  /// (errc::invalid_class), every property named in the SELECT list and WHERE clause exists in it
  /// or is a supported WMI system property, no array property is compared, and every literal
  /// converts to the type of the property it is compared with (errc::invalid_query).
  /// Properties scoped to a subclass (`Sub::P`) are looked up in that subclass, which must derive
  /// from the FROM class.
  /// @return success for ASSOCIATORS OF / REFERENCES OF (nothing to check here).
  [[nodiscard]] result<void> validate(const class_repository& repo, std::string_view ns) const;

  /// Evaluates the WHERE clause against `inst` (an instance of the FROM class or a subclass, in
  /// namespace `ns`; `repo` answers ISA and the system properties __SUPERCLASS, __DYNASTY,
  /// __RELPATH and __PATH). Properties the instance does not carry are NULL.
  /// @return true when selected (always, without WHERE; a NULL/unknown result is false), or
  /// errc::invalid_query when a comparison is impossible for the instance's actual values
  /// (an array property, a literal that does not convert to the property's type), or
  /// errc::invalid_class when a system property needs a class `repo` does not have.
  [[nodiscard]] result<bool> matches(const instance& inst, const class_repository& repo,
                                     std::string_view ns) const;

  /// The projection of `inst` to the SELECT list: the selected properties the instance carries
  /// plus the key properties of `cls` (its resolved class), so the result still has a path. Order
  /// follows the instance. `SELECT *` and ASSOCIATORS OF / REFERENCES OF return a copy.
  /// System properties in the list are not instance properties and are skipped.
  instance project(const instance& inst, const class_decl& cls) const;

 private:
  friend class query_builder;  // the parser fills the fields

  query_language language_ = query_language::wql;
  query_kind kind_ = query_kind::select;
  std::string text_;
  std::string from_class_;
  std::string alias_;
  bool selects_all_ = false;
  std::vector<std::string> selected_;
  std::shared_ptr<const ql::expr> where_;
  std::shared_ptr<const association_query> association_;
};

/// Parses `text` in `language` ("WQL", "DMTF:CQL" or "CQL", case-insensitive).
/// @return the query; errc::query_language_not_supported for another language; errc::invalid_query
/// for a syntax error or an unsupported construct, saying what and at which (1-based) column,
/// e.g. "WQL query, column 24: joins are not supported".
[[nodiscard]] result<query> parse_query(std::string_view language, std::string_view text);

/// The same, with the language already known.
[[nodiscard]] result<query> parse_query(query_language language, std::string_view text);

}  // namespace vsnapd::cim

#pragma once
// ExecQuery (DSP0200 section 5.3.2.20) and WS-Man filtered enumeration: runs a parsed WQL/CQL
// query through the object manager. SELECT enumerates the FROM class polymorphically and filters
// each instance as it streams past, so a query over 100,000 instances holds one batch at a time;
// ASSOCIATORS OF / REFERENCES OF become the association operations with the WHERE keywords as
// their filters.

#include "cimom/object_manager.hpp"
#include "cimom/query/query.hpp"

#include <memory>
#include <string_view>

namespace vsnapd::cim {

/// Runs `q` in `ctx.ns` (a path namespace in ASSOCIATORS OF {...} wins, as for any path).
/// SELECT results are projected to the SELECT list (keys kept); KeysOnly returns key properties.
/// @return errc::invalid_class / errc::invalid_query from validation, errc::not_supported for
/// ClassDefsOnly, SchemaOnly and RequiredAssocQualifier (schema-level results), and any error of
/// the underlying operation.
/// Thread-safety: as the object manager (any thread once registration is done).
[[nodiscard]] result<std::unique_ptr<named_instance_cursor>> exec_query(const object_manager& om,
                                                                        const operation_context& ctx,
                                                                        const query& q);

/// Parses `text` in `language` and runs it (errc::query_language_not_supported, errc::invalid_query
/// from the parser).
[[nodiscard]] result<std::unique_ptr<named_instance_cursor>> exec_query(const object_manager& om,
                                                                        const operation_context& ctx,
                                                                        std::string_view language,
                                                                        std::string_view text);

}  // namespace vsnapd::cim

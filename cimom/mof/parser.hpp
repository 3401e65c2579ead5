#pragma once
// The MOF parser (DSP0004 Annex A grammar, with the DSP0004 3.0 `association` and
// `indication` keywords): one file's tokens to a list of productions. Directives are returned
// as productions too; the compiler acts on `#pragma include` and `#pragma namespace` in order.

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "cimom/mof/arena.hpp"
#include "cimom/mof/ast.hpp"
#include "cimom/mof/diagnostic.hpp"

namespace vsnapd::cim::mof {

using production =
    std::variant<ast::pragma, ast::qualifier_decl, ast::class_decl, ast::instance_decl>;

/// Parses the text of file @p file (a source_manager index). Syntax errors go to @p diags with
/// "expected ..., found ..." messages; the parser then skips to the end of the broken
/// production and continues, so one run reports independent errors.
/// @param arena receives decoded strings; it must outlive the returned productions.
/// @return the productions that parsed completely, in source order.
std::vector<production> parse(std::uint32_t file, std::string_view text, text_arena& arena,
                              diagnostics& diags);

}  // namespace vsnapd::cim::mof

#pragma once
// `vsnapd mof check FILE...`: compiles MOF files into a scratch repository and reports. The
// logic lives here so it is testable; server/main.cpp only dispatches to it.

#include <ostream>
#include <string>
#include <vector>

namespace vsnapd::cim::mof {

/// Compiles @p files in order (each file one compilation unit, all into one repository, so a
/// later file may use the classes of an earlier one). Prints every diagnostic to @p diag_out as
/// "file:line:col: severity: message" and then one summary line to @p out:
/// "<N> classes, <M> instances, <E> errors, <W> warnings (<t> ms wall, <t> ms cpu)".
/// @return the process exit status: 0 without errors, 1 with errors, 2 with no files given.
int run_check(const std::vector<std::string>& files, std::ostream& out, std::ostream& diag_out);

}  // namespace vsnapd::cim::mof

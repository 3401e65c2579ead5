#include "cimom/mof/check_command.hpp"

#include "cimom/class_repository.hpp"
#include "cimom/mof/compiler.hpp"

#include <chrono>

namespace vsnapd::cim::mof {

int run_check(const std::vector<std::string>& files, std::ostream& out, std::ostream& diag_out) {
  if (files.empty()) {
    diag_out << "vsnapd mof check: expected at least one MOF file\n";
    return 2;
  }
  class_repository repo;
  compiler c(repo);
  const auto start = std::chrono::steady_clock::now();
  for (const auto& f : files) {
    (void)c.compile_file(f);  // failures are in the diagnostics, reported below
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  for (const auto& d : c.diags().all()) {
    diag_out << format(d, c.sources()) << "\n";
  }
  out << c.classes_added() << " classes, " << c.instances().size() << " instances, "
      << c.diags().error_count() << " errors, " << c.diags().warning_count() << " warnings ("
      << elapsed.count() / 1000 << "." << (elapsed.count() % 1000) / 100 << " ms)\n";
  return c.diags().error_count() == 0 ? 0 : 1;
}

}  // namespace vsnapd::cim::mof

#include "cimom/mof/check_command.hpp"

#include <chrono>
#include <ctime>
#include <iomanip>

#include "cimom/class_repository.hpp"
#include "cimom/mof/compiler.hpp"

namespace vsnapd::cim::mof {

int run_check(const std::vector<std::string>& files, std::ostream& out, std::ostream& diag_out) {
  if (files.empty()) {
    diag_out << "vsnapd mof check: expected at least one MOF file\n";
    return 2;
  }
  class_repository repo;
  compiler c(repo);
  const auto start = std::chrono::steady_clock::now();
  // CPU time as well as wall time: on a shared machine the wall time mostly measures the
  // neighbours, the CPU time measures the compiler.
  const std::clock_t cpu_start = std::clock();
  for (const auto& f : files) {
    (void)c.compile_file(f);  // failures are in the diagnostics, reported below
  }
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  for (const auto& d : c.diags().all()) {
    diag_out << format(d, c.sources()) << "\n";
  }
  out << c.classes_added() << " classes, " << c.instances().size() << " instances, "
      << c.diags().error_count() << " errors, " << c.diags().warning_count() << " warnings ("
      << std::fixed << std::setprecision(1) << wall_ms << " ms wall, " << cpu_ms << " ms cpu)\n";
  return c.diags().error_count() == 0 ? 0 : 1;
}

}  // namespace vsnapd::cim::mof

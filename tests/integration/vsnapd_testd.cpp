// vsnapd-testd: the vsnapd daemon (same command line) that also serves the test fixture
// namespace root/vsnapd/test, for integration tests and benchmarks. VSNAPD_TEST_ELEMENTS sets
// the number of Vsnapd_TestElement instances (default 10000).

#include "tests/fixtures/test_fixture.hpp"

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  std::size_t elements = 10000;
  if (const char* env = std::getenv("VSNAPD_TEST_ELEMENTS"); env != nullptr && *env != '\0') {
    elements = std::stoul(env);
  }
  return vsnapd::server::daemon_main(argc, argv, vsnapd::testing::fixture_hooks(elements));
}

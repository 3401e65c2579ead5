#include "cimom/error.hpp"

#include <stdexcept>
#include <string>

namespace vsnapd::cim {

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.description);
}

}  // namespace vsnapd::cim

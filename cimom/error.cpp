#include "cimom/error.hpp"

#include <ostream>
#include <stdexcept>
#include <string>

namespace vsnapd::cim {

std::ostream& operator<<(std::ostream& os, const error& e) {
  return os << to_string(e.code) << ": " << e.description;
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.description);
}

}  // namespace vsnapd::cim

#pragma once
// The error every object-manager operation returns: a DSP0200 status code plus the context a
// client needs ("no instance of Msvm_ComputerSystem with Name='x'") and, optionally, a CIM_Error
// instance (DSP0223) that WS-Man and CIM-XML both carry on the wire. The server maps `code` to the
// protocol's fault in one table (STYLE rule 18); providers never build protocol errors.

#include "cimom/errc.hpp"
#include "common/error.hpp"

#include <boost/system/result.hpp>

#include <iosfwd>
#include <memory>
#include <string>

namespace vsnapd::cim {

class instance;

/// A failed CIM operation: status code, human description, optional CIM_Error instance.
struct error {
  errc code = errc::failed;
  std::string description;                    ///< says what failed and on which object
  std::shared_ptr<const instance> cim_error;  ///< an instance of CIM_Error, when a provider has one
};

/// Value-or-error of every cimom operation. Inside `vsnapd::cim` this shadows `vsnapd::result`.
template <class T>
using result = boost::system::result<T, error>;

/// Builds an error; `return fail(errc::not_found, "...")` converts to any `result<T>`.
inline error fail(errc code, std::string description) { return error{code, std::move(description), {}}; }

/// Lets `result<T>::value()` throw; reached only by code that ignores the error (a bug), so it
/// is an exception carrying the description rather than a silent default.
/// Prints "CIM_ERR_X: description" (test failure messages and logs).
std::ostream& operator<<(std::ostream& os, const error& e);

[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

}  // namespace vsnapd::cim

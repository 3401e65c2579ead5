#include "cimom/errc.hpp"

namespace vsnapd::cim {

std::string_view to_string(errc e) {
  switch (e) {
    case errc::ok: return "CIM_ERR_OK";  // not a DSP0200 name; success has no error name
    case errc::failed: return "CIM_ERR_FAILED";
    case errc::access_denied: return "CIM_ERR_ACCESS_DENIED";
    case errc::invalid_namespace: return "CIM_ERR_INVALID_NAMESPACE";
    case errc::invalid_parameter: return "CIM_ERR_INVALID_PARAMETER";
    case errc::invalid_class: return "CIM_ERR_INVALID_CLASS";
    case errc::not_found: return "CIM_ERR_NOT_FOUND";
    case errc::not_supported: return "CIM_ERR_NOT_SUPPORTED";
    case errc::class_has_children: return "CIM_ERR_CLASS_HAS_CHILDREN";
    case errc::class_has_instances: return "CIM_ERR_CLASS_HAS_INSTANCES";
    case errc::invalid_superclass: return "CIM_ERR_INVALID_SUPERCLASS";
    case errc::already_exists: return "CIM_ERR_ALREADY_EXISTS";
    case errc::no_such_property: return "CIM_ERR_NO_SUCH_PROPERTY";
    case errc::type_mismatch: return "CIM_ERR_TYPE_MISMATCH";
    case errc::query_language_not_supported: return "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED";
    case errc::invalid_query: return "CIM_ERR_INVALID_QUERY";
    case errc::method_not_available: return "CIM_ERR_METHOD_NOT_AVAILABLE";
    case errc::method_not_found: return "CIM_ERR_METHOD_NOT_FOUND";
    case errc::namespace_not_empty: return "CIM_ERR_NAMESPACE_NOT_EMPTY";
    case errc::invalid_enumeration_context: return "CIM_ERR_INVALID_ENUMERATION_CONTEXT";
    case errc::invalid_operation_timeout: return "CIM_ERR_INVALID_OPERATION_TIMEOUT";
    case errc::pull_has_been_abandoned: return "CIM_ERR_PULL_HAS_BEEN_ABANDONED";
    case errc::pull_cannot_be_abandoned: return "CIM_ERR_PULL_CANNOT_BE_ABANDONED";
    case errc::filtered_enumeration_not_supported: return "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED";
    case errc::continuation_on_error_not_supported: return "CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED";
    case errc::server_limits_exceeded: return "CIM_ERR_SERVER_LIMITS_EXCEEDED";
    case errc::server_is_shutting_down: return "CIM_ERR_SERVER_IS_SHUTTING_DOWN";
  }
  return "CIM_ERR_UNKNOWN";
}

const char* category_name(errc) { return "cim"; }

}  // namespace vsnapd::cim

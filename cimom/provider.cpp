#include "cimom/provider.hpp"

namespace vsnapd::cim {

result<object_path> instance_provider::create_instance(const operation_context&, const class_decl& cls,
                                                       const instance&) {
  return fail(errc::not_supported, "instances of " + cls.name + " cannot be created");
}

result<void> instance_provider::modify_instance(const operation_context&, const class_decl& cls,
                                                const instance&, const property_list&) {
  return fail(errc::not_supported, "instances of " + cls.name + " cannot be modified");
}

result<void> instance_provider::delete_instance(const operation_context&, const class_decl& cls,
                                                const object_path&) {
  return fail(errc::not_supported, "instances of " + cls.name + " cannot be deleted");
}

}  // namespace vsnapd::cim

#pragma once
// The schema vsnapd serves, compiled into the binary from schema/**/*.mof (cmake/embed_files.cmake).

#include "common/embedded_file.hpp"

#include <span>
#include <string_view>

namespace vsnapd::schema {

/// Every MOF file under schema/, by path relative to that folder ("msvm/Msvm_Error.mof"),
/// sorted by path. The namespace entry files are listed in namespace_entry_files.
std::span<const embedded_file> mof_files();

/// A namespace the daemon serves and the MOF file that defines it.
struct namespace_entry {
  std::string_view ns;
  std::string_view file;
};

/// The served namespaces, in the order they are loaded (interop last: its instances refer to
/// classes of the others only by name).
inline constexpr namespace_entry namespace_entry_files[] = {
    {"root/virtualization/v2", "root_virtualization_v2.mof"},
    {"root/cimv2", "root_cimv2.mof"},
    {"root/interop", "root_interop.mof"},
};

}  // namespace vsnapd::schema

#include "storage/errc.hpp"

namespace vsnapd::storage {

std::string_view to_string(errc e) {
  switch (e) {
    case errc::io_error: return "io_error";
    case errc::no_space: return "no_space";
    case errc::not_found: return "not_found";
    case errc::corrupt_image: return "corrupt_image";
    case errc::unsupported_feature: return "unsupported_feature";
    case errc::backing_chain_loop: return "backing_chain_loop";
    case errc::read_only: return "read_only";
    case errc::cancelled: return "cancelled";
  }
  return "unknown";
}

const char* category_name(errc) { return "storage"; }

}  // namespace vsnapd::storage

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
    case errc::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

const char* category_name(errc) { return "storage"; }

namespace {
// Per thread, because images are used from several I/O threads at once and each caller wants
// the context of its own failure.
thread_local std::string tls_detail;
}  // namespace

const std::string& last_error_detail() { return tls_detail; }

boost::system::error_code fail(errc e, std::string detail) {
  tls_detail = std::move(detail);
  return make_error_code(e);
}

}  // namespace vsnapd::storage

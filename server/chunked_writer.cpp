#include "server/chunked_writer.hpp"

#include "common/text.hpp"

namespace vsnapd::server {

bool accepts_trailers(std::string_view te) {
  // A comma-separated list of codings with optional parameters ("trailers, deflate;q=0.5").
  while (!te.empty()) {
    const auto comma = te.find(',');
    std::string_view item = te.substr(0, comma);
    item = trim_ows(item.substr(0, item.find(';')));
    if (iequals(item, "trailers")) {
      return true;
    }
    te = comma == std::string_view::npos ? std::string_view{} : te.substr(comma + 1);
  }
  return false;
}

}  // namespace vsnapd::server

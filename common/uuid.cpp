#include "common/uuid.hpp"

#include <cstdint>
#include <cstdio>
#include <random>

namespace vsnapd {

std::string random_uuid(uuid_case c) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t hi = rng();
  const std::uint64_t lo = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf,
                c == uuid_case::upper ? "%08X-%04X-4%03X-%04X-%012llX" : "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0x0fff),
                static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

}  // namespace vsnapd

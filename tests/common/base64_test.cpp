#include "common/base64.hpp"

#include <catch2/catch.hpp>

using vsnapd::base64_decode;
using vsnapd::base64_encode;

TEST_CASE("base64: RFC 4648 test vectors round-trip", "[common][base64]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
      {"admin:secret", "YWRtaW46c2VjcmV0"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
  const std::string binary("\x00\xff\x10\x80", 4);
  CHECK(base64_decode(base64_encode(binary)) == binary);
}

TEST_CASE("base64: malformed input is refused", "[common][base64]") {
  const char* bad[] = {"Zg=",  "Zg===", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg==", "Zm 9v", "Zm9"};
  for (const char* b : bad) {
    INFO(b);
    CHECK_FALSE(base64_decode(b).has_value());
  }
}

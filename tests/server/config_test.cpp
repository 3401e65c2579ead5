#include "server/config.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace vsnapd::server;

TEST_CASE("config: the embedded default follows WinRM and WBEM conventions", "[server][config]") {
  const config c;
  CHECK(c.listen.wsman_http == endpoint_address{"127.0.0.1", 5985});
  CHECK(c.listen.wsman_https == endpoint_address{"127.0.0.1", 5986});
  CHECK(c.listen.cimxml_http == endpoint_address{"127.0.0.1", 5988});
  CHECK(c.listen.cimxml_https == endpoint_address{"127.0.0.1", 5989});
  CHECK(c.limits.max_envelope_size == 512000);
  CHECK_FALSE(c.auth.allow_unencrypted);
  CHECK(c.auth.anonymous_identify);
  CHECK_NOTHROW(validate(c, "default"));
}

TEST_CASE("config: the shipped conf/vsnapd.toml parses and equals the embedded default",
          "[server][config]") {
  const config c = load_config(VSNAPD_SOURCE_DIR "/conf/vsnapd.toml");
  const config d;
  CHECK(c.listen.wsman_http == d.listen.wsman_http);
  CHECK(c.listen.cimxml_https == d.listen.cimxml_https);
  CHECK(c.auth.realm == d.auth.realm);
  CHECK(c.auth.max_failures == d.auth.max_failures);
  CHECK(c.limits.max_envelope_size == d.limits.max_envelope_size);
  CHECK(c.limits.idle_timeout == d.limits.idle_timeout);
  CHECK(c.limits.max_connections == d.limits.max_connections);
  CHECK(c.log_level == d.log_level);
  CHECK(c.virtualization.definitions == d.virtualization.definitions);
  CHECK(c.virtualization.demo_vm == d.virtualization.demo_vm);
  CHECK(c.virtualization.demo_guest == d.virtualization.demo_guest);
  CHECK(c.virtualization.memory_copy_mib_per_second == d.virtualization.memory_copy_mib_per_second);
}

TEST_CASE("config: values override defaults and an empty listener disables it", "[server][config]") {
  const config c = parse_config(R"(
state_dir = "/srv/vsnapd"
[listen]
wsman_http = ""
wsman_https = "[::1]:15986"
[auth]
allow_unencrypted = true
max_failures = 3
[limits]
max_envelope_size = 16384
header_timeout_seconds = 2
[virtualization]
definitions = "/etc/vsnapd/vms"
demo_vm = false
demo_guest = "/opt/guest"
memory_copy_mib_per_second = 64
[log]
level = "debug"
)",
                                "test.toml");
  CHECK(c.state_dir == "/srv/vsnapd");
  CHECK_FALSE(c.listen.wsman_http.has_value());
  CHECK(c.listen.wsman_https == endpoint_address{"::1", 15986});
  CHECK(c.auth.allow_unencrypted);
  CHECK(c.auth.max_failures == 3);
  CHECK(c.limits.max_envelope_size == 16384);
  CHECK(c.limits.header_timeout == std::chrono::seconds(2));
  CHECK(c.log_level == vsnapd::log::level::debug);
  CHECK(c.virtualization.definitions == "/etc/vsnapd/vms");
  CHECK_FALSE(c.virtualization.demo_vm);
  CHECK(c.virtualization.demo_guest == "/opt/guest");
  CHECK(c.virtualization.memory_copy_mib_per_second == 64);
}

TEST_CASE("config: each bad input names its line and reason", "[server][config]") {
  struct row {
    const char* text;
    std::uint32_t line;
    const char* reason;
  };
  const row rows[] = {
      {"bogus = 1\n", 1, "unknown key 'bogus'"},
      {"\n[listen]\nwsman_htp = \"127.0.0.1:1\"\n", 3, "unknown key 'listen.wsman_htp'"},
      {"[listen]\nwsman_http = \"127.0.0.1\"\n", 2, "must be ADDR:PORT"},
      {"[listen]\nwsman_http = \"127.0.0.1:70000\"\n", 2, "invalid port"},
      {"[listen]\nwsman_http = 5985\n", 2, "must be a string"},
      {"[auth]\nbasic = \"yes\"\n", 2, "must be true or false"},
      {"[auth]\nrealm = \"a\\\"b\"\n", 2, "without quotes"},
      {"[limits]\nmax_envelope_size = 100\n", 2, "must be between 8192"},
      {"[limits]\nidle_timeout_seconds = -1\n", 2, "must be between"},
      {"[log]\nlevel = \"loud\"\n", 2, "must be one of"},
      {"[virtualization]\ndemo_vm = 1\n", 2, "must be true or false"},
      {"[virtualization]\ndefinitions = 3\n", 2, "must be a string"},
      {"[virtualization]\nmemory_copy_mib_per_second = -1\n", 2, "must be between"},
      {"[virtualization]\nvms = \"x\"\n", 2, "unknown key 'virtualization.vms'"},
      {"listen = 3\n", 1, "must be a table"},
      {"[auth\n", 1, ""},
      {"a = = 1\n", 1, ""},
      {"[tls]\n[[tls.client_certificate]]\nuser = \"x\"\nsha256 = \"12\"\n", 4, "64 hex digits"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    try {
      (void)parse_config(r.text, "bad.toml");
      FAIL("accepted");
    } catch (const config_error& e) {
      CHECK(e.file() == "bad.toml");
      CHECK(e.line() == r.line);
      CHECK_THAT(e.what(), Catch::Contains(r.reason));
      CHECK_THAT(e.what(), Catch::StartsWith("bad.toml:" + std::to_string(r.line) + ": "));
    }
  }
}

TEST_CASE("config: cross-key rules and unreadable files are errors", "[server][config]") {
  config c;
  c.listen = {std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  CHECK_THROWS_WITH(validate(c, "x"), Catch::Contains("every listener is disabled"));
  CHECK_THROWS_WITH(load_config("/nonexistent/vsnapd.toml"),
                    Catch::StartsWith("/nonexistent/vsnapd.toml:0: cannot open"));
}

TEST_CASE("config: endpoint parsing", "[server][config]") {
  std::string why;
  CHECK(parse_endpoint("0.0.0.0:0", why) == endpoint_address{"0.0.0.0", 0});
  CHECK(parse_endpoint("[::]:5986", why) == endpoint_address{"::", 5986});
  for (const char* bad : {":5985", "::1:5985", "[::1]5985", "host:", "host:port", "[::1]:-1"}) {
    INFO(bad);
    CHECK_FALSE(parse_endpoint(bad, why).has_value());
    CHECK_FALSE(why.empty());
  }
}

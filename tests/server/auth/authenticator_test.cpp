#include "server/auth/authenticator.hpp"

#include "common/base64.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd::server;
using namespace vsnapd::server::auth;

namespace {

struct fixture {
  explicit fixture(config::auth_config c = {}) : cfg(c), auth(cfg) {
    auth.set_clock_for_test([this] { return now; });
    auto db = std::make_shared<user_db>();
    REQUIRE(db->put("admin", role::admin, "right-password", cfg.realm, 1000));
    REQUIRE(db->put("viewer", role::reader, "viewer-password", cfg.realm, 1000));
    auth.set_users(db);
  }

  outcome login(const request_facts& f) {
    outcome o = auth.check(f);
    return o.result == verdict::needs_kdf ? auth.verify_basic(f) : o;
  }

  std::string basic(const std::string& user, const std::string& pw) {
    return "Basic " + vsnapd::base64_encode(user + ":" + pw);
  }

  std::string digest(const std::string& user, const std::string& pw, bool sha256,
                     const std::string& uri = "/wsman", bool forge_nonce = false) {
    const std::string challenge = auth.challenges(true, false).front();
    const auto start = challenge.find("nonce=\"") + 7;
    std::string nonce = challenge.substr(start, challenge.find('"', start) - start);
    if (forge_nonce) {
      // Flip one character of the nonce's MAC (its last 16 bytes); the response below is
      // computed over the forged nonce, so only the MAC check can reject it.
      char& c = nonce[24];
      c = c == 'A' ? 'B' : 'A';
    }
    const auto alg = sha256 ? digest_algorithm::sha256 : digest_algorithm::md5;
    const std::string ha1 = digest_ha1(alg, user, cfg.realm, pw);
    const std::string response =
        digest_response(sha256, ha1, nonce, "00000001", "abcdef", "auth", "POST", uri);
    return "Digest username=\"" + user + "\", realm=\"" + cfg.realm + "\", nonce=\"" + nonce +
           "\", uri=\"" + uri + "\", algorithm=" + (sha256 ? "SHA-256" : "MD5") +
           ", qop=auth, nc=00000001, cnonce=\"abcdef\", response=\"" + response + "\"";
  }

  request_facts facts(std::string_view authorization, bool tls = true) {
    return request_facts{authorization, "POST", "/wsman", tls, "192.0.2.7", std::nullopt};
  }

  config::auth_config cfg;
  authenticator::clock::time_point now{std::chrono::hours(1000)};
  authenticator auth;
};

}  // namespace

TEST_CASE("authenticator: no credentials get a challenge", "[server][auth][authenticator]") {
  fixture fx;
  CHECK(fx.auth.check(fx.facts("")).result == verdict::challenge);
}

TEST_CASE("authenticator: Basic verifies once, then from the cache", "[server][auth][authenticator]") {
  fixture fx;
  const std::string header = fx.basic("admin", "right-password");
  CHECK(fx.auth.check(fx.facts(header)).result == verdict::needs_kdf);
  const outcome o = fx.auth.verify_basic(fx.facts(header));
  CHECK(o.result == verdict::authenticated);
  CHECK(o.user == "admin");
  CHECK(o.user_role == role::admin);
  CHECK(fx.auth.check(fx.facts(header)).result == verdict::authenticated);
  // A different password for the same user is not served from the cache.
  CHECK(fx.auth.check(fx.facts(fx.basic("admin", "wrong"))).result == verdict::needs_kdf);
  CHECK(fx.login(fx.facts(fx.basic("admin", "wrong"))).result == verdict::challenge);
  CHECK(fx.login(fx.facts(fx.basic("nobody", "right-password"))).result == verdict::challenge);
  // Reloading users forgets cached verifications.
  fx.auth.set_users(std::make_shared<user_db>());
  CHECK(fx.login(fx.facts(header)).result == verdict::challenge);
}

TEST_CASE("authenticator: Basic over plain HTTP is refused unless allowed", "[server][auth][authenticator]") {
  fixture strict;
  const outcome o = strict.auth.check(strict.facts(strict.basic("admin", "right-password"), false));
  CHECK(o.result == verdict::insecure_basic);
  CHECK_THAT(o.reason, Catch::Contains("allow_unencrypted"));
  CHECK(strict.auth.challenges(false, false).size() == 2);  // Digest only
  CHECK(strict.auth.challenges(true, false).size() == 3);   // Digest x2 + Basic

  config::auth_config lax;
  lax.allow_unencrypted = true;
  fixture open(lax);
  CHECK(open.login(open.facts(open.basic("admin", "right-password"), false)).result ==
        verdict::authenticated);
  CHECK(open.auth.challenges(false, false).size() == 3);
}

TEST_CASE("authenticator: Digest MD5 and SHA-256 verify and tampering fails", "[server][auth][authenticator]") {
  fixture fx;
  for (bool sha : {false, true}) {
    const outcome o = fx.auth.check(fx.facts(fx.digest("viewer", "viewer-password", sha), false));
    CHECK(o.result == verdict::authenticated);
    CHECK(o.user_role == role::reader);
  }
  CHECK(fx.auth.check(fx.facts(fx.digest("viewer", "bad", true))).result == verdict::challenge);
  CHECK(fx.auth.check(fx.facts(fx.digest("viewer", "viewer-password", true, "/other")))
            .result == verdict::challenge);
  const std::string forged = fx.digest("viewer", "viewer-password", true, "/wsman", true);
  CHECK(fx.auth.check(fx.facts(forged)).result == verdict::challenge);
}

TEST_CASE("authenticator: an expired Digest nonce is stale, not a failure", "[server][auth][authenticator]") {
  fixture fx;
  const std::string header = fx.digest("admin", "right-password", true);
  fx.now += fx.cfg.nonce_lifetime + std::chrono::seconds(1);
  const outcome o = fx.auth.check(fx.facts(header));
  CHECK(o.result == verdict::challenge);
  CHECK(o.stale);
  CHECK_THAT(fx.auth.challenges(true, true).front(), Catch::Contains("stale=true"));
}

TEST_CASE("authenticator: repeated failures lock an address out for a while", "[server][auth][authenticator]") {
  config::auth_config c;
  c.max_failures = 3;
  c.lockout = std::chrono::seconds(30);
  fixture fx(c);
  const std::string bad = fx.basic("admin", "nope");
  for (int i = 0; i < 3; ++i) {
    CHECK(fx.login(fx.facts(bad)).result == verdict::challenge);
  }
  const outcome locked = fx.auth.check(fx.facts(fx.basic("admin", "right-password")));
  CHECK(locked.result == verdict::throttled);
  CHECK(locked.retry_after == std::chrono::seconds(30));
  // Another address is not affected.
  const std::string good = fx.basic("admin", "right-password");
  request_facts other = fx.facts(good);
  other.client_address = "198.51.100.1";
  CHECK(fx.login(other).result == verdict::authenticated);
  fx.now += std::chrono::seconds(31);
  CHECK(fx.login(fx.facts(fx.basic("admin", "right-password"))).result == verdict::authenticated);
}

TEST_CASE("authenticator: a mapped client certificate authenticates", "[server][auth][authenticator]") {
  fixture fx;
  request_facts f = fx.facts("");
  f.certificate_user = "viewer";
  CHECK(fx.auth.check(f).result == verdict::authenticated);
  f.authorization = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual";
  CHECK(fx.auth.check(f).user == "viewer");
  f.certificate_user = "ghost";
  CHECK(fx.auth.check(f).result == verdict::challenge);
}

TEST_CASE("authenticator: unsupported schemes and disabled schemes challenge", "[server][auth][authenticator]") {
  config::auth_config c;
  c.digest = false;
  fixture fx(c);
  CHECK(fx.auth.check(fx.facts("Negotiate TlRMTVNTUAAB")).result == verdict::challenge);
  CHECK(fx.auth.check(fx.facts(R"(Digest username="a", nonce="n", uri="/wsman", response="r")"))
            .result == verdict::challenge);
  CHECK(fx.auth.challenges(true, false).size() == 1);
}

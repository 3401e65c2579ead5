#include "server/auth/authorization.hpp"
#include "server/users.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd::server;
using namespace vsnapd::server::auth;

TEST_CASE("authorization: Basic credentials decode", "[server][auth][authorization]") {
  const auto a = parse_authorization("Basic YWRtaW46c2VjcmV0");
  const auto* b = std::get_if<basic_credentials>(&a);
  REQUIRE(b != nullptr);
  CHECK(b->user == "admin");
  CHECK(b->password == "secret");
  // The scheme is case-insensitive and the password may contain colons.
  const auto c = parse_authorization("basic   YTpiOmM=");
  REQUIRE(std::holds_alternative<basic_credentials>(c));
  CHECK(std::get<basic_credentials>(c).password == "b:c");
}

TEST_CASE("authorization: Digest parameters parse quoted and bare", "[server][auth][authorization]") {
  const auto a = parse_authorization(
      R"(Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", )"
      R"(algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, )"
      R"(cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, )"
      R"(response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", )"
      R"(opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")");
  const auto* d = std::get_if<digest_credentials>(&a);
  REQUIRE(d != nullptr);
  CHECK(d->username == "Mufasa");
  CHECK(d->realm == "http-auth@example.org");
  CHECK(d->uri == "/dir/index.html");
  CHECK(d->algorithm == "SHA-256");
  CHECK(d->nc == "00000001");
  CHECK(d->qop == "auth");
  const auto e = parse_authorization(R"(Digest username="a\"b", nonce=n, uri="/", response=r)");
  REQUIRE(std::holds_alternative<digest_credentials>(e));
  CHECK(std::get<digest_credentials>(e).username == "a\"b");
}

TEST_CASE("authorization: RFC 7616 section 3.9.1 responses, MD5 and SHA-256",
          "[server][auth][authorization]") {
  const char* nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  const char* cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  const auto md5_ha1 =
      digest_ha1(digest_algorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  const auto sha_ha1 =
      digest_ha1(digest_algorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  CHECK(digest_response(false, md5_ha1, nonce, "00000001", cnonce, "auth", "GET",
                        "/dir/index.html") == "8ca523f5e9506fed4657c9700eebdbec");
  CHECK(digest_response(true, sha_ha1, nonce, "00000001", cnonce, "auth", "GET",
                        "/dir/index.html") ==
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST_CASE("authorization: every malformed or foreign header is classified", "[server][auth][authorization]") {
  CHECK(std::holds_alternative<no_credentials>(parse_authorization("")));
  CHECK(std::holds_alternative<no_credentials>(parse_authorization("   ")));
  CHECK(std::holds_alternative<client_certificate_request>(parse_authorization(
      "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual")));
  CHECK(std::get<unsupported_scheme>(parse_authorization("Negotiate TlRMTVNTUAAB")).scheme ==
        "Negotiate");
  const char* malformed[] = {
      "Basic",                       // no credentials
      "Basic !!!!",                  // not base64
      "Basic YWRtaW4=",              // no colon
      "Digest username=\"a\"",       // missing nonce/uri/response
      "Digest username=\"a, nonce=n, uri=/, response=r",  // unterminated quote
      "Digest username",             // no '='
      "Digest username=a nonce=n",   // no comma
  };
  for (const char* m : malformed) {
    INFO(m);
    const auto a = parse_authorization(m);
    REQUIRE(std::holds_alternative<malformed_credentials>(a));
    CHECK_FALSE(std::get<malformed_credentials>(a).why.empty());
  }
}

TEST_CASE("authorization: challenges", "[server][auth][authorization]") {
  CHECK(basic_challenge("vsnapd") == R"(Basic realm="vsnapd", charset="UTF-8")");
  CHECK(digest_challenge("vsnapd", "N", "SHA-256", false) ==
        R"(Digest realm="vsnapd", qop="auth", algorithm=SHA-256, nonce="N")");
  CHECK_THAT(digest_challenge("vsnapd", "N", "MD5", true), Catch::EndsWith(", stale=true"));
}

#include "server/users.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace vsnapd::server;

namespace {

struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/vsnapd-users-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string path;
};

}  // namespace

TEST_CASE("users: every role round-trips through its name", "[server][users]") {
  for (role r : all_roles) {
    CHECK(parse_role(to_string(r)) == r);
  }
  CHECK_FALSE(parse_role("root").has_value());
}

TEST_CASE("users: password hashes are salted PBKDF2 and verify only the right password",
          "[server][users]") {
  const std::string a = hash_password("correct horse", 1000);
  const std::string b = hash_password("correct horse", 1000);
  CHECK(a.starts_with("pbkdf2-sha256$1000$"));
  CHECK(a != b);  // fresh salt every time
  CHECK(verify_password(a, "correct horse"));
  CHECK_FALSE(verify_password(a, "correct horsf"));
  CHECK_FALSE(verify_password(a, ""));
  CHECK_FALSE(verify_password("md5$x", "correct horse"));
  CHECK_FALSE(verify_password("pbkdf2-sha256$0$AAAA$AAAA", "x"));
  CHECK(hash_password("x").starts_with("pbkdf2-sha256$600000$"));
}

TEST_CASE("users: Digest HA1 matches RFC 7616 section 3.9.1", "[server][users]") {
  // The RFC's example: Mufasa / http-auth@example.org / Circle of Life.
  CHECK(digest_ha1(digest_algorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life") ==
        hex_digest(digest_algorithm::md5, "Mufasa:http-auth@example.org:Circle of Life"));
  CHECK(hex_digest(digest_algorithm::md5, "") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(hex_digest(digest_algorithm::sha256, "abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("users: names that any auth scheme can carry", "[server][users]") {
  for (const char* ok : {"admin", "ops.team", "a_b-c@example.org", "X"}) {
    CHECK(valid_user_name(ok));
  }
  const std::string too_long(65, 'a');
  for (const std::string& bad : {std::string(""), std::string("a:b"), std::string("a b"),
                                 std::string("quote\""), too_long}) {
    CHECK_FALSE(valid_user_name(bad));
  }
}

TEST_CASE("users: the file round-trips, is 0600, and never holds the password", "[server][users]") {
  temp_dir dir;
  const std::string path = dir.path + "/users";
  user_db db;
  REQUIRE(db.put("admin", role::admin, "s3cret-passw0rd", "vsnapd"));
  REQUIRE(db.put("reader1", role::reader, "another-pass", "vsnapd"));
  std::string why;
  REQUIRE(db.save(path, why));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text.find("s3cret-passw0rd") == std::string::npos);

  const auto loaded = user_db::load(path, false, why);
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->users().size() == 2);
  const auto* admin = loaded->find("admin");
  REQUIRE(admin != nullptr);
  CHECK(admin->user_role == role::admin);
  CHECK(admin->ha1_sha256 == digest_ha1(digest_algorithm::sha256, "admin", "vsnapd", "s3cret-passw0rd"));
  CHECK(loaded->find("nobody") == nullptr);

  user_db changed = *loaded;
  CHECK(changed.remove("reader1"));
  CHECK_FALSE(changed.remove("reader1"));
  REQUIRE(changed.save(path, why));
  CHECK(user_db::load(path, false, why)->users().size() == 1);
}

TEST_CASE("users: a missing file is empty only when allowed", "[server][users]") {
  std::string why;
  CHECK(user_db::load("/nonexistent/users", true, why).has_value());
  CHECK_FALSE(user_db::load("/nonexistent/users", false, why).has_value());
  CHECK_THAT(why, Catch::StartsWith("/nonexistent/users:0:"));
}

TEST_CASE("users: each malformed line is refused with its line number", "[server][users]") {
  const std::string hash = "pbkdf2-sha256$1$AAAA$AAAA";
  const std::string md5(32, 'a');
  const std::string sha(64, 'b');
  struct row {
    std::string line;
    const char* reason;
  };
  const row rows[] = {
      {"admin:admin:" + hash + ":" + md5, "expected 5"},
      {"bad name:admin:" + hash + ":" + md5 + ":" + sha, "invalid user name"},
      {"u:root:" + hash + ":" + md5 + ":" + sha, "unknown role"},
      {"u:admin:plain:" + md5 + ":" + sha, "not pbkdf2-sha256"},
      {"u:admin:" + hash + ":XYZ:" + sha, "HA1"},
      {"u:admin:" + hash + ":" + md5 + ":" + sha + "\nu:reader:" + hash + ":" + md5 + ":" + sha,
       "duplicate user"},
  };
  temp_dir dir;
  const std::string path = dir.path + "/users";
  for (const auto& r : rows) {
    INFO(r.line);
    std::ofstream(path) << "# comment\n" << r.line << "\n";
    std::string why;
    CHECK_FALSE(user_db::load(path, false, why).has_value());
    CHECK_THAT(why, Catch::Contains(r.reason));
    CHECK_THAT(why, Catch::Contains(path + ":"));
  }
}

TEST_CASE("users: the file records its Digest realm and refuses hashes for another", "[server][users]") {
  temp_dir dir;
  const std::string path = dir.path + "/users";
  user_db db;
  CHECK(db.realm().empty());
  REQUIRE(db.put("admin", role::admin, "first-password", "lab", 1000));
  CHECK(db.realm() == "lab");
  CHECK_FALSE(db.put("other", role::reader, "other-password", "vsnapd", 1000));
  CHECK(db.find("other") == nullptr);
  std::string why;
  REQUIRE(db.save(path, why));
  const auto loaded = user_db::load(path, false, why);
  REQUIRE(loaded.has_value());
  CHECK(loaded->realm() == "lab");
}

#pragma once
// The users file (`<state_dir>/users`): who may log in, with which role.
//
// A `@realm NAME` line records the Digest realm the file was written for, then one line per
// user, colon-separated like /etc/shadow:
//   name:role:pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>:<HA1 MD5 hex>:<HA1 SHA-256 hex>
// Passwords are stored only as a slow salted PBKDF2-HMAC-SHA256 hash. HTTP Digest (RFC 7616)
// cannot be verified from such a hash, so, as Apache's htdigest does, the realm-bound Digest
// digests H(user:realm:password) are stored beside it; they are useless outside this realm but
// are password-equivalent for Digest, so the file is created 0600 and written atomically.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::server {

/// What a user may do. Later issues check it per operation: readers read, operators also
/// take/apply/delete snapshots, admins also change configuration and users.
enum class role : std::uint8_t { reader, operator_, admin };

inline constexpr role all_roles[] = {role::reader, role::operator_, role::admin};

std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view name);

/// The Digest algorithms we verify (RFC 7616 section 3.2).
enum class digest_algorithm : std::uint8_t { md5, sha256 };

struct user_record {
  std::string name;
  role user_role = role::reader;
  std::string password_hash;  ///< "pbkdf2-sha256$iterations$salt$hash"
  std::string ha1_md5;        ///< hex H(name:realm:password), MD5
  std::string ha1_sha256;     ///< hex H(name:realm:password), SHA-256
};

/// PBKDF2 iterations for new hashes (OWASP 2023 guidance for PBKDF2-HMAC-SHA256).
inline constexpr std::uint32_t pbkdf2_iterations = 600000;

/// Hashes a password with a fresh 16-byte random salt.
std::string hash_password(std::string_view password, std::uint32_t iterations = pbkdf2_iterations);

/// Verifies `password` against a stored hash in constant time. False for a malformed hash.
bool verify_password(std::string_view stored_hash, std::string_view password);

/// Lower-case hex of H(user:realm:password) for a Digest algorithm.
std::string digest_ha1(digest_algorithm alg, std::string_view user, std::string_view realm,
                       std::string_view password);

/// Lower-case hex digest of `data` (MD5 or SHA-256); the Digest H() function.
std::string hex_digest(digest_algorithm alg, std::string_view data);

/// True for a valid user name: 1-64 of [A-Za-z0-9._@-]. Colons (the Basic separator) and
/// quotes (Digest) are excluded so that every scheme can carry every name.
bool valid_user_name(std::string_view name);

/// An in-memory copy of the users file.
class user_db {
 public:
  /// Reads `path`. A missing file is an empty database when `missing_ok`. On a malformed line
  /// returns nullopt and sets `why` to "path:line: reason".
  static std::optional<user_db> load(const std::string& path, bool missing_ok, std::string& why);

  /// Writes the database to `path` atomically (temporary file, fsync, rename), mode 0600.
  /// Returns false and sets `why` on failure; the old file is then untouched.
  bool save(const std::string& path, std::string& why) const;

  const user_record* find(std::string_view name) const;

  /// Adds or replaces a user. The caller validated the name. Returns false, changing nothing,
  /// when the file's recorded realm is not `realm`: the user's Digest hashes would be useless.
  [[nodiscard]] bool put(std::string_view name, role r, std::string_view password,
                         std::string_view realm, std::uint32_t iterations = pbkdf2_iterations);

  /// The Digest realm the stored hashes were made for; empty for a new, empty database.
  const std::string& realm() const { return realm_; }

  /// Removes a user; false when there was none.
  bool remove(std::string_view name);

  const std::vector<user_record>& users() const { return users_; }

 private:
  std::vector<user_record> users_;
  std::string realm_;
};

}  // namespace vsnapd::server

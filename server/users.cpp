#include "server/users.hpp"

#include "common/assert.hpp"
#include "common/base64.hpp"
#include "common/c_handle.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace vsnapd::server {
namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";
constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

bool pbkdf2(std::string_view password, std::string_view salt, std::uint32_t iterations,
            unsigned char* out, std::size_t out_len) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), static_cast<int>(iterations),
                           EVP_sha256(), static_cast<int>(out_len), out) == 1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) {
      return parts;
    }
    start = pos + 1;
  }
}

bool is_hex(std::string_view s, std::size_t len) {
  return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string_view to_string(role r) {
  switch (r) {
    case role::reader: return "reader";
    case role::operator_: return "operator";
    case role::admin: return "admin";
  }
  return "reader";
}

std::optional<role> parse_role(std::string_view name) {
  for (role r : all_roles) {
    if (to_string(r) == name) {
      return r;
    }
  }
  return std::nullopt;
}

std::string hash_password(std::string_view password, std::uint32_t iterations) {
  unsigned char salt[salt_bytes];
  // Without entropy no hash we could store would be safe; that is not recoverable.
  VSNAPD_CHECK(RAND_bytes(salt, sizeof salt) == 1);
  unsigned char hash[hash_bytes];
  const std::string_view salt_view(reinterpret_cast<const char*>(salt), sizeof salt);
  VSNAPD_CHECK(pbkdf2(password, salt_view, iterations, hash, sizeof hash));
  return std::string(scheme) + "$" + std::to_string(iterations) + "$" + base64_encode(salt_view) +
         "$" + base64_encode(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
  const auto parts = split(stored_hash, '$');
  if (parts.size() != 4 || parts[0] != scheme) {
    return false;
  }
  std::uint32_t iterations = 0;
  const auto [end, ec] =
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc{} || end != parts[1].data() + parts[1].size() || iterations == 0) {
    return false;
  }
  const auto salt = base64_decode(parts[2]);
  const auto expected = base64_decode(parts[3]);
  if (!salt || !expected || expected->size() != hash_bytes) {
    return false;
  }
  unsigned char actual[hash_bytes];
  if (!pbkdf2(password, *salt, iterations, actual, sizeof actual)) {
    return false;
  }
  return CRYPTO_memcmp(actual, expected->data(), hash_bytes) == 0;
}

std::string hex_digest(digest_algorithm alg, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* type = alg == digest_algorithm::md5 ? EVP_md5() : EVP_sha256();
  if (EVP_Digest(data.data(), data.size(), md, &len, type, nullptr) != 1) {
    return {};
  }
  return to_hex(md, len);
}

std::string digest_ha1(digest_algorithm alg, std::string_view user, std::string_view realm,
                       std::string_view password) {
  std::string a1;
  a1.reserve(user.size() + realm.size() + password.size() + 2);
  a1.append(user).append(":").append(realm).append(":").append(password);
  std::string ha1 = hex_digest(alg, a1);
  OPENSSL_cleanse(a1.data(), a1.size());
  return ha1;
}

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::optional<user_db> user_db::load(const std::string& path, bool missing_ok, std::string& why) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT && missing_ok) {
      return user_db{};
    }
    why = path + ":0: cannot open users file: " + std::strerror(errno);
    return std::nullopt;
  }
  user_db db;
  std::string line;
  std::uint32_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.starts_with("@realm ")) {
      db.realm_ = line.substr(7);
      continue;
    }
    auto fail = [&](const std::string& reason) {
      why = path + ":" + std::to_string(number) + ": " + reason;
    };
    const auto f = split(line, ':');
    if (f.size() != 5) {
      fail("expected 5 colon-separated fields, found " + std::to_string(f.size()));
      return std::nullopt;
    }
    user_record u;
    u.name = std::string(f[0]);
    if (!valid_user_name(u.name)) {
      fail("invalid user name '" + u.name + "'");
      return std::nullopt;
    }
    const auto r = parse_role(f[1]);
    if (!r) {
      fail("unknown role '" + std::string(f[1]) + "'");
      return std::nullopt;
    }
    u.user_role = *r;
    if (!f[2].starts_with(std::string(scheme) + "$")) {
      fail("password hash is not " + std::string(scheme));
      return std::nullopt;
    }
    u.password_hash = std::string(f[2]);
    if (!is_hex(f[3], 32) || !is_hex(f[4], 64)) {
      fail("Digest HA1 fields must be 32 and 64 lower-case hex digits");
      return std::nullopt;
    }
    u.ha1_md5 = std::string(f[3]);
    u.ha1_sha256 = std::string(f[4]);
    if (db.find(u.name) != nullptr) {
      fail("duplicate user '" + u.name + "'");
      return std::nullopt;
    }
    db.users_.push_back(std::move(u));
  }
  if (in.bad()) {
    why = path + ":" + std::to_string(number) + ": read error";
    return std::nullopt;
  }
  return db;
}

bool user_db::save(const std::string& path, std::string& why) const {
  std::string text = "# vsnapd users: name:role:password hash:Digest HA1 MD5:Digest HA1 SHA-256\n"
                     "# Manage with `vsnapd user add|del|list`.\n";
  if (!realm_.empty()) {
    text += "@realm " + realm_ + "\n";
  }
  for (const auto& u : users_) {
    text += u.name + ":" + std::string(to_string(u.user_role)) + ":" + u.password_hash + ":" +
            u.ha1_md5 + ":" + u.ha1_sha256 + "\n";
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    why = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      why = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  // Barrier: the new contents must be durable before the rename makes them the users file,
  // or a crash could leave an empty file and lock every user out.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    why = "cannot flush " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    why = "cannot replace " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

const user_record* user_db::find(std::string_view name) const {
  for (const auto& u : users_) {
    if (u.name == name) {
      return &u;
    }
  }
  return nullptr;
}

bool user_db::put(std::string_view name, role r, std::string_view password, std::string_view realm,
                  std::uint32_t iterations) {
  if (!realm_.empty() && realm_ != realm) {
    return false;
  }
  realm_ = std::string(realm);
  user_record u{std::string(name), r, hash_password(password, iterations),
                digest_ha1(digest_algorithm::md5, name, realm, password),
                digest_ha1(digest_algorithm::sha256, name, realm, password)};
  for (auto& existing : users_) {
    if (existing.name == name) {
      existing = std::move(u);
      return true;
    }
  }
  users_.push_back(std::move(u));
  return true;
}

bool user_db::remove(std::string_view name) {
  for (auto it = users_.begin(); it != users_.end(); ++it) {
    if (it->name == name) {
      users_.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace vsnapd::server

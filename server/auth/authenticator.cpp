#include "server/auth/authenticator.hpp"

#include "common/text.hpp"
#include "common/assert.hpp"
#include "common/base64.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

namespace vsnapd::server::auth {
namespace {

// Throttling state is per address; an attacker spraying addresses must not grow it without
// bound, so past this many tracked addresses the oldest windows are dropped.
constexpr std::size_t max_tracked_addresses = 16384;
constexpr std::size_t max_cached_verifications = 1024;

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

authenticator::authenticator(const config::auth_config& cfg)
    : cfg_(cfg), now_([] { return clock::now(); }) {
  VSNAPD_CHECK(RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) == 1);
}

void authenticator::set_users(std::shared_ptr<const user_db> users) {
  std::lock_guard lock(mutex_);
  users_ = std::move(users);
  verified_.clear();
}

std::shared_ptr<const user_db> authenticator::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

void authenticator::set_clock_for_test(std::function<clock::time_point()> now) {
  now_ = std::move(now);
}

std::array<unsigned char, 32> authenticator::tag(std::string_view user, std::string_view password,
                                                 std::string_view stored_hash) const {
  std::string message;
  message.reserve(user.size() + password.size() + stored_hash.size() + 2);
  message.append(user).append(1, '\0').append(password).append(1, '\0').append(stored_hash);
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &len);
  OPENSSL_cleanse(message.data(), message.size());
  return out;
}

std::optional<std::chrono::seconds> authenticator::locked_out(std::string_view address) {
  std::lock_guard lock(mutex_);
  const auto it = failures_.find(std::string(address));
  if (it == failures_.end()) {
    return std::nullopt;
  }
  const auto now = now_();
  if (it->second.locked_until > now) {
    return std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
  }
  return std::nullopt;
}

outcome authenticator::fail(std::string_view address, std::string reason, bool stale) {
  std::lock_guard lock(mutex_);
  const auto now = now_();
  if (failures_.size() >= max_tracked_addresses && !failures_.contains(std::string(address))) {
    std::erase_if(failures_, [&](const auto& kv) {
      return kv.second.window_start + cfg_.failure_window < now && kv.second.locked_until < now;
    });
    if (failures_.size() >= max_tracked_addresses) {
      failures_.clear();  // under a spray, forgetting is better than unbounded memory
    }
  }
  auto& rec = failures_[std::string(address)];
  if (rec.count == 0 || rec.window_start + cfg_.failure_window < now) {
    rec.count = 0;
    rec.window_start = now;
  }
  ++rec.count;
  if (rec.count >= cfg_.max_failures && cfg_.lockout.count() > 0) {
    rec.locked_until = now + cfg_.lockout;
    rec.count = 0;
  }
  return outcome{verdict::challenge, {}, role::reader, std::move(reason), stale, {}};
}

outcome authenticator::success(const user_record& u) {
  return outcome{verdict::authenticated, u.name, u.user_role, {}, false, {}};
}

std::string authenticator::make_nonce() const {
  // nonce = b64(timestamp_ms(8) || HMAC(secret, timestamp)[0..16]): stateless, unforgeable,
  // and its age is readable, so an expired one earns stale=true rather than a password prompt.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now_().time_since_epoch())
                      .count();
  unsigned char raw[8 + 32];
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(ms) >> (56 - 8 * i));
  }
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), raw, 8, raw + 8, &len);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(raw), 24));
}

bool authenticator::nonce_valid(std::string_view nonce, bool& stale) const {
  stale = false;
  const auto raw = base64_decode(nonce);
  if (!raw || raw->size() != 24) {
    return false;
  }
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(raw->data()), 8, mac, &len);
  if (CRYPTO_memcmp(mac, raw->data() + 8, 16) != 0) {
    return false;
  }
  std::uint64_t ms = 0;
  for (int i = 0; i < 8; ++i) {
    ms = (ms << 8) | static_cast<unsigned char>((*raw)[i]);
  }
  const auto issued = clock::time_point(std::chrono::milliseconds(ms));
  if (issued > now_() + std::chrono::seconds(5) || now_() - issued > cfg_.nonce_lifetime) {
    stale = true;
    return false;
  }
  return true;
}

outcome authenticator::check(const request_facts& f) {
  const authorization parsed = parse_authorization(f.authorization);

  if (std::holds_alternative<no_credentials>(parsed) ||
      std::holds_alternative<client_certificate_request>(parsed)) {
    if (f.certificate_user) {
      const auto db = users();
      if (const user_record* u = db ? db->find(*f.certificate_user) : nullptr) {
        return success(*u);
      }
      return outcome{verdict::challenge, {}, role::reader,
                     "client certificate maps to unknown user '" + *f.certificate_user + "'"};
    }
    return outcome{verdict::challenge, {}, role::reader, "no credentials"};
  }
  if (auto retry = locked_out(f.client_address)) {
    return outcome{verdict::throttled, {}, role::reader,
                   "too many failed logins from this address", false, *retry};
  }
  if (const auto* m = std::get_if<malformed_credentials>(&parsed)) {
    return fail(f.client_address, m->why);
  }
  if (const auto* u = std::get_if<unsupported_scheme>(&parsed)) {
    return outcome{verdict::challenge, {}, role::reader,
                   "unsupported authentication scheme '" + u->scheme + "'"};
  }
  if (const auto* b = std::get_if<basic_credentials>(&parsed)) {
    if (!cfg_.basic) {
      return outcome{verdict::challenge, {}, role::reader, "Basic authentication is disabled"};
    }
    if (!f.encrypted && !cfg_.allow_unencrypted) {
      return outcome{verdict::insecure_basic, {}, role::reader,
                     "Basic authentication over unencrypted HTTP is refused: use HTTPS, or set "
                     "auth.allow_unencrypted = true"};
    }
    const auto db = users();
    const user_record* u = db ? db->find(b->user) : nullptr;
    if (u == nullptr) {
      // Same answer as a wrong password, so that user names cannot be probed.
      return outcome{verdict::needs_kdf, {}, role::reader, {}};
    }
    const auto t = tag(b->user, b->password, u->password_hash);
    std::lock_guard lock(mutex_);
    const auto it = verified_.find(u->name);
    if (it != verified_.end() && CRYPTO_memcmp(it->second.data(), t.data(), t.size()) == 0) {
      return outcome{verdict::authenticated, u->name, u->user_role, {}, false, {}};
    }
    return outcome{verdict::needs_kdf, {}, role::reader, {}};
  }

  const auto& d = std::get<digest_credentials>(parsed);
  if (!cfg_.digest) {
    return outcome{verdict::challenge, {}, role::reader, "Digest authentication is disabled"};
  }
  digest_algorithm alg = digest_algorithm::md5;
  if (d.algorithm.empty() || iequals(d.algorithm, "MD5")) {
    alg = digest_algorithm::md5;
  } else if (iequals(d.algorithm, "SHA-256")) {
    alg = digest_algorithm::sha256;
  } else {
    return fail(f.client_address, "unsupported Digest algorithm '" + d.algorithm + "'");
  }
  if (d.realm != cfg_.realm) {
    return fail(f.client_address, "Digest realm '" + d.realm + "' is not '" + cfg_.realm + "'");
  }
  if (d.qop != "auth" || d.cnonce.empty() || d.nc.empty()) {
    return fail(f.client_address, "Digest needs qop=auth with cnonce and nc");
  }
  if (d.uri != f.target) {
    return fail(f.client_address, "Digest uri does not match the request target");
  }
  bool stale = false;
  if (!nonce_valid(d.nonce, stale)) {
    if (stale) {
      // An expired nonce is not a failed login: the client retries with a fresh one.
      return outcome{verdict::challenge, {}, role::reader, "Digest nonce expired", true, {}};
    }
    return fail(f.client_address, "Digest nonce was not issued by this server");
  }
  const auto db = users();
  const user_record* u = db ? db->find(d.username) : nullptr;
  if (u == nullptr) {
    return fail(f.client_address, "unknown user or wrong password");
  }
  const std::string& ha1 = alg == digest_algorithm::md5 ? u->ha1_md5 : u->ha1_sha256;
  const std::string expected = digest_response(alg == digest_algorithm::sha256, ha1, d.nonce,
                                               d.nc, d.cnonce, d.qop, f.method, d.uri);
  std::string response = d.response;
  for (char& c : response) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!equal_constant_time(expected, response)) {
    return fail(f.client_address, "unknown user or wrong password");
  }
  return success(*u);
}

outcome authenticator::verify_basic(const request_facts& f) {
  const authorization parsed = parse_authorization(f.authorization);
  const auto* b = std::get_if<basic_credentials>(&parsed);
  VSNAPD_CHECK(b != nullptr);  // only called after check() said needs_kdf
  const auto db = users();
  const user_record* u = db ? db->find(b->user) : nullptr;
  if (u == nullptr) {
    // Burn the same KDF time as a real check so that timing does not reveal user names.
    (void)verify_password("pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA==$"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          b->password);
    return fail(f.client_address, "unknown user or wrong password");
  }
  if (!verify_password(u->password_hash, b->password)) {
    return fail(f.client_address, "unknown user or wrong password");
  }
  const auto t = tag(b->user, b->password, u->password_hash);
  {
    std::lock_guard lock(mutex_);
    if (verified_.size() >= max_cached_verifications) {
      verified_.clear();
    }
    verified_[u->name] = t;
  }
  return success(*u);
}

std::vector<std::string> authenticator::challenges(bool encrypted, bool stale) const {
  std::vector<std::string> out;
  if (cfg_.digest) {
    // One nonce for both algorithms: clients that fold repeated headers into one (Python
    // requests does) then still see a consistent nonce.
    const std::string nonce = make_nonce();
    out.push_back(digest_challenge(cfg_.realm, nonce, "SHA-256", stale));
    out.push_back(digest_challenge(cfg_.realm, nonce, "MD5", stale));
  }
  if (cfg_.basic && (encrypted || cfg_.allow_unencrypted)) {
    out.push_back(basic_challenge(cfg_.realm));
  }
  return out;
}

}  // namespace vsnapd::server::auth

#pragma once
// Decides who a request is from: Basic, Digest, or a mapped TLS client certificate, with the
// WinRM rule that Basic needs an encrypted channel unless configured otherwise, and throttling
// of repeated failures per client address.
//
// Thread-safe. Verifying a Basic password runs PBKDF2 (hundreds of milliseconds by design), so
// it is split out (`verify_basic`) for the caller to run on the blocking executor; successful
// verifications are remembered as an HMAC tag so that keep-alive clients that resend Basic
// credentials on every request pay the KDF once.

#include "server/auth/authorization.hpp"
#include "server/config.hpp"
#include "server/users.hpp"

#include <array>
#include <functional>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vsnapd::server::auth {

/// What the HTTP layer knows about a request, for authentication.
struct request_facts {
  std::string_view authorization;          ///< header value, "" when absent
  std::string_view method;                 ///< for the Digest HA2
  std::string_view target;                 ///< request-target, compared with Digest uri
  bool encrypted = false;                  ///< arrived over TLS
  std::string_view client_address;         ///< throttling key
  std::optional<std::string> certificate_user;  ///< user mapped from a verified client cert
};

enum class verdict : std::uint8_t {
  authenticated,     ///< `user` and `user_role` are set
  challenge,         ///< 401 with WWW-Authenticate challenges
  insecure_basic,    ///< 403: Basic over plain HTTP while allow_unencrypted is off
  throttled,         ///< 429: too many failures from this address
  needs_kdf,         ///< Basic credentials not in the cache: call verify_basic off the I/O thread
};

struct outcome {
  verdict result = verdict::challenge;
  std::string user;
  role user_role = role::reader;
  std::string reason;  ///< why, for the log and the response body
  bool stale = false;  ///< the Digest nonce expired: say stale=true so clients retry silently
  std::chrono::seconds retry_after{0};
};

class authenticator {
 public:
  using clock = std::chrono::steady_clock;

  explicit authenticator(const config::auth_config& cfg);

  /// Replaces the users (SIGHUP). Forgets cached verifications.
  void set_users(std::shared_ptr<const user_db> users);

  /// Fast path: everything except the Basic KDF.
  outcome check(const request_facts& facts);

  /// Slow path for verdict::needs_kdf. Call on the blocking executor.
  outcome verify_basic(const request_facts& facts);

  /// WWW-Authenticate values for a 401 on a channel (encrypted or not), most secure first.
  std::vector<std::string> challenges(bool encrypted, bool stale) const;

  /// Test hook: the clock used for nonces and throttling.
  void set_clock_for_test(std::function<clock::time_point()> now);

 private:
  outcome fail(std::string_view address, std::string reason, bool stale = false);
  outcome success(const user_record& u);
  std::optional<std::chrono::seconds> locked_out(std::string_view address);
  std::string make_nonce() const;
  bool nonce_valid(std::string_view nonce, bool& stale) const;
  std::array<unsigned char, 32> tag(std::string_view user, std::string_view password,
                                    std::string_view stored_hash) const;
  std::shared_ptr<const user_db> users() const;

  config::auth_config cfg_;
  std::array<unsigned char, 32> secret_{};
  std::function<clock::time_point()> now_;

  mutable std::mutex mutex_;  // guards everything below
  std::shared_ptr<const user_db> users_;
  std::unordered_map<std::string, std::array<unsigned char, 32>> verified_;
  struct failure_record {
    std::uint32_t count = 0;
    clock::time_point window_start;
    clock::time_point locked_until;
  };
  std::unordered_map<std::string, failure_record> failures_;
};

}  // namespace vsnapd::server::auth

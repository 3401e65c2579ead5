#pragma once
// The daemon's configuration (STYLE rule 38): one typed struct, every default in one place
// (`config{}` is the embedded default), loaded from TOML and validated once at start-up.

#include "common/log.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::server {

/// An address and port to listen on. Port 0 asks the kernel for a free port.
struct endpoint_address {
  std::string host;  ///< IPv4 or IPv6 literal (no brackets)
  std::uint16_t port = 0;
  bool operator==(const endpoint_address&) const = default;
};

/// Parses "ADDR:PORT" or "[V6ADDR]:PORT". Returns nullopt and sets `why` when malformed.
std::optional<endpoint_address> parse_endpoint(std::string_view text, std::string& why);

/// A mapping of an HTTPS client certificate to a user (DSP0226 https/mutual profile).
struct certificate_mapping {
  std::string user;
  std::string subject;             ///< RFC 2253 subject, e.g. "CN=ops,O=Example"; or empty
  std::string sha256_fingerprint;  ///< hex, colons optional, any case; or empty
};

struct config {
  /// Where certificates, users and (later) virtual machines live. Empty: the built-in default
  /// (/var/lib/vsnapd when installed under /usr, ./var/vsnapd otherwise).
  std::string state_dir;

  struct listen_config {
    std::optional<endpoint_address> wsman_http{endpoint_address{"127.0.0.1", 5985}};
    std::optional<endpoint_address> wsman_https{endpoint_address{"127.0.0.1", 5986}};
    std::optional<endpoint_address> cimxml_http{endpoint_address{"127.0.0.1", 5988}};
    std::optional<endpoint_address> cimxml_https{endpoint_address{"127.0.0.1", 5989}};
  } listen;

  struct tls_config {
    std::string certificate;  ///< PEM chain; empty: <state_dir>/tls/cert.pem, generated
    std::string private_key;  ///< PEM key; empty: <state_dir>/tls/key.pem, generated
    std::string client_ca;    ///< PEM CA bundle; non-empty enables client certificates
    std::vector<certificate_mapping> client_certificates;
  } tls;

  struct auth_config {
    bool basic = true;
    bool digest = true;
    bool allow_unencrypted = false;  ///< Basic over plain HTTP (WinRM's AllowUnencrypted)
    bool anonymous_identify = true;  ///< answer wsmid:Identify without credentials
    std::string realm = "vsnapd";
    std::uint32_t max_failures = 5;
    std::chrono::seconds failure_window{60};
    std::chrono::seconds lockout{60};
    std::chrono::seconds nonce_lifetime{300};
  } auth;

  struct limits_config {
    std::uint64_t max_envelope_size = 512000;  ///< WS-Man MaxEnvelopeSize default (bytes)
    std::chrono::seconds header_timeout{10};
    std::chrono::seconds request_timeout{60};
    std::chrono::seconds idle_timeout{120};
    std::uint32_t max_connections = 4096;
    std::chrono::seconds shutdown_timeout{10};
    /// WS-Enumeration: an unused enumeration context is dropped after this long.
    std::chrono::seconds enumeration_expiry{600};
    /// WS-Enumeration: open contexts one user may hold (each holds a provider cursor).
    std::uint32_t max_enumerations_per_user = 64;
  } limits;

  struct server_config {
    std::uint32_t threads = 0;  ///< I/O threads; 0 = one per core
  } server;

  /// The virtual machines the product serves (read by its composition root, server/main.cpp).
  struct virtualization_config {
    /// A directory of VM definition files (`*.toml`, one VM each, the vm.toml format); each
    /// whose uuid (or, without one, name) is not defined yet is defined at start. Empty: none.
    std::string definitions;
    /// On the first start (a new state directory) define a stopped VM `demo`.
    bool demo_vm = true;
    /// The test guest the demo VM boots (scripts/build-test-guest.sh's output directory).
    /// Empty: $XDG_CACHE_HOME/vsnapd/test-guest, or ~/.cache/vsnapd/test-guest.
    std::string demo_guest;
    /// Cap on how fast a full snapshot copies a running VM's memory to disk (MiB/s); 0 is
    /// unlimited. The copy is live, so a cap lengthens the snapshot, not the guest's pause.
    std::uint32_t memory_copy_mib_per_second = 0;
  } virtualization;

  log::level log_level = log::level::info;
};

/// A configuration problem: where and why. Thrown only while loading (STYLE rule 17a).
class config_error : public std::runtime_error {
 public:
  config_error(std::string file, std::uint32_t line, const std::string& reason)
      : std::runtime_error(file + ":" + std::to_string(line) + ": " + reason),
        file_(std::move(file)),
        line_(line) {}
  const std::string& file() const { return file_; }
  std::uint32_t line() const { return line_; }

 private:
  std::string file_;
  std::uint32_t line_;
};

/// Loads `path` over the defaults. Unknown keys, wrong types, out-of-range values and
/// unreadable files throw config_error naming the file and line.
config load_config(const std::string& path);

/// Parses TOML text (`origin` names it in diagnostics); for tests and load_config.
config parse_config(std::string_view text, const std::string& origin);

/// Checks cross-key rules (e.g. at least one listener). Throws config_error (line 0).
void validate(const config& c, const std::string& origin);

/// The state directory to use when none is configured.
std::string default_state_dir();

}  // namespace vsnapd::server

#pragma once
// The state directory: where the certificate, the users file and (later) virtual machines
// live, and what a first start puts there.

#include "server/config.hpp"

#include <string>

namespace vsnapd::server {

struct state_paths {
  std::string dir;
  std::string users;        ///< <dir>/users
  std::string certificate;  ///< configured, or <dir>/tls/cert.pem
  std::string private_key;  ///< configured, or <dir>/tls/key.pem
  bool generated_tls = false;  ///< the certificate is ours to create when missing
};

state_paths resolve_state_paths(const config& cfg);

/// Creates the state directory (0700) and, on first start, the self-signed certificate and
/// the initial administrator `admin`, logging the fingerprint and the password (once; only
/// the salted hash is kept). Throws std::runtime_error with the reason on failure.
void prepare_state(const config& cfg, const state_paths& paths);

/// A random password of 24 characters from the URL-safe base64 alphabet (144 bits).
std::string generate_password();

}  // namespace vsnapd::server

#include "server/state.hpp"

#include "common/assert.hpp"
#include "common/base64.hpp"
#include "common/log.hpp"
#include "server/tls.hpp"
#include "server/users.hpp"

#include <openssl/rand.h>

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>

namespace vsnapd::server {
namespace {

void make_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create state directory " + dir + ": " + ec.message());
  }
  // Keys and hashes live here: nobody else may list or read it.
  ::chmod(dir.c_str(), 0700);
}

}  // namespace

state_paths resolve_state_paths(const config& cfg) {
  state_paths p;
  p.dir = cfg.state_dir.empty() ? default_state_dir() : cfg.state_dir;
  p.users = p.dir + "/users";
  p.generated_tls = cfg.tls.certificate.empty();
  p.certificate = p.generated_tls ? p.dir + "/tls/cert.pem" : cfg.tls.certificate;
  p.private_key = cfg.tls.private_key.empty() ? (p.generated_tls ? p.dir + "/tls/key.pem" : "")
                                              : cfg.tls.private_key;
  if (p.private_key.empty()) {
    p.private_key = p.certificate;  // a PEM file that holds both
  }
  return p;
}

std::string generate_password() {
  unsigned char raw[18];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    throw std::runtime_error("no entropy for a password");
  }
  std::string pw = base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  for (char& c : pw) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return pw;
}

void prepare_state(const config& cfg, const state_paths& paths) {
  make_private_dir(paths.dir);
  const bool tls_wanted = cfg.listen.wsman_https || cfg.listen.cimxml_https;
  if (tls_wanted && paths.generated_tls && !std::filesystem::exists(paths.certificate)) {
    make_private_dir(paths.dir + "/tls");
    std::string why;
    if (!tls::generate_self_signed(paths.certificate, paths.private_key, why)) {
      throw std::runtime_error("cannot create the TLS certificate: " + why);
    }
    log::write(log::level::info, "server.tls",
               "generated self-signed certificate " + paths.certificate +
                   " sha256 fingerprint: " + tls::file_fingerprint(paths.certificate));
  } else if (tls_wanted) {
    log::write(log::level::info, "server.tls",
               "certificate " + paths.certificate +
                   " sha256 fingerprint: " + tls::file_fingerprint(paths.certificate));
  }

  if (!std::filesystem::exists(paths.users)) {
    user_db db;
    const std::string password = generate_password();
    VSNAPD_CHECK(db.put("admin", role::admin, password, cfg.auth.realm));  // empty db: any realm
    std::string why;
    if (!db.save(paths.users, why)) {
      throw std::runtime_error("cannot create the users file: " + why);
    }
    log::write(log::level::info, "server.state",
               "created initial administrator 'admin' password: " + password +
                   " (shown once; only a salted hash is stored)");
  }
}

}  // namespace vsnapd::server

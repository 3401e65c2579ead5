#include "server/tls.hpp"

#include "common/c_handle.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vsnapd::server::tls {
namespace {

using pkey_ptr = c_handle<EVP_PKEY, EVP_PKEY_free>;
using x509_ptr = c_handle<X509, X509_free>;
using bio_ptr = c_handle<BIO, BIO_free_all>;
using ext_ptr = c_handle<X509_EXTENSION, X509_EXTENSION_free>;

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) {
    return "unknown OpenSSL error";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// Writes `pem` with mode `mode`, creating or truncating the file.
bool write_file(const std::string& path, const std::string& pem, mode_t mode, std::string& why) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    why = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    why = "cannot write " + path;
  }
  return ok;
}

std::string to_pem(bool (*writer)(BIO*, void*), void* object) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || !writer(bio.get(), object)) {
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string colon_hex(const unsigned char* md, unsigned int len, bool colons) {
  std::string out;
  char buf[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02X", md[i]);
    if (colons && i > 0) {
      out += ':';
    }
    out += buf;
  }
  return out;
}

}  // namespace

bool generate_self_signed(const std::string& cert_path, const std::string& key_path,
                          std::string& why) {
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  x509_ptr cert{X509_new()};
  if (!key || !cert) {
    why = "cannot generate a key: " + openssl_error();
    return false;
  }
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  X509_set_version(cert.get(), 2);
  // A random 127-bit serial, as CAs do, so regenerated certificates never collide.
  c_handle<BIGNUM, BN_free> serial{BN_new()};
  BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("vsnapd"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(host), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  const std::string san =
      std::string("DNS:localhost,IP:127.0.0.1,IP:::1,DNS:") + host;
  if (!add_extension(cert.get(), NID_subject_alt_name, san.c_str()) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    why = "cannot sign the certificate: " + openssl_error();
    return false;
  }
  const std::string key_pem = to_pem(
      [](BIO* b, void* k) {
        return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                        nullptr, nullptr) == 1;
      },
      key.get());
  const std::string cert_pem = to_pem(
      [](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)) == 1; },
      cert.get());
  if (key_pem.empty() || cert_pem.empty()) {
    why = "cannot encode PEM: " + openssl_error();
    return false;
  }
  // The key first: a certificate without its key would be unusable on the next start.
  return write_file(key_path, key_pem, 0600, why) && write_file(cert_path, cert_pem, 0644, why);
}

std::string fingerprint_hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) {
    return {};
  }
  return colon_hex(md, len, false);
}

std::string subject_rfc2253(X509* cert) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string file_fingerprint(const std::string& cert_path) {
  FILE* f = std::fopen(cert_path.c_str(), "r");
  if (f == nullptr) {
    return {};
  }
  x509_ptr cert{PEM_read_X509(f, nullptr, nullptr, nullptr)};
  std::fclose(f);
  if (!cert) {
    return {};
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) {
    return {};
  }
  return colon_hex(md, len, true);
}

std::shared_ptr<boost::asio::ssl::context> make_server_context(const std::string& cert_path,
                                                               const std::string& key_path,
                                                               const std::string& client_ca) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_NO_COMPRESSION);
  // Forward-secret AEAD suites only for TLS 1.2; TLS 1.3's defaults are all of that kind.
  if (SSL_CTX_set_cipher_list(native,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
    throw std::runtime_error("cannot set TLS cipher suites: " + openssl_error());
  }
  // Idle keep-alive connections are the common case; releasing their 34 KiB of record
  // buffers keeps a thousand open sessions within the memory budget.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Resumption: a server-side cache (TLS 1.2 session IDs) plus stateless tickets.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(native, 20480);
  static const unsigned char sid_ctx[] = "vsnapd";
  SSL_CTX_set_session_id_context(native, sid_ctx, sizeof sid_ctx - 1);

  if (SSL_CTX_use_certificate_chain_file(native, cert_path.c_str()) != 1) {
    throw std::runtime_error("cannot load TLS certificate " + cert_path + ": " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(native, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("cannot load TLS private key " + key_path + ": " + openssl_error());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("TLS private key " + key_path + " does not match certificate " +
                             cert_path);
  }
  if (!client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(native, client_ca.c_str(), nullptr) != 1) {
      throw std::runtime_error("cannot load client CA " + client_ca + ": " + openssl_error());
    }
    // Ask for a certificate but accept connections without one: those use Basic or Digest.
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_client_CA_list(native, SSL_load_client_CA_file(client_ca.c_str()));
  }
  return ctx;
}

std::optional<std::string> map_client_certificate(
    X509* cert, const std::vector<certificate_mapping>& mappings) {
  if (cert == nullptr || mappings.empty()) {
    return std::nullopt;
  }
  const std::string fp = fingerprint_hex(cert);
  const std::string subject = subject_rfc2253(cert);
  for (const auto& m : mappings) {
    if ((!m.sha256_fingerprint.empty() && m.sha256_fingerprint == fp) ||
        (!m.subject.empty() && m.subject == subject)) {
      return m.user;
    }
  }
  return std::nullopt;
}

}  // namespace vsnapd::server::tls

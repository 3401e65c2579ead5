#pragma once
// TLS: the server context built from configuration (STYLE rule 25), the self-signed
// certificate generated on first start, and client-certificate identity.

#include "server/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>

typedef struct x509_st X509;

namespace vsnapd::server::tls {

/// Creates a P-256 key and a self-signed certificate for localhost and this host's name, valid
/// for ten years, written as PEM (key 0600). Returns false and sets `why` on failure.
bool generate_self_signed(const std::string& cert_path, const std::string& key_path,
                          std::string& why);

/// "AB:CD:..." SHA-256 fingerprint of the first certificate in a PEM file; empty on failure.
std::string file_fingerprint(const std::string& cert_path);

/// Upper-case hex SHA-256 fingerprint (no colons) and RFC 2253 subject of a certificate.
std::string fingerprint_hex(X509* cert);
std::string subject_rfc2253(X509* cert);

/// Builds the server context: TLS 1.2 minimum, ECDHE with AES-GCM or ChaCha20 only, server
/// cipher preference, no renegotiation, session cache and tickets for resumption, buffers
/// released while idle. With `client_ca`, asks for (but does not require) a client
/// certificate verified against it. Throws std::runtime_error with the reason on failure.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const std::string& cert_path,
                                                               const std::string& key_path,
                                                               const std::string& client_ca);

/// Maps a verified client certificate to a user through the configured mappings.
std::optional<std::string> map_client_certificate(
    X509* cert, const std::vector<certificate_mapping>& mappings);

}  // namespace vsnapd::server::tls

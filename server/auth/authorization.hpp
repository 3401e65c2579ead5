#pragma once
// Parsing of the HTTP Authorization header (RFC 7617 Basic, RFC 7616 Digest) and building of
// WWW-Authenticate challenges. Pure functions over strings: no I/O, no state.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace vsnapd::server::auth {

struct basic_credentials {
  std::string user;
  std::string password;
};

/// The fields of a Digest response (RFC 7616 section 3.4) that we use.
struct digest_credentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;
  std::string response;
  std::string algorithm;  ///< as sent; empty means MD5
  std::string cnonce;
  std::string nc;
  std::string qop;
};

/// pywinrm's certificate transport sends this DSP0226 profile URI as the Authorization value
/// to say "authenticate me by my TLS client certificate".
struct client_certificate_request {};

struct no_credentials {};

struct unsupported_scheme {
  std::string scheme;
};

struct malformed_credentials {
  std::string why;
};

using authorization = std::variant<no_credentials, basic_credentials, digest_credentials,
                                   client_certificate_request, unsupported_scheme,
                                   malformed_credentials>;

/// Classifies and parses an Authorization header value ("" = header absent).
authorization parse_authorization(std::string_view header);

/// The RFC 7616 section 3.4.1 response for qop=auth: H(HA1:nonce:nc:cnonce:qop:H(method:uri)),
/// lower-case hex. `sha256` selects SHA-256, else MD5.
std::string digest_response(bool sha256, std::string_view ha1, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop,
                            std::string_view method, std::string_view uri);

/// Builds a Digest challenge value (without the header name).
std::string digest_challenge(std::string_view realm, std::string_view nonce,
                             std::string_view algorithm, bool stale);

/// Builds a Basic challenge value.
std::string basic_challenge(std::string_view realm);

}  // namespace vsnapd::server::auth

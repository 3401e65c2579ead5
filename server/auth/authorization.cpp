#include "server/auth/authorization.hpp"

#include "common/text.hpp"
#include "common/base64.hpp"
#include "server/users.hpp"

#include <cctype>

namespace vsnapd::server::auth {
namespace {

constexpr std::string_view mutual_profile =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual";

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Parses the auth-param list of a Digest response: name=token or name="quoted", separated by
// commas with optional white space (RFC 7235 section 2.1).
std::variant<digest_credentials, malformed_credentials> parse_digest(std::string_view s) {
  digest_credentials d;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
  };
  while (true) {
    skip_space();
    while (i < s.size() && s[i] == ',') {
      ++i;
      skip_space();
    }
    if (i >= s.size()) {
      break;
    }
    const std::size_t name_start = i;
    while (i < s.size() && is_token_char(s[i])) {
      ++i;
    }
    const std::string_view name = s.substr(name_start, i - name_start);
    skip_space();
    if (name.empty() || i >= s.size() || s[i] != '=') {
      return malformed_credentials{"Digest parameters must be name=value pairs"};
    }
    ++i;
    skip_space();
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i++];
        if (c == '\\' && i < s.size()) {
          value += s[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) {
        return malformed_credentials{"unterminated quoted string in Digest parameters"};
      }
    } else {
      const std::size_t value_start = i;
      while (i < s.size() && is_token_char(s[i])) {
        ++i;
      }
      value = std::string(s.substr(value_start, i - value_start));
    }
    skip_space();
    if (i < s.size() && s[i] != ',') {
      return malformed_credentials{"Digest parameters must be separated by commas"};
    }
    std::string* slot = nullptr;
    if (iequals(name, "username")) {
      slot = &d.username;
    } else if (iequals(name, "realm")) {
      slot = &d.realm;
    } else if (iequals(name, "nonce")) {
      slot = &d.nonce;
    } else if (iequals(name, "uri")) {
      slot = &d.uri;
    } else if (iequals(name, "response")) {
      slot = &d.response;
    } else if (iequals(name, "algorithm")) {
      slot = &d.algorithm;
    } else if (iequals(name, "cnonce")) {
      slot = &d.cnonce;
    } else if (iequals(name, "nc")) {
      slot = &d.nc;
    } else if (iequals(name, "qop")) {
      slot = &d.qop;
    }
    if (slot != nullptr) {
      *slot = std::move(value);
    }
  }
  if (d.username.empty() || d.nonce.empty() || d.uri.empty() || d.response.empty()) {
    return malformed_credentials{"Digest credentials need username, nonce, uri and response"};
  }
  return d;
}

}  // namespace

authorization parse_authorization(std::string_view header) {
  header = trim_ows(header);
  if (header.empty()) {
    return no_credentials{};
  }
  if (header == mutual_profile) {
    return client_certificate_request{};
  }
  const auto space = header.find_first_of(" \t");
  const std::string_view scheme = header.substr(0, space);
  const std::string_view rest =
      space == std::string_view::npos ? std::string_view{} : trim_ows(header.substr(space));
  if (iequals(scheme, "Basic")) {
    const auto decoded = base64_decode(rest);
    if (!decoded) {
      return malformed_credentials{"Basic credentials are not valid base64"};
    }
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
      return malformed_credentials{"Basic credentials have no ':' between user and password"};
    }
    return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  if (iequals(scheme, "Digest")) {
    auto parsed = parse_digest(rest);
    if (auto* m = std::get_if<malformed_credentials>(&parsed)) {
      return *m;
    }
    return std::get<digest_credentials>(std::move(parsed));
  }
  return unsupported_scheme{std::string(scheme)};
}

std::string digest_response(bool sha256, std::string_view ha1, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop,
                            std::string_view method, std::string_view uri) {
  const auto alg = sha256 ? digest_algorithm::sha256 : digest_algorithm::md5;
  std::string a2;
  a2.append(method).append(":").append(uri);
  std::string kd;
  kd.append(ha1).append(":").append(nonce).append(":").append(nc).append(":").append(cnonce)
      .append(":").append(qop).append(":").append(hex_digest(alg, a2));
  return hex_digest(alg, kd);
}

std::string digest_challenge(std::string_view realm, std::string_view nonce,
                             std::string_view algorithm, bool stale) {
  std::string out = "Digest realm=\"";
  out += realm;
  out += "\", qop=\"auth\", algorithm=";
  out += algorithm;
  out += ", nonce=\"";
  out += nonce;
  out += '"';
  if (stale) {
    out += ", stale=true";
  }
  return out;
}

std::string basic_challenge(std::string_view realm) {
  std::string out = "Basic realm=\"";
  out += realm;
  out += "\", charset=\"UTF-8\"";
  return out;
}

}  // namespace vsnapd::server::auth

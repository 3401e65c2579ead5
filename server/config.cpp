#include "server/config.hpp"

#include <toml++/toml.h>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace vsnapd::server {
namespace {

std::uint32_t line_of(const toml::node& n) { return n.source().begin.line; }

// Reads one TOML table against a schema of known keys. Every key must be known; each setter
// reads and range-checks its value and throws config_error at the value's line.
class table_reader {
 public:
  table_reader(const toml::table& t, std::string origin, std::string prefix)
      : table_(t), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

  using setter = std::function<void(const toml::node&)>;

  table_reader& key(const std::string& name, setter s) {
    setters_.emplace(name, std::move(s));
    return *this;
  }

  void run() const {
    for (const auto& [k, v] : table_) {
      const auto it = setters_.find(std::string(k.str()));
      if (it == setters_.end()) {
        throw config_error(origin_, k.source().begin.line,
                           "unknown key '" + prefix_ + std::string(k.str()) + "'");
      }
      it->second(v);
    }
  }

  [[noreturn]] void fail(const toml::node& n, const std::string& key, const std::string& why) const {
    throw config_error(origin_, line_of(n), "'" + prefix_ + key + "' " + why);
  }

  bool boolean(const toml::node& n, const std::string& key) const {
    if (auto v = n.value<bool>(); v && n.is_boolean()) {
      return *v;
    }
    fail(n, key, "must be true or false");
  }

  std::string string(const toml::node& n, const std::string& key) const {
    if (n.is_string()) {
      return std::string(*n.value<std::string_view>());
    }
    fail(n, key, "must be a string");
  }

  std::uint64_t integer(const toml::node& n, const std::string& key, std::uint64_t min,
                        std::uint64_t max) const {
    if (!n.is_integer()) {
      fail(n, key, "must be an integer");
    }
    const std::int64_t v = *n.value<std::int64_t>();
    if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
      fail(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return static_cast<std::uint64_t>(v);
  }

  std::chrono::seconds seconds(const toml::node& n, const std::string& key, std::uint64_t min,
                               std::uint64_t max) const {
    return std::chrono::seconds(integer(n, key, min, max));
  }

  const std::string& origin() const { return origin_; }

 private:
  const toml::table& table_;
  std::string origin_;
  std::string prefix_;
  std::map<std::string, setter> setters_;
};

const toml::table& as_table(const toml::node& n, const std::string& origin, const std::string& key) {
  if (const auto* t = n.as_table()) {
    return *t;
  }
  throw config_error(origin, line_of(n), "'" + key + "' must be a table ([" + key + "])");
}

void read_listen(const toml::table& t, const std::string& origin, config::listen_config& out) {
  table_reader r(t, origin, "listen.");
  auto endpoint_key = [&r](std::optional<endpoint_address>& slot, const std::string& name) {
    r.key(name, [&r, &slot, name](const toml::node& n) {
      const std::string text = r.string(n, name);
      if (text.empty()) {
        slot.reset();  // an empty value disables the listener
        return;
      }
      std::string why;
      slot = parse_endpoint(text, why);
      if (!slot) {
        r.fail(n, name, why);
      }
    });
  };
  endpoint_key(out.wsman_http, "wsman_http");
  endpoint_key(out.wsman_https, "wsman_https");
  endpoint_key(out.cimxml_http, "cimxml_http");
  endpoint_key(out.cimxml_https, "cimxml_https");
  r.run();
}

std::string normalize_fingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') {
      continue;
    }
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

void read_tls(const toml::table& t, const std::string& origin, config::tls_config& out) {
  table_reader r(t, origin, "tls.");
  r.key("certificate", [&](const toml::node& n) { out.certificate = r.string(n, "certificate"); })
      .key("private_key", [&](const toml::node& n) { out.private_key = r.string(n, "private_key"); })
      .key("client_ca", [&](const toml::node& n) { out.client_ca = r.string(n, "client_ca"); })
      .key("client_certificate", [&](const toml::node& n) {
        const auto* arr = n.as_array();
        if (arr == nullptr) {
          r.fail(n, "client_certificate", "must be an array of tables ([[tls.client_certificate]])");
        }
        for (const toml::node& item : *arr) {
          certificate_mapping m;
          table_reader mr(as_table(item, origin, "tls.client_certificate"), origin,
                          "tls.client_certificate.");
          mr.key("user", [&](const toml::node& v) { m.user = mr.string(v, "user"); })
              .key("subject", [&](const toml::node& v) { m.subject = mr.string(v, "subject"); })
              .key("sha256", [&](const toml::node& v) {
                m.sha256_fingerprint = normalize_fingerprint(mr.string(v, "sha256"));
                if (m.sha256_fingerprint.size() != 64 ||
                    m.sha256_fingerprint.find_first_not_of("0123456789ABCDEF") != std::string::npos) {
                  mr.fail(v, "sha256", "must be a SHA-256 fingerprint (64 hex digits)");
                }
              });
          mr.run();
          if (m.user.empty() || (m.subject.empty() && m.sha256_fingerprint.empty())) {
            throw config_error(origin, line_of(item),
                               "'tls.client_certificate' needs 'user' and 'subject' or 'sha256'");
          }
          out.client_certificates.push_back(std::move(m));
        }
      });
  r.run();
}

void read_auth(const toml::table& t, const std::string& origin, config::auth_config& out) {
  table_reader r(t, origin, "auth.");
  r.key("basic", [&](const toml::node& n) { out.basic = r.boolean(n, "basic"); })
      .key("digest", [&](const toml::node& n) { out.digest = r.boolean(n, "digest"); })
      .key("allow_unencrypted",
           [&](const toml::node& n) { out.allow_unencrypted = r.boolean(n, "allow_unencrypted"); })
      .key("anonymous_identify",
           [&](const toml::node& n) { out.anonymous_identify = r.boolean(n, "anonymous_identify"); })
      .key("realm", [&](const toml::node& n) {
        out.realm = r.string(n, "realm");
        if (out.realm.empty() || out.realm.find_first_of("\"\\\r\n") != std::string::npos) {
          r.fail(n, "realm", "must be non-empty without quotes, backslashes or line breaks");
        }
      })
      .key("max_failures",
           [&](const toml::node& n) {
             out.max_failures = static_cast<std::uint32_t>(r.integer(n, "max_failures", 1, 1000000));
           })
      .key("failure_window_seconds",
           [&](const toml::node& n) {
             out.failure_window = r.seconds(n, "failure_window_seconds", 1, 86400);
           })
      .key("lockout_seconds",
           [&](const toml::node& n) { out.lockout = r.seconds(n, "lockout_seconds", 0, 86400); })
      .key("nonce_lifetime_seconds", [&](const toml::node& n) {
        out.nonce_lifetime = r.seconds(n, "nonce_lifetime_seconds", 10, 86400);
      });
  r.run();
}

void read_limits(const toml::table& t, const std::string& origin, config::limits_config& out) {
  table_reader r(t, origin, "limits.");
  r.key("max_envelope_size",
        [&](const toml::node& n) {
          // DSP0226 R6.2-1: at least 8192; our ceiling keeps one request's memory bounded.
          out.max_envelope_size = r.integer(n, "max_envelope_size", 8192, 64ull << 20);
        })
      .key("header_timeout_seconds",
           [&](const toml::node& n) { out.header_timeout = r.seconds(n, "header_timeout_seconds", 1, 3600); })
      .key("request_timeout_seconds",
           [&](const toml::node& n) { out.request_timeout = r.seconds(n, "request_timeout_seconds", 1, 3600); })
      .key("idle_timeout_seconds",
           [&](const toml::node& n) { out.idle_timeout = r.seconds(n, "idle_timeout_seconds", 1, 86400); })
      .key("max_connections",
           [&](const toml::node& n) {
             out.max_connections = static_cast<std::uint32_t>(r.integer(n, "max_connections", 1, 1000000));
           })
      .key("shutdown_timeout_seconds", [&](const toml::node& n) {
        out.shutdown_timeout = r.seconds(n, "shutdown_timeout_seconds", 0, 3600);
      })
      .key("enumeration_expiry_seconds",
           [&](const toml::node& n) {
             out.enumeration_expiry = r.seconds(n, "enumeration_expiry_seconds", 1, 86400);
           })
      .key("max_enumerations_per_user", [&](const toml::node& n) {
        out.max_enumerations_per_user =
            static_cast<std::uint32_t>(r.integer(n, "max_enumerations_per_user", 1, 100000));
      });
  r.run();
}

}  // namespace

std::optional<endpoint_address> parse_endpoint(std::string_view text, std::string& why) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      why = "must be [IPV6]:PORT, got '" + std::string(text) + "'";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      why = "must be ADDR:PORT (IPv6 as [ADDR]:PORT), got '" + std::string(text) + "'";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    why = "has no address in '" + std::string(text) + "'";
    return std::nullopt;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    why = "has an invalid port in '" + std::string(text) + "' (0-65535)";
    return std::nullopt;
  }
  return endpoint_address{std::string(host), static_cast<std::uint16_t>(value)};
}

config parse_config(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw config_error(origin, e.source().begin.line, std::string(e.description()));
  }
  config c;
  table_reader r(root, origin, "");
  r.key("state_dir", [&](const toml::node& n) { c.state_dir = r.string(n, "state_dir"); })
      .key("listen", [&](const toml::node& n) { read_listen(as_table(n, origin, "listen"), origin, c.listen); })
      .key("tls", [&](const toml::node& n) { read_tls(as_table(n, origin, "tls"), origin, c.tls); })
      .key("auth", [&](const toml::node& n) { read_auth(as_table(n, origin, "auth"), origin, c.auth); })
      .key("limits",
           [&](const toml::node& n) { read_limits(as_table(n, origin, "limits"), origin, c.limits); })
      .key("server",
           [&](const toml::node& n) {
             table_reader sr(as_table(n, origin, "server"), origin, "server.");
             sr.key("threads", [&](const toml::node& v) {
               c.server.threads = static_cast<std::uint32_t>(sr.integer(v, "threads", 0, 256));
             });
             sr.run();
           })
      .key("virtualization",
           [&](const toml::node& n) {
             table_reader vr(as_table(n, origin, "virtualization"), origin, "virtualization.");
             vr.key("definitions",
                    [&](const toml::node& v) { c.virtualization.definitions = vr.string(v, "definitions"); })
                 .key("demo_vm",
                      [&](const toml::node& v) { c.virtualization.demo_vm = vr.boolean(v, "demo_vm"); })
                 .key("demo_guest",
                      [&](const toml::node& v) { c.virtualization.demo_guest = vr.string(v, "demo_guest"); })
                 .key("memory_copy_mib_per_second", [&](const toml::node& v) {
                   c.virtualization.memory_copy_mib_per_second = static_cast<std::uint32_t>(
                       vr.integer(v, "memory_copy_mib_per_second", 0, 1048576));
                 });
             vr.run();
           })
      .key("log", [&](const toml::node& n) {
        table_reader lr(as_table(n, origin, "log"), origin, "log.");
        lr.key("level", [&](const toml::node& v) {
          const auto level = log::parse_level(lr.string(v, "level"));
          if (!level) {
            lr.fail(v, "level", "must be one of debug, info, warning, error");
          }
          c.log_level = *level;
        });
        lr.run();
      });
  r.run();
  return c;
}

config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw config_error(path, 0, std::string("cannot open configuration file: ") + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw config_error(path, 0, "cannot read configuration file");
  }
  return parse_config(text.str(), path);
}

void validate(const config& c, const std::string& origin) {
  const auto& l = c.listen;
  if (!l.wsman_http && !l.wsman_https && !l.cimxml_http && !l.cimxml_https) {
    throw config_error(origin, 0, "every listener is disabled; enable at least one");
  }
  if (!c.auth.basic && !c.auth.digest && c.tls.client_ca.empty()) {
    throw config_error(origin, 0,
                       "no authentication scheme is enabled (auth.basic, auth.digest, tls.client_ca)");
  }
  if (!c.tls.client_certificates.empty() && c.tls.client_ca.empty()) {
    throw config_error(origin, 0, "tls.client_certificate mappings need tls.client_ca");
  }
}

std::string default_state_dir() {
  // A root-installed daemon (binary under /usr) keeps state in the FHS place; a daemon run
  // from a build tree keeps it beside the working directory so that it needs no privileges.
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.string().starts_with("/usr/")) {
    return "/var/lib/vsnapd";
  }
  return "./var/vsnapd";
}

}  // namespace vsnapd::server

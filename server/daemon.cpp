// The daemon's life (see daemon.hpp): it reads the command line and configuration, prepares the
// state directory, starts the object manager with the composition root's providers, wires
// router, listeners and signals together, and runs the I/O threads.

#include "server/daemon.hpp"

#include "cimom/mof/check_command.hpp"
#include "cimom/runtime.hpp"
#include "common/log.hpp"
#include "server/config.hpp"
#include "server/http_server.hpp"
#include "server/router.hpp"
#include "server/state.hpp"
#include "server/tls.hpp"
#include "server/users.hpp"
#include "server/version.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <malloc.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

namespace {

using namespace vsnapd;
using namespace vsnapd::server;
namespace asio = boost::asio;

constexpr std::string_view usage = R"(usage: vsnapd [options]
       vsnapd user add NAME [--role admin|operator|reader] [options]
       vsnapd user del NAME [options]
       vsnapd user list [options]
       vsnapd mof check FILE...

A WS-Management (/wsman) and CIM-XML (/cimom) server for virtual machine snapshots.
With no configuration it runs from ./var/vsnapd (or /var/lib/vsnapd when installed), makes
a self-signed certificate and an administrator on first start, and listens on 127.0.0.1.

options:
  --config FILE          read TOML configuration (see conf/vsnapd.toml)
  --state-dir DIR        state directory (certificate, users, virtual machines)
  --wsman-http ADDR:PORT    WS-Man over HTTP   (default 127.0.0.1:5985; "" disables)
  --wsman-https ADDR:PORT   WS-Man over HTTPS  (default 127.0.0.1:5986)
  --cimxml-http ADDR:PORT   CIM-XML over HTTP  (default 127.0.0.1:5988)
  --cimxml-https ADDR:PORT  CIM-XML over HTTPS (default 127.0.0.1:5989)
                         port 0 picks a free port; the bound port is logged
  --log-level LEVEL      debug, info, warning or error (default info)
  --check-config         validate the configuration and exit
  --version              print the version and exit
  --help                 print this help and exit

`mof check` compiles MOF files (with their #pragma includes) and prints diagnostics and
a class count; it exits 1 on any error.

Passwords for `user add` are read from standard input (or prompted for on a terminal),
never from the command line. Send SIGHUP to reload certificates and users.
)";

struct command_line {
  std::string config_file;
  std::map<std::string, std::string> overrides;  // flag -> value, applied over the file
  bool check_config = false;
  bool version = false;
  bool help = false;
  std::vector<std::string> positional;  // "user add NAME"
  std::string role = "reader";
  bool role_given = false;
};

class usage_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

command_line parse_command_line(int argc, char** argv) {
  static const std::vector<std::string> valued = {"--config",      "--state-dir",   "--wsman-http",
                                                  "--wsman-https", "--cimxml-http", "--cimxml-https",
                                                  "--log-level",   "--role"};
  command_line cl;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (std::find(valued.begin(), valued.end(), arg) != valued.end()) {
      if (!value) {
        if (i + 1 >= argc) {
          throw usage_error(arg + " needs a value");
        }
        value = argv[++i];
      }
      if (arg == "--config") {
        cl.config_file = *value;
      } else if (arg == "--role") {
        cl.role = *value;
        cl.role_given = true;
      } else {
        cl.overrides[arg] = *value;
      }
    } else if (value) {
      throw usage_error(arg + " takes no value");
    } else if (arg == "--check-config") {
      cl.check_config = true;
    } else if (arg == "--version") {
      cl.version = true;
    } else if (arg == "--help" || arg == "-h") {
      cl.help = true;
    } else if (arg == "--password") {
      throw usage_error("passwords are never taken from the command line; pipe it on stdin");
    } else if (arg.starts_with("-")) {
      throw usage_error("unknown option " + arg);
    } else {
      cl.positional.push_back(arg);
    }
  }
  return cl;
}

config build_config(const command_line& cl) {
  const std::string origin = cl.config_file.empty() ? "(command line)" : cl.config_file;
  config cfg = cl.config_file.empty() ? config{} : load_config(cl.config_file);
  for (const auto& [flag, value] : cl.overrides) {
    if (flag == "--state-dir") {
      cfg.state_dir = value;
    } else if (flag == "--log-level") {
      const auto level = log::parse_level(value);
      if (!level) {
        throw usage_error("--log-level must be debug, info, warning or error");
      }
      cfg.log_level = *level;
    } else {
      std::optional<endpoint_address>* slot = flag == "--wsman-http"    ? &cfg.listen.wsman_http
                                              : flag == "--wsman-https" ? &cfg.listen.wsman_https
                                              : flag == "--cimxml-http" ? &cfg.listen.cimxml_http
                                                                        : &cfg.listen.cimxml_https;
      if (value.empty()) {
        slot->reset();
      } else {
        std::string why;
        *slot = parse_endpoint(value, why);
        if (!*slot) {
          throw usage_error(flag + " " + why);
        }
      }
    }
  }
  validate(cfg, origin);
  return cfg;
}

// Reads a password from a terminal without echo (twice, to catch typos), or one line from a
// pipe.
std::string read_password() {
  std::string first;
  if (::isatty(STDIN_FILENO) != 0) {
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string second;
    std::cerr << "Password: " << std::flush;
    std::getline(std::cin, first);
    std::cerr << "\nRepeat password: " << std::flush;
    std::getline(std::cin, second);
    std::cerr << "\n";
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    if (first != second) {
      throw usage_error("the passwords do not match");
    }
  } else if (!std::getline(std::cin, first)) {
    throw usage_error("no password on standard input");
  }
  if (!first.empty() && first.back() == '\r') {
    first.pop_back();
  }
  if (first.size() < 8) {
    throw usage_error("the password must have at least 8 characters");
  }
  return first;
}

int user_command(const command_line& cl, const config& cfg) {
  const auto& p = cl.positional;
  if (p.size() < 2) {
    throw usage_error("usage: vsnapd user add|del|list [NAME]");
  }
  const state_paths paths = resolve_state_paths(cfg);
  std::string why;
  auto db = user_db::load(paths.users, true, why);
  if (!db) {
    std::cerr << "vsnapd: " << why << "\n";
    return 1;
  }
  const std::string& verb = p[1];
  if (verb == "list") {
    for (const auto& u : db->users()) {
      std::cout << u.name << "\t" << to_string(u.user_role) << "\n";
    }
    return 0;
  }
  if ((verb != "add" && verb != "del") || p.size() != 3) {
    throw usage_error("usage: vsnapd user add|del NAME");
  }
  const std::string& name = p[2];
  if (verb == "add") {
    if (!valid_user_name(name)) {
      throw usage_error("invalid user name '" + name + "': use 1-64 of A-Z a-z 0-9 . _ @ -");
    }
    const auto r = parse_role(cl.role);
    if (!r) {
      throw usage_error("--role must be admin, operator or reader");
    }
    if (!db->put(name, *r, read_password(), cfg.auth.realm)) {
      std::cerr << "vsnapd: " << paths.users << " holds Digest hashes for realm '" << db->realm()
                << "' but the configuration says '" << cfg.auth.realm
                << "'; pass the daemon's --config (or set auth.realm to match)\n";
      return 1;
    }
  } else if (!db->remove(name)) {
    std::cerr << "vsnapd: no user '" << name << "'\n";
    return 1;
  }
  std::filesystem::create_directories(paths.dir);
  if (!db->save(paths.users, why)) {
    std::cerr << "vsnapd: " << why << "\n";
    return 1;
  }
  std::cerr << "vsnapd: " << (verb == "add" ? "saved" : "removed") << " user '" << name
            << "'; send SIGHUP to a running daemon to apply\n";
  return 0;
}

// systemd Type=notify: tell the service manager about readiness and reloads. A no-op when
// not started by systemd.
void notify_systemd(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) {
    return;
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace
  }
  ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(path)));
  ::close(fd);
}

std::vector<listener_spec> listeners_of(const config& cfg) {
  std::vector<listener_spec> out;
  auto add = [&out](const std::optional<endpoint_address>& a, const char* name, protocol p,
                    bool tls) {
    if (a) {
      out.push_back({name, *a, p, tls});
    }
  };
  add(cfg.listen.wsman_http, "wsman-http", protocol::wsman, false);
  add(cfg.listen.wsman_https, "wsman-https", protocol::wsman, true);
  add(cfg.listen.cimxml_http, "cimxml-http", protocol::cimxml, false);
  add(cfg.listen.cimxml_https, "cimxml-https", protocol::cimxml, true);
  return out;
}

std::shared_ptr<const user_db> load_users(const state_paths& paths, const config& cfg) {
  std::string why;
  auto db = user_db::load(paths.users, false, why);
  if (!db) {
    throw std::runtime_error(why);
  }
  if (!db->realm().empty() && db->realm() != cfg.auth.realm) {
    log::write(log::level::warning, "server.auth",
               paths.users + " was written for realm '" + db->realm() + "' but auth.realm is '" +
                   cfg.auth.realm + "': Digest logins fail until passwords are set again " +
                   "(vsnapd user add) or the realm is changed back; Basic is unaffected");
  }
  return std::make_shared<const user_db>(std::move(*db));
}

int serve(const config& cfg, const daemon_hooks& hooks) {
  log::set_threshold(cfg.log_level);
  // Few malloc arenas: the I/O threads share a small heap, which keeps idle RSS low.
  ::mallopt(M_ARENA_MAX, 2);
  std::signal(SIGPIPE, SIG_IGN);

  const state_paths paths = resolve_state_paths(cfg);
  prepare_state(cfg, paths);
  const bool tls_wanted = cfg.listen.wsman_https || cfg.listen.cimxml_https;
  std::shared_ptr<asio::ssl::context> tls_ctx;
  if (tls_wanted) {
    tls_ctx = tls::make_server_context(paths.certificate, paths.private_key, cfg.tls.client_ca);
  }

  // The object manager: schema from the MOF embedded in this binary, interop registrations,
  // and jobs persisted in the state directory (an interrupted job is reported, never lost).
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  cim::runtime_options cim_options{paths.dir, host, 2, hooks.extra_mof};
  auto cim = cim::runtime::start(cim_options);
  if (!cim) {
    log::write(log::level::error, "cimom", cim.error().description);
    return 1;
  }
  {
    const auto& st = (*cim)->stats();
    log::write(log::level::info, "cimom",
               "schema loaded: " + std::to_string(st.classes) + " classes in " +
                   std::to_string(st.namespaces) + " namespaces, " +
                   std::to_string(st.static_instances) + " static instances, " +
                   std::to_string(st.recovered_jobs) + " jobs recovered (MOF " +
                   std::to_string(st.schema_load.count() / 1000) + " ms, total " +
                   std::to_string(st.total.count() / 1000) + " ms)");
  }

  std::shared_ptr<void> providers;
  if (hooks.register_providers) {
    auto registered = hooks.register_providers(**cim, startup_facts{paths.dir, host, cfg.virtualization});
    if (!registered) {
      log::write(log::level::error, "cimom",
                 "provider registration failed: " + registered.error().description);
      return 1;
    }
    providers = std::move(*registered);
  }

  const unsigned threads =
      cfg.server.threads != 0 ? cfg.server.threads : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context ioc(static_cast<int>(threads));
  asio::thread_pool blocking(2);  // password KDFs; later: fsync, hypervisor calls
  router handler(cfg, blocking.get_executor(), (*cim)->om());
  handler.set_users(load_users(paths, cfg));
  http_server server(ioc, cfg, handler, tls_ctx);
  server.start(listeners_of(cfg));

  asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal;
  wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) {
        return;
      }
      if (sig == SIGHUP) {
        notify_systemd("RELOADING=1");
        try {
          handler.set_users(load_users(paths, cfg));
          if (tls_wanted) {
            server.set_tls_context(
                tls::make_server_context(paths.certificate, paths.private_key, cfg.tls.client_ca));
          }
          log::write(log::level::info, "server", "reloaded users and certificate");
        } catch (const std::exception& e) {
          log::write(log::level::error, "server",
                     std::string("reload failed, keeping the previous state: ") + e.what());
        }
        notify_systemd("READY=1");
        wait_signal();
        return;
      }
      log::write(log::level::info, "server",
                 std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                     ": draining connections");
      notify_systemd("STOPPING=1");
      server.shutdown([&] {
        signals.cancel();
        ioc.stop();
      });
    });
  };
  wait_signal();

  log::write(log::level::info, "server",
             "ready (" + std::to_string(threads) + " I/O threads, state " + paths.dir + ")");
  notify_systemd("READY=1");

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&ioc] { ioc.run(); });
  }
  ioc.run();
  for (auto& t : pool) {
    t.join();
  }
  blocking.join();
  providers.reset();  // before the object manager they are registered with
  log::write(log::level::info, "server", "stopped");
  return 0;
}

int run(int argc, char** argv, const daemon_hooks& hooks) {
  const command_line cl = parse_command_line(argc, argv);
  if (cl.help) {
    std::cout << usage;
    return 0;
  }
  if (cl.version) {
    std::cout << product_name << " " << product_version << "\n";
    return 0;
  }
  if (!cl.positional.empty() && cl.positional[0] == "mof") {
    if (cl.positional.size() < 2 || cl.positional[1] != "check") {
      throw usage_error("usage: vsnapd mof check FILE...");
    }
    return cim::mof::run_check({cl.positional.begin() + 2, cl.positional.end()}, std::cout,
                               std::cerr);
  }
  const config cfg = build_config(cl);
  if (!cl.positional.empty()) {
    if (cl.positional[0] != "user") {
      throw usage_error("unknown command '" + cl.positional[0] + "'");
    }
    return user_command(cl, cfg);
  }
  if (cl.role_given) {
    throw usage_error("--role belongs to `vsnapd user add`");
  }
  if (cl.check_config) {
    // Configured TLS material must load too, or the daemon would pass the check and then fail.
    if (!cfg.tls.certificate.empty()) {
      const state_paths paths = resolve_state_paths(cfg);
      (void)tls::make_server_context(paths.certificate, paths.private_key, cfg.tls.client_ca);
    }
    std::cout << (cl.config_file.empty() ? "embedded default configuration" : cl.config_file)
              << ": ok\n";
    return 0;
  }
  return serve(cfg, hooks);
}

}  // namespace

int vsnapd::server::daemon_main(int argc, char** argv, const daemon_hooks& hooks) {
  try {
    return run(argc, argv, hooks);
  } catch (const config_error& e) {
    std::cerr << "vsnapd: " << e.what() << "\n";
    return 2;
  } catch (const usage_error& e) {
    std::cerr << "vsnapd: " << e.what() << "\n(see vsnapd --help)\n";
    return 2;
  } catch (const std::exception& e) {
    vsnapd::log::write(vsnapd::log::level::error, "server", e.what());
    return 1;
  }
}

#include "hypervisor/qemu/vm_config_file.hpp"

#include "hypervisor/errc.hpp"

#include <toml++/toml.h>

#include <set>
#include <sstream>

namespace vsnapd::hv::qemu {

namespace {

result<vm_config> bad(std::string* why, std::string msg) {
  if (why != nullptr) {
    *why = std::move(msg);
  }
  return make_error_code(errc::invalid_argument);
}

std::string where(const toml::node& n) {
  return "line " + std::to_string(n.source().begin.line) + ": ";
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

result<vm_config> parse_vm_config(std::string_view text, std::string* why) {
  // toml++ is built with exceptions (server/config.cpp uses them at start-up); the throw stays
  // inside this function so no exception crosses the module API.
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return bad(why, "line " + std::to_string(e.source().begin.line) + ": " +
                        std::string(e.description()));
  }
  vm_config cfg;
  for (auto&& [key, node] : t) {
    std::string k(key.str());
    auto str = [&](std::string& out) -> bool {
      if (auto v = node.value<std::string>()) {
        out = *v;
        return true;
      }
      return false;
    };
    auto u32 = [&](std::uint32_t& out) -> bool {
      auto v = node.value<std::int64_t>();
      if (!v || *v <= 0 || *v > 1 << 20) {
        return false;
      }
      out = static_cast<std::uint32_t>(*v);
      return true;
    };
    if (k == "name") {
      if (!str(cfg.name) || cfg.name.empty()) {
        return bad(why, where(node) + "name must be a non-empty string");
      }
    } else if (k == "uuid") {
      if (!str(cfg.uuid) || cfg.uuid.size() != 36) {
        return bad(why, where(node) + "uuid must be a 36-character UUID string");
      }
    } else if (k == "memory_mib") {
      if (!u32(cfg.memory_mib)) {
        return bad(why, where(node) + "memory_mib must be a positive integer");
      }
    } else if (k == "vcpus") {
      if (!u32(cfg.vcpus) || cfg.vcpus > 64) {
        return bad(why, where(node) + "vcpus must be an integer 1..64");
      }
    } else if (k == "network") {
      std::string v;
      if (!str(v) || (v != "none" && v != "user")) {
        return bad(why, where(node) + "network must be \"none\" or \"user\"");
      }
      cfg.net = v == "user" ? network::user : network::none;
    } else if (k == "accel") {
      std::string v;
      bool ok = str(v);
      bool found = false;
      for (auto a : all_accels) {
        if (ok && v == to_string(a)) {
          cfg.accelerator = a;
          found = true;
        }
      }
      if (!found) {
        return bad(why, where(node) + "accel must be \"auto\", \"kvm\" or \"tcg\"");
      }
    } else if (k == "boot") {
      const auto* b = node.as_table();
      if (b == nullptr) {
        return bad(why, where(node) + "boot must be a table");
      }
      for (auto&& [bk, bn] : *b) {
        std::string* dst = bk == "kernel"   ? &cfg.kernel
                           : bk == "initrd" ? &cfg.initrd
                           : bk == "append" ? &cfg.append
                                            : nullptr;
        auto v = bn.value<std::string>();
        if (dst == nullptr || !v) {
          return bad(why, where(bn) + "boot." + std::string(bk.str()) +
                              ": unknown key or not a string");
        }
        *dst = *v;
      }
    } else if (k == "disk") {
      const auto* arr = node.as_array();
      if (arr == nullptr) {
        return bad(why, where(node) + "disk must be an array of tables ([[disk]])");
      }
      for (auto& d : *arr) {
        const auto* dt = d.as_table();
        if (dt == nullptr) {
          return bad(why, where(d) + "disk entries must be tables");
        }
        disk_config dc;
        for (auto&& [dk, dn] : *dt) {
          if (dk == "path") {
            auto v = dn.value<std::string>();
            if (!v || v->empty()) {
              return bad(why, where(dn) + "disk.path must be a non-empty string");
            }
            dc.path = *v;
          } else if (dk == "size") {
            auto v = dn.value<std::int64_t>();
            if (!v || *v <= 0 || *v % 512 != 0) {
              return bad(why, where(dn) + "disk.size must be a positive multiple of 512");
            }
            dc.size_bytes = static_cast<std::uint64_t>(*v);
          } else {
            return bad(why, where(dn) + "disk." + std::string(dk.str()) + ": unknown key");
          }
        }
        if (dc.path.empty()) {
          return bad(why, where(d) + "disk.path is required");
        }
        cfg.disks.push_back(std::move(dc));
      }
    } else {
      return bad(why, where(node) + "unknown key '" + k + "'");
    }
  }
  if (cfg.name.empty()) {
    return bad(why, "name is required");
  }
  return cfg;
}

std::string render_vm_config(const vm_config& cfg) {
  std::ostringstream o;
  o << "name = " << quote(cfg.name) << "\n";
  if (!cfg.uuid.empty()) {
    o << "uuid = " << quote(cfg.uuid) << "\n";
  }
  o << "memory_mib = " << cfg.memory_mib << "\nvcpus = " << cfg.vcpus << "\n";
  o << "network = " << quote(std::string(to_string(cfg.net))) << "\n";
  o << "accel = " << quote(std::string(to_string(cfg.accelerator))) << "\n";
  if (!cfg.kernel.empty() || !cfg.initrd.empty() || !cfg.append.empty()) {
    o << "\n[boot]\n";
    if (!cfg.kernel.empty()) {
      o << "kernel = " << quote(cfg.kernel) << "\n";
    }
    if (!cfg.initrd.empty()) {
      o << "initrd = " << quote(cfg.initrd) << "\n";
    }
    if (!cfg.append.empty()) {
      o << "append = " << quote(cfg.append) << "\n";
    }
  }
  for (const auto& d : cfg.disks) {
    o << "\n[[disk]]\npath = " << quote(d.path) << "\n";
    if (d.size_bytes != 0) {
      o << "size = " << d.size_bytes << "\n";
    }
  }
  return o.str();
}

}  // namespace vsnapd::hv::qemu

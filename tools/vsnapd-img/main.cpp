// vsnapd-img: qemu-img's command line over vsnapd's qcow2 engine (storage::image) and its
// external-snapshot operations (storage/chain_ops.hpp). Option spelling, JSON field names of
// info/check/map and check's exit codes follow qemu-img so scripts can switch tools.

#include "common/text.hpp"
#include "storage/chain_ops.hpp"
#include "storage/cow/image.hpp"
#include "storage/errc.hpp"
#include "tools/vsnapd-img/args.hpp"
#include "tools/vsnapd-img/bench.hpp"
#include "tools/vsnapd-img/progress_bar.hpp"

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace vsnapd::img {
namespace {

using storage::image;

// ---- output helpers ---------------------------------------------------------------------------

int usage_error(std::string_view verb, const std::string& msg) {
  std::fprintf(stderr, "vsnapd-img: %.*s: %s\nTry 'vsnapd-img --help' for more information.\n",
               static_cast<int>(verb.size()), verb.data(), msg.c_str());
  return 1;
}

// "vsnapd-img: <what>: <error>: <detail>", the detail being the engine's context for the error.
int report(const std::string& what, const error_code& ec) {
  const std::string& detail = storage::last_error_detail();
  if (detail.empty()) {
    std::fprintf(stderr, "vsnapd-img: %s: %s\n", what.c_str(), ec.message().c_str());
  } else {
    std::fprintf(stderr, "vsnapd-img: %s: %s: %s\n", what.c_str(), ec.message().c_str(), detail.c_str());
  }
  return 1;
}

// qemu's size_to_str: "16 MiB", "1.5 GiB", "512 B".
std::string human_size(std::uint64_t n) {
  static constexpr std::array units{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(n);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < units.size()) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, "%.3g %s", v, units[u]);
  }
  return buf;
}

bool check_format(std::string_view verb, const parsed_args& a) {
  if (auto f = a.value("f"); f && *f != "qcow2") {
    usage_error(verb, "unknown or unsupported format '" + *f + "' (only qcow2)");
    return false;
  }
  return true;
}

// -t / -T: "none" and "directsync" mean O_DIRECT; writeback, unsafe and writethrough use the
// page cache (writethrough's per-write flush is not modelled).
std::optional<bool> cache_is_direct(const std::optional<std::string>& mode) {
  if (!mode || *mode == "writeback" || *mode == "unsafe" || *mode == "writethrough") {
    return false;
  }
  if (*mode == "none" || *mode == "directsync") {
    return true;
  }
  return std::nullopt;
}

// --time: the in-process duration of the operation, for bench/storage/run.sh.
bool g_time = false;
class op_timer {
 public:
  op_timer() : t0_(std::chrono::steady_clock::now()) {}
  ~op_timer() {
    if (g_time) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      std::fprintf(stderr, "time: %.6f s\n", s);
    }
  }

 private:
  std::chrono::steady_clock::time_point t0_;
};

// SIGINT/SIGTERM cancel a long operation between chunks; the chain stays consistent.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

struct job_ui {
  progress_bar bar;
  std::stop_source stop;
  storage::job_control control;

  job_ui(bool show) : bar(stdout, show) {
    control.stop = stop.get_token();
    control.progress = [this](std::uint64_t done, std::uint64_t total) {
      if (g_interrupted) {
        stop.request_stop();
      }
      bar.update(done, total);
    };
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }
};

bool show_progress(const parsed_args& a) {
  // -p forces the bar, as in qemu-img; on a terminal it is drawn anyway unless -q.
  return a.has("p") || (!a.has("q") && ::isatty(STDOUT_FILENO) != 0);
}

// ---- header fields the engine API does not expose (info's format-specific block) --------------

struct header_extras {
  bool dirty = false;
  bool corrupt = false;
  bool lazy_refcounts = false;
  std::uint32_t refcount_bits = 16;
};

std::uint64_t be(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

header_extras read_header_extras(const std::string& path) {
  header_extras h;
  unsigned char buf[104] = {};
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    if (n == sizeof buf && be(buf + 4, 4) >= 3) {
      const std::uint64_t incompatible = be(buf + 72, 8);
      h.dirty = (incompatible & 1) != 0;
      h.corrupt = (incompatible & 2) != 0;
      h.lazy_refcounts = (be(buf + 80, 8) & 1) != 0;
      h.refcount_bits = 1u << be(buf + 96, 4);
    }
  }
  return h;
}

std::uint64_t actual_size(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

// ---- create -----------------------------------------------------------------------------------

int cmd_create(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {
      {'q', "", false}, {'f', "", true}, {'o', "", true}, {'b', "", true}, {'F', "", true},
      {'u', "", false}, {'\0', "help", false}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("create", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("create", a)) {
    return 1;
  }
  if (a.positional.empty() || a.positional.size() > 2) {
    return usage_error("create", "expected: create [-f qcow2] [-b backing [-F fmt]] filename [size]");
  }
  const std::string& path = a.positional[0];
  storage::create_options c;
  std::string backing = a.value("b").value_or("");
  std::string backing_fmt = a.value("F").value_or("");
  if (auto o = a.value("o")) {
    std::string_view rest = *o;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const auto eq = item.find('=');
      const std::string_view k = item.substr(0, eq);
      const std::string v(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1));
      if (k == "cluster_size") {
        const auto n = parse_size(v);
        if (!n) {
          return usage_error("create", "bad cluster_size '" + v + "'");
        }
        c.cluster_size = static_cast<std::uint32_t>(*n);
      } else if (k == "compat") {
        if (v != "0.10" && v != "1.1" && v != "v2" && v != "v3") {
          return usage_error("create", "bad compat '" + v + "'");
        }
        c.compat_v2 = v == "0.10" || v == "v2";
      } else if (k == "preallocation") {
        if (v == "metadata") {
          c.prealloc = storage::preallocation::metadata;
        } else if (v != "off") {
          return usage_error("create", "unsupported preallocation '" + v + "'");
        }
      } else if (k == "backing_file") {
        backing = v;
      } else if (k == "backing_fmt") {
        backing_fmt = v;
      } else {
        return usage_error("create", "unknown option '" + std::string(k) + "'");
      }
    }
  }
  std::uint64_t size = 0;
  if (a.positional.size() == 2) {
    const auto n = parse_size(a.positional[1]);
    if (!n) {
      return usage_error("create", "invalid image size '" + a.positional[1] +
                                       "' (use k, M, G, T, P or E suffixes)");
    }
    size = *n;
  } else if (backing.empty()) {
    return usage_error("create", "an image size is required without a backing file");
  }
  if (!a.has("q")) {
    std::printf("Formatting '%s', fmt=qcow2 cluster_size=%u%s%s size=%llu\n", path.c_str(),
                c.cluster_size, backing.empty() ? "" : " backing_file=", backing.c_str(),
                static_cast<unsigned long long>(size));
  }
  op_timer timer;
  if (!backing.empty() && !a.has("u")) {
    storage::overlay_options o;
    o.backing_format = backing_fmt;
    o.cluster_size = c.cluster_size;
    o.virtual_size = size;
    if (auto r = storage::create_overlay(path, backing, o); !r) {
      return report("cannot create overlay '" + path + "' over '" + backing + "'", r.error());
    }
    return 0;
  }
  if (a.has("u") && size == 0) {
    return usage_error("create", "-u needs an explicit size");
  }
  c.virtual_size = size;
  c.backing_file = backing;
  c.backing_format = backing_fmt;
  if (auto r = image::create(path, c); !r) {
    return report("cannot create '" + path + "'", r.error());
  }
  return 0;
}

// ---- info -------------------------------------------------------------------------------------

std::string info_json(image& img, const std::string& filename, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  const header_extras h = read_header_extras(img.name());
  std::string j = pad + "{\n";
  const auto field = [&](const std::string& k, const std::string& v) {
    j += pad + "    " + json_string(k) + ": " + v + ",\n";
  };
  auto snaps = img.snapshots();
  if (snaps && !snaps->empty()) {
    j += pad + "    \"snapshots\": [\n";
    for (std::size_t i = 0; i < snaps->size(); ++i) {
      const auto& s = (*snaps)[i];
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "%s        {\n%s            \"icount\": %llu,\n%s            \"vm-clock-nsec\": %llu,\n"
                    "%s            \"name\": %s,\n%s            \"date-sec\": %u,\n"
                    "%s            \"date-nsec\": %u,\n%s            \"vm-clock-sec\": %llu,\n"
                    "%s            \"id\": %s,\n%s            \"vm-state-size\": %llu\n%s        }%s\n",
                    pad.c_str(), pad.c_str(),
                    static_cast<unsigned long long>(s.icount == ~std::uint64_t{0} ? 0 : s.icount),
                    pad.c_str(), static_cast<unsigned long long>(s.vm_clock_nsec % 1000000000),
                    pad.c_str(), json_string(s.name).c_str(), pad.c_str(), s.date_sec, pad.c_str(),
                    s.date_nsec, pad.c_str(), static_cast<unsigned long long>(s.vm_clock_nsec / 1000000000),
                    pad.c_str(), json_string(s.id).c_str(), pad.c_str(),
                    static_cast<unsigned long long>(s.vm_state_size), pad.c_str(),
                    i + 1 < snaps->size() ? "," : "");
      j += buf;
    }
    j += pad + "    ],\n";
  }
  if (!img.backing_file().empty() && !img.backing_format().empty()) {
    field("backing-filename-format", json_string(img.backing_format()));
  }
  field("virtual-size", std::to_string(img.virtual_size()));
  field("filename", json_string(filename));
  field("cluster-size", std::to_string(img.cluster_size()));
  field("format", "\"qcow2\"");
  field("actual-size", std::to_string(actual_size(img.name())));
  j += pad + "    \"format-specific\": {\n" + pad + "        \"type\": \"qcow2\",\n" + pad +
       "        \"data\": {\n";
  if (img.version() >= 3) {
    j += pad + "            \"compat\": \"1.1\",\n" + pad +
         "            \"compression-type\": \"zlib\",\n" + pad + "            \"lazy-refcounts\": " +
         (h.lazy_refcounts ? "true" : "false") + ",\n" + pad + "            \"refcount-bits\": " +
         std::to_string(h.refcount_bits) + ",\n" + pad + "            \"corrupt\": " +
         (h.corrupt ? "true" : "false") + ",\n" + pad + "            \"extended-l2\": false\n";
  } else {
    j += pad + "            \"compat\": \"0.10\",\n" + pad + "            \"compression-type\": \"zlib\",\n" +
         pad + "            \"refcount-bits\": 16\n";
  }
  j += pad + "        }\n" + pad + "    },\n";
  if (!img.backing_file().empty()) {
    field("full-backing-filename",
          json_string(storage::resolve_backing_path(filename, img.backing_file())));
    field("backing-filename", json_string(img.backing_file()));
  }
  j += pad + "    \"dirty-flag\": " + (h.dirty ? "true" : "false") + "\n" + pad + "}";
  return j;
}

std::string info_human(image& img, const std::string& filename) {
  const header_extras h = read_header_extras(img.name());
  std::string s = "image: " + filename + "\nfile format: qcow2\n";
  s += "virtual size: " + human_size(img.virtual_size()) + " (" + std::to_string(img.virtual_size()) +
       " bytes)\n";
  s += "disk size: " + human_size(actual_size(img.name())) + "\n";
  s += "cluster_size: " + std::to_string(img.cluster_size()) + "\n";
  if (!img.backing_file().empty()) {
    const std::string full = storage::resolve_backing_path(filename, img.backing_file());
    s += "backing file: " + img.backing_file();
    if (full != img.backing_file()) {
      s += " (actual path: " + full + ")";
    }
    s += "\n";
    if (!img.backing_format().empty()) {
      s += "backing file format: " + img.backing_format() + "\n";
    }
  }
  if (auto snaps = img.snapshots(); snaps && !snaps->empty()) {
    s += "Snapshot list:\n";
    for (const auto& sn : *snaps) {
      s += sn.id + "\t" + sn.name + "\n";
    }
  }
  s += "Format specific information:\n    compat: ";
  s += img.version() >= 3 ? "1.1" : "0.10";
  s += "\n    compression type: zlib\n    lazy refcounts: ";
  s += h.lazy_refcounts ? "true" : "false";
  s += "\n    refcount bits: " + std::to_string(h.refcount_bits) + "\n    corrupt: ";
  s += h.corrupt ? "true" : "false";
  s += "\n    extended l2: false\n";
  return s;
}

int cmd_info(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'f', "", true},
                                          {'U', "force-share", false},
                                          {'\0', "output", true},
                                          {'\0', "backing-chain", false}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("info", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("info", a) || a.positional.size() != 1) {
    return a.positional.size() == 1 ? 1 : usage_error("info", "expected one filename");
  }
  const std::string out = a.value("output").value_or("human");
  if (out != "human" && out != "json") {
    return usage_error("info", "--output must be human or json");
  }
  const bool chain = a.has("backing-chain");
  storage::open_options o;
  o.open_backing = chain;
  o.repair_dirty = false;
  auto img = image::open(a.positional[0], o);
  if (!img) {
    return report("could not open '" + a.positional[0] + "'", img.error());
  }
  std::vector<std::pair<image*, std::string>> layers{{img->get(), a.positional[0]}};
  for (image* l = (*img)->backing(); chain && l != nullptr; l = l->backing()) {
    layers.emplace_back(l, l->name());
  }
  if (out == "json") {
    if (!chain) {
      std::printf("%s\n", info_json(*layers[0].first, layers[0].second, 0).c_str());
      return 0;
    }
    std::printf("[\n");
    for (std::size_t i = 0; i < layers.size(); ++i) {
      std::printf("%s%s\n", info_json(*layers[i].first, layers[i].second, 4).c_str(),
                  i + 1 < layers.size() ? "," : "");
    }
    std::printf("]\n");
    return 0;
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::printf("%s%s", i > 0 ? "\n" : "", info_human(*layers[i].first, layers[i].second).c_str());
  }
  return 0;
}

// ---- check ------------------------------------------------------------------------------------

int cmd_check(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'f', "", true},     {'q', "", false},
                                          {'r', "", true},     {'\0', "repair", false, true},
                                          {'U', "force-share", false}, {'\0', "output", true}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("check", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("check", a) || a.positional.size() != 1) {
    return a.positional.size() == 1 ? 1 : usage_error("check", "expected one filename");
  }
  const std::string out = a.value("output").value_or("human");
  if (out != "human" && out != "json") {
    return usage_error("check", "--output must be human or json");
  }
  storage::check_mode mode = storage::check_mode::report;
  std::optional<std::string> repair = a.value("r");
  if (a.has("repair")) {
    repair = a.value("repair")->empty() ? std::string("all") : *a.value("repair");
  }
  if (repair) {
    if (*repair == "leaks") {
      mode = storage::check_mode::repair_leaks;
    } else if (*repair == "all") {
      mode = storage::check_mode::repair_all;
    } else {
      return usage_error("check", "unknown repair mode '" + *repair + "' (leaks or all)");
    }
  }
  const std::string& path = a.positional[0];
  storage::open_options o;
  o.writable = mode != storage::check_mode::report;
  o.open_backing = false;
  o.repair_dirty = false;  // check reports what it finds; the repair modes fix it below
  auto img = image::open(path, o);
  if (!img) {
    // qemu-img check: 1 means the check could not be completed (not an image, I/O error).
    return report("could not open '" + path + "'", img.error());
  }
  auto r = (*img)->check(mode);
  if (!r) {
    return report("check of '" + path + "' failed", r.error());
  }
  const storage::check_report& c = *r;
  if (out == "json") {
    std::string j = "{\n";
    j += "    \"image-end-offset\": " + std::to_string(c.image_end_offset) + ",\n";
    j += "    \"total-clusters\": " + std::to_string(c.total_clusters) + ",\n";
    j += "    \"check-errors\": 0,\n";
    if (c.leaks != 0) {
      j += "    \"leaks\": " + std::to_string(c.leaks) + ",\n";
    }
    if (c.corruptions != 0) {
      j += "    \"corruptions\": " + std::to_string(c.corruptions) + ",\n";
    }
    if (c.leaks_fixed != 0) {
      j += "    \"leaks-fixed\": " + std::to_string(c.leaks_fixed) + ",\n";
    }
    if (c.corruptions_fixed != 0) {
      j += "    \"corruptions-fixed\": " + std::to_string(c.corruptions_fixed) + ",\n";
    }
    j += "    \"allocated-clusters\": " + std::to_string(c.allocated_clusters) + ",\n";
    j += "    \"filename\": " + json_string(path) + ",\n";
    j += "    \"format\": \"qcow2\"\n}\n";
    std::fputs(j.c_str(), stdout);
  } else if (!a.has("q")) {
    for (const auto& m : c.messages) {
      std::fprintf(stderr, "%s\n", m.c_str());
    }
    if (c.leaks_fixed != 0 || c.corruptions_fixed != 0) {
      std::printf("The following inconsistencies were found and repaired:\n\n"
                  "    %llu leaked clusters\n    %llu corruptions\n\n",
                  static_cast<unsigned long long>(c.leaks_fixed),
                  static_cast<unsigned long long>(c.corruptions_fixed));
    }
    if (c.clean()) {
      std::printf("No errors were found on the image.\n");
    } else {
      if (c.corruptions != 0) {
        std::printf("\n%llu errors were found on the image.\nData may be corrupted, or further "
                    "writes to the image may corrupt it.\n",
                    static_cast<unsigned long long>(c.corruptions));
      }
      if (c.leaks != 0) {
        std::printf("\n%llu leaked clusters were found on the image.\nThis means waste of disk "
                    "space, but no harm to data.\n",
                    static_cast<unsigned long long>(c.leaks));
      }
    }
    if (c.total_clusters != 0) {
      std::printf("%llu/%llu = %0.2f%% allocated, 0.00%% fragmented, 0.00%% compressed clusters\n",
                  static_cast<unsigned long long>(c.allocated_clusters),
                  static_cast<unsigned long long>(c.total_clusters),
                  100.0 * static_cast<double>(c.allocated_clusters) / static_cast<double>(c.total_clusters));
    }
    std::printf("Image end offset: %llu\n", static_cast<unsigned long long>(c.image_end_offset));
  }
  // qemu-img check's exit codes: 0 clean, 2 corruptions left, 3 only leaks left.
  if (c.corruptions != 0) {
    return 2;
  }
  return c.leaks != 0 ? 3 : 0;
}

// ---- snapshot ---------------------------------------------------------------------------------

int cmd_snapshot(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'q', "", false}, {'f', "", true}, {'l', "", false},
                                          {'a', "", true},  {'c', "", true}, {'d', "", true},
                                          {'U', "force-share", false}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("snapshot", p.error);
  }
  const parsed_args& a = p.args;
  const int actions = a.count("l") + a.count("a") + a.count("c") + a.count("d");
  if (!check_format("snapshot", a)) {
    return 1;
  }
  if (actions != 1 || a.positional.size() != 1) {
    return usage_error("snapshot", "expected exactly one of -l, -a, -c, -d and one filename");
  }
  const std::string& path = a.positional[0];
  storage::open_options o;
  o.writable = !a.has("l");
  o.open_backing = false;  // internal snapshots never read through the backing file
  op_timer timer;
  auto img = image::open(path, o);
  if (!img) {
    return report("could not open '" + path + "'", img.error());
  }
  image& i = **img;
  if (a.has("l")) {
    auto snaps = i.snapshots();
    if (!snaps) {
      return report("cannot list snapshots of '" + path + "'", snaps.error());
    }
    if (snaps->empty()) {
      return 0;
    }
    std::printf("Snapshot list:\n%-10s%-17s%7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
                "VM CLOCK", "ICOUNT");
    for (const auto& s : *snaps) {
      char date[32];
      const std::time_t t = s.date_sec;
      std::tm tm{};
      ::localtime_r(&t, &tm);
      std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
      const std::uint64_t ms = s.vm_clock_nsec / 1000000;
      char clock[32];
      std::snprintf(clock, sizeof clock, "%02llu:%02llu:%02llu.%03llu",
                    static_cast<unsigned long long>(ms / 3600000),
                    static_cast<unsigned long long>(ms / 60000 % 60),
                    static_cast<unsigned long long>(ms / 1000 % 60),
                    static_cast<unsigned long long>(ms % 1000));
      const std::string icount =
          s.icount == ~std::uint64_t{0} ? std::string() : std::to_string(s.icount);
      std::printf("%-9s %-16s %7s %19s %12s %10s\n", s.id.c_str(), s.name.c_str(),
                  human_size(s.vm_state_size).c_str(), date, clock, icount.c_str());
    }
    return 0;
  }
  if (auto n = a.value("c")) {
    if (auto r = i.create_snapshot(*n); !r) {
      return report("could not create snapshot '" + *n + "' in '" + path + "'", r.error());
    }
  } else if (auto n2 = a.value("a")) {
    if (auto r = i.apply_snapshot(*n2); !r) {
      return report("could not apply snapshot '" + *n2 + "' to '" + path + "'", r.error());
    }
  } else if (auto n3 = a.value("d")) {
    if (auto r = i.delete_snapshot(*n3); !r) {
      return report("could not delete snapshot '" + *n3 + "' from '" + path + "'", r.error());
    }
  }
  if (auto r = i.close(); !r) {
    return report("could not close '" + path + "'", r.error());
  }
  return 0;
}

// ---- commit, rebase, stream -------------------------------------------------------------------

int cmd_commit(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'q', "", false}, {'f', "", true}, {'t', "", true},
                                          {'b', "", true},  {'d', "", false}, {'p', "", false},
                                          {'r', "", true}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("commit", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("commit", a)) {
    return 1;
  }
  if (a.positional.size() != 1) {
    return usage_error("commit", "expected one filename");
  }
  const auto direct = cache_is_direct(a.value("t"));
  if (!direct) {
    return usage_error("commit", "invalid cache option '" + *a.value("t") + "'");
  }
  storage::commit_options c;
  c.base = a.value("b").value_or("");
  c.keep_top = a.has("d");
  c.open.opener = storage::posix_opener(*direct);
  job_ui ui(show_progress(a));
  op_timer timer;
  auto r = storage::commit(a.positional[0], c, ui.control);
  ui.bar.finish();
  if (!r) {
    return report("commit of '" + a.positional[0] + "'", r.error());
  }
  if (!a.has("q")) {
    std::printf("Image committed.\n");
  }
  return 0;
}

int cmd_rebase(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'q', "", false}, {'f', "", true}, {'t', "", true},
                                          {'T', "", true},  {'p', "", false}, {'u', "", false},
                                          {'b', "", true},  {'F', "", true},  {'U', "force-share", false}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("rebase", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("rebase", a)) {
    return 1;
  }
  if (a.positional.size() != 1 || !a.has("b")) {
    return usage_error("rebase", "expected -b backing_file (\"\" for none) and one filename");
  }
  const auto direct = cache_is_direct(a.value("t"));
  if (!direct) {
    return usage_error("rebase", "invalid cache option '" + *a.value("t") + "'");
  }
  storage::rebase_options r;
  r.backing_file = *a.value("b");
  r.backing_format = a.value("F").value_or("");
  r.unsafe = a.has("u");
  r.open.opener = storage::posix_opener(*direct);
  job_ui ui(show_progress(a) && !r.unsafe);
  op_timer timer;
  auto res = storage::rebase(a.positional[0], r, ui.control);
  ui.bar.finish();
  if (!res) {
    return report("rebase of '" + a.positional[0] + "'", res.error());
  }
  return 0;
}

int cmd_stream(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'q', "", false}, {'f', "", true}, {'t', "", true},
                                          {'b', "", true},  {'p', "", false}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("stream", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("stream", a)) {
    return 1;
  }
  if (a.positional.size() != 1) {
    return usage_error("stream", "expected one filename");
  }
  const auto direct = cache_is_direct(a.value("t"));
  if (!direct) {
    return usage_error("stream", "invalid cache option '" + *a.value("t") + "'");
  }
  storage::stream_options s;
  s.base = a.value("b").value_or("");
  s.open.opener = storage::posix_opener(*direct);
  job_ui ui(show_progress(a));
  op_timer timer;
  auto res = storage::stream(a.positional[0], s, ui.control);
  ui.bar.finish();
  if (!res) {
    return report("stream into '" + a.positional[0] + "'", res.error());
  }
  return 0;
}

// ---- map --------------------------------------------------------------------------------------

int cmd_map(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {{'f', "", true},
                                          {'\0', "output", true},
                                          {'U', "force-share", false},
                                          {'\0', "start-offset", true},
                                          {'\0', "max-length", true}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("map", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("map", a) || a.positional.size() != 1) {
    return a.positional.size() == 1 ? 1 : usage_error("map", "expected one filename");
  }
  const std::string out = a.value("output").value_or("human");
  if (out != "human" && out != "json") {
    return usage_error("map", "--output must be human or json");
  }
  const std::string& path = a.positional[0];
  storage::open_options o;
  o.repair_dirty = false;
  auto img = image::open(path, o);
  if (!img) {
    return report("could not open '" + path + "'", img.error());
  }
  image& top = **img;
  std::vector<std::string> names{path};
  for (image* l = top.backing(); l != nullptr; l = l->backing()) {
    names.push_back(l->name());
  }
  image* last = &top;
  while (last->backing() != nullptr) {
    last = last->backing();
  }
  if (!last->backing_file().empty()) {  // a raw file at the bottom is a layer too
    names.push_back(storage::resolve_backing_path(last->name(), last->backing_file()));
  }
  const std::uint32_t bottom = static_cast<std::uint32_t>(names.size() - 1);

  struct entry {
    std::uint64_t start, length;
    std::uint32_t depth;
    bool present, zero, data, has_offset;
    std::uint64_t offset;
  };
  std::optional<entry> cur;
  bool first = true;
  const auto emit = [&](const entry& e) {
    if (out == "json") {
      std::printf("%s{ \"start\": %llu, \"length\": %llu, \"depth\": %u, \"present\": %s, \"zero\": %s, "
                  "\"data\": %s",
                  first ? "[" : ",\n", static_cast<unsigned long long>(e.start),
                  static_cast<unsigned long long>(e.length), e.depth, e.present ? "true" : "false",
                  e.zero ? "true" : "false", e.data ? "true" : "false");
      if (e.has_offset) {
        std::printf(", \"offset\": %llu", static_cast<unsigned long long>(e.offset));
      }
      std::printf("}");
    } else if (e.data && e.has_offset) {
      if (first) {
        std::printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
      }
      std::printf("%#-16llx%#-16llx%#-16llx%s\n", static_cast<unsigned long long>(e.start),
                  static_cast<unsigned long long>(e.length), static_cast<unsigned long long>(e.offset),
                  names[std::min<std::size_t>(e.depth, bottom)].c_str());
    } else {
      return;
    }
    first = false;
  };
  const std::uint64_t size = top.virtual_size();
  std::uint64_t off = 0;
  if (auto s = a.value("start-offset")) {
    off = parse_size(*s).value_or(0);
  }
  std::uint64_t end = size;
  if (auto m = a.value("max-length")) {
    end = std::min(size, off + parse_size(*m).value_or(size));
  }
  while (off < end) {
    auto st = top.block_status(off, end - off, true);
    if (!st) {
      return report("block status of '" + path + "'", st.error());
    }
    const storage::block_extent& x = *st;
    if (x.length == 0) {
      break;
    }
    entry e{off, x.length, x.state == storage::block_state::unallocated ? bottom : x.depth,
            x.state != storage::block_state::unallocated,
            x.state != storage::block_state::data,
            x.state == storage::block_state::data,
            x.state == storage::block_state::data && !x.compressed, x.host_offset};
    // Merge runs as qemu-img map does: same layer and flags, and contiguous on the host.
    if (cur && cur->start + cur->length == e.start && cur->depth == e.depth &&
        cur->present == e.present && cur->zero == e.zero && cur->data == e.data &&
        cur->has_offset == e.has_offset && (!e.has_offset || cur->offset + cur->length == e.offset)) {
      cur->length += e.length;
    } else {
      if (cur) {
        emit(*cur);
      }
      cur = e;
    }
    off += x.length;
  }
  if (cur) {
    emit(*cur);
  }
  if (out == "json") {
    std::printf(first ? "[]\n" : "]\n");
  }
  return 0;
}

// ---- bench ------------------------------------------------------------------------------------

int cmd_bench(std::span<const std::string_view> argv) {
  static constexpr option_spec specs[] = {
      {'c', "", true},  {'d', "", true},  {'f', "", true},  {'n', "", false},
      {'o', "", true},  {'q', "", false}, {'s', "", true},  {'S', "", true},
      {'t', "", true},  {'w', "", false}, {'U', "force-share", false}, {'i', "", true},
      {'\0', "pattern", true}, {'\0', "flush-interval", true}, {'\0', "no-drain", false},
      {'\0', "random", false}};
  auto p = parse_args(argv, specs);
  if (!p.error.empty()) {
    return usage_error("bench", p.error);
  }
  const parsed_args& a = p.args;
  if (!check_format("bench", a)) {
    return 1;
  }
  if (a.positional.size() != 1) {
    return usage_error("bench", "expected one filename");
  }
  bench_options b;
  const auto num = [&](std::string_view key, std::uint64_t& dst) {
    if (auto v = a.value(key)) {
      const auto n = parse_size(*v);
      if (!n) {
        usage_error("bench", "invalid value for -" + std::string(key) + ": '" + *v + "'");
        return false;
      }
      dst = *n;
    }
    return true;
  };
  std::uint64_t depth = b.depth;
  std::uint64_t pattern = 0;
  if (!num("c", b.count) || !num("d", depth) || !num("o", b.offset) || !num("s", b.size) ||
      !num("S", b.step) || !num("pattern", pattern) || !num("flush-interval", b.flush_interval)) {
    return 1;
  }
  if (depth == 0 || depth > 1024 || b.size == 0 || pattern > 255) {
    return usage_error("bench", "depth must be 1..1024, size > 0, pattern 0..255");
  }
  b.depth = static_cast<unsigned>(depth);
  b.pattern = static_cast<std::uint8_t>(pattern);
  b.write = a.has("w");
  b.random = a.has("random");
  const auto direct = cache_is_direct(a.value("t"));
  if (!direct) {
    return usage_error("bench", "invalid cache option '" + *a.value("t") + "'");
  }
  const std::string& path = a.positional[0];
  storage::open_options o;
  o.writable = b.write;
  o.opener = storage::posix_opener(*direct);
  auto img = image::open(path, o);
  if (!img) {
    return report("could not open '" + path + "'", img.error());
  }
  image& i = **img;
  if (!a.has("q")) {
    std::printf("Sending %llu %s requests, %llu bytes each, %u in parallel (starting at offset "
                "%llu, step size %llu)\n",
                static_cast<unsigned long long>(b.count), b.write ? "write" : "read",
                static_cast<unsigned long long>(b.size), b.depth,
                static_cast<unsigned long long>(b.offset),
                static_cast<unsigned long long>(b.step == 0 ? b.size : b.step));
  }
  const bench_io io = [&i](bool write, std::uint64_t off, std::span<std::byte> buf) -> result<void> {
    return write ? i.write(off, buf) : i.read(off, buf);
  };
  const bench_flush flush = [&i]() -> result<void> { return i.flush(); };
  auto t = run_bench(b, i.virtual_size(), io, flush);
  if (!t) {
    return report("bench on '" + path + "'", t.error());
  }
  std::printf("Run completed in %.6f seconds.\n", *t);  // qemu prints %.3f; short runs need more
  if (auto r = i.close(); !r) {
    return report("could not close '" + path + "'", r.error());
  }
  return 0;
}

// ---- dispatch ---------------------------------------------------------------------------------

constexpr std::string_view help_text =
    "usage: vsnapd-img [--time] <command> [options]\n"
    "Commands (options as in qemu-img; only the qcow2 format):\n"
    "  create [-q] [-f qcow2] [-o options] [-b backing_file [-F backing_fmt]] [-u] filename [size]\n"
    "  info [-f qcow2] [--output=human|json] [--backing-chain] filename\n"
    "  check [-q] [-f qcow2] [--output=human|json] [-r leaks|all] [--repair[=leaks|all]] filename\n"
    "  snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename\n"
    "  commit [-q] [-f qcow2] [-t cache] [-b base] [-d] [-p] filename\n"
    "  rebase [-q] [-f qcow2] [-t cache] [-p] [-u] -b backing_file [-F backing_fmt] filename\n"
    "  stream [-q] [-f qcow2] [-t cache] [-b base] [-p] filename   (merge the chain up)\n"
    "  map [-f qcow2] [--output=human|json] filename\n"
    "  bench [-c count] [-d depth] [-f qcow2] [-n] [-o offset] [--pattern=N] [-q] [-s size]\n"
    "        [-S step] [-t cache] [-w] [--flush-interval=N] [--random] filename\n"
    "check exits 0 when clean, 1 when the check could not run, 2 on corruption, 3 on leaks only.\n"
    "Long operations draw a progress bar on a terminal (or with -p); Ctrl-C cancels them and\n"
    "leaves a consistent chain.\n";

int run(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--time") {
    g_time = true;
    args.erase(args.begin());
  }
  if (args.empty()) {
    std::fputs(help_text.data(), stderr);
    return 1;
  }
  const std::string_view verb = args[0];
  const std::span<const std::string_view> rest(args.data() + 1, args.size() - 1);
  if (verb == "--help" || verb == "-h" || verb == "help") {
    std::fputs(help_text.data(), stdout);
    return 0;
  }
  if (verb == "--version" || verb == "-V") {
    std::printf("vsnapd-img (vsnapd) 0.1.0\n");
    return 0;
  }
  using verb_fn = int (*)(std::span<const std::string_view>);
  static constexpr std::pair<std::string_view, verb_fn> verbs[] = {
      {"create", cmd_create}, {"info", cmd_info},     {"check", cmd_check},
      {"snapshot", cmd_snapshot}, {"commit", cmd_commit}, {"rebase", cmd_rebase},
      {"stream", cmd_stream}, {"map", cmd_map},       {"bench", cmd_bench}};
  for (const auto& [name, fn] : verbs) {
    if (name == verb) {
      return fn(rest);
    }
  }
  std::fprintf(stderr, "vsnapd-img: unknown command '%.*s'\n%s", static_cast<int>(verb.size()),
               verb.data(), help_text.data());
  return 1;
}

}  // namespace
}  // namespace vsnapd::img

int main(int argc, char** argv) { return vsnapd::img::run(argc, argv); }

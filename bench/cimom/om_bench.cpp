// In-process benchmark of the object manager (issue 3): GetInstance and Associators latency
// against the static instance provider, and the time and peak RSS of enumerating 100,000
// instances through the object manager's pull cursors - streamed in batches, and, for
// comparison, collected into one vector as a server without pull cursors would.
//
//   vsnapd_cimom_bench latency [iterations]
//   vsnapd_cimom_bench enumerate [count] [batch]     # streamed
//   vsnapd_cimom_bench materialize [count]           # everything held at once
//
// Prints `key=value` lines. Run each mode in its own process: peak RSS is per process.

#include "cimom/class_repository.hpp"
#include "cimom/object_manager.hpp"
#include "cimom/static_instance_provider.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace vsnapd::cim;

namespace {

constexpr const char* bench_ns = "root/virtualization/v2";

using clock_type = std::chrono::steady_clock;

// VmHWM (peak resident set) or VmRSS of this process, in KiB.
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
    }
  }
  return -1;
}

void die(const std::string& what, const error& e) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), e.description.c_str());
  std::exit(1);
}

template <class R>
auto must(R r, const char* what) {
  if (!r) {
    die(what, r.error());
  }
  if constexpr (!std::is_void_v<typename R::value_type>) {
    return std::move(*r);
  }
}

qualifier flag(const char* name) {
  return qualifier{name, value(scalar(true)), default_flavors, false};
}

property_decl prop(const char* name, cim_type t, bool key = false) {
  property_decl p;
  p.name = name;
  p.type = t;
  p.default_value = value::null(t);
  if (key) {
    p.qualifiers.set(qualifier{"Key", value(scalar(true)),
                               static_cast<std::uint8_t>(flavor::to_subclass), false});
  }
  return p;
}

property_decl ref(const char* name, const char* cls) {
  property_decl p = prop(name, cim_type::reference, true);
  p.ref_class = cls;
  return p;
}

// A Hyper-V-shaped slice of the schema: a system with a dozen properties, its subclass, a
// setting and the association between them.
void load_schema(class_repository& repo) {
  must(repo.add_namespace(bench_ns), "namespace");
  class_decl base;
  base.name = "CIM_ComputerSystem";
  for (const char* n : {"Caption", "Description", "ElementName", "InstanceID", "Status",
                        "PrimaryOwnerName", "PrimaryOwnerContact"}) {
    base.properties.push_back(prop(n, cim_type::string));
  }
  base.properties.push_back(prop("CreationClassName", cim_type::string, true));
  base.properties.push_back(prop("Name", cim_type::string, true));
  base.properties.push_back(prop("EnabledState", cim_type::uint16));
  base.properties.push_back(prop("RequestedState", cim_type::uint16));
  base.properties.push_back(prop("InstallDate", cim_type::datetime));
  must(repo.add_class(bench_ns, base), "class");
  class_decl sys;
  sys.name = "Msvm_ComputerSystem";
  sys.superclass = "CIM_ComputerSystem";
  sys.properties.push_back(prop("OnTimeInMilliseconds", cim_type::uint64));
  sys.properties.push_back(prop("ProcessID", cim_type::uint32));
  must(repo.add_class(bench_ns, sys), "class");
  class_decl setting;
  setting.name = "Msvm_VirtualSystemSettingData";
  setting.properties.push_back(prop("InstanceID", cim_type::string, true));
  setting.properties.push_back(prop("ElementName", cim_type::string));
  setting.properties.push_back(prop("VirtualSystemType", cim_type::string));
  must(repo.add_class(bench_ns, setting), "class");
  class_decl sds;
  sds.name = "Msvm_SettingsDefineState";
  sds.qualifiers.set(flag("Association"));
  sds.properties.push_back(ref("ManagedElement", "CIM_ComputerSystem"));
  sds.properties.push_back(ref("SettingData", "Msvm_VirtualSystemSettingData"));
  must(repo.add_class(bench_ns, sds), "class");
}

std::string vm_name(std::uint32_t i) {
  return "5C2E1B9A-0000-4000-8000-" + std::to_string(100000000000 + i);
}

instance make_system(std::uint32_t i) {
  instance inst("Msvm_ComputerSystem");
  inst.set("Caption", value("Virtual Machine"));
  inst.set("Description", value("Microsoft Virtual Machine"));
  inst.set("ElementName", value(std::string_view("vm-" + std::to_string(i))));
  inst.set("InstanceID", value(std::string_view("Microsoft:" + vm_name(i))));
  inst.set("Status", value("OK"));
  inst.set("CreationClassName", value("Msvm_ComputerSystem"));
  inst.set("Name", value(std::string_view(vm_name(i))));
  inst.set("EnabledState", value(scalar(std::uint16_t{2})));
  inst.set("RequestedState", value(scalar(std::uint16_t{12})));
  inst.set("OnTimeInMilliseconds", value(scalar(std::uint64_t{1000} * i)));
  inst.set("ProcessID", value(scalar(std::uint32_t{4000} + i)));
  return inst;
}

struct stats {
  double mean_us, p50_us, p99_us;
};

stats summarize(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double u : us) {
    sum += u;
  }
  return {sum / static_cast<double>(us.size()), us[us.size() / 2], us[us.size() * 99 / 100]};
}

int latency(int iterations) {
  class_repository repo;
  load_schema(repo);
  object_manager om(repo);
  static_instance_provider store(repo);
  must(om.register_instance_provider(bench_ns, "CIM_ComputerSystem", store), "register");
  must(om.register_instance_provider(bench_ns, "Msvm_VirtualSystemSettingData", store), "register");
  must(om.register_association_provider(bench_ns, "Msvm_SettingsDefineState", store), "register");
  constexpr std::uint32_t vms = 1000;
  for (std::uint32_t i = 0; i < vms; ++i) {
    auto sys = must(store.add(bench_ns, make_system(i)), "add");
    auto set = must(store.add(bench_ns, instance("Msvm_VirtualSystemSettingData")
                                            .set("InstanceID",
                                                 value(std::string_view("Microsoft:" + vm_name(i))))
                                            .set("VirtualSystemType", value("Realized"))),
                    "add");
    must(store.add(
             bench_ns,
             instance("Msvm_SettingsDefineState")
                 .set("ManagedElement", value(scalar(std::make_shared<const object_path>(sys))))
                 .set("SettingData", value(scalar(std::make_shared<const object_path>(set))))),
         "add");
  }
  const operation_context ctx{bench_ns, "bench"};
  // Paths as a client sends them: untyped, superclass-named keys in text, parsed once here.
  std::vector<object_path> paths;
  for (std::uint32_t i = 0; i < vms; ++i) {
    paths.push_back(must(object_path::parse("root/virtualization/v2:Msvm_ComputerSystem."
                                            "CreationClassName=\"Msvm_ComputerSystem\",Name=\"" +
                                            vm_name(i) + "\""),
                         "parse"));
  }

  std::vector<double> get_us;
  std::vector<double> assoc_us;
  get_us.reserve(iterations);
  assoc_us.reserve(iterations);
  std::size_t sink = 0;
  for (int n = 0; n < iterations; ++n) {
    const auto& p = paths[static_cast<std::size_t>(n) % vms];
    auto t0 = clock_type::now();
    auto inst = must(om.get_instance(ctx, p, {}), "get_instance");
    auto t1 = clock_type::now();
    sink += inst.properties().size();
    auto c = must(om.associators(ctx, p, {}), "associators");
    std::vector<named_instance> out;
    while (must(c->next(out, 100), "next")) {
    }
    auto t2 = clock_type::now();
    if (out.size() != 1) {
      std::fprintf(stderr, "bench: expected one associator, got %zu\n", out.size());
      return 1;
    }
    get_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    assoc_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  const auto g = summarize(get_us);
  const auto a = summarize(assoc_us);
  std::printf("latency_iterations=%d\nlatency_instances=%u\n", iterations, 3 * vms);
  std::printf("get_instance_mean_us=%.2f\nget_instance_p50_us=%.2f\nget_instance_p99_us=%.2f\n",
              g.mean_us, g.p50_us, g.p99_us);
  std::printf("associators_mean_us=%.2f\nassociators_p50_us=%.2f\nassociators_p99_us=%.2f\n",
              a.mean_us, a.p50_us, a.p99_us);
  return sink > 0 ? 0 : 1;
}

// Generates `count` systems on demand (a provider over a live source: nothing is stored).
class generator final : public instance_provider {
 public:
  explicit generator(std::uint32_t count) : count_(count) {}
  result<instance> get_instance(const operation_context&, const class_decl&,
                                const object_path& path) override {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  result<std::unique_ptr<instance_cursor>> enumerate_instances(const operation_context&,
                                                               const class_decl&) override {
    return std::make_unique<gen_cursor>(count_);
  }

 private:
  class gen_cursor final : public instance_cursor {
   public:
    explicit gen_cursor(std::uint32_t count) : count_(count) {}
    result<bool> next(std::vector<instance>& batch, std::size_t max) override {
      while (next_ < count_ && max-- > 0) {
        batch.push_back(make_system(next_++));
      }
      return next_ < count_;
    }

   private:
    std::uint32_t count_;
    std::uint32_t next_ = 0;
  };
  std::uint32_t count_;
};

int enumerate(std::uint32_t count, std::size_t batch, bool materialize) {
  class_repository repo;
  load_schema(repo);
  object_manager om(repo);
  generator gen(count);
  must(om.register_instance_provider(bench_ns, "Msvm_ComputerSystem", gen), "register");
  const operation_context ctx{bench_ns, "bench"};
  const long rss_before = status_kib("VmRSS");
  const auto t0 = clock_type::now();
  // Enumerate the superclass: the object manager walks to the subclass polymorphically.
  auto c = must(om.enumerate_instances(ctx, "CIM_ComputerSystem", {}), "enumerate_instances");
  std::vector<named_instance> out;
  std::vector<named_instance> all;
  std::size_t seen = 0;
  std::size_t bytes = 0;
  bool more = true;
  while (more) {
    out.clear();
    more = must(c->next(out, batch), "next");
    seen += out.size();
    for (auto& item : out) {
      bytes += item.path.to_string().size();  // touch every result, as an encoder would
      if (materialize) {
        all.push_back(std::move(item));
      }
    }
  }
  const auto t1 = clock_type::now();
  const double seconds = std::chrono::duration<double>(t1 - t0).count();
  if (seen != count) {
    std::fprintf(stderr, "bench: enumerated %zu of %u\n", seen, count);
    return 1;
  }
  const char* mode = materialize ? "materialized" : "streamed";
  std::printf("%s_count=%zu\n%s_batch=%zu\n%s_seconds=%.3f\n%s_per_second=%.0f\n", mode, seen, mode,
              materialize ? seen : batch, mode, seconds, mode, static_cast<double>(seen) / seconds);
  std::printf("%s_rss_before_kib=%ld\n%s_peak_rss_kib=%ld\n%s_path_bytes=%zu\n", mode, rss_before,
              mode, status_kib("VmHWM"), mode, bytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const auto arg = [&](int i, long def) {
    return argc > i ? std::strtol(argv[i], nullptr, 10) : def;
  };
  if (mode == "latency") {
    return latency(static_cast<int>(arg(2, 20000)));
  }
  if (mode == "enumerate") {
    return enumerate(static_cast<std::uint32_t>(arg(2, 100000)),
                     static_cast<std::size_t>(arg(3, 100)), false);
  }
  if (mode == "materialize") {
    return enumerate(static_cast<std::uint32_t>(arg(2, 100000)), 1000, true);
  }
  std::fprintf(stderr,
               "usage: %s latency [iterations] | enumerate [count] [batch] | materialize [count]\n",
               argv[0]);
  return 2;
}

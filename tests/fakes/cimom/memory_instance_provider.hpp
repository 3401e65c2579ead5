#pragma once
// Test double of cim::instance_provider: returns instances exactly as the test stored them
// (possibly incomplete, out of class order or wrongly typed), so tests can see what the object
// manager does with provider output. Thread-safe; counts enumerate calls per class.

#include "cimom/class_repository.hpp"
#include "cimom/name.hpp"
#include "cimom/provider.hpp"

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace vsnapd::cim::fakes {

class memory_instance_provider : public instance_provider {
 public:
  explicit memory_instance_provider(const class_repository& repo) : repo_(repo) {}

  void add(instance inst) {
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(inst));
  }
  int enumerate_calls(const std::string& cls) const {
    std::lock_guard lock(mutex_);
    const auto it = calls_.find(fold_name(cls));
    return it == calls_.end() ? 0 : it->second;
  }
  std::vector<object_path> deleted() const {
    std::lock_guard lock(mutex_);
    return deleted_;
  }
  std::vector<std::pair<instance, property_list>> modified() const {
    std::lock_guard lock(mutex_);
    return modified_;
  }

  // cim::instance_provider
  result<instance> get_instance(const operation_context& ctx, const class_decl& cls,
                                const object_path& path) override {
    std::lock_guard lock(mutex_);
    for (const auto& inst : items_) {
      const class_decl* actual = repo_.find_class(ctx.ns, inst.class_name());
      if (actual == nullptr || !repo_.is_a(ctx.ns, actual->name, cls.name)) {
        continue;
      }
      auto p = inst.path(ctx.ns, *actual);
      if (p && same_keys(*p, path)) {
        return inst;
      }
    }
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  result<std::unique_ptr<instance_cursor>> enumerate_instances(const operation_context&,
                                                               const class_decl& cls) override {
    std::lock_guard lock(mutex_);
    ++calls_[fold_name(cls.name)];
    std::vector<instance> out;
    for (const auto& inst : items_) {
      if (name_equal(inst.class_name(), cls.name)) {
        out.push_back(inst);
      }
    }
    return std::make_unique<vector_cursor>(std::move(out));
  }
  result<object_path> create_instance(const operation_context& ctx, const class_decl& cls,
                                      const instance& inst) override {
    std::lock_guard lock(mutex_);
    items_.push_back(inst);
    return inst.path(ctx.ns, cls);
  }
  result<void> modify_instance(const operation_context&, const class_decl&, const instance& inst,
                               const property_list& properties) override {
    std::lock_guard lock(mutex_);
    modified_.emplace_back(inst, properties);
    return {};
  }
  result<void> delete_instance(const operation_context&, const class_decl&,
                               const object_path& path) override {
    std::lock_guard lock(mutex_);
    deleted_.push_back(path);
    return {};
  }

 private:
  static bool same_keys(const object_path& a, const object_path& b) {
    if (a.keys().size() != b.keys().size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.keys().size(); ++i) {
      if (!name_equal(a.keys()[i].name, b.keys()[i].name) || !(a.keys()[i].v == b.keys()[i].v)) {
        return false;
      }
    }
    return true;
  }

  const class_repository& repo_;
  mutable std::mutex mutex_;
  std::vector<instance> items_;
  std::map<std::string, int> calls_;
  std::vector<object_path> deleted_;
  std::vector<std::pair<instance, property_list>> modified_;
};

}  // namespace vsnapd::cim::fakes

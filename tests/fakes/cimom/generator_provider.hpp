#pragma once
// Test double of cim::instance_provider that generates `count` instances of a class with keys
// `Id` = 0..count-1 on demand, never holding them. Every instance carries the same embedded
// instance in `Payload`, so `live()` - the number of other owners of that shared object - counts
// how many generated instances exist anywhere at that moment.

#include "cimom/provider.hpp"

#include <atomic>
#include <memory>

namespace vsnapd::cim::fakes {

class generator_provider : public instance_provider {
 public:
  explicit generator_provider(std::uint32_t count)
      : count_(count), token_(std::make_shared<const instance>("Test_Setting")) {}

  /// Instances alive right now (every copy counts).
  long live() const { return token_.use_count() - 1; }
  /// Largest batch the object manager asked this provider for.
  std::size_t max_request() const { return max_request_.load(); }

  // cim::instance_provider
  result<instance> get_instance(const operation_context&, const class_decl& cls,
                                const object_path& path) override {
    const auto* id = path.key("Id") != nullptr ? path.key("Id")->get_if<std::uint32_t>() : nullptr;
    if (id == nullptr || *id >= count_) {
      return fail(errc::not_found, "no instance " + path.to_string());
    }
    return make(cls.name, *id);
  }
  result<std::unique_ptr<instance_cursor>> enumerate_instances(const operation_context&,
                                                               const class_decl& cls) override {
    return std::make_unique<generating_cursor>(*this, cls.name);
  }

 private:
  instance make(const std::string& cls, std::uint32_t id) const {
    instance inst(cls);
    inst.set("Id", value(scalar(id)));
    inst.set("Payload", value(scalar(token_)));
    return inst;
  }

  class generating_cursor final : public instance_cursor {
   public:
    generating_cursor(generator_provider& owner, std::string cls)
        : owner_(owner), cls_(std::move(cls)) {}
    result<bool> next(std::vector<instance>& batch, std::size_t max) override {
      if (max > owner_.max_request_.load()) {
        owner_.max_request_.store(max);
      }
      while (next_ < owner_.count_ && max-- > 0) {
        batch.push_back(owner_.make(cls_, next_++));
      }
      return next_ < owner_.count_;
    }

   private:
    generator_provider& owner_;
    std::string cls_;
    std::uint32_t next_ = 0;
  };

  std::uint32_t count_;
  embedded_instance token_;
  std::atomic<std::size_t> max_request_{0};
};

}  // namespace vsnapd::cim::fakes

#pragma once
// Test double of cim::method_provider: records each call and answers with a preset result.

#include "cimom/provider.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace vsnapd::cim::fakes {

class recording_method_provider : public method_provider {
 public:
  struct call {
    std::string cls;
    object_path target;
    std::string method;
    std::vector<param_value> in;
  };

  /// What every invocation returns from now on.
  void answer(method_result r) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(r);
  }
  std::vector<call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  // cim::method_provider
  result<method_result> invoke(const operation_context&, const class_decl& cls,
                               const object_path& target, const method_decl& method,
                               std::vector<param_value> in) override {
    std::lock_guard lock(mutex_);
    calls_.push_back(call{cls.name, target, method.name, std::move(in)});
    return answer_;
  }

 private:
  mutable std::mutex mutex_;
  method_result answer_{value(scalar(std::uint32_t{0})), {}};
  std::vector<call> calls_;
};

}  // namespace vsnapd::cim::fakes

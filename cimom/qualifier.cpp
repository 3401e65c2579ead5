#include "cimom/qualifier.hpp"

#include "cimom/name.hpp"

#include <algorithm>

namespace vsnapd::cim {

const qualifier* qualifier_list::find(std::string_view name) const {
  for (const auto& q : items_) {
    if (name_equal(q.name, name)) {
      return &q;
    }
  }
  return nullptr;
}

qualifier* qualifier_list::find(std::string_view name) {
  for (auto& q : items_) {
    if (name_equal(q.name, name)) {
      return &q;
    }
  }
  return nullptr;
}

void qualifier_list::set(qualifier q) {
  if (auto* existing = find(q.name)) {
    *existing = std::move(q);
  } else {
    items_.push_back(std::move(q));
  }
}

bool qualifier_list::erase(std::string_view name) {
  const auto it = std::find_if(items_.begin(), items_.end(),
                               [&](const qualifier& q) { return name_equal(q.name, name); });
  if (it == items_.end()) {
    return false;
  }
  items_.erase(it);
  return true;
}

bool qualifier_list::is_true(std::string_view name) const {
  const auto* q = find(name);
  if (q == nullptr) {
    return false;
  }
  const auto* b = q->v.get_if<bool>();
  return b != nullptr && *b;
}

std::string_view qualifier_list::string_of(std::string_view name) const {
  const auto* q = find(name);
  if (q == nullptr) {
    return {};
  }
  const auto* s = q->v.get_if<std::string>();
  return s != nullptr ? std::string_view(*s) : std::string_view();
}

}  // namespace vsnapd::cim

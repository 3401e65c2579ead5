#include "cimom/indications/indication_bus.hpp"

#include "cimom/class_repository.hpp"
#include "cimom/name.hpp"

#include <algorithm>
#include <utility>

namespace vsnapd::cim::indications {

// A subscription's queue, shared by the bus (which pushes) and the subscription (which pops).
struct subscription::state {
  explicit state(std::size_t cap) : capacity(cap) {}
  const std::size_t capacity;
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<indication> queue;
  std::uint64_t dropped = 0;
  indication_filter filter;
};

// The bus's subscriber list. One mutex serializes publishers, so every subscriber sees
// indications in sequence order; a publish holds it only to copy into the queues, never while
// a consumer runs.
struct subscription::core {
  std::mutex mutex;
  std::vector<std::shared_ptr<subscription::state>> subs;
  std::uint64_t next_sequence = 1;
};

subscription::subscription(std::shared_ptr<state> s, indication_filter f, std::weak_ptr<core> bus)
    : state_(std::move(s)), filter_(std::move(f)), bus_(std::move(bus)) {}

subscription::~subscription() {
  if (auto c = bus_.lock()) {
    std::lock_guard lock(c->mutex);
    std::erase(c->subs, state_);
  }
}

std::optional<indication> subscription::try_pop() {
  std::lock_guard lock(state_->mutex);
  if (state_->queue.empty()) {
    return std::nullopt;
  }
  indication out = std::move(state_->queue.front());
  state_->queue.pop_front();
  return out;
}

std::optional<indication> subscription::wait_pop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->cv.wait_for(lock, timeout, [&] { return !state_->queue.empty(); })) {
    return std::nullopt;
  }
  indication out = std::move(state_->queue.front());
  state_->queue.pop_front();
  return out;
}

std::uint64_t subscription::dropped() const {
  std::lock_guard lock(state_->mutex);
  return state_->dropped;
}

std::size_t subscription::size() const {
  std::lock_guard lock(state_->mutex);
  return state_->queue.size();
}

indication_bus::indication_bus(const class_repository* repo, std::size_t default_capacity)
    : repo_(repo),
      default_capacity_(default_capacity == 0 ? 1 : default_capacity),
      core_(std::make_shared<subscription::core>()) {}

indication_bus::~indication_bus() = default;

std::unique_ptr<subscription> indication_bus::subscribe(indication_filter filter,
                                                        std::size_t capacity) {
  filter.ns = normalize_namespace(filter.ns);
  auto s = std::make_shared<subscription::state>(capacity == 0 ? default_capacity_ : capacity);
  s->filter = filter;
  {
    std::lock_guard lock(core_->mutex);
    core_->subs.push_back(s);
  }
  return std::unique_ptr<subscription>(new subscription(std::move(s), std::move(filter), core_));
}

std::size_t indication_bus::subscriber_count() const {
  std::lock_guard lock(core_->mutex);
  return core_->subs.size();
}

bool indication_bus::matches(const indication_filter& f, const indication& ind) const {
  if (!f.ns.empty() && !name_equal(normalize_namespace(f.ns), normalize_namespace(ind.ns))) {
    return false;
  }
  // Subclass matching needs the class hierarchy of the event's namespace; without a repository
  // (or for classes it does not know) only the exact name matches.
  const auto is_a = [&](std::string_view cls, std::string_view ancestor) {
    if (ancestor.empty() || name_equal(cls, ancestor)) {
      return true;
    }
    return repo_ != nullptr && repo_->is_a(ind.ns, cls, ancestor);
  };
  return is_a(ind.event.class_name(), f.indication_class) && is_a(ind.source_class, f.source_class);
}

std::size_t indication_bus::publish(indication ind) {
  std::lock_guard lock(core_->mutex);
  ind.sequence = core_->next_sequence++;
  std::size_t delivered = 0;
  for (const auto& s : core_->subs) {
    if (!matches(s->filter, ind)) {
      continue;
    }
    {
      std::lock_guard qlock(s->mutex);
      // Drop-oldest: the publisher never waits for a slow consumer.
      if (s->queue.size() >= s->capacity) {
        s->queue.pop_front();
        ++s->dropped;
      }
      s->queue.push_back(ind);
    }
    s->cv.notify_one();
    ++delivered;
  }
  return delivered;
}

namespace {

indication make(std::string_view cls, const object_path& path, const instance& source,
                const datetime& when) {
  indication out;
  out.ns = normalize_namespace(path.ns());
  out.source_class = source.class_name();
  out.event = instance(std::string(cls));
  out.event.set("IndicationTime", value(scalar(when)));
  out.event.set("SourceInstance", value(scalar(std::make_shared<const instance>(source))));
  out.event.set("SourceInstanceModelPath", value(std::string_view(path.model_path())));
  out.event.set("SourceInstanceHost", path.host().empty() ? value::null(cim_type::string)
                                                          : value(std::string_view(path.host())));
  return out;
}

}  // namespace

indication make_inst_creation(const object_path& path, const instance& source,
                              const datetime& when) {
  return make("CIM_InstCreation", path, source, when);
}

indication make_inst_modification(const object_path& path, const instance& previous,
                                  const instance& current, const datetime& when) {
  auto out = make("CIM_InstModification", path, current, when);
  out.event.set("PreviousInstance", value(scalar(std::make_shared<const instance>(previous))));
  return out;
}

indication make_inst_deletion(const object_path& path, const instance& source,
                              const datetime& when) {
  return make("CIM_InstDeletion", path, source, when);
}

}  // namespace vsnapd::cim::indications

#pragma once
// The internal indication bus: instance life-cycle events (CIM_InstCreation,
// CIM_InstModification, CIM_InstDeletion) published by providers and the job manager, delivered
// to subscribers that later issues connect to WS-Eventing and CIM-XML export.
//
// Delivery model: each subscription owns a bounded FIFO queue. Publishing never blocks on a
// subscriber: when a queue is full its *oldest* indication is dropped and the subscription's
// `dropped()` counter grows, so a stalled consumer loses old events (and can tell how many)
// while fresh ones keep flowing and publishers (job workers, request threads) never stall.
// Consumers poll with try_pop or wait with wait_pop.
//
// Thread safety: every member of indication_bus and subscription may be called from any thread.

#include "cimom/datetime.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {
class class_repository;
}

namespace vsnapd::cim::indications {

/// One published event: the namespace it happened in and the indication instance
/// (class CIM_InstCreation/CIM_InstModification/CIM_InstDeletion or a subclass).
struct indication {
  std::string ns;              ///< normalized namespace of the source instance
  instance event;              ///< the indication instance
  std::string source_class;    ///< class of SourceInstance, used for filtering
  std::uint64_t sequence = 0;  ///< bus-wide publication order, starting at 1
};

/// What a subscriber wants. Empty fields match everything.
struct indication_filter {
  std::string ns;                ///< namespace (compared normalized, case-insensitively)
  std::string indication_class;  ///< e.g. "CIM_InstModification"; subclasses match too
  std::string source_class;  ///< class of SourceInstance, e.g. "CIM_ConcreteJob"; subclasses match
};

/// A subscriber's queue. Obtained from indication_bus::subscribe; unsubscribes on destruction.
class subscription {
 public:
  ~subscription();
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

  /// The oldest queued indication, or nullopt when the queue is empty.
  std::optional<indication> try_pop();
  /// Waits up to `timeout` for an indication. @return nullopt on timeout.
  std::optional<indication> wait_pop(std::chrono::milliseconds timeout);
  /// Indications dropped because the queue was full (oldest first), since subscribing.
  std::uint64_t dropped() const;
  /// Indications currently queued.
  std::size_t size() const;
  const indication_filter& filter() const { return filter_; }

 private:
  friend class indication_bus;
  struct state;
  struct core;
  subscription(std::shared_ptr<state> s, indication_filter f, std::weak_ptr<core> bus);
  std::shared_ptr<state> state_;
  indication_filter filter_;
  std::weak_ptr<core> bus_;  ///< the bus's shared core; expired once the bus is destroyed
};

/// The bus. Publishers call publish(); subscribers hold a subscription.
class indication_bus {
 public:
  /// @param repo used to match subclasses in filters; may be null (then class names must match
  /// exactly). Must outlive the bus. @param default_capacity queue bound per subscription.
  explicit indication_bus(const class_repository* repo, std::size_t default_capacity = 1024);
  ~indication_bus();
  indication_bus(const indication_bus&) = delete;
  indication_bus& operator=(const indication_bus&) = delete;

  /// Subscribes. @param capacity queue bound (0 = the bus default). The subscription may
  /// outlive the bus (it then receives nothing more).
  std::unique_ptr<subscription> subscribe(indication_filter filter, std::size_t capacity = 0);

  /// Delivers `ind` to every matching subscription without blocking on any of them.
  /// @return the number of subscriptions it was queued to.
  std::size_t publish(indication ind);

  /// Number of live subscriptions.
  std::size_t subscriber_count() const;

  /// True when `filter` selects `ind` (namespace, indication class, source class).
  bool matches(const indication_filter& filter, const indication& ind) const;

 private:
  const class_repository* repo_;
  std::size_t default_capacity_;
  // Shared with the subscriptions, so one destroyed after the bus can still unsubscribe safely.
  std::shared_ptr<subscription::core> core_;
};

/// CIM_InstCreation for `source` at `path` (SourceInstance embedded, SourceInstanceModelPath,
/// IndicationTime = `when`).
indication make_inst_creation(const object_path& path, const instance& source,
                              const datetime& when);
/// CIM_InstModification: SourceInstance is the new state, PreviousInstance the old one.
indication make_inst_modification(const object_path& path, const instance& previous,
                                  const instance& current, const datetime& when);
/// CIM_InstDeletion: SourceInstance is the state just before deletion.
indication make_inst_deletion(const object_path& path, const instance& source,
                              const datetime& when);

}  // namespace vsnapd::cim::indications

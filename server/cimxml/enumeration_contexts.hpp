#pragma once
// The open enumeration contexts of the DSP0200 1.4 pull operations: each holds the object
// manager's cursor between an Open* and the Pull*/CloseEnumeration calls that follow, so a
// 100,000-instance enumeration never sits in memory whole. The table is bounded (an Open beyond
// the limit gets CIM_ERR_SERVER_LIMITS_EXCEEDED after expired contexts are dropped), each
// context expires OperationTimeout seconds after its last operation ended, and a context serves
// only the user who opened it and one operation at a time.
//
// Thread-safety: every member function may be called from any thread. A checked-out context is
// owned by the caller until it is returned with `put_back` (or dropped by not returning it).

#include "cimom/error.hpp"
#include "cimom/object_manager.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace vsnapd::server::cimxml {

/// What the Pull operations return from a context: instances with their paths
/// (PullInstancesWithPath), paths (PullInstancePaths) or instances alone (PullInstances, after
/// OpenQueryInstances).
enum class pull_kind : std::uint8_t { instances_with_path, paths, instances };

/// One open enumeration.
struct enumeration_context {
  pull_kind kind = pull_kind::instances_with_path;
  std::string user;  ///< who opened it; nobody else may pull from it
  std::string ns;    ///< the namespace of the Open, for the paths written
  std::unique_ptr<cim::named_instance_cursor> instances;  ///< for instances_with_path / instances
  std::unique_ptr<cim::path_cursor> paths;                ///< for paths
  std::chrono::seconds timeout{0};                        ///< the OperationTimeout granted
};

/// The bounded table of open contexts.
class enumeration_contexts {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  struct limits {
    std::size_t max_contexts = 256;                 ///< open at once, all users together
    std::chrono::seconds default_timeout{60};       ///< when OperationTimeout is NULL
    std::chrono::seconds max_timeout{3600};         ///< larger requests are refused
  };

  /// @param now the clock (steady_clock::now by default; tests pass a fake one).
  explicit enumeration_contexts(limits l, clock_fn now = {});

  /// The timeout to grant for a requested OperationTimeout (nullopt = NULL = the default).
  /// @return errc::invalid_operation_timeout for 0 (DSP0200: "no timeout", which we refuse so
  /// that abandoned contexts cannot pin cursors forever) or more than max_timeout.
  [[nodiscard]] cim::result<std::chrono::seconds> grant_timeout(
      std::optional<std::uint32_t> requested) const;

  /// Stores an open context; @return its id, or errc::server_limits_exceeded when the table is
  /// full of live contexts.
  [[nodiscard]] cim::result<std::string> add(enumeration_context ctx);

  /// Takes the context `id` out of the table for one operation.
  /// @return errc::invalid_enumeration_context when it does not exist, has expired, belongs to
  /// another user, or is in use by another operation.
  [[nodiscard]] cim::result<std::unique_ptr<enumeration_context>> check_out(const std::string& id,
                                                                            const std::string& user);

  /// Returns a checked-out context; its timeout starts again now.
  void put_back(const std::string& id, std::unique_ptr<enumeration_context> ctx);

  /// Removes a context (CloseEnumeration, end of sequence, or an error that ends it).
  void remove(const std::string& id);

  /// Open contexts, checked out or not (tests and logs).
  std::size_t size() const;

 private:
  struct slot {
    std::unique_ptr<enumeration_context> ctx;  ///< null while checked out
    std::string user;
    std::chrono::steady_clock::time_point expires;
  };
  void drop_expired_locked(std::chrono::steady_clock::time_point now);

  limits limits_;
  clock_fn now_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, slot> slots_;
  std::uint64_t next_id_ = 1;
  std::uint64_t salt_;
};

}  // namespace vsnapd::server::cimxml

#pragma once
// The snapshot tree, the image graph and the operation journal of every VM, in one SQLite
// database (<state_dir>/hypervisor.sqlite, WAL, synchronous=FULL so a committed transaction
// survives a power cut).
//
// Images: every qcow2 file the backend made or adopted, with its backing image, the disk it
// belongs to, the snapshot that owns it (frozen images), and whether it is the active (written)
// layer of its disk. Snapshots: the tree (parent links) and what each one references.
// Journal: one row per mutating operation in flight, written before the first file changes and
// removed in the same transaction as the final metadata update, so that recovery after a crash
// finds exactly the operations that did not finish, with what they had planned.
//
// Thread safety: every method may be called from any thread (one mutex around the handle).

#include "common/error.hpp"
#include "hypervisor/vm.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace vsnapd::hv::qemu {

/// One image file of a VM's disk chains.
struct image_row {
  std::string path;                    ///< absolute
  std::string vm;
  std::uint32_t disk = 0;              ///< index into the VM's disk list
  std::optional<std::string> backing;  ///< absolute path of the backing image; none for a base
  std::optional<std::string> snapshot;  ///< owning snapshot (frozen image); none: chain node
  bool active = false;                 ///< the layer the VM writes to
};

/// One unfinished operation.
struct journal_entry {
  std::int64_t op = 0;
  std::string vm;
  std::string kind;     ///< "create", "apply", "destroy"
  std::int64_t step = 0;
  std::string payload;  ///< JSON written by the operation
};

class snapshot_store {
 public:
  /// Opens (creating) the database. Errors: journal_failed.
  [[nodiscard]] static result<std::unique_ptr<snapshot_store>> open(const std::string& path);
  ~snapshot_store();
  snapshot_store(const snapshot_store&) = delete;
  snapshot_store& operator=(const snapshot_store&) = delete;

  /// Runs `fn` in one write transaction (BEGIN IMMEDIATE .. COMMIT), rolled back when `fn`
  /// fails. Other methods called inside `fn` join it. Not reentrant from other threads.
  [[nodiscard]] result<void> transaction(const std::function<result<void>()>& fn);

  // Images.
  [[nodiscard]] result<void> put_image(const image_row& img);
  [[nodiscard]] result<std::optional<image_row>> image(const std::string& path);
  [[nodiscard]] result<std::vector<image_row>> images_of(const std::string& vm);
  [[nodiscard]] result<std::vector<image_row>> children(const std::string& path);
  /// Active image of each disk, in disk order (empty strings for disks without one).
  [[nodiscard]] result<std::vector<std::string>> active_images(const std::string& vm);
  [[nodiscard]] result<void> remove_image(const std::string& path);

  // Snapshots.
  [[nodiscard]] result<void> put_snapshot(const std::string& vm, const snapshot_info& s);
  [[nodiscard]] result<std::optional<snapshot_info>> snapshot(const std::string& vm,
                                                             const std::string& id);
  /// Parents before children, siblings by creation time.
  [[nodiscard]] result<std::vector<snapshot_info>> snapshots(const std::string& vm);
  [[nodiscard]] result<void> remove_snapshot(const std::string& id);
  [[nodiscard]] result<void> rename_snapshot(const std::string& id, const std::string& name);
  /// Makes a full snapshot a disk snapshot: no memory file, type disk (its level stays: the
  /// disks were as consistent as the memory).
  [[nodiscard]] result<void> clear_memory_state(const std::string& id);
  /// Children of `id` take `new_parent`.
  [[nodiscard]] result<void> reparent(const std::string& id,
                                      const std::optional<std::string>& new_parent);

  // The VM's current snapshot (last created or applied).
  [[nodiscard]] result<std::optional<std::string>> current(const std::string& vm);
  [[nodiscard]] result<void> set_current(const std::string& vm,
                                         const std::optional<std::string>& id);

  /// Removes every row of a VM (destroy_system).
  [[nodiscard]] result<void> forget_vm(const std::string& vm);

  // Journal.
  [[nodiscard]] result<std::int64_t> journal_begin(const std::string& vm, const std::string& kind,
                                                   const std::string& payload);
  [[nodiscard]] result<void> journal_step(std::int64_t op, std::int64_t step);
  [[nodiscard]] result<void> journal_end(std::int64_t op);
  [[nodiscard]] result<std::vector<journal_entry>> journal();

 private:
  explicit snapshot_store(sqlite3* db) : db_(db) {}
  struct stmt;
  [[nodiscard]] result<void> exec(const char* sql);
  [[nodiscard]] result<stmt> prepare(const char* sql);

  std::recursive_mutex mu_;
  sqlite3* db_;
  int tx_depth_ = 0;
};

}  // namespace vsnapd::hv::qemu

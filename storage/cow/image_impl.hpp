#pragma once
// Private state of storage::image (one translation-unit family: image.cpp, snapshot.cpp,
// check.cpp). Not installed; included only by the engine's own .cpp files.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/cow/format.hpp"
#include "storage/cow/image.hpp"
#include "common/error.hpp"
#include "storage/errc.hpp"

namespace vsnapd::storage {

namespace detail {

/// A fixed number of cluster-sized table buffers (L2 tables or refcount blocks) with O(1)
/// lookup by host offset and least-recently-used eviction. Buffers are aligned for O_DIRECT.
/// Callers hold image::impl::cache_mu_. A pointer returned by the owner's get() is valid only
/// until the next get() on the same cache (it may evict), so callers copy what they keep.
struct table_cache {
  struct slot {
    std::uint64_t offset = 0;  ///< 0: empty (offset 0 is the header, never a table)
    std::uint64_t last_use = 0;
    bool dirty = false;
  };
  std::size_t table_bytes = 0;
  std::vector<slot> slots;
  std::unordered_map<std::uint64_t, std::size_t> index;
  std::unique_ptr<std::byte, void (*)(void*)> memory{nullptr, nullptr};
  std::uint64_t tick = 0;

  void init(std::size_t bytes_per_table, std::size_t count);
  std::byte* data(std::size_t i) { return memory.get() + i * table_bytes; }
  /// The slot holding `offset`, or npos.
  std::size_t find(std::uint64_t offset);
  /// The least recently used slot (empty ones first).
  std::size_t victim() const;
  void drop(std::uint64_t offset);
  static constexpr std::size_t npos = ~std::size_t{0};
};

/// One snapshot table row with its location data.
struct snapshot_entry {
  snapshot_info info;
  std::uint64_t l1_table_offset = 0;
  std::uint32_t l1_size = 0;
  std::vector<std::byte> extra;  ///< extra data beyond the fields we know, kept verbatim
};

}  // namespace detail

class image::impl {
 public:
  // ---- identity and geometry ----
  std::unique_ptr<file> f_;
  std::string name_;
  open_options opts_;
  qcow2::header h_;
  std::uint32_t cb_ = 16;              // cluster_bits
  std::uint64_t cs_ = 65536;           // cluster size
  std::uint32_t l2_bits_ = 13;         // log2(entries per L2 table)
  std::uint64_t rpb_ = 32768;          // refcounts per refcount block
  std::uint32_t rc_bits_ = 16;         // bits per refcount
  std::atomic<bool> writable_{false};  // read by the lock-free fast path, cleared by poisoning
  std::atomic<bool> closed_{false};
  std::atomic<bool> poisoned_{false};  // a metadata update failed (see poison_on_error)
  bool dirty_set_ = false;             // our dirty bit is on disk

  // ---- chain ----
  std::unique_ptr<image> backing_;
  std::unique_ptr<file> backing_raw_;
  std::uint64_t backing_raw_size_ = 0;

  // ---- metadata (guarded by meta_mu_: shared to read, exclusive to change) ----
  mutable std::shared_mutex meta_mu_;
  std::vector<std::uint64_t> l1_;        // active L1, host byte order
  std::vector<std::uint32_t> l1_dirty_;  // indices to write back
  std::vector<std::uint64_t> rt_;        // refcount table
  std::vector<std::uint32_t> rt_dirty_;  // entries naming new blocks, not yet written
  std::vector<detail::snapshot_entry> snaps_;
  std::uint64_t snap_table_bytes_ = 0;  // on-disk size of the snapshot table
  std::uint64_t run_hint_ = 0;          // where multi-cluster allocations search from
  std::uint64_t alloc_hint_ = 0;        // first cluster index that may be free
  std::uint64_t host_end_ = 0;          // bytes: max(file size, end of every allocation)
  // Host byte ranges whose references were removed in cached tables: their refcounts drop
  // only after the removal is durable (FORMAT.md, invariant R2).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pending_free_;
  // One past the highest byte ever written to the file: clusters at or above it read as
  // zero without being written, which saves the zero-fill of a fresh cluster's COW.
  std::atomic<std::uint64_t> written_end_{0};

  // ---- caches (guarded by cache_mu_, which nests inside meta_mu_) ----
  mutable std::mutex cache_mu_;
  detail::table_cache l2c_;
  detail::table_cache rbc_;

  // ---- access for the engine's free functions (a nested class sees image's privates) ----
  static std::unique_ptr<image> wrap(std::unique_ptr<impl> p) {
    return std::unique_ptr<image>(new image(std::move(p)));
  }
  static impl& of(image& i) { return *i.impl_; }

  // ---- helpers shared by the .cpp files ----
  error_code corrupt(const std::string& what) const;
  std::uint64_t guest_clusters() const { return (h_.size + cs_ - 1) >> cb_; }
  std::uint64_t l1_entries_for(std::uint64_t bytes) const {
    std::uint64_t span = 1ull << (cb_ + l2_bits_);
    return (bytes + span - 1) / span;
  }

  // refcounts (caller holds meta_mu_ exclusively unless noted)
  result<std::uint64_t> get_refcount(std::uint64_t cluster);  // any lock; takes cache_mu_
  result<void> update_refcount(std::uint64_t cluster, std::int64_t delta);
  result<void> set_refcount(std::uint64_t cluster, std::uint64_t value);
  result<std::uint64_t> alloc_clusters(std::uint64_t n);  // returns a host offset
  result<void> ensure_refblock(std::uint64_t cluster);
  result<void> grow_refcount_table(std::uint64_t min_entries);
  result<void> free_range_now(std::uint64_t offset, std::uint64_t length);
  void free_later(std::uint64_t offset, std::uint64_t length) {
    pending_free_.emplace_back(offset, length);
  }
  /// Compressed cluster descriptor -> host byte range.
  void compressed_range(std::uint64_t entry, std::uint64_t& off, std::uint64_t& len) const;
  /// Releases the storage an L2 entry points to (after the removal is durable).
  void free_entry_later(std::uint64_t entry);

  // caches (caller holds cache_mu_)
  result<std::byte*> l2_get(std::uint64_t offset, bool load);
  result<std::byte*> rb_get(std::uint64_t offset, bool load);
  result<void> write_dirty_refblocks();
  result<void> write_l2_slot(std::size_t i);

  // tables
  result<std::uint64_t> l2_entry(std::uint64_t guest_cluster);  // shared or exclusive
  result<std::uint64_t> l2_entry_in(const std::vector<std::uint64_t>& l1,
                                    std::uint64_t guest_cluster);
  result<void> set_l2_entry(std::uint64_t guest_cluster, std::uint64_t entry);  // exclusive
  result<std::uint64_t> writable_l2(std::uint64_t l1_index);  // COW/allocate, returns offset
  result<void> load_l2_copy(std::uint64_t offset, std::vector<std::uint64_t>& out);

  // every write to the image file goes through here (keeps written_end_)
  result<void> write_file(std::uint64_t offset, std::span<const std::byte> b) {
    std::uint64_t end = offset + b.size();
    std::uint64_t cur = written_end_.load(std::memory_order_relaxed);
    while (cur < end && !written_end_.compare_exchange_weak(cur, end)) {
    }
    return f_->write_at(offset, b);
  }

  // durability
  result<void> mark_dirty();
  result<void> flush_locked();
  result<void> write_header_field(std::size_t offset, std::span<const std::byte> bytes);
  result<void> write_full_header();

  // guest I/O internals (exclusive unless named _shared)
  result<void> read_cluster_old(std::uint64_t guest_cluster, std::uint64_t entry,
                                std::byte* out);  // the full cluster as the guest sees it
  result<void> read_compressed(std::uint64_t entry, std::byte* out);
  result<void> read_backing(std::uint64_t offset, std::span<std::byte> buf);
  result<void> read_shared(std::uint64_t offset, std::span<std::byte> buf,
                           const std::vector<std::uint64_t>* l1, bool use_backing);
  result<void> write_locked(std::uint64_t offset, std::span<const std::byte> buf);
  result<void> zero_or_discard_locked(std::uint64_t offset, std::uint64_t length, bool discard);
  result<void> preallocate_locked();
  result<void> grow_l1(std::uint64_t entries);
  result<void> resize_locked(std::uint64_t new_size);
  result<void> set_backing_locked(const std::string& file, const std::string& format);
  result<snapshot_info> create_snapshot_locked(std::string_view name, const snapshot_options& opts);
  result<void> apply_snapshot_locked(std::string_view key);
  result<void> delete_snapshot_locked(std::string_view key);

  // snapshots (snapshot.cpp)
  result<void> load_snapshots();
  result<void> write_snapshot_table(std::vector<detail::snapshot_entry> rows);
  result<void> walk_tree_refcounts(const std::vector<std::uint64_t>& l1, std::int64_t delta,
                                   bool later);
  result<void> fix_copied_flags();
  result<void> clear_copied_flags();
  result<std::vector<std::uint64_t>> load_l1(std::uint64_t offset, std::uint32_t size);
  std::size_t find_snapshot(std::string_view id_or_name) const;

  // check (check.cpp)
  result<check_report> check_locked(check_mode mode);
};

/// After a failed metadata update the in-memory tables may disagree with the disk, so the
/// image stops writing for good (FORMAT.md, "Errors"); the next writable open repairs it
/// through the dirty bit. Caller errors (bad arguments, unknown names) do not count.
template <class T>
result<T> poison_on_error(image::impl& m, result<T> r) {
  if (!r && r.error() != make_error_code(errc::invalid_argument) &&
      r.error() != make_error_code(errc::not_found) &&
      r.error() != make_error_code(errc::read_only)) {
    m.poisoned_ = m.poisoned_ || m.writable_;
    m.writable_ = false;
  }
  return r;
}

}  // namespace vsnapd::storage

// The qcow2 engine: open/create, the L2 and refcount caches, allocation, guest I/O, flush.
// Every fsync below is a barrier named after the invariant in FORMAT.md it protects.

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/assert.hpp"
#include "common/log.hpp"
#include "storage/cow/image_impl.hpp"
#include "storage/posix_file.hpp"

namespace vsnapd::storage {

using namespace qcow2;

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct free_deleter {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};
using aligned_buf = std::unique_ptr<std::byte, free_deleter>;

// Cluster buffers are aligned so that O_DIRECT files take them without a bounce copy.
aligned_buf make_buf(std::size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, std::max<std::size_t>(n, 4096)) != 0) {
    throw std::bad_alloc();
  }
  return aligned_buf(static_cast<std::byte*>(p));
}

bool is_normal(std::uint64_t e) {
  return (e & oflag_compressed) == 0 && (e & l2_offset_mask);
}
bool is_compressed(std::uint64_t e) {
  return (e & oflag_compressed) != 0;
}
bool is_zero(std::uint64_t e) {
  return (e & oflag_compressed) == 0 && (e & oflag_zero);
}

}  // namespace

// ===================================================================== table cache

namespace detail {

void table_cache::init(std::size_t bytes_per_table, std::size_t count) {
  table_bytes = bytes_per_table;
  slots.assign(std::max<std::size_t>(count, 2), slot{});
  index.clear();
  void* p = nullptr;
  if (posix_memalign(&p, 4096, table_bytes * slots.size()) != 0) {
    throw std::bad_alloc();
  }
  memory = std::unique_ptr<std::byte, void (*)(void*)>(static_cast<std::byte*>(p), std::free);
}

std::size_t table_cache::find(std::uint64_t offset) {
  auto it = index.find(offset);
  if (it == index.end()) {
    return npos;
  }
  slots[it->second].last_use = ++tick;
  return it->second;
}

std::size_t table_cache::victim() const {
  std::size_t best = 0;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].offset == 0) {
      return i;
    }
    if (slots[i].last_use < slots[best].last_use) {
      best = i;
    }
  }
  return best;
}

void table_cache::drop(std::uint64_t offset) {
  auto it = index.find(offset);
  if (it != index.end()) {
    slots[it->second] = slot{};
    index.erase(it);
  }
}

}  // namespace detail

error_code image::impl::corrupt(const std::string& what) const {
  return fail(errc::corrupt_image, "'" + name_ + "': " + what);
}

result<std::byte*> image::impl::rb_get(std::uint64_t offset, bool load) {
  std::size_t i = rbc_.find(offset);
  if (i != detail::table_cache::npos) {
    if (!load) {
      std::memset(rbc_.data(i), 0, cs_);
    }
    return rbc_.data(i);
  }
  i = rbc_.victim();
  auto& s = rbc_.slots[i];
  if (s.offset != 0 && s.dirty) {
    // A refcount block may reach the disk early: increments before references are always
    // safe (R1), and decrements are only applied to the cache once they are safe (R2).
    VSNAPD_TRY_VOID(write_file(s.offset, {rbc_.data(i), cs_}));
  }
  if (s.offset != 0) {
    rbc_.index.erase(s.offset);
  }
  s = {};
  if (load) {
    VSNAPD_TRY_VOID(f_->read_at(offset, {rbc_.data(i), cs_}));
  } else {
    std::memset(rbc_.data(i), 0, cs_);
  }
  s.offset = offset;
  s.last_use = ++rbc_.tick;
  rbc_.index[offset] = i;
  return rbc_.data(i);
}

result<void> image::impl::write_dirty_refblocks() {
  for (std::size_t i = 0; i < rbc_.slots.size(); ++i) {
    auto& s = rbc_.slots[i];
    if (s.offset != 0 && s.dirty) {
      VSNAPD_TRY_VOID(write_file(s.offset, {rbc_.data(i), cs_}));
      s.dirty = false;
    }
  }
  if (!rt_dirty_.empty()) {
    // Barrier R3: new refcount blocks are durable before the table entries naming them.
    // Every caller fsyncs after this, so the entries are durable before any reference.
    VSNAPD_TRY_VOID(f_->flush());
    std::byte e[8];
    std::uint64_t capacity = (std::uint64_t{h_.refcount_table_clusters} << cb_) / 8;
    for (std::uint32_t ti : rt_dirty_) {
      if (ti >= capacity || ti >= rt_.size()) {
        continue;  // only while grow_refcount_table swaps tables; it writes the new one whole
      }
      store_be64(e, rt_[ti]);
      VSNAPD_TRY_VOID(write_file(h_.refcount_table_offset + std::uint64_t{ti} * 8, e));
    }
    rt_dirty_.clear();
  }
  return {};
}

result<void> image::impl::write_l2_slot(std::size_t i) {
  auto& s = l2c_.slots[i];
  // Barrier R1/D1: the refcounts of every cluster this table points to, and the guest data
  // in them, are durable before the table that references them is written.
  VSNAPD_TRY_VOID(write_dirty_refblocks());
  VSNAPD_TRY_VOID(f_->flush());
  VSNAPD_TRY_VOID(write_file(s.offset, {l2c_.data(i), cs_}));
  s.dirty = false;
  return {};
}

result<std::byte*> image::impl::l2_get(std::uint64_t offset, bool load) {
  std::size_t i = l2c_.find(offset);
  if (i != detail::table_cache::npos) {
    if (!load) {
      // A freshly allocated table: whatever was cached at this offset is history.
      std::memset(l2c_.data(i), 0, cs_);
    }
    return l2c_.data(i);
  }
  i = l2c_.victim();
  auto& s = l2c_.slots[i];
  if (s.offset != 0 && s.dirty) {
    VSNAPD_TRY_VOID(write_l2_slot(i));
  }
  if (s.offset != 0) {
    l2c_.index.erase(s.offset);
  }
  s = {};
  if (load) {
    if (offset + cs_ > host_end_) {
      return corrupt("L2 table at " + hex(offset) + " lies beyond the end of the file");
    }
    VSNAPD_TRY_VOID(f_->read_at(offset, {l2c_.data(i), cs_}));
  } else {
    std::memset(l2c_.data(i), 0, cs_);
  }
  s.offset = offset;
  s.last_use = ++l2c_.tick;
  l2c_.index[offset] = i;
  return l2c_.data(i);
}

// ===================================================================== refcounts

namespace {
std::uint64_t rc_load(const std::byte* block, std::uint64_t idx, std::uint32_t bits) {
  switch (bits) {
    case 64: return load_be64(block + idx * 8);
    case 32: return load_be32(block + idx * 4);
    case 16: return load_be16(block + idx * 2);
    case 8: return std::to_integer<std::uint64_t>(block[idx]);
    default: {
      // Sub-byte widths pack the lowest index into the least significant bits, as QEMU.
      std::uint64_t per = 8 / bits;
      unsigned shift = static_cast<unsigned>((idx % per) * bits);
      return (std::to_integer<unsigned>(block[idx / per]) >> shift) & ((1u << bits) - 1);
    }
  }
}
void rc_store(std::byte* block, std::uint64_t idx, std::uint32_t bits, std::uint64_t v) {
  switch (bits) {
    case 64: store_be64(block + idx * 8, v); return;
    case 32: store_be32(block + idx * 4, static_cast<std::uint32_t>(v)); return;
    case 16: store_be16(block + idx * 2, static_cast<std::uint16_t>(v)); return;
    case 8: block[idx] = static_cast<std::byte>(v); return;
    default: {
      std::uint64_t per = 8 / bits;
      unsigned shift = static_cast<unsigned>((idx % per) * bits);
      unsigned mask = ((1u << bits) - 1) << shift;
      unsigned b = std::to_integer<unsigned>(block[idx / per]);
      block[idx / per] = static_cast<std::byte>((b & ~mask) | ((v << shift) & mask));
    }
  }
}
}  // namespace

result<std::uint64_t> image::impl::get_refcount(std::uint64_t cluster) {
  std::uint64_t ti = cluster / rpb_;
  if (ti >= rt_.size() || (rt_[ti] & refcount_table_offset_mask) == 0) {
    return 0;
  }
  std::lock_guard lock(cache_mu_);
  std::byte* b = VSNAPD_TRY(rb_get(rt_[ti] & refcount_table_offset_mask, true));
  return rc_load(b, cluster % rpb_, rc_bits_);
}

result<void> image::impl::set_refcount(std::uint64_t cluster, std::uint64_t value) {
  VSNAPD_TRY_VOID(ensure_refblock(cluster));
  std::uint64_t ti = cluster / rpb_;
  std::lock_guard lock(cache_mu_);
  std::uint64_t off = rt_[ti] & refcount_table_offset_mask;
  std::byte* b = VSNAPD_TRY(rb_get(off, true));
  rc_store(b, cluster % rpb_, rc_bits_, value);
  rbc_.slots[rbc_.find(off)].dirty = true;
  return {};
}

result<void> image::impl::update_refcount(std::uint64_t cluster, std::int64_t delta) {
  std::uint64_t cur = VSNAPD_TRY(get_refcount(cluster));
  std::uint64_t max = rc_bits_ == 64 ? ~0ull : (1ull << rc_bits_) - 1;
  if (delta < 0 && cur < static_cast<std::uint64_t>(-delta)) {
    return corrupt("refcount of cluster " + std::to_string(cluster) + " would drop below 0");
  }
  if (delta > 0 && max - cur < static_cast<std::uint64_t>(delta)) {
    // Not a caller error: the operation is half done, so this must poison the image.
    return fail(errc::unsupported_feature,
                "'" + name_ + "': refcount of cluster " + std::to_string(cluster) +
                    " would exceed the image's " + std::to_string(rc_bits_) + "-bit refcounts");
  }
  std::uint64_t v = cur + static_cast<std::uint64_t>(delta);
  VSNAPD_TRY_VOID(set_refcount(cluster, v));
  if (v == 0) {
    alloc_hint_ = std::min(alloc_hint_, cluster);
    // The cluster may be reused for anything: forget any table cached from it.
    std::lock_guard lock(cache_mu_);
    l2c_.drop(cluster << cb_);
    rbc_.drop(cluster << cb_);
  }
  return {};
}

result<void> image::impl::ensure_refblock(std::uint64_t cluster) {
  std::uint64_t ti = cluster / rpb_;
  if (ti >= rt_.size()) {
    VSNAPD_TRY_VOID(grow_refcount_table(ti + 1));
  }
  if ((rt_[ti] & refcount_table_offset_mask) != 0) {
    return {};
  }
  // Place the new block inside the range it describes so that it counts itself; pick the
  // first cluster of that range at or above the file end (nothing there is in use).
  std::uint64_t first = ti * rpb_;
  std::uint64_t at = std::max(first, (host_end_ + cs_ - 1) >> cb_);
  if (at >= first + rpb_) {
    // The range lies wholly below the file end but has no block: every cluster in it must be
    // unreferenced (a referenced cluster without a block is a corruption check reports), so
    // the first cluster is free.
    at = first;
  }
  // The block starts life in the cache; write_dirty_refblocks() writes it, then (after a
  // barrier, R3) the table entry, before any reference to a cluster it counts is written.
  std::uint64_t off = at << cb_;
  {
    std::lock_guard lock(cache_mu_);
    std::byte* b = VSNAPD_TRY(rb_get(off, false));
    rc_store(b, at - first, rc_bits_, 1);
    rbc_.slots[rbc_.find(off)].dirty = true;
  }
  host_end_ = std::max(host_end_, off + cs_);
  rt_[ti] = off;
  rt_dirty_.push_back(static_cast<std::uint32_t>(ti));
  return {};
}

result<void> image::impl::grow_refcount_table(std::uint64_t min_entries) {
  std::uint64_t entries = std::max<std::uint64_t>(min_entries + 1, rt_.size() * 2);
  std::uint64_t t_clusters = (entries * 8 + cs_ - 1) >> cb_;
  entries = (t_clusters << cb_) / 8;
  if ((t_clusters << cb_) > max_refcount_table_bytes) {
    return fail(errc::no_space, "'" + name_ + "': refcount table would exceed " +
                                    std::to_string(max_refcount_table_bytes) + " bytes");
  }
  // New table and any refcount blocks it needs go at the end of the file: [E, E+t+k).
  std::uint64_t e = (host_end_ + cs_ - 1) >> cb_;
  std::vector<std::uint64_t> nrt(entries, 0);
  std::copy(rt_.begin(), rt_.end(), nrt.begin());
  std::vector<std::uint64_t> new_blocks;  // table indices of blocks we add
  for (;;) {
    std::uint64_t end = e + t_clusters + new_blocks.size();
    bool added = false;
    for (std::uint64_t c = e; c < end; c += 1) {
      std::uint64_t ti = c / rpb_;
      if (nrt[ti] == 0) {
        nrt[ti] = ~0ull;  // placeholder, assigned below
        new_blocks.push_back(ti);
        added = true;
        break;
      }
    }
    if (!added) {
      break;
    }
  }
  std::uint64_t next = e + t_clusters;
  for (std::uint64_t ti : new_blocks) {
    nrt[ti] = (next++) << cb_;
  }
  std::uint64_t end = next;
  // Write each new block with the refcounts of the new clusters it covers.
  auto block = make_buf(cs_);
  for (std::uint64_t ti : new_blocks) {
    std::memset(block.get(), 0, cs_);
    for (std::uint64_t c = e; c < end; ++c) {
      if (c / rpb_ == ti) {
        rc_store(block.get(), c % rpb_, rc_bits_, 1);
      }
    }
    VSNAPD_TRY_VOID(write_file(nrt[ti], {block.get(), cs_}));
  }
  // New clusters covered by existing blocks get their refcount through the cache.
  rt_.swap(nrt);  // temporarily, so set_refcount sees the new blocks
  for (std::uint64_t c = e; c < e + t_clusters; ++c) {
    std::uint64_t ti = c / rpb_;
    if (std::find(new_blocks.begin(), new_blocks.end(), ti) == new_blocks.end()) {
      auto r = set_refcount(c, 1);
      if (!r) {
        rt_.swap(nrt);
        return r;
      }
    }
  }
  rt_.swap(nrt);
  auto table = make_buf(t_clusters << cb_);
  std::memset(table.get(), 0, t_clusters << cb_);
  for (std::uint64_t i = 0; i < nrt.size(); ++i) {
    store_be64(table.get() + i * 8, nrt[i]);
  }
  {
    std::lock_guard lock(cache_mu_);
    VSNAPD_TRY_VOID(write_dirty_refblocks());
  }
  VSNAPD_TRY_VOID(write_file(e << cb_, {table.get(), t_clusters << cb_}));
  host_end_ = std::max(host_end_, end << cb_);
  // Barrier R3: new blocks and table are durable before the header switches to them.
  VSNAPD_TRY_VOID(f_->flush());
  std::byte hdr[12];
  store_be64(hdr, e << cb_);
  store_be32(hdr + 8, static_cast<std::uint32_t>(t_clusters));
  VSNAPD_TRY_VOID(write_file(off_refcount_table_offset, hdr));
  // Barrier R3: the header points to the new table before the old one is released.
  VSNAPD_TRY_VOID(f_->flush());
  std::uint64_t old_off = h_.refcount_table_offset;
  std::uint64_t old_len = std::uint64_t{h_.refcount_table_clusters} << cb_;
  h_.refcount_table_offset = e << cb_;
  h_.refcount_table_clusters = static_cast<std::uint32_t>(t_clusters);
  rt_ = std::move(nrt);
  rt_dirty_.clear();  // the new table was written whole
  return free_range_now(old_off, old_len);
}

result<void> image::impl::free_range_now(std::uint64_t offset, std::uint64_t length) {
  if (length == 0) {
    return {};
  }
  std::uint64_t first = offset >> cb_;
  std::uint64_t last = (offset + length - 1) >> cb_;
  for (std::uint64_t c = first; c <= last; ++c) {
    VSNAPD_TRY_VOID(update_refcount(c, -1));
  }
  return {};
}

result<std::uint64_t> image::impl::alloc_clusters(std::uint64_t n) {
  VSNAPD_ASSERT(n > 0);
  if (n >= rpb_) {
    // A new refcount block sits at the start of the range it describes, so a fresh range
    // never has rpb_ free clusters in a row: such a request could scan forever.
    return fail(errc::no_space, "'" + name_ + "': cannot allocate " + std::to_string(n) +
                                    " contiguous clusters (one refcount block covers " +
                                    std::to_string(rpb_) + ")");
  }
  // Runs start from their own hint: going back to small gaps below it for every multi-cluster
  // request would make preallocation quadratic. Single clusters fill the gaps.
  std::uint64_t from = n == 1 ? alloc_hint_ : std::max(alloc_hint_, run_hint_);
  std::uint64_t start = from;
  std::uint64_t run = 0;
  std::uint64_t first_free = ~0ull;  // the lowest free cluster seen: the next hint
  for (std::uint64_t c = from;; ++c) {
    if (c == 0) {  // cluster 0 is the header, always in use
      start = 1;
      continue;
    }
    std::uint64_t ti = c / rpb_;
    std::uint64_t rc = 0;
    if (ti < rt_.size() && (rt_[ti] & refcount_table_offset_mask) != 0) {
      rc = VSNAPD_TRY(get_refcount(c));
    } else {
      // No block yet: create it (it lands in this range and counts itself), then rescan.
      VSNAPD_TRY_VOID(ensure_refblock(c));
      rc = VSNAPD_TRY(get_refcount(c));
    }
    if (rc != 0) {
      run = 0;
      start = c + 1;
      continue;
    }
    if (run == 0 && first_free == ~0ull) {
      first_free = c;
    }
    if (++run == n) {
      break;
    }
  }
  for (std::uint64_t c = start; c < start + n; ++c) {
    VSNAPD_TRY_VOID(update_refcount(c, 1));
  }
  // Everything below the hint is in use, so the next scan starts at the first gap we skipped
  // (too small for this request) or right after this run.
  if (n == 1 || from == alloc_hint_) {
    alloc_hint_ = first_free < start ? first_free : start + n;
  }
  if (n > 1) {
    run_hint_ = start + n;
  }
  std::uint64_t off = start << cb_;
  host_end_ = std::max(host_end_, off + (n << cb_));
  return off;
}

void image::impl::compressed_range(std::uint64_t entry, std::uint64_t& off,
                                   std::uint64_t& len) const {
  unsigned x = 62 - (cb_ - 8);
  std::uint64_t host = entry & ((1ull << x) - 1);
  std::uint64_t sectors = ((entry >> x) & ((1ull << (cb_ - 8)) - 1)) + 1;
  off = host & ~511ull;
  len = sectors * 512;
}

void image::impl::free_entry_later(std::uint64_t entry) {
  if (is_compressed(entry)) {
    std::uint64_t off = 0;
    std::uint64_t len = 0;
    compressed_range(entry, off, len);
    free_later(off, len);
  } else if (entry & l2_offset_mask) {
    free_later(entry & l2_offset_mask, cs_);
  }
}

// ===================================================================== L1 / L2 tables

result<std::uint64_t> image::impl::l2_entry_in(const std::vector<std::uint64_t>& l1,
                                               std::uint64_t gc) {
  std::uint64_t l1i = gc >> l2_bits_;
  if (l1i >= l1.size()) {
    return 0;
  }
  std::uint64_t l2off = l1[l1i] & l1_offset_mask;
  if (l2off == 0) {
    return 0;
  }
  std::lock_guard lock(cache_mu_);
  std::byte* t = VSNAPD_TRY(l2_get(l2off, true));
  std::uint64_t e = load_be64(t + (gc & ((1ull << l2_bits_) - 1)) * 8);
  if (is_compressed(e)) {
    std::uint64_t off = 0;
    std::uint64_t len = 0;
    compressed_range(e, off, len);
    if (off + len > host_end_ + cs_) {
      return corrupt("compressed cluster at " + hex(off) + " lies beyond the end of the file");
    }
  } else if ((e & l2_offset_mask) != 0) {
    std::uint64_t off = e & l2_offset_mask;
    if ((off & (cs_ - 1)) != 0 || off + cs_ > host_end_ || off == 0) {
      return corrupt("L2 entry " + hex(e) + " of table " + hex(l2off) +
                     " points outside "
                     "the file or is not cluster aligned");
    }
  }
  return e;
}

result<std::uint64_t> image::impl::l2_entry(std::uint64_t gc) {
  return l2_entry_in(l1_, gc);
}

result<void> image::impl::load_l2_copy(std::uint64_t offset, std::vector<std::uint64_t>& out) {
  std::lock_guard lock(cache_mu_);
  std::byte* t = VSNAPD_TRY(l2_get(offset, true));
  out.resize(std::size_t{1} << l2_bits_);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = load_be64(t + i * 8);
  }
  return {};
}

result<std::uint64_t> image::impl::writable_l2(std::uint64_t l1i) {
  if (l1i >= l1_.size()) {
    return fail(errc::invalid_argument, "'" + name_ + "': L1 index beyond the table");
  }
  std::uint64_t e = l1_[l1i];
  std::uint64_t old = e & l1_offset_mask;
  if (old != 0 && (e & oflag_copied)) {
    return old;
  }
  std::vector<std::uint64_t> copy;
  if (old != 0) {
    // Shared with a snapshot: copy it. Data refcounts do not change, since they count the
    // L1 tables that reach a cluster and the active one still reaches each exactly once.
    VSNAPD_TRY_VOID(load_l2_copy(old, copy));
  }
  std::uint64_t off = VSNAPD_TRY(alloc_clusters(1));
  {
    std::lock_guard lock(cache_mu_);
    std::byte* t = VSNAPD_TRY(l2_get(off, false));
    for (std::size_t i = 0; i < copy.size(); ++i) {
      store_be64(t + i * 8, copy[i]);
    }
    l2c_.slots[l2c_.find(off)].dirty = true;
  }
  l1_[l1i] = off | oflag_copied;
  l1_dirty_.push_back(static_cast<std::uint32_t>(l1i));
  if (old != 0) {
    free_later(old, cs_);
  }
  return off;
}

result<void> image::impl::set_l2_entry(std::uint64_t gc, std::uint64_t entry) {
  std::uint64_t l2off = VSNAPD_TRY(writable_l2(gc >> l2_bits_));
  std::lock_guard lock(cache_mu_);
  std::byte* t = VSNAPD_TRY(l2_get(l2off, true));
  store_be64(t + (gc & ((1ull << l2_bits_) - 1)) * 8, entry);
  l2c_.slots[l2c_.find(l2off)].dirty = true;
  return {};
}

// ===================================================================== durability

result<void> image::impl::write_header_field(std::size_t offset, std::span<const std::byte> b) {
  return write_file(offset, b);
}

result<void> image::impl::write_full_header() {
  auto bytes = VSNAPD_TRY(serialize_header(h_));
  // Never write past the first cluster: the header owns exactly cluster 0.
  return write_file(0, bytes);
}

result<void> image::impl::mark_dirty() {
  if (!writable_) {
    return fail(errc::read_only, "'" + name_ + "' is open read-only");
  }
  if (dirty_set_ || h_.version < 3) {
    return {};
  }
  std::byte v[8];
  store_be64(v, h_.incompatible_features | incompat_dirty);
  VSNAPD_TRY_VOID(write_header_field(off_incompatible, v));
  // Barrier D0: the dirty bit is durable before the first metadata change it announces.
  VSNAPD_TRY_VOID(f_->flush());
  h_.incompatible_features |= incompat_dirty;
  dirty_set_ = true;
  return {};
}

result<void> image::impl::flush_locked() {
  bool l2_dirty = false;
  {
    std::lock_guard lock(cache_mu_);
    for (auto& s : l2c_.slots) {
      l2_dirty = l2_dirty || (s.offset != 0 && s.dirty);
    }
    bool meta = l2_dirty || !l1_dirty_.empty() || !pending_free_.empty();
    if (meta) {
      VSNAPD_TRY_VOID(write_dirty_refblocks());
    }
    if (!meta) {
      bool rb_dirty = !rt_dirty_.empty();
      for (auto& s : rbc_.slots) {
        rb_dirty = rb_dirty || (s.offset != 0 && s.dirty);
      }
      if (rb_dirty) {
        VSNAPD_TRY_VOID(write_dirty_refblocks());
      }
      VSNAPD_TRY_VOID(f_->flush());
      return {};
    }
    // Barrier R1/D1: refcount increments and guest data are durable before any L2 or L1
    // entry that references them.
    VSNAPD_TRY_VOID(f_->flush());
    for (std::size_t i = 0; i < l2c_.slots.size(); ++i) {
      auto& s = l2c_.slots[i];
      if (s.offset != 0 && s.dirty) {
        VSNAPD_TRY_VOID(write_file(s.offset, {l2c_.data(i), cs_}));
        s.dirty = false;
      }
    }
  }
  if (!l1_dirty_.empty()) {
    // Barrier L1: a new L2 table's contents are durable before the L1 entry pointing to it.
    VSNAPD_TRY_VOID(f_->flush());
    std::sort(l1_dirty_.begin(), l1_dirty_.end());
    l1_dirty_.erase(std::unique(l1_dirty_.begin(), l1_dirty_.end()), l1_dirty_.end());
    std::byte e[8];
    for (std::uint32_t i : l1_dirty_) {
      store_be64(e, l1_[i]);
      VSNAPD_TRY_VOID(write_file(h_.l1_table_offset + std::uint64_t{i} * 8, e));
    }
    l1_dirty_.clear();
  }
  // Barrier R2: removed references are durable before their clusters' refcounts drop.
  VSNAPD_TRY_VOID(f_->flush());
  if (!pending_free_.empty()) {
    auto frees = std::move(pending_free_);
    pending_free_.clear();
    for (auto [off, len] : frees) {
      VSNAPD_TRY_VOID(free_range_now(off, len));
    }
    std::lock_guard lock(cache_mu_);
    VSNAPD_TRY_VOID(write_dirty_refblocks());
    // Not a correctness barrier (a lost decrement is a leak), but flush() promises a clean
    // on-disk state, so make the decrements durable too.
    VSNAPD_TRY_VOID(f_->flush());
  }
  return {};
}

// ===================================================================== reads

result<void> image::impl::read_backing(std::uint64_t offset, std::span<std::byte> buf) {
  if (backing_) {
    std::uint64_t bsize = backing_->virtual_size();
    std::uint64_t n = offset >= bsize ? 0 : std::min<std::uint64_t>(buf.size(), bsize - offset);
    if (n > 0) {
      VSNAPD_TRY_VOID(backing_->read(offset, buf.first(n)));
    }
    std::memset(buf.data() + n, 0, buf.size() - n);
    return {};
  }
  if (backing_raw_) {
    std::uint64_t n = offset >= backing_raw_size_
                          ? 0
                          : std::min<std::uint64_t>(buf.size(), backing_raw_size_ - offset);
    if (n > 0) {
      VSNAPD_TRY_VOID(backing_raw_->read_at(offset, buf.first(n)));
    }
    std::memset(buf.data() + n, 0, buf.size() - n);
    return {};
  }
  std::memset(buf.data(), 0, buf.size());
  return {};
}

result<void> image::impl::read_compressed(std::uint64_t entry, std::byte* out) {
  std::uint64_t off = 0;
  std::uint64_t len = 0;
  compressed_range(entry, off, len);
  unsigned x = 62 - (cb_ - 8);
  std::uint64_t host = entry & ((1ull << x) - 1);
  std::uint64_t skip = host - off;
  std::vector<std::byte> in(len);
  VSNAPD_TRY_VOID(f_->read_at(off, in));
  z_stream zs{};
  if (inflateInit2(&zs, -12) != Z_OK) {
    return fail(errc::io_error, "zlib inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(in.data() + skip);
  zs.avail_in = static_cast<uInt>(len - skip);
  zs.next_out = reinterpret_cast<Bytef*>(out);
  zs.avail_out = static_cast<uInt>(cs_);
  int rc = inflate(&zs, Z_FINISH);
  bool ok = (rc == Z_STREAM_END || rc == Z_BUF_ERROR) && zs.avail_out == 0;
  inflateEnd(&zs);
  if (!ok) {
    return corrupt("compressed cluster at " + hex(host) + " does not inflate to a full cluster");
  }
  return {};
}

result<void> image::impl::read_cluster_old(std::uint64_t gc, std::uint64_t entry, std::byte* out) {
  if (is_compressed(entry)) {
    return read_compressed(entry, out);
  }
  if (is_zero(entry)) {
    std::memset(out, 0, cs_);
    return {};
  }
  if (entry & l2_offset_mask) {
    return f_->read_at(entry & l2_offset_mask, {out, cs_});
  }
  return read_backing(gc << cb_, {out, cs_});
}

// Guest read through `l1` (the active table when null). Runs under a shared lock: it only
// reads tables (through the cache, which has its own mutex) and data clusters.
result<void> image::impl::read_shared(std::uint64_t offset, std::span<std::byte> buf,
                                      const std::vector<std::uint64_t>* l1, bool use_backing) {
  const auto& table = l1 != nullptr ? *l1 : l1_;
  std::uint64_t pos = 0;
  aligned_buf tmp;
  while (pos < buf.size()) {
    std::uint64_t g = offset + pos;
    std::uint64_t gc = g >> cb_;
    std::uint64_t in = g & (cs_ - 1);
    std::uint64_t n = std::min<std::uint64_t>(cs_ - in, buf.size() - pos);
    std::uint64_t e = VSNAPD_TRY(l2_entry_in(table, gc));
    std::byte* dst = buf.data() + pos;
    if (is_compressed(e)) {
      if (!tmp) {
        tmp = make_buf(cs_);
      }
      VSNAPD_TRY_VOID(read_compressed(e, tmp.get()));
      std::memcpy(dst, tmp.get() + in, n);
    } else if (is_zero(e)) {
      std::memset(dst, 0, n);
    } else if (e & l2_offset_mask) {
      // Extend over host-contiguous clusters so a large read is one pread.
      std::uint64_t host = (e & l2_offset_mask) + in;
      while (pos + n < buf.size()) {
        std::uint64_t e2 = VSNAPD_TRY(l2_entry_in(table, ((offset + pos + n) >> cb_)));
        if (!is_normal(e2) || is_zero(e2) || (e2 & l2_offset_mask) != host + n) {
          break;
        }
        n += std::min<std::uint64_t>(cs_, buf.size() - pos - n);
      }
      VSNAPD_TRY_VOID(f_->read_at(host, {dst, n}));
    } else if (use_backing) {
      while (pos + n < buf.size()) {
        std::uint64_t e2 = VSNAPD_TRY(l2_entry_in(table, ((offset + pos + n) >> cb_)));
        if (e2 != 0) {
          break;
        }
        n += std::min<std::uint64_t>(cs_, buf.size() - pos - n);
      }
      VSNAPD_TRY_VOID(read_backing(g, {dst, n}));
    } else {
      std::memset(dst, 0, n);
    }
    pos += n;
  }
  return {};
}

// ===================================================================== writes

result<void> image::impl::write_locked(std::uint64_t offset, std::span<const std::byte> buf) {
  VSNAPD_TRY_VOID(mark_dirty());
  std::uint64_t pos = 0;
  aligned_buf cluster;
  while (pos < buf.size()) {
    std::uint64_t g = offset + pos;
    std::uint64_t gc = g >> cb_;
    std::uint64_t in = g & (cs_ - 1);
    std::uint64_t n = std::min<std::uint64_t>(cs_ - in, buf.size() - pos);
    std::uint64_t l1i = gc >> l2_bits_;
    if (l1i >= l1_.size()) {
      return fail(errc::invalid_argument, "'" + name_ + "': write beyond the L1 table");
    }
    std::uint64_t e = VSNAPD_TRY(l2_entry(gc));
    bool l2_owned = (l1_[l1i] & oflag_copied) != 0;
    if (l2_owned && is_normal(e) && !is_zero(e) && (e & oflag_copied)) {
      VSNAPD_TRY_VOID(write_file((e & l2_offset_mask) + in, buf.subspan(pos, n)));
      pos += n;
      continue;
    }
    // Copy-on-write: build the whole new cluster, write it to a fresh place, then point the
    // L2 entry at it (the entry reaches the disk only after the data, barrier D1).
    std::uint64_t host = 0;
    bool reuse = l2_owned && is_zero(e) && (e & l2_offset_mask) && (e & oflag_copied);
    if (reuse) {
      host = e & l2_offset_mask;  // a preallocated zero cluster we own: fill it in place
    } else {
      host = VSNAPD_TRY(alloc_clusters(1));
    }
    // A fresh cluster past everything ever written reads as zero already: when the guest saw
    // zeros there before, only the new bytes need writing.
    bool was_zero =
        (e == 0 && h_.backing_file.empty()) || (is_zero(e) && (e & l2_offset_mask) == 0) || reuse;
    bool fresh = host >= written_end_.load(std::memory_order_relaxed) && !reuse;
    if (n == cs_ || (was_zero && fresh)) {
      VSNAPD_TRY_VOID(write_file(host + in, buf.subspan(pos, n)));
    } else {
      if (!cluster) {
        cluster = make_buf(cs_);
      }
      if (reuse) {
        std::memset(cluster.get(), 0, cs_);
      } else {
        VSNAPD_TRY_VOID(read_cluster_old(gc, e, cluster.get()));
      }
      std::memcpy(cluster.get() + in, buf.data() + pos, n);
      VSNAPD_TRY_VOID(write_file(host, {cluster.get(), cs_}));
    }
    VSNAPD_TRY_VOID(set_l2_entry(gc, host | oflag_copied));
    if (!reuse) {
      free_entry_later(e);
    }
    pos += n;
  }
  return {};
}

result<void> image::impl::zero_or_discard_locked(std::uint64_t offset, std::uint64_t length,
                                                 bool discard) {
  VSNAPD_TRY_VOID(mark_dirty());
  std::uint64_t end = offset + length;
  std::uint64_t first_full = (offset + cs_ - 1) & ~(cs_ - 1);
  std::uint64_t last_full = end & ~(cs_ - 1);
  bool has_backing = !h_.backing_file.empty();
  if (!discard && first_full > offset) {
    std::uint64_t n = std::min(first_full, end) - offset;
    std::vector<std::byte> z(n);
    VSNAPD_TRY_VOID(write_locked(offset, z));
  }
  if (!discard && last_full >= first_full && last_full < end && last_full >= offset) {
    std::uint64_t n = end - last_full;
    std::vector<std::byte> z(n);
    VSNAPD_TRY_VOID(write_locked(last_full, z));
  }
  if (last_full <= first_full) {
    return {};
  }
  std::vector<std::byte> zeros;
  for (std::uint64_t g = first_full; g < last_full; g += cs_) {
    std::uint64_t gc = g >> cb_;
    std::uint64_t e = VSNAPD_TRY(l2_entry(gc));
    std::uint64_t ne = 0;
    if (h_.version >= 3) {
      // With a backing file "nothing here" would show the backing's data, so mark zero.
      ne = (has_backing || (!discard && e != 0)) ? oflag_zero : 0;
      if (!discard && !has_backing && e == 0) {
        continue;  // unallocated without backing already reads as zero
      }
    } else if (has_backing) {
      if (discard) {
        continue;  // v2 cannot express zero over a backing file; discard is advisory
      }
      if (zeros.empty()) {
        zeros.resize(cs_);
      }
      VSNAPD_TRY_VOID(write_locked(g, zeros));
      continue;
    }
    if (e == ne) {
      continue;
    }
    VSNAPD_TRY_VOID(set_l2_entry(gc, ne));
    free_entry_later(e);
  }
  return {};
}

result<void> image::impl::preallocate_locked() {
  VSNAPD_TRY_VOID(mark_dirty());
  std::uint64_t n = guest_clusters();
  std::uint64_t per = 1ull << l2_bits_;
  for (std::uint64_t gc = 0; gc < n; gc += per) {
    std::uint64_t cnt = std::min(per, n - gc);
    VSNAPD_TRY_VOID(writable_l2(gc >> l2_bits_));
    // Chunks below half a refcount block's span always fit between two blocks.
    std::uint64_t chunk = std::max<std::uint64_t>(1, std::min(cnt, (rpb_ - 1) / 2));
    for (std::uint64_t i = 0; i < cnt; i += chunk) {
      std::uint64_t k = std::min(chunk, cnt - i);
      std::uint64_t host = VSNAPD_TRY(alloc_clusters(k));
      for (std::uint64_t j = 0; j < k; ++j) {
        VSNAPD_TRY_VOID(set_l2_entry(gc + i + j, ((host + (j << cb_)) | oflag_copied)));
      }
      // The clusters read as zero from the sparse file; extend it so they exist.
      std::uint64_t fsz = VSNAPD_TRY(f_->size());
      if (fsz < host + (k << cb_)) {
        VSNAPD_TRY_VOID(f_->resize(host + (k << cb_)));
      }
    }
  }
  return flush_locked();
}

result<void> image::impl::grow_l1(std::uint64_t entries) {
  if (entries <= l1_.size()) {
    return {};
  }
  if (entries * 8 > max_l1_bytes) {
    return fail(errc::invalid_argument, "'" + name_ + "': L1 table would exceed 32 MiB");
  }
  VSNAPD_TRY_VOID(flush_locked());
  std::uint64_t clusters = (entries * 8 + cs_ - 1) >> cb_;
  std::uint64_t off = VSNAPD_TRY(alloc_clusters(clusters));
  std::vector<std::byte> t(clusters << cb_);
  for (std::size_t i = 0; i < l1_.size(); ++i) {
    store_be64(t.data() + i * 8, l1_[i]);
  }
  {
    std::lock_guard cl(cache_mu_);
    VSNAPD_TRY_VOID(write_dirty_refblocks());
  }
  VSNAPD_TRY_VOID(write_file(off, t));
  // Barrier L1: the new L1 and its refcount are durable before the header switches to it.
  VSNAPD_TRY_VOID(f_->flush());
  std::byte hdr[12];
  store_be32(hdr, static_cast<std::uint32_t>(entries));
  store_be64(hdr + 4, off);
  VSNAPD_TRY_VOID(write_header_field(off_l1_size, hdr));
  // Barrier L1: the header points to the new table before the old one is released.
  VSNAPD_TRY_VOID(f_->flush());
  free_later(h_.l1_table_offset, std::uint64_t{h_.l1_size} * 8);
  l1_.resize(entries, 0);
  h_.l1_size = static_cast<std::uint32_t>(entries);
  h_.l1_table_offset = off;
  return flush_locked();
}

// ===================================================================== open / create

file_opener posix_opener(bool direct) {
  return [direct](const std::string& path, bool writable) -> result<std::unique_ptr<file>> {
    posix_open_options o;
    o.writable = writable;
    o.direct = direct;
    return open_posix_file(path, o);
  };
}

result<void> image::create(const std::string& path, const create_options& opts,
                           const file_opener& opener) {
  std::unique_ptr<file> f;
  if (opener) {
    f = VSNAPD_TRY(opener(path, true));
    VSNAPD_TRY_VOID(f->resize(0));
  } else {
    posix_open_options o;
    o.create = true;
    f = VSNAPD_TRY(open_posix_file(path, o));
  }
  VSNAPD_TRY_VOID(create(*f, opts));
  if (opts.prealloc == preallocation::metadata) {
    open_options oo;
    oo.writable = true;
    oo.open_backing = false;
    auto img = VSNAPD_TRY(open(std::move(f), path, oo));
    {
      std::unique_lock lock(img->impl_->meta_mu_);
      VSNAPD_TRY_VOID(img->impl_->preallocate_locked());
    }
    return img->close();
  }
  return {};
}

result<void> image::create(file& f, const create_options& o) {
  std::uint32_t cs = o.cluster_size;
  if (cs < 4096 || cs > (2u << 20) || (cs & (cs - 1)) != 0) {
    return fail(errc::invalid_argument, "cluster size " + std::to_string(cs) +
                                            " is not a power of two from 4 KiB to 2 MiB");
  }
  if (o.virtual_size > max_virtual_size) {
    return fail(errc::invalid_argument, "virtual size is too large");
  }
  if (o.backing_file.empty() && !o.backing_format.empty()) {
    return fail(errc::invalid_argument, "a backing format without a backing file");
  }
  if (!o.backing_format.empty() && o.backing_format != "qcow2" && o.backing_format != "raw") {
    return fail(errc::unsupported_feature, "backing format '" + o.backing_format + "'");
  }
  header h;
  h.version = o.compat_v2 ? 2 : 3;
  h.cluster_bits = static_cast<std::uint32_t>(__builtin_ctz(cs));
  h.size = (o.virtual_size + 511) & ~511ull;
  h.backing_file = o.backing_file;
  h.backing_format = o.backing_format;
  std::uint64_t span = std::uint64_t{cs} * (cs / 8);
  std::uint64_t l1_entries = std::max<std::uint64_t>(1, (h.size + span - 1) / span);
  if (l1_entries * 8 > max_l1_bytes) {
    return fail(errc::invalid_argument, "virtual size " + std::to_string(o.virtual_size) +
                                            " needs an L1 table over 32 MiB; use larger "
                                            "clusters");
  }
  std::uint64_t l1_clusters = (l1_entries * 8 + cs - 1) / cs;
  std::uint32_t rbits = o.refcount_bits;
  if (rbits == 0 || rbits > 64 || (rbits & (rbits - 1)) != 0 || (o.compat_v2 && rbits != 16)) {
    return fail(errc::invalid_argument, "refcount_bits " + std::to_string(rbits) +
                                            " is not a power of two up to 64 (16 for v2)");
  }
  h.refcount_order = static_cast<std::uint32_t>(__builtin_ctz(rbits));
  std::uint64_t rpb = std::uint64_t{cs} * 8 / rbits;
  // Layout: header, refcount table, refcount blocks, L1 table.
  std::uint64_t rt_clusters = 1;
  std::uint64_t rb = 1;
  for (;;) {
    std::uint64_t total = 1 + rt_clusters + rb + l1_clusters;
    std::uint64_t need_rb = (total + rpb - 1) / rpb;
    std::uint64_t need_rt = (need_rb * 8 + cs - 1) / cs;
    if (need_rb == rb && need_rt == rt_clusters) {
      break;
    }
    rb = need_rb;
    rt_clusters = need_rt;
  }
  std::uint64_t total = 1 + rt_clusters + rb + l1_clusters;
  h.refcount_table_offset = std::uint64_t{cs};
  h.refcount_table_clusters = static_cast<std::uint32_t>(rt_clusters);
  h.l1_table_offset = (1 + rt_clusters + rb) * cs;
  h.l1_size = static_cast<std::uint32_t>(l1_entries);
  if (h.version >= 3) {
    // Name our only optional feature bits for tools that print them (qemu-img info).
    header_extension ft;
    auto add = [&](std::uint8_t type, std::uint8_t bit, const char* name) {
      std::byte row[48]{};
      row[0] = static_cast<std::byte>(type);
      row[1] = static_cast<std::byte>(bit);
      std::memcpy(row + 2, name, std::strlen(name));
      ft.data.insert(ft.data.end(), row, row + 48);
    };
    ft.type = ext_feature_table;
    add(0, 0, "dirty bit");
    add(0, 1, "corrupt bit");
    add(1, 0, "lazy refcounts");
    h.other_extensions.push_back(std::move(ft));
  }
  auto hdr = VSNAPD_TRY(serialize_header(h));
  VSNAPD_TRY_VOID(f.resize(0));
  std::vector<std::byte> meta((total - 1) * cs);
  for (std::uint64_t i = 0; i < rb; ++i) {
    store_be64(meta.data() + i * 8, (1 + rt_clusters + i) * cs);
  }
  for (std::uint64_t c = 0; c < total; ++c) {
    std::byte* block = meta.data() + (rt_clusters + c / rpb) * cs;
    rc_store(block, c % rpb, rbits, 1);
  }
  VSNAPD_TRY_VOID(f.write_at(cs, meta));
  // Barrier C1: all tables exist before the header that makes the file a qcow2 image.
  VSNAPD_TRY_VOID(f.flush());
  VSNAPD_TRY_VOID(f.write_at(0, hdr));
  return f.flush();
}

namespace {

std::string resolve_backing(const std::string& image_name, const std::string& backing) {
  if (backing.empty() || backing[0] == '/') {
    return backing;
  }
  auto slash = image_name.rfind('/');
  if (slash == std::string::npos) {
    return backing;
  }
  return image_name.substr(0, slash + 1) + backing;
}

std::string identity(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) {
    return buf;
  }
  return std::filesystem::path(path).lexically_normal().string();
}

result<std::unique_ptr<image>> open_chain(std::unique_ptr<file> f, const std::string& name,
                                          const open_options& opts,
                                          std::vector<std::string>& ancestors);

}  // namespace

image::image(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

result<std::unique_ptr<image>> image::open(const std::string& path, const open_options& opts) {
  file_opener opener = opts.opener ? opts.opener : posix_opener(false);
  auto f = VSNAPD_TRY(opener(path, opts.writable));
  std::vector<std::string> ancestors{identity(path)};
  return open_chain(std::move(f), path, opts, ancestors);
}

result<std::unique_ptr<image>> image::open(std::unique_ptr<file> f, const std::string& name,
                                           const open_options& opts) {
  std::vector<std::string> ancestors{identity(name)};
  return open_chain(std::move(f), name, opts, ancestors);
}

namespace {

result<void> open_backing_of(image::impl& m, std::vector<std::string>& ancestors) {
  m.backing_.reset();
  m.backing_raw_.reset();
  if (m.h_.backing_file.empty() || !m.opts_.open_backing) {
    return {};
  }
  std::string path = resolve_backing(m.name_, m.h_.backing_file);
  if (path.rfind("json:", 0) == 0 || path.find("://") != std::string::npos) {
    return fail(errc::unsupported_feature,
                "'" + m.name_ + "': backing file '" + path + "' is not a plain file");
  }
  std::string id = identity(path);
  if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end()) {
    return fail(errc::backing_chain_loop,
                "'" + m.name_ + "': backing file '" + path + "' is already in the chain");
  }
  if (ancestors.size() >= m.opts_.max_chain_depth) {
    return fail(errc::backing_chain_loop, "'" + m.name_ + "': backing chain deeper than " +
                                              std::to_string(m.opts_.max_chain_depth));
  }
  file_opener opener = m.opts_.opener ? m.opts_.opener : posix_opener(false);
  auto fr = opener(path, m.opts_.backing_writable);
  if (!fr) {
    if (fr.error() == make_error_code(errc::not_found)) {
      return fail(errc::not_found,
                  "backing file '" + path + "' of '" + m.name_ + "' does not exist");
    }
    return fr.error();
  }
  std::unique_ptr<file> bf = std::move(*fr);
  const std::string& fmt = m.h_.backing_format;
  bool qcow = fmt == "qcow2";
  if (fmt.empty()) {
    std::byte mg[4];
    VSNAPD_TRY_VOID(bf->read_at(0, mg));
    qcow = load_be32(mg) == magic;
  } else if (fmt != "raw" && fmt != "qcow2") {
    return fail(errc::unsupported_feature,
                "'" + m.name_ + "': backing format '" + fmt + "' is not supported");
  }
  if (qcow) {
    open_options bo = m.opts_;
    bo.writable = m.opts_.backing_writable;
    ancestors.push_back(id);
    auto b = open_chain(std::move(bf), path, bo, ancestors);
    ancestors.pop_back();
    if (!b) {
      return b.error();
    }
    m.backing_ = std::move(*b);
  } else {
    m.backing_raw_size_ = VSNAPD_TRY(bf->size());
    m.backing_raw_ = std::move(bf);
  }
  return {};
}

result<void> check_ranges(image::impl& m, std::uint64_t file_size) {
  struct range {
    std::uint64_t off, len;
    const char* what;
  };
  std::vector<range> rs;
  rs.push_back({0, m.cs_, "header"});
  rs.push_back({m.h_.l1_table_offset, std::uint64_t{m.h_.l1_size} * 8, "active L1 table"});
  rs.push_back({m.h_.refcount_table_offset, std::uint64_t{m.h_.refcount_table_clusters} << m.cb_,
                "refcount table"});
  for (const auto& r : rs) {
    if (r.len == 0) {
      continue;
    }
    if (r.off + r.len > file_size + m.cs_ || r.off + r.len < r.off) {
      return m.corrupt(std::string(r.what) + " at " + hex(r.off) +
                       " lies beyond the end of the file");
    }
  }
  for (std::size_t i = 0; i < rs.size(); ++i) {
    for (std::size_t j = i + 1; j < rs.size(); ++j) {
      if (rs[i].len == 0 || rs[j].len == 0) {
        continue;
      }
      if (rs[i].off < rs[j].off + rs[j].len && rs[j].off < rs[i].off + rs[i].len) {
        return m.corrupt(std::string(rs[i].what) + " overlaps the " + rs[j].what);
      }
    }
  }
  return {};
}

result<std::unique_ptr<image>> open_chain(std::unique_ptr<file> f, const std::string& name,
                                          const open_options& opts,
                                          std::vector<std::string>& ancestors) {
  auto m = std::make_unique<image::impl>();
  m->name_ = name;
  m->opts_ = opts;
  m->writable_ = opts.writable;
  std::uint64_t fsize = VSNAPD_TRY(f->size());
  std::vector<std::byte> first(std::min<std::uint64_t>(fsize, 2u << 20));
  VSNAPD_TRY_VOID(f->read_at(0, first));
  m->f_ = std::move(f);
  m->h_ = VSNAPD_TRY(parse_header(first, name));
  auto& h = m->h_;
  auto unsupported = [&](const std::string& what) {
    return fail(errc::unsupported_feature, "'" + name + "': " + what + " is not supported");
  };
  if (h.crypt_method != 0 || h.has_crypto_ext) {
    return unsupported("encryption (crypt_method " + std::to_string(h.crypt_method) + ")");
  }
  if ((h.incompatible_features & incompat_data_file) || h.has_data_file_ext) {
    return unsupported("an external data file");
  }
  if (h.incompatible_features & incompat_extl2) {
    return unsupported("extended L2 entries (subclusters)");
  }
  if (h.compression_type != 0) {
    return unsupported(h.compression_type == 1
                           ? std::string("zstd compression")
                           : "compression type " + std::to_string(h.compression_type));
  }
  std::uint64_t unknown = h.incompatible_features & ~(incompat_known | incompat_compression);
  if (unknown != 0) {
    return unsupported("incompatible feature bits " + hex(unknown));
  }
  if ((h.incompatible_features & incompat_corrupt) && opts.writable) {
    return fail(errc::corrupt_image, "'" + name +
                                         "' is marked corrupt; repair it with "
                                         "'qemu-img check -r all' (read-only open is allowed)");
  }
  m->cb_ = h.cluster_bits;
  m->cs_ = 1ull << h.cluster_bits;
  m->l2_bits_ = h.cluster_bits - 3;
  m->rc_bits_ = 1u << h.refcount_order;
  m->rpb_ = (m->cs_ * 8) / m->rc_bits_;
  // Round up: the last data cluster may be written only in part (see write_locked).
  m->host_end_ = std::max<std::uint64_t>((fsize + m->cs_ - 1) & ~(m->cs_ - 1), m->cs_);
  m->written_end_ = fsize;
  m->alloc_hint_ = 1;
  if (m->cb_ < 12) {
    // 512 B..2 KiB clusters are legal but we keep tables cluster-sized and aligned for
    // O_DIRECT; QEMU images never use them by default.
    return unsupported("cluster size " + std::to_string(m->cs_) + " (below 4 KiB)");
  }
  VSNAPD_TRY_VOID(check_ranges(*m, fsize));
  // L1.
  m->l1_ = VSNAPD_TRY(m->load_l1(h.l1_table_offset, h.l1_size));
  // Refcount table.
  {
    std::uint64_t n = (std::uint64_t{h.refcount_table_clusters} << m->cb_) / 8;
    std::vector<std::byte> raw(n * 8);
    VSNAPD_TRY_VOID(m->f_->read_at(h.refcount_table_offset, raw));
    m->rt_.resize(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t e = load_be64(raw.data() + i * 8);
      std::uint64_t off = e & refcount_table_offset_mask;
      if ((off & (m->cs_ - 1)) != 0 || (off != 0 && off + m->cs_ > fsize + m->cs_)) {
        return m->corrupt("refcount block " + std::to_string(i) + " at " + hex(off) +
                          " is unaligned or beyond the end of the file");
      }
      if (off == 0 && e != 0) {
        return m->corrupt("refcount table entry " + std::to_string(i) + " has reserved bits");
      }
      m->rt_[i] = off;
    }
  }
  m->l2c_.init(m->cs_, std::max<std::uint64_t>(opts.l2_cache_bytes / m->cs_, 4));
  m->rbc_.init(m->cs_, std::max<std::uint64_t>(opts.refcount_cache_bytes / m->cs_, 4));
  VSNAPD_TRY_VOID(m->load_snapshots());
  VSNAPD_TRY_VOID(open_backing_of(*m, ancestors));
  auto img = image::impl::wrap(std::move(m));
  auto& mm = image::impl::of(*img);
  if (opts.writable) {
    bool was_dirty = (h.incompatible_features & incompat_dirty) != 0;
    if (h.autoclear_features != 0) {
      // We do not maintain bitmaps or other autoclear features: clearing the bits tells
      // QEMU their data is stale, which the spec requires of writers that do not know them.
      std::byte z[8]{};
      VSNAPD_TRY_VOID(mm.write_header_field(88, z));
      VSNAPD_TRY_VOID(mm.f_->flush());
      h.autoclear_features = 0;
    }
    if (was_dirty) {
      mm.dirty_set_ = true;
      if (opts.repair_dirty) {
        std::unique_lock lock(mm.meta_mu_);
        auto rep = VSNAPD_TRY(mm.check_locked(check_mode::repair_all));
        if (rep.corruptions != 0) {
          return fail(errc::corrupt_image, "'" + name + "' was not closed cleanly and " +
                                               std::to_string(rep.corruptions) +
                                               " corruptions could not be repaired");
        }
      }
    }
  }
  return img;
}

}  // namespace

result<std::vector<std::uint64_t>> image::impl::load_l1(std::uint64_t offset, std::uint32_t size) {
  if (std::uint64_t{size} * 8 > max_l1_bytes || (offset & (cs_ - 1)) != 0 ||
      (size != 0 && offset == 0)) {
    return corrupt("L1 table at " + hex(offset) + " with " + std::to_string(size) +
                   " entries is invalid");
  }
  std::vector<std::byte> raw(std::uint64_t{size} * 8);
  VSNAPD_TRY_VOID(f_->read_at(offset, raw));
  std::vector<std::uint64_t> l1(size);
  for (std::uint32_t i = 0; i < size; ++i) {
    std::uint64_t e = load_be64(raw.data() + std::uint64_t{i} * 8);
    std::uint64_t off = e & l1_offset_mask;
    if ((off & (cs_ - 1)) != 0 || (off != 0 && off + cs_ > host_end_) ||
        (off == 0 && (e & oflag_copied))) {
      return corrupt("L1 entry " + std::to_string(i) + " (" + hex(e) + ") of table at " +
                     hex(offset) + " points outside the file or is not cluster aligned");
    }
    l1[i] = e;
  }
  return l1;
}

// ===================================================================== public API

image::~image() {
  auto r = close();
  if (!r) {
    log::write(log::level::error, "storage.cow",
               "closing '" + impl_->name_ + "' failed: " + last_error_detail());
  }
}

result<void> image::close() {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  if (m.closed_) {
    return {};
  }
  m.closed_ = true;
  // A poisoned image (writable at open, read-only after an error) leaves the disk as it is:
  // its dirty bit makes the next writable open repair it.
  if (m.writable_) {
    VSNAPD_TRY_VOID(m.flush_locked());
    if (m.dirty_set_) {
      std::byte v[8];
      store_be64(v, m.h_.incompatible_features & ~incompat_dirty);
      VSNAPD_TRY_VOID(m.write_header_field(off_incompatible, v));
      // Barrier D2: the clean mark is written only after all metadata is durable (above).
      VSNAPD_TRY_VOID(m.f_->flush());
      m.h_.incompatible_features &= ~incompat_dirty;
      m.dirty_set_ = false;
    }
  }
  if (m.backing_) {
    VSNAPD_TRY_VOID(m.backing_->close());
  }
  return {};
}

std::uint64_t image::virtual_size() const {
  std::shared_lock lock(impl_->meta_mu_);
  return impl_->h_.size;
}
std::uint32_t image::cluster_size() const {
  return static_cast<std::uint32_t>(impl_->cs_);
}
std::uint32_t image::version() const {
  return impl_->h_.version;
}
const std::string& image::name() const {
  return impl_->name_;
}
const std::string& image::backing_file() const {
  return impl_->h_.backing_file;
}
const std::string& image::backing_format() const {
  return impl_->h_.backing_format;
}
image* image::backing() const {
  return impl_->backing_.get();
}
bool image::writable() const {
  return impl_->writable_ && !impl_->closed_;
}

namespace {
error_code range_error(const image::impl& m, std::uint64_t offset, std::uint64_t len) {
  return fail(errc::invalid_argument, "'" + m.name_ + "': range " + std::to_string(offset) + "+" +
                                          std::to_string(len) + " is beyond the " +
                                          std::to_string(m.h_.size) + "-byte disk");
}
}  // namespace

result<void> image::read(std::uint64_t offset, std::span<std::byte> buf) {
  auto& m = *impl_;
  std::shared_lock lock(m.meta_mu_);
  if (offset > m.h_.size || buf.size() > m.h_.size - offset) {
    return range_error(m, offset, buf.size());
  }
  return m.read_shared(offset, buf, nullptr, true);
}

result<void> image::write(std::uint64_t offset, std::span<const std::byte> buf) {
  auto& m = *impl_;
  if (!m.writable_ || m.closed_) {
    return fail(errc::read_only, "'" + m.name_ + "' is open read-only");
  }
  {
    // Fast path: every cluster already belongs to the active layer alone, so the write goes
    // straight to the data clusters in parallel with other readers and writers.
    std::shared_lock lock(m.meta_mu_);
    if (offset > m.h_.size || buf.size() > m.h_.size - offset) {
      return range_error(m, offset, buf.size());
    }
    std::size_t al = m.f_->alignment();
    bool aligned = al == 1 || (offset % al == 0 && buf.size() % al == 0);
    bool fast = aligned;
    std::uint64_t first = offset >> m.cb_;
    std::uint64_t last = buf.empty() ? first : (offset + buf.size() - 1) >> m.cb_;
    std::uint64_t host0 = 0;
    bool contiguous = true;
    for (std::uint64_t gc = first; fast && gc <= last; ++gc) {
      std::uint64_t l1i = gc >> m.l2_bits_;
      if (l1i >= m.l1_.size() || !(m.l1_[l1i] & oflag_copied)) {
        fast = false;
        break;
      }
      std::uint64_t e = VSNAPD_TRY(m.l2_entry(gc));
      if (!is_normal(e) || is_zero(e) || !(e & oflag_copied)) {
        fast = false;
        break;
      }
      if (gc == first) {
        host0 = e & l2_offset_mask;
      } else if ((e & l2_offset_mask) != host0 + ((gc - first) << m.cb_)) {
        contiguous = false;
      }
    }
    if (buf.empty()) {
      return {};
    }
    if (fast && contiguous) {
      return m.write_file(host0 + (offset & (m.cs_ - 1)), buf);
    }
  }
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.write_locked(offset, buf));
}

result<void> image::write_zeroes(std::uint64_t offset, std::uint64_t length) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  if (offset > m.h_.size || length > m.h_.size - offset) {
    return range_error(m, offset, length);
  }
  return poison_on_error(m, m.zero_or_discard_locked(offset, length, false));
}

result<void> image::discard(std::uint64_t offset, std::uint64_t length) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  if (offset > m.h_.size || length > m.h_.size - offset) {
    return range_error(m, offset, length);
  }
  return poison_on_error(m, m.zero_or_discard_locked(offset, length, true));
}

result<void> image::flush() {
  auto& m = *impl_;
  if (m.poisoned_) {
    // Never report durability we cannot give: the tables in memory are not on disk.
    return fail(errc::io_error, "'" + m.name_ +
                                    "': an earlier metadata update failed; the "
                                    "image is read-only until it is reopened");
  }
  if (!m.writable_) {
    return {};
  }
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.flush_locked());
}

result<block_extent> image::block_status(std::uint64_t offset, std::uint64_t max_length,
                                         bool follow_backing) {
  auto& m = *impl_;
  std::shared_lock lock(m.meta_mu_);
  if (offset >= m.h_.size) {
    return range_error(m, offset, max_length);
  }
  std::uint64_t end = offset + std::min(max_length, m.h_.size - offset);
  block_extent x;
  x.offset = offset;
  std::uint64_t pos = offset;
  bool first = true;
  std::uint64_t want_host = 0;
  while (pos < end) {
    std::uint64_t gc = pos >> m.cb_;
    std::uint64_t l1i = gc >> m.l2_bits_;
    std::uint64_t step_end = std::min(end, (gc + 1) << m.cb_);
    block_state st;
    std::uint64_t host = 0;
    bool comp = false;
    if (l1i >= m.l1_.size() || (m.l1_[l1i] & l1_offset_mask) == 0) {
      // No L2 table: the whole table's span is unallocated, skip it at once.
      st = block_state::unallocated;
      step_end = std::min(end, (l1i + 1) << (m.l2_bits_ + m.cb_));
    } else {
      std::uint64_t e = VSNAPD_TRY(m.l2_entry(gc));
      if (is_compressed(e)) {
        st = block_state::data;
        comp = true;
      } else if (is_zero(e)) {
        st = block_state::zero;
      } else if (e & l2_offset_mask) {
        st = block_state::data;
        host = (e & l2_offset_mask) + (pos & (m.cs_ - 1));
      } else {
        st = block_state::unallocated;
      }
    }
    if (first) {
      x.state = st;
      x.compressed = comp;
      x.host_offset = host;
      want_host = host;
      first = false;
    } else if (st != x.state || comp || x.compressed ||
               (st == block_state::data && host != want_host)) {
      break;
    }
    want_host += step_end - pos;
    pos = step_end;
  }
  x.length = pos - offset;
  if (x.state == block_state::unallocated && follow_backing) {
    if (m.backing_) {
      std::uint64_t bsize = m.backing_->virtual_size();
      if (offset >= bsize) {
        x.state = block_state::zero;
        x.depth = 1;
      } else {
        auto b =
            VSNAPD_TRY(m.backing_->block_status(offset, std::min(x.length, bsize - offset), true));
        b.depth += 1;
        return b;
      }
    } else if (m.backing_raw_) {
      x.depth = 1;
      if (offset >= m.backing_raw_size_) {
        x.state = block_state::zero;
      } else {
        x.state = block_state::data;
        x.host_offset = offset;
        x.length = std::min(x.length, m.backing_raw_size_ - offset);
      }
    }
  }
  return x;
}

result<void> image::resize(std::uint64_t new_size) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.resize_locked(new_size));
}

result<void> image::impl::resize_locked(std::uint64_t new_size) {
  auto& m = *this;
  new_size = (new_size + 511) & ~511ull;
  if (new_size < m.h_.size) {
    return fail(errc::invalid_argument, "'" + m.name_ + "': shrinking is not supported");
  }
  if (new_size > max_virtual_size) {
    return fail(errc::invalid_argument, "'" + m.name_ + "': new size is too large");
  }
  VSNAPD_TRY_VOID(m.mark_dirty());
  std::uint64_t old_need = m.l1_entries_for(m.h_.size);
  std::uint64_t need = std::max<std::uint64_t>(1, m.l1_entries_for(new_size));
  if (need * 8 > max_l1_bytes) {
    return fail(errc::invalid_argument, "'" + m.name_ + "': new size needs too large an L1");
  }
  // L1 entries past the old disk may hold a VM-state residue; the grown disk must read zero.
  for (std::uint64_t i = old_need; i < std::min<std::uint64_t>(need, m.l1_.size()); ++i) {
    if (m.l1_[i] & l1_offset_mask) {
      std::uint64_t span = 1ull << (m.cb_ + m.l2_bits_);
      VSNAPD_TRY_VOID(m.zero_or_discard_locked(i * span, span, true));
    }
  }
  if (need > m.l1_.size()) {
    VSNAPD_TRY_VOID(m.grow_l1(need));
  }
  VSNAPD_TRY_VOID(m.flush_locked());
  std::byte hdr[8];
  store_be64(hdr, new_size);
  VSNAPD_TRY_VOID(m.write_header_field(off_size, hdr));
  // Barrier S: the new size is durable before the caller writes past the old end.
  VSNAPD_TRY_VOID(m.f_->flush());
  m.h_.size = new_size;
  return {};
}

result<void> image::set_backing(const std::string& backing_file,
                                const std::string& backing_format) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.set_backing_locked(backing_file, backing_format));
}

result<void> image::impl::set_backing_locked(const std::string& backing_file,
                                             const std::string& backing_format) {
  auto& m = *this;
  VSNAPD_TRY_VOID(m.mark_dirty());
  if (backing_file.empty() && !backing_format.empty()) {
    return fail(errc::invalid_argument, "a backing format without a backing file");
  }
  VSNAPD_TRY_VOID(m.flush_locked());
  header h = m.h_;
  h.backing_file = backing_file;
  h.backing_format = backing_format;
  h.backing_file_offset = 0;
  h.backing_file_size = 0;
  auto bytes = VSNAPD_TRY(serialize_header(h));
  VSNAPD_TRY_VOID(m.write_file(0, bytes));
  // Barrier H: the new backing name is durable before anything is written that relies on it.
  VSNAPD_TRY_VOID(m.f_->flush());
  m.h_ = h;
  std::vector<std::string> ancestors{identity(m.name_)};
  return open_backing_of(m, ancestors);
}

result<check_report> image::check(check_mode mode) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  if (mode != check_mode::report && !m.writable_) {
    return fail(errc::read_only, "'" + m.name_ + "' is open read-only; cannot repair");
  }
  if (mode == check_mode::report) {
    return m.check_locked(mode);
  }
  return poison_on_error(m, m.check_locked(mode));
}

}  // namespace vsnapd::storage

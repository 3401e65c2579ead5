// Internal snapshots: the qcow2 snapshot table (what QEMU's savevm/loadvm and
// `qemu-img snapshot` use), with the commit-point ordering described in FORMAT.md.

#include <algorithm>
#include <cstring>
#include <ctime>

#include "storage/cow/image_impl.hpp"

namespace vsnapd::storage {

using namespace qcow2;

namespace {

constexpr std::size_t fixed_bytes = 40;
constexpr std::uint32_t our_extra = 24;  // vm_state_size_large, disk_size, icount

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::vector<std::byte> serialize(const std::vector<detail::snapshot_entry>& rows) {
  std::vector<std::byte> out;
  for (const auto& r : rows) {
    std::size_t extra = std::max<std::size_t>(our_extra, r.extra.size());
    std::size_t len = fixed_bytes + extra + r.info.id.size() + r.info.name.size();
    len = (len + 7) & ~std::size_t{7};
    std::size_t at = out.size();
    out.resize(at + len);
    std::byte* p = out.data() + at;
    store_be64(p, r.l1_table_offset);
    store_be32(p + 8, r.l1_size);
    store_be16(p + 12, static_cast<std::uint16_t>(r.info.id.size()));
    store_be16(p + 14, static_cast<std::uint16_t>(r.info.name.size()));
    store_be32(p + 16, r.info.date_sec);
    store_be32(p + 20, r.info.date_nsec);
    store_be64(p + 24, r.info.vm_clock_nsec);
    store_be32(p + 32, r.info.vm_state_size > 0xffffffffu
                           ? 0
                           : static_cast<std::uint32_t>(r.info.vm_state_size));
    store_be32(p + 36, static_cast<std::uint32_t>(extra));
    if (r.extra.size() > our_extra) {
      std::memcpy(p + fixed_bytes, r.extra.data(), r.extra.size());
    }
    store_be64(p + fixed_bytes, r.info.vm_state_size);
    store_be64(p + fixed_bytes + 8, r.info.disk_size);
    store_be64(p + fixed_bytes + 16, r.info.icount);
    std::memcpy(p + fixed_bytes + extra, r.info.id.data(), r.info.id.size());
    std::memcpy(p + fixed_bytes + extra + r.info.id.size(), r.info.name.data(), r.info.name.size());
  }
  return out;
}

}  // namespace

result<void> image::impl::load_snapshots() {
  snaps_.clear();
  snap_table_bytes_ = 0;
  if (h_.nb_snapshots == 0) {
    return {};
  }
  std::uint64_t fsize = host_end_;
  std::uint64_t pos = h_.snapshots_offset;
  if (pos == 0 || pos >= fsize) {
    return corrupt("snapshot table at " + hex(pos) + " lies outside the file");
  }
  for (std::uint32_t i = 0; i < h_.nb_snapshots; ++i) {
    std::byte f[fixed_bytes];
    if (pos + fixed_bytes > fsize || pos - h_.snapshots_offset > max_snapshot_table_bytes) {
      return corrupt("snapshot table entry " + std::to_string(i) + " lies outside the file");
    }
    VSNAPD_TRY_VOID(f_->read_at(pos, f));
    detail::snapshot_entry r;
    r.l1_table_offset = load_be64(f);
    r.l1_size = load_be32(f + 8);
    std::uint16_t id_len = load_be16(f + 12);
    std::uint16_t name_len = load_be16(f + 14);
    r.info.date_sec = load_be32(f + 16);
    r.info.date_nsec = load_be32(f + 20);
    r.info.vm_clock_nsec = load_be64(f + 24);
    r.info.vm_state_size = load_be32(f + 32);
    std::uint32_t extra = load_be32(f + 36);
    if (extra > 1024) {
      return corrupt("snapshot " + std::to_string(i) + " has " + std::to_string(extra) +
                     " bytes of extra data");
    }
    std::uint64_t len = fixed_bytes + std::uint64_t{extra} + id_len + name_len;
    if (pos + len > fsize) {
      return corrupt("snapshot table entry " + std::to_string(i) + " lies outside the file");
    }
    std::vector<std::byte> rest(len - fixed_bytes);
    VSNAPD_TRY_VOID(f_->read_at(pos + fixed_bytes, rest));
    r.extra.assign(rest.begin(), rest.begin() + extra);
    r.info.disk_size = h_.size;
    if (extra >= 8) {
      r.info.vm_state_size = load_be64(rest.data());
    }
    if (extra >= 16) {
      r.info.disk_size = load_be64(rest.data() + 8);
    }
    if (extra >= 24) {
      r.info.icount = load_be64(rest.data() + 16);
    }
    r.info.id.assign(reinterpret_cast<const char*>(rest.data() + extra), id_len);
    r.info.name.assign(reinterpret_cast<const char*>(rest.data() + extra + id_len), name_len);
    if ((r.l1_table_offset & (cs_ - 1)) != 0 || std::uint64_t{r.l1_size} * 8 > max_l1_bytes ||
        r.l1_table_offset + std::uint64_t{r.l1_size} * 8 > fsize ||
        (r.l1_size != 0 && r.l1_table_offset == 0)) {
      return corrupt("snapshot '" + r.info.name + "' has an invalid L1 table (" +
                     hex(r.l1_table_offset) + ", " + std::to_string(r.l1_size) + " entries)");
    }
    if (r.info.disk_size > max_virtual_size) {
      return corrupt("snapshot '" + r.info.name + "' has an invalid disk size");
    }
    snaps_.push_back(std::move(r));
    pos += (len + 7) & ~std::uint64_t{7};
  }
  snap_table_bytes_ = pos - h_.snapshots_offset;
  return {};
}

std::size_t image::impl::find_snapshot(std::string_view key) const {
  for (std::size_t i = 0; i < snaps_.size(); ++i) {
    if (snaps_[i].info.id == key) {
      return i;
    }
  }
  for (std::size_t i = 0; i < snaps_.size(); ++i) {
    if (snaps_[i].info.name == key) {
      return i;
    }
  }
  return snaps_.size();
}

result<void> image::impl::write_snapshot_table(std::vector<detail::snapshot_entry> rows) {
  auto bytes = serialize(rows);
  std::uint64_t off = 0;
  if (!bytes.empty()) {
    std::uint64_t clusters = (bytes.size() + cs_ - 1) >> cb_;
    off = VSNAPD_TRY(alloc_clusters(clusters));
    bytes.resize(clusters << cb_);
    VSNAPD_TRY_VOID(write_file(off, bytes));
  }
  {
    std::lock_guard lock(cache_mu_);
    VSNAPD_TRY_VOID(write_dirty_refblocks());
  }
  // Barrier S1: the new table, every refcount it relies on and every L1 copy it names are
  // durable before the header makes it the snapshot table (the commit point).
  VSNAPD_TRY_VOID(f_->flush());
  std::byte hdr[12];
  store_be32(hdr, static_cast<std::uint32_t>(rows.size()));
  store_be64(hdr + 4, off);
  VSNAPD_TRY_VOID(write_header_field(off_nb_snapshots, hdr));
  // Barrier S2: the commit is durable before the old table's clusters are released.
  VSNAPD_TRY_VOID(f_->flush());
  if (snap_table_bytes_ != 0) {
    free_later(h_.snapshots_offset, snap_table_bytes_);
  }
  h_.nb_snapshots = static_cast<std::uint32_t>(rows.size());
  h_.snapshots_offset = off;
  snap_table_bytes_ = bytes.empty() ? 0 : serialize(rows).size();
  snaps_ = std::move(rows);
  return {};
}

result<void> image::impl::walk_tree_refcounts(const std::vector<std::uint64_t>& l1,
                                              std::int64_t delta, bool later) {
  std::vector<std::uint64_t> l2;
  for (std::uint64_t le : l1) {
    std::uint64_t l2off = le & l1_offset_mask;
    if (l2off == 0) {
      continue;
    }
    VSNAPD_TRY_VOID(load_l2_copy(l2off, l2));
    for (std::uint64_t e : l2) {
      std::uint64_t off = 0;
      std::uint64_t len = 0;
      if (e & oflag_compressed) {
        compressed_range(e, off, len);
      } else if (e & l2_offset_mask) {
        off = e & l2_offset_mask;
        len = cs_;
      } else {
        continue;
      }
      if (later) {
        free_later(off, len);
      } else {
        for (std::uint64_t c = off >> cb_; c <= (off + len - 1) >> cb_; ++c) {
          VSNAPD_TRY_VOID(update_refcount(c, delta));
        }
      }
    }
    if (later) {
      free_later(l2off, cs_);
    } else {
      VSNAPD_TRY_VOID(update_refcount(l2off >> cb_, delta));
    }
  }
  return {};
}

result<void> image::impl::clear_copied_flags() {
  for (std::size_t i = 0; i < l1_.size(); ++i) {
    std::uint64_t l2off = l1_[i] & l1_offset_mask;
    if (l2off == 0) {
      continue;
    }
    {
      std::lock_guard lock(cache_mu_);
      std::byte* t = VSNAPD_TRY(l2_get(l2off, true));
      bool changed = false;
      for (std::uint64_t j = 0; j < (1ull << l2_bits_); ++j) {
        std::uint64_t e = load_be64(t + j * 8);
        if (e & oflag_copied) {
          store_be64(t + j * 8, e & ~oflag_copied);
          changed = true;
        }
      }
      if (changed) {
        l2c_.slots[l2c_.find(l2off)].dirty = true;
      }
    }
    if (l1_[i] & oflag_copied) {
      l1_[i] &= ~oflag_copied;
      l1_dirty_.push_back(static_cast<std::uint32_t>(i));
    }
  }
  return {};
}

result<void> image::impl::fix_copied_flags() {
  for (std::size_t i = 0; i < l1_.size(); ++i) {
    std::uint64_t l2off = l1_[i] & l1_offset_mask;
    if (l2off == 0) {
      continue;
    }
    std::uint64_t rc = VSNAPD_TRY(get_refcount(l2off >> cb_));
    bool want = rc == 1;
    if (want != ((l1_[i] & oflag_copied) != 0)) {
      l1_[i] = want ? (l1_[i] | oflag_copied) : (l1_[i] & ~oflag_copied);
      l1_dirty_.push_back(static_cast<std::uint32_t>(i));
    }
    if (!want) {
      continue;  // a shared table is copied before any change, so its flags stay as they are
    }
    std::vector<std::uint64_t> l2;
    VSNAPD_TRY_VOID(load_l2_copy(l2off, l2));
    for (std::size_t j = 0; j < l2.size(); ++j) {
      std::uint64_t e = l2[j];
      if ((e & oflag_compressed) || (e & l2_offset_mask) == 0) {
        continue;
      }
      std::uint64_t drc = VSNAPD_TRY(get_refcount((e & l2_offset_mask) >> cb_));
      bool dwant = drc == 1;
      if (dwant != ((e & oflag_copied) != 0)) {
        std::uint64_t ne = dwant ? (e | oflag_copied) : (e & ~oflag_copied);
        std::lock_guard lock(cache_mu_);
        std::byte* t = VSNAPD_TRY(l2_get(l2off, true));
        store_be64(t + j * 8, ne);
        l2c_.slots[l2c_.find(l2off)].dirty = true;
      }
    }
  }
  return {};
}

result<std::vector<snapshot_info>> image::snapshots() const {
  std::shared_lock lock(impl_->meta_mu_);
  std::vector<snapshot_info> out;
  for (const auto& s : impl_->snaps_) {
    out.push_back(s.info);
  }
  return out;
}

result<snapshot_info> image::create_snapshot(std::string_view name, const snapshot_options& opts) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.create_snapshot_locked(name, opts));
}

result<snapshot_info> image::impl::create_snapshot_locked(std::string_view name,
                                                          const snapshot_options& opts) {
  auto& m = *this;
  if (name.empty() || name.size() > 65535) {
    return fail(errc::invalid_argument, "snapshot name must be 1..65535 bytes");
  }
  if (m.find_snapshot(name) != m.snaps_.size()) {
    return fail(errc::invalid_argument,
                "'" + m.name_ + "' already has a snapshot '" + std::string(name) + "'");
  }
  VSNAPD_TRY_VOID(m.mark_dirty());
  std::uint64_t vm_off = vm_state_offset(m.h_.size, m.cb_);
  std::uint64_t disk_l1 = m.l1_entries_for(m.h_.size);
  if (!opts.vm_state.empty()) {
    VSNAPD_TRY_VOID(m.grow_l1(m.l1_entries_for(vm_off + opts.vm_state.size())));
    VSNAPD_TRY_VOID(m.write_locked(vm_off, opts.vm_state));
  }
  VSNAPD_TRY_VOID(m.flush_locked());
  // Window W1 (FORMAT.md): from here until the refcounts below are durable, active clusters
  // may have refcount 1 without OFLAG_COPIED. That only costs a needless copy; the opposite
  // order would let an in-place write change data the snapshot shares.
  VSNAPD_TRY_VOID(m.clear_copied_flags());
  VSNAPD_TRY_VOID(m.flush_locked());
  VSNAPD_TRY_VOID(m.walk_tree_refcounts(m.l1_, +1, false));
  std::uint64_t l1_bytes = std::uint64_t{m.l1_.size()} * 8;
  std::uint64_t l1_copy = 0;
  if (l1_bytes != 0) {
    std::uint64_t clusters = (l1_bytes + m.cs_ - 1) >> m.cb_;
    l1_copy = VSNAPD_TRY(m.alloc_clusters(clusters));
    std::vector<std::byte> t(clusters << m.cb_);
    for (std::size_t i = 0; i < m.l1_.size(); ++i) {
      store_be64(t.data() + i * 8, m.l1_[i]);
    }
    VSNAPD_TRY_VOID(m.write_file(l1_copy, t));
  }
  detail::snapshot_entry row;
  std::uint64_t max_id = 0;
  for (const auto& s : m.snaps_) {
    max_id = std::max<std::uint64_t>(max_id, std::strtoull(s.info.id.c_str(), nullptr, 10));
  }
  row.info.id = std::to_string(max_id + 1);
  row.info.name = std::string(name);
  row.info.vm_state_size = opts.vm_state.size();
  row.info.disk_size = m.h_.size;
  row.info.vm_clock_nsec = opts.vm_clock_nsec;
  if (opts.date_sec != 0) {
    row.info.date_sec = opts.date_sec;
    row.info.date_nsec = opts.date_nsec;
  } else {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    row.info.date_sec = static_cast<std::uint32_t>(ts.tv_sec);
    row.info.date_nsec = static_cast<std::uint32_t>(ts.tv_nsec);
  }
  row.l1_table_offset = l1_copy;
  row.l1_size = static_cast<std::uint32_t>(m.l1_.size());
  auto rows = m.snaps_;
  rows.push_back(row);
  VSNAPD_TRY_VOID(m.write_snapshot_table(std::move(rows)));
  VSNAPD_TRY_VOID(m.flush_locked());
  if (!opts.vm_state.empty()) {
    // The VM state now lives in the snapshot; drop it from the active tables (as QEMU does)
    // so that later writes need not copy it. Each dropped L2 table and data cluster loses
    // the active L1's reference.
    for (std::uint64_t i = disk_l1; i < m.l1_.size(); ++i) {
      std::uint64_t l2off = m.l1_[i] & l1_offset_mask;
      if (l2off == 0) {
        continue;
      }
      std::vector<std::uint64_t> one{m.l1_[i]};
      VSNAPD_TRY_VOID(m.walk_tree_refcounts(one, -1, true));
      m.l1_[i] = 0;
      m.l1_dirty_.push_back(static_cast<std::uint32_t>(i));
    }
    VSNAPD_TRY_VOID(m.flush_locked());
  }
  return row.info;
}

result<void> image::apply_snapshot(std::string_view key) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.apply_snapshot_locked(key));
}

result<void> image::impl::apply_snapshot_locked(std::string_view key) {
  auto& m = *this;
  std::size_t i = m.find_snapshot(key);
  if (i == m.snaps_.size()) {
    return fail(errc::not_found, "'" + m.name_ + "' has no snapshot '" + std::string(key) + "'");
  }
  VSNAPD_TRY_VOID(m.mark_dirty());
  VSNAPD_TRY_VOID(m.flush_locked());
  const auto sn = m.snaps_[i];
  auto sl1 = VSNAPD_TRY(m.load_l1(sn.l1_table_offset, sn.l1_size));
  // R1: the new active tree's references are counted before the header points to it.
  VSNAPD_TRY_VOID(m.walk_tree_refcounts(sl1, +1, false));
  std::uint64_t need =
      std::max<std::uint64_t>({sl1.size(), m.l1_entries_for(sn.info.disk_size), 1});
  sl1.resize(need, 0);
  for (auto& e : sl1) {
    e &= ~oflag_copied;
  }
  std::uint64_t clusters = (need * 8 + m.cs_ - 1) >> m.cb_;
  std::uint64_t off = VSNAPD_TRY(m.alloc_clusters(clusters));
  std::vector<std::byte> t(clusters << m.cb_);
  for (std::size_t k = 0; k < sl1.size(); ++k) {
    store_be64(t.data() + k * 8, sl1[k]);
  }
  VSNAPD_TRY_VOID(m.write_file(off, t));
  {
    std::lock_guard cl(m.cache_mu_);
    VSNAPD_TRY_VOID(m.write_dirty_refblocks());
  }
  // Barrier A1: the new L1 and every refcount it relies on are durable before the commit.
  VSNAPD_TRY_VOID(m.f_->flush());
  std::byte hdr[24];
  store_be64(hdr, sn.info.disk_size);
  store_be32(hdr + 8, m.h_.crypt_method);
  store_be32(hdr + 12, static_cast<std::uint32_t>(need));
  store_be64(hdr + 16, off);
  // One 24-byte write inside one sector: size and L1 switch together (the commit point).
  VSNAPD_TRY_VOID(m.write_header_field(off_size, hdr));
  // Barrier A2: the commit is durable before the old tree's refcounts drop (R2).
  VSNAPD_TRY_VOID(m.f_->flush());
  auto old_l1 = std::move(m.l1_);
  std::uint64_t old_off = m.h_.l1_table_offset;
  std::uint64_t old_len = std::uint64_t{m.h_.l1_size} * 8;
  m.l1_ = std::move(sl1);
  m.l1_dirty_.clear();
  m.h_.size = sn.info.disk_size;
  m.h_.l1_size = static_cast<std::uint32_t>(need);
  m.h_.l1_table_offset = off;
  VSNAPD_TRY_VOID(m.walk_tree_refcounts(old_l1, -1, true));
  m.free_later(old_off, old_len);
  VSNAPD_TRY_VOID(m.flush_locked());
  VSNAPD_TRY_VOID(m.fix_copied_flags());
  return m.flush_locked();
}

result<void> image::delete_snapshot(std::string_view key) {
  auto& m = *impl_;
  std::unique_lock lock(m.meta_mu_);
  return poison_on_error(m, m.delete_snapshot_locked(key));
}

result<void> image::impl::delete_snapshot_locked(std::string_view key) {
  auto& m = *this;
  std::size_t i = m.find_snapshot(key);
  if (i == m.snaps_.size()) {
    return fail(errc::not_found, "'" + m.name_ + "' has no snapshot '" + std::string(key) + "'");
  }
  VSNAPD_TRY_VOID(m.mark_dirty());
  VSNAPD_TRY_VOID(m.flush_locked());
  const auto sn = m.snaps_[i];
  auto sl1 = VSNAPD_TRY(m.load_l1(sn.l1_table_offset, sn.l1_size));
  auto rows = m.snaps_;
  rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(i));
  VSNAPD_TRY_VOID(m.write_snapshot_table(std::move(rows)));
  VSNAPD_TRY_VOID(m.walk_tree_refcounts(sl1, -1, true));
  m.free_later(sn.l1_table_offset, std::uint64_t{sn.l1_size} * 8);
  VSNAPD_TRY_VOID(m.flush_locked());
  // Window W2: clusters now only in the active tree have refcount 1 but no OFLAG_COPIED
  // until this pass is durable; harmless (a needless copy on the next write).
  VSNAPD_TRY_VOID(m.fix_copied_flags());
  return m.flush_locked();
}

result<void> image::read_vm_state(std::string_view key, std::uint64_t offset,
                                  std::span<std::byte> buf) {
  auto& m = *impl_;
  std::shared_lock lock(m.meta_mu_);
  std::size_t i = m.find_snapshot(key);
  if (i == m.snaps_.size()) {
    return fail(errc::not_found, "'" + m.name_ + "' has no snapshot '" + std::string(key) + "'");
  }
  const auto& sn = m.snaps_[i];
  if (offset > sn.info.vm_state_size || buf.size() > sn.info.vm_state_size - offset) {
    return fail(errc::invalid_argument,
                "read past the VM state of snapshot '" + sn.info.name + "'");
  }
  auto sl1 = VSNAPD_TRY(m.load_l1(sn.l1_table_offset, sn.l1_size));
  return m.read_shared(vm_state_offset(sn.info.disk_size, m.cb_) + offset, buf, &sl1, false);
}

}  // namespace vsnapd::storage

// Consistency check and repair: recount every reference and compare with the refcounts,
// in the spirit of `qemu-img check` (same message shapes, so people can compare the two).

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/text.hpp"
#include "storage/cow/image_impl.hpp"

namespace vsnapd::storage {

using namespace qcow2;

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string check_report::to_text() const {
  std::ostringstream o;
  for (const auto& m : messages) {
    o << m << "\n";
  }
  if (clean()) {
    o << "No errors were found on the image.\n";
  } else {
    if (corruptions != 0) {
      o << corruptions << " errors were found on the image.\n";
    }
    if (leaks != 0) {
      o << leaks << " leaked clusters were found on the image.\n";
    }
  }
  if (leaks_fixed != 0 || corruptions_fixed != 0) {
    o << "The following inconsistencies were found and repaired:\n\n    " << leaks_fixed
      << " leaked clusters\n    " << corruptions_fixed << " corruptions\n";
  }
  o << allocated_clusters << "/" << total_clusters << " clusters allocated.\n";
  o << "Image end offset: " << image_end_offset << "\n";
  return o.str();
}

std::string check_report::to_json() const {
  std::ostringstream o;
  o << "{\"leaks\": " << leaks << ", \"corruptions\": " << corruptions
    << ", \"leaks_fixed\": " << leaks_fixed << ", \"corruptions_fixed\": " << corruptions_fixed
    << ", \"allocated_clusters\": " << allocated_clusters
    << ", \"total_clusters\": " << total_clusters << ", \"image_end_offset\": " << image_end_offset
    << ", \"messages\": [";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    o << (i ? ", " : "") << json_string(messages[i]);
  }
  o << "]}";
  return o.str();
}

result<check_report> image::impl::check_locked(check_mode mode) {
  check_report rep;
  if (writable_) {
    VSNAPD_TRY_VOID(flush_locked());
  }
  std::uint64_t fsize = VSNAPD_TRY(f_->size());
  std::uint64_t nclusters = (std::max(fsize, host_end_) + cs_ - 1) >> cb_;
  std::vector<std::uint32_t> refs(nclusters, 0);
  std::uint64_t max_ref = 0;
  std::vector<std::string> errors;
  auto inc = [&](std::uint64_t off, std::uint64_t len, const std::string& what) {
    if (len == 0) {
      return;
    }
    for (std::uint64_t c = off >> cb_; c <= (off + len - 1) >> cb_; ++c) {
      if (c >= nclusters) {
        errors.push_back("ERROR " + what + " at offset 0x" + hex(off) +
                         " lies beyond the end of the file");
        ++rep.corruptions;
        return;
      }
      ++refs[c];
      max_ref = std::max(max_ref, c + 1);
    }
  };
  inc(0, cs_, "header");
  inc(h_.refcount_table_offset, std::uint64_t{h_.refcount_table_clusters} << cb_, "refcount table");
  for (std::uint64_t off : rt_) {
    if (off != 0) {
      inc(off, cs_, "refcount block");
    }
  }
  if (h_.nb_snapshots != 0) {
    inc(h_.snapshots_offset, snap_table_bytes_, "snapshot table");
  }

  // Active COPIED expectations, checked once the counts are known.
  struct copied_probe {
    std::uint64_t l2off;  // 0: an L1 entry
    std::uint64_t index;
    std::uint64_t entry;
  };
  std::vector<copied_probe> probes;
  std::vector<std::uint64_t> l2(std::size_t{1} << l2_bits_);
  std::vector<std::byte> raw(cs_);
  auto walk = [&](const std::vector<std::uint64_t>& l1, bool active) -> result<void> {
    for (std::size_t i = 0; i < l1.size(); ++i) {
      std::uint64_t l2off = l1[i] & l1_offset_mask;
      if (l2off == 0) {
        continue;
      }
      if (active) {
        probes.push_back({0, i, l1[i]});
      }
      inc(l2off, cs_, "L2 table");
      if (l2off + cs_ > fsize + cs_) {
        continue;
      }
      VSNAPD_TRY_VOID(f_->read_at(l2off, raw));
      for (std::size_t j = 0; j < l2.size(); ++j) {
        std::uint64_t e = load_be64(raw.data() + j * 8);
        if (e & oflag_compressed) {
          std::uint64_t off = 0;
          std::uint64_t len = 0;
          compressed_range(e, off, len);
          inc(off, len, "compressed cluster");
          if (active) {
            ++rep.allocated_clusters;
          }
          continue;
        }
        std::uint64_t off = e & l2_offset_mask;
        if (off == 0) {
          continue;
        }
        if ((off & (cs_ - 1)) != 0) {
          errors.push_back("ERROR offset=" + hex(off) +
                           ": Cluster is not properly aligned; "
                           "L2 entry corrupted.");
          ++rep.corruptions;
          continue;
        }
        inc(off, cs_, "data cluster");
        if (active) {
          probes.push_back({l2off, j, e});
          if (!(e & oflag_zero)) {
            ++rep.allocated_clusters;
          }
        }
      }
    }
    return {};
  };
  inc(h_.l1_table_offset, std::uint64_t{h_.l1_size} * 8, "active L1 table");
  VSNAPD_TRY_VOID(walk(l1_, true));
  for (const auto& s : snaps_) {
    inc(s.l1_table_offset, std::uint64_t{s.l1_size} * 8, "snapshot L1 table");
    auto sl1 = load_l1(s.l1_table_offset, s.l1_size);
    if (!sl1) {
      errors.push_back("ERROR snapshot '" + s.info.name + "': " + last_error_detail());
      ++rep.corruptions;
      continue;
    }
    VSNAPD_TRY_VOID(walk(*sl1, false));
  }

  // Compare with the stored refcounts.
  std::vector<std::string> leaks;
  std::uint64_t max_rc = rc_bits_ == 64 ? ~0ull : (1ull << rc_bits_) - 1;
  std::vector<std::uint64_t> missing_blocks;  // too-low counts whose block is absent
  for (std::uint64_t c = 0; c < nclusters; ++c) {
    std::uint64_t stored = VSNAPD_TRY(get_refcount(c));
    std::uint64_t want = refs[c];
    if (stored == want) {
      continue;
    }
    if (want > max_rc) {
      errors.push_back("ERROR cluster " + std::to_string(c) + " has " + std::to_string(want) +
                       " references, more than a refcount can hold");
      ++rep.corruptions;
      continue;
    }
    if (stored > want) {
      bool fix = mode != check_mode::report;
      leaks.push_back(std::string(fix ? "Repairing" : "Leaked") + " cluster " + std::to_string(c) +
                      " refcount=" + std::to_string(stored) + " reference=" + std::to_string(want));
      if (fix) {
        VSNAPD_TRY_VOID(set_refcount(c, want));
        ++rep.leaks_fixed;
      } else {
        ++rep.leaks;
      }
    } else {
      bool fix = mode == check_mode::repair_all;
      errors.push_back(std::string(fix ? "Repairing" : "ERROR") + " cluster " + std::to_string(c) +
                       " refcount=" + std::to_string(stored) +
                       " reference=" + std::to_string(want));
      if (fix) {
        missing_blocks.push_back(c);
      } else {
        ++rep.corruptions;
      }
    }
  }
  // Too-low counts are raised after the leaks are freed, so a refcount block that has to be
  // created for them cannot land on a cluster that is still referenced.
  for (std::uint64_t c : missing_blocks) {
    VSNAPD_TRY_VOID(set_refcount(c, refs[c]));
    ++rep.corruptions_fixed;
  }

  // OFLAG_COPIED must be set exactly on active entries whose cluster has refcount 1.
  bool fix_copied = mode == check_mode::repair_all;
  for (const auto& p : probes) {
    std::uint64_t off = p.l2off == 0 ? (p.entry & l1_offset_mask) : (p.entry & l2_offset_mask);
    std::uint64_t c = off >> cb_;
    std::uint64_t rc = c < nclusters ? refs[c] : 0;
    bool has = (p.entry & oflag_copied) != 0;
    if ((rc == 1) == has) {
      continue;
    }
    std::string what = p.l2off == 0 ? "L2 cluster: l1_index=" + std::to_string(p.index) +
                                          " l1_entry=" + hex(p.entry)
                                    : "data cluster: l2_entry=" + hex(p.entry);
    errors.push_back(std::string(fix_copied ? "Repairing" : "ERROR") + " OFLAG_COPIED " + what +
                     " refcount=" + std::to_string(rc));
    if (!fix_copied) {
      ++rep.corruptions;
      continue;
    }
    std::uint64_t ne = rc == 1 ? (p.entry | oflag_copied) : (p.entry & ~oflag_copied);
    if (p.l2off == 0) {
      l1_[p.index] = ne;
      l1_dirty_.push_back(static_cast<std::uint32_t>(p.index));
    } else {
      std::lock_guard lock(cache_mu_);
      std::byte* t = VSNAPD_TRY(l2_get(p.l2off, true));
      store_be64(t + p.index * 8, ne);
      l2c_.slots[l2c_.find(p.l2off)].dirty = true;
    }
    ++rep.corruptions_fixed;
  }
  if (mode != check_mode::report && (rep.leaks_fixed != 0 || rep.corruptions_fixed != 0)) {
    VSNAPD_TRY_VOID(flush_locked());
  }
  rep.messages = std::move(errors);
  rep.messages.insert(rep.messages.end(), leaks.begin(), leaks.end());
  rep.total_clusters = guest_clusters();
  rep.image_end_offset = max_ref << cb_;
  return rep;
}

}  // namespace vsnapd::storage

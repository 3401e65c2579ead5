#include "storage/cow/format.hpp"

#include <cstring>

#include "storage/errc.hpp"

namespace vsnapd::storage::qcow2 {

namespace {
std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

result<header> parse_header(std::span<const std::byte> b, const std::string& name) {
  auto bad = [&](const std::string& what) {
    return fail(errc::corrupt_image, "'" + name + "': " + what);
  };
  if (b.size() < v2_header_length) {
    return bad("file too short for a qcow2 header (" + std::to_string(b.size()) + " bytes)");
  }
  if (load_be32(b.data()) != magic) {
    return bad("not a qcow2 image (bad magic)");
  }
  header h;
  h.version = load_be32(b.data() + 4);
  if (h.version != 2 && h.version != 3) {
    return fail(errc::unsupported_feature,
                "'" + name + "': qcow2 version " + std::to_string(h.version) + " is not supported");
  }
  h.backing_file_offset = load_be64(b.data() + 8);
  h.backing_file_size = load_be32(b.data() + 16);
  h.cluster_bits = load_be32(b.data() + 20);
  h.size = load_be64(b.data() + off_size);
  h.crypt_method = load_be32(b.data() + 32);
  h.l1_size = load_be32(b.data() + off_l1_size);
  h.l1_table_offset = load_be64(b.data() + off_l1_table_offset);
  h.refcount_table_offset = load_be64(b.data() + off_refcount_table_offset);
  h.refcount_table_clusters = load_be32(b.data() + 56);
  h.nb_snapshots = load_be32(b.data() + off_nb_snapshots);
  h.snapshots_offset = load_be64(b.data() + off_snapshots_offset);
  if (h.cluster_bits < min_cluster_bits || h.cluster_bits > max_cluster_bits) {
    return bad("cluster_bits " + std::to_string(h.cluster_bits) + " outside 9..21");
  }
  std::uint64_t cs = 1ull << h.cluster_bits;
  if (h.version == 2) {
    h.header_length = v2_header_length;
    h.refcount_order = 4;
    h.incompatible_features = h.compatible_features = h.autoclear_features = 0;
  } else {
    if (b.size() < 104) {
      return bad("file too short for a version 3 header");
    }
    h.incompatible_features = load_be64(b.data() + 72);
    h.compatible_features = load_be64(b.data() + 80);
    h.autoclear_features = load_be64(b.data() + 88);
    h.refcount_order = load_be32(b.data() + 96);
    h.header_length = load_be32(b.data() + 100);
    if (h.header_length < 104 || h.header_length > b.size() || h.header_length > cs) {
      return bad("header_length " + std::to_string(h.header_length) + " is invalid");
    }
    if (h.header_length > 104) {
      h.compression_type = std::to_integer<std::uint8_t>(b[104]);
    }
    if (h.refcount_order > 6) {
      return bad("refcount_order " + std::to_string(h.refcount_order) + " > 6");
    }
  }
  if (h.size > max_virtual_size) {
    return bad("virtual size " + std::to_string(h.size) + " is too large");
  }
  auto cluster_aligned = [&](std::uint64_t v) { return (v & (cs - 1)) == 0; };
  if (!cluster_aligned(h.l1_table_offset) || !cluster_aligned(h.refcount_table_offset) ||
      !cluster_aligned(h.snapshots_offset)) {
    return bad("L1 table, refcount table or snapshot table offset is not cluster aligned");
  }
  if (std::uint64_t{h.l1_size} * 8 > max_l1_bytes) {
    return bad("L1 table of " + std::to_string(h.l1_size) + " entries is too large");
  }
  if (std::uint64_t{h.refcount_table_clusters} * cs > max_refcount_table_bytes ||
      h.refcount_table_clusters == 0) {
    return bad("refcount table of " + std::to_string(h.refcount_table_clusters) +
               " clusters is empty or too large");
  }
  if (h.nb_snapshots > max_snapshots) {
    return bad(std::to_string(h.nb_snapshots) + " snapshots is too many");
  }
  // The L1 table must cover the disk: a short one would make guest offsets index past it.
  std::uint64_t l1_span = 1ull << (2 * h.cluster_bits - 3);
  if (std::uint64_t{h.l1_size} < (h.size + l1_span - 1) / l1_span) {
    return bad("L1 table of " + std::to_string(h.l1_size) + " entries is too small for " +
               std::to_string(h.size) + " bytes");
  }

  // Header extensions: between header_length and the end of the first cluster (or the backing
  // file name, which QEMU writes after them).
  std::size_t limit = std::min<std::uint64_t>(b.size(), cs);
  if (h.backing_file_offset != 0 && h.backing_file_offset < limit) {
    limit = static_cast<std::size_t>(h.backing_file_offset);
  }
  std::size_t pos = h.version == 2 ? v2_header_length : h.header_length;
  while (pos + 8 <= limit) {
    std::uint32_t type = load_be32(b.data() + pos);
    std::uint32_t len = load_be32(b.data() + pos + 4);
    pos += 8;
    if (type == ext_end) {
      break;
    }
    if (len > limit - pos) {
      return bad("header extension " + hex(type) + " overruns the header cluster");
    }
    std::span<const std::byte> data = b.subspan(pos, len);
    if (type == ext_backing_format) {
      h.backing_format.assign(reinterpret_cast<const char*>(data.data()), data.size());
    } else if (type == ext_data_file) {
      h.has_data_file_ext = true;
    } else if (type == ext_crypto) {
      h.has_crypto_ext = true;
    } else {
      h.other_extensions.push_back({type, {data.begin(), data.end()}});
    }
    pos += (len + 7) & ~std::size_t{7};
  }

  if (h.backing_file_offset != 0) {
    std::uint64_t end = std::min<std::uint64_t>(b.size(), cs);
    if (h.backing_file_size > 1023 || h.backing_file_offset > end ||
        h.backing_file_size > end - h.backing_file_offset) {
      return bad("backing file name at " + hex(h.backing_file_offset) + " (" +
                 std::to_string(h.backing_file_size) + " bytes) is outside the header cluster");
    }
    h.backing_file.assign(reinterpret_cast<const char*>(b.data() + h.backing_file_offset),
                          h.backing_file_size);
  }
  return h;
}

result<std::vector<std::byte>> serialize_header(const header& h) {
  std::uint64_t cs = 1ull << h.cluster_bits;
  std::vector<std::byte> out(cs);
  std::byte* p = out.data();
  store_be32(p, magic);
  store_be32(p + 4, h.version);
  store_be32(p + 20, h.cluster_bits);
  store_be64(p + off_size, h.size);
  store_be32(p + 32, h.crypt_method);
  store_be32(p + off_l1_size, h.l1_size);
  store_be64(p + off_l1_table_offset, h.l1_table_offset);
  store_be64(p + off_refcount_table_offset, h.refcount_table_offset);
  store_be32(p + 56, h.refcount_table_clusters);
  store_be32(p + off_nb_snapshots, h.nb_snapshots);
  store_be64(p + off_snapshots_offset, h.snapshots_offset);
  std::size_t pos = v2_header_length;
  if (h.version >= 3) {
    store_be64(p + 72, h.incompatible_features);
    store_be64(p + 80, h.compatible_features);
    store_be64(p + 88, h.autoclear_features);
    store_be32(p + 96, h.refcount_order);
    store_be32(p + 100, static_cast<std::uint32_t>(v3_header_length));
    p[104] = static_cast<std::byte>(h.compression_type);
    pos = v3_header_length;
  }
  auto put_ext = [&](std::uint32_t type, std::span<const std::byte> data) -> bool {
    std::size_t padded = (data.size() + 7) & ~std::size_t{7};
    if (pos + 8 + padded + 8 > cs) {
      return false;
    }
    store_be32(p + pos, type);
    store_be32(p + pos + 4, static_cast<std::uint32_t>(data.size()));
    std::memcpy(p + pos + 8, data.data(), data.size());
    pos += 8 + padded;
    return true;
  };
  bool ok = true;
  if (!h.backing_format.empty()) {
    ok = put_ext(ext_backing_format, {reinterpret_cast<const std::byte*>(h.backing_format.data()),
                                      h.backing_format.size()});
  }
  for (const auto& e : h.other_extensions) {
    ok = ok && put_ext(e.type, e.data);
  }
  // End-of-extensions marker (zeros, already there) then the backing file name.
  pos += 8;
  if (!ok || pos + h.backing_file.size() > cs || h.backing_file.size() > 1023) {
    return fail(errc::invalid_argument,
                "header extensions and backing file name do not fit in the first cluster");
  }
  if (!h.backing_file.empty()) {
    store_be64(p + 8, pos);
    store_be32(p + 16, static_cast<std::uint32_t>(h.backing_file.size()));
    std::memcpy(p + pos, h.backing_file.data(), h.backing_file.size());
  }
  return out;
}

}  // namespace vsnapd::storage::qcow2

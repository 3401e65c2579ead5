#pragma once
// qcow2 on-disk layout (FORMAT.md beside this file): constants, big-endian helpers and the
// header, parsed and serialized without I/O so it is testable on plain byte arrays.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace vsnapd::storage::qcow2 {

inline constexpr std::uint32_t magic = 0x514649fb;  // "QFI\xfb"

// Header field offsets (bytes). v2 headers end at 72, v3 at header_length (>= 104).
inline constexpr std::size_t off_size = 24;
inline constexpr std::size_t off_l1_size = 36;
inline constexpr std::size_t off_l1_table_offset = 40;
inline constexpr std::size_t off_refcount_table_offset = 48;
inline constexpr std::size_t off_nb_snapshots = 60;
inline constexpr std::size_t off_snapshots_offset = 64;
inline constexpr std::size_t off_incompatible = 72;
inline constexpr std::size_t v2_header_length = 72;
inline constexpr std::size_t v3_header_length = 112;  // with compression_type and padding

// Incompatible feature bits.
inline constexpr std::uint64_t incompat_dirty = 1u << 0;
inline constexpr std::uint64_t incompat_corrupt = 1u << 1;
inline constexpr std::uint64_t incompat_data_file = 1u << 2;
inline constexpr std::uint64_t incompat_compression = 1u << 3;
inline constexpr std::uint64_t incompat_extl2 = 1u << 4;
inline constexpr std::uint64_t incompat_known = incompat_dirty | incompat_corrupt;
// Compatible feature bit 0: lazy refcounts (harmless for us: we keep refcounts exact).
inline constexpr std::uint64_t compat_lazy_refcounts = 1u << 0;

// Header extension types.
inline constexpr std::uint32_t ext_end = 0;
inline constexpr std::uint32_t ext_backing_format = 0xe2792aca;
inline constexpr std::uint32_t ext_feature_table = 0x6803f857;
inline constexpr std::uint32_t ext_crypto = 0x0537be77;
inline constexpr std::uint32_t ext_data_file = 0x44415441;

// L1/L2 entry bits.
inline constexpr std::uint64_t oflag_copied = 1ull << 63;
inline constexpr std::uint64_t oflag_compressed = 1ull << 62;
inline constexpr std::uint64_t oflag_zero = 1ull << 0;
inline constexpr std::uint64_t l1_offset_mask = 0x00fffffffffffe00ull;
inline constexpr std::uint64_t l2_offset_mask = 0x00fffffffffffe00ull;
inline constexpr std::uint64_t l1_reserved_mask = 0x7f000000000001ffull;
inline constexpr std::uint64_t l2_reserved_mask = 0x3f000000000001feull;
inline constexpr std::uint64_t refcount_table_offset_mask = 0xfffffffffffffe00ull;

// Limits we enforce when reading untrusted headers, so that a hostile size can never make us
// allocate unbounded memory.
inline constexpr std::uint32_t min_cluster_bits = 9;
inline constexpr std::uint32_t max_cluster_bits = 21;
inline constexpr std::uint64_t max_l1_bytes = 32ull << 20;             // as QEMU
inline constexpr std::uint64_t max_refcount_table_bytes = 8ull << 20;  // as QEMU
inline constexpr std::uint32_t max_snapshots = 65536;
inline constexpr std::uint64_t max_snapshot_table_bytes = 64ull << 20;
inline constexpr std::uint64_t max_virtual_size = 1ull << 60;

inline std::uint64_t load_be64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  }
  return v;
}
inline std::uint32_t load_be32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
  }
  return v;
}
inline std::uint16_t load_be16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}
inline void store_be64(std::byte* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::byte>(v & 0xff);
    v >>= 8;
  }
}
inline void store_be32(std::byte* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    p[i] = static_cast<std::byte>(v & 0xff);
    v >>= 8;
  }
}
inline void store_be16(std::byte* p, std::uint16_t v) {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v & 0xff);
}

/// An unknown header extension we keep verbatim when rewriting the header.
struct header_extension {
  std::uint32_t type = 0;
  std::vector<std::byte> data;
};

/// The decoded header plus its extensions and backing file name.
struct header {
  std::uint32_t version = 3;
  std::uint64_t backing_file_offset = 0;
  std::uint32_t backing_file_size = 0;
  std::uint32_t cluster_bits = 16;
  std::uint64_t size = 0;
  std::uint32_t crypt_method = 0;
  std::uint32_t l1_size = 0;
  std::uint64_t l1_table_offset = 0;
  std::uint64_t refcount_table_offset = 0;
  std::uint32_t refcount_table_clusters = 0;
  std::uint32_t nb_snapshots = 0;
  std::uint64_t snapshots_offset = 0;
  std::uint64_t incompatible_features = 0;
  std::uint64_t compatible_features = 0;
  std::uint64_t autoclear_features = 0;
  std::uint32_t refcount_order = 4;
  std::uint32_t header_length = v3_header_length;
  std::uint8_t compression_type = 0;
  std::string backing_file;
  std::string backing_format;
  std::vector<header_extension> other_extensions;  ///< kept verbatim (feature table, bitmaps)
  bool has_data_file_ext = false;
  bool has_crypto_ext = false;
};

/// Decodes cluster 0 (or as much of it as the file has). Checks structure only: magic,
/// version, field ranges, extension bounds; feature policy is the caller's.
/// @param bytes the first min(file size, cluster size) bytes, at least 72 of them
/// @param file_name used in error details
[[nodiscard]] result<header> parse_header(std::span<const std::byte> bytes,
                                          const std::string& file_name);

/// Encodes a header with its extensions and backing name into `cluster_size` bytes.
/// Fails with invalid_argument if they do not fit in the first cluster.
[[nodiscard]] result<std::vector<std::byte>> serialize_header(const header& h);

/// Entries per L2 table and per refcount block.
inline std::uint64_t l2_entries(const header& h) {
  return (1ull << h.cluster_bits) / 8;
}

/// Bytes of VM-state area start: guest offset of the first L1 entry past the disk.
inline std::uint64_t vm_state_offset(std::uint64_t disk_size, std::uint32_t cluster_bits) {
  std::uint64_t l1_span = 1ull << (cluster_bits + cluster_bits - 3);
  return (disk_size + l1_span - 1) / l1_span * l1_span;
}

}  // namespace vsnapd::storage::qcow2

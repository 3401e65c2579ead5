#pragma once
// A qcow2 image (versions 2 and 3) and its backing chain: the copy-on-write engine of issue 6.
// The on-disk format as implemented, and the crash-ordering invariants, are in FORMAT.md.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file.hpp"

namespace vsnapd::storage {

/// Opens a file for the image layer; tests pass one that returns fault-injecting mem_files.
/// @param path the path as recorded (relative backing names are already resolved)
/// @param writable whether the layer is opened read-write
using file_opener =
    std::function<result<std::unique_ptr<file>>(const std::string& path, bool writable)>;

/// The default file_opener: posix files, O_DIRECT when `direct`.
file_opener posix_opener(bool direct = false);

/// Preallocation mode of image::create.
enum class preallocation : std::uint8_t {
  off,       ///< only the header, L1 and the first refcount structures
  metadata,  ///< every L2 table and data cluster allocated (sparse, reads as zero)
};

/// Parameters of image::create.
struct create_options {
  std::uint64_t virtual_size = 0;      ///< bytes, multiple of 512, up to 64 TiB and beyond
  std::uint32_t cluster_size = 65536;  ///< a power of two from 4 KiB to 2 MiB
  std::string backing_file;            ///< recorded as given (relative to the image's folder)
  std::string backing_format;          ///< "qcow2" or "raw"; empty records no format
  preallocation prealloc = preallocation::off;
  bool compat_v2 = false;            ///< write version 2 (compat=0.10) instead of 3
  std::uint32_t refcount_bits = 16;  ///< 1, 2, 4, ... 64 (version 3 only), as QEMU's option
};

/// Parameters of image::open.
struct open_options {
  bool writable = false;          ///< read-write (backing layers: see backing_writable)
  bool open_backing = true;       ///< open the backing chain (false: reads of unallocated
                                  ///< clusters return zeros, as with no backing file)
  bool backing_writable = false;  ///< open the backing layers read-write too, so a commit can
                                  ///< write into backing() through the objects (and caches)
                                  ///< the chain reads through
  bool repair_dirty = true;       ///< a writable open of an image whose dirty bit is set
                                  ///< runs check(repair_all) first, as QEMU does
  std::uint64_t l2_cache_bytes = 4u << 20;        ///< L2 table cache size (rounded to tables)
  std::uint64_t refcount_cache_bytes = 1u << 20;  ///< refcount block cache size
  file_opener opener;                             ///< empty: posix_opener(false)
  std::size_t max_chain_depth = 64;               ///< deeper chains are refused as loops
};

/// The allocation state of a run of guest bytes.
enum class block_state : std::uint8_t {
  data,         ///< stored in a layer (host_offset valid unless compressed)
  zero,         ///< reads as zero: a zero cluster in `depth`, or past the chain's end
  unallocated,  ///< no layer up to the inspected depth has it (reads fall to the backing)
};

/// One answer of image::block_status: [offset, offset + length) all share the same state,
/// layer and (for data) host-contiguous mapping.
struct block_extent {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  block_state state = block_state::unallocated;
  std::uint32_t depth = 0;        ///< 0 = this image, 1 = its backing file, ...
  std::uint64_t host_offset = 0;  ///< data only, in the file of layer `depth`
  bool compressed = false;        ///< data stored deflate-compressed
};

/// One row of the snapshot table.
struct snapshot_info {
  std::string id;                   ///< unique id string ("1", "2", ... as QEMU assigns)
  std::string name;                 ///< the tag
  std::uint64_t vm_state_size = 0;  ///< bytes of VM state (RAM, devices) saved with it
  std::uint64_t disk_size = 0;      ///< virtual disk size when taken
  std::uint32_t date_sec = 0;       ///< wall clock, seconds since the epoch
  std::uint32_t date_nsec = 0;
  std::uint64_t vm_clock_nsec = 0;           ///< guest clock
  std::uint64_t icount = ~std::uint64_t{0};  ///< instruction count, ~0 when absent
};

/// Optional inputs of image::create_snapshot.
struct snapshot_options {
  std::span<const std::byte> vm_state;  ///< VM state to store in the snapshot (may be empty)
  std::uint64_t vm_clock_nsec = 0;
  std::uint32_t date_sec = 0;  ///< 0: now
  std::uint32_t date_nsec = 0;
};

/// What check() may change.
enum class check_mode : std::uint8_t {
  report,        ///< read only
  repair_leaks,  ///< free leaked clusters
  repair_all,    ///< also fix refcounts that are too low and OFLAG_COPIED mismatches
};

/// The result of image::check, readable by a person (to_text) and a machine (to_json).
struct check_report {
  std::uint64_t leaks = 0;        ///< clusters with refcount > references
  std::uint64_t corruptions = 0;  ///< refcount < references, bad flags, bad offsets
  std::uint64_t leaks_fixed = 0;
  std::uint64_t corruptions_fixed = 0;
  std::uint64_t allocated_clusters = 0;  ///< referenced host clusters
  std::uint64_t total_clusters = 0;      ///< guest clusters of the virtual disk
  std::uint64_t image_end_offset = 0;    ///< one past the last referenced host byte
  std::vector<std::string> messages;     ///< one line per finding, most severe first
  /// True when nothing is left to fix (leaks and corruptions both zero).
  [[nodiscard]] bool clean() const { return leaks == 0 && corruptions == 0; }
  /// Multi-line human summary in the spirit of `qemu-img check`.
  [[nodiscard]] std::string to_text() const;
  /// One JSON object with the counters above and a "messages" array.
  [[nodiscard]] std::string to_json() const;
};

/// An open qcow2 image with its backing chain.
///
/// Thread safety: read, write, write_zeroes, discard, block_status and flush may be called
/// from any number of threads at once. Reads and in-place writes to clusters that are already
/// allocated run in parallel (shared lock); allocation, discard and every snapshot, resize and
/// header change take the image's exclusive metadata lock. All methods return errors, never
/// throw; on a metadata write error the image turns read-only for the rest of its life.
class image {
 public:
  /// Creates a new image file at `path` (truncating it) and closes it again.
  /// Errors: invalid_argument for a bad size or cluster size, io_error, no_space.
  [[nodiscard]] static result<void> create(const std::string& path, const create_options& opts,
                                           const file_opener& opener = {});

  /// Creates an image in an already open, empty, writable file.
  [[nodiscard]] static result<void> create(file& f, const create_options& opts);

  /// Opens `path` and, if `opts.open_backing`, its backing chain (relative backing names are
  /// resolved against the directory of the image naming them). Refuses with a precise
  /// last_error_detail(): unsupported_feature (encryption, external data file, extended L2,
  /// zstd, unknown incompatible bits), corrupt_image (corrupt bit, bad header or tables),
  /// backing_chain_loop, not_found (missing backing file).
  [[nodiscard]] static result<std::unique_ptr<image>> open(const std::string& path,
                                                           const open_options& opts);

  /// Opens an image on an already open file; the backing chain is opened through
  /// `opts.opener`. `name` is used for resolving relative backing names and in messages.
  [[nodiscard]] static result<std::unique_ptr<image>> open(std::unique_ptr<file> f,
                                                           const std::string& name,
                                                           const open_options& opts);

  /// Flushes, clears the dirty bit and closes (errors are logged; call close() to see them).
  ~image();

  image(const image&) = delete;
  image& operator=(const image&) = delete;

  /// Flushes every layer's metadata, clears the dirty bit and releases the file. Idempotent.
  [[nodiscard]] result<void> close();

  // ---- geometry and chain ----
  /// Virtual disk size in bytes.
  [[nodiscard]] std::uint64_t virtual_size() const;
  /// Cluster size in bytes (4 KiB .. 2 MiB).
  [[nodiscard]] std::uint32_t cluster_size() const;
  /// qcow2 version, 2 or 3.
  [[nodiscard]] std::uint32_t version() const;
  /// The path or name the image was opened with.
  [[nodiscard]] const std::string& name() const;
  /// The backing file name as stored in the header ("" when none).
  [[nodiscard]] const std::string& backing_file() const;
  /// The backing format as stored in the header extension ("" when none recorded).
  [[nodiscard]] const std::string& backing_format() const;
  /// The open backing qcow2 image, or nullptr (none, not opened, or raw).
  [[nodiscard]] image* backing() const;
  /// Whether the image was opened writable and has not turned read-only after an error.
  [[nodiscard]] bool writable() const;

  // ---- guest I/O ----
  /// Reads guest bytes [offset, offset+buf.size()) through the whole chain: a layer's
  /// unallocated clusters come from its backing, zero clusters and the part past a shorter
  /// backing file read as zero; compressed clusters are inflated.
  /// Errors: invalid_argument past virtual_size(), io_error, corrupt_image.
  [[nodiscard]] result<void> read(std::uint64_t offset, std::span<std::byte> buf);

  /// Writes guest bytes. Clusters not yet owned by this image (unallocated, zero, compressed,
  /// shared with a snapshot) are copied first: the unwritten part of the cluster is filled from
  /// where the guest saw it before (backing chain, zeros, old cluster).
  /// Durable only after flush(). Errors: read_only, invalid_argument, io_error, no_space.
  [[nodiscard]] result<void> write(std::uint64_t offset, std::span<const std::byte> buf);

  /// Makes [offset, offset+length) read as zero. Whole clusters become zero clusters (v3) and
  /// release their storage; partial clusters are written with zero bytes.
  [[nodiscard]] result<void> write_zeroes(std::uint64_t offset, std::uint64_t length);

  /// Releases the storage of whole clusters inside [offset, offset+length); they then read as
  /// zero (a zero cluster when a backing file exists, else unallocated). Partial clusters at
  /// either end are left unchanged, as discard is advisory. On v2 images with a backing file,
  /// clusters are left as they are (v2 has no zero flag).
  [[nodiscard]] result<void> discard(std::uint64_t offset, std::uint64_t length);

  /// Describes the run starting at `offset` (at most `max_length` bytes, clipped to the
  /// virtual size). With `follow_backing` false only this layer is inspected and clusters it
  /// does not have are `unallocated`; with true the chain is walked and `depth` says which
  /// layer answered (unallocated only when no layer has it). Cost is one L2 lookup per
  /// cluster, and runs with no L2 table are skipped a whole table at a time, so iterating a
  /// sparse image by repeated calls is cheap.
  [[nodiscard]] result<block_extent> block_status(std::uint64_t offset, std::uint64_t max_length,
                                                  bool follow_backing);

  /// Writes back cached metadata in crash-safe order and makes data and metadata durable.
  /// A no-op on read-only images; io_error once an earlier metadata update failed.
  [[nodiscard]] result<void> flush();

  /// Grows the virtual size (shrinking is refused with invalid_argument).
  [[nodiscard]] result<void> resize(std::uint64_t new_size);

  /// Rewrites the backing file name and format in the header (empty name: no backing file),
  /// then reopens the backing chain through the new name when the image was opened with
  /// open_backing. The caller guarantees the guest-visible content stays right (rebase).
  [[nodiscard]] result<void> set_backing(const std::string& backing_file,
                                         const std::string& backing_format);

  // ---- internal snapshots (the table QEMU's savevm writes) ----
  /// Lists the snapshot table in stored order.
  [[nodiscard]] result<std::vector<snapshot_info>> snapshots() const;

  /// Takes an internal snapshot of the active state named `name` (must be unique), storing
  /// `opts.vm_state` in the VM-state area so QEMU's loadvm can restore it.
  [[nodiscard]] result<snapshot_info> create_snapshot(std::string_view name,
                                                      const snapshot_options& opts = {});

  /// Reverts the active disk (contents and virtual size) to the snapshot with this id or name.
  [[nodiscard]] result<void> apply_snapshot(std::string_view id_or_name);

  /// Deletes the snapshot with this id or name and frees clusters only it referenced.
  [[nodiscard]] result<void> delete_snapshot(std::string_view id_or_name);

  /// Reads the VM state saved in a snapshot (offset within the VM state).
  [[nodiscard]] result<void> read_vm_state(std::string_view id_or_name, std::uint64_t offset,
                                           std::span<std::byte> buf);

  // ---- consistency ----
  /// Flushes, then compares every refcount with the references found by walking the header,
  /// refcount structures, snapshot table and every L1/L2 table, and reports (and in the repair
  /// modes fixes) the differences. A read-only image can only `report`.
  [[nodiscard]] result<check_report> check(check_mode mode);

  class impl;  ///< private; public only so that the .cpp's helpers can name it

 private:
  explicit image(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace vsnapd::storage

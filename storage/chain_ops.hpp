#pragma once
// External snapshots over qcow2 backing chains (issue 6): create an overlay, commit an overlay
// into a backing image (merge down, as `qemu-img commit`), stream the backing chain into an
// overlay (merge up, as QEMU's block-stream), and rebase (safe and unsafe, as `qemu-img rebase`).
//
// Every long operation copies in chunks, reports progress after each chunk and checks for
// cancellation between chunks. The guest-visible content of every image that remains in use
// is the same after each chunk as before the operation, and header changes (the backing name)
// come last, after a flush, so a cancelled or interrupted job leaves a consistent chain that
// `qemu-img check` accepts and that reads as before.

#include "common/error.hpp"
#include "storage/cow/image.hpp"

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>

namespace vsnapd::storage {

/// Progress and cancellation of a long chain operation.
struct job_control {
  /// Called first with done == 0, then after every chunk with the bytes of the virtual disk
  /// processed so far and the total; `done` never decreases and the last call has
  /// done == total (unless cancelled or failed). Always called on the thread that started the
  /// operation, never on a worker.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  /// Cancels the operation between chunks; the operation then returns errc::cancelled.
  std::stop_token stop;
  /// Copy granularity in bytes (rounded up to a cluster); bounds the latency of cancellation.
  std::uint64_t chunk_bytes = 1u << 20;
  /// Chunks copied at once, each on its own worker thread, so reads overlap writes. A cancel
  /// takes effect after at most this many more chunks.
  unsigned threads = 8;
};

/// Parameters of create_overlay.
struct overlay_options {
  /// Format of the backing file: "qcow2", "raw", or "" to probe it (qcow2 magic or raw).
  std::string backing_format;
  /// Cluster size of the overlay; 0 takes 64 KiB, as qemu-img does.
  std::uint32_t cluster_size = 0;
  /// Virtual size; 0 takes the backing file's size.
  std::uint64_t virtual_size = 0;
  /// Opener for the backing file (its header is read for the size and format).
  file_opener opener;
};

/// Creates an empty qcow2 overlay at `path` whose backing file is `backing` (recorded as given;
/// a relative name is resolved against the overlay's directory, as QEMU does). Costs a header
/// read of the backing file and a few small writes: O(1) in the size of the disk.
/// Errors: not_found (backing missing), invalid_argument, io_error, no_space.
[[nodiscard]] result<void> create_overlay(const std::string& path, const std::string& backing,
                                          const overlay_options& opts = {});

/// Parameters of commit.
struct commit_options {
  /// The image to commit into; empty means the top's backing file. Otherwise it must be an
  /// ancestor of the top (same file, compared by device and inode).
  std::string base;
  /// Leave the top image's data in place (qemu-img commit -d). The top is emptied otherwise,
  /// unless `base` names a deeper image (then -d is implied, as in qemu-img).
  bool keep_top = false;
  /// Caches, file opener (O_DIRECT, a test's fault injection); `writable` and `open_backing`
  /// are set by the operation as it needs.
  open_options open;
};

/// What commit did.
struct commit_stats {
  std::uint64_t bytes_copied = 0;   ///< data bytes written into the base
  std::uint64_t bytes_zeroed = 0;   ///< bytes made zero in the base (zero clusters above it)
  bool top_emptied = false;
};

/// Merges `top` (and every image between it and the base) down into the base: afterwards the
/// base reads as `top` read before. Cancelling leaves the base partly updated, but only where
/// the top hides it, so the top still reads exactly as before and every image checks clean.
/// Errors: invalid_argument (no backing file, base not in the chain, raw base), cancelled,
/// read_only, io_error, no_space, and the open errors of image::open.
[[nodiscard]] result<commit_stats> commit(const std::string& top, const commit_options& opts,
                                          const job_control& job = {});

/// Parameters of stream.
struct stream_options {
  /// The image that stays as the new backing file; empty streams the whole chain and leaves
  /// the top without a backing file. Must be an ancestor of the top when given.
  std::string base;
  /// Caches, file opener (O_DIRECT, a test's fault injection); `writable` and `open_backing`
  /// are set by the operation as it needs.
  open_options open;
};

/// Copies into `top` every cluster it reads from the images between it and the base (merge up,
/// as block-stream), then points its backing file at the base. Reads through `top` never change;
/// a cancelled stream leaves the backing file unchanged.
[[nodiscard]] result<std::uint64_t> stream(const std::string& top, const stream_options& opts,
                                           const job_control& job = {});

/// Parameters of rebase.
struct rebase_options {
  /// The new backing file, recorded as given (relative to the top's directory); empty: none.
  std::string backing_file;
  /// Its format ("qcow2" or "raw"); empty probes it.
  std::string backing_format;
  /// Only rewrite the name (qemu-img rebase -u); the new backing need not exist.
  bool unsafe = false;
  /// Caches, file opener (O_DIRECT, a test's fault injection); `writable` and `open_backing`
  /// are set by the operation as it needs.
  open_options open;
};

/// Changes the backing file of `top`. The safe mode first copies into `top` every cluster where
/// the old and the new backing chains differ, so the guest content stays the same, and writes
/// the new name last. Returns the bytes copied into `top`.
[[nodiscard]] result<std::uint64_t> rebase(const std::string& top, const rebase_options& opts,
                                           const job_control& job = {});

/// "qcow2" when the file starts with the qcow2 magic, else "raw".
[[nodiscard]] result<std::string> probe_format(const std::string& path, const file_opener& opener = {});

/// Resolves a backing name as QEMU does: absolute names as is, relative ones against the
/// directory of `image_path`.
[[nodiscard]] std::string resolve_backing_path(const std::string& image_path,
                                               const std::string& backing_name);

}  // namespace vsnapd::storage

#pragma once
// In-memory storage::file that injects faults (STYLE rule 31) and can produce the bytes a
// disk could hold after a power cut: every flushed write, plus any subset of the writes issued
// since the last flush, the last of which may be torn.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage/file.hpp"

namespace vsnapd::storage::fakes {

/// What happens to the write numbered `at_write` (0-based, counting every write_at).
enum class fault : std::uint8_t {
  none,
  eio,     ///< the write fails with io_error and changes nothing
  enospc,  ///< the write fails with no_space and changes nothing
  torn,    ///< the first half of the write lands, then io_error
  stop,    ///< power cut: this and every later write and flush fail and change nothing
};

/// The shared state behind one or more mem_file handles (it outlives the image that owns a
/// handle, so a test can inspect and "reboot" it).
class mem_disk {
 public:
  explicit mem_disk(std::string name = "mem") : name_(std::move(name)) {}

  /// Arms a fault at the write numbered `at_write` (counted from now on).
  void inject(fault f, std::uint64_t at_write);
  /// Makes every read fail with io_error (or not).
  void fail_reads(bool on);
  /// Number of write_at calls seen so far.
  std::uint64_t writes() const;
  /// Current bytes (what reads see).
  std::vector<std::byte> contents() const;
  /// Bytes as of the last successful flush.
  std::vector<std::byte> durable_contents() const;
  /// A possible post-crash state: the durable bytes plus a random subset (in random order) of
  /// the writes made since the last flush; with `tear_one`, one of them lands only in part.
  std::vector<std::byte> crash_contents(std::mt19937_64& rng, bool tear_one) const;
  /// Replaces the contents (and the durable copy) and clears faults and the write counter.
  void reset(std::vector<std::byte> bytes);
  const std::string& name() const { return name_; }

 private:
  friend class mem_file;
  struct pending_write {
    std::uint64_t offset;
    std::vector<std::byte> bytes;
  };
  mutable std::mutex mu_;
  std::string name_;
  std::vector<std::byte> data_;
  std::vector<std::byte> durable_;
  std::vector<pending_write> pending_;
  fault armed_ = fault::none;
  std::uint64_t armed_at_ = 0;
  std::uint64_t writes_ = 0;
  bool stopped_ = false;
  bool fail_reads_ = false;
};

/// A storage::file handle over a mem_disk.
class mem_file final : public file {
 public:
  explicit mem_file(std::shared_ptr<mem_disk> disk, bool writable = true)
      : disk_(std::move(disk)), writable_(writable) {}

  // storage::file
  [[nodiscard]] result<void> read_at(std::uint64_t offset, std::span<std::byte> buf) override;
  [[nodiscard]] result<void> write_at(std::uint64_t offset,
                                      std::span<const std::byte> buf) override;
  [[nodiscard]] result<void> flush() override;
  [[nodiscard]] result<std::uint64_t> size() override;
  [[nodiscard]] result<void> resize(std::uint64_t new_size) override;
  [[nodiscard]] std::size_t alignment() const override { return 1; }
  [[nodiscard]] const std::string& name() const override { return disk_->name(); }

 private:
  std::shared_ptr<mem_disk> disk_;
  bool writable_;
};

}  // namespace vsnapd::storage::fakes

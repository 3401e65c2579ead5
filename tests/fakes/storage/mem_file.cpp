#include "tests/fakes/storage/mem_file.hpp"

#include <algorithm>
#include <cstring>

#include "storage/errc.hpp"

namespace vsnapd::storage::fakes {

namespace {
void apply(std::vector<std::byte>& data, std::uint64_t offset, std::span<const std::byte> b) {
  if (data.size() < offset + b.size()) {
    data.resize(offset + b.size());
  }
  std::copy(b.begin(), b.end(), data.begin() + static_cast<std::ptrdiff_t>(offset));
}
}  // namespace

void mem_disk::inject(fault f, std::uint64_t at_write) {
  std::lock_guard lock(mu_);
  armed_ = f;
  armed_at_ = writes_ + at_write;
}

void mem_disk::fail_reads(bool on) {
  std::lock_guard lock(mu_);
  fail_reads_ = on;
}

std::uint64_t mem_disk::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

std::vector<std::byte> mem_disk::contents() const {
  std::lock_guard lock(mu_);
  return data_;
}

std::vector<std::byte> mem_disk::durable_contents() const {
  std::lock_guard lock(mu_);
  return durable_;
}

std::vector<std::byte> mem_disk::crash_contents(std::mt19937_64& rng, bool tear_one) const {
  std::lock_guard lock(mu_);
  std::vector<std::byte> out = durable_;
  std::vector<std::size_t> order(pending_.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::shuffle(order.begin(), order.end(), rng);
  std::size_t keep = order.empty() ? 0 : rng() % (order.size() + 1);
  for (std::size_t k = 0; k < keep; ++k) {
    const auto& w = pending_[order[k]];
    std::span<const std::byte> b(w.bytes);
    if (tear_one && k + 1 == keep && b.size() > 512) {
      // A torn write lands in whole 512-byte sectors, like a real disk.
      b = b.first((rng() % (b.size() / 512)) * 512);
    }
    apply(out, w.offset, b);
  }
  return out;
}

void mem_disk::reset(std::vector<std::byte> bytes) {
  std::lock_guard lock(mu_);
  data_ = std::move(bytes);
  durable_ = data_;
  pending_.clear();
  armed_ = fault::none;
  writes_ = 0;
  stopped_ = false;
  fail_reads_ = false;
}

result<void> mem_file::read_at(std::uint64_t offset, std::span<std::byte> buf) {
  std::lock_guard lock(disk_->mu_);
  if (disk_->fail_reads_) {
    return fail(errc::io_error, "injected read error in '" + disk_->name_ + "'");
  }
  const auto& d = disk_->data_;
  std::fill(buf.begin(), buf.end(), std::byte{0});
  if (offset < d.size() && !buf.empty()) {
    std::size_t n = std::min<std::uint64_t>(buf.size(), d.size() - offset);
    std::memcpy(buf.data(), d.data() + offset, n);
  }
  return {};
}

result<void> mem_file::write_at(std::uint64_t offset, std::span<const std::byte> buf) {
  if (!writable_) {
    return fail(errc::read_only, "write to read-only '" + disk_->name_ + "'");
  }
  std::lock_guard lock(disk_->mu_);
  auto& dk = *disk_;
  std::uint64_t n = dk.writes_++;
  if (dk.stopped_) {
    return fail(errc::io_error, "device stopped");
  }
  if (dk.armed_ != fault::none && n == dk.armed_at_) {
    fault f = dk.armed_;
    dk.armed_ = fault::none;
    switch (f) {
      case fault::eio: return fail(errc::io_error, "injected EIO");
      case fault::enospc: return fail(errc::no_space, "injected ENOSPC");
      case fault::torn: {
        // Disks tear between 512-byte sectors, never inside one: keep the whole sectors of
        // the first half.
        std::uint64_t cut = (offset + buf.size() / 2) / 512 * 512;
        auto half = buf.first(cut > offset ? cut - offset : 0);
        apply(dk.data_, offset, half);
        dk.pending_.push_back({offset, {half.begin(), half.end()}});
        return fail(errc::io_error, "injected torn write");
      }
      case fault::stop: dk.stopped_ = true; return fail(errc::io_error, "device stopped");
      case fault::none: break;
    }
  }
  apply(dk.data_, offset, buf);
  dk.pending_.push_back({offset, {buf.begin(), buf.end()}});
  return {};
}

result<void> mem_file::flush() {
  std::lock_guard lock(disk_->mu_);
  if (disk_->stopped_) {
    return fail(errc::io_error, "device stopped");
  }
  // Replay the pending writes instead of copying the whole disk: flushes are frequent.
  for (const auto& w : disk_->pending_) {
    apply(disk_->durable_, w.offset, w.bytes);
  }
  disk_->pending_.clear();
  return {};
}

result<std::uint64_t> mem_file::size() {
  std::lock_guard lock(disk_->mu_);
  return disk_->data_.size();
}

result<void> mem_file::resize(std::uint64_t new_size) {
  std::lock_guard lock(disk_->mu_);
  if (disk_->stopped_) {
    return fail(errc::io_error, "device stopped");
  }
  disk_->data_.resize(new_size);
  // Treat a size change as durable at once: the image code only truncates in create().
  disk_->durable_.resize(new_size);
  return {};
}

}  // namespace vsnapd::storage::fakes

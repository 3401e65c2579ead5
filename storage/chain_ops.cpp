#include "storage/chain_ops.hpp"

#include "storage/errc.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <sys/stat.h>
#include <utility>
#include <vector>

// VSNAPD_TRY for result<void>, which has no value to yield.
#define VSNAPD_CHAIN_TRY_VOID(expr)      \
  do {                                   \
    if (auto&& chain_r_ = (expr); !chain_r_) { \
      return chain_r_.error();           \
    }                                    \
  } while (false)

namespace vsnapd::storage {

namespace {

constexpr std::array<unsigned char, 4> qcow2_magic{'Q', 'F', 'I', 0xfb};

file_opener opener_or_default(const file_opener& o) { return o ? o : posix_opener(false); }

// A 4 KiB-aligned buffer, so the same chunk can go to an O_DIRECT file without a bounce copy.
class aligned_buffer {
 public:
  explicit aligned_buffer(std::uint64_t size)
      : size_(size), p_(static_cast<std::byte*>(std::aligned_alloc(4096, (size + 4095) / 4096 * 4096))) {}
  std::span<std::byte> first(std::uint64_t n) { return {p_.get(), static_cast<std::size_t>(n)}; }
  std::uint64_t size() const { return size_; }

 private:
  struct freer {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::uint64_t size_;
  std::unique_ptr<std::byte, freer> p_;
};

std::uint64_t chunk_of(const job_control& job, std::uint32_t cluster) {
  const std::uint64_t c = std::max<std::uint64_t>(job.chunk_bytes, cluster);
  return (c + cluster - 1) / cluster * cluster;
}

// Reports progress and answers whether the job was cancelled.
bool tick(const job_control& job, std::uint64_t done, std::uint64_t total) {
  if (job.progress) {
    job.progress(done, total);
  }
  return job.stop.stop_requested();
}

// Runs `work(offset, length, buffers)` over [0, size) in chunk-sized pieces on
// `job.threads` worker threads, so that reading one chunk overlaps writing another (what
// QEMU's block jobs get from their coroutines). The calling thread hands out chunks, at most
// `threads` at a time, and between hand-outs reports progress and checks for cancellation:
// a cancel stops after the chunks already handed out, each of which leaves the chain
// consistent on its own. Before handing out a chunk it asks `skip` for the first offset at or
// after it that may need work, so a sparse 1 TiB image costs a few block-status calls, not a
// million chunk hand-offs. Each worker owns `buffers` aligned buffers of one chunk.
using chunk_work = std::function<result<void>(std::uint64_t offset, std::uint64_t length,
                                              std::span<aligned_buffer> buffers)>;
using chunk_skip = std::function<result<std::uint64_t>(std::uint64_t offset)>;

result<void> run_chunks(std::uint64_t size, std::uint64_t chunk, int buffers, const job_control& job,
                        const chunk_skip& skip, const chunk_work& work) {
  const unsigned threads = std::max(1u, job.threads);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::uint64_t> queue;  // chunk offsets handed out, not yet taken
  bool closing = false;
  std::uint64_t done = 0;
  unsigned in_flight = 0;
  error_code first_error;
  std::string first_detail;
  const auto record_error = [&](const error_code& ec) {  // with mu held
    if (!first_error) {
      first_error = ec;
      first_detail = last_error_detail();  // thread-local: carried to the caller's thread
    }
  };

  const auto worker = [&] {
    std::vector<aligned_buffer> bufs;
    for (int i = 0; i < buffers; ++i) {
      bufs.emplace_back(chunk);
    }
    for (;;) {
      std::uint64_t off = 0;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty()) {
          return;
        }
        off = queue.front();
        queue.pop_front();
      }
      const std::uint64_t len = std::min(chunk, size - off);
      result<void> r = work(off, len, bufs);
      std::lock_guard lock(mu);
      if (!r) {
        record_error(r.error());
      }
      done += len;
      --in_flight;
      cv.notify_all();
    }
  };

  std::vector<std::jthread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  bool cancelled = tick(job, 0, size);
  std::uint64_t reported = 0;
  std::uint64_t next = 0;
  {
    std::unique_lock lock(mu);
    while (true) {
      // Hand out chunks while there is room and no reason to stop.
      while (next < size && in_flight < threads && !first_error && !cancelled) {
        lock.unlock();
        result<std::uint64_t> to = skip(next);
        lock.lock();
        if (!to) {
          record_error(to.error());
          break;
        }
        const std::uint64_t start = std::min(*to, size);
        done += start - next;  // skipped bytes are processed bytes
        next = start;
        if (next >= size) {
          break;
        }
        queue.push_back(next);
        next += std::min(chunk, size - next);
        ++in_flight;
        cv.notify_all();
      }
      if (in_flight == 0 && (next >= size || first_error || cancelled)) {
        break;
      }
      const std::uint64_t before = done;
      cv.wait(lock, [&] { return done != before || in_flight == 0; });
      reported = done;
      lock.unlock();
      cancelled = tick(job, reported, size) || cancelled;
      lock.lock();
    }
    closing = true;
    cv.notify_all();
  }
  pool.clear();  // joins
  if (first_error) {
    if (first_error.category() == make_error_code(errc::io_error).category()) {
      return fail(static_cast<errc>(first_error.value()), first_detail);
    }
    return first_error;
  }
  if (cancelled) {
    return make_error_code(errc::cancelled);
  }
  if (reported != size) {
    tick(job, size, size);  // the tail was skipped after the last chunk finished
  }
  return {};
}

// A chunk_skip over `img`'s block status: advances past extents for which `needs_work` is
// false, a whole extent (up to an L2 table's reach or more) per call.
chunk_skip skip_while(image& img, bool follow_backing, std::function<bool(const block_extent&)> needs_work) {
  return [&img, follow_backing, needs_work = std::move(needs_work)](std::uint64_t off) -> result<std::uint64_t> {
    const std::uint64_t size = img.virtual_size();
    while (off < size) {
      const block_extent e = VSNAPD_TRY(img.block_status(off, size - off, follow_backing));
      if (e.length == 0) {
        return fail(errc::corrupt_image, "block status made no progress in '" + img.name() + "'");
      }
      if (needs_work(e)) {
        return off;
      }
      off += e.length;
    }
    return size;
  };
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

// One image in the backing chain of an open top, with its depth (0 = top).
struct chain_layer {
  image* img = nullptr;
  std::uint32_t depth = 0;
  std::string recorded_name;    // how the layer above names it in its header
  std::string recorded_format;
};

// Finds `wanted` (a path) among the backing layers of `top` (depth >= 1).
result<chain_layer> find_ancestor(image& top, const std::string& wanted) {
  std::uint32_t depth = 0;
  for (image* above = &top; above->backing() != nullptr; above = above->backing()) {
    ++depth;
    if (same_file(above->backing()->name(), wanted)) {
      return chain_layer{above->backing(), depth, above->backing_file(), above->backing_format()};
    }
  }
  return fail(errc::invalid_argument,
              "'" + wanted + "' is not in the backing chain of '" + top.name() + "'");
}

std::uint32_t chain_length(image& top) {
  std::uint32_t n = 0;
  for (image* layer = &top; layer != nullptr; layer = layer->backing()) {
    ++n;
  }
  // A raw file at the bottom is a layer too, but not an image object.
  image* last = &top;
  while (last->backing() != nullptr) {
    last = last->backing();
  }
  return n + (last->backing_file().empty() ? 0 : 1);
}

result<void> sync_dir_of(const std::string& path) {
  // The rename is durable only once the directory entry is; best effort on file systems that
  // refuse fsync on a directory.
  const auto dir = std::filesystem::path(path).parent_path();
  auto f = posix_opener(false)(dir.empty() ? "." : dir.string(), false);
  if (f) {
    (void)(*f)->flush();
  }
  return {};
}

// Replaces `top` with an empty overlay over the same backing file (what qemu-img commit does
// to the top after a commit to its direct backing). Written beside it and renamed over it, so
// a crash leaves either the old top (whose content equals the base's now) or the empty one.
// The replacement is created with the default (posix) opener: the rename is a file system
// operation, so the caller's opener cannot stand in for it.
result<void> empty_top(const std::string& top, const create_options& shape) {
  const std::string tmp = top + ".vsnapd-empty";
  if (auto r = image::create(tmp, shape); !r) {
    std::filesystem::remove(tmp);
    return r.error();
  }
  struct stat st{};
  if (::stat(top.c_str(), &st) == 0) {
    (void)::chmod(tmp.c_str(), st.st_mode & 07777);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, top, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    return fail(errc::io_error, "cannot replace '" + top + "': " + ec.message());
  }
  return sync_dir_of(top);
}

result<std::uint64_t> backing_size(const std::string& path, const std::string& format,
                                   const file_opener& opener) {
  auto f = VSNAPD_TRY(opener(path, false));
  if (format == "raw") {
    return f->size();
  }
  std::array<std::byte, 32> hdr{};
  VSNAPD_CHAIN_TRY_VOID(f->read_at(0, hdr));
  if (std::memcmp(hdr.data(), qcow2_magic.data(), 4) != 0) {
    return fail(errc::corrupt_image, "'" + path + "' is not a qcow2 image");
  }
  std::uint64_t size = 0;
  for (int i = 24; i < 32; ++i) {
    size = (size << 8) | static_cast<std::uint8_t>(hdr[static_cast<std::size_t>(i)]);
  }
  return size;
}

// Reads guest bytes of a prospective backing file (qcow2 chain or raw), zeros past its end.
class backing_reader {
 public:
  static result<backing_reader> open(const std::string& path, const std::string& format,
                                     const open_options& base) {
    backing_reader r;
    if (path.empty()) {
      return r;
    }
    if (format == "raw") {
      r.raw_ = VSNAPD_TRY(opener_or_default(base.opener)(path, false));
      r.size_ = VSNAPD_TRY(r.raw_->size());
    } else {
      open_options o = base;
      o.writable = false;
      o.open_backing = true;
      r.img_ = VSNAPD_TRY(image::open(path, o));
      r.size_ = r.img_->virtual_size();
    }
    return r;
  }

  result<void> read(std::uint64_t offset, std::span<std::byte> buf) {
    const std::uint64_t in = offset >= size_ ? 0 : std::min<std::uint64_t>(buf.size(), size_ - offset);
    std::fill(buf.begin() + static_cast<std::ptrdiff_t>(in), buf.end(), std::byte{0});
    if (in == 0) {
      return {};
    }
    return img_ ? img_->read(offset, buf.first(in)) : raw_->read_at(offset, buf.first(in));
  }

  // True when [offset, offset+len) certainly reads as zero (past the end, or a zero or
  // unallocated run of a qcow2 chain); false when unknown.
  result<bool> reads_zero(std::uint64_t offset, std::uint64_t len) {
    if (offset >= size_ || (!img_ && !raw_)) {
      return true;
    }
    if (!img_) {
      return false;
    }
    std::uint64_t end = std::min(offset + len, size_);
    while (offset < end) {
      auto st = img_->block_status(offset, end - offset, true);
      if (!st) {
        return result<bool>(boost::system::in_place_error, st.error());
      }
      const block_extent e = *st;
      if (e.state == block_state::data || e.length == 0) {
        return false;
      }
      offset += e.length;
    }
    return true;
  }

 private:
  std::unique_ptr<image> img_;
  std::unique_ptr<file> raw_;
  std::uint64_t size_ = 0;
};


}  // namespace

std::string resolve_backing_path(const std::string& image_path, const std::string& backing_name) {
  if (backing_name.empty() || backing_name.front() == '/') {
    return backing_name;
  }
  const auto dir = std::filesystem::path(image_path).parent_path();
  return dir.empty() ? backing_name : (dir / backing_name).string();
}

result<std::string> probe_format(const std::string& path, const file_opener& opener) {
  auto f = VSNAPD_TRY(opener_or_default(opener)(path, false));
  std::array<std::byte, 4> magic{};
  const std::uint64_t size = VSNAPD_TRY(f->size());
  if (size < magic.size()) {
    return std::string("raw");
  }
  VSNAPD_CHAIN_TRY_VOID(f->read_at(0, magic));
  return std::string(std::memcmp(magic.data(), qcow2_magic.data(), 4) == 0 ? "qcow2" : "raw");
}

result<void> create_overlay(const std::string& path, const std::string& backing,
                            const overlay_options& opts) {
  if (backing.empty()) {
    return fail(errc::invalid_argument, "an overlay needs a backing file");
  }
  const file_opener opener = opener_or_default(opts.opener);
  const std::string resolved = resolve_backing_path(path, backing);
  std::string format = opts.backing_format;
  if (format.empty()) {
    format = VSNAPD_TRY(probe_format(resolved, opener));
  }
  if (format != "qcow2" && format != "raw") {
    return fail(errc::unsupported_feature, "backing format '" + format + "' is not supported");
  }
  create_options c;
  // Only the backing file's header is read: overlay creation costs the same for 1 GiB and 1 TiB.
  c.virtual_size = opts.virtual_size != 0 ? opts.virtual_size : VSNAPD_TRY(backing_size(resolved, format, opener));
  c.cluster_size = opts.cluster_size != 0 ? opts.cluster_size : 65536;
  c.backing_file = backing;
  c.backing_format = format;
  return image::create(path, c, opts.opener);
}

result<commit_stats> commit(const std::string& top_path, const commit_options& opts,
                            const job_control& job) {
  open_options ro = opts.open;
  ro.writable = false;
  ro.open_backing = true;
  auto top = VSNAPD_TRY(image::open(top_path, ro));
  if (top->backing_file().empty()) {
    return fail(errc::invalid_argument, "image '" + top_path + "' has no backing file to commit into");
  }
  if (top->backing() == nullptr) {
    return fail(errc::invalid_argument, "cannot commit '" + top_path + "' into its raw backing file");
  }
  chain_layer base{top->backing(), 1, top->backing_file(), top->backing_format()};
  if (!opts.base.empty()) {
    base = VSNAPD_TRY(find_ancestor(*top, opts.base));
  }
  const std::string base_path = base.img->name();
  const std::uint64_t size = top->virtual_size();

  // The base is opened a second time, writable, with its own backing chain so that partial
  // cluster writes copy the rest from below it. The read-only copy in top's chain is only
  // asked which layer holds a range; ranges the base itself holds are never read through it.
  open_options rw = opts.open;
  rw.writable = true;
  rw.open_backing = true;
  auto target = VSNAPD_TRY(image::open(base_path, rw));
  if (target->virtual_size() < size) {
    VSNAPD_CHAIN_TRY_VOID(target->resize(size));
  }

  std::atomic<std::uint64_t> copied{0};
  std::atomic<std::uint64_t> zeroed{0};
  const auto copy = [&](std::uint64_t off, std::uint64_t len, std::span<aligned_buffer> bufs) -> result<void> {
    const std::uint64_t end = off + len;
    while (off < end) {
      const block_extent e = VSNAPD_TRY(top->block_status(off, end - off, true));
      if (e.length == 0) {
        return fail(errc::corrupt_image, "block status made no progress in '" + top_path + "'");
      }
      // Only what a layer above the base holds is copied; the rest already reads from the base.
      if (e.depth < base.depth && e.state == block_state::data) {
        VSNAPD_CHAIN_TRY_VOID(top->read(off, bufs[0].first(e.length)));
        VSNAPD_CHAIN_TRY_VOID(target->write(off, bufs[0].first(e.length)));
        copied += e.length;
      } else if (e.depth < base.depth && e.state == block_state::zero) {
        VSNAPD_CHAIN_TRY_VOID(target->write_zeroes(off, e.length));
        zeroed += e.length;
      }
      off += e.length;
    }
    return {};
  };
  const auto above_base = [&](const block_extent& e) {
    return e.depth < base.depth && e.state != block_state::unallocated;
  };
  if (auto r = run_chunks(size, chunk_of(job, top->cluster_size()), 1, job,
                          skip_while(*top, true, above_base), copy);
      !r) {
    (void)target->flush();  // what was copied stays; the top still hides it
    if (r.error() == errc::cancelled) {
      return fail(errc::cancelled, "commit of '" + top_path + "' cancelled");
    }
    return r.error();
  }
  commit_stats stats;
  stats.bytes_copied = copied;
  stats.bytes_zeroed = zeroed;
  // Barrier: the base holds the committed data durably before the top is emptied, so a crash
  // between the two leaves a top whose content merely duplicates the base.
  VSNAPD_CHAIN_TRY_VOID(target->flush());
  VSNAPD_CHAIN_TRY_VOID(target->close());

  const bool empty = !opts.keep_top && base.depth == 1;
  if (empty) {
    // Internal snapshots of the top reference its clusters; keep it as is then (-d).
    const auto snaps = VSNAPD_TRY(top->snapshots());
    if (snaps.empty()) {
      create_options shape;
      shape.virtual_size = size;
      shape.cluster_size = top->cluster_size();
      shape.backing_file = top->backing_file();
      shape.backing_format = top->backing_format();
      shape.compat_v2 = top->version() == 2;
      VSNAPD_CHAIN_TRY_VOID(top->close());
      top.reset();
      VSNAPD_CHAIN_TRY_VOID(empty_top(top_path, shape));
      stats.top_emptied = true;
    }
  }
  return stats;
}

result<std::uint64_t> stream(const std::string& top_path, const stream_options& opts,
                             const job_control& job) {
  open_options rw = opts.open;
  rw.writable = true;
  rw.open_backing = true;
  auto top = VSNAPD_TRY(image::open(top_path, rw));
  std::uint32_t stop_depth = chain_length(*top);  // copy from every layer below the top
  // The base keeps the name the chain already knows it by, so relative names stay relative.
  std::string base_name;
  std::string base_format;
  if (!opts.base.empty()) {
    const chain_layer base = VSNAPD_TRY(find_ancestor(*top, opts.base));
    stop_depth = base.depth;
    base_name = base.recorded_name;
    base_format = base.recorded_format;
  }
  const std::uint64_t size = top->virtual_size();
  std::atomic<std::uint64_t> copied{0};
  const auto copy = [&](std::uint64_t off, std::uint64_t len, std::span<aligned_buffer> bufs) -> result<void> {
    const std::uint64_t end = off + len;
    while (off < end) {
      const block_extent e = VSNAPD_TRY(top->block_status(off, end - off, true));
      if (e.length == 0) {
        return fail(errc::corrupt_image, "block status made no progress in '" + top_path + "'");
      }
      const bool from_removed_layer = e.depth >= 1 && e.depth < stop_depth;
      if (from_removed_layer && e.state == block_state::data) {
        VSNAPD_CHAIN_TRY_VOID(top->read(off, bufs[0].first(e.length)));
        VSNAPD_CHAIN_TRY_VOID(top->write(off, bufs[0].first(e.length)));
        copied += e.length;
      } else if (from_removed_layer && e.state == block_state::zero && !opts.base.empty()) {
        // With no backing file left an unallocated cluster reads as zero anyway.
        VSNAPD_CHAIN_TRY_VOID(top->write_zeroes(off, e.length));
      }
      off += e.length;
    }
    return {};
  };
  const auto in_removed_layer = [&](const block_extent& e) {
    return e.depth >= 1 && e.depth < stop_depth && e.state != block_state::unallocated;
  };
  if (auto r = run_chunks(size, chunk_of(job, top->cluster_size()), 1, job,
                          skip_while(*top, true, in_removed_layer), copy);
      !r) {
    (void)top->flush();
    if (r.error() == errc::cancelled) {
      return fail(errc::cancelled, "stream into '" + top_path + "' cancelled");
    }
    return r.error();
  }
  // Barrier: every copied cluster is durable before the header stops pointing at the layers
  // that held it; a crash before this point leaves the old (still valid) backing name.
  VSNAPD_CHAIN_TRY_VOID(top->flush());
  VSNAPD_CHAIN_TRY_VOID(top->set_backing(base_name, base_format));
  VSNAPD_CHAIN_TRY_VOID(top->close());
  return copied.load();
}

result<std::uint64_t> rebase(const std::string& top_path, const rebase_options& opts,
                             const job_control& job) {
  std::string format = opts.backing_format;
  const std::string resolved = resolve_backing_path(top_path, opts.backing_file);
  if (format.empty() && !opts.backing_file.empty()) {
    auto probed = probe_format(resolved, opts.open.opener);
    if (probed) {
      format = *probed;
    } else if (!opts.unsafe) {
      return fail(errc::not_found, "cannot open new backing file '" + resolved + "'");
    }
  }
  if (opts.unsafe) {
    open_options rw = opts.open;
    rw.writable = true;
    rw.open_backing = false;
    auto top = VSNAPD_TRY(image::open(top_path, rw));
    VSNAPD_CHAIN_TRY_VOID(top->set_backing(opts.backing_file, format));
    VSNAPD_CHAIN_TRY_VOID(top->close());
    return std::uint64_t{0};
  }

  open_options rw = opts.open;
  rw.writable = true;
  rw.open_backing = true;
  auto top = VSNAPD_TRY(image::open(top_path, rw));
  auto fresh = VSNAPD_TRY(backing_reader::open(resolved, format, opts.open));
  const std::uint64_t size = top->virtual_size();
  const std::uint32_t cluster = top->cluster_size();
  std::atomic<std::uint64_t> copied{0};
  const auto compare_copy = [&](std::uint64_t off, std::uint64_t len,
                                std::span<aligned_buffer> bufs) -> result<void> {
    const std::uint64_t end = off + len;
    while (off < end) {
      const block_extent mine = VSNAPD_TRY(top->block_status(off, end - off, false));
      if (mine.length == 0) {
        return fail(errc::corrupt_image, "block status made no progress in '" + top_path + "'");
      }
      if (mine.state != block_state::unallocated) {
        off += mine.length;  // the top's own clusters hide any backing file
        continue;
      }
      // What the guest sees here today comes from the old chain; where the old chain reads
      // zero and so does the new one, nothing can differ.
      const block_extent old_state = VSNAPD_TRY(top->block_status(off, mine.length, true));
      const std::uint64_t n = old_state.length;
      const bool old_zero = old_state.state != block_state::data;
      if (old_zero && VSNAPD_TRY(fresh.reads_zero(off, n))) {
        off += n;
        continue;
      }
      auto ob = bufs[0].first(n);
      auto nb = bufs[1].first(n);
      if (old_zero) {
        std::fill(ob.begin(), ob.end(), std::byte{0});
      } else {
        VSNAPD_CHAIN_TRY_VOID(top->read(off, ob));
      }
      VSNAPD_CHAIN_TRY_VOID(fresh.read(off, nb));
      // Copy only the clusters that differ, runs of them in one write.
      std::uint64_t run_start = 0;
      std::uint64_t run_len = 0;
      const auto flush_run = [&]() -> result<void> {
        if (run_len != 0) {
          if (old_zero) {
            VSNAPD_CHAIN_TRY_VOID(top->write_zeroes(off + run_start, run_len));
          } else {
            VSNAPD_CHAIN_TRY_VOID(top->write(off + run_start, ob.subspan(run_start, run_len)));
          }
          copied += run_len;
          run_len = 0;
        }
        return {};
      };
      for (std::uint64_t c = 0; c < n; c += cluster) {
        const std::uint64_t k = std::min<std::uint64_t>(cluster, n - c);
        if (std::memcmp(ob.data() + c, nb.data() + c, k) != 0) {
          if (run_len == 0) {
            run_start = c;
          }
          run_len += k;
        } else {
          VSNAPD_CHAIN_TRY_VOID(flush_run());
        }
      }
      VSNAPD_CHAIN_TRY_VOID(flush_run());
      off += n;
    }
    return {};
  };
  const auto not_in_top = [](const block_extent& e) { return e.state == block_state::unallocated; };
  if (auto r = run_chunks(size, chunk_of(job, cluster), 2, job, skip_while(*top, false, not_in_top),
                          compare_copy);
      !r) {
    (void)top->flush();
    if (r.error() == errc::cancelled) {
      return fail(errc::cancelled, "rebase of '" + top_path + "' cancelled");
    }
    return r.error();
  }
  // Barrier: the clusters that keep the guest view are durable before the header names the
  // new backing file; a crash before leaves the old, still valid, chain.
  VSNAPD_CHAIN_TRY_VOID(top->flush());
  VSNAPD_CHAIN_TRY_VOID(top->set_backing(opts.backing_file, format));
  VSNAPD_CHAIN_TRY_VOID(top->close());
  return copied.load();
}

}  // namespace vsnapd::storage

#include "storage/posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "storage/errc.hpp"

namespace vsnapd::storage {

namespace {

error_code errno_error(int err, const std::string& what, const std::string& path) {
  std::string detail = what + " '" + path + "': " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT: return fail(errc::no_space, std::move(detail));
    case ENOENT:
    case ENOTDIR: return fail(errc::not_found, std::move(detail));
    case EACCES:
    case EPERM:
    case EROFS: return fail(errc::read_only, std::move(detail));
    default: return fail(errc::io_error, std::move(detail));
  }
}

// O_DIRECT wants buffer address, offset and length aligned to the logical block size; 4096
// covers both 512e and 4Kn devices, so we do not need to probe.
constexpr std::size_t direct_alignment = 4096;

struct aligned_free {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};
using aligned_buffer = std::unique_ptr<std::byte, aligned_free>;

aligned_buffer make_aligned(std::size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, direct_alignment, n) != 0) {
    throw std::bad_alloc();  // out of memory is not a recoverable storage error
  }
  return aligned_buffer(static_cast<std::byte*>(p));
}

class posix_file final : public file {
 public:
  posix_file(int fd, std::string path, bool direct, bool writable)
      : fd_(fd), path_(std::move(path)), direct_(direct), writable_(writable) {}
  ~posix_file() override { ::close(fd_); }

  // storage::file
  result<void> read_at(std::uint64_t offset, std::span<std::byte> buf) override {
    if (direct_ && !aligned(offset, buf.data(), buf.size())) {
      return bounce_read(offset, buf);
    }
    return raw_read(offset, buf);
  }

  result<void> write_at(std::uint64_t offset, std::span<const std::byte> buf) override {
    if (!writable_) {
      return fail(errc::read_only, "write to read-only file '" + path_ + "'");
    }
    if (direct_ && !aligned(offset, buf.data(), buf.size())) {
      return bounce_write(offset, buf);
    }
    return raw_write(offset, buf);
  }

  result<void> flush() override {
    if (::fdatasync(fd_) != 0) {
      return errno_error(errno, "fdatasync", path_);
    }
    return {};
  }

  result<std::uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      return errno_error(errno, "fstat", path_);
    }
    return static_cast<std::uint64_t>(st.st_size);
  }

  result<void> resize(std::uint64_t new_size) override {
    if (::ftruncate(fd_, static_cast<off_t>(new_size)) != 0) {
      return errno_error(errno, "ftruncate", path_);
    }
    return {};
  }

  std::size_t alignment() const override { return direct_ ? direct_alignment : 1; }
  const std::string& name() const override { return path_; }

 private:
  static bool aligned(std::uint64_t offset, const void* p, std::size_t n) {
    return offset % direct_alignment == 0 && n % direct_alignment == 0 &&
           reinterpret_cast<std::uintptr_t>(p) % direct_alignment == 0;
  }

  result<void> raw_read(std::uint64_t offset, std::span<std::byte> buf) {
    std::size_t done = 0;
    while (done < buf.size()) {
      ssize_t n =
          ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errno_error(errno, "read at " + std::to_string(offset + done) + " of", path_);
      }
      if (n == 0) {
        // Past EOF: the rest reads as zero (see file::read_at).
        std::memset(buf.data() + done, 0, buf.size() - done);
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  result<void> raw_write(std::uint64_t offset, std::span<const std::byte> buf) {
    std::size_t done = 0;
    while (done < buf.size()) {
      ssize_t n =
          ::pwrite(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errno_error(errno, "write at " + std::to_string(offset + done) + " of", path_);
      }
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  // Unaligned O_DIRECT requests: widen to aligned blocks in a private buffer. A bounced write
  // is a read-modify-write of its edge blocks; the image layer never issues two concurrent
  // writes that share a block (sub-block guest writes take the exclusive lock).
  result<void> bounce_read(std::uint64_t offset, std::span<std::byte> buf) {
    std::uint64_t start = offset / direct_alignment * direct_alignment;
    std::uint64_t end =
        (offset + buf.size() + direct_alignment - 1) / direct_alignment * direct_alignment;
    auto tmp = make_aligned(end - start);
    auto r = raw_read(start, {tmp.get(), end - start});
    if (!r) {
      return r;
    }
    std::memcpy(buf.data(), tmp.get() + (offset - start), buf.size());
    return {};
  }

  result<void> bounce_write(std::uint64_t offset, std::span<const std::byte> buf) {
    std::uint64_t start = offset / direct_alignment * direct_alignment;
    std::uint64_t end =
        (offset + buf.size() + direct_alignment - 1) / direct_alignment * direct_alignment;
    auto tmp = make_aligned(end - start);
    if (start != offset || end != offset + buf.size()) {
      auto r = raw_read(start, {tmp.get(), end - start});
      if (!r) {
        return r;
      }
    }
    std::memcpy(tmp.get() + (offset - start), buf.data(), buf.size());
    // The widened write may extend the file past its logical end by up to one block; qcow2
    // tolerates that (the tail is never referenced).
    return raw_write(start, {tmp.get(), end - start});
  }

  int fd_;
  std::string path_;
  bool direct_;
  bool writable_;
};

}  // namespace

result<std::unique_ptr<file>> open_posix_file(const std::string& path,
                                              const posix_open_options& options) {
  int flags = O_CLOEXEC;
  bool writable = options.writable || options.create;
  flags |= writable ? O_RDWR : O_RDONLY;
  if (options.create) {
    flags |= O_CREAT | O_TRUNC;
  }
  if (options.direct) {
    flags |= O_DIRECT;
  }
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    int err = errno;
    if (err == EINVAL && options.direct) {
      return fail(errc::unsupported_feature,
                  "O_DIRECT is not supported by the file system of '" + path + "'");
    }
    return errno_error(err, "open", path);
  }
  return std::unique_ptr<file>(new posix_file(fd, path, options.direct, writable));
}

}  // namespace vsnapd::storage

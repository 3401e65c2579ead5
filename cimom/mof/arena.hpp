#pragma once
// A bump allocator for decoded MOF text (strings with escapes or concatenated parts). The full
// DMTF schema has tens of thousands of multi-part Description strings; one block allocation
// per 64 KiB instead of one std::string each keeps the compile fast (issue 3: well under 2 s).

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace vsnapd::cim::mof {

class text_arena {
 public:
  /// Returns @p n writable bytes that stay valid until the arena is destroyed.
  char* allocate(std::size_t n) {
    if (n > left_) {
      const std::size_t size = n > block_size ? n : block_size;
      blocks_.push_back(std::make_unique<char[]>(size));
      cur_ = blocks_.back().get();
      left_ = size;
    }
    char* p = cur_;
    cur_ += n;
    left_ -= n;
    return p;
  }

  /// Gives back the unused tail of the most recent allocate() (@p used <= the size asked for).
  void shrink_last(char* p, std::size_t asked, std::size_t used) {
    if (p + asked == cur_) {
      cur_ -= asked - used;
      left_ += asked - used;
    }
  }

  /// Copies @p s into the arena.
  std::string_view store(std::string_view s) {
    char* p = allocate(s.size());
    if (!s.empty()) {
      std::memcpy(p, s.data(), s.size());
    }
    return {p, s.size()};
  }

 private:
  static constexpr std::size_t block_size = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cur_ = nullptr;
  std::size_t left_ = 0;
};

}  // namespace vsnapd::cim::mof

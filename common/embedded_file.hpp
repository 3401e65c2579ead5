#pragma once
// A file compiled into the binary (cmake/embed_files.cmake): the daemon serves its schema and
// starts on its default configuration without any file installed beside it.

#include <span>
#include <string_view>

namespace vsnapd {

/// One embedded file: its path relative to the embedding folder, and its bytes.
struct embedded_file {
  std::string_view path;
  std::string_view text;
};

}  // namespace vsnapd

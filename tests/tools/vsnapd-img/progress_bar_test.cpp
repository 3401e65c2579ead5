#include "tools/vsnapd-img/progress_bar.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

namespace vsnapd::img {
namespace {

std::string frame(std::uint64_t done, std::uint64_t total, int width = 12) {
  char buf[128];
  progress_bar::render(buf, sizeof buf, done, total, width);
  return buf;
}

TEST_CASE("progress_bar: a frame shows the fraction as bar and percentage", "[img_cli][progress_bar]") {
  CHECK(frame(0, 100) == "[..........]   0.0%");
  CHECK(frame(50, 100) == "[#####.....]  50.0%");
  CHECK(frame(100, 100) == "[##########] 100.0%");
  CHECK(frame(7, 0) == "[##########] 100.0%");   // an empty job is complete
  CHECK(frame(200, 100) == "[##########] 100.0%"); // never past the end
}

TEST_CASE("progress_bar: draws only when enabled and ends its line once", "[img_cli][progress_bar]") {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* mem = ::open_memstream(&text, &size);
  REQUIRE(mem != nullptr);
  {
    progress_bar off(mem, false);
    off.update(1, 2);
  }
  std::fflush(mem);
  CHECK(size == 0);
  {
    progress_bar on(mem, true);
    on.update(1, 4);
    on.update(2, 4);  // within 100 ms of the last frame: skipped
    on.update(4, 4);  // the final frame is always drawn
    on.finish();
    on.finish();
  }
  std::fclose(mem);
  const std::string out(text, size);
  std::free(text);
  CHECK(out.find(" 25.0%") != std::string::npos);
  CHECK(out.find(" 50.0%") == std::string::npos);
  CHECK(out.find("100.0%\n") != std::string::npos);
  CHECK(out.back() == '\n');
  CHECK(out.find("\n") == out.size() - 1);
}

}  // namespace
}  // namespace vsnapd::img

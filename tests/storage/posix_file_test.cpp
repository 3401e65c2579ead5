#include "storage/posix_file.hpp"

#include "storage/errc.hpp"
#include "tests/storage/cow/test_util.hpp"

using namespace vsnapd::storage;

TEST_CASE("posix_file: reads past the end return zeros and writes extend", "[storage][file]") {
  test::temp_dir d;
  posix_open_options o;
  o.create = true;
  auto f = test::must(open_posix_file(d.file("f"), o));
  std::vector<std::byte> data(100, std::byte{7});
  test::must(f->write_at(10, data));
  CHECK(test::must(f->size()) == 110);
  std::vector<std::byte> back(200, std::byte{1});
  test::must(f->read_at(0, back));
  CHECK(back[9] == std::byte{0});
  CHECK(back[10] == std::byte{7});
  CHECK(back[150] == std::byte{0});
  test::must(f->flush());
}

TEST_CASE("posix_file: a missing file is not_found with the path in the detail",
          "[storage][file]") {
  auto r = open_posix_file("/nonexistent/x.qcow2", {});
  REQUIRE(!r);
  CHECK(r.error() == make_error_code(errc::not_found));
  CHECK(last_error_detail().find("/nonexistent/x.qcow2") != std::string::npos);
}

TEST_CASE("posix_file: writes to a read-only file are refused", "[storage][file]") {
  test::temp_dir d;
  posix_open_options o;
  o.create = true;
  { auto f = test::must(open_posix_file(d.file("f"), o)); }
  auto f = test::must(open_posix_file(d.file("f"), {}));
  std::byte b[1]{};
  CHECK(f->write_at(0, b).error() == make_error_code(errc::read_only));
}

#include "storage/cow/format.hpp"

#include <catch2/catch.hpp>

#include "storage/errc.hpp"

using namespace vsnapd::storage;
using namespace vsnapd::storage::qcow2;

TEST_CASE("format: header round-trips with backing name, format and unknown extensions",
          "[storage][format]") {
  header h;
  h.cluster_bits = 16;
  h.size = 1ull << 30;
  h.l1_size = 2;
  h.l1_table_offset = 0x30000;
  h.refcount_table_offset = 0x10000;
  h.refcount_table_clusters = 1;
  h.backing_file = "base.qcow2";
  h.backing_format = "qcow2";
  h.other_extensions.push_back({0x12345678, {std::byte{1}, std::byte{2}, std::byte{3}}});
  auto bytes = serialize_header(h);
  REQUIRE(bytes.has_value());
  CHECK(bytes->size() == 65536);
  auto back = parse_header(*bytes, "x");
  REQUIRE(back.has_value());
  CHECK(back->backing_file == "base.qcow2");
  CHECK(back->backing_format == "qcow2");
  CHECK(back->size == 1ull << 30);
  CHECK(back->header_length == 112);
  REQUIRE(back->other_extensions.size() == 1);
  CHECK(back->other_extensions[0].type == 0x12345678);
  CHECK(back->other_extensions[0].data.size() == 3);
}

TEST_CASE("format: a backing name that does not fit is refused", "[storage][format]") {
  header h;
  h.cluster_bits = 12;
  h.refcount_table_clusters = 1;
  h.backing_file = std::string(2000, 'a');
  auto bytes = serialize_header(h);
  REQUIRE(!bytes);
  CHECK(bytes.error() == make_error_code(errc::invalid_argument));
}

TEST_CASE("format: big-endian helpers", "[storage][format]") {
  std::byte b[8];
  store_be64(b, 0x0102030405060708ull);
  CHECK(b[0] == std::byte{1});
  CHECK(b[7] == std::byte{8});
  CHECK(load_be64(b) == 0x0102030405060708ull);
  store_be32(b, 0xa1b2c3d4u);
  CHECK(load_be32(b) == 0xa1b2c3d4u);
  store_be16(b, 0xbeef);
  CHECK(load_be16(b) == 0xbeef);
  CHECK(vm_state_offset(1, 16) == 512ull << 20);
  CHECK(vm_state_offset(512ull << 20, 16) == 512ull << 20);
}

#include "cimom/persistence/instance_codec.hpp"

#include "cimom/object_path.hpp"

#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

using namespace vsnapd::cim;
using vsnapd::cim::persistence::decode_instance;
using vsnapd::cim::persistence::encode_instance;

namespace {

datetime dt(std::string_view text) { return datetime::parse(text).value(); }

reference ref_to(object_path p) { return std::make_shared<const object_path>(std::move(p)); }

// One value of every CIM type at its edges, scalar and array, plus typed NULLs of each.
instance every_type() {
  instance inner("CIM_Error");
  inner.set("Message", value("inner \"quoted\""));
  inner.set("CIMStatusCode", value(scalar(std::uint32_t{6})));
  instance outer("Msvm_Wrapper");
  outer.set("Nested", value(scalar(std::make_shared<const instance>(inner))));

  object_path vm("root/virtualization/v2", "Msvm_ComputerSystem");
  vm.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  vm.set_key("Name", value("5E2A7B1C-0000-4000-8000-000000000001"));
  object_path setting("root/virtualization/v2", "Msvm_VirtualSystemSettingData");
  setting.set_host("hv01.example");
  setting.set_key("InstanceID", value("Microsoft:ABC"));
  setting.set_key("Count", value(scalar(std::int64_t{-5})));
  setting.set_key("Flag", value(scalar(true)));
  setting.set_key("Owner", value(scalar(ref_to(vm))));  // a reference key
  object_path singleton("root/interop", "CIM_ObjectManager");
  singleton.set_singleton(true);

  instance i("Test_AllTypes");
  i.set("B", value(scalar(true)));
  i.set("U8", value(scalar(std::numeric_limits<std::uint8_t>::max())));
  i.set("S8", value(scalar(std::numeric_limits<std::int8_t>::min())));
  i.set("U16", value(scalar(std::numeric_limits<std::uint16_t>::max())));
  i.set("S16", value(scalar(std::numeric_limits<std::int16_t>::min())));
  i.set("U32", value(scalar(std::numeric_limits<std::uint32_t>::max())));
  i.set("S32", value(scalar(std::numeric_limits<std::int32_t>::min())));
  i.set("U64", value(scalar(std::numeric_limits<std::uint64_t>::max())));
  i.set("S64", value(scalar(std::numeric_limits<std::int64_t>::min())));
  i.set("R32", value(scalar(std::numeric_limits<float>::denorm_min())));
  i.set("R64", value(scalar(-0.0)));
  i.set("R64Inf", value(scalar(-std::numeric_limits<double>::infinity())));
  i.set("R64NaN", value(scalar(std::numeric_limits<double>::quiet_NaN())));
  i.set("R64Pi", value(scalar(3.141592653589793)));
  i.set("C16", value(scalar(char16_t{0xFFFF})));
  i.set("C16Zero", value(scalar(char16_t{0})));
  i.set("Str", value(scalar(std::string("nul\0byte \xC3\xA9 \"\\", 14))));
  i.set("Empty", value(""));
  i.set("Stamp", value(scalar(dt("20261124212132.123456-300"))));
  i.set("Interval", value(scalar(dt("00000000000500.000000:000"))));
  i.set("Wild", value(scalar(dt("2026112421****.******+000"))));
  i.set("Ref", value(scalar(ref_to(setting))));
  i.set("Single", value(scalar(ref_to(singleton))));
  i.set("NullRefPtr", value(scalar(reference())));
  i.set("Obj", value(scalar(std::make_shared<const instance>(outer))));
  i.set("NullObjPtr", value(scalar(embedded_instance())));
  i.set("BoolArr", value::array(cim_type::boolean, {true, false}));
  i.set("U8Arr", value::array(cim_type::uint8, {std::uint8_t{0}, std::uint8_t{255}}));
  i.set("S64Arr", value::array(cim_type::sint64, {std::int64_t{-1}, std::int64_t{1} << 62}));
  i.set("R32Arr", value::array(cim_type::real32, {1.5f, -std::numeric_limits<float>::infinity()}));
  i.set("C16Arr", value::array(cim_type::char16, {char16_t{'a'}, char16_t{0x263A}}));
  i.set("StrArr", value::array(cim_type::string, {std::string("a"), std::string()}));
  i.set("EmptyArr", value::array(cim_type::uint16, {}));
  i.set("DtArr", value::array(cim_type::datetime, {dt("00000001020304.000005:000")}));
  i.set("RefArr", value::array(cim_type::reference, {ref_to(vm), ref_to(setting)}));
  i.set("ObjArr", value::array(cim_type::object, {std::make_shared<const instance>(inner)}));
  for (const auto t : all_cim_types) {
    i.set("Null_" + std::string(to_string(t)), value::null(t));
    i.set("NullArr_" + std::string(to_string(t)), value::null(t, true));
  }
  return i;
}

}  // namespace

TEST_CASE("instance_codec: every CIM type round-trips exactly", "[cimom][persistence][codec]") {
  const instance original = every_type();
  const std::string record = encode_instance(original);
  const auto decoded = decode_instance(record);
  REQUIRE(decoded);
  CHECK(*decoded == original);
  CHECK(decoded->class_name() == "Test_AllTypes");
  // Property order is kept, so a decoded instance prints exactly like the original.
  REQUIRE(decoded->properties().size() == original.properties().size());
  for (std::size_t k = 0; k < original.properties().size(); ++k) {
    CHECK(decoded->properties()[k].name == original.properties()[k].name);
  }
  // value== treats 0.0 == -0.0 and every NaN alike; the codec must keep the exact bits.
  const auto bits64 = [&](std::string_view name) {
    std::uint64_t b = 0;
    const double d = *decoded->get(name)->get_if<double>();
    std::memcpy(&b, &d, sizeof b);
    return b;
  };
  CHECK(bits64("R64") == 0x8000000000000000ull);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t nan_bits = 0;
  std::memcpy(&nan_bits, &nan, sizeof nan_bits);
  CHECK(bits64("R64NaN") == nan_bits);
  CHECK(decoded->get("Str")->get_if<std::string>()->size() == 14);
  CHECK(decoded->get("Stamp")->get_if<datetime>()->text() == "20261124212132.123456-300");
  CHECK(decoded->get("Wild")->get_if<datetime>()->has_wildcards());
  const auto& ref = *decoded->get("Ref")->get_if<reference>();
  REQUIRE(ref);
  CHECK(ref->host() == "hv01.example");
  CHECK(ref->key("Count")->get_if<std::int64_t>() != nullptr);  // key keeps its type
  CHECK(ref->key("Owner")->get_if<reference>() != nullptr);
  CHECK((*decoded->get("Single")->get_if<reference>())->is_singleton());
  CHECK(*decoded->get("NullRefPtr")->get_if<reference>() == nullptr);
  const auto& obj = *decoded->get("Obj")->get_if<embedded_instance>();
  REQUIRE(obj);
  const auto& nested = *obj->get("Nested")->get_if<embedded_instance>();
  REQUIRE(nested);
  CHECK(*nested->get("Message")->get_if<std::string>() == "inner \"quoted\"");
  CHECK(decoded->get("EmptyArr")->is_array());
  CHECK(decoded->get("EmptyArr")->as_array().empty());
  CHECK(decoded->get("NullArr_datetime")->is_null());
  CHECK(decoded->get("NullArr_datetime")->is_array());
  CHECK(decoded->get("NullArr_datetime")->type() == cim_type::datetime);
  // Encoding is deterministic: the same instance gives the same bytes.
  CHECK(encode_instance(*decoded) == record);
}

TEST_CASE("instance_codec: an empty instance and deep nesting within the limit round-trip",
          "[cimom][persistence][codec]") {
  CHECK(*decode_instance(encode_instance(instance())) == instance());
  instance deep("Level0");
  for (int n = 1; n <= 60; ++n) {
    instance outer("Level" + std::to_string(n));
    outer.set("Inner", value(scalar(std::make_shared<const instance>(deep))));
    deep = std::move(outer);
  }
  const auto decoded = decode_instance(encode_instance(deep));
  REQUIRE(decoded);
  CHECK(*decoded == deep);
}

TEST_CASE("instance_codec: corrupt records are refused with the reason",
          "[cimom][persistence][codec]") {
  instance small("C");
  small.set("P", value(scalar(std::uint32_t{7})));
  const std::string good = encode_instance(small);
  // good = "VCI" 01 | 01 'C' | 01 | 01 'P' | type 05 flags 00 | 07 00 00 00
  REQUIRE(good.size() == 15);
  REQUIRE(decode_instance(good));

  // Builds a record from bytes, so hex escapes never swallow the letters after them.
  const auto bytes = [](std::initializer_list<int> b) {
    std::string out;
    for (int c : b) {
      out.push_back(static_cast<char>(c));
    }
    return out;
  };
  const std::string head = bytes({'V', 'C', 'I', 1, 1, 'C', 1});  // class "C", one property
  std::string too_deep = bytes({'V', 'C', 'I', 1});
  for (int n = 0; n < 70; ++n) {
    // class "C", one property "P" of type object (15), present: the next level follows
    too_deep += bytes({1, 'C', 1, 1, 'P', 15, 0, 1});
  }
  const struct {
    const char* what;
    std::string record;
    const char* message;
  } rows[] = {
      {"empty", "", "bad magic"},
      {"wrong magic", "XCI" + good.substr(3), "bad magic"},
      {"newer version", bytes({'V', 'C', 'I', 2}) + good.substr(4), "format version 2"},
      {"truncated value", good.substr(0, good.size() - 1), "truncated record"},
      {"trailing byte", good + "x", "trailing bytes"},
      {"unknown type", good.substr(0, 9) + bytes({16}) + good.substr(10), "unknown CIM type 16"},
      {"unknown flag", good.substr(0, 10) + bytes({4}) + good.substr(11), "unknown value flags 4"},
      {"huge count", bytes({'V', 'C', 'I', 1, 1, 'C', 0xff, 0xff, 0xff, 0xff, 0x0f}),
       "exceeds the record"},
      {"overlong varint",
       bytes({'V', 'C', 'I', 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}),
       "overlong varint"},
      {"bad datetime", head + bytes({1, 'D', 13, 0}) + "20261399000000.000000+000", "bad datetime"},
      {"bad boolean", head + bytes({1, 'B', 0, 0, 2}), "boolean byte 2"},
      {"null key",  // reference, present, empty host/ns/class, one key "K" = NULL string
       head + bytes({1, 'R', 14, 0, 1, 0, 0, 0, 0, 1, 1, 'K', 12, 2}), "is NULL or an array"},
      {"nesting too deep", too_deep, "nested deeper than 64"},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    const auto r = decode_instance(row.record);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::failed);
    CHECK_THAT(r.error().description, Catch::Contains(row.message));
  }
  // Every strict prefix of a valid record is refused, never read past its end.
  const std::string big = encode_instance(every_type());
  for (std::size_t n = 0; n < big.size(); ++n) {
    CHECK_FALSE(decode_instance(std::string_view(big).substr(0, n)));
  }
}

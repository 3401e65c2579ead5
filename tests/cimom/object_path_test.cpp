#include "cimom/object_path.hpp"

#include <catch2/catch.hpp>

#include <unordered_set>

using namespace vsnapd::cim;

TEST_CASE("object_path: canonical form sorts keys and round-trips", "[cimom][object_path]") {
  object_path p("root\\virtualization\\v2", "Msvm_ComputerSystem");
  p.set_key("Name", value("4F3A-\"odd\"\\name"));
  p.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  const std::string text = p.to_string();
  CHECK(text ==
        R"(root/virtualization/v2:Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="4F3A-\"odd\"\\name")");
  auto back = object_path::parse(text);
  REQUIRE(back);
  CHECK(*back == p);
  CHECK(back->to_string() == text);
}

TEST_CASE("object_path: typed keys print in their DSP0207 forms", "[cimom][object_path]") {
  object_path p("root/cimv2", "X_Typed");
  p.set_key("B", value(scalar(true)));
  p.set_key("N", value(scalar(std::int64_t{-5})));
  p.set_key("U", value(scalar(std::uint64_t{18446744073709551615ull})));
  p.set_key("D", value(scalar(*datetime::parse("20261124211315.123456+000"))));
  auto inner = object_path::parse("root/cimv2:X_Inner.Id=\"a,b\"");
  p.set_key("R", value(scalar(reference(std::make_shared<const object_path>(*inner)))));
  CHECK(p.to_string() ==
        R"(root/cimv2:X_Typed.B=TRUE,D="20261124211315.123456+000",N=-5,R="root/cimv2:X_Inner.Id=\"a,b\"",U=18446744073709551615)");
  auto back = object_path::parse(p.to_string());
  REQUIRE(back);
  // Parsing an untyped path yields strings for quoted values; the object manager coerces them.
  CHECK(back->key("B")->get_if<bool>() != nullptr);
  CHECK(*back->key("N")->get_if<std::int64_t>() == -5);
  CHECK(*back->key("U")->get_if<std::uint64_t>() == 18446744073709551615ull);
  CHECK(*back->key("R")->get_if<std::string>() == R"(root/cimv2:X_Inner.Id="a,b")");
  // The text is the same but R and D are now strings: equality sees the type difference.
  CHECK(back->to_string() == p.to_string());
  CHECK_FALSE(*back == p);
}

TEST_CASE("object_path: hosts, singletons and class paths parse", "[cimom][object_path]") {
  auto p = object_path::parse("//host.example:5989/root/interop:CIM_ObjectManager=@");
  REQUIRE(p);
  CHECK(p->host() == "host.example:5989");
  CHECK(p->ns() == "root/interop");
  CHECK(p->is_singleton());
  CHECK(p->to_string() == "//host.example:5989/root/interop:CIM_ObjectManager=@");
  auto c = object_path::parse("CIM_ManagedElement");
  REQUIRE(c);
  CHECK(c->is_class_path());
  CHECK(c->ns().empty());
}

TEST_CASE("object_path: malformed paths are refused with the column", "[cimom][object_path]") {
  struct row {
    const char* text;
    const char* reason;
  };
  const row rows[] = {
      {"", "class name"},
      {"root/cimv2:", "class name"},
      {":X.k=\"1\"", "empty namespace"},
      {"root/cimv2:X.", "key property name"},
      {"root/cimv2:X.k", "'='"},
      {"root/cimv2:X.k=", "key value"},
      {"root/cimv2:X.k=\"1", "unterminated"},
      {"root/cimv2:X.k=\"1\"x", "','"},
      {"root/cimv2:X.k=abc", "number"},
      {"root/cimv2:X.k=1,k=2", "twice"},
      {"root/cimv2:X=1", "=@"},
      {"//hostonly", "//host/"},
      {"root/cimv2:X-Y.k=1", "class name"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    auto p = object_path::parse(r.text);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == errc::invalid_parameter);
    CHECK_THAT(p.error().description, Catch::Contains(r.reason));
  }
}

TEST_CASE("object_path: equality ignores name case and key order, not value case", "[cimom][object_path]") {
  auto a = *object_path::parse("root/CIMV2:cim_foo.b=\"X\",A=1");
  auto b = *object_path::parse("ROOT/cimv2:CIM_Foo.a=1,B=\"X\"");
  auto c = *object_path::parse("root/cimv2:CIM_Foo.A=1,B=\"x\"");
  CHECK(a == b);
  CHECK_FALSE(a == c);
  std::unordered_set<object_path, object_path_hash> set{a};
  CHECK(set.contains(b));
  CHECK_FALSE(set.contains(c));
}

#include "cimom/persistence/instance_codec.hpp"

#include "cimom/object_path.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace vsnapd::cim::persistence {
namespace {

constexpr std::string_view magic = "VCI";
constexpr std::uint8_t format_version = 1;
constexpr std::uint8_t flag_array = 1;
constexpr std::uint8_t flag_null = 2;
// Embedded instances and references nest; a corrupt record must not recurse without bound.
constexpr int max_depth = 64;

class writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  template <class T>
  void fixed(T v) {
    static_assert(std::is_unsigned_v<T>);
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    u8(static_cast<std::uint8_t>(v));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }

  void inst(const instance& i);
  void path(const object_path& p);
  void val(const value& v);
  void element(const scalar& s);

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

template <class To, class From>
To bits_of(From f) {
  static_assert(sizeof(To) == sizeof(From));
  To t;
  std::memcpy(&t, &f, sizeof t);
  return t;
}

void writer::inst(const instance& i) {
  str(i.class_name());
  varint(i.properties().size());
  for (const auto& p : i.properties()) {
    str(p.name);
    val(p.v);
  }
}

void writer::path(const object_path& p) {
  str(p.host());
  str(p.ns());
  str(p.class_name());
  u8(p.is_singleton() ? 1 : 0);
  varint(p.keys().size());
  for (const auto& k : p.keys()) {
    str(k.name);
    val(k.v);
  }
}

void writer::val(const value& v) {
  u8(static_cast<std::uint8_t>(v.type()));
  u8(static_cast<std::uint8_t>((v.is_array() ? flag_array : 0) | (v.is_null() ? flag_null : 0)));
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    element(v.as_scalar());
    return;
  }
  varint(v.as_array().size());
  for (const auto& e : v.as_array()) {
    element(e);
  }
}

void writer::element(const scalar& s) {
  switch (type_of(s)) {
    case cim_type::boolean:
      u8(std::get<bool>(s) ? 1 : 0);
      break;
    case cim_type::uint8:
      u8(std::get<std::uint8_t>(s));
      break;
    case cim_type::sint8:
      u8(static_cast<std::uint8_t>(std::get<std::int8_t>(s)));
      break;
    case cim_type::uint16:
      fixed(std::get<std::uint16_t>(s));
      break;
    case cim_type::sint16:
      fixed(static_cast<std::uint16_t>(std::get<std::int16_t>(s)));
      break;
    case cim_type::uint32:
      fixed(std::get<std::uint32_t>(s));
      break;
    case cim_type::sint32:
      fixed(static_cast<std::uint32_t>(std::get<std::int32_t>(s)));
      break;
    case cim_type::uint64:
      fixed(std::get<std::uint64_t>(s));
      break;
    case cim_type::sint64:
      fixed(static_cast<std::uint64_t>(std::get<std::int64_t>(s)));
      break;
    case cim_type::real32:
      fixed(bits_of<std::uint32_t>(std::get<float>(s)));
      break;
    case cim_type::real64:
      fixed(bits_of<std::uint64_t>(std::get<double>(s)));
      break;
    case cim_type::char16:
      fixed(static_cast<std::uint16_t>(std::get<char16_t>(s)));
      break;
    case cim_type::string:
      str(std::get<std::string>(s));
      break;
    case cim_type::datetime:
      raw(std::get<datetime>(s).text());
      break;
    case cim_type::reference: {
      const auto& r = std::get<reference>(s);
      u8(r ? 1 : 0);
      if (r) {
        path(*r);
      }
      break;
    }
    case cim_type::object: {
      const auto& e = std::get<embedded_instance>(s);
      u8(e ? 1 : 0);
      if (e) {
        inst(*e);
      }
      break;
    }
  }
}

// Reads a record; every read checks the remaining length, and the first failure sticks with
// the offset where it happened so the caller can report it.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == in_.size(); }

  void fail_at(std::string what) {
    if (error_.empty()) {
      error_ = std::move(what) + " at byte " + std::to_string(pos_);
    }
  }

  std::optional<std::string_view> bytes(std::size_t n) {
    if (!ok() || in_.size() - pos_ < n) {
      fail_at("truncated record");
      return std::nullopt;
    }
    const auto out = in_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::uint8_t u8() {
    const auto b = bytes(1);
    return b ? static_cast<std::uint8_t>((*b)[0]) : 0;
  }
  template <class T>
  T fixed() {
    const auto b = bytes(sizeof(T));
    if (!b) {
      return 0;
    }
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<T>(static_cast<T>(static_cast<std::uint8_t>((*b)[i])) << (8 * i));
    }
    return v;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = u8();
      if (!ok()) {
        return 0;
      }
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    fail_at("overlong varint");
    return 0;
  }
  // A count of items that each take at least one byte: larger than the rest of the record
  // means corruption, and refusing it early keeps a corrupt count from reserving gigabytes.
  std::size_t count() {
    const std::uint64_t n = varint();
    if (ok() && n > in_.size() - pos_) {
      fail_at("count " + std::to_string(n) + " exceeds the record");
      return 0;
    }
    return static_cast<std::size_t>(n);
  }
  std::string str() {
    const std::size_t n = count();
    const auto b = bytes(n);
    return b ? std::string(*b) : std::string();
  }

  instance inst(int depth);
  object_path path(int depth);
  value val(int depth);
  scalar element(cim_type t, int depth);

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  std::string error_;
};

instance reader::inst(int depth) {
  if (depth > max_depth) {
    fail_at("embedded instances nested deeper than " + std::to_string(max_depth));
    return {};
  }
  instance out(str());
  const std::size_t n = count();
  for (std::size_t i = 0; i < n && ok(); ++i) {
    std::string name = str();
    value v = val(depth);
    // Push directly: names are unique in a record we wrote, and set() would make decoding
    // quadratic in the number of properties.
    out.properties().push_back(property_value{std::move(name), std::move(v)});
  }
  return out;
}

object_path reader::path(int depth) {
  if (depth > max_depth) {
    fail_at("references nested deeper than " + std::to_string(max_depth));
    return {};
  }
  std::string host = str();
  std::string ns = str();
  std::string cls = str();
  const bool singleton = u8() != 0;
  object_path out(std::move(ns), std::move(cls));
  out.set_host(std::move(host));
  out.set_singleton(singleton);
  const std::size_t n = count();
  for (std::size_t i = 0; i < n && ok(); ++i) {
    std::string name = str();
    value v = val(depth);
    if (ok() && (v.is_null() || v.is_array())) {
      fail_at("key " + name + " is NULL or an array");
    }
    if (ok()) {
      out.set_key(std::move(name), std::move(v));
    }
  }
  return out;
}

value reader::val(int depth) {
  const std::uint8_t t = u8();
  const std::uint8_t flags = u8();
  if (!ok()) {
    return {};
  }
  if (t > static_cast<std::uint8_t>(cim_type::object)) {
    fail_at("unknown CIM type " + std::to_string(t));
    return {};
  }
  if ((flags & ~(flag_array | flag_null)) != 0) {
    fail_at("unknown value flags " + std::to_string(flags));
    return {};
  }
  const auto type = static_cast<cim_type>(t);
  const bool is_array = (flags & flag_array) != 0;
  if ((flags & flag_null) != 0) {
    return value::null(type, is_array);
  }
  if (!is_array) {
    scalar s = element(type, depth);
    return ok() ? value(std::move(s)) : value();
  }
  const std::size_t n = count();
  std::vector<scalar> items;
  items.reserve(n);
  for (std::size_t i = 0; i < n && ok(); ++i) {
    items.push_back(element(type, depth));
  }
  return ok() ? value::array(type, std::move(items)) : value();
}

scalar reader::element(cim_type t, int depth) {
  switch (t) {
    case cim_type::boolean: {
      const std::uint8_t b = u8();
      if (b > 1) {
        fail_at("boolean byte " + std::to_string(b));
      }
      return b != 0;
    }
    case cim_type::uint8:
      return u8();
    case cim_type::sint8:
      return static_cast<std::int8_t>(u8());
    case cim_type::uint16:
      return fixed<std::uint16_t>();
    case cim_type::sint16:
      return static_cast<std::int16_t>(fixed<std::uint16_t>());
    case cim_type::uint32:
      return fixed<std::uint32_t>();
    case cim_type::sint32:
      return static_cast<std::int32_t>(fixed<std::uint32_t>());
    case cim_type::uint64:
      return fixed<std::uint64_t>();
    case cim_type::sint64:
      return static_cast<std::int64_t>(fixed<std::uint64_t>());
    case cim_type::real32:
      return bits_of<float>(fixed<std::uint32_t>());
    case cim_type::real64:
      return bits_of<double>(fixed<std::uint64_t>());
    case cim_type::char16:
      return static_cast<char16_t>(fixed<std::uint16_t>());
    case cim_type::string:
      return str();
    case cim_type::datetime: {
      const auto b = bytes(25);
      if (!b) {
        return datetime();
      }
      auto dt = datetime::parse(*b);
      if (!dt) {
        fail_at("bad datetime: " + dt.error().description);
        return datetime();
      }
      return *dt;
    }
    case cim_type::reference: {
      if (u8() == 0) {
        return reference();
      }
      auto p = path(depth + 1);
      return ok() ? std::make_shared<const object_path>(std::move(p)) : reference();
    }
    case cim_type::object: {
      if (u8() == 0) {
        return embedded_instance();
      }
      auto i = inst(depth + 1);
      return ok() ? std::make_shared<const instance>(std::move(i)) : embedded_instance();
    }
  }
  fail_at("unknown CIM type");
  return false;
}

}  // namespace

std::string encode_instance(const instance& inst) {
  writer w;
  w.raw(magic);
  w.u8(format_version);
  w.inst(inst);
  return w.take();
}

result<instance> decode_instance(std::string_view record) {
  reader r(record);
  const auto m = r.bytes(magic.size());
  if (!m || *m != magic) {
    return fail(errc::failed, "corrupt instance record: bad magic");
  }
  if (const std::uint8_t v = r.u8(); r.ok() && v != format_version) {
    return fail(errc::failed,
                "instance record has format version " + std::to_string(v) + ", expected 1");
  }
  instance out = r.inst(0);
  if (r.ok() && !r.at_end()) {
    r.fail_at("trailing bytes");
  }
  if (!r.ok()) {
    return fail(errc::failed, "corrupt instance record: " + r.error());
  }
  return out;
}

}  // namespace vsnapd::cim::persistence

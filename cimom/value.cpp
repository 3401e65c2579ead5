#include "cimom/value.hpp"

#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "common/assert.hpp"
#include "common/text.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>

namespace vsnapd::cim {
namespace {

template <class T>
bool fits(std::int64_t v) {
  return v >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
         (v < 0 || static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max()));
}
template <class T>
bool fits_unsigned(std::uint64_t v) {
  return v <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
}

// Builds the integer scalar of `type` from a magnitude and sign, range-checked.
result<scalar> make_integer(cim_type type, bool negative, std::uint64_t magnitude, std::string_view text) {
  const auto out_of_range = [&] {
    return fail(errc::invalid_parameter,
                "value " + std::string(text) + " is out of range for " + std::string(to_string(type)));
  };
  if (!is_signed_integer(type)) {
    if (negative && magnitude != 0) {
      return out_of_range();
    }
    switch (type) {
      case cim_type::uint8:
        if (!fits_unsigned<std::uint8_t>(magnitude)) return out_of_range();
        return scalar(static_cast<std::uint8_t>(magnitude));
      case cim_type::uint16:
        if (!fits_unsigned<std::uint16_t>(magnitude)) return out_of_range();
        return scalar(static_cast<std::uint16_t>(magnitude));
      case cim_type::uint32:
        if (!fits_unsigned<std::uint32_t>(magnitude)) return out_of_range();
        return scalar(static_cast<std::uint32_t>(magnitude));
      default:
        return scalar(magnitude);
    }
  }
  constexpr std::uint64_t max_neg = std::uint64_t{1} << 63;
  if (negative ? magnitude > max_neg : magnitude >= max_neg) {
    return out_of_range();
  }
  const std::int64_t v = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  switch (type) {
    case cim_type::sint8:
      if (!fits<std::int8_t>(v)) return out_of_range();
      return scalar(static_cast<std::int8_t>(v));
    case cim_type::sint16:
      if (!fits<std::int16_t>(v)) return out_of_range();
      return scalar(static_cast<std::int16_t>(v));
    case cim_type::sint32:
      if (!fits<std::int32_t>(v)) return out_of_range();
      return scalar(static_cast<std::int32_t>(v));
    default:
      return scalar(v);
  }
}

result<scalar> parse_integer(cim_type type, std::string_view text) {
  std::string_view t = text;
  bool negative = false;
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) {
    negative = t.front() == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), magnitude, base);
  if (t.empty() || end != t.data() + t.size()) {
    return fail(errc::invalid_parameter,
                "'" + std::string(text) + "' is not a valid " + std::string(to_string(type)));
  }
  if (ec == std::errc::result_out_of_range) {
    return fail(errc::invalid_parameter,
                "value " + std::string(text) + " is out of range for " + std::string(to_string(type)));
  }
  return make_integer(type, negative, magnitude, text);
}

template <class F>
result<scalar> parse_real(cim_type type, std::string_view text) {
  std::string_view t = text;
  F v{};
  // The XML Schema spellings, case-sensitive as xs:double defines them (DSP0201, DSP0230).
  if (t == "INF" || t == "+INF") {
    v = std::numeric_limits<F>::infinity();
  } else if (t == "-INF") {
    v = -std::numeric_limits<F>::infinity();
  } else if (t == "NaN") {
    v = std::numeric_limits<F>::quiet_NaN();
  } else {
    if (!t.empty() && t.front() == '+') {
      t.remove_prefix(1);
    }
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    // from_chars also accepts "inf"/"nan" spellings; DSP0201 allows only the forms above.
    const bool has_letters_only_special = !t.empty() && (t.front() == 'i' || t.front() == 'I' ||
                                                        t.front() == 'n' || t.front() == 'N');
    if (t.empty() || end != t.data() + t.size() || has_letters_only_special) {
      return fail(errc::invalid_parameter,
                  "'" + std::string(text) + "' is not a valid " + std::string(to_string(type)));
    }
    if (ec == std::errc::result_out_of_range) {
      return fail(errc::invalid_parameter,
                  "value " + std::string(text) + " is out of range for " + std::string(to_string(type)));
    }
  }
  return scalar(v);
}

template <class F>
std::string real_text(F v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v < 0 ? "-INF" : "INF";
  }
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  VSNAPD_CHECK(ec == std::errc());
  return std::string(buf, end);
}

// Decodes exactly one UTF-8 encoded BMP code point (char16 holds one UCS-2 character).
result<scalar> parse_char16(std::string_view text) {
  const auto bad = [&] {
    return fail(errc::invalid_parameter,
                "'" + std::string(text) + "' is not a single char16 character");
  };
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  char32_t cp = 0;
  std::size_t len = 0;
  if (n == 0) {
    return bad();
  }
  if (s[0] < 0x80) {
    cp = s[0];
    len = 1;
  } else if ((s[0] & 0xE0) == 0xC0) {
    cp = s[0] & 0x1F;
    len = 2;
  } else if ((s[0] & 0xF0) == 0xE0) {
    cp = s[0] & 0x0F;
    len = 3;
  } else {
    return bad();  // 4-byte sequences are outside the BMP
  }
  if (n != len) {
    return bad();
  }
  for (std::size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      return bad();
    }
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return bad();
  }
  return scalar(static_cast<char16_t>(cp));
}

bool scalar_equal(const scalar& a, const scalar& b) {
  if (a.index() != b.index()) {
    return false;
  }
  switch (type_of(a)) {
    case cim_type::real32: {
      const float x = std::get<float>(a);
      const float y = std::get<float>(b);
      return x == y || (std::isnan(x) && std::isnan(y));
    }
    case cim_type::real64: {
      const double x = std::get<double>(a);
      const double y = std::get<double>(b);
      return x == y || (std::isnan(x) && std::isnan(y));
    }
    case cim_type::reference: {
      const auto& x = std::get<reference>(a);
      const auto& y = std::get<reference>(b);
      return x == y || (x && y && *x == *y);
    }
    case cim_type::object: {
      const auto& x = std::get<embedded_instance>(a);
      const auto& y = std::get<embedded_instance>(b);
      return x == y || (x && y && *x == *y);
    }
    default:
      return a == b;
  }
}

}  // namespace

value value::null(cim_type type, bool is_array) {
  value v;
  v.type_ = type;
  v.is_array_ = is_array;
  return v;
}

value::value(scalar s) : type_(type_of(s)), data_(std::move(s)) {}

value value::array(cim_type type, std::vector<scalar> elements) {
  for (const auto& e : elements) {
    VSNAPD_CHECK(type_of(e) == type);
  }
  value v;
  v.type_ = type;
  v.is_array_ = true;
  v.data_ = std::move(elements);
  return v;
}

const scalar& value::as_scalar() const {
  VSNAPD_CHECK(std::holds_alternative<scalar>(data_));
  return std::get<scalar>(data_);
}

const std::vector<scalar>& value::as_array() const {
  VSNAPD_CHECK(std::holds_alternative<std::vector<scalar>>(data_));
  return std::get<std::vector<scalar>>(data_);
}

bool operator==(const value& a, const value& b) {
  if (a.type_ != b.type_ || a.is_array_ != b.is_array_ || a.data_.index() != b.data_.index()) {
    return false;
  }
  if (a.is_null()) {
    return true;
  }
  if (!a.is_array_) {
    return scalar_equal(a.as_scalar(), b.as_scalar());
  }
  const auto& x = a.as_array();
  const auto& y = b.as_array();
  if (x.size() != y.size()) {
    return false;
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!scalar_equal(x[i], y[i])) {
      return false;
    }
  }
  return true;
}

std::string to_text(const scalar& s) {
  switch (type_of(s)) {
    case cim_type::boolean: return std::get<bool>(s) ? "true" : "false";
    case cim_type::uint8: return std::to_string(std::get<std::uint8_t>(s));
    case cim_type::sint8: return std::to_string(std::get<std::int8_t>(s));
    case cim_type::uint16: return std::to_string(std::get<std::uint16_t>(s));
    case cim_type::sint16: return std::to_string(std::get<std::int16_t>(s));
    case cim_type::uint32: return std::to_string(std::get<std::uint32_t>(s));
    case cim_type::sint32: return std::to_string(std::get<std::int32_t>(s));
    case cim_type::uint64: return std::to_string(std::get<std::uint64_t>(s));
    case cim_type::sint64: return std::to_string(std::get<std::int64_t>(s));
    case cim_type::real32: return real_text(std::get<float>(s));
    case cim_type::real64: return real_text(std::get<double>(s));
    case cim_type::char16: {
      std::string out;
      append_utf8(out, std::get<char16_t>(s));
      return out;
    }
    case cim_type::string: return std::get<std::string>(s);
    case cim_type::datetime: return std::string(std::get<datetime>(s).text());
    case cim_type::reference: {
      const auto& r = std::get<reference>(s);
      return r ? r->to_string() : std::string();
    }
    case cim_type::object: return {};
  }
  return {};
}

result<scalar> parse_scalar(cim_type type, std::string_view text) {
  switch (type) {
    case cim_type::boolean:
      if (iequals(text, "true") || text == "1") {
        return scalar(true);
      }
      if (iequals(text, "false") || text == "0") {
        return scalar(false);
      }
      return fail(errc::invalid_parameter, "'" + std::string(text) + "' is not a valid boolean");
    case cim_type::uint8:
    case cim_type::sint8:
    case cim_type::uint16:
    case cim_type::sint16:
    case cim_type::uint32:
    case cim_type::sint32:
    case cim_type::uint64:
    case cim_type::sint64: return parse_integer(type, text);
    case cim_type::real32: return parse_real<float>(type, text);
    case cim_type::real64: return parse_real<double>(type, text);
    case cim_type::char16: return parse_char16(text);
    case cim_type::string: return scalar(std::string(text));
    case cim_type::datetime: {
      auto dt = VSNAPD_TRY(datetime::parse(text));
      return scalar(dt);
    }
    case cim_type::reference: {
      auto path = VSNAPD_TRY(object_path::parse(text));
      return scalar(std::make_shared<const object_path>(std::move(path)));
    }
    case cim_type::object:
      return fail(errc::type_mismatch, "an embedded instance has no plain-text form");
  }
  return fail(errc::type_mismatch, "unknown CIM type");
}

namespace {

result<scalar> convert_scalar(const scalar& s, cim_type to) {
  const cim_type from = type_of(s);
  if (from == to) {
    return s;
  }
  if (from == cim_type::string) {
    return parse_scalar(to, std::get<std::string>(s));
  }
  if (is_integer(from) && (is_integer(to) || is_real(to))) {
    bool negative = false;
    std::uint64_t magnitude = 0;
    std::visit(
        [&](auto x) {
          using X = decltype(x);
          if constexpr (std::is_integral_v<X> && !std::is_same_v<X, bool> && !std::is_same_v<X, char16_t>) {
            if constexpr (std::is_signed_v<X>) {
              negative = x < 0;
              magnitude = negative ? 0 - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
            } else {
              magnitude = x;
            }
          }
        },
        s);
    if (is_real(to)) {
      const double d = negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
      return to == cim_type::real32 ? scalar(static_cast<float>(d)) : scalar(d);
    }
    return make_integer(to, negative, magnitude, to_text(s));
  }
  if (from == cim_type::real32 && to == cim_type::real64) {
    return scalar(static_cast<double>(std::get<float>(s)));
  }
  if (from == cim_type::real64 && to == cim_type::real32) {
    const double d = std::get<double>(s);
    if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
      return fail(errc::invalid_parameter, "value " + to_text(s) + " is out of range for real32");
    }
    return scalar(static_cast<float>(d));
  }
  return fail(errc::type_mismatch, "cannot convert a " + std::string(to_string(from)) + " value to " +
                                       std::string(to_string(to)));
}

}  // namespace

result<value> convert(const value& v, cim_type type, bool is_array) {
  if (v.is_null()) {
    return value::null(type, is_array);
  }
  if (!is_array) {
    if (v.is_array()) {
      return fail(errc::type_mismatch, "expected a single " + std::string(to_string(type)) +
                                           " value, got an array");
    }
    if (v.type() == type) {
      return v;
    }
    return value(VSNAPD_TRY(convert_scalar(v.as_scalar(), type)));
  }
  if (v.is_array() && v.type() == type) {
    return v;
  }
  std::vector<scalar> out;
  if (v.is_array()) {
    out.reserve(v.as_array().size());
    for (const auto& e : v.as_array()) {
      out.push_back(VSNAPD_TRY(convert_scalar(e, type)));
    }
  } else {
    out.push_back(VSNAPD_TRY(convert_scalar(v.as_scalar(), type)));
  }
  return value::array(type, std::move(out));
}

std::ostream& operator<<(std::ostream& os, const value& v) {
  if (v.is_null()) {
    return os << "NULL";
  }
  if (!v.is_array()) {
    return os << to_text(v.as_scalar());
  }
  os << '{';
  const char* sep = "";
  for (const auto& e : v.as_array()) {
    os << sep << to_text(e);
    sep = ",";
  }
  return os << '}';
}

}  // namespace vsnapd::cim

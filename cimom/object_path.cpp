#include "cimom/object_path.hpp"

#include "cimom/name.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>

namespace vsnapd::cim {
namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
}

void append_key_value(std::string& out, const value& v) {
  if (v.is_null() || v.is_array()) {
    out += "NULL";
    return;
  }
  const scalar& s = v.as_scalar();
  switch (type_of(s)) {
    case cim_type::boolean: out += std::get<bool>(s) ? "TRUE" : "FALSE"; return;
    case cim_type::string:
    case cim_type::char16:
    case cim_type::datetime:
    case cim_type::reference: append_quoted(out, to_text(s)); return;
    default: out += to_text(s); return;
  }
}

result<object_path> parse_error(std::string_view text, std::size_t col, std::string_view what) {
  return fail(errc::invalid_parameter, "invalid object path '" + std::string(text) + "' at column " +
                                           std::to_string(col + 1) + ": " + std::string(what));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

object_path::object_path(std::string ns, std::string class_name, std::vector<key_binding> keys)
    : ns_(normalize_namespace(ns)), class_name_(std::move(class_name)) {
  for (auto& k : keys) {
    set_key(std::move(k.name), std::move(k.v));
  }
}

void object_path::set_key(std::string name, value v) {
  const auto it = std::lower_bound(keys_.begin(), keys_.end(), name,
                                   [](const key_binding& k, const std::string& n) { return name_less{}(k.name, n); });
  if (it != keys_.end() && name_equal(it->name, name)) {
    it->v = std::move(v);
  } else {
    keys_.insert(it, key_binding{std::move(name), std::move(v)});
  }
}

const value* object_path::key(std::string_view name) const {
  for (const auto& k : keys_) {
    if (name_equal(k.name, name)) {
      return &k.v;
    }
  }
  return nullptr;
}

std::string object_path::model_path() const {
  std::string out = class_name_;
  if (singleton_) {
    out += "=@";
    return out;
  }
  char sep = '.';
  for (const auto& k : keys_) {
    out += sep;
    sep = ',';
    out += k.name;
    out += '=';
    append_key_value(out, k.v);
  }
  return out;
}

std::string object_path::to_string() const {
  std::string out;
  if (!host_.empty()) {
    out += "//";
    out += host_;
    out += '/';
  }
  if (!ns_.empty()) {
    out += ns_;
    out += ':';
  }
  out += model_path();
  return out;
}

result<object_path> object_path::parse(std::string_view text) {
  object_path out;
  std::size_t pos = 0;
  if (text.starts_with("//")) {
    const std::size_t slash = text.find('/', 2);
    if (slash == std::string_view::npos || slash == 2) {
      return parse_error(text, 2, "expected '//host/namespace:Class'");
    }
    out.host_ = std::string(text.substr(2, slash - 2));
    pos = slash + 1;
  }
  // The model path starts after the last ':' that precedes the first '.', '=' or '"'.
  const std::size_t stop = text.find_first_of(".=\"", pos);
  const std::string_view head = text.substr(pos, stop == std::string_view::npos ? std::string_view::npos : stop - pos);
  const std::size_t colon = head.rfind(':');
  std::string_view class_name = head;
  if (colon != std::string_view::npos) {
    out.ns_ = normalize_namespace(head.substr(0, colon));
    class_name = head.substr(colon + 1);
    if (out.ns_.empty()) {
      return parse_error(text, pos, "empty namespace before ':'");
    }
  }
  if (class_name.empty() || !std::all_of(class_name.begin(), class_name.end(), is_name_char)) {
    return parse_error(text, pos + (colon == std::string_view::npos ? 0 : colon + 1),
                       "expected a class name");
  }
  out.class_name_ = std::string(class_name);
  if (stop == std::string_view::npos) {
    return out;
  }
  pos = stop;
  if (text[pos] == '=') {
    if (text.substr(pos) != "=@") {
      return parse_error(text, pos, "expected '=@' for a singleton instance");
    }
    out.singleton_ = true;
    return out;
  }
  if (text[pos] != '.') {
    return parse_error(text, pos, "expected '.' before the key bindings");
  }
  ++pos;
  while (true) {
    const std::size_t name_start = pos;
    while (pos < text.size() && is_name_char(text[pos])) {
      ++pos;
    }
    if (pos == name_start) {
      return parse_error(text, pos, "expected a key property name");
    }
    std::string name(text.substr(name_start, pos - name_start));
    if (pos >= text.size() || text[pos] != '=') {
      return parse_error(text, pos, "expected '=' after key name " + name);
    }
    ++pos;
    if (out.key(name) != nullptr) {
      return parse_error(text, name_start, "key " + name + " appears twice");
    }
    if (pos < text.size() && text[pos] == '"') {
      std::string s;
      ++pos;
      bool closed = false;
      while (pos < text.size()) {
        const char c = text[pos++];
        if (c == '\\' && pos < text.size()) {
          s += text[pos++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          s += c;
        }
      }
      if (!closed) {
        return parse_error(text, pos, "unterminated quoted key value");
      }
      out.set_key(std::move(name), value(scalar(std::move(s))));
    } else {
      const std::size_t v_start = pos;
      while (pos < text.size() && text[pos] != ',') {
        ++pos;
      }
      const std::string_view raw = text.substr(v_start, pos - v_start);
      if (raw.empty()) {
        return parse_error(text, v_start, "expected a key value");
      }
      if (iequals(raw, "TRUE") || iequals(raw, "FALSE")) {
        out.set_key(std::move(name), value(scalar(iequals(raw, "TRUE"))));
      } else if (raw.front() == '-') {
        auto v = parse_scalar(cim_type::sint64, raw);
        if (!v) {
          v = parse_scalar(cim_type::real64, raw);
        }
        if (!v) {
          return parse_error(text, v_start, "expected a number, TRUE, FALSE or a quoted string");
        }
        out.set_key(std::move(name), value(std::move(*v)));
      } else {
        auto v = parse_scalar(cim_type::uint64, raw);
        if (!v) {
          v = parse_scalar(cim_type::real64, raw);
        }
        if (!v) {
          return parse_error(text, v_start, "expected a number, TRUE, FALSE or a quoted string");
        }
        out.set_key(std::move(name), value(std::move(*v)));
      }
    }
    if (pos == text.size()) {
      break;
    }
    if (text[pos] != ',') {
      return parse_error(text, pos, "expected ',' between key bindings");
    }
    ++pos;
  }
  return out;
}

bool operator==(const object_path& a, const object_path& b) {
  if (!name_equal(a.ns_, b.ns_) || !name_equal(a.class_name_, b.class_name_) ||
      a.singleton_ != b.singleton_ || a.keys_.size() != b.keys_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.keys_.size(); ++i) {
    if (!name_equal(a.keys_[i].name, b.keys_[i].name) || !(a.keys_[i].v == b.keys_[i].v)) {
      return false;
    }
  }
  return true;
}

std::size_t object_path_hash::operator()(const object_path& p) const {
  name_hash h;
  std::size_t out = h(p.ns()) * 31 + h(p.class_name());
  for (const auto& k : p.keys()) {
    std::string v;
    append_key_value(v, k.v);
    out = out * 131 + h(k.name) * 7 + std::hash<std::string>{}(v);
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const object_path& p) { return os << p.to_string(); }

std::string normalize_namespace(std::string_view ns) {
  std::string out(ns);
  std::replace(out.begin(), out.end(), '\\', '/');
  while (!out.empty() && out.front() == '/') {
    out.erase(out.begin());
  }
  while (!out.empty() && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

}  // namespace vsnapd::cim

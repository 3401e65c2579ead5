#pragma once
// Object paths (DSP0004 section 8.2, DSP0207): an optional host, a namespace, a class name and,
// for instance paths, the key bindings. Keys keep their CIM type, so a path converts exactly to
// a CIM-XML INSTANCENAME (KEYVALUE VALUETYPE/TYPE, VALUE.REFERENCE) and to a WS-Man EPR (selectors,
// nested EPRs for references) and back. Names compare case-insensitively; values exactly.

#include "cimom/error.hpp"
#include "cimom/value.hpp"

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {

/// One key property and its value (never NULL, never an array).
struct key_binding {
  std::string name;
  value v;
};

/// A class path (no keys) or an instance path (keys, or `singleton` for a keyless class).
class object_path {
 public:
  object_path() = default;
  object_path(std::string ns, std::string class_name, std::vector<key_binding> keys = {});

  /// Parses the canonical form printed by to_string, and the untyped WBEM URI form DSP0207
  /// clients write: `[//host/]namespace:Class[.k1="v",k2=3 | =@]`. Quoted values become strings
  /// (the object manager coerces them to the key's schema type), TRUE/FALSE booleans, unquoted
  /// numbers sint64/uint64/real64. @return errc::invalid_parameter with the offending column.
  static result<object_path> parse(std::string_view text);

  const std::string& host() const { return host_; }
  const std::string& ns() const { return ns_; }
  const std::string& class_name() const { return class_name_; }
  const std::vector<key_binding>& keys() const { return keys_; }
  /// True for an instance of a keyless (singleton) class, printed `Class=@`.
  bool is_singleton() const { return singleton_; }
  /// True when this names a class, not an instance.
  bool is_class_path() const { return keys_.empty() && !singleton_; }

  void set_host(std::string host) { host_ = std::move(host); }
  void set_ns(std::string ns) { ns_ = std::move(ns); }
  void set_class_name(std::string name) { class_name_ = std::move(name); }
  void set_singleton(bool s) { singleton_ = s; }
  /// Adds or replaces a key binding; keys stay sorted case-insensitively by name.
  void set_key(std::string name, value v);
  /// The key's value, or nullptr.
  const value* key(std::string_view name) const;

  /// The canonical form: keys sorted by folded name, strings/datetime/char16/references quoted
  /// with `\"` and `\\` escaped, booleans TRUE/FALSE, numbers in decimal. Namespace separator is
  /// '/'; a path without a namespace prints just the model path (`Class.k="v"`).
  std::string to_string() const;
  /// The model path only (no host, no namespace).
  std::string model_path() const;

  /// Namespace, class and key names case-insensitively; key values exactly. The host is ignored
  /// (one server, many spellings of its name).
  friend bool operator==(const object_path& a, const object_path& b);

 private:
  std::string host_;
  std::string ns_;
  std::string class_name_;
  std::vector<key_binding> keys_;  ///< sorted by name_less
  bool singleton_ = false;
};

/// Hash consistent with operator== (folded names, canonical values).
struct object_path_hash {
  std::size_t operator()(const object_path& p) const;
};

/// Prints the canonical form.
std::ostream& operator<<(std::ostream& os, const object_path& p);

/// Normalizes a namespace name: '\\' separators (Windows clients write root\\virtualization\\v2)
/// become '/', leading/trailing '/' are dropped.
std::string normalize_namespace(std::string_view ns);

}  // namespace vsnapd::cim

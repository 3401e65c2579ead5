#pragma once
// A compact binary serialization of cim::instance for the instance store (STYLE rule 5: format
// code apart from the SQLite code that stores it, testable without I/O). It round-trips every
// CIM value exactly: each value carries its type, array-ness and NULL-ness; reals are stored as
// their bit patterns (so -0.0, NaN payloads and infinities survive), datetimes as their 25
// characters, references as structured object paths (keys keep their types) and embedded
// instances recursively.
//
// Layout (all integers little-endian; `varint` is LEB128, at most 10 bytes):
//   record   := "VCI" version(u8 = 1) instance
//   instance := str(class) varint(count) property*
//   property := str(name) value
//   value    := u8(type: cim_type) u8(flags: 1 array, 2 null) [varint(n)] element*
//   element  := bool u8 | intN/uintN fixed width | real32 u32 bits | real64 u64 bits |
//               char16 u16 | string str | datetime 25 bytes | reference u8(present) [path] |
//               object u8(present) [instance]
//   path     := str(host) str(ns) str(class) u8(singleton) varint(keys) (str(name) value)*
//   str      := varint(length) bytes

#include "cimom/error.hpp"
#include "cimom/instance.hpp"

#include <string>
#include <string_view>

namespace vsnapd::cim::persistence {

/// Encodes `inst` into a self-describing record. Never fails.
std::string encode_instance(const instance& inst);

/// Decodes a record written by encode_instance.
/// @return the instance, or errc::failed saying what is corrupt and at which byte offset
/// (truncation, unknown type, bad datetime, nesting deeper than 64 levels, trailing bytes).
result<instance> decode_instance(std::string_view record);

}  // namespace vsnapd::cim::persistence

#pragma once
// Random (version 4) UUIDs, for every identifier vsnapd invents: WS-Man MessageIDs and
// enumeration contexts, job InstanceIDs, VM and snapshot ids.

#include <string>

namespace vsnapd {

enum class uuid_case : bool { lower, upper };

/// A version 4 UUID in its 36-character text form ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx").
/// Unpredictable (seeded per thread from std::random_device) and thread-safe. Upper case is
/// Hyper-V's form for GUIDs such as job InstanceIDs.
std::string random_uuid(uuid_case c = uuid_case::lower);

}  // namespace vsnapd

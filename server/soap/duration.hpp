#pragma once
// xs:duration (XML Schema part 2, section 3.2.6) as WS-Management carries it: OperationTimeout,
// MaxTime, Expires and DSP0230 cim:Interval values. Only day-time durations are meaningful here;
// years and months are accepted only as zero because their length in seconds is not fixed.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vsnapd::server::soap {

/// Parses `PnDTnHnMn.nS` (and the P0Y0M prefix forms real clients send, e.g. `PT60.000S`).
/// Fractions beyond microseconds are truncated. @return nullopt for malformed text, negative
/// durations, non-zero years or months, or values beyond 99999999 days.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text);

/// Appends the canonical `PnDTnHnMn.nnnnnnS` form of `micros` (zero fields omitted; `PT0S`).
void append_duration(std::string& out, std::uint64_t micros);

}  // namespace vsnapd::server::soap

// The two event formats, documented in docs/events.md: NDJSON (huatuo
// dropwatch field names plus ours) and Retis-like text.
#pragma once

#include <string>

#include "events/event.h"

namespace dw::events {

// Appends one JSON object and a newline; with `packet_data`, the captured
// bytes too ("packet", base64, and "packet_link": "ether" or "raw").
void format_json(const DropEvent& ev, std::string& out, bool packet_data = false);
// Appends the header line, the packet line and the stack, each ending in '\n'.
void format_text(const DropEvent& ev, std::string& out, bool stack = true);

std::string rfc3339_utc(int64_t realtime_ns);  // 2026-06-20T08:30:12.123456789Z

}  // namespace dw::events

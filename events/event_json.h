// Stored NDJSON events read back (dropwatch print / pcap): the inverse of
// format_json for the fields the text and pcapng writers use. Layers are
// decoded again from the captured bytes ("packet", base64), so an event
// stored without them has no packet.
#pragma once

#include <string_view>

#include "common/result.h"
#include "events/event.h"

namespace dw::events {

// One line; the error says what is wrong with it ("not JSON: ...",
// "\"packet\" is not base64", ...).
Result<DropEvent> parse_event_json(std::string_view line);

// "2026-06-20T08:30:12.123456789Z" -> ns since the epoch.
std::optional<int64_t> parse_rfc3339_utc(std::string_view s);

}  // namespace dw::events

// RFC 4648 base64, for the captured bytes in NDJSON events ("packet").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dw::events {

void base64_append(std::span<const uint8_t> bytes, std::string& out);
// Nothing when `text` is not padded base64 of the standard alphabet.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace dw::events

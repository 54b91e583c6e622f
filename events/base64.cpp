#include "events/base64.h"

namespace dw::events {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void base64_append(std::span<const uint8_t> b, std::string& out) {
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t v = b[i] << 16 | b[i + 1] << 8 | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (size_t rest = b.size() - i) {
    uint32_t v = b[i] << 16 | (rest == 2 ? b[i + 1] << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view t) {
  if (t.size() % 4) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(t.size() / 4 * 3);
  for (size_t i = 0; i < t.size(); i += 4) {
    bool last = i + 4 == t.size();
    int pad = last ? (t[i + 3] == '=') + (t[i + 2] == '=') : 0;
    if (pad == 1 && t[i + 2] == '=') return std::nullopt;  // "x=y=" is not padding
    uint32_t v = 0;
    for (int k = 0; k < 4 - pad; k++) {
      int d = value_of(t[i + k]);
      if (d < 0) return std::nullopt;
      v |= uint32_t(d) << (18 - 6 * k);
    }
    out.push_back(v >> 16);
    if (pad < 2) out.push_back(v >> 8 & 0xff);
    if (pad < 1) out.push_back(v & 0xff);
  }
  return out;
}

}  // namespace dw::events

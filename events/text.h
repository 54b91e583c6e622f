// Text for a terminal. Task names, device names, cgroup paths, reasons and
// symbols come from the kernel or from stored files, so an unprivileged
// process can choose them: they are printed with every byte outside
// printable ASCII (and the backslash) escaped as \xNN, so that no escape
// sequence reaches the operator's terminal. JSON escapes on its own.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace dw::events {

// Appends `s` with control bytes, DEL, bytes >= 0x80 and '\' escaped.
void append_escaped(std::string& out, std::string_view s);
std::string escaped(std::string_view s);

// snprintf appended to `out`, whatever the length.
template <typename... Args>
void appendf(std::string& out, const char* fmt, Args... args) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  if (n < 0) return;
  if (size_t(n) < sizeof(buf)) {
    out.append(buf, size_t(n));
    return;
  }
  size_t at = out.size();
  out.resize(at + size_t(n) + 1);
  std::snprintf(out.data() + at, size_t(n) + 1, fmt, args...);
  out.resize(at + size_t(n));
}

}  // namespace dw::events

// `-F FILE`, as tcpdump has it: the filter expression read from a file, for
// the lists of hosts and ports operators keep. Shared by dropwatch and
// dropfilter; errors in it are shown as FILE:LINE:COLUMN.
#pragma once

#include <cerrno>
#include <cstdio>
#include <string>

#include "common/result.h"

namespace dw::cli {

// A filter is text of a few KB; a larger file is not one (and /dev/zero
// must not fill the memory).
constexpr size_t kMaxFilterFile = 1 << 20;

// The file's text with tcpdump's reading: each '#' comment, to the end of
// its line, blanked (so that columns stay where they are), trailing blanks
// and newlines cut (an error at the end points after the last word).
inline Result<std::string> read_filter_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return fail_errno("-F " + path);
  std::string text(kMaxFilterFile + 1, '\0');
  size_t n = std::fread(text.data(), 1, text.size(), f);
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) return fail_errno("-F " + path, err);
  if (n > kMaxFilterFile)
    return fail("-F " + path + ": larger than 1 MiB, not a filter expression");
  text.resize(n);
  for (size_t i = 0; i < text.size(); i++)
    if (text[i] == '#')
      for (; i < text.size() && text[i] != '\n'; i++) text[i] = ' ';
  text.erase(text.find_last_not_of(" \t\r\n") + 1);
  return text;  // empty: every packet, as tcpdump reads an empty file
}

}  // namespace dw::cli

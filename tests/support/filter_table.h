// Reads tests/data/filters.txt: one expression a line, '#' comments. Lines
// starting with "!diff " are documented differences from libpcap: dropfilter
// rejects them, libpcap accepts them.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace dw::test {

struct FilterTable {
  std::vector<std::string> exprs;
  std::vector<std::string> known_differences;
};

inline FilterTable read_filter_table(const std::string& path) {
  FilterTable t;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("!diff ", 0) == 0)
      t.known_differences.push_back(line.substr(6));
    else
      t.exprs.push_back(line);
  }
  return t;
}

inline std::vector<std::string> filter_table(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    out.push_back(line);
  }
  return out;
}

}  // namespace dw::test

// The binaries under test, for tests that run them.
#pragma once

#include <cstdlib>
#include <string>

namespace dw::test {

inline const std::string& dropwatch_path() {
  static const std::string p = std::string(DW_BIN_DIR) + "/dropwatch";
  return p;
}

// The binary copied where any user can run it: a clone may live where
// only root can reach (/root is mode 700), and tests run it as uid 65534.
// The copy is removed when the test process exits.
inline const std::string& dropwatch_for_other_users() {
  struct Copy {
    std::string dir, path;
    Copy() {
      char tmpl[] = "/tmp/dw-bin-XXXXXX";
      if (!mkdtemp(tmpl)) return;
      dir = tmpl;
      path = dir + "/dropwatch";
      std::string cmd =
          "chmod 755 " + dir + " && cp " + dropwatch_path() + " " + path + " && chmod 755 " + path;
      if (std::system(cmd.c_str()) != 0) path.clear();
    }
    ~Copy() {
      if (!dir.empty()) std::system(("rm -rf " + dir).c_str());
    }
  };
  static const Copy copy;
  return copy.path;
}

}  // namespace dw::test

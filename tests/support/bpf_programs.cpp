#include "tests/support/bpf_programs.h"

#include <bpf/bpf.h>
#include <unistd.h>

namespace dw::test {

std::vector<std::string> loaded_programs(const std::string& prefix) {
  std::vector<std::string> names;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
        std::string(info.name).starts_with(prefix))
      names.push_back(info.name);
    close(fd);
  }
  return names;
}

bool no_programs_left(const std::string& prefix, double seconds) {
  for (int i = 0; i < seconds * 20; i++) {
    if (loaded_programs(prefix).empty()) return true;
    usleep(50000);
  }
  return loaded_programs(prefix).empty();
}

}  // namespace dw::test

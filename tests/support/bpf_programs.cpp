#include "tests/support/bpf_programs.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <fstream>

namespace dw::test {
namespace {

// Every "prog_id:" in the fdinfo of one process (programs and links).
void scan_fdinfo(const std::string& dir, std::set<uint32_t>& out) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name);
    std::string line;
    while (std::getline(f, line))
      if (line.starts_with("prog_id:")) out.insert(uint32_t(std::stoul(line.substr(8))));
  }
  closedir(d);
}

std::set<uint32_t> held_by_anyone() {
  std::set<uint32_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
      scan_fdinfo(std::string("/proc/") + e->d_name + "/fdinfo", out);
  closedir(d);
  return out;
}

// (id, name) of every loaded program.
std::vector<std::pair<uint32_t, std::string>> loaded() {
  std::vector<std::pair<uint32_t, std::string>> out;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) out.emplace_back(id, info.name);
    close(fd);
  }
  return out;
}

bool orphans_gone(const std::string& prefix) {
  std::set<uint32_t> held = held_by_anyone();
  for (const auto& [id, name] : loaded())
    if (name.starts_with(prefix) && !held.count(id)) return false;
  return true;
}

}  // namespace

std::vector<std::string> loaded_programs(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& [id, name] : loaded())
    if (name.starts_with(prefix)) names.push_back(name);
  return names;
}

std::set<uint32_t> programs_held_by(pid_t pid) {
  std::set<uint32_t> out;
  scan_fdinfo("/proc/" + std::to_string(pid) + "/fdinfo", out);
  return out;
}

bool no_programs_left(const std::string& prefix, double seconds) {
  for (int i = 0; i < seconds * 20; i++) {
    if (orphans_gone(prefix)) return true;
    usleep(50000);
  }
  return orphans_gone(prefix);
}

bool programs_gone(const std::set<uint32_t>& ids, double seconds) {
  auto gone = [&] {
    for (const auto& [id, name] : loaded())
      if (ids.count(id)) return false;
    return true;
  };
  for (int i = 0; i < seconds * 20; i++) {
    if (gone()) return true;
    usleep(50000);
  }
  return gone();
}

}  // namespace dw::test

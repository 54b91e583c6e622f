#include "events/cgroups.h"

#include <ftw.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace dw::events {
namespace {

// nftw has no user pointer: the walk in progress.
thread_local std::unordered_map<uint64_t, CgroupPaths::Cgroup>* g_cgroups;
thread_local size_t g_prefix;

int visit(const char* path, const struct stat* st, int type, FTW*) {
  if (type == FTW_D) {
    std::string rel = std::string(path).substr(g_prefix);
    if (rel.empty()) rel = "/";
    std::string id = container_id(rel);
    (*g_cgroups)[st->st_ino] = {std::move(rel), std::move(id)};
  }
  return 0;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

CgroupPaths::CgroupPaths() {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream in(line.substr(0, dash));
    std::string id, parent, dev, root, point;
    in >> id >> parent >> dev >> root >> point;
    mount_ = point;
    break;
  }
}

void CgroupPaths::rescan() {
  last_scan_ = std::chrono::steady_clock::now();
  scanned_ = true;
  if (mount_.empty()) return;
  cgroups_.clear();
  g_cgroups = &cgroups_;
  g_prefix = mount_.size();
  nftw(mount_.c_str(), visit, 32, FTW_PHYS | FTW_MOUNT);
  g_cgroups = nullptr;
}

const CgroupPaths::Cgroup& CgroupPaths::lookup(uint64_t id) {
  static const Cgroup kNone;
  auto it = cgroups_.find(id);
  if (it != cgroups_.end()) return it->second;
  if (!scanned_ || std::chrono::steady_clock::now() - last_scan_ > std::chrono::seconds(1)) {
    rescan();
    it = cgroups_.find(id);
    if (it != cgroups_.end()) return it->second;
  }
  return kNone;
}

std::string container_id(std::string_view path) {
  std::string found;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view c = path.substr(start, end - start);
    if (c.ends_with(".scope")) c.remove_suffix(6);
    for (std::string_view prefix : {"docker-", "cri-containerd-", "crio-", "libpod-"})
      if (c.starts_with(prefix)) c.remove_prefix(prefix.size());
    if (is_hex64(c)) found = std::string(c);
    start = end + 1;
  }
  return found;
}

}  // namespace dw::events

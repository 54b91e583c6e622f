// Socket cgroups to paths and container ids: which container owns a dropped
// flow. cgroup v2 ids are the inode numbers of the cgroup directories, so a
// walk of the cgroup2 mount maps them; it is redone (at most once a second)
// when an id is not known yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dw::events {

class CgroupPaths {
 public:
  // The cgroup2 mount from /proc/self/mountinfo; none: every path is empty.
  CgroupPaths();
  explicit CgroupPaths(std::string mount) : mount_(std::move(mount)) {}
  struct Cgroup {
    std::string path;          // "/system.slice/docker-0123....scope", "/" for the root
    std::string container_id;  // container_id(path), worked out once per cgroup
  };
  // Empty strings when the id is unknown.
  const Cgroup& lookup(uint64_t id);
  const std::string& mount() const { return mount_; }

 private:
  void rescan();

  std::string mount_;
  std::unordered_map<uint64_t, Cgroup> cgroups_;
  std::chrono::steady_clock::time_point last_scan_{};
  bool scanned_ = false;
};

// The container id in a cgroup path as docker, containerd, cri-o and the
// kubelet name them (a 64-hex component, alone or as docker-ID.scope,
// cri-containerd-ID.scope, crio-ID.scope); the innermost one; "" if none.
std::string container_id(std::string_view cgroup_path);

}  // namespace dw::events

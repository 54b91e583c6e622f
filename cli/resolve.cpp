#include "cli/resolve.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "cli/words.h"
#include "events/text.h"

namespace dw::cli {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The devices of a namespace: name -> ifindex, read from a thread that
// entered it (setns() changes only the calling thread's namespace).
Result<std::map<std::string, uint32_t>> list_devices(const Netns& ns) {
  std::map<std::string, uint32_t> out;
  std::string err;
  std::thread t([&] {
    if (!ns.path.empty()) {
      int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        err = "cannot enter network namespace " + ns.path + ": " + std::strerror(errno);
        if (fd >= 0) close(fd);
        return;
      }
      close(fd);
    }
    if (struct if_nameindex* ifs = if_nameindex()) {
      for (auto* i = ifs; i->if_index; i++) out[i->if_name] = i->if_index;
      if_freenameindex(ifs);
    } else {
      err = std::string("cannot list network devices: ") + std::strerror(errno);
    }
  });
  t.join();
  if (!err.empty()) return fail(err);
  return out;
}

}  // namespace

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

Result<Netns> resolve_netns(const std::string& spec) {
  Netns ns;
  std::string path = spec;
  if (spec.empty()) {
    path = "/proc/self/ns/net";
  } else if (std::all_of(spec.begin(), spec.end(),
                         [](char c) { return std::isdigit((unsigned char)c); })) {
    ns.inode = uint32_t(std::strtoul(spec.c_str(), nullptr, 10));
    if (ns.inode == 0) return fail("--netns: 0 is not a namespace inode");
    // An inode alone cannot be entered; device names then need a path.
    return ns;
  } else if (spec.find('/') == std::string::npos) {
    path = "/run/netns/" + spec;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("--netns: " + path + ": " + std::strerror(errno) +
                " (give an inode, /proc/PID/ns/net or /run/netns/NAME)");
  struct stat st;
  int type = ioctl(fd, NS_GET_NSTYPE);
  bool ok = fstat(fd, &st) == 0;
  close(fd);
  if (!ok || type != CLONE_NEWNET)
    return fail("--netns: " + path +
                " is not a network namespace (give an inode, "
                "/proc/PID/ns/net or /run/netns/NAME)");
  ns.inode = uint32_t(st.st_ino);
  ns.path = spec.empty() ? "" : path;
  return ns;
}

Result<std::vector<probe::DeviceKey>> resolve_devices(const std::string& list, const Netns& ns) {
  if (ns.path.empty() && ns.inode) {
    struct stat st;
    if (stat("/proc/self/ns/net", &st) == 0 && uint32_t(st.st_ino) != ns.inode)
      return fail(
          "--device with --netns INODE: give the namespace as a path "
          "(/proc/PID/ns/net or /run/netns/NAME) so device names can be looked up");
  }
  auto devs = list_devices(ns);
  if (!devs) return std::unexpected(devs.error());
  std::vector<probe::DeviceKey> out;
  auto names = split_list(list);
  if (names.empty()) return fail("--device: no device names given");
  for (const auto& n : names) {
    auto it = devs->find(n);
    if (it == devs->end()) {
      std::string have;
      for (const auto& [name, idx] : *devs) {  // kernel names: escaped for the terminal
        if (!have.empty()) have += ", ";
        have += events::escaped(name);
      }
      std::string msg = "unknown device '" + n + "'";
      if (!ns.path.empty()) msg.append(" in network namespace ").append(ns.path);
      msg.append("; devices there: ").append(have);
      return fail(msg);
    }
    out.push_back({ns.inode, it->second});
  }
  return out;
}

Result<std::vector<uint32_t>> resolve_reasons(const std::string& list,
                                              const probe::DropReasons& known) {
  std::vector<uint32_t> out;
  if (!known.reported())
    return fail(
        "--reason: this kernel reports no drop reasons (they came with Linux 5.17), so "
        "none can be selected");
  auto names = split_list(list);
  if (names.empty()) return fail("--reason: no reason names given");
  for (const std::string& n : names) {
    std::string u = upper(n);
    if (u.starts_with("SKB_DROP_REASON_")) u = u.substr(16);
    if (auto code = known.code(u)) {
      out.push_back(*code);
      continue;
    }
    std::vector<std::pair<size_t, std::string>> near;
    for (const auto& [code, name] : known.all()) {
      size_t d = edit_distance(u, name);
      if (name.find(u) != std::string::npos) d = std::min<size_t>(d, 1);
      near.push_back({d, name});
    }
    std::sort(near.begin(), near.end());
    std::string hint;
    for (size_t i = 0;
         i < near.size() && i < 4 && near[i].first <= std::max<size_t>(3, u.size() / 3); i++)
      hint += (hint.empty() ? "" : ", ") + near[i].second;
    return fail("unknown drop reason '" + n + "'" +
                (hint.empty() ? "" : "; did you mean " + hint + "?") +
                " (dropwatch --list-reasons shows this kernel's)");
  }
  return out;
}

}  // namespace dw::cli

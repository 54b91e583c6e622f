// The container image (deploy/Containerfile, built by scripts/image) run the
// way deploy/daemonset.yaml says: its security context and arguments are
// read from the manifest, mapped to `podman run` flags, and the Pod template
// itself goes through `podman kube play`. In both, a drop made in the host's
// namespace and one made in another namespace come out of the container as
// events, and the metrics endpoint answers inside the pod's namespace.
// Run by scripts/test-image (podman as root, runc: crun fails on this
// machine's hybrid cgroups).
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "probe/kernel_features.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/http.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

std::string image() {
  const char* e = std::getenv("DW_IMAGE");
  return e && *e ? e : "localhost/dropwatch:dev";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string manifest() { return read_file(std::string(DW_SOURCE_DIR) + "/deploy/daemonset.yaml"); }

// The quoted items of the flow list after `key: [` (it may span lines).
std::vector<std::string> flow_list(const std::string& yaml, const std::string& key) {
  std::smatch m;
  std::vector<std::string> out;
  if (!std::regex_search(yaml, m, std::regex(key + ": \\[([^\\]]*)\\]"))) return out;
  std::string items = m[1];
  std::regex quoted("\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(items.begin(), items.end(), quoted);
       it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

std::string scalar(const std::string& yaml, const std::string& key) {
  std::smatch m;
  return std::regex_search(yaml, m, std::regex(key + ": ([^\\s,}#]+)")) ? m[1].str() : "";
}

// The security context, arguments and BTF mount of the manifest as `podman
// run` flags; every key the mapping relies on must be there as expected.
struct PodmanRun {
  std::vector<std::string> flags, args;
  uint16_t metrics_port = 0;
};

PodmanRun from_manifest(const std::string& yaml) {
  PodmanRun r;
  EXPECT_EQ(scalar(yaml, "hostNetwork"), "");
  EXPECT_EQ(scalar(yaml, "hostPID"), "");
  EXPECT_EQ(scalar(yaml, "privileged"), "");
  r.flags = {"--network", "none"};  // a pod's own namespace, not the host's
  std::string uid = scalar(yaml, "runAsUser");
  EXPECT_FALSE(uid.empty());
  r.flags.insert(r.flags.end(), {"--user", uid});
  EXPECT_EQ(flow_list(yaml, "drop"), std::vector<std::string>{"ALL"});
  r.flags.insert(r.flags.end(), {"--cap-drop", "ALL"});
  std::vector<std::string> add = flow_list(yaml, "add");
  EXPECT_EQ(add, (std::vector<std::string>{"BPF", "PERFMON", "SYSLOG"}));
  for (const auto& c : add) r.flags.insert(r.flags.end(), {"--cap-add", c});
  EXPECT_EQ(scalar(yaml, "allowPrivilegeEscalation"), "false");
  r.flags.insert(r.flags.end(), {"--security-opt", "no-new-privileges"});
  EXPECT_EQ(scalar(yaml, "readOnlyRootFilesystem"), "true");
  r.flags.push_back("--read-only");
  std::string seccomp = scalar(yaml, "seccompProfile: \\{type");
  EXPECT_EQ(seccomp, "Unconfined");
  r.flags.insert(r.flags.end(), {"--security-opt", "seccomp=unconfined"});
  std::string memory = scalar(yaml, "limits: \\{memory");
  EXPECT_EQ(memory, "256Mi");
  r.flags.insert(r.flags.end(), {"--memory", "256m"});
  std::string btf = scalar(yaml, "hostPath: \\{path");
  EXPECT_EQ(btf, "/sys/kernel/btf");
  EXPECT_NE(yaml.find("mountPath: /sys/kernel/btf, readOnly: true"), std::string::npos);
  r.flags.insert(r.flags.end(), {"-v", btf + ":/sys/kernel/btf:ro"});
  r.args = flow_list(yaml, "args");
  for (size_t i = 0; i + 1 < r.args.size(); i++)
    if (r.args[i] == "--metrics") r.metrics_port = uint16_t(std::stoi(r.args[i + 1].substr(1)));
  EXPECT_NE(r.metrics_port, 0) << "the DaemonSet's args name --metrics :PORT";
  return r;
}

// The Pod of the DaemonSet's template, named `name`, running `img`.
std::string pod_from_template(const std::string& yaml, const std::string& name,
                              const std::string& img) {
  std::istringstream in(yaml);
  std::string out = "apiVersion: v1\nkind: Pod\n", line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "  template:") {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (!line.empty() && !line.starts_with("    ")) break;
    out += (line.size() >= 4 ? line.substr(4) : line) + "\n";
    if (line == "    metadata:") out += "  name: " + name + "\n";
  }
  return std::regex_replace(out, std::regex("image: dropwatch:latest"), "image: " + img);
}

// podman 4.3's default limits fail on this machine: given on every run.
const std::vector<std::string> kUlimits = {"--ulimit", "nofile=1024:1024", "--ulimit",
                                           "nproc=1024:1024"};

// `podman run` with the limits, then `args`.
std::vector<std::string> run_args(const std::vector<std::string>& args) {
  std::vector<std::string> v = {"run"};
  v.insert(v.end(), kUlimits.begin(), kUlimits.end());
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

std::vector<std::string> podman(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/podman", "--runtime", "runc"});
  return args;
}

Finished podman_to_end(const std::vector<std::string>& args, std::chrono::seconds t = 60s) {
  return run_to_end(podman(args), t);
}

pid_t container_pid(const std::string& name) {
  Finished f = podman_to_end({"inspect", "-f", "{{.State.Pid}}", name});
  return f.status == 0 ? pid_t(std::atoi(f.out.c_str())) : 0;
}

// The body of http://127.0.0.1:port/metrics inside the network namespace of
// `pid` (a thread of ours joins it: the pod's network is private).
std::string metrics_in(pid_t pid, uint16_t port) {
  std::string body;
  std::thread t([&] {
    int ns = open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) return;
    close(ns);
    body = http_get(port, "/metrics");
  });
  t.join();
  return body;
}

uint16_t port_of(const nlohmann::json& e) {
  const auto& l = e["layers"];
  return l.contains("udp") ? l["udp"]["dport"].get<uint16_t>() : 0;
}

// Makes a NO_SOCKET drop in the host's namespace (to host_port) and one in
// namespace `ns` (to ns_port), then finds both events in what `out` printed.
void expect_host_and_namespace_drops(Process& out, const Netns& ns, uint16_t host_port,
                                     uint16_t ns_port) {
  ASSERT_EQ(send_udp("127.0.0.1", host_port), 0);
  ASSERT_EQ(run_in_netns(ns.name(), "dw-image", [&] { return send_udp("127.0.0.1", ns_port); }), 0);
  nlohmann::json host_ev, ns_ev;
  bool both = out.wait_stdout(
      [&](const std::vector<std::string>& lines) {
        for (const auto& e : parse_events(lines)) {
          if (!e.contains("layers")) continue;
          if (port_of(e) == host_port) host_ev = e;
          if (port_of(e) == ns_port) ns_ev = e;
        }
        return !host_ev.is_null() && !ns_ev.is_null();
      },
      20s);
  ASSERT_TRUE(both) << out.stderr_text();
  EXPECT_EQ(host_ev["reason"], "NO_SOCKET");
  EXPECT_EQ(host_ev["netns"].get<uint32_t>(), netns_inode("/proc/self/ns/net")) << host_ev.dump();
  EXPECT_EQ(ns_ev["reason"], "NO_SOCKET");
  EXPECT_EQ(ns_ev["netns"].get<uint32_t>(), ns.inode()) << ns_ev.dump();
  EXPECT_TRUE(ns_ev["location"].get<std::string>().starts_with("__udp4_lib_rcv+0x"))
      << "kernel functions are named (CAP_SYSLOG): " << ns_ev.dump();
}

void expect_metrics(pid_t pid, uint16_t port, const Netns& ns) {
  std::string body;
  std::string series = "dropwatch_drops_total{reason=\"NO_SOCKET\",location=\"__udp4_lib_rcv\"";
  std::string netns = "netns=\"" + std::to_string(ns.inode()) + "\"";
  for (int i = 0; i < 40; i++) {  // the counters are read every 100 ms
    body = metrics_in(pid, port);
    if (body.find(netns) != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(body.empty()) << "no 200 answer on port " << port;
  EXPECT_NE(body.find(series), std::string::npos) << body;
  EXPECT_NE(body.find(netns), std::string::npos) << body;
}

// `podman run` with `extra`, the manifest's flags, the image and its args.
std::vector<std::string> as_manifest_says(const PodmanRun& r, std::vector<std::string> extra) {
  extra.insert(extra.end(), r.flags.begin(), r.flags.end());
  extra.push_back(image());
  extra.insert(extra.end(), r.args.begin(), r.args.end());
  return run_args(extra);
}

TEST(Image, HoldsBothToolsAndTheirLibraries) {
  Finished f =
      podman_to_end(run_args({"--rm", "--network", "none", "--entrypoint",
                              "/usr/local/bin/dropfilter", image(), "--dump-bpf", "tcp port 443"}));
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_NE(f.out.find("exit"), std::string::npos) << f.out;
  f = podman_to_end(run_args({"--rm", "--network", "none", image(), "--help"}));
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_NE(f.out.find("EXIT STATUS"), std::string::npos);
}

TEST(Image, RunsAsTheDaemonSetSaysAndSeesHostAndNamespaceDrops) {
  PodmanRun run = from_manifest(manifest());
  ASSERT_FALSE(testing::Test::HasFailure());
  Netns other("dwio");
  ASSERT_TRUE(other.ok());
  const std::string name = "dwimage" + std::to_string(getpid());
  struct Remove {  // a container left running by a failed assertion
    std::string name;
    ~Remove() { podman_to_end({"rm", "-f", "--ignore", name}); }
  } remove{name};
  Process p(podman(as_manifest_says(run, {"--rm", "--name", name})));
  ASSERT_TRUE(p.wait_stderr("dropwatch: watching", 60s)) << p.stderr_text();
  // With only the three capabilities the kernel's in-place reads are found.
  if (probe::in_place_reads_supported()) {
    EXPECT_EQ(p.stderr_text().find("in-place packet reads"), std::string::npos) << p.stderr_text();
  }
  pid_t pid = container_pid(name);
  ASSERT_GT(pid, 0);
  std::set<uint32_t> held = programs_held_by(pid);
  EXPECT_FALSE(held.empty());
  const uint16_t port = uint16_t(20000 + getpid() % 10000);
  expect_host_and_namespace_drops(p, other, port, port + 1);
  expect_metrics(pid, run.metrics_port, other);
  // `podman stop` sends SIGTERM: dropwatch reports, detaches and exits 0.
  EXPECT_EQ(podman_to_end({"stop", "-t", "10", name}).status, 0);
  EXPECT_EQ(p.wait(20s), 0) << p.stderr_text();
  EXPECT_NE(p.stderr_text().find("drops seen by the probe"), std::string::npos);
  EXPECT_TRUE(programs_gone(held));
}

TEST(Image, ARuntimeDefaultSeccompProfileIsNamedInTheRefusal) {
  PodmanRun run = from_manifest(manifest());
  for (auto& f : run.flags)
    if (f == "seccomp=unconfined") f = "seccomp=/usr/share/containers/seccomp.json";
  Finished f = podman_to_end(as_manifest_says(run, {"--rm"}));
  EXPECT_EQ(f.status, 1) << f.err;
  EXPECT_NE(f.err.find("seccomp filter"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("docs/deploy.md"), std::string::npos) << f.err;
  EXPECT_EQ(f.err.find("watching"), std::string::npos) << f.err;
}

// podman 4.3 does not take a DaemonSet (kube play: "does not contain any
// supported kube kind"); its Pod template it does, security context,
// arguments, BTF volume, memory limit and the seccomp annotation included.
TEST(Image, KubePlayRunsThePodTemplate) {
  Netns other("dwik");
  ASSERT_TRUE(other.ok());
  const std::string pod = "dwpod" + std::to_string(getpid());
  const std::string dir = "/tmp/" + pod;
  ASSERT_EQ(sh("mkdir -p " + dir), 0);
  struct Cleanup {  // also after a failed assertion
    std::string pod, dir;
    ~Cleanup() {
      podman_to_end({"pod", "rm", "-f", "--ignore", pod});
      unsetenv("CONTAINERS_CONF");
      sh("rm -rf " + dir);
    }
  } cleanup{pod, dir};
  const std::string yaml = dir + "/pod.yaml", conf = dir + "/containers.conf";
  std::ofstream(yaml) << pod_from_template(manifest(), pod, image());
  // kube play takes no --runtime or --ulimit: the same settings, from a
  // containers.conf of the test's own.
  std::ofstream(conf) << "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", "
                         "\"nproc=1024:1024\"]\n[engine]\nruntime = \"runc\"\n";
  setenv("CONTAINERS_CONF", conf.c_str(), 1);
  Finished play = podman_to_end({"kube", "play", "--network", "none", yaml}, 120s);
  ASSERT_EQ(play.status, 0) << play.err << "\n" << read_file(yaml);
  const std::string ctr = pod + "-dropwatch";
  Process logs(podman({"logs", "-f", ctr}));
  EXPECT_TRUE(logs.wait_stderr("dropwatch: watching", 60s)) << logs.stderr_text();
  pid_t pid = container_pid(ctr);
  EXPECT_GT(pid, 0);
  if (pid > 0 && !testing::Test::HasFailure()) {
    std::set<uint32_t> held = programs_held_by(pid);
    EXPECT_FALSE(held.empty());
    const uint16_t port = uint16_t(30000 + getpid() % 10000);
    expect_host_and_namespace_drops(logs, other, port, port + 1);
    expect_metrics(pid, from_manifest(manifest()).metrics_port, other);
    EXPECT_EQ(podman_to_end({"kube", "down", yaml}).status, 0);
    EXPECT_TRUE(programs_gone(held));
  }
}

}  // namespace
}  // namespace dw::test

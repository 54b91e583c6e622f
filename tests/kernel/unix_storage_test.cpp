// --output-storage unix:PATH against a reader that goes away and comes back.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>

#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

int listen_at(const std::string& path) {
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int accept_within(int lfd, int ms) {
  pollfd p{lfd, POLLIN, 0};
  if (poll(&p, 1, ms) != 1) return -1;
  return accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
}

// Reads until `n` lines have arrived or `ms` passed.
std::vector<std::string> read_lines(int fd, size_t n, int ms) {
  std::vector<std::string> lines;
  std::string partial;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (lines.size() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) != 1) continue;
    char buf[8192];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got <= 0) break;
    partial.append(buf, size_t(got));
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1))
      lines.push_back(partial.substr(0, nl));
  }
  return lines;
}

TEST(UnixStorage, EventsReachAReaderThatRestartsAndLossesAreCounted) {
  NetnsPair ns("dwu");
  ASSERT_TRUE(ns.ok());
  std::string path = std::string(DW_BUILD_DIR) + "/test-storage.sock";
  int lfd = listen_at(path);
  ASSERT_GE(lfd, 0) << std::strerror(errno);
  std::string why;
  auto dw = start_dropwatch(
      {"--output-storage", "unix:" + path, "--filter", "udp port 4481", "--no-stack"}, &why);
  ASSERT_TRUE(dw) << why;
  int cfd = accept_within(lfd, 5000);
  ASSERT_GE(cfd, 0);
  auto send_drops = [&](int n) {
    run_in_netns(ns.a(), "dw-unix", [n] {
      for (int i = 0; i < n; i++) send_udp(NetnsPair::kAddrB, 4481);
      return 0;
    });
  };

  send_drops(5);
  auto first = read_lines(cfd, 5, 5000);
  ASSERT_EQ(first.size(), 5u);
  for (const auto& l : first) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << l;
    EXPECT_EQ(j["reason"], "NO_SOCKET");
    EXPECT_EQ(j["layers"]["udp"]["dport"], 4481);
  }

  // The reader goes away: what arrives meanwhile is counted, not sent.
  close(cfd);
  close(lfd);
  unlink(path.c_str());
  send_drops(3);
  std::this_thread::sleep_for(700ms);

  // It comes back at the same path: dropwatch reconnects.
  lfd = listen_at(path);
  ASSERT_GE(lfd, 0);
  std::this_thread::sleep_for(300ms);
  send_drops(4);
  cfd = accept_within(lfd, 5000);
  ASSERT_GE(cfd, 0) << dw->stderr_text();
  auto second = read_lines(cfd, 4, 5000);
  EXPECT_EQ(second.size(), 4u);
  EXPECT_TRUE(dw->stdout_lines().empty()) << "events went to the socket only";

  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  EXPECT_NE(dw->stderr_text().find("9 events sent to unix:" + path +
                                   ", 3 not delivered (reader away), 1 reconnects"),
            std::string::npos)
      << dw->stderr_text();
  close(cfd);
  close(lfd);
  unlink(path.c_str());
}

TEST(UnixStorage, NoReaderFailsBeforeAttaching) {
  std::string path = std::string(DW_BUILD_DIR) + "/test-no-reader.sock";
  unlink(path.c_str());
  Process p({dropwatch_path(), "--output-storage", "unix:" + path});
  EXPECT_EQ(p.wait(20s), 2);
  EXPECT_NE(p.stderr_text().find("cannot connect to unix socket " + path), std::string::npos)
      << p.stderr_text();
  Process q({dropwatch_path(), "--output-storage", "tcp:127.0.0.1:1"});
  EXPECT_EQ(q.wait(20s), 2);
  EXPECT_NE(q.stderr_text().find("expected unix:PATH"), std::string::npos) << q.stderr_text();
}

}  // namespace
}  // namespace dw::test

namespace dw::test {
namespace {

// --task-id: every event of the run carries it, wherever it goes: the
// collector's stream, the stored file (and what `print` makes of it), the
// text header.
TEST(TaskId, EveryEventOfTheRunCarriesIt) {
  NetnsPair ns("dwti");
  ASSERT_TRUE(ns.ok());
  std::string sock = "/tmp/dw-task-" + std::to_string(getpid()) + ".sock";
  std::string file = "/tmp/dw-task-" + std::to_string(getpid()) + ".ndjson";
  int lfd = listen_at(sock);
  ASSERT_GE(lfd, 0);
  std::string why;
  const std::string filter = "udp dst port 4811 or udp dst port 4812";
  auto to_socket = start_dropwatch({"--output-storage", "unix:" + sock, "--task-id", "node-7/run 3",
                                    "--filter", filter, "--no-stack"},
                                   &why);
  ASSERT_TRUE(to_socket) << why;
  int cfd = accept_within(lfd, 5000);
  ASSERT_GE(cfd, 0);
  auto to_file = start_dropwatch({"--output-file", file, "--task-id", "node-7/run 3", "--filter",
                                  filter, "--count", "2", "--no-stack"},
                                 &why);
  ASSERT_TRUE(to_file) << why;
  run_in_netns(ns.a(), "dw-task", [] {
    send_udp(NetnsPair::kAddrB, 4811);
    return send_udp(NetnsPair::kAddrB, 4812);
  });
  auto lines = read_lines(cfd, 2, 10000);
  ASSERT_EQ(to_file->wait(20s), 0) << to_file->stderr_text();
  to_socket->signal(SIGINT);
  EXPECT_EQ(to_socket->wait(20s), 0) << to_socket->stderr_text();
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) EXPECT_EQ(nlohmann::json::parse(l)["task_id"], "node-7/run 3") << l;
  Process json({dropwatch_path(), "print", "-o", "json", file});
  ASSERT_EQ(json.wait(20s), 0) << json.stderr_text();
  ASSERT_EQ(json.stdout_lines().size(), 2u);
  for (const auto& l : json.stdout_lines())
    EXPECT_EQ(nlohmann::json::parse(l)["task_id"], "node-7/run 3") << l;
  Process text({dropwatch_path(), "print", "--no-stack", file});
  ASSERT_EQ(text.wait(20s), 0) << text.stderr_text();
  ASSERT_FALSE(text.stdout_lines().empty());
  EXPECT_TRUE(text.stdout_lines()[0].ends_with(" task node-7/run 3")) << text.stdout_lines()[0];
  close(cfd);
  close(lfd);
  unlink(sock.c_str());
  unlink(file.c_str());
}

TEST(TaskId, ABadOneIsRefusedInOneLine) {
  for (const std::string& bad : {std::string(129, 'x'), std::string("tab\there")}) {
    Process p({dropwatch_path(), "--task-id", bad, "-c", "1"});
    EXPECT_EQ(p.wait(20s), 2) << bad;
    std::string err = p.stderr_text();
    EXPECT_TRUE(err.starts_with("dropwatch: --task-id: ")) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
}

}  // namespace
}  // namespace dw::test

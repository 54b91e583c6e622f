// --metrics: a real Prometheus server scrapes dropwatch during a drop storm
// and its query API returns the drop counters; promtool accepts the format.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "tests/support/dropwatch_run.h"
#include "tests/support/http.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, PrometheusScrapesTheDropCounters) {
  NetnsPair ns("dwm");
  ASSERT_TRUE(ns.ok());
  const uint16_t port = 20000 + getpid() % 10000, prom_port = port + 1;
  std::string addr = "127.0.0.1:" + std::to_string(port);
  std::string why;
  auto dw = start_dropwatch({"--metrics", addr, "--summary", "5", "--no-stack", "--filter",
                             "udp port 4511 or udp port 4512"},
                            &why);
  ASSERT_TRUE(dw) << why;
  run_in_netns(ns.a(), "dw-metrics", [] {
    for (int i = 0; i < 50; i++) send_udp(NetnsPair::kAddrB, 4511);
    for (int i = 0; i < 7; i++) send_udp(NetnsPair::kAddr6B, 4512);
    return 0;
  });
  std::this_thread::sleep_for(500ms);

  std::string body = http_get(port, "/metrics");
  std::string b = std::to_string(ns.inode_b());
  EXPECT_NE(body.find("dropwatch_drops_total{reason=\"NO_SOCKET\",location=\"__udp4_lib_rcv\","
                      "device=\"dwb0\",netns=\"" +
                      b + "\"} 50\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("dropwatch_drops_total{reason=\"NO_SOCKET\",location=\"__udp6_lib_rcv\","
                      "device=\"dwb0\",netns=\"" +
                      b + "\"} 7\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("dropwatch_events_lost_total 0\n"), std::string::npos) << body;
  EXPECT_NE(body.find("dropwatch_build_info{version="), std::string::npos) << body;
  std::string dir = std::string(DW_BUILD_DIR) + "/test-prometheus";
  sh("rm -rf " + dir + " && mkdir -p " + dir);
  std::ofstream(dir + "/metrics.txt") << body;
  EXPECT_EQ(sh("promtool check metrics < " + dir + "/metrics.txt > " + dir + "/promtool.txt 2>&1"),
            0)
      << shell_output("cat " + dir + "/promtool.txt");

  // A real Prometheus, scraping every second.
  std::ofstream(dir + "/prometheus.yml") << "global: {scrape_interval: 1s}\n"
                                            "scrape_configs:\n"
                                            "  - job_name: dropwatch\n"
                                            "    static_configs: [{targets: ['"
                                         << addr << "']}]\n";
  Process prom({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                "--storage.tsdb.path=" + dir + "/data",
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  std::string result;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    result = http_get(prom_port,
                      "/api/v1/query?query=dropwatch_drops_total%7Bnetns%3D%22" + b + "%22%7D");
    if (result.find("__udp4_lib_rcv") != std::string::npos &&
        result.find("__udp6_lib_rcv") != std::string::npos)
      break;
    std::this_thread::sleep_for(500ms);
  }
  auto j = nlohmann::json::parse(result, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << result << "\n" << prom.stderr_text();
  ASSERT_EQ(j["status"], "success") << result;
  std::map<std::string, std::string> by_location;
  for (const auto& r : j["data"]["result"])
    by_location[r["metric"]["location"]] = r["value"][1].get<std::string>();
  EXPECT_EQ(by_location["__udp4_lib_rcv"], "50") << result;
  EXPECT_EQ(by_location["__udp6_lib_rcv"], "7") << result;
  prom.signal(SIGTERM);
  prom.wait(10s);

  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  // The summary table came out at exit too.
  bool table = false;
  for (const auto& l : dw->stdout_lines()) table |= l.find("whole run") != std::string::npos;
  EXPECT_TRUE(table);
  sh("rm -rf " + dir);
}

// One client dribbling a request a byte every 1.5 s, 200 that connect and
// say nothing, a drop storm: a scrape still answers within a second, and
// counts the storm's drops as they happen.
TEST(Metrics, SlowAndIdleClientsDelayNoScrape) {
  Netns ns("dwmq");
  ASSERT_TRUE(ns.ok());
  const uint16_t port = 30000 + getpid() % 10000;
  auto dw = start_dropwatch({"--metrics", "127.0.0.1:" + std::to_string(port), "--summary", "60",
                             "--netns", "/run/netns/" + ns.name()});
  ASSERT_TRUE(dw);
  auto connect_to = [&] {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 ? fd : (close(fd), -1);
  };
  std::vector<int> idle;
  for (int i = 0; i < 200; i++) idle.push_back(connect_to());
  EXPECT_EQ(std::count(idle.begin(), idle.end(), -1), 0);
  std::atomic<bool> stop{false};
  std::thread slow([&] {
    int fd = connect_to();
    std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < req.size() && !stop; i++) {
      send(fd, &req[i], 1, MSG_NOSIGNAL);
      for (int t = 0; t < 15 && !stop; t++) std::this_thread::sleep_for(100ms);
    }
    close(fd);
  });
  Process storm({"ip", "netns", "exec", ns.name(), std::string(DW_BIN_DIR) + "/dw_storm",
                 "127.0.0.1", "9", "3"});
  std::this_thread::sleep_for(1500ms);
  auto t0 = std::chrono::steady_clock::now();
  std::string body = http_get(port, "/metrics");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 1.0) << "a scrape behind 200 idle and 1 slow client";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(body, m, std::regex("\ndropwatch_probe_drops_total (\\d+)\n")))
      << body.substr(0, 2000);
  EXPECT_GT(std::stoull(m[1]), 1000u) << "the storm is counted while it lasts";
  stop = true;
  slow.join();
  for (int fd : idle) close(fd);
  storm.wait(10s);
  dw->signal(SIGINT);
  EXPECT_EQ(dw->wait(10s), 0) << dw->stderr_text();
}

TEST(Metrics, BadAddressesFailBeforeAttaching) {
  for (const char* bad : {"9464", "127.0.0.1:http", "300.1.1.1:9464", "127.0.0.1:70000"}) {
    Process p({dropwatch_path(), "--metrics", bad});
    EXPECT_EQ(p.wait(20s), 2) << bad;
    EXPECT_NE(p.stderr_text().find("--metrics"), std::string::npos) << p.stderr_text();
    EXPECT_EQ(p.stderr_text().find("watching"), std::string::npos);
  }
}

}  // namespace
}  // namespace dw::test

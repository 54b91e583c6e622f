// A child process with its stdout and stderr captured by a reader thread, for
// driving the dropwatch binary in end-to-end tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dw::test {

// Runs `cmd` with /bin/sh and returns what it wrote to stdout.
std::string shell_output(const std::string& cmd);

// A command run to its end: exit status (-1 when still running after the
// timeout, then killed), what it wrote, how long it took.
struct Finished {
  int status = -1;
  std::string out, err;
  double seconds = 0;
};
Finished run_to_end(const std::vector<std::string>& argv,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

class Process {
 public:
  // Starts argv[0] (a path) with the rest as arguments. `pre_exec` runs in
  // the child before exec (to drop privileges, say).
  // `keep_stdout` false: stdout lines are counted, not kept (a storm's
  // worth of events).
  explicit Process(const std::vector<std::string>& argv, std::function<void()> pre_exec = nullptr,
                   bool keep_stdout = true);
  ~Process();  // SIGKILLs a child still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits until stderr contains `needle` or the child exits or time runs out.
  bool wait_stderr(const std::string& needle, std::chrono::milliseconds timeout);
  // Waits until `pred` holds over the stdout lines, or the child exits or time runs out.
  bool wait_stdout(const std::function<bool(const std::vector<std::string>&)>& pred,
                   std::chrono::milliseconds timeout);
  void signal(int sig);
  // Exit status (128+N for signal N), or -1 when the timeout passed.
  int wait(std::chrono::milliseconds timeout);

  std::vector<std::string> stdout_lines();
  uint64_t stdout_line_count();
  std::string stderr_text();
  pid_t pid() const { return pid_; }

 private:
  void reader(int out_fd, int err_fd);

  pid_t pid_ = -1;
  int status_ = -1;
  bool exited_ = false;
  bool eof_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_partial_, err_;
  std::vector<std::string> out_lines_;
  bool keep_stdout_ = true;
  uint64_t out_count_ = 0;
  std::thread thread_;
};

}  // namespace dw::test

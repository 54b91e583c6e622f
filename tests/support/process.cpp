#include "tests/support/process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace dw::test {

Process::Process(const std::vector<std::string>& argv, std::function<void()> pre_exec,
                 bool keep_stdout)
    : keep_stdout_(keep_stdout) {
  int out[2], err[2];
  if (pipe(out) || pipe(err)) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    close(out[1]);
    close(err[1]);
    if (pre_exec) pre_exec();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  thread_ = std::thread([this, o = out[0], e = err[0]] { reader(o, e); });
}

void Process::reader(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      std::lock_guard<std::mutex> lock(mu_);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else if (i == 0) {
        out_partial_.append(buf, n);
        size_t start = 0;
        for (size_t nl; (nl = out_partial_.find('\n', start)) != std::string::npos;
             start = nl + 1) {
          out_count_++;
          if (keep_stdout_) out_lines_.push_back(out_partial_.substr(start, nl - start));
        }
        out_partial_.erase(0, start);
      } else {
        err_.append(buf, n);
      }
      cv_.notify_all();
    }
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  std::lock_guard<std::mutex> lock(mu_);
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  exited_ = true;
  cv_.notify_all();
}

Process::~Process() {
  if (pid_ > 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!exited_) kill(pid_, SIGKILL);
    }
    if (thread_.joinable()) thread_.join();
  }
}

bool Process::wait_stderr(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return err_.find(needle) != std::string::npos || exited_; });
  return err_.find(needle) != std::string::npos;
}

bool Process::wait_stdout(const std::function<bool(const std::vector<std::string>&)>& pred,
                          std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return pred(out_lines_) || exited_; });
  return pred(out_lines_);
}

void Process::signal(int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!exited_ && pid_ > 0) kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return exited_; });
  return exited_ ? status_ : -1;
}

std::vector<std::string> Process::stdout_lines() {
  std::lock_guard<std::mutex> lock(mu_);
  return out_lines_;
}

uint64_t Process::stdout_line_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return out_count_;
}

std::string Process::stderr_text() {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

Finished run_to_end(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  auto t0 = std::chrono::steady_clock::now();
  Process p(argv);
  Finished f;
  f.status = p.wait(timeout);
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& l : p.stdout_lines()) f.out += l + "\n";
  f.err = p.stderr_text();
  return f;
}

std::string shell_output(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

}  // namespace dw::test

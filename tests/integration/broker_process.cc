#include "tests/integration/broker_process.h"
#include "tests/integration/deadline.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#ifndef TOPICDB_BINARY
#error "TOPICDB_BINARY must be defined by the build"
#endif

extern char** environ;

namespace topicdb::itest {
namespace {

using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

// --- TempDir ---------------------------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << tmpl << "): " << std::strerror(errno);
    return;
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// --- Subprocess ------------------------------------------------------------------------------

Subprocess::~Subprocess() { kill_and_reap(); }

::testing::AssertionResult Subprocess::spawn(const std::vector<std::string>& argv,
                                             Stderr stderr_mode, const std::string& stderr_path) {
  if (pid_ > 0 && !status_) return ::testing::AssertionFailure() << "Subprocess already running";
  close_stdout();
  pid_ = -1;
  if (argv.empty()) return ::testing::AssertionFailure() << "empty argv";
  buffer_.clear();
  eof_ = false;
  status_.reset();

  // Everything the child needs is prepared before fork(): between fork() and exec() the child
  // (of a multi-threaded parent) only makes async-signal-safe system calls.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return ::testing::AssertionFailure() << "pipe2: " << std::strerror(errno);
  }
  int exec_error[2];  // reports an exec() failure (errno) from the child
  if (::pipe2(exec_error, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return ::testing::AssertionFailure() << "pipe2: " << std::strerror(err);
  }
  int stdin_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int stderr_fd = -1;
  switch (stderr_mode) {
    case Stderr::kDevNull:
      stderr_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      break;
    case Stderr::kFile:
      stderr_fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      break;
    case Stderr::kMergeIntoStdout:
      stderr_fd = fds[1];
      break;
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  sigset_t empty;
  sigemptyset(&empty);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child. Die with the test process, even if it is SIGKILLed (e.g. by a ctest timeout):
    // no broker or helper process can outlive the test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (stdin_fd < 0 || stderr_fd < 0) ::_exit(127);
    ::dup2(stdin_fd, 0);
    ::dup2(fds[1], 1);
    ::dup2(stderr_fd, 2);
    // Only 0-2 and the CLOEXEC error pipe survive; client sockets of the test stay private.
    int keep = exec_error[1];
    for (int fd = 3; fd < keep; ++fd) ::close(fd);
    ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
    // The test binary ignores SIGPIPE; children get default dispositions, no blocked signals.
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::execve(cargv[0], cargv.data(), environ);
    int err = errno;
    (void)!::write(exec_error[1], &err, sizeof(err));
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(fds[1]);
  ::close(exec_error[1]);
  if (stdin_fd >= 0) ::close(stdin_fd);
  if (stderr_fd >= 0 && stderr_fd != fds[1]) ::close(stderr_fd);
  if (pid < 0) {
    ::close(fds[0]);
    ::close(exec_error[0]);
    return ::testing::AssertionFailure() << "fork: " << std::strerror(fork_errno);
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_error[0], &child_errno, sizeof(child_errno));  // EOF once exec succeeded
  } while (n < 0 && errno == EINTR);
  ::close(exec_error[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    return ::testing::AssertionFailure()
           << "exec(" << join(argv) << "): " << std::strerror(child_errno);
  }
  pid_ = pid;
  stdout_fd_ = fds[0];
  ::fcntl(stdout_fd_, F_SETFL, ::fcntl(stdout_fd_, F_GETFL) | O_NONBLOCK);
  return ::testing::AssertionSuccess();
}

void Subprocess::close_stdout() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
}

bool Subprocess::fill(Clock::time_point deadline) {
  if (stdout_fd_ < 0 || eof_) return false;
  while (true) {
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n > 0) {
      buffer_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      eof_ = true;
      return false;
    }
    int wait_ms = remaining_ms(deadline);
    if (wait_ms == 0) return false;
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) == 0) return false;
  }
}

std::optional<std::string> Subprocess::read_line(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::string Subprocess::read_all(milliseconds timeout, bool* eof) {
  auto deadline = Clock::now() + timeout;
  while (fill(deadline)) {
  }
  if (eof) *eof = eof_;
  std::string out;
  out.swap(buffer_);
  return out;
}

bool Subprocess::send_signal(int sig) {
  if (pid_ <= 0 || status_) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<int> Subprocess::wait(milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = status;
      return status_;
    }
    if (r < 0 && errno != EINTR) {
      // Not our child any more (should not happen); treat as gone.
      status_ = -1;
      return status_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

bool Subprocess::running() {
  if (pid_ <= 0) return false;
  return !wait(milliseconds(0)).has_value();
}

void Subprocess::kill_and_reap() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    // SIGKILL cannot be caught; a bounded wait is plenty, but never leave a zombie: block as
    // a last resort.
    if (!wait(milliseconds(5000))) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = status;
    }
  }
  close_stdout();
}

std::string describe_wait_status(int status) {
  if (status == -1) return "unknown status";
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "wait status " + std::to_string(status);
}

ProcessResult run_process(const std::vector<std::string>& argv, milliseconds timeout,
                          bool merge_stderr) {
  ProcessResult result;
  Subprocess p;
  auto spawned = p.spawn(
      argv, merge_stderr ? Subprocess::Stderr::kMergeIntoStdout : Subprocess::Stderr::kDevNull);
  if (!spawned) {
    result.output = spawned.message();
    return result;
  }
  auto deadline = Clock::now() + timeout;
  bool eof = false;
  result.output = p.read_all(timeout, &eof);
  auto status = p.wait(milliseconds(std::max(remaining_ms(deadline), 200)));
  if (!status) {
    result.timed_out = true;
    p.kill_and_reap();
    return result;
  }
  if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  return result;
}

// --- BrokerProcess ---------------------------------------------------------------------------

BrokerProcess::~BrokerProcess() {
  bool was_running = running();
  process_.kill_and_reap();
  if (::testing::Test::HasFailure() && !data_dir_.empty()) {
    std::cerr << "---- topicdb stderr tail (" << stderr_path() << ")"
              << (was_running ? ", killed at test end" : "") << " ----\n"
              << stderr_tail(3000) << "\n---- end of topicdb stderr ----\n";
  }
}

::testing::AssertionResult BrokerProcess::start(const std::string& data_dir,
                                                const std::vector<std::string>& extra_args) {
  if (running()) return ::testing::AssertionFailure() << "broker already running";
  process_.kill_and_reap();
  data_dir_ = data_dir;
  extra_args_ = extra_args;
  ready_line_.clear();
  port_ = 0;

  // TOPICDB_IT_BINARY overrides the build's binary (e.g. to test a snapshot copy).
  const char* override_binary = std::getenv("TOPICDB_IT_BINARY");
  std::string binary = override_binary && *override_binary ? override_binary : TOPICDB_BINARY;
  std::vector<std::string> argv = {binary,        "serve",      "--listen",
                                   "127.0.0.1:0", "--data-dir", data_dir};
  if (const char* level = std::getenv("TOPICDB_IT_LOG_LEVEL"); level && *level) {
    argv.push_back("--log-level");
    argv.push_back(level);
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  {
    std::ofstream marker(stderr_path(), std::ios::app);
    marker << "==== itest: starting " << join(argv) << "\n";
  }
  if (auto r = process_.spawn(argv, Subprocess::Stderr::kFile, stderr_path()); !r) return r;

  auto deadline = Clock::now() + milliseconds(10000);
  std::string skipped;
  while (true) {
    auto line = process_.read_line(milliseconds(std::max(remaining_ms(deadline), 1)));
    if (!line) break;
    if (line->rfind("topicdb ready ", 0) == 0) {
      ready_line_ = *line;
      break;
    }
    skipped += *line + "\n";
  }
  if (ready_line_.empty()) {
    // EOF on stdout usually means the process is exiting: give it a moment to be reaped so
    // the failure names the exit status.
    if (process_.stdout_eof()) process_.wait(milliseconds(2000));
    bool exited = !running();
    std::string what = exited ? "exited (" + describe_wait_status(*process_.exit_status()) + ")"
                              : "did not print the ready line within 10 s";
    process_.kill_and_reap();
    return ::testing::AssertionFailure() << "topicdb " << what << "\ncommand: " << join(argv)
                                         << "\nstdout: " << skipped << "\nstderr tail:\n"
                                         << stderr_tail();
  }
  // "topicdb ready listeners=127.0.0.1:PORT[,...] data_dir=DIR"
  auto pos = ready_line_.find("listeners=");
  if (pos != std::string::npos) {
    pos += std::strlen("listeners=");
    auto end = ready_line_.find_first_of(", ", pos);
    std::string listener = ready_line_.substr(pos, end == std::string::npos ? end : end - pos);
    auto colon = listener.rfind(':');
    if (colon != std::string::npos && listener.substr(0, colon) == "127.0.0.1") {
      int port = std::atoi(listener.c_str() + colon + 1);
      if (port > 0 && port < 65536) port_ = static_cast<uint16_t>(port);
    }
  }
  if (port_ == 0) {
    process_.kill_and_reap();
    return ::testing::AssertionFailure()
           << "cannot parse a 127.0.0.1 port from the ready line '" << ready_line_ << "'";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult BrokerProcess::stop(milliseconds timeout, int sig) {
  if (!running()) {
    auto status = process_.exit_status();
    return ::testing::AssertionFailure()
           << "stop(): broker is not running"
           << (status ? " (" + describe_wait_status(*status) + ")" : std::string()) << "\n"
           << stderr_tail();
  }
  process_.send_signal(sig);
  auto status = process_.wait(timeout);
  if (!status) {
    process_.kill_and_reap();
    return ::testing::AssertionFailure()
           << "broker did not exit within " << timeout.count() << " ms after signal " << sig << " ("
           << strsignal(sig) << "); killed\n"
           << stderr_tail();
  }
  process_.kill_and_reap();  // closes the pipe
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return ::testing::AssertionFailure() << "broker " << describe_wait_status(*status)
                                         << " after signal " << sig << ", expected exit code 0\n"
                                         << stderr_tail();
  }
  return ::testing::AssertionSuccess();
}

void BrokerProcess::kill() { process_.kill_and_reap(); }

::testing::AssertionResult BrokerProcess::restart() {
  if (running()) {
    if (auto r = stop(); !r) return r;
  }
  return start(data_dir_, extra_args_);
}

::testing::AssertionResult BrokerProcess::crash_and_restart() {
  kill();
  return start(data_dir_, extra_args_);
}

bool BrokerProcess::running() { return process_.running(); }

std::string BrokerProcess::uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

std::string BrokerProcess::stderr_tail(size_t max_bytes) const {
  std::ifstream in(stderr_path(), std::ios::binary);
  if (!in) return "(no stderr file)";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  if (all.size() > max_bytes) all = "..." + all.substr(all.size() - max_bytes);
  return all;
}

}  // namespace topicdb::itest

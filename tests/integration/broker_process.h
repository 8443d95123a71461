// Starts and stops real processes for the integration tests: the `topicdb` broker
// (BrokerProcess), helper tools such as mosquitto_sub (Subprocess), and a TempDir.
//
// Every process started here is killed and reaped by the destructor of the object that
// started it, also when an assertion fails half-way through a test.
#ifndef TOPICDB_TESTS_INTEGRATION_BROKER_PROCESS_H_
#define TOPICDB_TESTS_INTEGRATION_BROKER_PROCESS_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace topicdb::itest {

using std::chrono::milliseconds;

// mkdtemp() under /tmp, removed recursively by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "topicdb_it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process with stdout piped to the test and stderr redirected to a file (or
// /dev/null, or merged into stdout).
class Subprocess {
 public:
  enum class Stderr { kDevNull, kFile, kMergeIntoStdout };

  Subprocess() = default;
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // argv[0] must be an absolute path.
  ::testing::AssertionResult spawn(const std::vector<std::string>& argv,
                                   Stderr stderr_mode = Stderr::kDevNull,
                                   const std::string& stderr_path = "");
  // Next stdout line without the newline; nullopt on timeout or EOF.
  std::optional<std::string> read_line(milliseconds timeout);
  // Reads stdout until EOF (or the timeout); returns everything read, including lines not
  // yet consumed by read_line. *eof is set when EOF was reached.
  std::string read_all(milliseconds timeout, bool* eof = nullptr);
  bool stdout_eof() const { return eof_; }

  bool send_signal(int sig);
  // Waits for the process to exit; returns the raw wait status, nullopt on timeout.
  std::optional<int> wait(milliseconds timeout);
  // SIGKILL + waitpid (no-op when not running).
  void kill_and_reap();
  // Checks whether the process has exited (reaps it if so).
  bool running();
  pid_t pid() const { return pid_; }
  // Wait status after exit, if reaped.
  std::optional<int> exit_status() const { return status_; }

 private:
  // Reads available stdout data until the deadline or EOF; returns false on timeout/EOF
  // without new data.
  bool fill(std::chrono::steady_clock::time_point deadline);
  void close_stdout();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
  std::optional<int> status_;
};

// Result of a short-lived helper process (mosquitto_pub, mosquitto_sub -C N).
struct ProcessResult {
  bool timed_out = false;
  int exit_code = -1;  // -1 if killed by a signal / timed out
  std::string output;  // stdout (+ stderr when merged)
};
// Runs argv to completion with a bounded timeout (killed when it expires).
ProcessResult run_process(const std::vector<std::string>& argv, milliseconds timeout,
                          bool merge_stderr = true);
std::string describe_wait_status(int status);

// The `topicdb` broker under test.
class BrokerProcess {
 public:
  BrokerProcess() = default;
  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  // `topicdb serve --listen 127.0.0.1:0 --data-dir DIR <extra_args>`; waits (10 s) for the
  // ready line and parses the port of the first listener.
  ::testing::AssertionResult start(const std::string& data_dir,
                                   const std::vector<std::string>& extra_args = {});
  // Graceful: SIGTERM (or `sig`), wait up to `timeout`, then SIGKILL. Fails unless the
  // broker exited by itself with exit code 0.
  ::testing::AssertionResult stop(milliseconds timeout = milliseconds(10000), int sig = SIGTERM);
  // The crash case: SIGKILL + reap.
  void kill();
  // stop() (if running) and start() again with the same data dir and arguments.
  ::testing::AssertionResult restart();
  // kill() and start() again with the same data dir and arguments.
  ::testing::AssertionResult crash_and_restart();

  bool running();
  pid_t pid() const { return process_.pid(); }
  uint16_t port() const { return port_; }
  // "tcp://127.0.0.1:PORT" for Paho.
  std::string uri() const;
  const std::string& ready_line() const { return ready_line_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string stderr_path() const { return data_dir_ + "/broker.stderr.log"; }
  // Last `max_bytes` of the broker's stderr (all runs on this data dir).
  std::string stderr_tail(size_t max_bytes = 4000) const;

 private:
  Subprocess process_;
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::string ready_line_;
  uint16_t port_ = 0;
};

// Sleeps in small steps until pred() is true or the timeout expires; returns pred().
template <typename Pred>
bool wait_until(Pred pred, milliseconds timeout, milliseconds step = milliseconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(step);
  }
  return true;
}

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_BROKER_PROCESS_H_

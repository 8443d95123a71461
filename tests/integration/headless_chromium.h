// Headless Chromium for the browser test, driven through the DevTools protocol over a pipe
// (--remote-debugging-pipe: JSON messages ended by NUL, Chromium reads fd 3, writes fd 4).
// Chromium runs in its own process group, which stop() and the destructor kill by its id.
#ifndef TOPICDB_TESTS_INTEGRATION_HEADLESS_CHROMIUM_H_
#define TOPICDB_TESTS_INTEGRATION_HEADLESS_CHROMIUM_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/integration/broker_process.h"

namespace topicdb::itest {

class HeadlessChromium {
 public:
  HeadlessChromium() = default;
  ~HeadlessChromium();
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // Starts `binary` (absolute path) on `url` with a fresh profile and attaches to the page.
  ::testing::AssertionResult start(const std::string& binary, const std::string& url,
                                   milliseconds timeout);
  // The value of a JavaScript expression in the page (returned by value), nullopt and
  // *error set if it threw or no answer came in time.
  std::optional<nlohmann::json> evaluate(const std::string& expression, milliseconds timeout,
                                         std::string* error);
  // Kills the process group and reaps Chromium; true if no process of the group is left.
  bool stop();

  pid_t pid() const { return pid_; }
  // What Chromium wrote on stdout and stderr (for failure messages).
  std::string log_tail(size_t max_bytes = 3000) const;

 private:
  // Sends a command (on the page's session if attached); returns its "result" object.
  std::optional<nlohmann::json> call(const std::string& method, const nlohmann::json& params,
                                     bool on_page, milliseconds timeout, std::string* error);
  // Reads until one whole message arrived; nullopt at the deadline or when the pipe closed.
  std::optional<nlohmann::json> read_message(std::chrono::steady_clock::time_point deadline);

  TempDir profile_{"topicdb_chromium"};
  pid_t pid_ = -1;
  int to_chromium_ = -1;
  int from_chromium_ = -1;
  std::string inbox_;
  int next_id_ = 1;
  std::string session_id_;
};

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_HEADLESS_CHROMIUM_H_

#include "tests/integration/headless_chromium.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace topicdb::itest {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The flags that let Chromium start as root in a container without network: no sandbox
// (it needs user namespaces a container may lack), no GPU, and none of the background
// connections (updates, sync, QUIC probes) that a closed network refuses by the dozen.
const char* const kFlags[] = {"--headless",
                              "--no-sandbox",
                              "--disable-gpu",
                              "--disable-quic",
                              "--no-first-run",
                              "--disable-background-networking",
                              "--disable-component-update",
                              "--disable-sync",
                              "--disable-dev-shm-usage",
                              "--remote-debugging-pipe"};

}  // namespace

HeadlessChromium::~HeadlessChromium() { stop(); }

::testing::AssertionResult HeadlessChromium::start(const std::string& binary,
                                                   const std::string& url, milliseconds timeout) {
  int to[2];    // we write, Chromium reads on fd 3
  int from[2];  // Chromium writes on fd 4, we read
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) {
    return ::testing::AssertionFailure() << "pipe2 failed";
  }
  std::vector<std::string> args = {binary};
  for (const char* flag : kFlags) args.emplace_back(flag);
  args.push_back("--user-data-dir=" + profile_.path() + "/profile");
  args.push_back(url);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path = profile_.path() + "/chromium.log";

  pid_ = ::fork();
  if (pid_ < 0) return ::testing::AssertionFailure() << "fork failed";
  if (pid_ == 0) {
    // Its own process group: Chromium's helpers (zygote, renderer, utility processes) stay
    // in it, so killing the group by Chromium's pid ends them all.
    ::setpgid(0, 0);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int devnull = ::open("/dev/null", O_RDONLY);
    // dup2 clears O_CLOEXEC on the copies; fds 3 and 4 are free after the first two dups
    // only if the pipes do not sit there already, so move them above 4 first.
    int to_read = ::fcntl(to[0], F_DUPFD, 10);
    int from_write = ::fcntl(from[1], F_DUPFD, 10);
    if (log < 0 || devnull < 0 || to_read < 0 || from_write < 0 || ::dup2(devnull, 0) < 0 ||
        ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0 || ::dup2(to_read, 3) < 0 ||
        ::dup2(from_write, 4) < 0) {
      ::_exit(126);
    }
    ::close_range(5, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also from here, so a kill right after fork reaches the group
  ::close(to[0]);
  ::close(from[1]);
  to_chromium_ = to[1];
  from_chromium_ = from[0];
  ::signal(SIGPIPE, SIG_IGN);  // a write after Chromium died must fail, not kill the test

  // The page target appears once the browser has opened its first tab.
  auto deadline = SteadyClock::now() + timeout;
  std::string error;
  std::string target_id;
  while (target_id.empty()) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    if (left <= milliseconds(0)) {
      return ::testing::AssertionFailure() << "no page target in time: " << error << "\n"
                                           << log_tail();
    }
    std::optional<Json> targets = call("Target.getTargets", Json::object(), false, left, &error);
    if (targets && (*targets)["targetInfos"].is_array()) {
      for (const Json& info : (*targets)["targetInfos"]) {
        if (info.value("type", "") == "page") target_id = info.value("targetId", "");
      }
    } else if (!targets && ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "chromium exited: " << error << "\n" << log_tail();
    }
    if (target_id.empty()) std::this_thread::sleep_for(milliseconds(50));
  }
  auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
  std::optional<Json> attached =
      call("Target.attachToTarget", {{"targetId", target_id}, {"flatten", true}}, false,
           std::max(left, milliseconds(1)), &error);
  if (!attached || !(*attached)["sessionId"].is_string()) {
    return ::testing::AssertionFailure() << "cannot attach to the page: " << error;
  }
  session_id_ = (*attached)["sessionId"].get<std::string>();
  return ::testing::AssertionSuccess();
}

std::optional<Json> HeadlessChromium::evaluate(const std::string& expression, milliseconds timeout,
                                               std::string* error) {
  std::optional<Json> result =
      call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}}, true, timeout,
           error);
  if (!result) return std::nullopt;
  if (result->contains("exceptionDetails")) {
    *error = "exception: " + (*result)["exceptionDetails"].dump();
    return std::nullopt;
  }
  return (*result)["result"].value("value", Json());
}

std::optional<Json> HeadlessChromium::call(const std::string& method, const Json& params,
                                           bool on_page, milliseconds timeout, std::string* error) {
  const int id = next_id_++;
  Json message = {{"id", id}, {"method", method}, {"params", params}};
  if (on_page) message["sessionId"] = session_id_;
  std::string bytes = message.dump();
  bytes.push_back('\0');
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(to_chromium_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "write to chromium failed";
      return std::nullopt;
    }
    done += static_cast<size_t>(n);
  }
  auto deadline = SteadyClock::now() + timeout;
  while (std::optional<Json> answer = read_message(deadline)) {
    if (answer->value("id", 0) != id) continue;  // an event, or an answer we gave up on
    if (answer->contains("error")) {
      *error = method + ": " + (*answer)["error"].dump();
      return std::nullopt;
    }
    return (*answer)["result"];
  }
  *error = method + ": no answer in time";
  return std::nullopt;
}

std::optional<Json> HeadlessChromium::read_message(SteadyClock::time_point deadline) {
  for (;;) {
    size_t end = inbox_.find('\0');
    if (end != std::string::npos) {
      Json message = Json::parse(inbox_.substr(0, end), nullptr, false);
      inbox_.erase(0, end + 1);
      if (!message.is_discarded()) return message;
      continue;
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    if (left <= milliseconds(0)) return std::nullopt;
    pollfd pfd{from_chromium_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(from_chromium_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // Chromium closed its end: it is gone
    inbox_.append(buf, static_cast<size_t>(n));
  }
}

bool HeadlessChromium::stop() {
  bool all_gone = true;
  if (pid_ > 0) {
    // No goodbye over the protocol: the test is over and the group's SIGKILL is what makes
    // sure no renderer outlives it.
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    // The group's other members are reaped by init; wait (bounded) until none is left.
    all_gone =
        wait_until([&] { return ::kill(-pid_, 0) != 0 && errno == ESRCH; }, milliseconds(5000));
    pid_ = -1;
  }
  if (to_chromium_ >= 0) ::close(to_chromium_);
  if (from_chromium_ >= 0) ::close(from_chromium_);
  to_chromium_ = from_chromium_ = -1;
  return all_gone;
}

std::string HeadlessChromium::log_tail(size_t max_bytes) const {
  std::ifstream in(profile_.path() + "/chromium.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

}  // namespace topicdb::itest

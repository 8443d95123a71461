#include "tests/integration/mosquitto_clients.h"

#include <mosquitto.h>
#include <sys/wait.h>

#include <algorithm>
#include <thread>

#ifndef MOSQUITTO_PUB
#error "MOSQUITTO_PUB must be defined by the build"
#endif
#ifndef MOSQUITTO_SUB
#error "MOSQUITTO_SUB must be defined by the build"
#endif
#ifndef STDBUF
#error "STDBUF must be defined by the build"
#endif

namespace topicdb::itest {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> base_args(const char* tool, uint16_t port) {
  return {tool, "-h", "127.0.0.1", "-p", std::to_string(port), "-V", "mqttv311"};
}

void init_libmosquitto() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

// --- CLI tools ------------------------------------------------------------------------------

::testing::AssertionResult mosquitto_pub(uint16_t port, const std::vector<std::string>& args,
                                         milliseconds timeout) {
  auto argv = base_args(MOSQUITTO_PUB, port);
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv, timeout);
  if (r.timed_out) {
    return ::testing::AssertionFailure()
           << "mosquitto_pub timed out after " << timeout.count() << " ms; output: " << r.output;
  }
  if (r.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "mosquitto_pub exited with " << r.exit_code << "; output: " << r.output;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MosquittoSub::start(uint16_t port,
                                               const std::vector<std::string>& args) {
  // Line-buffered stdout, so that lines can be awaited as they are printed.
  std::vector<std::string> argv = {STDBUF, "-oL"};
  auto base = base_args(MOSQUITTO_SUB, port);
  argv.insert(argv.end(), base.begin(), base.end());
  argv.insert(argv.end(), {"-d", "-F", "MSG|%t|%q|%r|%p"});
  argv.insert(argv.end(), args.begin(), args.end());
  if (auto r = process_.spawn(argv, Subprocess::Stderr::kMergeIntoStdout); !r) return r;
  auto deadline = Clock::now() + milliseconds(5000);
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    auto line = process_.read_line(std::max(left, milliseconds(1)));
    if (!line) break;
    log_ += *line + "\n";
    if (line->find("received SUBACK") != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "mosquitto_sub did not get a SUBACK within 5 s; output:\n"
                                       << log_;
}

std::optional<SubLine> MosquittoSub::parse(const std::string& line) {
  if (line.rfind("MSG|", 0) != 0) return std::nullopt;
  SubLine out;
  size_t p1 = line.find('|', 4);
  if (p1 == std::string::npos) return std::nullopt;
  size_t p2 = line.find('|', p1 + 1);
  if (p2 == std::string::npos) return std::nullopt;
  size_t p3 = line.find('|', p2 + 1);
  if (p3 == std::string::npos) return std::nullopt;
  out.topic = line.substr(4, p1 - 4);
  out.qos = std::atoi(line.substr(p1 + 1, p2 - p1 - 1).c_str());
  out.retained = line.substr(p2 + 1, p3 - p2 - 1) == "1";
  out.payload = line.substr(p3 + 1);
  return out;
}

std::vector<SubLine> MosquittoSub::collect(size_t count, milliseconds timeout) {
  std::vector<SubLine> out;
  auto deadline = Clock::now() + timeout;
  while (out.size() < count && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    auto line = process_.read_line(std::max(left, milliseconds(1)));
    if (!line) break;
    if (auto parsed = parse(*line)) {
      out.push_back(*parsed);
    } else {
      log_ += *line + "\n";
    }
  }
  return out;
}

int MosquittoSub::wait_exit(milliseconds timeout) {
  // Drain output so the child never blocks on a full pipe.
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto status = process_.wait(milliseconds(0));
    if (status) return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    auto line = process_.read_line(milliseconds(50));
    if (line) log_ += *line + "\n";
  }
  return -1;
}

// --- libmosquitto ----------------------------------------------------------------------------

std::string describe(const MosqMessage& msg) {
  return "{topic='" + msg.topic + "', payload='" + msg.payload.substr(0, 64) +
         "', qos=" + std::to_string(msg.qos) + ", retain=" + std::to_string(msg.retain) + "}";
}

MosqClient::MosqClient(uint16_t port, const std::string& client_id, bool clean_session)
    : port_(port), client_id_(client_id) {
  init_libmosquitto();
  mosq_ = mosquitto_new(client_id.empty() ? nullptr : client_id.c_str(), clean_session, this);
  if (!mosq_) {
    ADD_FAILURE() << "mosquitto_new failed for '" << client_id << "'";
    return;
  }
  mosquitto_threaded_set(mosq_, true);
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_with_flags_callback_set(mosq_, &MosqClient::on_connect);
  mosquitto_subscribe_callback_set(mosq_, &MosqClient::on_subscribe);
  mosquitto_unsubscribe_callback_set(mosq_, &MosqClient::on_unsubscribe);
  mosquitto_publish_callback_set(mosq_, &MosqClient::on_publish);
  mosquitto_message_callback_set(mosq_, &MosqClient::on_message);
  mosquitto_disconnect_callback_set(mosq_, &MosqClient::on_disconnect);
  thread_ = std::thread([this] { loop(); });
}

MosqClient::~MosqClient() {
  if (!mosq_) return;
  if (is_connected()) (void)disconnect();
  stop_loop();
  mosquitto_destroy(mosq_);
}

void MosqClient::stop_loop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void MosqClient::loop() {
  while (!stop_) {
    bool open;
    {
      std::lock_guard<std::mutex> lock(mu_);
      open = socket_open_;
    }
    if (!open) {
      std::this_thread::sleep_for(milliseconds(2));
      continue;
    }
    int rc = mosquitto_loop(mosq_, 10, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::lock_guard<std::mutex> lock(mu_);
      socket_open_ = false;
      connected_ = false;
      cv_.notify_all();
    }
  }
}

void MosqClient::on_connect(mosquitto*, void* obj, int rc, int flags) {
  auto* self = static_cast<MosqClient*>(obj);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->connack_rc_ = rc;
  self->session_present_ = (flags & 0x01) != 0;
  self->connected_ = rc == 0;
  self->cv_.notify_all();
}

void MosqClient::on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted) {
  auto* self = static_cast<MosqClient*>(obj);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->subacks_.emplace_back(mid, count > 0 ? granted[0] : -1);
  self->cv_.notify_all();
}

void MosqClient::on_unsubscribe(mosquitto*, void* obj, int mid) {
  auto* self = static_cast<MosqClient*>(obj);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->unsubacks_.push_back(mid);
  self->cv_.notify_all();
}

void MosqClient::on_publish(mosquitto*, void* obj, int mid) {
  auto* self = static_cast<MosqClient*>(obj);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->acked_mids_.push_back(mid);
  self->cv_.notify_all();
}

void MosqClient::on_message(mosquitto*, void* obj, const mosquitto_message* msg) {
  auto* self = static_cast<MosqClient*>(obj);
  MosqMessage m;
  m.topic = msg->topic ? msg->topic : "";
  if (msg->payload && msg->payloadlen > 0) {
    m.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  }
  m.qos = msg->qos;
  m.retain = msg->retain;
  std::lock_guard<std::mutex> lock(self->mu_);
  self->messages_.push_back(std::move(m));
  self->cv_.notify_all();
}

void MosqClient::on_disconnect(mosquitto*, void* obj, int) {
  auto* self = static_cast<MosqClient*>(obj);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->connected_ = false;
  self->cv_.notify_all();
}

::testing::AssertionResult MosqClient::connect(const MosqConnectOptions& options,
                                               bool* session_present) {
  if (!mosq_) return ::testing::AssertionFailure() << "no mosquitto handle";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (socket_open_) return ::testing::AssertionFailure() << "MosqClient already connected";
    connack_rc_ = -1;
  }
  if (options.will) {
    int rc = mosquitto_will_set(
        mosq_, options.will->topic.c_str(), static_cast<int>(options.will->payload.size()),
        options.will->payload.data(), options.will->qos, options.will->retain);
    if (rc != MOSQ_ERR_SUCCESS) {
      return ::testing::AssertionFailure() << "mosquitto_will_set: " << mosquitto_strerror(rc);
    }
  } else {
    mosquitto_will_clear(mosq_);
  }
  int rc = mosquitto_connect(mosq_, "127.0.0.1", port_, options.keep_alive_seconds);
  if (rc != MOSQ_ERR_SUCCESS) {
    return ::testing::AssertionFailure()
           << "mosquitto_connect(127.0.0.1:" << port_ << "): " << mosquitto_strerror(rc);
  }
  std::unique_lock<std::mutex> lock(mu_);
  socket_open_ = true;
  if (!cv_.wait_for(lock, std::chrono::seconds(5),
                    [&] { return connack_rc_ >= 0 || !socket_open_; })) {
    return ::testing::AssertionFailure()
           << "libmosquitto '" << client_id_ << "': no CONNACK within 5 s";
  }
  if (connack_rc_ != 0) {
    return ::testing::AssertionFailure()
           << "libmosquitto '" << client_id_ << "': CONNACK rc " << connack_rc_
           << (socket_open_ ? "" : " (connection closed)");
  }
  if (session_present) *session_present = session_present_;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MosqClient::subscribe(const std::string& filter, int qos) {
  int mid = 0;
  int rc = mosquitto_subscribe(mosq_, &mid, filter.c_str(), qos);
  if (rc != MOSQ_ERR_SUCCESS) {
    return ::testing::AssertionFailure()
           << "mosquitto_subscribe('" << filter << "'): " << mosquitto_strerror(rc);
  }
  std::unique_lock<std::mutex> lock(mu_);
  int granted = -1;
  bool ok = cv_.wait_for(lock, std::chrono::seconds(5), [&] {
    for (const auto& [m, g] : subacks_) {
      if (m == mid) {
        granted = g;
        return true;
      }
    }
    return false;
  });
  if (!ok) {
    return ::testing::AssertionFailure() << "libmosquitto: no SUBACK for '" << filter << "'";
  }
  if (granted != qos) {
    return ::testing::AssertionFailure()
           << "subscribe '" << filter << "' at QoS " << qos << " was granted " << granted;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MosqClient::unsubscribe(const std::string& filter) {
  int mid = 0;
  int rc = mosquitto_unsubscribe(mosq_, &mid, filter.c_str());
  if (rc != MOSQ_ERR_SUCCESS) {
    return ::testing::AssertionFailure() << "mosquitto_unsubscribe: " << mosquitto_strerror(rc);
  }
  std::unique_lock<std::mutex> lock(mu_);
  bool ok = cv_.wait_for(lock, std::chrono::seconds(5), [&] {
    return std::find(unsubacks_.begin(), unsubacks_.end(), mid) != unsubacks_.end();
  });
  if (!ok) {
    return ::testing::AssertionFailure() << "libmosquitto: no UNSUBACK for '" << filter << "'";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MosqClient::publish(const std::string& topic, const std::string& payload,
                                               int qos, bool retain) {
  int mid = 0;
  int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    return ::testing::AssertionFailure()
           << "mosquitto_publish('" << topic << "'): " << mosquitto_strerror(rc);
  }
  std::unique_lock<std::mutex> lock(mu_);
  bool ok = cv_.wait_for(lock, std::chrono::seconds(5), [&] {
    return std::find(acked_mids_.begin(), acked_mids_.end(), mid) != acked_mids_.end();
  });
  if (!ok) {
    return ::testing::AssertionFailure()
           << "libmosquitto: publish to '" << topic << "' QoS " << qos << " not completed in 5 s"
           << (connected_ ? "" : " (disconnected)");
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MosqClient::disconnect() {
  int rc = mosquitto_disconnect(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) {
    return ::testing::AssertionFailure() << "mosquitto_disconnect: " << mosquitto_strerror(rc);
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::seconds(3), [&] { return !socket_open_; })) {
    return ::testing::AssertionFailure() << "libmosquitto: disconnect did not complete in 3 s";
  }
  return ::testing::AssertionSuccess();
}

std::optional<MosqMessage> MosqClient::receive(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !messages_.empty(); })) return std::nullopt;
  MosqMessage m = std::move(messages_.front());
  messages_.pop_front();
  return m;
}

::testing::AssertionResult MosqClient::receive_n(size_t n, std::vector<MosqMessage>* out,
                                                 milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<MosqMessage> got;
  while (got.size() < n) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    auto msg = left.count() > 0 ? receive(left) : std::nullopt;
    if (!msg) {
      auto failure = ::testing::AssertionFailure();
      failure << "client '" << client_id_ << "' received " << got.size() << " of " << n
              << " messages within " << timeout.count() << " ms:";
      for (const auto& m : got) failure << "\n  " << describe(m);
      if (out) *out = std::move(got);
      return failure;
    }
    got.push_back(std::move(*msg));
  }
  if (out) *out = std::move(got);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MosqClient::expect_no_message(milliseconds window) {
  if (auto msg = receive(window)) {
    return ::testing::AssertionFailure()
           << "client '" << client_id_ << "' unexpectedly received " << describe(*msg);
  }
  return ::testing::AssertionSuccess();
}

bool MosqClient::is_connected() {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_ && socket_open_;
}

bool MosqClient::wait_disconnected(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return !connected_ || !socket_open_; });
}

}  // namespace topicdb::itest

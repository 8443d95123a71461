// Mosquitto-based clients for the integration tests: the mosquitto_pub / mosquitto_sub
// command-line tools (run as bounded child processes) and a libmosquitto client.
#ifndef TOPICDB_TESTS_INTEGRATION_MOSQUITTO_CLIENTS_H_
#define TOPICDB_TESTS_INTEGRATION_MOSQUITTO_CLIENTS_H_

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/broker_process.h"

struct mosquitto;
struct mosquitto_message;

namespace topicdb::itest {

// `mosquitto_pub -h 127.0.0.1 -p PORT -V mqttv311 <args>` with a bounded timeout; fails
// unless it exits with code 0.
::testing::AssertionResult mosquitto_pub(uint16_t port, const std::vector<std::string>& args,
                                         milliseconds timeout = milliseconds(10000));

// A received line from mosquitto_sub, printed with the format "MSG|%t|%q|%r|%p".
struct SubLine {
  std::string topic;
  int qos = -1;
  bool retained = false;
  std::string payload;
};

// A background mosquitto_sub process (-d so that the SUBACK can be awaited).
class MosquittoSub {
 public:
  // Starts `mosquitto_sub -h 127.0.0.1 -p PORT -V mqttv311 -d -F "MSG|%t|%q|%r|%p" <args>`
  // and waits (5 s) until it has received its SUBACK.
  ::testing::AssertionResult start(uint16_t port, const std::vector<std::string>& args);
  // Collects lines until `count` messages arrived, the process exited, or the timeout.
  std::vector<SubLine> collect(size_t count, milliseconds timeout);
  // Waits for the process to exit by itself (e.g. after -C N); returns its exit code or -1.
  int wait_exit(milliseconds timeout);
  Subprocess& process() { return process_; }
  // All non-message output seen so far (debug lines), for failure messages.
  const std::string& log() const { return log_; }

 private:
  std::optional<SubLine> parse(const std::string& line);

  Subprocess process_;
  std::string log_;
};

struct MosqMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

struct MosqConnectOptions {
  int keep_alive_seconds = 30;
  struct WillSpec {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
  };
  std::optional<WillSpec> will;
};

// A libmosquitto (MQTT 3.1.1) client whose network loop runs on a thread owned by this
// object. It never reconnects by itself. Used for the auxiliary publishers / subscribers
// in tests, because Paho's async client needs up to 1 s per connect once another Paho client
// is connected in the same process.
class MosqClient {
 public:
  // libmosquitto generates a random id when client_id is empty (clean session only).
  MosqClient(uint16_t port, const std::string& client_id, bool clean_session = true);
  ~MosqClient();
  MosqClient(const MosqClient&) = delete;
  MosqClient& operator=(const MosqClient&) = delete;

  // Connects and waits (5 s) for the CONNACK.
  ::testing::AssertionResult connect(const MosqConnectOptions& options = {},
                                     bool* session_present = nullptr);
  // Subscribes and checks the granted QoS equals the requested one.
  ::testing::AssertionResult subscribe(const std::string& filter, int qos);
  ::testing::AssertionResult unsubscribe(const std::string& filter);
  // Publishes and waits for the publish to complete (PUBACK / PUBCOMP for QoS 1/2).
  ::testing::AssertionResult publish(const std::string& topic, const std::string& payload, int qos,
                                     bool retain = false);
  // Sends DISCONNECT and waits until the connection is closed.
  ::testing::AssertionResult disconnect();

  // Next received message, nullopt on timeout.
  std::optional<MosqMessage> receive(milliseconds timeout = milliseconds(3000));
  ::testing::AssertionResult receive_n(size_t n, std::vector<MosqMessage>* out,
                                       milliseconds timeout = milliseconds(5000));
  ::testing::AssertionResult expect_no_message(milliseconds window = milliseconds(500));
  bool is_connected();
  bool wait_disconnected(milliseconds timeout);
  const std::string& client_id() const { return client_id_; }

 private:
  static void on_connect(mosquitto*, void* obj, int rc, int flags);
  static void on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted);
  static void on_unsubscribe(mosquitto*, void* obj, int mid);
  static void on_publish(mosquitto*, void* obj, int mid);
  static void on_message(mosquitto*, void* obj, const mosquitto_message* msg);
  static void on_disconnect(mosquitto*, void* obj, int rc);
  void loop();
  void stop_loop();

  uint16_t port_;
  std::string client_id_;
  mosquitto* mosq_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  int connack_rc_ = -1;
  bool session_present_ = false;
  bool connected_ = false;
  bool socket_open_ = false;
  std::vector<int> acked_mids_;
  std::vector<std::pair<int, int>> subacks_;  // mid, granted QoS
  std::vector<int> unsubacks_;
  std::deque<MosqMessage> messages_;
};

std::string describe(const MosqMessage& msg);

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_MOSQUITTO_CLIENTS_H_

// Paho C++ (MQTT 3.1.1) client wrapper for the integration tests: every call has a bounded
// timeout and Paho exceptions become test failures (AssertionResult).
#ifndef TOPICDB_TESTS_INTEGRATION_PAHO_CLIENT_H_
#define TOPICDB_TESTS_INTEGRATION_PAHO_CLIENT_H_

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace topicdb::itest {

using std::chrono::milliseconds;

struct PahoConnectOptions {
  bool clean_session = true;
  int keep_alive_seconds = 30;
  std::optional<::mqtt::message> will;
  // Max in-flight messages on the Paho side (publishing).
  int max_inflight = 65535;
};

class PahoClient {
 public:
  PahoClient(uint16_t port, const std::string& client_id);
  // Disconnects cleanly if still connected (so no will is published by accident).
  ~PahoClient();
  PahoClient(const PahoClient&) = delete;
  PahoClient& operator=(const PahoClient&) = delete;

  ::testing::AssertionResult connect(const PahoConnectOptions& options = {},
                                     bool* session_present = nullptr);
  // Subscribes and checks the granted QoS equals the requested one.
  ::testing::AssertionResult subscribe(const std::string& filter, int qos);
  ::testing::AssertionResult unsubscribe(const std::string& filter);
  // Publishes and waits for the delivery to complete (PUBACK/PUBCOMP for QoS 1/2).
  ::testing::AssertionResult publish(const std::string& topic, const std::string& payload, int qos,
                                     bool retain = false);
  ::testing::AssertionResult disconnect();

  // Next message, nullptr on timeout. A connection-lost marker is skipped (use
  // is_connected()).
  ::mqtt::const_message_ptr receive(milliseconds timeout = milliseconds(3000));
  // Collects exactly n messages, failing if fewer arrive within the timeout.
  ::testing::AssertionResult receive_n(size_t n, std::vector<::mqtt::const_message_ptr>* out,
                                       milliseconds timeout = milliseconds(5000));
  // Fails if any message arrives within the window.
  ::testing::AssertionResult expect_no_message(milliseconds window = milliseconds(500));

  bool is_connected() const;
  // Polls until the client notices the connection is gone.
  bool wait_disconnected(milliseconds timeout);
  const std::string& client_id() const { return client_id_; }

 private:
  std::string client_id_;
  std::unique_ptr<::mqtt::async_client> client_;
};

// Every Paho client in these tests is made here. The first call also creates one client that
// is never connected and lives until exit: Paho C (1.3.x) sets up library-wide state, its trace
// buffer among it, when the first client is created and frees it when the last one is
// destroyed, and those two steps race when many threads create and destroy clients at once
// (DbConstraintsTest.SixtyFourClientsRaceForOneUniqueValue): the buffer was allocated twice
// and LeakSanitizer failed the test. With one client always alive the count never reaches
// zero, so that set-up runs once per test process.
std::unique_ptr<::mqtt::async_client> new_paho_client(
    const std::string& server_uri, const std::string& client_id,
    const ::mqtt::create_options& options = ::mqtt::create_options());

// Message summary for failure output.
std::string describe(const ::mqtt::const_message_ptr& msg);

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_PAHO_CLIENT_H_

// Helpers for the TLS and WebSocket integration tests: the ports of the ready line's tls=,
// ws= and wss= fields, and a Paho C++ client for any URI (ssl://, ws://, wss://) with
// optional TLS settings. Header-only: used by tls_test.cc, websocket_test.cc and browser_test.cc.
#ifndef TOPICDB_TESTS_INTEGRATION_LAYERED_LISTENERS_H_
#define TOPICDB_TESTS_INTEGRATION_LAYERED_LISTENERS_H_

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "tests/integration/paho_client.h"

namespace topicdb::itest {

// The port of "KEY=127.0.0.1:PORT" in the ready line; 0 if absent.
inline uint16_t ready_port(const std::string& ready_line, const std::string& key) {
  size_t pos = ready_line.find(" " + key + "=127.0.0.1:");
  if (pos == std::string::npos) return 0;
  pos += key.size() + std::strlen(" =127.0.0.1:");
  return static_cast<uint16_t>(std::atoi(ready_line.c_str() + pos));
}

struct UriClientOptions {
  std::optional<::mqtt::ssl_options> ssl;
  std::optional<std::string> username;
  std::optional<std::string> password;
};

// A Paho client on one URI; every operation waits at most 5 s and reports failures as
// AssertionResults.
class UriClient {
 public:
  UriClient(const std::string& uri, const std::string& client_id)
      : client_(new_paho_client(uri, client_id)) {
    client_->start_consuming();
  }
  ~UriClient() {
    try {
      if (client_->is_connected()) client_->disconnect(0)->wait_for(std::chrono::seconds(2));
      client_->stop_consuming();
    } catch (const ::mqtt::exception&) {
    }
  }

  ::testing::AssertionResult connect(const UriClientOptions& options = {}) {
    auto builder = ::mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_3_1_1)
                       .clean_session(true)
                       .connect_timeout(std::chrono::seconds(3))
                       .automatic_reconnect(false);
    if (options.ssl) builder.ssl(*options.ssl);
    if (options.username) builder.user_name(*options.username);
    if (options.password) builder.password(*options.password);
    try {
      if (!client_->connect(builder.finalize())->wait_for(kTimeout)) {
        return ::testing::AssertionFailure() << "connect timed out";
      }
    } catch (const ::mqtt::exception& e) {
      return ::testing::AssertionFailure() << "connect failed: " << e.what();
    }
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult subscribe(const std::string& filter, int qos) {
    try {
      if (!client_->subscribe(filter, qos)->wait_for(kTimeout)) {
        return ::testing::AssertionFailure() << "subscribe timed out";
      }
    } catch (const ::mqtt::exception& e) {
      return ::testing::AssertionFailure() << "subscribe failed: " << e.what();
    }
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult publish(const std::string& topic, const std::string& payload,
                                     int qos) {
    try {
      if (!client_->publish(topic, payload.data(), payload.size(), qos, false)
               ->wait_for(kTimeout)) {
        return ::testing::AssertionFailure() << "publish timed out";
      }
    } catch (const ::mqtt::exception& e) {
      return ::testing::AssertionFailure() << "publish failed: " << e.what();
    }
    return ::testing::AssertionSuccess();
  }
  // The next message, null after 5 s.
  ::mqtt::const_message_ptr receive() {
    ::mqtt::const_message_ptr message;
    client_->try_consume_message_for(&message, kTimeout);
    return message;
  }
  bool is_connected() const { return client_->is_connected(); }

 private:
  static constexpr std::chrono::milliseconds kTimeout{5000};
  std::unique_ptr<::mqtt::async_client> client_;
};

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_LAYERED_LISTENERS_H_

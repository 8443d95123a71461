#include "tests/integration/paho_client.h"

#include <memory>
#include <thread>

namespace topicdb::itest {
namespace {

constexpr milliseconds kOpTimeout(5000);

::testing::AssertionResult paho_failure(const std::string& what, const std::string& client_id,
                                        const ::mqtt::exception& e) {
  return ::testing::AssertionFailure()
         << "Paho " << what << " failed for client '" << client_id << "': " << e.what() << " (rc "
         << e.get_return_code() << ", reason " << e.get_reason_code() << ")";
}

}  // namespace

std::string describe(const ::mqtt::const_message_ptr& msg) {
  if (!msg) return "(no message)";
  return "{topic='" + msg->get_topic() + "', payload='" + msg->get_payload_str().substr(0, 64) +
         "', qos=" + std::to_string(msg->get_qos()) +
         ", retained=" + std::to_string(msg->is_retained()) +
         ", dup=" + std::to_string(msg->is_duplicate()) + "}";
}

std::unique_ptr<::mqtt::async_client> new_paho_client(const std::string& server_uri,
                                                      const std::string& client_id,
                                                      const ::mqtt::create_options& options) {
  // Destroyed after main returns, when no other client is left.
  static const auto keeper = std::make_unique<::mqtt::async_client>(
      "tcp://127.0.0.1:1", "topicdb-test-paho-keeper", nullptr);
  return std::make_unique<::mqtt::async_client>(server_uri, client_id, options, nullptr);
}

PahoClient::PahoClient(uint16_t port, const std::string& client_id) : client_id_(client_id) {
  try {
    client_ = new_paho_client("tcp://127.0.0.1:" + std::to_string(port), client_id);
    client_->start_consuming();
  } catch (const ::mqtt::exception& e) {
    ADD_FAILURE() << "cannot create Paho client '" << client_id << "': " << e.what();
    client_.reset();
  }
}

PahoClient::~PahoClient() {
  if (!client_) return;
  try {
    if (client_->is_connected()) client_->disconnect(0)->wait_for(std::chrono::seconds(2));
  } catch (const ::mqtt::exception&) {
    // Best effort only.
  }
  try {
    client_->stop_consuming();
  } catch (const ::mqtt::exception&) {
  }
}

::testing::AssertionResult PahoClient::connect(const PahoConnectOptions& options,
                                               bool* session_present) {
  if (!client_) return ::testing::AssertionFailure() << "no Paho client";
  auto builder = ::mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(options.clean_session)
                     .keep_alive_interval(std::chrono::seconds(options.keep_alive_seconds))
                     .connect_timeout(std::chrono::seconds(3))
                     .max_inflight(options.max_inflight)
                     .automatic_reconnect(false);
  if (options.will) builder.will(*options.will);
  try {
    auto tok = client_->connect(builder.finalize());
    if (!tok->wait_for(kOpTimeout)) {
      return ::testing::AssertionFailure() << "Paho connect timed out for '" << client_id_ << "'";
    }
    if (session_present) *session_present = tok->get_connect_response().is_session_present();
  } catch (const ::mqtt::exception& e) {
    return paho_failure("connect", client_id_, e);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult PahoClient::subscribe(const std::string& filter, int qos) {
  if (!client_) return ::testing::AssertionFailure() << "no Paho client";
  try {
    auto tok = client_->subscribe(filter, qos);
    if (!tok->wait_for(kOpTimeout)) {
      return ::testing::AssertionFailure() << "Paho subscribe '" << filter << "' timed out";
    }
    auto codes = tok->get_subscribe_response().get_reason_codes();
    if (codes.size() != 1 || static_cast<int>(codes[0]) != qos) {
      return ::testing::AssertionFailure()
             << "subscribe '" << filter << "' at QoS " << qos << " was granted "
             << (codes.empty() ? -1 : static_cast<int>(codes[0]));
    }
  } catch (const ::mqtt::exception& e) {
    return paho_failure("subscribe '" + filter + "'", client_id_, e);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult PahoClient::unsubscribe(const std::string& filter) {
  if (!client_) return ::testing::AssertionFailure() << "no Paho client";
  try {
    if (!client_->unsubscribe(filter)->wait_for(kOpTimeout)) {
      return ::testing::AssertionFailure() << "Paho unsubscribe '" << filter << "' timed out";
    }
  } catch (const ::mqtt::exception& e) {
    return paho_failure("unsubscribe '" + filter + "'", client_id_, e);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult PahoClient::publish(const std::string& topic, const std::string& payload,
                                               int qos, bool retain) {
  if (!client_) return ::testing::AssertionFailure() << "no Paho client";
  try {
    auto tok = client_->publish(topic, payload.data(), payload.size(), qos, retain);
    if (!tok->wait_for(kOpTimeout)) {
      return ::testing::AssertionFailure()
             << "Paho publish to '" << topic << "' (QoS " << qos << ") did not complete in 5 s";
    }
  } catch (const ::mqtt::exception& e) {
    return paho_failure("publish to '" + topic + "'", client_id_, e);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult PahoClient::disconnect() {
  if (!client_) return ::testing::AssertionFailure() << "no Paho client";
  try {
    if (!client_->disconnect(0)->wait_for(kOpTimeout)) {
      return ::testing::AssertionFailure() << "Paho disconnect timed out";
    }
  } catch (const ::mqtt::exception& e) {
    return paho_failure("disconnect", client_id_, e);
  }
  return ::testing::AssertionSuccess();
}

::mqtt::const_message_ptr PahoClient::receive(milliseconds timeout) {
  if (!client_) return nullptr;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    ::mqtt::const_message_ptr msg;
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return nullptr;
    if (!client_->try_consume_message_for(&msg, left)) return nullptr;
    if (msg) return msg;
    // nullptr = connection-lost marker; keep waiting for real messages.
  }
}

::testing::AssertionResult PahoClient::receive_n(size_t n,
                                                 std::vector<::mqtt::const_message_ptr>* out,
                                                 milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<::mqtt::const_message_ptr> got;
  while (got.size() < n) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto msg = left.count() > 0 ? receive(left) : nullptr;
    if (!msg) {
      auto failure = ::testing::AssertionFailure();
      failure << "client '" << client_id_ << "' received " << got.size() << " of " << n
              << " messages within " << timeout.count() << " ms:";
      for (const auto& m : got) failure << "\n  " << describe(m);
      if (out) *out = std::move(got);
      return failure;
    }
    got.push_back(msg);
  }
  if (out) *out = std::move(got);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult PahoClient::expect_no_message(milliseconds window) {
  if (auto msg = receive(window)) {
    return ::testing::AssertionFailure()
           << "client '" << client_id_ << "' unexpectedly received " << describe(msg);
  }
  return ::testing::AssertionSuccess();
}

bool PahoClient::is_connected() const { return client_ && client_->is_connected(); }

bool PahoClient::wait_disconnected(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (is_connected()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

}  // namespace topicdb::itest

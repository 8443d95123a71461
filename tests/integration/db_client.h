// Helpers for the $DB integration tests (db_*_test.cc):
//
//   DbTest     - a broker process with `--sys-interval 0` plus per-fixture flags.
//   DbClient   - Paho C++ speaking MQTT 5: request() publishes with a Response Topic and
//                Correlation Data and waits for the answer with that correlation.
//   Db311Client - Paho C++ speaking MQTT 3.1.1: answers arrive on $DB/_reply/...
//
// Answers are parsed into nlohmann::json envelopes. Every wait is bounded.
#ifndef TOPICDB_TESTS_INTEGRATION_DB_CLIENT_H_
#define TOPICDB_TESTS_INTEGRATION_DB_CLIENT_H_

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::db {

using Json = nlohmann::json;
using std::chrono::milliseconds;

class DbTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override {
    std::vector<std::string> args = {"--sys-interval", "0"};
    auto extra = db_flags();
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  virtual std::vector<std::string> db_flags() const { return {}; }
};

inline Json parse_envelope(const std::string& payload) {
  Json j = Json::parse(payload, nullptr, false);
  if (j.is_discarded()) ADD_FAILURE() << "answer is not JSON: " << payload;
  return j;
}

// "ok" envelope's data, or a failure naming the error.
inline ::testing::AssertionResult is_ok(const Json& envelope) {
  if (envelope.is_object() && envelope.value("status", "") == "ok" && envelope.contains("data")) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected an ok answer, got " << envelope.dump();
}

inline ::testing::AssertionResult is_error(const Json& envelope, int code) {
  if (!envelope.is_object() || envelope.value("status", "") != "error" ||
      !envelope.contains("code") || envelope["code"] != code) {
    return ::testing::AssertionFailure()
           << "expected an error answer with code " << code << ", got " << envelope.dump();
  }
  if (!envelope.contains("message") || !envelope["message"].is_string() ||
      envelope["message"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "error answer without a message: " << envelope.dump();
  }
  return ::testing::AssertionSuccess();
}

// MQTT 5 requester on Paho C++.
class DbClient {
 public:
  DbClient(uint16_t port, const std::string& client_id)
      : client_id_(client_id), paho_(port, client_id), reply_topic_("dbreply/" + client_id) {}

  ::testing::AssertionResult connect() {
    if (auto r = paho_.connect(); !r) return r;
    return paho_.subscribe(reply_topic_, 1);
  }

  // Publishes `payload` to `topic` at `qos` with a Response Topic and fresh Correlation Data;
  // the answer's envelope, or null JSON (and a test failure) when none came in 5 s.
  Json request(const std::string& topic, const std::string& payload, int qos = 1) {
    std::string correlation;
    if (!publish_request(topic, payload, qos, &correlation)) return nullptr;
    auto answer = wait_answer(correlation);
    if (!answer) {
      ADD_FAILURE() << "no answer to " << topic << " " << payload.substr(0, 200) << " in 5 s";
      return nullptr;
    }
    return parse_envelope(answer->get_payload_str());
  }
  Json request_json(const std::string& topic, const Json& body, int qos = 1) {
    return request(topic, body.dump(), qos);
  }

  // Publishes every payload to `topic` at QoS 0 without waiting for answers (so many requests
  // are in flight at once; keep them under --db-max-inflight), then collects the answers.
  // Returns them in request order; a request unanswered within `timeout` is null JSON.
  std::vector<Json> request_pipelined(const std::string& topic,
                                      const std::vector<std::string>& payloads,
                                      milliseconds timeout = milliseconds(30000)) {
    std::vector<Json> answers(payloads.size());
    std::map<std::string, size_t> waiting;
    for (size_t i = 0; i < payloads.size(); ++i) {
      std::string correlation;
      if (!publish_request(topic, payloads[i], 0, &correlation)) return answers;
      waiting.emplace(correlation, i);
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      auto msg = paho_.receive(std::max(left, milliseconds(1)));
      if (!msg) break;
      const auto& props = msg->get_properties();
      auto it = waiting.end();
      if (msg->get_topic() == reply_topic_ && props.contains(::mqtt::property::CORRELATION_DATA)) {
        it = waiting.find(::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA));
      }
      if (it == waiting.end()) {
        others_.push_back(msg);
        continue;
      }
      answers[it->second] = parse_envelope(msg->get_payload_str());
      waiting.erase(it);
    }
    if (!waiting.empty())
      ADD_FAILURE() << waiting.size() << " requests to " << topic << " unanswered";
    return answers;
  }

  // Messages that arrived on other topics while waiting for answers (events, ...).
  std::deque<::mqtt::const_message_ptr>& others() { return others_; }
  v5::PahoV5& paho() { return paho_; }
  const std::string& reply_topic() const { return reply_topic_; }

  ::mqtt::const_message_ptr wait_answer(const std::string& correlation,
                                        milliseconds timeout = milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      auto msg = paho_.receive(std::max(left, milliseconds(1)));
      if (!msg) return nullptr;
      const auto& props = msg->get_properties();
      if (msg->get_topic() == reply_topic_ && props.contains(::mqtt::property::CORRELATION_DATA) &&
          ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA) == correlation) {
        return msg;
      }
      others_.push_back(msg);
    }
    return nullptr;
  }

 private:
  // Publishes one request with the reply topic and fresh Correlation Data (in *correlation);
  // false (and a test failure) when the publish failed.
  bool publish_request(const std::string& topic, const std::string& payload, int qos,
                       std::string* correlation) {
    *correlation = client_id_ + "-" + std::to_string(++counter_);
    auto msg = ::mqtt::make_message(topic, payload, qos, false);
    ::mqtt::properties props;
    props.add(::mqtt::property(::mqtt::property::RESPONSE_TOPIC, reply_topic_));
    props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, *correlation));
    msg->set_properties(props);
    if (auto r = paho_.publish(msg); !r) {
      ADD_FAILURE() << r.message();
      return false;
    }
    return true;
  }

  std::string client_id_;
  v5::PahoV5 paho_;
  std::string reply_topic_;
  uint64_t counter_ = 0;
  std::deque<::mqtt::const_message_ptr> others_;
};

// MQTT 3.1.1 requester on Paho C++: subscribes to $DB/_reply/#.
class Db311Client {
 public:
  Db311Client(uint16_t port, const std::string& client_id) : paho_(port, client_id) {}

  ::testing::AssertionResult connect() {
    if (auto r = paho_.connect(); !r) return r;
    return paho_.subscribe("$DB/_reply/#", 1);
  }
  // Publishes and returns the next answer (its topic in *topic).
  Json request(const std::string& topic, const std::string& payload, std::string* reply = nullptr) {
    if (auto r = paho_.publish(topic, payload, 1); !r) {
      ADD_FAILURE() << r.message();
      return nullptr;
    }
    auto msg = paho_.receive(milliseconds(5000));
    if (!msg) {
      ADD_FAILURE() << "no 3.1.1 answer to " << topic << " in 5 s";
      return nullptr;
    }
    if (reply) *reply = msg->get_topic();
    return parse_envelope(msg->get_payload_str());
  }
  PahoClient& paho() { return paho_; }

 private:
  PahoClient paho_;
};

}  // namespace topicdb::itest::db

#endif  // TOPICDB_TESTS_INTEGRATION_DB_CLIENT_H_

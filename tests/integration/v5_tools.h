// MQTT 5 clients other than the raw one, for the v5_*_test.cc integration tests:
//
//   PahoV5      - Paho MQTT C++ (1.2) client speaking MQTT 5, bounded waits everywhere.
//   MosqSubV5   - a background `mosquitto_sub -V 5` with a caller-chosen -F format.
//   mosquitto_pub_v5() - `mosquitto_pub -V 5 ...` run to completion.
//
// Everything waits with a timeout; nothing here talks to anything but 127.0.0.1.
#ifndef TOPICDB_TESTS_INTEGRATION_V5_TOOLS_H_
#define TOPICDB_TESTS_INTEGRATION_V5_TOOLS_H_

#include <mqtt/async_client.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/paho_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {

// --- Paho MQTT C++ as an MQTT 5 client ---------------------------------------------------

struct PahoV5Options {
  bool clean_start = true;
  std::optional<uint32_t> session_expiry;
  int keep_alive_seconds = 30;
  std::optional<::mqtt::message> will;
  ::mqtt::properties extra_properties;
};

class PahoV5 {
 public:
  PahoV5(uint16_t port, const std::string& client_id) : client_id_(client_id) {
    client_ = new_paho_client("tcp://127.0.0.1:" + std::to_string(port), client_id,
                              ::mqtt::create_options(MQTTVERSION_5));
    client_->start_consuming();
  }
  ~PahoV5() {
    try {
      if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const ::mqtt::exception&) {
    }
    try {
      client_->stop_consuming();
    } catch (const ::mqtt::exception&) {
    }
  }
  PahoV5(const PahoV5&) = delete;
  PahoV5& operator=(const PahoV5&) = delete;

  ::testing::AssertionResult connect(const PahoV5Options& options = {},
                                     std::optional<::mqtt::connect_response>* response = nullptr) {
    ::mqtt::properties props = options.extra_properties;
    if (options.session_expiry) {
      props.add(::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL,
                                 static_cast<int32_t>(*options.session_expiry)));
    }
    auto builder = ::mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_5)
                       .clean_start(options.clean_start)
                       .keep_alive_interval(std::chrono::seconds(options.keep_alive_seconds))
                       .connect_timeout(std::chrono::seconds(3))
                       .automatic_reconnect(false);
    if (options.will) builder.will(*options.will);
    try {
      // Paho C++ 1.2 copies connect_options member-wise, and the copy's C struct can keep
      // pointing at the original's property block; setting the properties on the final
      // object keeps the CONNECT properties valid (seen lost under ASan otherwise).
      ::mqtt::connect_options connect_opts = builder.finalize();
      connect_opts.set_properties(props);
      auto tok = client_->connect(connect_opts);
      if (!tok->wait_for(milliseconds(5000))) {
        return ::testing::AssertionFailure()
               << "Paho v5 connect timed out for '" << client_id_ << "'";
      }
      if (response) response->emplace(tok->get_connect_response());
    } catch (const ::mqtt::exception& e) {
      return failure("connect", e);
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult subscribe(const std::string& filter, int qos,
                                       const ::mqtt::subscribe_options& opts = {},
                                       const ::mqtt::properties& props = {}) {
    try {
      auto tok = client_->subscribe(filter, qos, opts, props);
      if (!tok->wait_for(milliseconds(5000))) {
        return ::testing::AssertionFailure() << "Paho v5 subscribe '" << filter << "' timed out";
      }
      auto codes = tok->get_subscribe_response().get_reason_codes();
      if (codes.size() != 1 || static_cast<int>(codes[0]) != qos) {
        return ::testing::AssertionFailure()
               << "subscribe '" << filter << "' at QoS " << qos << " got reason "
               << (codes.empty() ? -1 : static_cast<int>(codes[0]));
      }
    } catch (const ::mqtt::exception& e) {
      return failure("subscribe '" + filter + "'", e);
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult publish(::mqtt::message_ptr msg) {
    try {
      auto tok = client_->publish(msg);
      if (!tok->wait_for(milliseconds(5000))) {
        return ::testing::AssertionFailure()
               << "Paho v5 publish to '" << msg->get_topic() << "' did not complete in 5 s";
      }
    } catch (const ::mqtt::exception& e) {
      return failure("publish to '" + msg->get_topic() + "'", e);
    }
    return ::testing::AssertionSuccess();
  }

  ::mqtt::const_message_ptr receive(milliseconds timeout = milliseconds(3000)) {
    auto deadline = SteadyClock::now() + timeout;
    while (true) {
      ::mqtt::const_message_ptr msg;
      auto left = deadline - SteadyClock::now();
      if (left <= SteadyClock::duration::zero()) return nullptr;
      if (!client_->try_consume_message_for(&msg, left)) return nullptr;
      if (msg) return msg;
    }
  }

  ::testing::AssertionResult disconnect() {
    try {
      if (!client_->disconnect()->wait_for(milliseconds(5000))) {
        return ::testing::AssertionFailure() << "Paho v5 disconnect timed out";
      }
    } catch (const ::mqtt::exception& e) {
      return failure("disconnect", e);
    }
    return ::testing::AssertionSuccess();
  }

  bool is_connected() const { return client_->is_connected(); }
  ::mqtt::async_client& client() { return *client_; }

 private:
  ::testing::AssertionResult failure(const std::string& what, const ::mqtt::exception& e) {
    return ::testing::AssertionFailure()
           << "Paho v5 " << what << " failed for '" << client_id_ << "': " << e.what() << " (rc "
           << e.get_return_code() << ", reason " << e.get_reason_code() << ")";
  }

  std::string client_id_;
  std::unique_ptr<::mqtt::async_client> client_;
};

// All values of one property of a Paho message, in order (user properties as "key=value").
inline std::vector<std::string> paho_user_properties(const ::mqtt::properties& props) {
  std::vector<std::string> out;
  for (size_t i = 0; i < props.count(::mqtt::property::USER_PROPERTY); ++i) {
    auto [k, v] = ::mqtt::get<::mqtt::string_pair>(props, ::mqtt::property::USER_PROPERTY, i);
    out.push_back(k + "=" + v);
  }
  return out;
}

// --- mosquitto command-line tools in MQTT 5 mode -----------------------------------------

inline ::testing::AssertionResult mosquitto_pub_v5(uint16_t port,
                                                   const std::vector<std::string>& args,
                                                   milliseconds timeout = milliseconds(10000)) {
  std::vector<std::string> argv = {MOSQUITTO_PUB,        "-h", "127.0.0.1", "-p",
                                   std::to_string(port), "-V", "5"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv, timeout);
  if (r.timed_out || r.exit_code != 0) {
    return ::testing::AssertionFailure() << "mosquitto_pub -V 5 failed (exit " << r.exit_code
                                         << (r.timed_out ? ", timed out" : "") << "): " << r.output;
  }
  return ::testing::AssertionSuccess();
}

// `mosquitto_sub -V 5 -d -F "MSG|<format>" <args>`, waiting for the SUBACK.
class MosqSubV5 {
 public:
  ::testing::AssertionResult start(uint16_t port, const std::string& format,
                                   const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        STDBUF, "-oL", MOSQUITTO_SUB, "-h", "127.0.0.1",    "-p", std::to_string(port),
        "-V",   "5",   "-d",          "-F", "MSG|" + format};
    argv.insert(argv.end(), args.begin(), args.end());
    if (auto r = process_.spawn(argv, Subprocess::Stderr::kMergeIntoStdout); !r) return r;
    auto deadline = SteadyClock::now() + milliseconds(5000);
    while (SteadyClock::now() < deadline) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      auto line = process_.read_line(std::max(left, milliseconds(1)));
      if (!line) break;
      log_ += *line + "\n";
      if (line->find("received SUBACK") != std::string::npos) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "mosquitto_sub -V 5 got no SUBACK in 5 s:\n" << log_;
  }

  // Message lines (without the "MSG|" prefix) until `count` arrived or the timeout.
  std::vector<std::string> collect(size_t count, milliseconds timeout) {
    std::vector<std::string> out;
    auto deadline = SteadyClock::now() + timeout;
    while (out.size() < count && SteadyClock::now() < deadline) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      auto line = process_.read_line(std::max(left, milliseconds(1)));
      if (!line) break;
      if (line->rfind("MSG|", 0) == 0) {
        out.push_back(line->substr(4));
      } else {
        log_ += *line + "\n";
      }
    }
    return out;
  }

  const std::string& log() const { return log_; }

 private:
  Subprocess process_;
  std::string log_;
};

}  // namespace topicdb::itest::v5

#endif  // TOPICDB_TESTS_INTEGRATION_V5_TOOLS_H_

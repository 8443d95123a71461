// DbCliClient: the one short-lived MQTT 5 connection of a `topicdb db` run, over
// libmosquitto: ask one $DB question and wait for its answer (Response Topic + Correlation
// Data), or stream what one subscription delivers. Every wait is bounded by the timeout.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/db_cli_args.h"
#include "base/status.h"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace topicdb::app {

struct DbCliMessage {
  std::string topic;
  std::string payload;
  std::string correlation_data;  // empty when the message had none
};

class DbCliClient {
 public:
  // Connects (asking for Response Information, MQTT 5 §4.10) and waits for the CONNACK,
  // within conn.timeout_ms. Errors carry a one-line message without the "topicdb: ".
  static Result<std::unique_ptr<DbCliClient>> connect(const DbConnection& conn);
  ~DbCliClient();
  DbCliClient(const DbCliClient&) = delete;
  DbCliClient& operator=(const DbCliClient&) = delete;

  // Publishes `payload` to `topic` at QoS 1 with a Response Topic (subscribed to first) and
  // fresh Correlation Data; returns the payload of the answer that echoes them.
  Result<std::string> request(const std::string& topic, const std::string& payload);

  // Subscribes to `filter` at QoS 1 and waits for a granting SUBACK.
  Status subscribe(const std::string& filter);

  // Runs the connection for up to `wait_ms` (returning early once a message is there or
  // `stop()` is true) and hands over what arrived. An error once the connection is lost.
  Result<std::vector<DbCliMessage>> poll(int wait_ms, const std::function<bool()>& stop);

  // Where answers come: Response Information + "/db" when the broker gave one (TopicDB
  // does: "$response/{client id}", which '#' subscribers never see), else
  // "topicdb-cli/{client id}/reply".
  const std::string& response_topic() const { return response_topic_; }

 private:
  explicit DbCliClient(const DbConnection& conn);
  Status start();
  // Runs the network loop until `done()` or the deadline (`what` names the wait in errors).
  // `said_ms`: the timeout the error message names when it differs from `timeout_ms` (what
  // is left of --timeout-ms after the TCP connect is still "within --timeout-ms").
  Status run_until(const std::function<bool()>& done, int timeout_ms, const std::string& what,
                   int said_ms = 0);
  std::string peer() const;
  std::string lost_message() const;

  static void on_connect(mosquitto*, void* self, int rc, int flags, const mqtt5__property* props);
  static void on_disconnect(mosquitto*, void* self, int rc, const mqtt5__property* props);
  static void on_publish(mosquitto*, void* self, int mid, int reason, const mqtt5__property*);
  static void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                           const mqtt5__property*);
  static void on_message(mosquitto*, void* self, const mosquitto_message* message,
                         const mqtt5__property* props);

  struct MosquittoDeleter {
    void operator()(mosquitto* m) const;
  };

  DbConnection conn_;
  std::unique_ptr<mosquitto, MosquittoDeleter> mosq_;
  bool connack_ = false;
  int connack_reason_ = 0;
  std::string connack_reason_string_;
  bool connected_ = false;
  bool disconnected_ = false;
  int disconnect_reason_ = 0;
  std::string disconnect_reason_string_;
  std::string response_information_;
  std::string response_topic_;
  bool response_subscribed_ = false;
  int pending_mid_ = -1;  // the PUBLISH or SUBSCRIBE being waited for
  bool acked_ = false;    // its PUBACK / SUBACK came
  int ack_reason_ = 0;    // PUBACK reason code, or the SUBACK's granted QoS / reason
  std::vector<DbCliMessage> inbox_;
};

}  // namespace topicdb::app

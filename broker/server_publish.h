// Server-originated publish: how code inside the process ($SYS today, the $DB adapter's
// answers and change events next, replication later) hands a message to the broker. It goes
// through the same Router as a client's PUBLISH, with no publisher to hold back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/codec/properties.h"
#include "broker/message.h"

namespace topicdb::broker {

struct ServerMessage {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  // With retain: keep it in memory only (values that describe this process, like $SYS,
  // are rebuilt after a restart); otherwise it is stored like a client's retained message.
  bool retain_in_memory_only = false;
  // MQTT 5 properties passed to subscribers: response topic, correlation data, user
  // properties, content type, payload format, message expiry interval.
  mqtt::Properties properties;
  // When set, only this client's subscriptions receive it (a $DB answer for a 3.1.1 client,
  // which has no response topic); no shared group does.
  std::string only_client_id;
  // When set, only sessions whose user name it accepts receive it, online or not (a $DB
  // event of an owned record: its owner and the admins); a shared group picks among those.
  std::shared_ptr<const RecipientFilter> recipients;
};

class ServerPublisher {
 public:
  virtual ~ServerPublisher() = default;
  // Routes `message` now, on the loop thread. Returns the number of sessions (or shared
  // groups) it went to.
  virtual size_t publish(ServerMessage message) = 0;
};

}  // namespace topicdb::broker

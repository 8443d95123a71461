// Reserved-topic handlers: topics under a reserved prefix ("$SYS/", "$DB/") belong to a
// handler, not to the topic tree. A client PUBLISH on such a topic goes to the handler after
// topic-alias resolution and authorization; the handler completes it, possibly later, with
// a Status, and only then is the publisher acknowledged (PUBACK/PUBREC with the mapped
// reason code, in the order the connection's PUBLISHes arrived). The handler also decides
// which of its topics clients may subscribe to. mosquitto's $CONTROL dispatch is the model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "broker/authorizer.h"
#include "broker/codec/packets.h"

namespace topicdb::broker {

// One PUBLISH for a handler, copied out of the read buffer (the handler may finish later).
struct ReservedPublish {
  std::string client_id;
  std::string username;
  bool has_username = false;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  // The PUBLISH's DUP flag and packet id (QoS 1/2): a handler that must not run a request
  // twice recognises a resend by them (a QoS 1 resend after a lost PUBACK).
  bool dup = false;
  uint16_t packet_id = 0;
  // The Maximum Packet Size the client declared in CONNECT (MQTT 5 §3.1.2.11.4); 0 = none.
  // An answer to it must fit.
  uint32_t max_packet_size = 0;
  std::optional<std::string> response_topic;    // MQTT 5
  std::optional<std::string> correlation_data;  // MQTT 5
  std::vector<std::pair<std::string, std::string>> user_properties;
  // A will that fired: nobody waits for an answer, and the completion's status is only
  // logged.
  bool is_will = false;
};

// Called exactly once per request, on the loop thread. An ok status acknowledges with
// success; an error is mapped by reason_code_for (MQTT 5; a 3.1.1 publisher gets a plain
// acknowledgement, it has no way to hear a refusal).
using ReservedCompletion = std::function<void(Status)>;

class ReservedTopicHandler {
 public:
  virtual ~ReservedTopicHandler() = default;
  virtual void on_publish(ReservedPublish request, ReservedCompletion done) = 0;
  // Whether `client` may subscribe to `filter`, which lies under the handler's prefix.
  virtual Status authorize_subscribe(const ClientIdentity& client, std::string_view filter) = 0;
  // True when the handler authorizes its PUBLISHes (and wills) itself, against names of its
  // own ($DB: "$DB/{entity}/{operation}" whatever the request's topic shape): the broker
  // then does not ask the Authorizer about the raw topic. Subscriptions are always checked.
  virtual bool authorizes_publish() const { return false; }
};

// The registry, keyed by prefix ("$SYS/", "$DB/"); reserved_names.h names them.
class ReservedTopics {
 public:
  // Registers `handler` (borrowed: it must outlive the broker's use of it) for `prefix`,
  // which must end with '/'. A later registration for the same prefix replaces it.
  void add(std::string prefix, ReservedTopicHandler* handler);
  // The handler whose prefix `topic` (or filter) lies under, or null.
  ReservedTopicHandler* find(std::string_view topic) const;
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, ReservedTopicHandler*>> entries_;  // a handful at most
};

}  // namespace topicdb::broker

// Message: one application message as the broker routes it. Immutable once built and shared
// by reference (MessagePtr) with every subscriber and queue that holds it, so fan-out never
// copies a payload.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "broker/codec/properties.h"

namespace topicdb::broker {

// Who may receive a message besides matching a subscription, by the receiving session's
// user name (null: it has none). Set only on messages meant for some users alone: a $DB
// change event of an owned record goes to its owner and the admins.
using RecipientFilter = std::function<bool(const std::string* username)>;

struct Message {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;              // the QoS it was published with
  bool retain = false;          // the RETAIN flag it was published with
  mqtt::Properties properties;  // MQTT 5 properties passed through to subscribers
  int64_t expiry_at_ms = 0;     // wall clock; 0 = never expires (MQTT 5 message expiry)
  // The publishing session, compared (never dereferenced) for MQTT 5 no-local; null for
  // messages the broker makes itself.
  const void* origin = nullptr;
  // Null: every matching subscription receives it. Checked per session when routing,
  // picking a shared-group member and handing a departed member's messages on.
  std::shared_ptr<const RecipientFilter> recipients;

  // The whole QoS 0 PUBLISH as sent to subscribers that need nothing per delivery (no
  // alias, no subscription id, no expiry countdown), indexed [is_v5][retain]: encoded once
  // on first use and reused for every other such subscriber. Loop thread only.
  mutable std::shared_ptr<const std::string> encoded_qos0[2][2];
};

using MessagePtr = std::shared_ptr<const Message>;

}  // namespace topicdb::broker

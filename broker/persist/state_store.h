// StateStore: where the broker's durable state lives — persistent sessions, their
// subscriptions, queued and in-flight messages, inbound QoS 2 packet ids, and retained
// messages. The broker's in-memory state is authoritative while it runs; every change to
// durable state is also submitted here, and acknowledgements that promise durability
// (PUBACK/PUBREC of a message queued for a persistent session, SUBACK of a persistent
// subscription, retained writes) wait until the store reports the change durable: as
// durable as the node's durability mode acknowledges on (docs/durability.md).
//
// Threading: every method is called on the loop thread. Writes are applied in submission
// order. An implementation may apply them on another thread (the SQLite one groups
// everything queued at once into one transaction: group commit) and then calls the
// durable callback on the loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace topicdb::broker {

// A message waiting for, or in flight to, one persistent session (outgoing direction).
struct StoredMessage {
  enum class State : uint8_t {
    kQueued = 0,       // not sent yet (packet_id may be 0)
    kPublishSent = 1,  // PUBLISH sent with packet_id, awaiting PUBACK/PUBREC
    kPubrelSent = 2,   // QoS 2: PUBREC received, PUBREL sent, awaiting PUBCOMP
  };
  uint64_t seq = 0;  // order within the session; unique per client id
  std::string topic;
  std::string payload;
  uint8_t qos = 1;
  bool retain = false;
  uint16_t packet_id = 0;
  State state = State::kQueued;
  std::string properties;        // encoded MQTT 5 properties, opaque here; empty under 3.1.1
  int64_t expiry_at_ms = 0;      // wall clock; 0 = never expires
  uint32_t subscription_id = 0;  // reserved for MQTT 5 subscription identifiers
};

struct StoredSubscription {
  std::string filter;
  uint8_t options = 0;           // the SUBSCRIBE options byte: qos | no_local<<2 | rap<<3 | rh<<4
  uint32_t subscription_id = 0;  // MQTT 5; 0 = none
};

struct StoredSession {
  std::string client_id;
  uint8_t protocol_version = 4;
  uint32_t expiry_interval_s = 0xFFFFFFFF;        // 0xFFFFFFFF = never (3.1.1 clean session 0)
  int64_t disconnected_at_ms = 0;                 // wall clock; 0 = was connected at shutdown
  std::vector<StoredSubscription> subscriptions;  // any order
  std::vector<StoredMessage> messages;            // ordered by seq ascending
  std::vector<uint16_t> inbound_qos2;             // QoS 2 ids received, PUBREL not yet seen
};

struct StoredRetained {
  std::string topic;
  std::string payload;  // never empty: an empty retained payload deletes
  uint8_t qos = 0;
  std::string properties;    // encoded MQTT 5 properties, opaque here
  int64_t expiry_at_ms = 0;  // wall clock; 0 = never expires
};

struct LoadedState {
  std::vector<StoredSession> sessions;
  std::vector<StoredRetained> retained;
};

class StateStore {
 public:
  // Called on the loop thread with the highest ticket whose write is durable.
  using DurableCallback = std::function<void(uint64_t durable_ticket)>;

  virtual ~StateStore() = default;

  // Reads everything back at start-up (synchronous; the loop is not running yet).
  virtual Result<LoadedState> load() = 0;

  // Each write returns its ticket: tickets increase by one per call, starting at 1.
  // Session metadata (not its subscriptions or messages) inserted or replaced.
  virtual uint64_t put_session(const StoredSession& session) = 0;
  // Removes the session and everything it owns (subscriptions, messages, inbound ids).
  virtual uint64_t delete_session(const std::string& client_id) = 0;
  virtual uint64_t put_subscription(const std::string& client_id,
                                    const StoredSubscription& subscription) = 0;
  virtual uint64_t delete_subscription(const std::string& client_id, const std::string& filter) = 0;
  // Inserted or replaced by (client_id, message.seq).
  virtual uint64_t put_message(const std::string& client_id, const StoredMessage& message) = 0;
  virtual uint64_t update_message_state(const std::string& client_id, uint64_t seq,
                                        uint16_t packet_id, StoredMessage::State state) = 0;
  virtual uint64_t delete_message(const std::string& client_id, uint64_t seq) = 0;
  virtual uint64_t put_inbound_qos2(const std::string& client_id, uint16_t packet_id) = 0;
  virtual uint64_t delete_inbound_qos2(const std::string& client_id, uint16_t packet_id) = 0;
  virtual uint64_t put_retained(const StoredRetained& retained) = 0;
  virtual uint64_t delete_retained(const std::string& topic) = 0;

  // The highest ticket handed out so far (0 before any write).
  virtual uint64_t last_ticket() const = 0;
  // The highest ticket known durable.
  virtual uint64_t durable_ticket() const = 0;
  virtual void set_durable_callback(DurableCallback callback) = 0;

  // Blocks until every submitted write is durable, then stops background work. Further
  // writes are refused. Idempotent.
  virtual Status close() = 0;

  // Non-ok once a write failed (disk full, I/O error): the broker stops promising
  // durability and shuts down rather than lose acknowledged messages.
  virtual Status health() const = 0;
};

}  // namespace topicdb::broker

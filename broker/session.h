// Session: the MQTT session state of one client id (MQTT 3.1.1 §4.1) as a state machine
// with no I/O: its subscriptions, outgoing QoS 1/2 messages (queued, then in flight in a
// window of packet ids), and the QoS 2 packet ids received but not yet released. The broker
// turns its results into packets and store writes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/codec/packets.h"
#include "broker/message.h"
#include "broker/persist/state_store.h"

namespace topicdb::broker {

class Connection;

class Session {
 public:
  // One outgoing QoS 1/2 message of this session.
  struct Outgoing {
    uint64_t seq = 0;
    MessagePtr message;
    uint8_t qos = 1;      // delivery QoS: min(published QoS, granted QoS)
    bool retain = false;  // the RETAIN flag to send
    uint16_t packet_id = 0;
    StoredMessage::State state = StoredMessage::State::kQueued;
    std::vector<uint32_t> subscription_ids;  // MQTT 5: of the matching subscriptions
    std::string share_group;      // "$share/g/filter" it came through, for redelivery; or empty
    bool resend_pending = false;  // in flight from an earlier connection, not yet sent again
    uint64_t id_serial = 0;       // which packet-id allocation this is (0 = restored)
  };

  struct SubscriptionInfo {
    uint8_t options = 0;
    uint32_t subscription_id = 0;
  };

  enum class Admission { kSendNow, kQueued, kDropped };

  // Session expiry interval (MQTT 5 §3.1.2.11.2) in seconds: 0 ends the session with its
  // connection, kNeverExpires keeps it forever (3.1.1 clean session 0).
  static constexpr uint32_t kNeverExpires = 0xFFFFFFFF;

  Session(std::string client_id, uint32_t expiry_interval_s, size_t max_inflight,
          size_t max_queued);

  const std::string& client_id() const { return client_id_; }
  // Persistent = outlives its connection, and so is mirrored in the state store.
  bool persistent() const { return expiry_interval_s_ > 0; }
  uint32_t expiry_interval_s() const { return expiry_interval_s_; }
  void set_expiry_interval_s(uint32_t s) { expiry_interval_s_ = s; }
  // When an absent session ends (steady clock ms); 0 while connected or never.
  int64_t expires_at_ms = 0;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  // Connected (last) with MQTT 3.1: `version` is then kV311, whose wire format 3.1 shares;
  // this marks where 3.1 differs (see mqtt::kMqtt31ProtocolLevel).
  bool mqtt31 = false;

  // The user name of the session's last connection (null: none), kept while the client is
  // away, so a message for one user only (a $DB event of an owned record) never reaches
  // another user's queue. Not stored: a session restored after a restart has none until its
  // client connects again. Behind a pointer: most sessions never have one.
  const std::string* username() const { return username_.get(); }
  void set_username(const std::string* name) {
    username_ = name ? std::make_unique<const std::string>(*name) : nullptr;
  }

  // The live connection, or nullptr while the client is away. Borrowed.
  Connection* connection() const { return connection_; }
  void set_connection(Connection* connection) { connection_ = connection; }

  // Subscriptions by filter (the topic tree holds the index; this is the session's own list,
  // used to unsubscribe everything and to persist).
  // Allocated on first use: most idle sessions never subscribe.
  std::map<std::string, SubscriptionInfo>& subscriptions() {
    if (!subscriptions_)
      subscriptions_ = std::make_unique<std::map<std::string, SubscriptionInfo>>();
    return *subscriptions_;
  }
  const std::map<std::string, SubscriptionInfo>& subscriptions() const;

  // Takes a QoS 1/2 message. When the session is online and its in-flight window has room,
  // the message gets a packet id, enters the window and kSendNow is returned; otherwise it
  // is queued, or dropped when the queue is full (the bound that keeps memory finite).
  // *entry points at the stored entry (valid until the session changes) unless dropped.
  Admission admit(MessagePtr message, uint8_t qos, bool retain, const Outgoing** entry);
  Admission admit(Outgoing out, const Outgoing** entry);

  // Removes and returns every message that came through a shared subscription and whose
  // delivery has not reached PUBREC: they go to another member when this one goes away.
  std::vector<Outgoing> take_shared_undelivered();
  bool has_expiring_queued() const { return queues_ && queues_->queued_with_expiry > 0; }
  // Drops queued (not yet sent) messages whose expiry passed; returns their seqs.
  std::vector<uint64_t> drop_expired_queued(int64_t now_wall_ms);
  // Drops a message without delivery (expired, or too large for the client), as if
  // acknowledged; returns its seq.
  std::optional<uint64_t> discard_inflight(uint16_t packet_id);

  // On reconnect: every in-flight message is to be sent again (MQTT-4.4.0-1).
  void mark_inflight_for_resend();
  // Calls send(const Outgoing&) for in-flight messages still to be sent again, oldest first,
  // as long as the messages actually outstanding stay within the window.
  template <typename Send>
  void resend_within_window(Send&& send);

  // Moves queued messages into the window while it has room (after an ack frees a slot or
  // on reconnect); calls send(const Outgoing&) for each, in order.
  template <typename Send>
  void fill_window(Send&& send);

  // Acknowledgements from the client. Each returns the affected message's seq, or nullopt
  // when the packet id is unknown or in the wrong state (a protocol slip we tolerate).
  std::optional<uint64_t> on_puback(uint16_t packet_id);
  std::optional<uint64_t> on_pubrec(uint16_t packet_id);  // QoS 2 step 1: now awaiting PUBCOMP
  std::optional<uint64_t> on_pubcomp(uint16_t packet_id);

  // In-flight messages in send order, to be sent again on reconnect (PUBLISH with DUP set, or
  // PUBREL for those already past PUBREC; MQTT-4.4.0-1).
  const std::deque<Outgoing>& inflight() const;
  const std::deque<Outgoing>& queued() const;

  // QoS 2 messages received from the client (MQTT-4.3.3-2 method B: delivered onwards on
  // PUBLISH, the id kept until PUBREL so a resent PUBLISH is not delivered twice).
  // Returns false if the id was already held: the PUBLISH is a duplicate.
  bool add_inbound_qos2(uint16_t packet_id);
  bool remove_inbound_qos2(uint16_t packet_id);
  bool has_inbound_qos2(uint16_t packet_id) const;
  size_t inbound_qos2_count() const { return queues_ ? queues_->inbound_qos2.size() : 0; }
  const std::vector<uint16_t>& inbound_qos2() const;

  // Rebuilds state loaded from the store at start-up.
  void restore_message(Outgoing entry);

  void set_max_inflight(size_t n);
  size_t max_inflight() const { return max_inflight_; }
  uint64_t dropped_messages() const { return queues_ ? queues_->dropped : 0; }

  // Slow-consumer bookkeeping (backpressure.cc), kept in the lazily allocated queues: only a
  // subscriber that held a publisher or lost a message pays for it.
  struct Progress {
    int64_t since_ms = 0;   // last ack or drained write while holding publishers back
    bool stuck = false;     // holds no one: its bounds drop what exceeds them instead
    int64_t logged_ms = 0;  // last "dropped" log line (one a minute)
    bool logged = false;
    uint64_t drops_unlogged = 0;  // dropped since that line
  };
  Progress& progress() { return queues().progress; }
  bool stuck() const { return queues_ && queues_->progress.stuck; }

  // Scratch space for TopicTree matches: lets the router fold overlapping subscriptions
  // into one delivery at the highest QoS without a hash map per publish. In this order they
  // fill the bytes after `version` and `mqtt31` (see the size note in session.cc).
  uint8_t match_qos = 0;
  bool match_retain_as_published = false;
  uint32_t match_slot = 0;  // this session's index among the match's targets
  uint64_t match_epoch = 0;

 private:
  // Everything about messages in transit, allocated with the first one: an idle session
  // pays for none of it.
  struct Queues {
    std::deque<Outgoing> inflight;       // ordered by seq; acks mostly free the front
    std::deque<Outgoing> queued;         // ordered by seq
    std::vector<uint16_t> inbound_qos2;  // few: bounded by our Receive Maximum
    size_t queued_with_expiry = 0;       // lets the expiry scan be skipped when 0
    uint64_t ids_allocated = 0;          // packet ids handed out (next_packet_id)
    uint64_t dropped = 0;                // messages refused by the queue bound
    Progress progress;
  };
  Queues& queues() {
    if (!queues_) queues_ = std::make_unique<Queues>();
    return *queues_;
  }
  uint16_t next_packet_id();
  void erase_inflight(std::deque<Outgoing>::iterator it);
  void send_entry(Outgoing& entry);
  void push_queued(Outgoing entry);

  std::string client_id_;
  uint32_t expiry_interval_s_;
  uint32_t max_queued_;
  uint32_t resend_pending_ = 0;  // in-flight entries with resend_pending set
  // Packet ids are 16 bits, so no more than 65,535 messages can be in flight.
  uint16_t max_inflight_;
  uint16_t last_packet_id_ = 0;
  Connection* connection_ = nullptr;
  std::unique_ptr<std::map<std::string, SubscriptionInfo>> subscriptions_;
  std::unique_ptr<Queues> queues_;
  std::unique_ptr<const std::string> username_;
  uint64_t next_seq_ = 1;
};

template <typename Send>
void Session::resend_within_window(Send&& send) {
  if (resend_pending_ == 0 || connection_ == nullptr) return;
  std::deque<Outgoing>& inflight = queues_->inflight;
  size_t outstanding = inflight.size() - resend_pending_;
  for (size_t i = 0; i < inflight.size() && resend_pending_ > 0 && outstanding < max_inflight_;
       ++i) {
    if (!inflight[i].resend_pending) continue;
    inflight[i].resend_pending = false;
    --resend_pending_;
    ++outstanding;
    send(static_cast<const Outgoing&>(inflight[i]));
  }
}

template <typename Send>
void Session::fill_window(Send&& send) {
  if (!queues_) return;
  std::deque<Outgoing>& inflight = queues_->inflight;
  std::deque<Outgoing>& queued = queues_->queued;
  // Queued messages wait until every earlier in-flight message has been sent again.
  while (connection_ && resend_pending_ == 0 && inflight.size() < max_inflight_ &&
         !queued.empty()) {
    if (queued.front().message && queued.front().message->expiry_at_ms != 0) {
      --queues_->queued_with_expiry;
    }
    inflight.push_back(std::move(queued.front()));
    queued.pop_front();
    send_entry(inflight.back());
    send(static_cast<const Outgoing&>(inflight.back()));
  }
}

}  // namespace topicdb::broker

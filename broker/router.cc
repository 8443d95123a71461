// Routing: from one published message to the sessions whose subscriptions match, and from a
// session's outgoing entry to bytes on its connection. The hot path of the broker.
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

namespace {
// Payloads up to this size are copied next to their header: one buffer is cheaper than a
// shared reference for small messages.
constexpr size_t kSharePayloadAbove = 512;
}  // namespace

uint64_t Broker::route(const MessagePtr& message) {
  // Overlapping subscriptions of one session fold into one delivery at the highest granted
  // QoS (MQTT 3.1.1 §3.3.5): the epoch marks sessions already seen in this match.
  const uint64_t epoch = ++match_epoch_;
  std::vector<Session*> targets;
  topic_tree_.match(message->topic, [&](const Subscriber& s) {
    Session* session = s.session;
    if (session->match_epoch != epoch) {
      session->match_epoch = epoch;
      session->match_qos = s.qos();
      targets.push_back(session);
    } else if (s.qos() > session->match_qos) {
      session->match_qos = s.qos();
    }
  });
  uint64_t ticket = 0;
  for (Session* session : targets) {
    uint8_t qos = std::min(message->qos, session->match_qos);
    // MQTT-3.3.1-9: RETAIN is cleared on delivery to established subscriptions.
    ticket = std::max(ticket, deliver(*session, message, qos, false));
  }
  return ticket;
}

uint64_t Broker::deliver(Session& session, const MessagePtr& message, uint8_t qos, bool retain) {
  if (qos == 0) {
    // QoS 0 goes only to a connected client; it is not kept for an absent one.
    if (Connection* c = session.connection()) send_qos0(*c, message, retain);
    return 0;
  }
  const Session::Outgoing* entry = nullptr;
  Session::Admission admission = session.admit(message, qos, retain, &entry);
  if (admission == Session::Admission::kDropped) {
    ++stats_.messages_dropped;
    if (session.dropped_messages() == 1 || session.dropped_messages() % 1000 == 0) {
      log::warn("queue of client '{}' is full ({} messages): dropped {} so far",
                session.client_id(), options_.max_queued_messages, session.dropped_messages());
    }
    return 0;
  }
  uint64_t ticket = 0;
  if (session.persistent()) {
    StoredMessage stored;
    stored.seq = entry->seq;
    stored.topic = message->topic;
    stored.payload = message->payload;
    stored.qos = qos;
    stored.retain = retain;
    stored.packet_id = entry->packet_id;
    stored.state = entry->state;
    stored.expiry_at_ms = message->expiry_at_ms;
    ticket = store_->put_message(session.client_id(), stored);
  }
  if (admission == Session::Admission::kSendNow) send_publish(*session.connection(), *entry, false);
  return ticket;
}

void Broker::fill_window(Session& session) {
  Connection* c = session.connection();
  if (c == nullptr) return;
  session.fill_window([&](const Session::Outgoing& entry) {
    // QoS 2 needs its packet id kept across a restart so PUBREL can follow PUBREC; a QoS 1
    // message is simply sent again with a fresh id.
    if (session.persistent() && entry.qos == 2) {
      store_->update_message_state(session.client_id(), entry.seq, entry.packet_id, entry.state);
    }
    send_publish(*c, entry, false);
  });
}

void Broker::send_publish(Connection& c, const Session::Outgoing& entry, bool dup) {
  const Message& m = *entry.message;
  mqtt::PublishPacket p;
  p.topic = m.topic;
  p.payload = m.payload;
  p.qos = entry.qos;
  p.retain = entry.retain;
  p.dup = dup;
  p.packet_id = entry.packet_id;
  OutBuffer& out = c.out();
  if (m.payload.size() > kSharePayloadAbove) {
    mqtt::encode_publish_header(p, c.version, &out.owned_tail());
    // The aliasing constructor shares ownership of the message: no payload copy.
    out.append_shared(SharedBytes(entry.message, &entry.message->payload));
  } else {
    mqtt::encode(p, c.version, &out.owned_tail());
  }
  c.mark_dirty();
  ++stats_.messages_sent;
}

void Broker::send_qos0(Connection& c, const MessagePtr& message, bool retain) {
  mqtt::PublishPacket p;
  p.topic = message->topic;
  p.payload = message->payload;
  p.retain = retain;
  mqtt::encode(p, c.version, &c.out().owned_tail());
  c.mark_dirty();
  ++stats_.messages_sent;
}

uint64_t Broker::store_retained(const MessagePtr& message) {
  if (message->payload.empty()) {
    // MQTT-3.3.1-10/11: an empty retained payload clears the topic's retained message.
    if (!retained_.erase(message->topic)) return 0;
    return store_->delete_retained(message->topic);
  }
  retained_.set(message);
  StoredRetained stored;
  stored.topic = message->topic;
  stored.payload = message->payload;
  stored.qos = message->qos;
  stored.expiry_at_ms = message->expiry_at_ms;
  return store_->put_retained(stored);
}

// MQTT-3.1.2-8: the will is published when the connection ends without DISCONNECT.
void Broker::publish_will(Connection& c) {
  mqtt::Will will = std::move(*c.will);
  c.will.reset();
  auto message = std::make_shared<Message>();
  message->topic = std::move(will.topic);
  message->payload = std::move(will.payload);
  message->qos = will.qos;
  message->retain = will.retain;
  message->origin_connection = c.id();
  log::debug("publishing will of connection {} to '{}'", c.peer(), message->topic);
  if (message->retain) store_retained(message);
  route(message);
}

}  // namespace topicdb::broker

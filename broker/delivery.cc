// Delivery: from one message for one session to bytes on its connection: QoS 0 straight to
// the write buffer (encoded once per message when nothing differs per subscriber), QoS 1/2
// through the session's window and queue, persisted for persistent sessions.
#include <algorithm>

#include "base/log.h"
#include "broker/codec/codec.h"
#include "broker/codec/property_codec.h"
#include "broker/connection.h"
#include "broker/router.h"

namespace topicdb::broker {

namespace {
// Payloads up to this size are copied next to their header: one buffer is cheaper than a
// shared reference for small messages.
constexpr size_t kSharePayloadAbove = 512;
}  // namespace

void Router::note_congestion(Session& session, const PublishContext& context, RouteResult* result) {
  if (result == nullptr || context.publisher == nullptr || context.publisher == &session ||
      result->congested != nullptr) {
    return;
  }
  // A stuck subscriber holds no one; the publisher is held once routing is done
  // (Broker::handle_publish).
  if (still_stuck(session, options_)) return;
  if (is_congested(session, options_)) result->congested = &session;
}

bool Router::over_write_limit(Session& session, const Connection& c) {
  if (c.queued_bytes() < options_.max_write_buffer) return false;
  count_drop(session, "64 MiB unwritten");
  return true;
}

void Router::count_drop(Session& session, const char* why) {
  ++stats_->messages_dropped;
  if (const Connection* c = session.connection()) ++stats_->of(c->transport).messages_dropped;
  Session::Progress& p = session.progress();
  ++p.drops_unlogged;
  const int64_t now = clock_->now_ms();
  if (p.logged && now - p.logged_ms < 60000) return;
  log::warn("dropping messages for client '{}' ({}{}): {} dropped since the last report",
            session.client_id(), why, p.stuck ? ", stuck" : "", p.drops_unlogged);
  p.logged = true;
  p.logged_ms = now;
  p.drops_unlogged = 0;
}

uint64_t Router::deliver(Session& session, const MessagePtr& message, uint8_t qos, bool retain,
                         const std::vector<uint32_t>& subscription_ids,
                         const std::string& share_group, const PublishContext& context,
                         RouteResult* result) {
  if (message->expiry_at_ms != 0 && message->expiry_at_ms <= clock_->wall_ms()) return 0;
  if (qos == 0) {
    // QoS 0 goes only to a connected client; it is not kept for an absent one.
    if (Connection* c = session.connection()) {
      if (over_write_limit(session, *c)) return 0;
      write_publish(*c, message, 0, retain, false, 0, subscription_ids);
      note_congestion(session, context, result);
    }
    return 0;
  }
  Session::Outgoing out;
  out.message = message;
  out.qos = qos;
  out.retain = retain;
  out.subscription_ids = subscription_ids;
  out.share_group = share_group;
  const Session::Outgoing* entry = nullptr;
  Session::Admission admission = session.admit(std::move(out), &entry);
  if (admission == Session::Admission::kDropped) {
    count_drop(session, "queue full");
    return 0;
  }
  note_congestion(session, context, result);
  uint64_t ticket = 0;
  if (session.persistent()) ticket = store_->put_message(session.client_id(), to_stored(*entry));
  if (admission == Session::Admission::kSendNow) {
    uint16_t packet_id = entry->packet_id;
    if (!write_publish(*session.connection(), message, qos, retain, false, packet_id,
                       subscription_ids)) {
      discard_outgoing(session, packet_id);
    }
  }
  return ticket;
}

StoredMessage Router::to_stored(const Session::Outgoing& entry) const {
  const Message& m = *entry.message;
  StoredMessage stored;
  stored.seq = entry.seq;
  stored.topic = m.topic;
  stored.payload = m.payload;
  stored.qos = entry.qos;
  stored.retain = entry.retain;
  stored.packet_id = entry.packet_id;
  stored.state = entry.state;
  stored.expiry_at_ms = m.expiry_at_ms;
  stored.subscription_id = entry.subscription_ids.empty() ? 0 : entry.subscription_ids[0];
  if (!m.properties.empty() || entry.subscription_ids.size() > 1) {
    // All identifiers travel in the property block (a message can match several
    // subscriptions, MQTT-3.3.4-3); the column keeps the first for quick inspection.
    mqtt::Properties props = m.properties;
    props.subscription_identifiers = entry.subscription_ids;
    mqtt::encode_properties(props, &stored.properties);
  }
  return stored;
}

void Router::discard_outgoing(Session& session, uint16_t packet_id) {
  if (auto seq = session.discard_inflight(packet_id)) {
    if (session.persistent()) store_->delete_message(session.client_id(), *seq);
  }
}

void Router::fill_window(Session& session) {
  Connection* c = session.connection();
  if (c == nullptr) return;
  // MQTT 5 §3.3.2.3.3: a message whose expiry passed before delivery started is dropped.
  if (session.has_expiring_queued()) {
    for (uint64_t seq : session.drop_expired_queued(clock_->wall_ms())) {
      if (session.persistent()) store_->delete_message(session.client_id(), seq);
    }
  }
  std::vector<uint16_t> too_large;
  // MQTT-4.4.0-1: unacknowledged messages of an earlier connection go first, with DUP set
  // (or their PUBREL again), as far as the Receive Maximum allows (MQTT-3.3.4-9).
  session.resend_within_window([&](const Session::Outgoing& entry) {
    if (entry.state == StoredMessage::State::kPubrelSent) {
      mqtt::AckPacket pubrel;
      pubrel.type = mqtt::PacketType::kPubrel;
      pubrel.packet_id = entry.packet_id;
      std::string out;
      mqtt::encode(pubrel, c->version, &out);
      c->send(out);
    } else if (!write_publish(*c, entry.message, entry.qos, entry.retain, true, entry.packet_id,
                              entry.subscription_ids)) {
      too_large.push_back(entry.packet_id);
    }
  });
  session.fill_window([&](const Session::Outgoing& entry) {
    // QoS 2 needs its packet id kept across a restart so PUBREL can follow PUBREC; a QoS 1
    // message is simply sent again with a fresh id.
    if (session.persistent() && entry.qos == 2) {
      store_->update_message_state(session.client_id(), entry.seq, entry.packet_id, entry.state);
    }
    if (!write_publish(*c, entry.message, entry.qos, entry.retain, false, entry.packet_id,
                       entry.subscription_ids)) {
      too_large.push_back(entry.packet_id);
    }
  });
  if (too_large.empty()) return;
  for (uint16_t id : too_large) discard_outgoing(session, id);
  fill_window(session);  // the discarded ones freed window slots
}

bool Router::write_publish(Connection& c, const MessagePtr& message, uint8_t qos, bool retain,
                           bool dup, uint16_t packet_id,
                           const std::vector<uint32_t>& subscription_ids) {
  const Message& m = *message;
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  if (qos == 0 && !dup &&
      (!v5 || (m.expiry_at_ms == 0 && subscription_ids.empty() && c.client_topic_alias_max == 0))) {
    return write_shared_qos0(c, m, retain);
  }
  mqtt::PublishPacket p;
  p.topic = m.topic;
  p.payload = m.payload;
  p.qos = qos;
  p.retain = retain;
  p.dup = dup;
  p.packet_id = packet_id;
  if (v5) {
    p.properties = m.properties;
    if (m.expiry_at_ms != 0) {
      // The interval sent is what is left of it (MQTT 5 §3.3.2.3.3).
      int64_t left_ms = std::max<int64_t>(m.expiry_at_ms - clock_->wall_ms(), 1);
      p.properties.message_expiry_interval = static_cast<uint32_t>((left_ms + 999) / 1000);
    }
    p.properties.subscription_identifiers = subscription_ids;
    if (c.client_max_packet_size != 0 &&
        mqtt::encoded_publish_size(p, c.version) > c.client_max_packet_size) {
      log::debug("dropping '{}' for {}: larger than its maximum packet size {}", m.topic, c.peer(),
                 c.client_max_packet_size);
      ++stats_->messages_dropped;
      ++stats_->of(c.transport).messages_dropped;
      return false;
    }
    if (c.client_topic_alias_max > 0) {
      auto& outbound = c.aliases().outbound;
      auto it = outbound.find(m.topic);
      if (it != outbound.end()) {
        p.properties.topic_alias = it->second;
        p.topic = std::string_view();  // the alias stands for the topic
      } else if (outbound.size() < c.client_topic_alias_max) {
        uint16_t alias = static_cast<uint16_t>(outbound.size() + 1);
        outbound.emplace(m.topic, alias);
        p.properties.topic_alias = alias;
      }
    }
  }
  OutBuffer& out = c.out();
  if (m.payload.size() > kSharePayloadAbove) {
    mqtt::encode_publish_header(p, c.version, &out.owned_tail());
    // The aliasing constructor shares ownership of the message: no payload copy.
    out.append_shared(SharedBytes(message, &message->payload));
  } else {
    mqtt::encode(p, c.version, &out.owned_tail());
  }
  c.mark_dirty();
  ++stats_->messages_sent;
  ++stats_->of(c.transport).messages_sent[qos < 3 ? qos : 2];
  return true;
}

// The fan-out fast path: one encoding per message, then a memcpy per subscriber (one
// contiguous write buffer is cheaper than an iovec per message) or, for large messages, a
// shared reference.
bool Router::write_shared_qos0(Connection& c, const Message& m, bool retain) {
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  std::shared_ptr<const std::string>& cached = m.encoded_qos0[v5][retain];
  if (!cached) {
    mqtt::PublishPacket p;
    p.topic = m.topic;
    p.payload = m.payload;
    p.retain = retain;
    if (v5) p.properties = m.properties;
    auto bytes = std::make_shared<std::string>();
    mqtt::encode(p, c.version, bytes.get());
    cached = std::move(bytes);
  }
  if (v5 && c.client_max_packet_size != 0 && cached->size() > c.client_max_packet_size) {
    ++stats_->messages_dropped;  // MQTT 5 §3.1.2.11.4
    ++stats_->of(c.transport).messages_dropped;
    return false;
  }
  if (cached->size() > kSharePayloadAbove) {
    c.out().append_shared(cached);
  } else {
    c.out().append(*cached);
  }
  c.mark_dirty();
  ++stats_->messages_sent;
  ++stats_->of(c.transport).messages_sent[0];
  return true;
}

}  // namespace topicdb::broker

#include "broker/broker.h"

#include <algorithm>

#include "base/log.h"
#include "broker/codec/property_codec.h"
#include "broker/packet_fit.h"
#include "broker/reason_codes.h"
#include "broker/reserved_names.h"
#include "broker/sys_topics.h"

namespace topicdb::broker {

Broker::Broker(uv_loop_t* loop, BrokerOptions options, Clock* clock, StateStore* store)
    : loop_(loop),
      options_(options),
      clock_(clock),
      store_(store),
      router_(options_, &stats_, clock_, store_),
      acks_(store_),
      authorizer_(std::make_unique<AllowAllAuthorizer>()),
      // The refusal must come before the connect timeout closes the connection.
      login_throttle_(std::min(options_.auth_fail_delay_ms, options_.connect_timeout_ms / 2),
                      std::min(16 * options_.auth_fail_delay_ms, options_.connect_timeout_ms / 2)),
      sys_handler_(std::make_unique<SysTopicsHandler>()) {
  reserved_.add(std::string(reserved::kSysPrefix), sys_handler_.get());
  started_ms_ = clock_->now_ms();
  uv_check_init(loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, &Broker::on_check);
  sweep_timer_ = clock_->make_timer();
  sweep_timer_->start(options_.sweep_interval_ms, options_.sweep_interval_ms, [this] { sweep(); });
  sys_timer_ = clock_->make_timer();
  if (options_.sys_interval_s > 0) {
    int64_t interval_ms = int64_t{options_.sys_interval_s} * 1000;
    sys_timer_->start(0, interval_ms, [this] { publish_sys_topics(); });
  }
  open_handles_ = 1;  // flush_check_; the timers close themselves and keep no shutdown waiting
  store_->set_durable_callback([this](uint64_t ticket) { on_durable(ticket); });
}

Broker::~Broker() { store_->set_durable_callback(nullptr); }

void Broker::set_authorizer(std::unique_ptr<Authorizer> authorizer) {
  authorizer_ = authorizer ? std::move(authorizer) : std::make_unique<AllowAllAuthorizer>();
}

void Broker::set_authenticator(std::unique_ptr<Authenticator> authenticator) {
  authenticator_ = std::move(authenticator);
}

void Broker::add_reserved_handler(std::string prefix, ReservedTopicHandler* handler) {
  reserved_.add(std::move(prefix), handler);
}

size_t Broker::publish(ServerMessage m) {
  PublishContext context;
  if (!m.only_client_id.empty()) {
    auto it = sessions_.find(m.only_client_id);
    if (it == sessions_.end()) return 0;
    context.only_to = it->second.get();
  }
  auto message = std::make_shared<Message>();
  message->topic = std::move(m.topic);
  message->payload = std::move(m.payload);
  message->qos = std::min<uint8_t>(m.qos, 2);
  message->retain = m.retain;
  message->recipients = std::move(m.recipients);
  if (m.properties.message_expiry_interval) {
    message->expiry_at_ms =
        clock_->wall_ms() + int64_t{*m.properties.message_expiry_interval} * 1000;
    m.properties.message_expiry_interval.reset();  // sent as what is left of it
  }
  message->properties = std::move(m.properties);
  if (m.retain) {
    if (m.retain_in_memory_only) {
      router_.retain_in_memory(message);
    } else {
      router_.retain(message);
    }
  }
  return router_.route(message, context).deliveries;
}

ClientIdentity Broker::identity_of(const Connection& c) {
  ClientIdentity who;
  if (c.session != nullptr) who.client_id = c.session->client_id();
  if (const std::string* username = c.username()) {
    who.username = *username;
    who.has_username = true;
  }
  who.version = c.version;
  return who;
}

Status Broker::restore() {
  auto loaded = store_->load();
  if (!loaded.is_ok()) return loaded.status();
  const int64_t wall_now = clock_->wall_ms();
  auto decode_properties = [](const std::string& bytes, mqtt::Properties* out) {
    if (bytes.empty()) return;
    mqtt::WireReader reader(bytes);
    if (!mqtt::decode_properties(&reader, mqtt::PropertyContext::kPublish, out).is_ok()) {
      *out = mqtt::Properties();  // stored by us, so only a corrupted row gets here
    }
  };
  for (StoredRetained& r : loaded->retained) {
    if (r.expiry_at_ms != 0 && r.expiry_at_ms <= wall_now) continue;
    auto message = std::make_shared<Message>();
    message->topic = std::move(r.topic);
    message->payload = std::move(r.payload);
    message->qos = r.qos;
    message->retain = true;
    message->expiry_at_ms = r.expiry_at_ms;
    decode_properties(r.properties, &message->properties);
    router_.restore_retained(std::move(message));
  }
  size_t restored_messages = 0;
  size_t expired_sessions = 0;
  for (StoredSession& stored : loaded->sessions) {
    // Session expiry keeps counting while the broker is down (MQTT 5 §3.1.2.11.2).
    int64_t expires_at = 0;
    if (stored.expiry_interval_s != Session::kNeverExpires) {
      int64_t gone_ms = stored.disconnected_at_ms == 0 ? 0 : wall_now - stored.disconnected_at_ms;
      int64_t left_ms = int64_t{stored.expiry_interval_s} * 1000 - std::max<int64_t>(gone_ms, 0);
      if (left_ms <= 0 || stored.expiry_interval_s == 0) {
        store_->delete_session(stored.client_id);
        ++expired_sessions;
        continue;
      }
      expires_at = clock_->now_ms() + left_ms;
    }
    Session& session = create_session(stored.client_id, stored.expiry_interval_s);
    // Level 3 is MQTT 3.1, kept as kV311 plus a marker (see mqtt::kMqtt31ProtocolLevel).
    session.mqtt31 = stored.protocol_version == mqtt::kMqtt31ProtocolLevel;
    session.version = session.mqtt31 ? mqtt::ProtocolVersion::kV311
                                     : static_cast<mqtt::ProtocolVersion>(stored.protocol_version);
    session.expires_at_ms = expires_at;
    for (const StoredSubscription& sub : stored.subscriptions) {
      router_.subscribe(session, sub.filter, sub.options, sub.subscription_id);
    }
    for (StoredMessage& m : stored.messages) {
      Session::Outgoing entry;
      entry.seq = m.seq;
      entry.qos = m.qos;
      entry.retain = m.retain;
      entry.packet_id = m.packet_id;
      entry.state = m.state;
      if (m.state != StoredMessage::State::kPubrelSent) {
        auto message = std::make_shared<Message>();
        message->topic = std::move(m.topic);
        message->payload = std::move(m.payload);
        message->qos = m.qos;
        message->expiry_at_ms = m.expiry_at_ms;
        decode_properties(m.properties, &message->properties);
        // Every matching subscription's identifier is stored in the property block.
        entry.subscription_ids = std::move(message->properties.subscription_identifiers);
        message->properties.subscription_identifiers.clear();
        entry.message = std::move(message);
      }
      if (entry.subscription_ids.empty() && m.subscription_id != 0) {
        entry.subscription_ids.push_back(m.subscription_id);
      }
      session.restore_message(std::move(entry));
      ++restored_messages;
    }
    for (uint16_t id : stored.inbound_qos2) session.add_inbound_qos2(id);
  }
  log::info(
      "restored {} persistent sessions ({} expired while down), {} queued messages, {} "
      "retained messages",
      sessions_.size(), expired_sessions, restored_messages, router_.retained_count());
  return Status::ok();
}

Result<std::string> Broker::listen(const std::string& host, int port, net::StreamWrap wrap,
                                   Transport transport) {
  auto listener = std::make_unique<net::Listener>(loop_, this, std::move(wrap),
                                                  static_cast<uint8_t>(transport));
  auto bound = listener->start(host, port);
  listeners_.push_back(std::move(listener));  // closed at shutdown even if start failed
  return bound;
}

void Broker::adopt_tagged(std::unique_ptr<net::Stream> stream, uint8_t transport) {
  auto connection = std::make_unique<Connection>(this, next_connection_id_++, clock_->now_ms(),
                                                 std::move(stream));
  Connection* raw = connection.get();
  raw->transport = transport < kTransportCount ? transport : 0;
  connections_.emplace(raw->id(), std::move(connection));
  ++stats_.connections_total;
  ++stats_.of(raw->transport).connections_total;
  ++stats_.of(raw->transport).connections_current;
  if (shutting_down_ || connections_.size() > options_.max_connections) {
    log::warn("refusing connection from {}: {}", raw->peer(),
              shutting_down_ ? "shutting down" : "max_connections reached");
    raw->close(false);
    return;
  }
  raw->start();
}

void Broker::on_packet(Connection& c, const mqtt::FrameHeader& header, std::string_view body) {
  if (c.state() == Connection::State::kAwaitingConnect && !c.authenticating()) {
    if (header.type() != mqtt::PacketType::kConnect) {
      // MQTT-3.1.0-1: the first packet from a client must be CONNECT.
      protocol_violation(c, "first packet is not CONNECT", 0);
      return;
    }
    handle_connect(c, header, body);
    return;
  }
  if (try_fast_ack(c, header, body)) return;
  auto decoded = mqtt::decode_packet(header, body, c.version);
  if (!decoded.is_ok()) {
    on_malformed(c, decoded.status());
    return;
  }
  mqtt::Packet& packet = *decoded;
  if (c.authenticating()) {
    // A failed login waits for its delayed refusal: what the client sends meanwhile (pings,
    // acks; everything else is held) changes nothing.
    if (c.auth().refusal_timer) return;
    // During enhanced authentication only AUTH may come (MQTT 5 §4.12).
    if (auto* auth = std::get_if<mqtt::AuthPacket>(&packet)) {
      handle_auth(c, *auth);
    } else {
      protocol_violation(c, "only AUTH may follow CONNECT before CONNACK",
                         mqtt::reason::kProtocolError);
    }
    return;
  }
  if (auto* p = std::get_if<mqtt::PublishPacket>(&packet)) {
    handle_publish(c, *p);
  } else if (auto* a = std::get_if<mqtt::AckPacket>(&packet)) {
    handle_ack(c, *a);
  } else if (auto* s = std::get_if<mqtt::SubscribePacket>(&packet)) {
    handle_subscribe(c, *s);
  } else if (auto* u = std::get_if<mqtt::UnsubscribePacket>(&packet)) {
    handle_unsubscribe(c, *u);
  } else if (std::holds_alternative<mqtt::PingreqPacket>(packet)) {
    std::string out;
    mqtt::encode(mqtt::PingrespPacket{}, &out);
    c.send(out);
  } else if (auto* d = std::get_if<mqtt::DisconnectPacket>(&packet)) {
    handle_disconnect(c, *d);
  } else if (auto* au = std::get_if<mqtt::AuthPacket>(&packet)) {
    handle_auth(c, *au);
  } else if (std::holds_alternative<mqtt::ConnectPacket>(packet)) {
    protocol_violation(c, "second CONNECT", mqtt::reason::kProtocolError);  // MQTT-3.1.0-2
  } else {
    // CONNACK, SUBACK, UNSUBACK and PINGRESP are never sent by a client.
    protocol_violation(c, "unexpected packet type " + std::to_string(header.first_byte >> 4),
                       mqtt::reason::kProtocolError);
  }
}

// The QoS 1/2 acks that carry only a packet id (every 3.1.1 ack, and MQTT 5 acks with reason
// 0 and no properties) are half of all traffic in QoS 1/2 fan-out: they are read here in a
// few instructions instead of through the general decoder. Anything else, including every
// malformed form, goes the general way.
bool Broker::try_fast_ack(Connection& c, const mqtt::FrameHeader& header, std::string_view body) {
  if (header.remaining_length != 2 || c.authenticating()) return false;
  const mqtt::PacketType type = header.type();
  const uint8_t expected_flags = type == mqtt::PacketType::kPubrel ? 0x02 : 0x00;
  if (type != mqtt::PacketType::kPuback && type != mqtt::PacketType::kPubrec &&
      type != mqtt::PacketType::kPubcomp && type != mqtt::PacketType::kPubrel) {
    return false;
  }
  const uint16_t packet_id =
      static_cast<uint16_t>((static_cast<uint8_t>(body[0]) << 8) | static_cast<uint8_t>(body[1]));
  if (header.flags() != expected_flags || packet_id == 0) return false;
  handle_ack(c, type, packet_id, 0);
  return true;
}

void Broker::handle_disconnect(Connection& c, const mqtt::DisconnectPacket& d) {
  Session* session = c.session;
  if (c.version == mqtt::ProtocolVersion::kV5 && session != nullptr &&
      d.properties.session_expiry_interval) {
    uint32_t requested = *d.properties.session_expiry_interval;
    if (session->expiry_interval_s() == 0 && requested != 0) {
      // MQTT 5 §3.14.2.2.2: a session that started with expiry 0 cannot be extended here.
      protocol_violation(c, "session expiry set at DISCONNECT after 0 at CONNECT",
                         mqtt::reason::kProtocolError);
      return;
    }
    uint32_t expiry = std::min(requested, options_.max_session_expiry_s);
    if (session->persistent() && expiry == 0) store_->delete_session(session->client_id());
    session->set_expiry_interval_s(expiry);
  }
  // A normal disconnect discards the will (MQTT-3.14.4-3), unless MQTT 5 reason 0x04 asks
  // for it to be sent.
  if (d.reason_code != mqtt::reason::kDisconnectWithWill) c.take_will();
  c.clean_disconnect = d.reason_code != mqtt::reason::kDisconnectWithWill;
  c.close(true);
}

void Broker::on_malformed(Connection& c, const Status& status) {
  ++stats_.malformed_packets;
  protocol_violation(c, status.to_string(), reason_code_for(status));
}

void Broker::protocol_violation(Connection& c, const std::string& why, uint8_t reason) {
  log::info("closing connection {} ({}): {}", c.peer(),
            c.session ? c.session->client_id() : std::string("-"), why);
  if (reason != 0 && c.version == mqtt::ProtocolVersion::kV5 &&
      c.state() == Connection::State::kConnected) {
    disconnect(c, reason, why);
    return;
  }
  // 3.1.1 has no way to tell the client why: the connection is closed (MQTT-4.8.0-1).
  c.close(false);
}

void Broker::disconnect(Connection& c, uint8_t reason, const std::string& why) {
  if (c.version != mqtt::ProtocolVersion::kV5 || c.state() != Connection::State::kConnected) {
    c.close(false);
    return;
  }
  mqtt::DisconnectPacket packet;
  packet.reason_code = reason;
  if (!why.empty()) packet.properties.reason_string = why;
  std::string out;
  // MQTT-3.14.2-3: the reason string is left out rather than exceed the client's limit; a
  // DISCONNECT that still does not fit (a limit under 3 bytes) is not sent at all.
  if (!encode_within_limit(packet, c.version, c.client_max_packet_size, &out)) {
    c.close(false);
    return;
  }
  c.send(out);
  end_after_reason(c);
}

void Broker::end_after_reason(Connection& c) {
  if (shutting_down_) {
    c.close(true);  // shutdown must finish promptly; the client is told 0x8B and goes
  } else {
    c.close_lingering();
  }
}

void Broker::on_connection_closing(Connection& c) {
  acks_.forget(c);
  if (c.blocked_by != nullptr) {
    auto it = waiting_publishers_.find(c.blocked_by);
    if (it != waiting_publishers_.end()) {
      auto& waiting = it->second;
      waiting.erase(std::remove(waiting.begin(), waiting.end(), c.id()), waiting.end());
      if (waiting.empty()) waiting_publishers_.erase(it);
    }
    c.blocked_by = nullptr;
  }
  c.deferred_pubacks = 0;
  c.since_ms = clock_->now_ms();
  if (observer_ != nullptr && c.session != nullptr)
    observer_->on_client_disconnected(identity_of(c));
  detach_session(c);
}

void Broker::release_connection(Connection* c) {
  dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), c), dirty_.end());
  --stats_.of(c->transport).connections_current;
  connections_.erase(c->id());
  if (shutting_down_) finish_shutdown();
}

void Broker::on_durable(uint64_t ticket) { acks_.on_durable(ticket); }

// --- loop plumbing --------------------------------------------------------------------------

void Broker::on_check(uv_check_t* handle) { static_cast<Broker*>(handle->data)->flush_dirty(); }

// Runs once per loop turn after I/O callbacks: everything a turn queued for a connection
// leaves in one gathered write.
void Broker::flush_dirty() {
  // Releasing held publishers routes their messages, which dirties more connections, and a
  // flush can drain a connection, which releases more publishers: repeat until both settle
  // (bounded, so one turn cannot starve the loop; what is left runs next turn).
  for (int round = 0; round < 8; ++round) {
    process_releases();
    // A flush can close a connection, which never adds to dirty_, so index iteration is safe.
    for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i]->flush();
    dirty_.clear();
    if (to_release_.empty()) break;
  }
}

void Broker::sweep() {
  if (!store_->health().is_ok() && !shutting_down_) {
    log::error("state store failed ({}); shutting down to avoid losing acknowledged messages",
               store_->health().to_string());
    shutdown(nullptr);
    return;
  }
  int64_t now = clock_->now_ms();
  std::vector<std::pair<Connection*, uint8_t>> expired;
  for (auto& [id, owned] : connections_) {
    Connection* raw = owned.get();
    Connection& c = *raw;
    if (c.state() == Connection::State::kAwaitingConnect) {
      if (now - c.since_ms > options_.connect_timeout_ms) expired.emplace_back(raw, 0);
    } else if (c.state() == Connection::State::kClosing) {
      // A peer that stopped reading must not hold its connection open forever, and one
      // that has read everything (a lingering close) only for close_linger_ms.
      const int64_t limit =
          c.queued_bytes() == 0 ? options_.close_linger_ms : options_.close_grace_ms;
      if (now - c.since_ms > limit) raw->abort();
    } else if (c.state() == Connection::State::kConnected && c.keep_alive_s > 0 &&
               !c.reading_stopped()) {
      // MQTT-3.1.2-24: disconnect after one and a half keep-alive periods of silence.
      if (now - c.since_ms > int64_t{c.keep_alive_s} * 1500) {
        expired.emplace_back(raw, mqtt::reason::kKeepAliveTimeout);
      }
    }
  }
  for (auto [c, reason] : expired) {
    log::info("closing connection {}: {}", c->peer(),
              reason == 0 ? "no CONNECT in time" : "keep-alive timeout");
    if (reason == 0) {
      c->close(false);
    } else {
      disconnect(*c, reason, "keep alive timeout");
    }
  }
  check_stuck_subscribers(now);
  expire_sessions_and_wills();
}

void Broker::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  log::info("shutting down: closing {} connections", connections_.size());
  for (auto& listener : listeners_) {
    ++open_handles_;
    listener->close([this] {
      --open_handles_;
      finish_shutdown();
    });
  }
  std::vector<Connection*> open;
  for (auto& [id, owned] : connections_) open.push_back(owned.get());
  // MQTT 5 clients are told why (0x8B); 3.1.1 has no server DISCONNECT.
  for (Connection* c : open) {
    if (c->version == mqtt::ProtocolVersion::kV5 && c->state() == Connection::State::kConnected) {
      disconnect(*c, mqtt::reason::kServerShuttingDown, "");
    } else if (c->state() == Connection::State::kClosing) {
      c->end_linger();  // the sweep that would bound it stops now
    } else {
      c->close(true);
    }
  }
  // Destroying the timers closes their handles (also safe from inside the sweep itself).
  sweep_timer_.reset();
  sys_timer_.reset();
  uv_check_stop(&flush_check_);
  auto closed = [](uv_handle_t* h) {
    auto* self = static_cast<Broker*>(h->data);
    --self->open_handles_;
    self->finish_shutdown();
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_check_), closed);
}

void Broker::finish_shutdown() {
  if (!shutting_down_ || shut_down_ || open_handles_ > 0 || !connections_.empty()) return;
  shut_down_ = true;
  if (shutdown_done_) {
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

}  // namespace topicdb::broker

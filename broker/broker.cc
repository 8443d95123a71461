#include "broker/broker.h"

#include <algorithm>

#include "base/log.h"

namespace topicdb::broker {

namespace {
constexpr size_t kReadScratchSize = 64 * 1024;
}  // namespace

Broker::Broker(uv_loop_t* loop, BrokerOptions options, Clock* clock, StateStore* store)
    : loop_(loop), options_(options), clock_(clock), store_(store) {
  read_scratch_.resize(kReadScratchSize);
  uv_check_init(loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, &Broker::on_check);
  uv_timer_init(loop_, &sweep_timer_);
  sweep_timer_.data = this;
  uv_timer_start(&sweep_timer_, &Broker::on_sweep_timer, options_.sweep_interval_ms,
                 options_.sweep_interval_ms);
  open_handles_ = 2;
  store_->set_durable_callback([this](uint64_t ticket) { on_durable(ticket); });
}

Broker::~Broker() { store_->set_durable_callback(nullptr); }

Status Broker::restore() {
  auto loaded = store_->load();
  if (!loaded.is_ok()) return loaded.status();
  int64_t now = clock_->wall_ms();
  for (StoredRetained& r : loaded->retained) {
    if (r.expiry_at_ms != 0 && r.expiry_at_ms <= now) continue;
    auto message = std::make_shared<Message>();
    message->topic = std::move(r.topic);
    message->payload = std::move(r.payload);
    message->qos = r.qos;
    message->retain = true;
    message->expiry_at_ms = r.expiry_at_ms;
    retained_.set(std::move(message));
  }
  size_t restored_messages = 0;
  for (StoredSession& stored : loaded->sessions) {
    Session& session = create_session(stored.client_id, true);
    for (const StoredSubscription& sub : stored.subscriptions) {
      session.subscriptions()[sub.filter] = {sub.options, sub.subscription_id};
      topic_tree_.subscribe(sub.filter, {&session, sub.options, sub.subscription_id});
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
        entry.message = std::move(message);
      }
      session.restore_message(std::move(entry));
      ++restored_messages;
    }
    for (uint16_t id : stored.inbound_qos2) session.add_inbound_qos2(id);
  }
  log::info("restored {} persistent sessions, {} queued messages, {} retained messages",
            loaded->sessions.size(), restored_messages, retained_.size());
  return Status::ok();
}

Result<std::string> Broker::listen(const std::string& host, int port) {
  auto listener = std::make_unique<Listener>(this);
  auto bound = listener->start(host, port);
  listeners_.push_back(std::move(listener));  // closed at shutdown even if start failed
  return bound;
}

void Broker::accept(uv_stream_t* server) {
  auto connection = std::make_unique<Connection>(this, next_connection_id_++, clock_->now_ms());
  Connection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  ++stats_.connections_total;
  if (raw->accept_from(server) != 0) return;
  if (shutting_down_ || connections_.size() > options_.max_connections) {
    log::warn("refusing connection from {}: {}", raw->peer(),
              shutting_down_ ? "shutting down" : "max_connections reached");
    raw->close(false);
  }
}

void Broker::on_packet(Connection& c, const mqtt::FrameHeader& header, std::string_view body) {
  if (c.state() == Connection::State::kAwaitingConnect) {
    if (header.type() != mqtt::PacketType::kConnect) {
      // MQTT-3.1.0-1: the first packet from a client must be CONNECT.
      protocol_violation(c, "first packet is not CONNECT");
      return;
    }
    handle_connect(c, header, body);
    return;
  }
  auto decoded = mqtt::decode_packet(header, body, c.version);
  if (!decoded.is_ok()) {
    on_malformed(c, decoded.status());
    return;
  }
  mqtt::Packet& packet = *decoded;
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
  } else if (std::holds_alternative<mqtt::DisconnectPacket>(packet)) {
    // A normal disconnect discards the will (MQTT-3.14.4-3).
    c.will.reset();
    c.clean_disconnect = true;
    c.close(true);
  } else if (std::holds_alternative<mqtt::ConnectPacket>(packet)) {
    protocol_violation(c, "second CONNECT");  // MQTT-3.1.0-2
  } else {
    // CONNACK, SUBACK, UNSUBACK, PINGRESP and AUTH are never sent by a client here.
    protocol_violation(c, "unexpected packet type " + std::to_string(header.first_byte >> 4));
  }
}

void Broker::on_malformed(Connection& c, const Status& status) {
  ++stats_.malformed_packets;
  protocol_violation(c, status.to_string());
}

// 3.1.1 has no way to tell the client why: the connection is closed (MQTT-4.8.0-1).
void Broker::protocol_violation(Connection& c, const std::string& why) {
  log::info("closing connection {} ({}): {}", c.peer(),
            c.session ? c.session->client_id() : std::string("-"), why);
  c.close(false);
}

void Broker::on_connection_closing(Connection& c) {
  with_deferred_acks_.erase(&c);
  c.deferred_acks.clear();
  c.closing_since_ms = clock_->now_ms();
  Session* session = c.session;
  c.session = nullptr;
  // Detach first, so a will the client itself subscribed to is queued, not half-sent.
  if (session != nullptr && session->connection() == &c) {
    session->set_connection(nullptr);
    if (!session->persistent()) {
      destroy_session(session->client_id());
    } else {
      StoredSession stored = to_stored(*session);
      stored.disconnected_at_ms = clock_->wall_ms();
      store_->put_session(stored);
    }
  }
  // The server shutting down is not the client's failure: wills are kept for real ones.
  if (!c.clean_disconnect && c.will && !shutting_down_) publish_will(c);
}

void Broker::release_connection(Connection* c) {
  dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), c), dirty_.end());
  connections_.erase(c);
  if (shutting_down_) finish_shutdown();
}

// --- sessions -------------------------------------------------------------------------------

Session& Broker::create_session(const std::string& client_id, bool persistent) {
  auto session = std::make_unique<Session>(client_id, persistent, options_.max_inflight,
                                           options_.max_queued_messages);
  Session& ref = *session;
  sessions_[client_id] = std::move(session);
  return ref;
}

void Broker::destroy_session(const std::string& client_id) {
  auto it = sessions_.find(client_id);
  if (it == sessions_.end()) return;
  Session& session = *it->second;
  for (const auto& [filter, info] : session.subscriptions())
    topic_tree_.unsubscribe(filter, &session);
  if (session.persistent()) store_->delete_session(client_id);
  sessions_.erase(it);
}

StoredSession Broker::to_stored(const Session& session) const {
  StoredSession stored;
  stored.client_id = session.client_id();
  stored.protocol_version = 4;
  return stored;
}

// --- acknowledgements that promise durability -----------------------------------------------

// An ack is held back until the store has made durable everything its packet caused; acks
// of one connection stay in order (MQTT-4.6.0-2), so once one waits, later ones queue too.
void Broker::send_after_durable(Connection& c, std::string bytes, uint64_t ticket) {
  if (!c.deferred_acks.empty()) ticket = std::max(ticket, c.deferred_acks.back().first);
  if (ticket <= store_->durable_ticket()) {
    c.send(bytes);
    return;
  }
  c.deferred_acks.emplace_back(ticket, std::move(bytes));
  with_deferred_acks_.insert(&c);
}

void Broker::on_durable(uint64_t ticket) {
  for (auto it = with_deferred_acks_.begin(); it != with_deferred_acks_.end();) {
    Connection* c = *it;
    while (!c->deferred_acks.empty() && c->deferred_acks.front().first <= ticket) {
      c->send(c->deferred_acks.front().second);
      c->deferred_acks.pop_front();
    }
    it = c->deferred_acks.empty() ? with_deferred_acks_.erase(it) : std::next(it);
  }
}

// --- loop plumbing --------------------------------------------------------------------------

void Broker::on_check(uv_check_t* handle) { static_cast<Broker*>(handle->data)->flush_dirty(); }

// Runs once per loop turn after I/O callbacks: everything a turn queued for a connection
// leaves in one gathered write.
void Broker::flush_dirty() {
  // A flush can close a connection, which never adds to dirty_, so plain iteration is safe.
  for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i]->flush();
  dirty_.clear();
}

void Broker::on_sweep_timer(uv_timer_t* handle) { static_cast<Broker*>(handle->data)->sweep(); }

void Broker::sweep() {
  if (!store_->health().is_ok() && !shutting_down_) {
    log::error("state store failed ({}); shutting down to avoid losing acknowledged messages",
               store_->health().to_string());
    shutdown(nullptr);
    return;
  }
  int64_t now = clock_->now_ms();
  std::vector<Connection*> expired;
  for (auto& [raw, owned] : connections_) {
    Connection& c = *raw;
    if (c.state() == Connection::State::kAwaitingConnect) {
      if (now - c.opened_ms > options_.connect_timeout_ms) expired.push_back(raw);
    } else if (c.state() == Connection::State::kClosing) {
      // A peer that stopped reading must not hold its connection open forever.
      if (now - c.closing_since_ms > options_.close_grace_ms) raw->abort();
    } else if (c.state() == Connection::State::kConnected && c.keep_alive_s > 0) {
      // MQTT-3.1.2-24: disconnect after one and a half keep-alive periods of silence.
      if (now - c.last_received_ms > int64_t{c.keep_alive_s} * 1500) expired.push_back(raw);
    }
  }
  for (Connection* c : expired) {
    log::info("closing connection {}: {}", c->peer(),
              c->state() == Connection::State::kAwaitingConnect ? "no CONNECT in time"
                                                                : "keep-alive timeout");
    c->close(false);
  }
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
  for (auto& [raw, owned] : connections_) open.push_back(raw);
  for (Connection* c : open) c->close(true);
  uv_timer_stop(&sweep_timer_);
  uv_check_stop(&flush_check_);
  auto closed = [](uv_handle_t* h) {
    auto* self = static_cast<Broker*>(h->data);
    --self->open_handles_;
    self->finish_shutdown();
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&sweep_timer_), closed);
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

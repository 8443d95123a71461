// How sessions begin and end: creation, detaching from a closed connection, expiry (MQTT 5
// §3.1.2.11.2), wills with their delay (§3.1.3.2.2), and handing shared-subscription
// messages of a departing member to another (§4.8.2).
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

Session& Broker::create_session(const std::string& client_id, uint32_t expiry_interval_s) {
  // The map's key views the session's own id: an old entry must go before a new one comes,
  // or the key would outlive the string it points into.
  if (sessions_.count(client_id) > 0) destroy_session(client_id);
  auto session = std::make_unique<Session>(client_id, expiry_interval_s, options_.max_inflight,
                                           options_.max_queued_messages);
  Session& ref = *session;
  sessions_.emplace(ref.client_id(), std::move(session));
  return ref;
}

void Broker::destroy_session(const std::string& client_id) {
  auto it = sessions_.find(client_id);
  if (it == sessions_.end()) return;
  std::unique_ptr<Session> session = std::move(it->second);
  sessions_.erase(it);
  // Its reserved-topic requests still running answer nobody now (finish_reserved).
  reserved_running_.erase(reserved_running_.lower_bound({client_id, 0}),
                          reserved_running_.upper_bound({client_id, 0xFFFF}));
  release_waiters(*session, /*force=*/true);
  router_.unsubscribe_all(*session);
  // Out of every group now, so its shared messages go to the remaining members.
  router_.redeliver_shared(*session, /*session_ending=*/true);
  if (session->persistent()) store_->delete_session(client_id);
  // The session ended: a will still waiting out its delay is published now.
  if (std::optional<Will> will = wills_.take(client_id)) publish_will_now(std::move(*will));
}

StoredSession Broker::to_stored(const Session& session) const {
  StoredSession stored;
  stored.client_id = session.client_id();
  // The protocol level as sent in CONNECT, so that 3.1 (level 3) survives a restart.
  stored.protocol_version =
      session.mqtt31 ? mqtt::kMqtt31ProtocolLevel : static_cast<uint8_t>(session.version);
  stored.expiry_interval_s = session.expiry_interval_s();
  stored.disconnected_at_ms = session.connection() == nullptr ? clock_->wall_ms() : 0;
  return stored;
}

void Broker::detach_session(Connection& c) {
  Session* session = c.session;
  c.session = nullptr;
  // Read now: a clean session ends below, and the will still names its client.
  const std::string will_client_id = session != nullptr ? session->client_id() : std::string();
  std::string client_id;
  bool session_ended = true;
  if (session != nullptr && session->connection() == &c) {
    client_id = session->client_id();
    session->set_connection(nullptr);
    // An absent session applies no back-pressure: its queue bound takes over.
    release_waiters(*session, /*force=*/true);
    router_.redeliver_shared(*session, /*session_ending=*/!session->persistent());
    if (session->persistent()) {
      session_ended = false;
      uint32_t expiry = session->expiry_interval_s();
      session->expires_at_ms =
          expiry == Session::kNeverExpires ? 0 : clock_->now_ms() + int64_t{expiry} * 1000;
      store_->put_session(to_stored(*session));
    } else {
      destroy_session(client_id);
    }
  }
  // The server shutting down is not the client's failure: wills are kept for real ones.
  std::unique_ptr<mqtt::Will> fired = c.take_will();
  if (!c.clean_disconnect && fired && !shutting_down_) {
    mqtt::Will will = std::move(*fired);
    auto message = std::make_shared<Message>();
    message->topic = std::move(will.topic);
    message->payload = std::move(will.payload);
    message->qos = will.qos;
    message->retain = will.retain;
    message->origin = session;
    uint32_t delay_s = 0;
    if (c.version == mqtt::ProtocolVersion::kV5) {
      const mqtt::Properties& wp = will.properties;
      message->properties.payload_format_indicator = wp.payload_format_indicator;
      message->properties.content_type = wp.content_type;
      message->properties.response_topic = wp.response_topic;
      message->properties.correlation_data = wp.correlation_data;
      message->properties.user_properties = wp.user_properties;
      if (wp.message_expiry_interval) {
        message->expiry_at_ms = clock_->wall_ms() + int64_t{*wp.message_expiry_interval} * 1000;
      }
      delay_s = wp.will_delay_interval.value_or(0);
    }
    Will out;
    out.message = std::move(message);
    out.client_id = will_client_id;
    if (const std::string* username = c.username()) {
      out.username = std::make_unique<const std::string>(*username);
    }
    out.version = c.version;
    if (delay_s == 0 || session_ended) {
      publish_will_now(std::move(out));
    } else {
      log::debug("will of '{}' delayed by {}s", client_id, delay_s);
      wills_.schedule(clock_->now_ms() + int64_t{delay_s} * 1000, std::move(out));
    }
  }
}

// MQTT-3.1.2-8: the will is published as an ordinary message (retained if it says so); a
// will on a reserved prefix goes to its handler instead (a device's will can update a
// record), with nobody to answer.
void Broker::publish_will_now(Will will) {
  log::debug("publishing will to '{}'", will.message->topic);
  if (ReservedTopicHandler* handler = reserved_.find(will.message->topic)) {
    send_will_to_handler(std::move(will), *handler);
    return;
  }
  if (will.message->retain) router_.retain(will.message);
  router_.route(will.message, PublishContext{});
}

void Broker::expire_sessions_and_wills() {
  const int64_t now = clock_->now_ms();
  std::vector<std::string> expired;
  for (const auto& [id, session] : sessions_) {
    if (session->connection() == nullptr && session->expires_at_ms != 0 &&
        session->expires_at_ms <= now) {
      expired.emplace_back(id);
    }
  }
  for (const std::string& id : expired) {
    log::info("session '{}' expired", id);
    destroy_session(id);
  }
  for (Will& will : wills_.take_due(now)) publish_will_now(std::move(will));
}

}  // namespace topicdb::broker

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
  release_waiters(*session, /*force=*/true);
  std::vector<std::string> filters;
  for (const auto& [filter, info] : session->subscriptions()) filters.push_back(filter);
  for (const std::string& filter : filters) remove_subscription(*session, filter);
  // Out of every group now, so its shared messages go to the remaining members.
  redeliver_shared(*session, /*session_ending=*/true);
  if (session->persistent()) store_->delete_session(client_id);
  // The session ended: a will still waiting out its delay is published now.
  auto will = pending_wills_.find(client_id);
  if (will != pending_wills_.end()) {
    MessagePtr message = std::move(will->second.message);
    pending_wills_.erase(will);
    publish_will_now(std::move(message));
  }
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
  std::string client_id;
  bool session_ended = true;
  if (session != nullptr && session->connection() == &c) {
    client_id = session->client_id();
    session->set_connection(nullptr);
    // An absent session applies no back-pressure: its queue bound takes over.
    release_waiters(*session, /*force=*/true);
    redeliver_shared(*session, /*session_ending=*/!session->persistent());
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
  if (!c.clean_disconnect && c.will && !shutting_down_) {
    mqtt::Will will = std::move(*c.will);
    c.will.reset();
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
    if (delay_s == 0 || session_ended) {
      publish_will_now(std::move(message));
    } else {
      log::debug("will of '{}' delayed by {}s", client_id, delay_s);
      pending_wills_[client_id] = {clock_->now_ms() + int64_t{delay_s} * 1000, std::move(message)};
    }
  }
}

// MQTT-3.1.2-8: the will is published as an ordinary message (retained if it says so).
void Broker::publish_will_now(MessagePtr will) {
  log::debug("publishing will to '{}'", will->topic);
  if (will->retain) store_retained(will);
  route(will);
}

void Broker::redeliver_shared(Session& leaving, bool session_ending) {
  std::vector<Session::Outgoing> taken = leaving.take_shared_undelivered();
  for (Session::Outgoing& entry : taken) {
    if (leaving.persistent()) store_->delete_message(leaving.client_id(), entry.seq);
    auto group = shared_groups_.find(entry.share_group);
    const SharedGroup::Member* member =
        group == shared_groups_.end()
            ? nullptr
            : group->second->pick(&leaving, /*allow_offline=*/session_ending);
    if (member == nullptr) {
      if (!session_ending) {
        // Nobody else can take it now: it stays with this member for its return.
        const Session::Outgoing* kept = nullptr;
        entry.state = StoredMessage::State::kQueued;
        entry.packet_id = 0;
        if (leaving.admit(std::move(entry), &kept) != Session::Admission::kDropped &&
            leaving.persistent()) {
          store_->put_message(leaving.client_id(), to_stored(*kept));
        }
      } else {
        log::warn("shared message to '{}' lost: no member of {} is left", entry.message->topic,
                  entry.share_group);
      }
      continue;
    }
    std::vector<uint32_t> ids;
    if (member->subscription_id != 0) ids.push_back(member->subscription_id);
    uint8_t qos = std::min<uint8_t>(entry.qos, member->options & subscription_option::kQosMask);
    deliver(*member->session, entry.message, qos, entry.retain, ids, entry.share_group);
  }
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
  std::vector<std::string> due;
  for (const auto& [id, will] : pending_wills_) {
    if (will.due_ms <= now) due.push_back(id);
  }
  for (const std::string& id : due) {
    auto it = pending_wills_.find(id);
    MessagePtr message = std::move(it->second.message);
    pending_wills_.erase(it);
    publish_will_now(std::move(message));
  }
}

}  // namespace topicdb::broker

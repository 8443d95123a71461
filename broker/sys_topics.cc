// $SYS/broker/... topics: counters for operators, published as retained messages every
// --sys-interval seconds (the same names mosquitto uses, so existing dashboards work).
#include "broker/sys_topics.h"

#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

void SysTopicsHandler::on_publish(ReservedPublish request, ReservedCompletion done) {
  // $SYS belongs to the broker: clients may not publish there.
  log::debug("refusing publish of '{}' to {}", request.client_id, request.topic);
  done(Status::permission_denied("$SYS topics are published by the broker only"));
}

Status SysTopicsHandler::authorize_subscribe(const ClientIdentity&, std::string_view) {
  return Status::ok();
}

SysFigures Broker::sys_figures() const {
  SysFigures f;
  for (const auto& [id, owned] : connections_) {
    if (owned->state() == Connection::State::kConnected) ++f.clients_connected;
  }
  f.uptime_s = (clock_->now_ms() - started_ms_) / 1000;
  f.sessions = sessions_.size();
  f.clients_disconnected = f.sessions - std::min(f.sessions, f.clients_connected);
  f.subscriptions = router_.subscription_count();
  f.retained_messages = router_.retained_count();
  return f;
}

void Broker::publish_sys_topics() {
  const SysFigures f = sys_figures();
  const std::pair<const char*, std::string> values[] = {
      {"$SYS/broker/version", std::string("topicdb ") + TOPICDB_VERSION},
      {"$SYS/broker/uptime", std::to_string(f.uptime_s) + " seconds"},
      {"$SYS/broker/clients/connected", std::to_string(f.clients_connected)},
      {"$SYS/broker/clients/total", std::to_string(f.sessions)},
      {"$SYS/broker/clients/disconnected", std::to_string(f.clients_disconnected)},
      {"$SYS/broker/connections/total", std::to_string(stats_.connections_total)},
      {"$SYS/broker/clients/auth_failures", std::to_string(stats_.auth_failures)},
      {"$SYS/broker/messages/received", std::to_string(stats_.messages_received)},
      {"$SYS/broker/messages/sent", std::to_string(stats_.messages_sent)},
      {"$SYS/broker/messages/dropped", std::to_string(stats_.messages_dropped)},
      {"$SYS/broker/bytes/received", std::to_string(stats_.bytes_received)},
      {"$SYS/broker/bytes/sent", std::to_string(stats_.bytes_sent)},
      {"$SYS/broker/subscriptions/count", std::to_string(f.subscriptions)},
      {"$SYS/broker/retained messages/count", std::to_string(f.retained_messages)},
  };
  for (const auto& [topic, value] : values) {
    ServerMessage message;
    message.topic = topic;
    message.payload = value;
    message.retain = true;
    // Held in memory only: they describe this process and are rebuilt after a restart.
    message.retain_in_memory_only = true;
    publish(std::move(message));
  }
}

}  // namespace topicdb::broker

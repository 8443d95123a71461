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

void Broker::publish_sys_topics() {
  size_t connected = 0;
  for (const auto& [id, owned] : connections_) {
    if (owned->state() == Connection::State::kConnected) ++connected;
  }
  const int64_t uptime_s = (clock_->now_ms() - started_ms_) / 1000;
  const std::pair<const char*, std::string> values[] = {
      {"$SYS/broker/version", std::string("topicdb ") + TOPICDB_VERSION},
      {"$SYS/broker/uptime", std::to_string(uptime_s) + " seconds"},
      {"$SYS/broker/clients/connected", std::to_string(connected)},
      {"$SYS/broker/clients/total", std::to_string(sessions_.size())},
      {"$SYS/broker/clients/disconnected",
       std::to_string(sessions_.size() - std::min(sessions_.size(), connected))},
      {"$SYS/broker/connections/total", std::to_string(stats_.connections_total)},
      {"$SYS/broker/clients/auth_failures", std::to_string(stats_.auth_failures)},
      {"$SYS/broker/messages/received", std::to_string(stats_.messages_received)},
      {"$SYS/broker/messages/sent", std::to_string(stats_.messages_sent)},
      {"$SYS/broker/messages/dropped", std::to_string(stats_.messages_dropped)},
      {"$SYS/broker/bytes/received", std::to_string(stats_.bytes_received)},
      {"$SYS/broker/bytes/sent", std::to_string(stats_.bytes_sent)},
      {"$SYS/broker/subscriptions/count", std::to_string(router_.subscription_count())},
      {"$SYS/broker/retained messages/count", std::to_string(router_.retained_count())},
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

// $SYS/broker/... topics: counters for operators, published as retained messages every
// --sys-interval seconds (the same names mosquitto uses, so existing dashboards work).
#include "broker/broker.h"

namespace topicdb::broker {

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
      {"$SYS/broker/messages/received", std::to_string(stats_.messages_received)},
      {"$SYS/broker/messages/sent", std::to_string(stats_.messages_sent)},
      {"$SYS/broker/messages/dropped", std::to_string(stats_.messages_dropped)},
      {"$SYS/broker/bytes/received", std::to_string(stats_.bytes_received)},
      {"$SYS/broker/bytes/sent", std::to_string(stats_.bytes_sent)},
      {"$SYS/broker/subscriptions/count", std::to_string(topic_tree_.subscription_count())},
      {"$SYS/broker/retained messages/count", std::to_string(retained_.size())},
  };
  for (const auto& [topic, value] : values) {
    auto message = std::make_shared<Message>();
    message->topic = topic;
    message->payload = value;
    message->retain = true;
    // Held in memory only: they describe this process and are rebuilt after a restart.
    retained_.set(message);
    route(message);
  }
}

}  // namespace topicdb::broker

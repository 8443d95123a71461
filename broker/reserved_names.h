// Every topic name and prefix the broker reserves for itself, in one place: what clients may
// not treat as ordinary topics, and the prefixes of the reserved-topic handlers.
#pragma once

#include <string_view>

namespace topicdb::broker::reserved {

// Shared subscriptions: "$share/{group}/{filter}" (MQTT 5 §4.8.2).
constexpr std::string_view kSharePrefix = "$share/";
// Broker statistics, published by the broker; clients may subscribe, never publish.
constexpr std::string_view kSysPrefix = "$SYS/";
// The document database's request, answer and event topics.
constexpr std::string_view kDbPrefix = "$DB/";
// Response Information handed to MQTT 5 clients that ask for it (MQTT 5 §4.10): a client
// builds its response topics under "$response/{client id}/".
constexpr std::string_view kResponsePrefix = "$response/";

// True when `topic` is `prefix` itself (without its trailing '/') or lies below it.
constexpr bool is_under(std::string_view topic, std::string_view prefix) {
  if (topic.starts_with(prefix)) return true;
  return !prefix.empty() && prefix.back() == '/' && topic == prefix.substr(0, prefix.size() - 1);
}

}  // namespace topicdb::broker::reserved

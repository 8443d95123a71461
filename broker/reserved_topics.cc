#include "broker/reserved_topics.h"

#include "broker/reserved_names.h"

namespace topicdb::broker {

void ReservedTopics::add(std::string prefix, ReservedTopicHandler* handler) {
  for (auto& [existing, h] : entries_) {
    if (existing == prefix) {
      h = handler;
      return;
    }
  }
  entries_.emplace_back(std::move(prefix), handler);
}

ReservedTopicHandler* ReservedTopics::find(std::string_view topic) const {
  // Every reserved name starts with '$': ordinary topics cost one comparison.
  if (topic.empty() || topic[0] != '$') return nullptr;
  for (const auto& [prefix, handler] : entries_) {
    if (reserved::is_under(topic, prefix)) return handler;
  }
  return nullptr;
}

}  // namespace topicdb::broker

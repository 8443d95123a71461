// Relations between MQTT topic filters, for authorization rules written as filters (the
// ACL file): whether a filter matches a topic, covers every topic another filter can match,
// or shares at least one topic with it. All follow MQTT's matching rules (MQTT 5 §4.7):
// '+' is one level, '#' the parent level and everything below, and a wildcard in the first
// level never matches a topic starting with '$' (MQTT-4.7.2-1).
#pragma once

#include <string_view>

namespace topicdb::plugins {

// True when `topic` (a topic name) matches `filter`.
bool filter_matches(std::string_view filter, std::string_view topic);
// True when every topic that `inner` matches is also matched by `outer`.
bool filter_covers(std::string_view outer, std::string_view inner);
// True when some topic is matched by both filters.
bool filters_overlap(std::string_view a, std::string_view b);

}  // namespace topicdb::plugins

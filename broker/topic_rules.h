// Syntax rules for topic names and filters (MQTT 3.1.1 §4.7, MQTT 5 §4.7) and for
// MQTT's UTF-8 strings (§1.5.3).
#pragma once

#include <string_view>

namespace topicdb::mqtt {

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) with no U+0000.
// MQTT 3.1.1 §1.5.3 / MQTT 5 §1.5.4.
bool is_valid_mqtt_utf8(std::string_view s);

// A topic name for PUBLISH: at least one character, no '+' or '#' (MQTT-4.7.3-1, 4.7.1-1).
bool is_valid_topic_name(std::string_view topic);

// A topic filter for SUBSCRIBE/UNSUBSCRIBE: non-empty; '#' only as a whole last level; '+'
// only as a whole level (MQTT-4.7.1-2, 4.7.1-3). Shared-subscription syntax is not checked
// here.
bool is_valid_topic_filter(std::string_view filter);

}  // namespace topicdb::mqtt

#include "broker/topic_rules.h"

#include <cstddef>
#include <cstdint>

namespace topicdb::mqtt {

bool is_valid_mqtt_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c == 0) return false;  // MQTT-1.5.3-2: U+0000 is not allowed.
      ++p;
      continue;
    }
    // Lead byte: number of continuation bytes, its payload bits, and the smallest code point
    // that needs this many bytes (anything smaller is an overlong encoding, RFC 3629 §3).
    size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;  // stray continuation byte or 0xF8..0xFF
    }
    if (static_cast<size_t>(end - p) <= extra) return false;  // truncated sequence
    for (size_t i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // MQTT-1.5.3-1: no surrogates.
    p += extra + 1;
  }
  return true;
}

bool is_valid_topic_name(std::string_view topic) {
  // MQTT-4.7.3-1: at least one character; MQTT-3.3.2-2: no wildcards in a topic name.
  return !topic.empty() && topic.find_first_of("+#") == std::string_view::npos;
}

bool is_valid_topic_filter(std::string_view filter) {
  if (filter.empty()) return false;  // MQTT-4.7.3-1
  const size_t n = filter.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = filter[i];
    if (c != '+' && c != '#') continue;
    // Both wildcards must fill a whole level (MQTT-4.7.1-2, MQTT-4.7.1-3) ...
    if (i > 0 && filter[i - 1] != '/') return false;
    if (c == '+') {
      if (i + 1 < n && filter[i + 1] != '/') return false;
    } else if (i + 1 != n) {
      return false;  // ... and '#' must be the last character (MQTT-4.7.1-2).
    }
  }
  return true;
}

}  // namespace topicdb::mqtt

#include "broker/packet_fit.h"

#include <optional>

namespace topicdb::broker {

bool drop_optional_property(mqtt::Properties& p, bool connack) {
  if (p.reason_string) {
    p.reason_string.reset();
    return true;
  }
  if (!p.user_properties.empty()) {
    p.user_properties.clear();
    return true;
  }
  if (!connack) return false;
  for (std::optional<uint8_t>* flag :
       {&p.retain_available, &p.wildcard_subscription_available,
        &p.subscription_identifier_available, &p.shared_subscription_available}) {
    // Only a flag saying "available" may go: absent means available, so a 0 must stay.
    if (flag->has_value() && **flag == 1) {
      flag->reset();
      return true;
    }
  }
  if (p.topic_alias_maximum) {
    p.topic_alias_maximum.reset();
    return true;
  }
  if (p.response_information) {
    p.response_information.reset();
    return true;
  }
  return false;
}

}  // namespace topicdb::broker

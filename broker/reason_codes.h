// The one mapping from a failure (Status) to the MQTT reason code a client is sent: handlers,
// the decoder, the authorizer and reserved-topic handlers return a Status; the broker turns
// it into a CONNACK, PUBACK/PUBREC, SUBACK or DISCONNECT code only here.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace topicdb::broker {

// MQTT 5 reason code (MQTT 5 §2.4) for `status`: 0x00 when ok.
uint8_t reason_code_for(const Status& status);

// MQTT 3.1.1 CONNACK return code (MQTT 3.1.1 §3.2.2.3) for a refused CONNECT.
uint8_t connack_v311_code_for(const Status& status);

// The SUBACK code for a subscription the broker does not make: `v5_reason` under MQTT 5,
// 3.1.1's only failure code 0x80 (MQTT 3.1.1 §3.9.3), and under MQTT 3.1, which has no
// failure code, the QoS it asked for (as mosquitto answers a denied 3.1 subscription): the
// client simply receives nothing for that filter.
uint8_t suback_refusal_code(uint8_t v5_reason, bool v5, bool mqtt31, uint8_t requested_qos);

}  // namespace topicdb::broker

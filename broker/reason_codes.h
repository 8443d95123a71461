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

// SUBACK return code for a refused subscription: the MQTT 5 reason code, or 3.1.1's only
// failure code 0x80 (MQTT 3.1.1 §3.9.3).
uint8_t suback_failure_code_for(const Status& status, bool v5);

}  // namespace topicdb::broker

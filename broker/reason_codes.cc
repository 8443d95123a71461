#include "broker/reason_codes.h"

#include "broker/codec/packets.h"

namespace topicdb::broker {

uint8_t reason_code_for(const Status& status) {
  using Code = Status::Code;
  namespace r = mqtt::reason;
  switch (status.code()) {
    case Code::kOk:
      return r::kSuccess;
    case Code::kInvalidArgument:  // the decoder's verdict on bytes that are not MQTT
      return r::kMalformedPacket;
    case Code::kProtocolError:
      return r::kProtocolError;
    case Code::kResourceExhausted:  // the decoder's verdict on a packet over the limit
      return r::kPacketTooLarge;
    case Code::kUnsupported:  // arises only for a CONNECT's protocol level
      return r::kUnsupportedProtocolVersion;
    case Code::kPermissionDenied:
      return r::kNotAuthorized;
    case Code::kUnauthenticated:
      return r::kBadUserNameOrPassword;
    case Code::kUnavailable:
      return r::kServerUnavailable;
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kIoError:
    case Code::kCorruption:
    case Code::kInternal:
      break;
  }
  return r::kUnspecifiedError;
}

uint8_t connack_v311_code_for(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk:
      return mqtt::connack_v311::kAccepted;
    case Code::kUnsupported:
      return mqtt::connack_v311::kUnacceptableProtocolVersion;
    // A wrong password is "not authorized" (5), as mosquitto answers it (its test
    // 01-connect-uname-password-denied); 4 says the fields were malformed (§3.2.2.3).
    case Code::kUnauthenticated:
    case Code::kPermissionDenied:
      return mqtt::connack_v311::kNotAuthorized;
    default:
      // 3.1.1 has no general error code; "server unavailable" is the closest honest one.
      return mqtt::connack_v311::kServerUnavailable;
  }
}

uint8_t suback_refusal_code(uint8_t v5_reason, bool v5, bool mqtt31, uint8_t requested_qos) {
  if (v5) return v5_reason;
  if (mqtt31) return requested_qos > 2 ? 2 : requested_qos;
  return mqtt::reason::kUnspecifiedError;  // 0x80: Failure
}

}  // namespace topicdb::broker

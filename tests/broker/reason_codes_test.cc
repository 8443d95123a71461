#include "broker/reason_codes.h"

#include <gtest/gtest.h>

#include "broker/codec/packets.h"

namespace topicdb::broker {
namespace {

namespace r = mqtt::reason;

TEST(ReasonCodesTest, EveryStatusHasOneMqtt5Code) {
  EXPECT_EQ(reason_code_for(Status::ok()), r::kSuccess);
  EXPECT_EQ(reason_code_for(Status::invalid_argument("x")), r::kMalformedPacket);
  EXPECT_EQ(reason_code_for(Status::protocol_error("x")), r::kProtocolError);
  EXPECT_EQ(reason_code_for(Status::resource_exhausted("x")), r::kPacketTooLarge);
  EXPECT_EQ(reason_code_for(Status::unsupported("x")), r::kUnsupportedProtocolVersion);
  EXPECT_EQ(reason_code_for(Status::permission_denied("x")), r::kNotAuthorized);
  EXPECT_EQ(reason_code_for(Status::unauthenticated("x")), r::kBadUserNameOrPassword);
  EXPECT_EQ(reason_code_for(Status::unavailable("x")), r::kServerUnavailable);
  EXPECT_EQ(reason_code_for(Status::internal("x")), r::kUnspecifiedError);
  EXPECT_EQ(reason_code_for(Status::io_error("x")), r::kUnspecifiedError);
}

TEST(ReasonCodesTest, RefusedConnectUnderMqtt311) {
  EXPECT_EQ(connack_v311_code_for(Status::unsupported("x")),
            mqtt::connack_v311::kUnacceptableProtocolVersion);
  EXPECT_EQ(connack_v311_code_for(Status::unauthenticated("x")),
            mqtt::connack_v311::kNotAuthorized);
  EXPECT_EQ(connack_v311_code_for(Status::permission_denied("x")),
            mqtt::connack_v311::kNotAuthorized);
  EXPECT_EQ(connack_v311_code_for(Status::internal("x")), mqtt::connack_v311::kServerUnavailable);
}

TEST(ReasonCodesTest, SubackRefusalDependsOnTheVersion) {
  EXPECT_EQ(suback_refusal_code(r::kNotAuthorized, /*v5=*/true, false, 1), r::kNotAuthorized);
  EXPECT_EQ(suback_refusal_code(r::kNotAuthorized, /*v5=*/false, false, 1), 0x80);
  // MQTT 3.1 has no failure code: the requested QoS, and nothing is delivered.
  EXPECT_EQ(suback_refusal_code(r::kNotAuthorized, false, /*mqtt31=*/true, 1), 1);
  EXPECT_EQ(suback_refusal_code(r::kNotAuthorized, false, true, 2), 2);
}

}  // namespace
}  // namespace topicdb::broker

// MQTT 5 CONNACK properties (MQTT 5 §3.2.2.3): what the broker advertises and what it
// assigns or overrides for the client.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/v5_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::v5 {
namespace {

class V5ConnackTest : public V5Test {};

// §3.2.2.3.7: an empty client id gets an Assigned Client Identifier; a given one does not.
TEST_F(V5ConnackTest, AssignsClientIdentifierForEmptyId) {
  V5Client a(port());
  m::ConnackPacket ack_a;
  ASSERT_TRUE(a.connect(V5Client::connect_packet(""), &ack_a));
  ASSERT_TRUE(ack_a.properties.assigned_client_identifier.has_value())
      << "CONNACK lacks Assigned Client Identifier: " << describe(ack_a.properties);
  EXPECT_FALSE(ack_a.properties.assigned_client_identifier->empty());

  V5Client b(port());
  m::ConnackPacket ack_b;
  ASSERT_TRUE(b.connect(V5Client::connect_packet(""), &ack_b));
  ASSERT_TRUE(ack_b.properties.assigned_client_identifier.has_value());
  EXPECT_NE(*ack_a.properties.assigned_client_identifier,
            *ack_b.properties.assigned_client_identifier)
      << "two clients were assigned the same identifier";

  V5Client named(port());
  m::ConnackPacket ack_named;
  ASSERT_TRUE(named.connect(V5Client::connect_packet("named-client"), &ack_named));
  EXPECT_FALSE(ack_named.properties.assigned_client_identifier.has_value())
      << describe(ack_named.properties);

  // The assigned id is a working client id: both sessions are live and usable.
  EXPECT_TRUE(a.ping());
  EXPECT_TRUE(b.ping());
}

// The assigned identifier names the session: a second connection using it takes over the
// first (§3.1.4, MQTT-3.1.4-3).
TEST_F(V5ConnackTest, AssignedIdentifierIsTheSessionIdentifier) {
  V5Client a(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(a.connect(V5Client::connect_packet(""), &ack));
  ASSERT_TRUE(ack.properties.assigned_client_identifier.has_value());
  V5Client b(port());
  ASSERT_TRUE(b.connect(V5Client::connect_packet(*ack.properties.assigned_client_identifier)));
  EXPECT_TRUE(a.expect_disconnect(m::reason::kSessionTakenOver));
}

class V5ConnackLimitsTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override {
    return {"--receive-maximum", "10", "--max-packet-size", "4096", "--topic-alias-maximum", "7"};
  }
};

// §3.2.2.3.3 Receive Maximum, §3.2.2.3.6 Maximum Packet Size, §3.2.2.3.8 Topic Alias Maximum,
// and the feature flags §3.2.2.3.5/11/12/13.
TEST_F(V5ConnackLimitsTest, AdvertisesConfiguredLimits) {
  V5Client c(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(c.connect(V5Client::connect_packet("limits"), &ack));
  const m::Properties& p = ack.properties;
  EXPECT_EQ(p.receive_maximum, std::optional<uint16_t>(10)) << describe(p);
  EXPECT_EQ(p.maximum_packet_size, std::optional<uint32_t>(4096)) << describe(p);
  EXPECT_EQ(p.topic_alias_maximum, std::optional<uint16_t>(7)) << describe(p);
  // Absent means "available"; if present they must say 1 for what the broker supports.
  EXPECT_EQ(p.retain_available.value_or(1), 1);
  EXPECT_EQ(p.wildcard_subscription_available.value_or(1), 1);
  EXPECT_EQ(p.subscription_identifier_available.value_or(1), 1);
  EXPECT_EQ(p.shared_subscription_available.value_or(1), 1);
  EXPECT_FALSE(p.maximum_qos.has_value() && *p.maximum_qos < 2) << "QoS 2 is supported";
}

// Defaults: the broker's 1 MiB packet limit and 64 aliases are advertised too.
TEST_F(V5ConnackTest, AdvertisesDefaultLimits) {
  V5Client c(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(c.connect(V5Client::connect_packet("defaults"), &ack));
  EXPECT_EQ(ack.properties.maximum_packet_size, std::optional<uint32_t>(1024 * 1024))
      << describe(ack.properties);
  EXPECT_EQ(ack.properties.topic_alias_maximum, std::optional<uint16_t>(64));
  // Receive Maximum absent = 65535; if present it must be a real limit (1..65535).
  if (ack.properties.receive_maximum) {
    EXPECT_GT(*ack.properties.receive_maximum, 0);
  }
  // Nothing was overridden, so nothing is echoed (§3.2.2.3.2, §3.2.2.3.14).
  EXPECT_FALSE(ack.properties.session_expiry_interval.has_value());
  EXPECT_FALSE(ack.properties.server_keep_alive.has_value());
  EXPECT_FALSE(ack.session_present);
}

class V5ConnackKeepAliveTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--max-keep-alive", "5"}; }
};

// §3.2.2.3.14: with --max-keep-alive 5 a client asking for 60 s is told Server Keep Alive 5;
// one asking for 3 s keeps its value and gets no Server Keep Alive (MQTT-3.2.2-21 only
// obliges the client when the property is sent).
TEST_F(V5ConnackKeepAliveTest, ServerKeepAliveWhenClientAsksForMore) {
  V5Client high(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(high.connect(V5Client::connect_packet("ka-high", true, std::nullopt, 60), &ack));
  EXPECT_EQ(ack.properties.server_keep_alive, std::optional<uint16_t>(5))
      << describe(ack.properties);

  V5Client zero(port());
  m::ConnackPacket ack_zero;
  ASSERT_TRUE(zero.connect(V5Client::connect_packet("ka-zero", true, std::nullopt, 0), &ack_zero));
  EXPECT_EQ(ack_zero.properties.server_keep_alive, std::optional<uint16_t>(5))
      << "keep alive 0 (= none) exceeds the maximum too: " << describe(ack_zero.properties);

  V5Client low(port());
  m::ConnackPacket ack_low;
  ASSERT_TRUE(low.connect(V5Client::connect_packet("ka-low", true, std::nullopt, 3), &ack_low));
  EXPECT_TRUE(!ack_low.properties.server_keep_alive.has_value() ||
              *ack_low.properties.server_keep_alive == 3)
      << describe(ack_low.properties);
}

// The Server Keep Alive is enforced: a client told 1 s (asked for 60) that stays silent is
// disconnected with 0x8D after ~1.5 s, long before 60 s (MQTT-3.2.2-21, §3.1.2.10).
class V5ServerKeepAliveEnforcedTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--max-keep-alive", "1"}; }
};

TEST_F(V5ServerKeepAliveEnforcedTest, ServerKeepAliveIsEnforced) {
  V5Client c(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(c.connect(V5Client::connect_packet("ka-enforced", true, std::nullopt, 60), &ack));
  ASSERT_EQ(ack.properties.server_keep_alive, std::optional<uint16_t>(1));
  auto start = SteadyClock::now();
  EXPECT_TRUE(c.expect_disconnect(m::reason::kKeepAliveTimeout, milliseconds(5000)));
  EXPECT_GE(since(start).count(), 1000) << "disconnected before one keep-alive period";
}

// §3.2.2.3.15: Response Information only when Request Response Information = 1
// (MQTT-3.1.2-28: never when it is 0 or absent).
TEST_F(V5ConnackTest, ResponseInformationOnlyWhenRequested) {
  V5Client asks(port());
  m::ConnectPacket p = V5Client::connect_packet("rr-yes");
  p.properties.request_response_information = 1;
  m::ConnackPacket ack;
  ASSERT_TRUE(asks.connect(p, &ack));
  ASSERT_TRUE(ack.properties.response_information.has_value()) << describe(ack.properties);
  EXPECT_FALSE(ack.properties.response_information->empty());

  V5Client silent(port());
  m::ConnackPacket ack_silent;
  ASSERT_TRUE(silent.connect(V5Client::connect_packet("rr-no"), &ack_silent));
  EXPECT_FALSE(ack_silent.properties.response_information.has_value())
      << describe(ack_silent.properties);

  V5Client zero(port());
  m::ConnectPacket p0 = V5Client::connect_packet("rr-zero");
  p0.properties.request_response_information = 0;
  m::ConnackPacket ack_zero;
  ASSERT_TRUE(zero.connect(p0, &ack_zero));
  EXPECT_FALSE(ack_zero.properties.response_information.has_value());
}

class V5ConnackSessionCapTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--max-session-expiry", "10"}; }
};

// §3.2.2.3.2: a Session Expiry Interval in CONNACK tells the client the value the server uses
// instead of the requested one.
TEST_F(V5ConnackSessionCapTest, CapsSessionExpiryAndSaysSo) {
  V5Client big(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(big.connect(V5Client::connect_packet("cap-big", true, 3600), &ack));
  EXPECT_EQ(ack.properties.session_expiry_interval, std::optional<uint32_t>(10))
      << describe(ack.properties);

  V5Client forever(port());
  m::ConnackPacket ack_forever;
  ASSERT_TRUE(
      forever.connect(V5Client::connect_packet("cap-forever", true, 0xFFFFFFFF), &ack_forever));
  EXPECT_EQ(ack_forever.properties.session_expiry_interval, std::optional<uint32_t>(10));

  V5Client small(port());
  m::ConnackPacket ack_small;
  ASSERT_TRUE(small.connect(V5Client::connect_packet("cap-small", true, 5), &ack_small));
  EXPECT_TRUE(!ack_small.properties.session_expiry_interval.has_value() ||
              *ack_small.properties.session_expiry_interval == 5)
      << describe(ack_small.properties);
}

// Paho v5 sees the same CONNACK: assigned id and session expiry come through its API too.
TEST_F(V5ConnackSessionCapTest, PahoSeesCappedSessionExpiry) {
  PahoV5 client(port(), "paho-cap");
  PahoV5Options options;
  options.session_expiry = 3600;
  std::optional<::mqtt::connect_response> response;
  ASSERT_TRUE(client.connect(options, &response));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->get_mqtt_version(), MQTTVERSION_5);
  const auto& props = response->get_properties();
  ASSERT_TRUE(props.contains(::mqtt::property::SESSION_EXPIRY_INTERVAL));
  EXPECT_EQ(::mqtt::get<int32_t>(props, ::mqtt::property::SESSION_EXPIRY_INTERVAL), 10);
  ASSERT_TRUE(props.contains(::mqtt::property::MAXIMUM_PACKET_SIZE));
}

// §3.1.2.11.3 / §3.1.2.11.4: Receive Maximum 0 and Maximum Packet Size 0 are Protocol Errors;
// the server may answer CONNACK 0x82 (§4.13) and must close the connection.
TEST_F(V5ConnackTest, ZeroReceiveMaximumOrPacketSizeRefused) {
  for (int which = 0; which < 2; ++which) {
    V5Client c(port());
    m::ConnectPacket p = V5Client::connect_packet("zero-limit");
    if (which == 0) {
      p.properties.receive_maximum = 0;
    } else {
      p.properties.maximum_packet_size = 0;
    }
    m::ConnackPacket ack;
    EXPECT_TRUE(c.connect(p, &ack, m::reason::kProtocolError))
        << (which == 0 ? "receive maximum 0" : "maximum packet size 0");
    EXPECT_TRUE(c.raw().peer_closed() || c.raw().wait_closed(milliseconds(3000)));
  }
}

}  // namespace
}  // namespace topicdb::itest::v5

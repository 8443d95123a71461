// Client identifier rules (MQTT 3.1.1 §3.1.3.1).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class ClientIdTest : public BrokerTest {};

// MQTT-3.1.3-6/7: empty id + clean session 1 is accepted (an id is assigned).
TEST_F(ClientIdTest, EmptyIdWithCleanSessionIsAccepted) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "";
  spec.clean_session = true;
  bool session_present = true;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec, &session_present));
  EXPECT_FALSE(session_present);
  ASSERT_TRUE(raw.mqtt_subscribe(1, {{"anon/t", 1}}, {1}));
  ASSERT_TRUE(raw.send(publish_packet("anon/t", "self", 1, false, false, 2)));
  auto packet = raw.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "anonymous client does not receive its own message";
  EXPECT_EQ(parse_publish(*packet)->payload, "self");
}

// MQTT-3.1.3-8: empty id + clean session 0 => CONNACK 0x02 (identifier rejected), then close;
// MQTT-3.2.2-4: session present 0 with a non-zero return code.
TEST_F(ClientIdTest, EmptyIdWithoutCleanSessionIsRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.connect(port()));
  ConnectSpec spec;
  spec.client_id = "";
  spec.clean_session = false;
  ASSERT_TRUE(raw.send(connect_packet(spec)));
  auto packet = raw.recv_packet(milliseconds(3000));
  ASSERT_TRUE(packet) << "no CONNACK";
  EXPECT_EQ(packet->type(), kConnack) << describe(*packet);
  EXPECT_EQ(packet->body, (Bytes{0x00, 0x02})) << describe(*packet);
  EXPECT_TRUE(raw.wait_closed(milliseconds(3000))) << "connection not closed after CONNACK 2";
}

// Two anonymous clients get distinct ids: neither takes over the other.
TEST_F(ClientIdTest, TwoAnonymousClientsCoexist) {
  ConnectSpec spec;
  spec.client_id = "";
  RawClient a;
  RawClient b;
  ASSERT_TRUE(a.mqtt_connect(port(), spec));
  ASSERT_TRUE(b.mqtt_connect(port(), spec));
  ASSERT_TRUE(a.mqtt_subscribe(1, {{"anon/both", 0}}));
  ASSERT_TRUE(b.mqtt_subscribe(1, {{"anon/both", 0}}));
  EXPECT_TRUE(a.mqtt_ping()) << "first anonymous client was disconnected";
  EXPECT_TRUE(b.mqtt_ping());
  MosqClient pub(port(), "pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("anon/both", "hi", 0));
  EXPECT_TRUE(a.recv_packet_of_type(kPublish));
  EXPECT_TRUE(b.recv_packet_of_type(kPublish));
}

// MQTT-3.1.3-5: 1-23 bytes of [0-9a-zA-Z] must be accepted.
TEST_F(ClientIdTest, AlphanumericIdsUpTo23BytesAreAccepted) {
  for (const std::string id : {"a", "Z", "0123456789", "abcdefghijklmnopqrstuvw",
                               "ABCDEFGHIJKLMNOPQRSTUVW", "xyzXYZ01234567890000000"}) {
    RawClient raw;
    ConnectSpec spec;
    spec.client_id = id;
    spec.clean_session = false;
    EXPECT_TRUE(raw.mqtt_connect(port(), spec)) << "id '" << id << "'";
    EXPECT_TRUE(raw.send(disconnect_packet()));
  }
}

// Ids are compared byte-wise: "Case" and "case" are different clients.
TEST_F(ClientIdTest, IdsAreCaseSensitive) {
  ConnectSpec upper;
  upper.client_id = "Case";
  ConnectSpec lower;
  lower.client_id = "case";
  RawClient a;
  RawClient b;
  ASSERT_TRUE(a.mqtt_connect(port(), upper));
  ASSERT_TRUE(b.mqtt_connect(port(), lower));
  EXPECT_TRUE(a.mqtt_ping()) << "'case' took over 'Case'";
  EXPECT_TRUE(b.mqtt_ping());
}

// MQTT-3.2.2-2/3: session present = 0 for a new persistent session, 1 when it is resumed.
TEST_F(ClientIdTest, SessionPresentFlag) {
  ConnectSpec spec;
  spec.client_id = "sp";
  spec.clean_session = false;
  bool session_present = true;
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), spec, &session_present));
    EXPECT_FALSE(session_present) << "brand-new session reported as present";
    ASSERT_TRUE(raw.send(disconnect_packet()));
    EXPECT_TRUE(raw.wait_closed(milliseconds(3000)));
  }
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), spec, &session_present));
    EXPECT_TRUE(session_present) << "persistent session (no subscriptions) not resumed";
    ASSERT_TRUE(raw.send(disconnect_packet()));
    EXPECT_TRUE(raw.wait_closed(milliseconds(3000)));
  }
  {
    RawClient raw;
    spec.clean_session = true;
    ASSERT_TRUE(raw.mqtt_connect(port(), spec, &session_present));
    EXPECT_FALSE(session_present) << "MQTT-3.2.2-1: clean session 1 => session present 0";
  }
}

// A Paho client with an empty id and clean session 1 works end to end.
TEST_F(ClientIdTest, PahoWithEmptyIdAndCleanSession) {
  PahoClient client(port(), "");
  ASSERT_TRUE(client.connect());
  ASSERT_TRUE(client.subscribe("anon/paho", 1));
  ASSERT_TRUE(client.publish("anon/paho", "x", 1));
  auto msg = client.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "x");
}

}  // namespace
}  // namespace topicdb::itest

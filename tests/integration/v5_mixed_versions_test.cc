// MQTT 3.1.1 and MQTT 5 clients on one broker: messages flow both ways, and a 3.1.1 client
// never sees MQTT 5 properties (they do not exist in its protocol).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/mqtt_packets.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"
#include "tests/integration/v5_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::v5 {
namespace {

class V5MixedVersionsTest : public V5Test {};

// v5 publisher with properties -> raw v3.1.1 subscriber: the PUBLISH is a plain 3.1.1 PUBLISH
// (topic, packet id, payload; no property block leaking into the payload).
TEST_F(V5MixedVersionsTest, V311SubscriberGetsV5MessageWithoutProperties) {
  RawClient old_sub;
  ConnectSpec spec;
  spec.client_id = "v311-sub";
  ASSERT_TRUE(old_sub.mqtt_connect(port(), spec));
  ASSERT_TRUE(old_sub.mqtt_subscribe(1, {{"mix/down", 1}}, {1}));

  V5Client pub(port());
  ASSERT_TRUE(pub.connect("v5-pub"));
  m::Properties props;
  props.content_type = "text/plain";
  props.user_properties = {{"k", "v"}};
  props.message_expiry_interval = 60;
  props.correlation_data = "corr";
  ASSERT_TRUE(pub.publish("mix/down", "payload-v5", 1, props));

  auto packet = old_sub.recv_packet_of_type(kPublish, milliseconds(3000));
  ASSERT_TRUE(packet) << "3.1.1 subscriber got nothing";
  auto view = parse_publish(*packet);
  ASSERT_TRUE(view) << describe(*packet);
  EXPECT_EQ(view->topic, "mix/down");
  EXPECT_EQ(view->payload, "payload-v5") << "v5 properties leaked into the 3.1.1 PUBLISH";
  EXPECT_EQ(view->qos, 1);
  // Exact 3.1.1 layout: 2 + topic + 2 (packet id) + payload.
  EXPECT_EQ(packet->body.size(), 2 + 8 + 2 + 10u) << hex(packet->body);
  ASSERT_TRUE(old_sub.send(puback_packet(view->packet_id)));
}

// v3.1.1 publisher -> v5 subscriber: the message arrives with no properties invented.
TEST_F(V5MixedVersionsTest, V5SubscriberGetsV311Message) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("v5-sub"));
  ASSERT_TRUE(sub.subscribe("mix/up", 1));
  MosqClient old_pub(port(), "v311-pub");
  ASSERT_TRUE(old_pub.connect());
  ASSERT_TRUE(old_pub.publish("mix/up", "payload-v311", 1));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->topic, "mix/up");
  EXPECT_EQ(msg->payload, "payload-v311");
  EXPECT_EQ(msg->qos, 1);
  EXPECT_TRUE(msg->props.empty()) << describe(*msg);
}

// Both directions between a Paho 3.1.1 client and a Paho MQTT 5 client on one broker.
TEST_F(V5MixedVersionsTest, PahoV311AndV5ExchangeBothWays) {
  PahoClient old_client(port(), "paho-v311");
  ASSERT_TRUE(old_client.connect());
  ASSERT_TRUE(old_client.subscribe("mix/to-old", 1));
  PahoV5 new_client(port(), "paho-v5");
  ASSERT_TRUE(new_client.connect());
  ASSERT_TRUE(new_client.subscribe("mix/to-new", 1));

  auto to_old = ::mqtt::make_message("mix/to-old", "from v5", 1, false);
  to_old->set_properties(::mqtt::properties{{::mqtt::property::USER_PROPERTY, "a", "b"}});
  ASSERT_TRUE(new_client.publish(to_old));
  ASSERT_TRUE(old_client.publish("mix/to-new", "from v3.1.1", 1));

  auto at_old = old_client.receive();
  ASSERT_TRUE(at_old) << "3.1.1 client got nothing from the v5 client";
  EXPECT_EQ(at_old->get_payload_str(), "from v5");
  EXPECT_TRUE(at_old->get_properties().empty());
  auto at_new = new_client.receive();
  ASSERT_TRUE(at_new) << "v5 client got nothing from the 3.1.1 client";
  EXPECT_EQ(at_new->get_payload_str(), "from v3.1.1");
  EXPECT_EQ(at_new->get_properties().count(::mqtt::property::USER_PROPERTY), 0u);
}

// A retained message published under v5 (with properties) is sent to a later 3.1.1
// subscriber without them, and to a later v5 subscriber with them.
TEST_F(V5MixedVersionsTest, RetainedV5MessageForBothVersions) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("v5-ret-pub"));
  m::Properties props;
  props.user_properties = {{"origin", "v5"}};
  ASSERT_TRUE(pub.publish("mix/ret", "kept", 1, props, true));

  RawClient old_sub;
  ConnectSpec spec;
  spec.client_id = "v311-ret-sub";
  ASSERT_TRUE(old_sub.mqtt_connect(port(), spec));
  ASSERT_TRUE(old_sub.mqtt_subscribe(1, {{"mix/ret", 0}}, {0}));
  auto packet = old_sub.recv_packet_of_type(kPublish, milliseconds(3000));
  ASSERT_TRUE(packet);
  auto view = parse_publish(*packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->payload, "kept");
  EXPECT_TRUE(view->retain);

  V5Client new_sub(port());
  ASSERT_TRUE(new_sub.connect("v5-ret-sub"));
  ASSERT_TRUE(new_sub.subscribe("mix/ret", 0));
  auto msg = new_sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "kept");
  EXPECT_EQ(msg->props.user_properties, props.user_properties) << describe(*msg);
}

}  // namespace
}  // namespace topicdb::itest::v5

// In-flight messages of persistent sessions (MQTT-4.4.0-1): unacknowledged QoS 1/2 PUBLISHes
// are re-sent with DUP=1 and the original packet id on reconnect, PUBREL is re-sent for
// PUBREC'ed messages; --max-inflight and --max-queued-messages bound what is outstanding.
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

class InflightTest : public BrokerTest {
 protected:
  ConnectSpec durable(const std::string& id) {
    ConnectSpec spec;
    spec.client_id = id;
    spec.clean_session = false;
    return spec;
  }

  void publish(const std::string& topic, const std::vector<std::string>& payloads, int qos) {
    MosqClient pub(port(), "publisher");
    ASSERT_TRUE(pub.connect());
    for (const auto& p : payloads) ASSERT_TRUE(pub.publish(topic, p, qos));
    ASSERT_TRUE(pub.disconnect());
  }
};

TEST_F(InflightTest, UnackedQos1RedeliveredWithDupOnReconnect) {
  std::vector<uint16_t> ids;
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), durable("lazy")));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"inflight/q1", 1}}, {1}));
    ASSERT_NO_FATAL_FAILURE(publish("inflight/q1", {"a", "b", "c"}, 1));
    for (const char* expected : {"a", "b", "c"}) {
      auto packet = raw.recv_packet_of_type(kPublish);
      ASSERT_TRUE(packet) << "first delivery of " << expected;
      auto view = parse_publish(*packet);
      ASSERT_TRUE(view);
      EXPECT_EQ(view->payload, expected);
      EXPECT_FALSE(view->dup) << "first delivery must have DUP=0";
      ids.push_back(view->packet_id);
    }
    raw.close();  // no PUBACK
  }
  EXPECT_TRUE(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2])
      << "MQTT-2.3.1-2: in-flight messages need distinct packet ids";
  RawClient raw;
  bool session_present = false;
  ASSERT_TRUE(raw.mqtt_connect(port(), durable("lazy"), &session_present));
  EXPECT_TRUE(session_present);
  size_t index = 0;
  for (const char* expected : {"a", "b", "c"}) {
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet) << "no redelivery of " << expected;
    auto view = parse_publish(*packet);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->payload, expected) << "redelivery out of order";
    EXPECT_TRUE(view->dup) << "MQTT-3.3.1-1: redelivery must have DUP=1";
    EXPECT_EQ(view->packet_id, ids[index]) << "MQTT-4.4.0-1: original packet id expected";
    ++index;
    ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
  }
  EXPECT_FALSE(raw.recv_packet_of_type(kPublish, milliseconds(500)));
  ASSERT_TRUE(raw.mqtt_ping());  // the PUBACKs were processed before this PINGRESP
  raw.close();

  // Acknowledged messages are gone for good.
  RawClient again;
  ASSERT_TRUE(again.mqtt_connect(port(), durable("lazy")));
  auto extra = again.recv_packet_of_type(kPublish, milliseconds(700));
  EXPECT_FALSE(extra) << "acknowledged message redelivered: " << describe(*extra);
}

TEST_F(InflightTest, UnackedQos2PublishRedeliveredWithDup) {
  uint16_t id = 0;
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), durable("lazy2")));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"inflight/q2", 2}}, {2}));
    ASSERT_NO_FATAL_FAILURE(publish("inflight/q2", {"x"}, 2));
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet);
    id = parse_publish(*packet)->packet_id;
    raw.close();  // no PUBREC
  }
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), durable("lazy2")));
  auto packet = raw.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "QoS 2 PUBLISH without PUBREC not re-sent";
  auto view = parse_publish(*packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->payload, "x");
  EXPECT_EQ(view->qos, 2);
  EXPECT_TRUE(view->dup);
  EXPECT_EQ(view->packet_id, id);
  ASSERT_TRUE(raw.send(pubrec_packet(view->packet_id)));
  auto pubrel = raw.recv_packet(milliseconds(3000));
  ASSERT_TRUE(pubrel);
  EXPECT_EQ(pubrel->header, 0x62) << describe(*pubrel);
  EXPECT_EQ(pubrel->packet_id(), id);
  ASSERT_TRUE(raw.send(pubcomp_packet(id)));
}

// MQTT-4.4.0-1: after PUBREC, the broker re-sends PUBREL (not the PUBLISH) on reconnect.
TEST_F(InflightTest, PubrecedQos2MessageGetsPubrelOnReconnect) {
  uint16_t id = 0;
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), durable("half-done")));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"inflight/rel", 2}}, {2}));
    ASSERT_NO_FATAL_FAILURE(publish("inflight/rel", {"y"}, 2));
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet);
    id = parse_publish(*packet)->packet_id;
    ASSERT_TRUE(raw.send(pubrec_packet(id)));
    auto pubrel = raw.recv_packet(milliseconds(3000));
    ASSERT_TRUE(pubrel);
    EXPECT_EQ(pubrel->type(), kPubrel);
    raw.close();  // no PUBCOMP
  }
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), durable("half-done")));
  auto packet = raw.recv_packet(milliseconds(3000));
  ASSERT_TRUE(packet) << "PUBREL not re-sent after reconnect";
  EXPECT_EQ(packet->header, 0x62) << "expected PUBREL, got " << describe(*packet);
  EXPECT_EQ(packet->packet_id(), id);
  ASSERT_TRUE(raw.send(pubcomp_packet(id)));
  EXPECT_FALSE(raw.recv_packet_of_type(kPublish, milliseconds(500)))
      << "message re-sent after PUBREC: would be delivered twice";
}

// MQTT-4.6.0-1: on reconnect, unacknowledged messages are re-sent first, in their original
// order, before messages queued while the client was away.
TEST_F(InflightTest, RedeliveryPrecedesQueuedMessages) {
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), durable("ordered")));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"inflight/order", 1}}, {1}));
    ASSERT_NO_FATAL_FAILURE(publish("inflight/order", {"p0", "p1"}, 1));
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(raw.recv_packet_of_type(kPublish));
    raw.close();
  }
  ASSERT_NO_FATAL_FAILURE(publish("inflight/order", {"p2", "p3"}, 1));
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), durable("ordered")));
  std::vector<std::string> order;
  std::vector<bool> dups;
  for (int i = 0; i < 4; ++i) {
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet) << "only " << order.size() << " of 4 messages after reconnect";
    auto view = parse_publish(*packet);
    order.push_back(view->payload);
    dups.push_back(view->dup);
    ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"p0", "p1", "p2", "p3"}));
  EXPECT_EQ(dups, (std::vector<bool>{true, true, false, false}));
}

// --max-inflight N: at most N unacknowledged QoS 1 messages are outstanding; the rest follow
// as acknowledgements come in, in order.
class MaxInflightTest : public InflightTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--max-inflight", "2"}; }
};

TEST_F(MaxInflightTest, LimitsUnackedMessagesPerClient) {
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), durable("slow")));
  ASSERT_TRUE(raw.mqtt_subscribe(1, {{"inflight/max", 1}}, {1}));
  ASSERT_NO_FATAL_FAILURE(publish("inflight/max", {"0", "1", "2", "3", "4"}, 1));
  std::vector<PublishView> first;
  for (int i = 0; i < 2; ++i) {
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet);
    first.push_back(*parse_publish(*packet));
  }
  auto third = raw.recv_packet_of_type(kPublish, milliseconds(700));
  EXPECT_FALSE(third) << "more than --max-inflight 2 messages outstanding: " << describe(*third);
  std::vector<std::string> received = {first[0].payload, first[1].payload};
  ASSERT_TRUE(raw.send(puback_packet(first[0].packet_id)));
  ASSERT_TRUE(raw.send(puback_packet(first[1].packet_id)));
  if (third) received.push_back(parse_publish(*third)->payload);
  while (received.size() < 5) {
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet) << "only " << received.size() << " of 5 messages delivered";
    auto view = parse_publish(*packet);
    received.push_back(view->payload);
    ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
  }
  EXPECT_EQ(received, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

// --max-queued-messages N: an offline session queues at most N messages; publishers are not
// failed by the drop.
class MaxQueuedTest : public InflightTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--max-queued-messages", "3"}; }
};

TEST_F(MaxQueuedTest, BoundsOfflineQueue) {
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), durable("offline")));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"queue/t", 1}}, {1}));
    ASSERT_TRUE(raw.send(disconnect_packet()));
  }
  std::vector<std::string> payloads;
  for (int i = 0; i < 10; ++i) payloads.push_back(std::to_string(i));
  ASSERT_NO_FATAL_FAILURE(publish("queue/t", payloads, 1));

  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), durable("offline")));
  std::vector<std::string> received;
  while (received.size() < 10) {
    auto packet = raw.recv_packet_of_type(kPublish, milliseconds(1000));
    if (!packet) break;
    auto view = parse_publish(*packet);
    received.push_back(view->payload);
    ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
  }
  EXPECT_GE(received.size(), 1u) << "nothing queued at all";
  EXPECT_LE(received.size(), 3u) << "--max-queued-messages 3 exceeded: " << received.size()
                                 << " messages queued";
}

}  // namespace
}  // namespace topicdb::itest

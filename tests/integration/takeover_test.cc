// Client id takeover (MQTT-3.1.4-2): a second connection with the same client id
// disconnects the first; a persistent session (clean session 0) carries over.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class TakeoverTest : public BrokerTest {};

TEST_F(TakeoverTest, SecondConnectionDisconnectsFirst) {
  ConnectSpec spec;
  spec.client_id = "same-id";
  RawClient first;
  ASSERT_TRUE(first.mqtt_connect(port(), spec));
  ASSERT_TRUE(first.mqtt_ping());
  RawClient second;
  ASSERT_TRUE(second.mqtt_connect(port(), spec));
  EXPECT_TRUE(first.wait_closed(milliseconds(3000))) << "first connection not closed";
  EXPECT_TRUE(second.mqtt_ping()) << "the new connection must keep working";
}

TEST_F(TakeoverTest, PahoClientIsDisconnectedByTakeover) {
  PahoClient first(port(), "paho-same");
  ASSERT_TRUE(first.connect());
  MosqClient second(port(), "paho-same");
  ASSERT_TRUE(second.connect());
  EXPECT_TRUE(first.wait_disconnected(milliseconds(3000)));
  ASSERT_TRUE(second.subscribe("takeover/echo", 1));
  ASSERT_TRUE(second.publish("takeover/echo", "still here", 1));
  auto msg = second.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "still here");
}

// Clean session 0 on both connections: session present = 1 (MQTT-3.2.2-2) and the
// subscription keeps delivering to the new connection without re-subscribing.
TEST_F(TakeoverTest, PersistentSessionContinuesOnNewConnection) {
  ConnectSpec spec;
  spec.client_id = "persist-take";
  spec.clean_session = false;
  RawClient first;
  ASSERT_TRUE(first.mqtt_connect(port(), spec));
  ASSERT_TRUE(first.mqtt_subscribe(1, {{"take/t", 1}}, {1}));

  RawClient second;
  bool session_present = false;
  ASSERT_TRUE(second.mqtt_connect(port(), spec, &session_present));
  EXPECT_TRUE(session_present) << "session present must be 1 when the session is resumed";
  EXPECT_TRUE(first.wait_closed(milliseconds(3000)));

  MosqClient pub(port(), "take-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("take/t", "after takeover", 1));
  auto packet = second.recv_packet_of_type(kPublish, milliseconds(3000));
  ASSERT_TRUE(packet) << "subscription did not carry over to the new connection";
  auto view = parse_publish(*packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->topic, "take/t");
  EXPECT_EQ(view->payload, "after takeover");
  EXPECT_EQ(view->qos, 1);
  ASSERT_TRUE(second.send(puback_packet(view->packet_id)));
}

// Takeover with clean session 1 discards the old session (MQTT-3.1.2-6, MQTT-3.2.2-1).
TEST_F(TakeoverTest, CleanSessionTakeoverDiscardsSession) {
  ConnectSpec spec;
  spec.client_id = "clean-take";
  spec.clean_session = false;
  RawClient first;
  ASSERT_TRUE(first.mqtt_connect(port(), spec));
  ASSERT_TRUE(first.mqtt_subscribe(1, {{"take/clean", 1}}, {1}));

  spec.clean_session = true;
  RawClient second;
  bool session_present = true;
  ASSERT_TRUE(second.mqtt_connect(port(), spec, &session_present));
  EXPECT_FALSE(session_present);
  EXPECT_TRUE(first.wait_closed(milliseconds(3000)));

  MosqClient pub(port(), "take-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("take/clean", "nobody", 1));
  auto packet = second.recv_packet_of_type(kPublish, milliseconds(700));
  EXPECT_FALSE(packet) << "old subscription survived a clean-session takeover: "
                       << describe(*packet);
}

// Several takeovers in a row: every previous connection is closed, the last one works.
TEST_F(TakeoverTest, RepeatedTakeovers) {
  ConnectSpec spec;
  spec.client_id = "flappy";
  spec.clean_session = false;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<RawClient>());
    ASSERT_TRUE(clients.back()->mqtt_connect(port(), spec)) << "round " << i;
    if (i == 0) {
      ASSERT_TRUE(clients.back()->mqtt_subscribe(1, {{"flap", 1}}, {1}));
    }
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(clients[i]->wait_closed(milliseconds(3000))) << "connection " << i << " open";
  }
  ASSERT_TRUE(clients.back()->mqtt_ping());
  MosqClient pub(port(), "flap-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("flap", "last", 1));
  auto packet = clients.back()->recv_packet_of_type(kPublish, milliseconds(3000));
  ASSERT_TRUE(packet);
  EXPECT_EQ(parse_publish(*packet)->payload, "last");
}

}  // namespace
}  // namespace topicdb::itest

// QoS 1/2 protocol flows on a raw socket (MQTT 3.1.1 §4.3): PUBACK, PUBREC/PUBREL/PUBCOMP,
// exactly-once delivery of a duplicated QoS 2 PUBLISH.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class Qos2Test : public BrokerTest {
 protected:
  void SetUp() override {
    BrokerTest::SetUp();
    if (HasFatalFailure()) return;
    sub_ = std::make_unique<PahoClient>(port(), "q2-sub");
    ASSERT_TRUE(sub_->connect());
    ASSERT_TRUE(sub_->subscribe("q2/#", 2));
    ConnectSpec spec;
    spec.client_id = "raw-pub";
    ASSERT_TRUE(raw_.mqtt_connect(port(), spec));
  }

  // Expects the next packet to be `type` with packet id `id` and the given flags.
  ::testing::AssertionResult expect_ack(uint8_t type, uint16_t id, uint8_t flags = 0) {
    auto packet = raw_.recv_packet(milliseconds(3000));
    if (!packet) {
      return ::testing::AssertionFailure()
             << "no reply" << (raw_.peer_closed() ? " (connection closed)" : "");
    }
    if (packet->type() != type || packet->packet_id() != id || packet->flags() != flags ||
        packet->body.size() != 2) {
      Packet expected;
      expected.header = static_cast<uint8_t>((type << 4) | flags);
      expected.body = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id & 0xFF)};
      return ::testing::AssertionFailure()
             << "expected " << describe(expected) << ", got " << describe(*packet);
    }
    return ::testing::AssertionSuccess();
  }

  RawClient raw_;
  std::unique_ptr<PahoClient> sub_;
};

// MQTT-4.3.2-2: QoS 1 PUBLISH => PUBACK with the same packet id.
TEST_F(Qos2Test, Qos1PublishGetsPuback) {
  ASSERT_TRUE(raw_.send(publish_packet("q2/one", "q1", 1, false, false, 0x1234)));
  ASSERT_TRUE(expect_ack(kPuback, 0x1234));
  auto msg = sub_->receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "q1");
  EXPECT_EQ(msg->get_qos(), 1);
}

// MQTT-4.3.3-2: PUBLISH => PUBREC; PUBREL (flags 0x2) => PUBCOMP; both with the same id.
TEST_F(Qos2Test, InboundFlowPubrecPubrelPubcomp) {
  ASSERT_TRUE(raw_.send(publish_packet("q2/flow", "exactly once", 2, false, false, 10)));
  ASSERT_TRUE(expect_ack(kPubrec, 10));
  ASSERT_TRUE(raw_.send(pubrel_packet(10)));
  ASSERT_TRUE(expect_ack(kPubcomp, 10));
  auto msg = sub_->receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "exactly once");
  EXPECT_EQ(msg->get_qos(), 2);
  EXPECT_TRUE(sub_->expect_no_message(milliseconds(300)));
}

// §4.3.3: a retransmitted PUBLISH (DUP=1, same id) before PUBREL is acknowledged again but
// delivered only once.
TEST_F(Qos2Test, DuplicatePublishBeforePubrelDeliveredOnce) {
  ASSERT_TRUE(raw_.send(publish_packet("q2/dup", "once", 2, false, false, 7)));
  ASSERT_TRUE(expect_ack(kPubrec, 7));
  ASSERT_TRUE(raw_.send(publish_packet("q2/dup", "once", 2, false, /*dup=*/true, 7)));
  ASSERT_TRUE(expect_ack(kPubrec, 7));
  ASSERT_TRUE(raw_.send(publish_packet("q2/dup", "once", 2, false, /*dup=*/true, 7)));
  ASSERT_TRUE(expect_ack(kPubrec, 7));
  ASSERT_TRUE(raw_.send(pubrel_packet(7)));
  ASSERT_TRUE(expect_ack(kPubcomp, 7));
  auto msg = sub_->receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "once");
  EXPECT_TRUE(sub_->expect_no_message(milliseconds(700))) << "QoS 2 message delivered twice";
}

// After PUBCOMP the packet id is free again: the same id starts a new message.
TEST_F(Qos2Test, PacketIdReusableAfterPubcomp) {
  for (const std::string payload : {"first", "second"}) {
    ASSERT_TRUE(raw_.send(publish_packet("q2/reuse", payload, 2, false, false, 5)));
    ASSERT_TRUE(expect_ack(kPubrec, 5));
    ASSERT_TRUE(raw_.send(pubrel_packet(5)));
    ASSERT_TRUE(expect_ack(kPubcomp, 5));
  }
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub_->receive_n(2, &got));
  EXPECT_EQ(got[0]->get_payload_str(), "first");
  EXPECT_EQ(got[1]->get_payload_str(), "second");
}

// Several QoS 2 flows interleaved, released in reverse order.
TEST_F(Qos2Test, InterleavedFlowsReleasedOutOfOrder) {
  for (uint16_t id = 1; id <= 5; ++id) {
    ASSERT_TRUE(
        raw_.send(publish_packet("q2/many", "m" + std::to_string(id), 2, false, false, id)));
    ASSERT_TRUE(expect_ack(kPubrec, id));
  }
  for (uint16_t id = 5; id >= 1; --id) {
    ASSERT_TRUE(raw_.send(pubrel_packet(id)));
    ASSERT_TRUE(expect_ack(kPubcomp, id));
  }
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub_->receive_n(5, &got));
  std::set<std::string> payloads;
  for (const auto& m : got) payloads.insert(m->get_payload_str());
  EXPECT_EQ(payloads, (std::set<std::string>{"m1", "m2", "m3", "m4", "m5"}));
  EXPECT_TRUE(sub_->expect_no_message(milliseconds(300)));
}

// MQTT-4.3.3-2: the receiver answers every PUBREL with PUBCOMP, also for an unknown id.
TEST_F(Qos2Test, PubrelForUnknownIdGetsPubcomp) {
  ASSERT_TRUE(raw_.send(pubrel_packet(99)));
  ASSERT_TRUE(expect_ack(kPubcomp, 99));
  EXPECT_TRUE(raw_.mqtt_ping()) << "connection must stay usable";
  EXPECT_TRUE(sub_->expect_no_message(milliseconds(300)));
}

// Outbound QoS 2 to a raw subscriber: PUBLISH -> PUBREC -> PUBREL (flags 0x2) -> PUBCOMP.
TEST_F(Qos2Test, OutboundFlowToRawSubscriber) {
  RawClient rsub;
  ConnectSpec spec;
  spec.client_id = "raw-sub";
  ASSERT_TRUE(rsub.mqtt_connect(port(), spec));
  ASSERT_TRUE(rsub.mqtt_subscribe(1, {{"q2/out", 2}}, {2}));
  MosqClient pub(port(), "paho-pub");
  ASSERT_TRUE(pub.connect());
  for (const std::string payload : {"a", "b"}) {
    ASSERT_TRUE(pub.publish("q2/out", payload, 2));
    auto packet = rsub.recv_packet(milliseconds(3000));
    ASSERT_TRUE(packet) << "no PUBLISH for " << payload;
    auto view = parse_publish(*packet);
    ASSERT_TRUE(view) << describe(*packet);
    EXPECT_EQ(view->payload, payload);
    EXPECT_EQ(view->qos, 2);
    EXPECT_FALSE(view->dup);
    EXPECT_NE(view->packet_id, 0) << "MQTT-2.3.1-1: QoS > 0 needs a non-zero packet id";
    ASSERT_TRUE(rsub.send(pubrec_packet(view->packet_id)));
    auto pubrel = rsub.recv_packet(milliseconds(3000));
    ASSERT_TRUE(pubrel) << "no PUBREL after PUBREC";
    EXPECT_EQ(pubrel->type(), kPubrel) << describe(*pubrel);
    EXPECT_EQ(pubrel->flags(), 0x2) << "MQTT-3.6.1-1: PUBREL flags must be 0010";
    EXPECT_EQ(pubrel->packet_id(), view->packet_id);
    ASSERT_TRUE(rsub.send(pubcomp_packet(view->packet_id)));
  }
  EXPECT_TRUE(rsub.mqtt_ping());
}

}  // namespace
}  // namespace topicdb::itest

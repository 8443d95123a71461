// What a client sends before the broker has accepted its connection: the broker reads it
// right at accept time (Connection::read_now), so everything that arrived with the CONNECT
// must be handled in order, and clients that leave before saying anything must cost nothing.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mqtt_packets.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class AcceptTest : public BrokerTest {};

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes all;
  for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// CONNECT, SUBSCRIBE, a QoS 1 PUBLISH to the new subscription and PINGREQ in one segment,
// sent the moment TCP connects: every packet is answered, the CONNACK first.
TEST_F(AcceptTest, PacketsPipelinedWithConnectAreAllHandled) {
  RawClient raw;
  ASSERT_TRUE(raw.connect(port()));
  ConnectSpec spec;
  spec.client_id = "pipelined";
  ASSERT_TRUE(raw.send(
      concat({connect_packet(spec), subscribe_packet(1, {{"accept/t", 1}}),
              publish_packet("accept/t", "hello", 1, false, false, 7), pingreq_packet()})));
  auto first = raw.recv_packet();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type(), 2) << "the first reply must be the CONNACK";
  ASSERT_GE(first->body.size(), 2u);
  EXPECT_EQ(first->body[1], 0) << "CONNACK return code";

  auto suback = raw.recv_packet_of_type(9);
  ASSERT_TRUE(suback) << "no SUBACK";
  EXPECT_EQ(suback->packet_id(), 1);
  auto puback = raw.recv_packet_of_type(4);
  ASSERT_TRUE(puback) << "no PUBACK";
  EXPECT_EQ(puback->packet_id(), 7);
  // The PUBLISH back to the subscriber may come before or after the PUBACK.
  bool delivered = false;
  for (const Packet& p : raw.skipped()) {
    auto view = parse_publish(p);
    if (p.type() == 3 && view && view->payload == "hello") delivered = true;
  }
  if (!delivered) {
    auto publish = raw.recv_packet_of_type(3);
    ASSERT_TRUE(publish) << "the pipelined PUBLISH was not delivered to the new subscription";
    auto view = parse_publish(*publish);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->payload, "hello");
    if (view->qos == 1) {
      ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
    }
  }
  EXPECT_TRUE(raw.recv_packet_of_type(13)) << "no PINGRESP";
}

// A first packet that is not CONNECT, already in the socket at accept time, is refused the
// same way as one arriving later: the connection is closed without a reply.
TEST_F(AcceptTest, NonConnectFirstPacketAtAcceptIsRefused) {
  RawClient raw;
  ASSERT_TRUE(raw.connect(port()));
  ASSERT_TRUE(raw.send(pingreq_packet()));
  EXPECT_TRUE(raw.wait_closed(milliseconds(3000)));
  EXPECT_TRUE(raw.skipped().empty());
}

// 200 clients connect and leave at once, half with a FIN and half with a reset, some with a
// partial CONNECT: the broker stays up and keeps serving.
TEST_F(AcceptTest, ClientsLeavingBeforeConnectCostNothing) {
  ConnectSpec spec;
  spec.client_id = "half";
  const Bytes connect = connect_packet(spec);
  const Bytes half(connect.begin(), connect.begin() + static_cast<long>(connect.size() / 2));
  for (int i = 0; i < 200; ++i) {
    RawClient raw;
    ASSERT_TRUE(raw.connect(port()));
    if (i % 3 == 0) {
      ASSERT_TRUE(raw.send(half));
    }
    if (i % 2 == 0) raw.abort_with_reset();
    raw.close();
  }
  EXPECT_TRUE(broker_.running());
  PahoClient client(port(), "after-the-crowd");
  ASSERT_TRUE(client.connect());
  ASSERT_TRUE(client.subscribe("accept/after", 1));
  ASSERT_TRUE(client.publish("accept/after", "ok", 1));
  auto msg = client.receive(milliseconds(3000));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->to_string(), "ok");
}

}  // namespace
}  // namespace topicdb::itest

// A reason code reaches a client that is still sending: after a server DISCONNECT the broker
// stops processing the client's packets, shuts down its write side and reads and discards
// for a bounded time, so the client reads the DISCONNECT instead of dying on a reset (the
// Eclipse Paho MQTT 5 interoperability test for Receive Maximum sends 1,025 QoS 2 PUBLISHes
// in a row before reading anything).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5LingerTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override {
    return {"--receive-maximum", "10", "--max-packet-size", "1024"};
  }
};

std::string qos2_publish(uint16_t packet_id, size_t payload_size = 1) {
  m::PublishPacket p;
  p.topic = "linger/t";
  std::string payload(payload_size, 'x');
  p.payload = payload;
  p.qos = 2;
  p.packet_id = packet_id;
  return encoded(p);
}

// Keeps writing for `duration` (a client that has not noticed anything yet); fails when a
// write fails, i.e. the broker closed the socket under a client still sending.
::testing::AssertionResult keep_sending(V5Client& client, const std::string& packet,
                                        milliseconds duration) {
  const auto end = SteadyClock::now() + duration;
  while (SteadyClock::now() < end) {
    if (auto r = client.send_bytes(packet); !r) return r << " while the client still sent";
    std::this_thread::sleep_for(milliseconds(20));  // a steady writer, not a condition
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult finds_disconnect(V5Client& client, uint8_t reason) {
  auto r = client.recv_type(m::PacketType::kDisconnect, milliseconds(3000));
  if (!r) {
    return ::testing::AssertionFailure()
           << "no DISCONNECT" << (client.raw().peer_closed() ? " (connection closed)" : "");
  }
  const auto* d = r->get<m::DisconnectPacket>();
  if (d == nullptr || d->reason_code != reason) {
    return ::testing::AssertionFailure()
           << "expected " << reason_hex(reason) << ", got " << describe(*r);
  }
  return ::testing::AssertionSuccess();
}

// Like the Paho test: 1,025 QoS 2 PUBLISHes (Receive Maximum 10) in one burst without
// reading, more after that, and only then reading: DISCONNECT 0x93 is there.
TEST_F(V5LingerTest, ClientStillSendingAfterReceiveMaximumExceededReadsTheDisconnect) {
  V5Client client(port());
  ASSERT_TRUE(client.connect("linger-rm"));
  std::string burst;
  for (uint16_t id = 1; id <= 1025; ++id) burst += qos2_publish(id);
  ASSERT_TRUE(client.send_bytes(burst));
  EXPECT_TRUE(keep_sending(client, qos2_publish(2000), milliseconds(400)));
  EXPECT_TRUE(finds_disconnect(client, m::reason::kReceiveMaximumExceeded));
  EXPECT_TRUE(client.raw().peer_closed() || client.raw().wait_closed(milliseconds(3000)));
}

// The same for 0x95: PUBLISHes over the broker's Maximum Packet Size (1024), one after the
// other, before reading.
TEST_F(V5LingerTest, ClientStillSendingAfterPacketTooLargeReadsTheDisconnect) {
  V5Client client(port());
  ASSERT_TRUE(client.connect("linger-big"));
  const std::string big = qos2_publish(1, 4000);
  ASSERT_TRUE(client.send_bytes(big));
  EXPECT_TRUE(keep_sending(client, big, milliseconds(400)));
  EXPECT_TRUE(finds_disconnect(client, m::reason::kPacketTooLarge));
}

// The linger is bounded: a client that neither closes nor stops sending is cut after about
// two seconds (BrokerOptions::close_linger_ms, checked by the sweep).
TEST_F(V5LingerTest, LingerEndsAfterABoundedTime) {
  V5Client client(port());
  ASSERT_TRUE(client.connect("linger-bounded"));
  const auto start = SteadyClock::now();
  ASSERT_TRUE(client.send_bytes(qos2_publish(1, 4000)));
  bool cut = false;
  while (!cut && SteadyClock::now() - start < std::chrono::seconds(6)) {
    cut = !client.send_bytes(qos2_publish(2));
    std::this_thread::sleep_for(milliseconds(50));  // a steady writer, not a condition
  }
  EXPECT_TRUE(cut) << "the broker kept the lingering connection open for 6 s";
  EXPECT_GE(SteadyClock::now() - start, milliseconds(1500)) << "cut before the linger time";
}

// Broker shutdown does not wait for lingering connections.
TEST_F(V5LingerTest, ShutdownDoesNotWaitForALinger) {
  V5Client client(port());
  ASSERT_TRUE(client.connect("linger-shutdown"));
  ASSERT_TRUE(client.send_bytes(qos2_publish(1, 4000)));
  ASSERT_TRUE(finds_disconnect(client, m::reason::kPacketTooLarge));
  const auto start = SteadyClock::now();
  ASSERT_TRUE(broker_.stop(milliseconds(10000), SIGTERM));
  EXPECT_LT(SteadyClock::now() - start, milliseconds(1500)) << "shutdown waited for the linger";
}

}  // namespace
}  // namespace topicdb::itest::v5

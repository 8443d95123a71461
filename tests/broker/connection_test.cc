// Connection framing and lifecycle over a MemoryStream, with a fake owner: no sockets, no
// Broker.
#include "broker/connection.h"
#include "base/manual_clock.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "net/memory_stream.h"

namespace topicdb::broker {
namespace {

struct Received {
  mqtt::PacketType type;
  std::string body;
};

// Plays the Broker's part: records what the connection reports and, like the Broker, closes
// on a malformed stream and destroys the connection once it is released.
class FakeOwner final : public ConnectionOwner {
 public:
  void on_packet(Connection& c, const mqtt::FrameHeader& header, std::string_view body) override {
    packets.push_back({header.type(), std::string(body)});
    if (header.type() == mqtt::PacketType::kConnect) c.set_connected(0);  // as if accepted
    if (header.type() == mqtt::PacketType::kPingreq && linger_on_ping) {
      c.send("reason");  // like a server DISCONNECT
      c.close_lingering();
    }
  }
  void on_malformed(Connection& c, const Status& status) override {
    malformed.push_back(status);
    c.close(false);
  }
  void on_connection_closing(Connection&) override { ++closing; }
  void release_connection(Connection* c) override {
    ASSERT_EQ(c, connection.get());
    connection.reset();
  }
  void schedule_flush(Connection*) override { ++flushes_scheduled; }
  void on_connection_drained(Connection&) override { ++drained; }
  void count_bytes_received(const Connection&, uint64_t n) override { bytes_received += n; }
  void count_bytes_sent(const Connection&, uint64_t n) override { bytes_sent += n; }
  Clock& clock() const override { return clock_; }
  uint32_t max_packet_size() const override { return max_packet; }

  std::unique_ptr<Connection> connection;
  std::vector<Received> packets;
  std::vector<Status> malformed;
  int closing = 0;
  int flushes_scheduled = 0;
  int drained = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint32_t max_packet = 1024;
  bool linger_on_ping = false;
  mutable ManualClock clock_;
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() {
    auto stream = std::make_unique<net::MemoryStream>(&buffers_);
    stream_ = stream.get();
    owner_.connection =
        std::make_unique<Connection>(&owner_, 7, owner_.clock_.now_ms(), std::move(stream));
    connection().start();
  }
  Connection& connection() { return *owner_.connection; }

  net::LoopBuffers buffers_;
  FakeOwner owner_;
  net::MemoryStream* stream_;  // owned by the connection
};

const std::string kConnect = std::string("\x10\x05", 2) + "hello";
const std::string kPingreq("\xC0\x00", 2);
std::string publish(const std::string& body) {
  return std::string(1, '\x30') + static_cast<char>(body.size()) + body;
}

TEST_F(ConnectionTest, PacketSplitAcrossReadsIsDispatchedOnceWhole) {
  for (char byte : kConnect + kPingreq) stream_->push(std::string(1, byte));
  ASSERT_EQ(owner_.packets.size(), 2u);
  EXPECT_EQ(owner_.packets[0].type, mqtt::PacketType::kConnect);
  EXPECT_EQ(owner_.packets[0].body, "hello");
  EXPECT_EQ(owner_.packets[1].type, mqtt::PacketType::kPingreq);
  EXPECT_EQ(owner_.bytes_received, kConnect.size() + kPingreq.size());
}

// A packet far longer than one read arrives in pieces (a held partial over 4 KiB grows in
// place), with short packets cut by the read boundaries before and after it.
TEST_F(ConnectionTest, LongPacketInPiecesBetweenShortOnesIsDispatchedInOrder) {
  owner_.max_packet = 64 * 1024;
  connection().set_connected(0);
  std::string long_body(20'000, 'x');
  long_body.front() = 'a';
  long_body.back() = 'z';
  // Remaining length 20,000 as an MQTT variable byte integer: 0xA0 0x9C 0x01.
  std::string long_packet = std::string("\x30\xA0\x9C\x01", 4) + long_body;
  std::string bytes = publish("first") + long_packet + publish("last") + kPingreq;
  for (size_t at = 0; at < bytes.size(); at += 1'000) stream_->push(bytes.substr(at, 1'000));
  ASSERT_EQ(owner_.packets.size(), 4u);
  EXPECT_EQ(owner_.packets[0].body, "first");
  EXPECT_EQ(owner_.packets[1].body, long_body);
  EXPECT_EQ(owner_.packets[2].body, "last");
  EXPECT_EQ(owner_.packets[3].type, mqtt::PacketType::kPingreq);
  EXPECT_TRUE(owner_.malformed.empty());
}

TEST_F(ConnectionTest, SeveralPacketsInOneReadAreAllDispatched) {
  connection().set_connected(0);
  stream_->push(publish("a") + kPingreq + publish("bc"));
  ASSERT_EQ(owner_.packets.size(), 3u);
  EXPECT_EQ(owner_.packets[0].body, "a");
  EXPECT_EQ(owner_.packets[2].body, "bc");
}

TEST_F(ConnectionTest, FirstPacketNotConnectIsRefusedFromItsFirstByte) {
  stream_->push("G");  // "GET / HTTP/1.1": never waits for a body length
  EXPECT_TRUE(owner_.packets.empty());
  ASSERT_EQ(owner_.malformed.size(), 1u);
  EXPECT_EQ(owner_.malformed[0].code(), Status::Code::kProtocolError);
  EXPECT_EQ(owner_.closing, 1);
  EXPECT_TRUE(stream_->closed());
}

TEST_F(ConnectionTest, OversizedPacketIsRefusedFromTheFixedHeader) {
  owner_.max_packet = 100;
  // A CONNECT announcing 200 bytes: refused before any of the body arrives.
  stream_->push(std::string("\x10\xC8\x01", 3));
  EXPECT_TRUE(owner_.packets.empty());
  ASSERT_EQ(owner_.malformed.size(), 1u);
  EXPECT_EQ(owner_.malformed[0].code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(stream_->closing());
}

TEST_F(ConnectionTest, WritesOfOneTurnLeaveInOneGatheredWrite) {
  connection().send("ab");
  connection().send_shared(std::make_shared<const std::string>("SHARED"));
  connection().send("cd");
  EXPECT_EQ(owner_.flushes_scheduled, 1);  // one flush per turn, however many sends
  EXPECT_EQ(connection().queued_bytes(), 10u);
  connection().flush();
  EXPECT_EQ(stream_->write_count(), 1u);
  EXPECT_EQ(stream_->take_written(), "abSHAREDcd");
  EXPECT_EQ(owner_.bytes_sent, 10u);
  EXPECT_EQ(owner_.drained, 1);
  connection().send("e");
  EXPECT_EQ(owner_.flushes_scheduled, 2);
}

TEST_F(ConnectionTest, CloseWithFlushWritesQueuedBytesThenReleases) {
  connection().send("bye");
  connection().close(true);
  EXPECT_EQ(owner_.closing, 1);
  EXPECT_EQ(connection().state(), Connection::State::kClosing);
  connection().send("ignored");  // nothing is queued once closing
  connection().close(true);      // and closing twice is reported once
  EXPECT_EQ(owner_.closing, 1);
  EXPECT_EQ(stream_->written(), "bye");
  ASSERT_TRUE(stream_->closed());
  stream_->finish_close();
  EXPECT_EQ(owner_.connection, nullptr);
}

TEST_F(ConnectionTest, PeerEofClosesTheConnection) {
  stream_->push(kConnect);
  stream_->push_eof();
  EXPECT_EQ(owner_.packets.size(), 1u);
  EXPECT_EQ(owner_.closing, 1);
  EXPECT_TRUE(stream_->closed());
}

TEST_F(ConnectionTest, HeldPublishesWaitButAcksAndPingsGoThrough) {
  connection().set_connected(0);
  connection().hold_publishes();
  stream_->push(publish("p1") + kPingreq + std::string("\x40\x02\x00\x01", 4) + publish("p2"));
  ASSERT_EQ(owner_.packets.size(), 2u);
  EXPECT_EQ(owner_.packets[0].type, mqtt::PacketType::kPingreq);
  EXPECT_EQ(owner_.packets[1].type, mqtt::PacketType::kPuback);
  connection().release_publishes();
  ASSERT_EQ(owner_.packets.size(), 4u);
  EXPECT_EQ(owner_.packets[2].body, "p1");
  EXPECT_EQ(owner_.packets[3].body, "p2");
}

TEST_F(ConnectionTest, ReadingStopsPastTheHeldLimitAndResumesOnRelease) {
  connection().set_connected(0);
  connection().hold_publishes();
  const std::string one = publish(std::string(100, 'x'));
  std::string many;
  while (many.size() <= Connection::kMaxHeldBytes + one.size()) many += one;
  stream_->push(many);
  EXPECT_TRUE(connection().reading_stopped());
  EXPECT_FALSE(stream_->reading());
  size_t held_packets = owner_.packets.size();
  EXPECT_EQ(held_packets, 0u);
  connection().release_publishes();
  EXPECT_FALSE(connection().reading_stopped());
  EXPECT_TRUE(stream_->reading());
  stream_->deliver_pending();  // what waited in the "socket" comes now
  EXPECT_EQ(owner_.packets.size(), many.size() / one.size());
}

TEST_F(ConnectionTest, PeerEofProcessesHeldPackets) {
  connection().set_connected(0);
  connection().hold_publishes();
  stream_->push(publish("p1"));
  EXPECT_TRUE(owner_.packets.empty());
  stream_->push_eof();
  ASSERT_EQ(owner_.packets.size(), 1u);
  EXPECT_EQ(owner_.packets[0].body, "p1");
  EXPECT_EQ(owner_.closing, 1);
}

}  // namespace
}  // namespace topicdb::broker

namespace topicdb::broker {
namespace {

// After a reason is sent, nothing more the client sends is processed (not even the rest of
// the same read), the reason is written, the write side is shut and input is discarded
// until the peer closes; only then is the connection released.
TEST_F(ConnectionTest, CloseLingeringStopsProcessingAndDrainsUntilPeerCloses) {
  owner_.linger_on_ping = true;
  stream_->push(kConnect);
  connection().flush();
  stream_->push(kPingreq + kPingreq + std::string("\x30\x7f", 2));  // and half a PUBLISH
  EXPECT_EQ(owner_.packets.size(), 2u) << "packets after the linger began were processed";
  EXPECT_EQ(owner_.closing, 1);
  EXPECT_EQ(connection().state(), Connection::State::kClosing);
  EXPECT_EQ(stream_->written(), "reason");
  EXPECT_TRUE(stream_->write_shut());
  EXPECT_FALSE(stream_->closed()) << "closed before the peer had a chance to read the reason";
  const uint64_t received = owner_.bytes_received;
  stream_->push(std::string(100000, 'x'));
  EXPECT_EQ(owner_.bytes_received, received) << "discarded input counted as activity";
  EXPECT_EQ(stream_->discarded_bytes(), 100000u);
  EXPECT_EQ(owner_.packets.size(), 2u);
  stream_->push_eof();
  ASSERT_TRUE(stream_->closed());
  stream_->finish_close();
  EXPECT_EQ(owner_.connection, nullptr);
}

// The owner bounds the linger: end_linger() closes once the reason is written.
TEST_F(ConnectionTest, EndLingerClosesAfterTheQueuedBytes) {
  stream_->push(kConnect);
  stream_->set_writable(false);
  connection().send("reason");
  connection().close_lingering();
  EXPECT_FALSE(stream_->write_shut());
  connection().end_linger();
  EXPECT_FALSE(stream_->closed()) << "the reason must be written first";
  stream_->set_writable(true);
  EXPECT_EQ(stream_->written(), "reason");
  ASSERT_TRUE(stream_->closed());
  stream_->finish_close();
  EXPECT_EQ(owner_.connection, nullptr);
}

// MQTT-3.1.2-24: a packet over the client's Maximum Packet Size is never written; the
// connection closes at the flush, after what fitted.
TEST_F(ConnectionTest, PacketOverTheClientLimitClosesInsteadOfBeingSent) {
  stream_->push(kConnect);
  connection().client_max_packet_size = 4;
  connection().send("ok!!");
  connection().send("too big");
  EXPECT_EQ(connection().state(), Connection::State::kConnected) << "closed inside send()";
  connection().flush();
  EXPECT_EQ(stream_->written(), "ok!!");
  EXPECT_TRUE(stream_->closed());
}

}  // namespace
}  // namespace topicdb::broker

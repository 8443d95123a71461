// $DB limits and resends over a raw MQTT 5 client: at most --db-max-inflight requests of a
// connection run at once (503 beyond), an answer larger than the client's Maximum Packet
// Size becomes a 413, and a QoS 1 resend with DUP runs once and gets the same answer.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/db_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest::db {
namespace {

namespace m = ::topicdb::mqtt;

class DbLimitsTest : public DbTest {
 protected:
  std::vector<std::string> db_flags() const override { return {"--db-max-inflight", "1"}; }
};

// Topic and payload are viewed, not copied: they must outlive the packet.
m::PublishPacket request_packet(std::string_view topic, std::string_view payload, uint8_t qos,
                                const std::string& correlation, uint16_t packet_id = 0) {
  m::PublishPacket p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.packet_id = packet_id;
  p.properties.response_topic = "r";
  p.properties.correlation_data = correlation;
  return p;
}

TEST_F(DbLimitsTest, BeyondTheInflightLimitRequestsGet503) {
  DbClient writer(port(), "writer");
  ASSERT_TRUE(writer.connect());
  ASSERT_TRUE(is_ok(writer.request("$DB/users/create", R"({"id":"u1"})")));

  v5::V5Client c(port());
  ASSERT_TRUE(c.connect("pipeliner"));
  ASSERT_TRUE(c.subscribe("r", 0));
  // Twenty reads in one TCP write: the first runs, those that arrive while it runs get 503.
  // Stored strings: PublishPacket holds views.
  std::vector<std::string> correlations;
  for (int i = 0; i < 20; ++i) correlations.push_back("c" + std::to_string(i));
  std::string bytes;
  for (int i = 0; i < 20; ++i) {
    bytes += v5::encoded(request_packet("$DB/users/u1", "{}", 0, correlations[i]));
  }
  ASSERT_TRUE(c.send_bytes(bytes));
  std::vector<v5::Message> answers;
  ASSERT_TRUE(c.recv_publishes(20, &answers));
  size_t ok = 0, unavailable = 0;
  for (const v5::Message& a : answers) {
    Json envelope = parse_envelope(a.payload);
    if (envelope.value("status", "") == "ok") {
      ++ok;
      EXPECT_EQ(envelope["data"]["id"], "u1");
    } else {
      EXPECT_TRUE(is_error(envelope, 503));
      ++unavailable;
    }
  }
  EXPECT_GE(ok, 1u);
  EXPECT_GE(unavailable, 1u) << "no request was refused with --db-max-inflight 1";
  // Sequential requests are never refused.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(is_ok(writer.request("$DB/users/u1", "{}")));
}

TEST_F(DbLimitsTest, AnswerLargerThanTheMaximumPacketSizeIs413) {
  v5::V5Client small(port());
  m::ConnectPacket connect = v5::V5Client::connect_packet("small");
  connect.properties.maximum_packet_size = 512;
  ASSERT_TRUE(small.connect(connect));
  ASSERT_TRUE(small.subscribe("r", 0));
  const std::string big = R"({"id":"big","blob":")" + std::string(1000, 'b') + "\"}";
  ASSERT_TRUE(small.send(request_packet("$DB/files/create", big, 0, "k1")));
  auto answer = small.recv_publish(milliseconds(5000));
  ASSERT_TRUE(answer);
  Json envelope = parse_envelope(answer->payload);
  EXPECT_TRUE(is_error(envelope, 413));
  // The create itself ran; a client without the limit reads the record.
  DbClient c(port(), "reader");
  ASSERT_TRUE(c.connect());
  Json read = c.request("$DB/files/big", "{}");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["blob"].get<std::string>().size(), 1000u);
}

TEST_F(DbLimitsTest, DupResendRunsOnceAndGetsTheSameAnswer) {
  v5::V5Client c(port());
  ASSERT_TRUE(c.connect("resender"));
  ASSERT_TRUE(c.subscribe("r", 1));
  m::PublishPacket p = request_packet("$DB/orders/create", R"({"total":5})", 1, "order-1", 77);
  // Correlation data aside, the packet id alone must recognise the resend.
  p.properties.correlation_data.reset();
  ASSERT_TRUE(c.send(p));
  auto first = c.recv_publish(milliseconds(5000));
  ASSERT_TRUE(first);
  auto ack = c.recv_type(m::PacketType::kPuback);
  ASSERT_TRUE(ack);
  Json envelope = parse_envelope(first->payload);
  ASSERT_TRUE(is_ok(envelope));
  const std::string id = envelope["data"]["id"];

  p.dup = true;  // the PUBACK "was lost": the client sends the PUBLISH again
  ASSERT_TRUE(c.send(p));
  auto again = c.recv_publish(milliseconds(5000));
  ASSERT_TRUE(again);
  EXPECT_EQ(parse_envelope(again->payload)["data"]["id"], id);
  ack = c.recv_type(m::PacketType::kPuback);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->get<m::AckPacket>()->packet_id, 77);
  EXPECT_EQ(ack->get<m::AckPacket>()->reason_code, 0);

  DbClient reader(port(), "reader");
  ASSERT_TRUE(reader.connect());
  Json list = reader.request("$DB/orders/list", "{}");
  ASSERT_TRUE(is_ok(list));
  EXPECT_EQ(list["data"].size(), 1u) << "the resend ran again: " << list.dump();
}

TEST_F(DbLimitsTest, SameCorrelationDataRunsOnce) {
  v5::V5Client c(port());
  ASSERT_TRUE(c.connect("corr"));
  ASSERT_TRUE(c.subscribe("r", 1));
  for (uint16_t packet_id : {uint16_t{5}, uint16_t{6}}) {
    ASSERT_TRUE(c.send(request_packet("$DB/orders/create", R"({"n":1})", 1, "same", packet_id)));
    ASSERT_TRUE(c.recv_publish(milliseconds(5000)));
    ASSERT_TRUE(c.recv_type(m::PacketType::kPuback));
  }
  DbClient reader(port(), "reader");
  ASSERT_TRUE(reader.connect());
  Json list = reader.request("$DB/orders/list", "{}");
  ASSERT_TRUE(is_ok(list));
  EXPECT_EQ(list["data"].size(), 1u) << list.dump();
}

}  // namespace
}  // namespace topicdb::itest::db

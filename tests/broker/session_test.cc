#include "broker/session.h"

#include <gtest/gtest.h>

#include <vector>

namespace topicdb::broker {
namespace {

MessagePtr msg(const std::string& payload) {
  auto m = std::make_shared<Message>();
  m->topic = "t";
  m->payload = payload;
  m->qos = 2;
  return m;
}

// A session only checks whether it has a connection; the pointer is never dereferenced.
Connection* fake_connection() { return reinterpret_cast<Connection*>(0x1000); }

TEST(SessionTest, OfflineMessagesAreQueuedInOrder) {
  Session s("c", Session::kNeverExpires, 2, 10);
  const Session::Outgoing* e = nullptr;
  EXPECT_EQ(s.admit(msg("1"), 1, false, &e), Session::Admission::kQueued);
  EXPECT_EQ(e->packet_id, 0);
  EXPECT_EQ(s.admit(msg("2"), 1, false, &e), Session::Admission::kQueued);
  ASSERT_EQ(s.queued().size(), 2u);
  EXPECT_LT(s.queued()[0].seq, s.queued()[1].seq);
  EXPECT_TRUE(s.inflight().empty());
}

TEST(SessionTest, WindowLimitsInflightAndAckRefills) {
  Session s("c", 0, 2, 10);
  s.set_connection(fake_connection());
  const Session::Outgoing* e = nullptr;
  EXPECT_EQ(s.admit(msg("1"), 1, false, &e), Session::Admission::kSendNow);
  uint16_t first_id = e->packet_id;
  EXPECT_NE(first_id, 0);
  EXPECT_EQ(s.admit(msg("2"), 1, false, &e), Session::Admission::kSendNow);
  EXPECT_EQ(s.admit(msg("3"), 1, false, &e), Session::Admission::kQueued);
  EXPECT_EQ(s.inflight().size(), 2u);

  ASSERT_TRUE(s.on_puback(first_id).has_value());
  std::vector<std::string> sent;
  s.fill_window([&](const Session::Outgoing& o) { sent.push_back(o.message->payload); });
  EXPECT_EQ(sent, (std::vector<std::string>{"3"}));
  EXPECT_EQ(s.inflight().size(), 2u);
  EXPECT_TRUE(s.queued().empty());
}

TEST(SessionTest, NewMessagesWaitBehindQueuedOnesToKeepOrder) {
  Session s("c", Session::kNeverExpires, 5, 10);
  const Session::Outgoing* e = nullptr;
  s.admit(msg("1"), 1, false, &e);  // offline: queued
  s.set_connection(fake_connection());
  // The window has room, but "1" is still queued: "2" must not overtake it.
  EXPECT_EQ(s.admit(msg("2"), 1, false, &e), Session::Admission::kQueued);
  std::vector<std::string> sent;
  s.fill_window([&](const Session::Outgoing& o) { sent.push_back(o.message->payload); });
  EXPECT_EQ(sent, (std::vector<std::string>{"1", "2"}));
}

TEST(SessionTest, QueueBoundDropsAndCounts) {
  Session s("c", Session::kNeverExpires, 1, 2);
  const Session::Outgoing* e = nullptr;
  s.admit(msg("1"), 1, false, &e);
  s.admit(msg("2"), 1, false, &e);
  EXPECT_EQ(s.admit(msg("3"), 1, false, &e), Session::Admission::kDropped);
  EXPECT_EQ(e, nullptr);
  EXPECT_EQ(s.dropped_messages(), 1u);
}

TEST(SessionTest, Qos2FlowPubrecThenPubcomp) {
  Session s("c", 0, 4, 10);
  s.set_connection(fake_connection());
  const Session::Outgoing* e = nullptr;
  s.admit(msg("x"), 2, false, &e);
  uint16_t id = e->packet_id;
  EXPECT_FALSE(s.on_puback(id).has_value());   // wrong ack for QoS 2
  EXPECT_FALSE(s.on_pubcomp(id).has_value());  // PUBCOMP before PUBREC
  ASSERT_TRUE(s.on_pubrec(id).has_value());
  EXPECT_EQ(s.inflight().front().state, StoredMessage::State::kPubrelSent);
  ASSERT_TRUE(s.on_pubrec(id).has_value());  // a repeated PUBREC is tolerated
  ASSERT_TRUE(s.on_pubcomp(id).has_value());
  EXPECT_TRUE(s.inflight().empty());
  EXPECT_FALSE(s.on_pubcomp(id).has_value());
}

TEST(SessionTest, UnknownAcksAreIgnored) {
  Session s("c", 0, 4, 10);
  EXPECT_FALSE(s.on_puback(7).has_value());
  EXPECT_FALSE(s.on_pubrec(7).has_value());
  EXPECT_FALSE(s.on_pubcomp(7).has_value());
}

TEST(SessionTest, PacketIdsSkipThoseInFlight) {
  Session s("c", 0, 3, 100000);
  s.set_connection(fake_connection());
  const Session::Outgoing* e = nullptr;
  s.admit(msg("held"), 1, false, &e);
  uint16_t held = e->packet_id;
  // Cycle through the whole id space with one more slot; "held" stays in flight.
  for (int i = 0; i < 70000; ++i) {
    s.admit(msg("m"), 1, false, &e);
    ASSERT_NE(e->packet_id, held);
    ASSERT_NE(e->packet_id, 0);
    ASSERT_TRUE(s.on_puback(e->packet_id).has_value());
  }
}

TEST(SessionTest, InboundQos2DuplicatesDetected) {
  Session s("c", Session::kNeverExpires, 4, 10);
  EXPECT_TRUE(s.add_inbound_qos2(5));
  EXPECT_FALSE(s.add_inbound_qos2(5));
  EXPECT_TRUE(s.remove_inbound_qos2(5));
  EXPECT_FALSE(s.remove_inbound_qos2(5));
  EXPECT_TRUE(s.add_inbound_qos2(5));
}

TEST(SessionTest, RestoreSplitsInflightAndQueued) {
  Session s("c", Session::kNeverExpires, 4, 10);
  Session::Outgoing a;
  a.seq = 3;
  a.packet_id = 9;
  a.qos = 2;
  a.state = StoredMessage::State::kPubrelSent;
  Session::Outgoing b;
  b.seq = 4;
  b.message = msg("q");
  s.restore_message(a);
  s.restore_message(b);
  EXPECT_EQ(s.inflight().size(), 1u);
  EXPECT_EQ(s.queued().size(), 1u);
  const Session::Outgoing* e = nullptr;
  s.admit(msg("new"), 1, false, &e);
  EXPECT_GT(e->seq, 4u);  // seqs continue after restored ones
}

}  // namespace
}  // namespace topicdb::broker

namespace topicdb::broker {
namespace {

TEST(SessionTest, ExpiryDecidesPersistence) {
  EXPECT_FALSE(Session("a", 0, 1, 1).persistent());
  EXPECT_TRUE(Session("b", 60, 1, 1).persistent());
  EXPECT_TRUE(Session("c", Session::kNeverExpires, 1, 1).persistent());
}

TEST(SessionTest, SharedUndeliveredMessagesAreTakenForRedelivery) {
  Session s("c", 0, 2, 10);
  s.set_connection(fake_connection());
  const Session::Outgoing* e = nullptr;
  Session::Outgoing shared;
  shared.message = msg("shared-1");
  shared.qos = 1;
  shared.share_group = "$share/g/t";
  s.admit(shared, &e);
  s.admit(msg("own"), 1, false, &e);
  shared.message = msg("shared-2");
  s.admit(shared, &e);  // queued: the window holds 2
  Session::Outgoing shared_qos2;
  shared_qos2.message = msg("past-pubrec");
  shared_qos2.qos = 2;
  shared_qos2.share_group = "$share/g/t";
  auto taken = s.take_shared_undelivered();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].message->payload, "shared-1");
  EXPECT_EQ(taken[1].message->payload, "shared-2");
  ASSERT_EQ(s.inflight().size(), 1u);
  EXPECT_EQ(s.inflight().front().message->payload, "own");
}

}  // namespace
}  // namespace topicdb::broker

namespace topicdb::broker {
namespace {

TEST(SessionTest, ResendOnReconnectStaysWithinTheNewWindow) {
  Session s("c", Session::kNeverExpires, 5, 10);
  s.set_connection(fake_connection());
  const Session::Outgoing* e = nullptr;
  for (int i = 0; i < 5; ++i) s.admit(msg(std::to_string(i)), 1, false, &e);
  s.admit(msg("queued"), 1, false, &e);
  // Reconnect with Receive Maximum 2.
  s.set_max_inflight(2);
  s.mark_inflight_for_resend();
  std::vector<std::string> sent;
  auto record = [&](const Session::Outgoing& o) { sent.push_back(o.message->payload); };
  s.resend_within_window(record);
  s.fill_window(record);
  EXPECT_EQ(sent, (std::vector<std::string>{"0", "1"}));
  // Acking one frees exactly one slot: the next resend, not the queued message.
  ASSERT_TRUE(s.on_puback(s.inflight()[0].packet_id).has_value());
  s.resend_within_window(record);
  s.fill_window(record);
  EXPECT_EQ(sent, (std::vector<std::string>{"0", "1", "2"}));
  while (!s.inflight().empty()) {
    ASSERT_TRUE(s.on_puback(s.inflight()[0].packet_id).has_value());
    s.resend_within_window(record);
    s.fill_window(record);
  }
  EXPECT_EQ(sent, (std::vector<std::string>{"0", "1", "2", "3", "4", "queued"}));
}

}  // namespace
}  // namespace topicdb::broker

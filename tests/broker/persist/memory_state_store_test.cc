#include "broker/persist/memory_state_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace topicdb::broker {
namespace {

using namespace std::string_literals;

StoredSession make_session(const std::string& id) {
  StoredSession s;
  s.client_id = id;
  s.protocol_version = 5;
  s.expiry_interval_s = 60;
  s.disconnected_at_ms = 1234;
  return s;
}

StoredMessage make_message(uint64_t seq, const std::string& payload) {
  StoredMessage m;
  m.seq = seq;
  m.topic = "t/" + std::to_string(seq);
  m.payload = payload;
  m.qos = 1;
  m.properties = "\x01\x00"s;
  m.expiry_at_ms = 99;
  m.subscription_id = 3;
  return m;
}

LoadedState load(MemoryStateStore& store) {
  Result<LoadedState> state = store.load();
  EXPECT_TRUE(state.is_ok());
  return state.is_ok() ? std::move(state).value() : LoadedState{};
}

TEST(MemoryStateStoreTest, EveryWriteKindRoundTripsAcrossRestart) {
  MemoryStateStore store;
  store.put_session(make_session("c1"));
  store.put_subscription("c1", {"a/+", 0x15, 7});
  store.put_subscription("c1", {"gone", 1, 0});
  store.delete_subscription("c1", "gone");
  store.put_message("c1", make_message(1, "one"));
  store.put_message("c1", make_message(2, "\0two\0"s));
  store.delete_message("c1", 1);
  store.put_inbound_qos2("c1", 9);
  store.put_inbound_qos2("c1", 10);
  store.delete_inbound_qos2("c1", 9);
  store.put_retained({"r", "v", 1, "p", 5});
  EXPECT_TRUE(store.close().is_ok());
  store.reopen();

  LoadedState state = load(store);
  ASSERT_EQ(state.sessions.size(), 1u);
  const StoredSession& s = state.sessions[0];
  EXPECT_EQ(s.client_id, "c1");
  EXPECT_EQ(s.protocol_version, 5);
  EXPECT_EQ(s.expiry_interval_s, 60u);
  EXPECT_EQ(s.disconnected_at_ms, 1234);
  ASSERT_EQ(s.subscriptions.size(), 1u);
  EXPECT_EQ(s.subscriptions[0].filter, "a/+");
  EXPECT_EQ(s.subscriptions[0].options, 0x15);
  EXPECT_EQ(s.subscriptions[0].subscription_id, 7u);
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_EQ(s.messages[0].seq, 2u);
  EXPECT_EQ(s.messages[0].payload, "\0two\0"s);
  EXPECT_EQ(s.messages[0].properties, "\x01\x00"s);
  EXPECT_EQ(s.inbound_qos2, std::vector<uint16_t>{10});
  ASSERT_EQ(state.retained.size(), 1u);
  EXPECT_EQ(state.retained[0].topic, "r");
  EXPECT_EQ(state.retained[0].expiry_at_ms, 5);
  EXPECT_EQ(store.last_ticket(), 0u);  // tickets restart after reopen()
}

TEST(MemoryStateStoreTest, PutSessionIgnoresChildVectorsAndKeepsChildren) {
  MemoryStateStore store;
  store.put_session(make_session("c"));
  store.put_subscription("c", {"x", 1, 0});
  StoredSession with_vectors = make_session("c");
  with_vectors.disconnected_at_ms = 0;
  with_vectors.messages.push_back(make_message(5, "ignored"));
  store.put_session(with_vectors);
  LoadedState state = load(store);
  ASSERT_EQ(state.sessions.size(), 1u);
  EXPECT_EQ(state.sessions[0].disconnected_at_ms, 0);
  EXPECT_EQ(state.sessions[0].subscriptions.size(), 1u);
  EXPECT_TRUE(state.sessions[0].messages.empty());
}

TEST(MemoryStateStoreTest, MessagesOrderedBySeqAndStateUpdates) {
  MemoryStateStore store;
  store.put_session(make_session("c"));
  for (uint64_t seq : {5, 1, 300, 2}) store.put_message("c", make_message(seq, "p"));
  store.update_message_state("c", 2, 11, StoredMessage::State::kPubrelSent);
  store.update_message_state("c", 77, 1, StoredMessage::State::kPublishSent);  // no such seq
  LoadedState state = load(store);
  ASSERT_EQ(state.sessions.size(), 1u);
  std::vector<uint64_t> seqs;
  for (const StoredMessage& m : state.sessions[0].messages) seqs.push_back(m.seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 5, 300}));
  EXPECT_EQ(state.sessions[0].messages[1].packet_id, 11);
  EXPECT_EQ(state.sessions[0].messages[1].state, StoredMessage::State::kPubrelSent);
}

TEST(MemoryStateStoreTest, DeleteSessionRemovesChildren) {
  MemoryStateStore store;
  store.put_session(make_session("c"));
  store.put_subscription("c", {"x", 1, 0});
  store.put_message("c", make_message(1, "p"));
  store.put_inbound_qos2("c", 4);
  store.delete_session("c");
  EXPECT_TRUE(load(store).sessions.empty());
  store.put_session(make_session("c"));
  LoadedState state = load(store);
  ASSERT_EQ(state.sessions.size(), 1u);
  EXPECT_TRUE(state.sessions[0].subscriptions.empty());
  EXPECT_TRUE(state.sessions[0].messages.empty());
  EXPECT_TRUE(state.sessions[0].inbound_qos2.empty());
}

TEST(MemoryStateStoreTest, RetainedPutReplaceDelete) {
  MemoryStateStore store;
  store.put_retained({"a", "first", 0, "", 0});
  store.put_retained({"b", "keep", 1, "", 0});
  store.put_retained({"a", "second", 2, "", 0});
  store.delete_retained("b");
  LoadedState state = load(store);
  ASSERT_EQ(state.retained.size(), 1u);
  EXPECT_EQ(state.retained[0].payload, "second");
  EXPECT_EQ(state.retained[0].qos, 2);
}

TEST(MemoryStateStoreTest, AutoDurableReportsEachTicketSynchronously) {
  MemoryStateStore store;
  std::vector<uint64_t> seen;
  store.set_durable_callback([&](uint64_t t) { seen.push_back(t); });
  EXPECT_EQ(store.put_retained({"a", "p", 0, "", 0}), 1u);
  EXPECT_EQ(store.durable_ticket(), 1u);
  EXPECT_EQ(store.put_retained({"b", "p", 0, "", 0}), 2u);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
}

TEST(MemoryStateStoreTest, ManualDurabilityHoldsWritesUntilMakeDurable) {
  MemoryStateStore store;
  store.set_auto_durable(false);
  std::vector<uint64_t> seen;
  store.set_durable_callback([&](uint64_t t) { seen.push_back(t); });
  store.put_session(make_session("c"));
  store.put_message("c", make_message(1, "p"));
  EXPECT_EQ(store.last_ticket(), 2u);
  EXPECT_EQ(store.durable_ticket(), 0u);
  EXPECT_EQ(store.pending_writes(), 2u);
  EXPECT_TRUE(seen.empty());
  EXPECT_TRUE(load(store).sessions.empty());  // pending writes are not durable state
  store.make_durable();
  EXPECT_EQ(store.durable_ticket(), 2u);
  EXPECT_EQ(seen, std::vector<uint64_t>{2});  // one callback for the whole group
  EXPECT_EQ(load(store).sessions.size(), 1u);
  store.make_durable();  // nothing new: no callback
  EXPECT_EQ(seen.size(), 1u);
}

TEST(MemoryStateStoreTest, CrashLosesPendingWrites) {
  MemoryStateStore store;
  store.set_auto_durable(false);
  store.put_retained({"kept", "p", 0, "", 0});
  store.make_durable();
  store.put_retained({"lost", "p", 0, "", 0});
  store.crash();
  EXPECT_TRUE(store.closed());
  store.reopen();
  LoadedState state = load(store);
  ASSERT_EQ(state.retained.size(), 1u);
  EXPECT_EQ(state.retained[0].topic, "kept");
}

TEST(MemoryStateStoreTest, CloseMakesPendingDurableAndRefusesLaterWrites) {
  MemoryStateStore store;
  store.set_auto_durable(false);
  uint64_t last = 0;
  store.set_durable_callback([&](uint64_t t) { last = t; });
  store.put_retained({"a", "p", 0, "", 0});
  EXPECT_TRUE(store.close().is_ok());
  EXPECT_EQ(last, 1u);
  EXPECT_TRUE(store.close().is_ok());
  EXPECT_EQ(store.put_retained({"b", "p", 0, "", 0}), 2u);
  store.make_durable();
  EXPECT_EQ(store.durable_ticket(), 1u);
  EXPECT_EQ(load(store).retained.size(), 1u);
}

TEST(MemoryStateStoreTest, FailureStopsDurability) {
  MemoryStateStore store;
  store.put_retained({"a", "p", 0, "", 0});
  store.fail(Status::io_error("disk full"));
  EXPECT_EQ(store.health().code(), Status::Code::kIoError);
  store.put_retained({"b", "p", 0, "", 0});
  EXPECT_EQ(store.durable_ticket(), 1u);
  EXPECT_FALSE(store.close().is_ok());
  EXPECT_EQ(load(store).retained.size(), 1u);
  store.reopen();
  EXPECT_TRUE(store.health().is_ok());
}

}  // namespace
}  // namespace topicdb::broker

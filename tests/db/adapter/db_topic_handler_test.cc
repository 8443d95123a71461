// The $DB handler inside a whole broker (in-process harness, manual clock) with a fake
// store: where answers go for MQTT 5 and 3.1.1 requesters, when the PUBACK goes, resends,
// the inflight limit, answers too large for the requester, events and subscriptions.
#include "db/adapter/db_topic_handler.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/broker/harness/broker_harness.h"

namespace topicdb::db::adapter {
namespace {

using broker::harness::BrokerHarness;
using broker::harness::ConnectOptions;
using broker::harness::Received;
using broker::harness::TestClient;
using mqtt::PacketType;
using mqtt::ProtocolVersion;

// Holds requests until the test answers them.
struct FakeStore {
  struct Pending {
    Request request;
    std::function<void(Answer)> done;
  };
  std::vector<Pending> pending;
  size_t runs = 0;

  void answer(size_t i, Answer a) { std::exchange(pending[i].done, nullptr)(std::move(a)); }
};

Json envelope_of(const Received& r) { return Json::parse(r.publish().payload); }

class DbTopicHandlerTest : public ::testing::Test {
 protected:
  void make_handler(DbTopicHandlerOptions options = {}) {
    handler_ = std::make_unique<DbTopicHandler>(
        &h_.broker(), &h_.clock(),
        [this](Request request, std::function<void(Answer)> done) {
          ++store_.runs;
          store_.pending.push_back({std::move(request), std::move(done)});
        },
        options);
    h_.broker().add_reserved_handler("$DB/", handler_.get());
  }
  void SetUp() override { make_handler(); }

  static mqtt::Properties v5_request(std::string response_topic, std::string correlation) {
    mqtt::Properties props;
    props.response_topic = std::move(response_topic);
    props.correlation_data = std::move(correlation);
    return props;
  }

  FakeStore store_;
  BrokerHarness h_;
  std::unique_ptr<DbTopicHandler> handler_;
};

TEST_F(DbTopicHandlerTest, V5AnswerGoesToTheResponseTopicBeforeThePuback) {
  TestClient& c = h_.connect("alice");
  ASSERT_EQ(c.subscribe("reply/alice", 1), 1);
  const uint16_t id =
      c.publish("$DB/users/create", R"({"name":"Al"})", 1, false, v5_request("reply/alice", "c1"));
  ASSERT_EQ(store_.pending.size(), 1u);
  const Request& r = store_.pending[0].request;
  EXPECT_EQ(r.op, Operation::kCreate);
  EXPECT_EQ(r.entity, "users");
  EXPECT_EQ(r.client_id, "alice");
  EXPECT_EQ(r.body["name"], "Al");
  EXPECT_FALSE(c.next()) << "PUBACK or answer before the store answered";

  store_.answer(0, Answer::ok(Json{{"id", "u1"}, {"_version", 1}}));
  h_.run();
  std::vector<Received> got = c.all();
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(got[0].is(PacketType::kPublish));
  EXPECT_EQ(got[0].publish().topic, "reply/alice");
  EXPECT_EQ(got[0].publish().qos, 1);
  EXPECT_EQ(got[0].publish().properties.correlation_data, "c1");
  Json envelope = envelope_of(got[0]);
  EXPECT_EQ(envelope["status"], "ok");
  EXPECT_EQ(envelope["data"]["id"], "u1");
  ASSERT_TRUE(got[1].is(PacketType::kPuback));
  EXPECT_EQ(got[1].ack().packet_id, id);
  EXPECT_EQ(got[1].ack().reason_code, 0);
}

TEST_F(DbTopicHandlerTest, V5WithoutResponseTopicRunsAndAnswersNobody) {
  TestClient& c = h_.connect("a");
  ASSERT_EQ(c.subscribe("$DB/#", 1), 1);
  c.publish("$DB/users/u1/delete", "{}", 1);
  ASSERT_EQ(store_.pending.size(), 1u);
  store_.answer(0, Answer::ok(Json{{"id", "u1"}, {"deleted", true}}));
  h_.run();
  std::vector<Received> got = c.all();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].is(PacketType::kPuback));
}

TEST_F(DbTopicHandlerTest, V311AnswersGoToTheRequesterOnlyOnReplyTopics) {
  TestClient& a = h_.connect("a", ProtocolVersion::kV311);
  TestClient& b = h_.connect("b", ProtocolVersion::kV311);
  ASSERT_EQ(a.subscribe("$DB/_reply/#", 1), 1);
  ASSERT_EQ(b.subscribe("$DB/_reply/#", 1), 1);
  a.publish("$DB/users/create", R"({"n":1,"_request_id":"r-7"})", 1);
  ASSERT_EQ(store_.pending.size(), 1u);
  EXPECT_FALSE(store_.pending[0].request.body.contains("_request_id"));
  store_.answer(0, Answer::ok(Json{{"id", "x"}}));
  h_.run();
  std::vector<Received> got = a.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().topic, "$DB/_reply/users/create");
  Json envelope = envelope_of(got[0]);
  EXPECT_EQ(envelope["request_id"], "r-7");
  EXPECT_EQ(envelope["data"]["id"], "x");
  EXPECT_TRUE(b.publishes().empty()) << "b saw a's answer";
}

TEST_F(DbTopicHandlerTest, BadInputGetsAnErrorAnswerAndASuccessfulPuback) {
  TestClient& c = h_.connect("c");
  ASSERT_EQ(c.subscribe("r", 0), 0);
  struct Case {
    const char* topic;
    std::string payload;
    int code;
  } cases[] = {
      {"$DB/users/create", "{bad", 400},
      {"$DB/users/create", "[1]", 400},
      {"$DB/_users/create", "{}", 400},
      {"$DB/users/u1/explode", "{}", 400},
      {"$DB/users/create", R"({"s":")" + std::string(300 * 1024, 'x') + "\"}", 413},
  };
  for (const Case& k : cases) {
    c.publish(k.topic, k.payload, 1, false, v5_request("r", "k"));
    std::vector<Received> got = c.all();
    ASSERT_EQ(got.size(), 2u) << k.topic;
    Json envelope = envelope_of(got[0]);
    EXPECT_EQ(envelope["status"], "error") << k.topic;
    EXPECT_EQ(envelope["code"], k.code) << k.topic;
    EXPECT_FALSE(envelope["message"].get<std::string>().empty());
    EXPECT_EQ(got[1].ack().reason_code, 0) << k.topic;
  }
  EXPECT_EQ(store_.runs, 0u);
}

TEST_F(DbTopicHandlerTest, PublishingToEventsOrRepliesIsRefused) {
  TestClient& c = h_.connect("c");
  ASSERT_EQ(c.subscribe("$DB/users/events/#", 1), 1);
  c.publish("$DB/users/events/u1", R"({"forged":true})", 1);
  auto ack = c.take(PacketType::kPuback);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->ack().reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_TRUE(c.publishes().empty()) << "a forged event reached a watcher";
  c.publish("$DB/_reply/users/create", "{}", 1);
  ack = c.take(PacketType::kPuback);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->ack().reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_EQ(store_.runs, 0u);
}

TEST_F(DbTopicHandlerTest, SubscriptionsToRequestTopicsAreRefused) {
  TestClient& c = h_.connect("c");
  EXPECT_EQ(c.subscribe("$DB/users/create", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("$DB/users/+", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("$DB/+/events/#", 1), 1);
  EXPECT_EQ(c.subscribe("$DB/_reply/#", 1), 1);
  EXPECT_EQ(c.subscribe("$DB/#", 1), 1);
}

TEST_F(DbTopicHandlerTest, DupResendRunsOnceAndGetsTheSameAnswer) {
  TestClient& c = h_.connect("c");
  ASSERT_EQ(c.subscribe("r", 1), 1);
  mqtt::PublishPacket p{
      .topic = "$DB/users/create", .payload = R"({"n":1})", .qos = 1, .packet_id = 42};
  p.properties.response_topic = "r";
  c.send(p);
  p.dup = true;
  c.send(p);  // while the first still runs
  ASSERT_EQ(store_.runs, 1u);
  store_.answer(0, Answer::ok(Json{{"id", "once"}}));
  h_.run();
  std::vector<Received> got = c.all();
  size_t answers = 0, acks = 0;
  for (const Received& r : got) {
    if (r.is(PacketType::kPublish)) {
      ++answers;
      EXPECT_EQ(envelope_of(r)["data"]["id"], "once");
    } else if (r.is(PacketType::kPuback)) {
      ++acks;
      EXPECT_EQ(r.ack().packet_id, 42);
    }
  }
  EXPECT_EQ(answers, 2u);
  EXPECT_EQ(acks, 2u);
  // Again after the answer (the PUBACK was lost): still one run, the same answer.
  c.send(p);
  got = c.all();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(envelope_of(got[0])["data"]["id"], "once");
  EXPECT_EQ(store_.runs, 1u);
  // The id reused without DUP is a new request.
  p.dup = false;
  c.send(p);
  EXPECT_EQ(store_.runs, 2u);
  store_.answer(1, Answer::ok(Json{{"id", "twice"}}));
  h_.run();
}

TEST_F(DbTopicHandlerTest, SameCorrelationDataWithinTheWindowRunsOnce) {
  TestClient& c = h_.connect("c");
  ASSERT_EQ(c.subscribe("r", 0), 0);
  c.publish("$DB/users/create", R"({"n":1})", 0, false, v5_request("r", "corr-1"));
  store_.answer(0, Answer::ok(Json{{"id", "first"}}));
  h_.run();
  ASSERT_EQ(c.publishes().size(), 1u);
  c.publish("$DB/users/create", R"({"n":1})", 1, false, v5_request("r", "corr-1"));
  EXPECT_EQ(store_.runs, 1u);
  std::vector<Received> again = c.publishes();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(envelope_of(again[0])["data"]["id"], "first");
  // Other content under the same correlation data is another request.
  c.publish("$DB/users/create", R"({"n":2})", 0, false, v5_request("r", "corr-1"));
  EXPECT_EQ(store_.runs, 2u);
  store_.answer(1, Answer::ok(Json{{"id", "second"}}));
  h_.run();
  // Past the window the first runs again.
  h_.advance(61'000);
  c.publish("$DB/users/create", R"({"n":1})", 0, false, v5_request("r", "corr-1"));
  EXPECT_EQ(store_.runs, 3u);
  store_.answer(2, Answer::ok(Json{{"id", "third"}}));
  h_.run();
}

TEST_F(DbTopicHandlerTest, InflightLimitAnswers503) {
  make_handler({.max_inflight = 2});
  TestClient& c = h_.connect("c");
  TestClient& other = h_.connect("other");
  ASSERT_EQ(c.subscribe("r", 0), 0);
  for (int i = 0; i < 3; ++i) {
    c.publish("$DB/users/u" + std::to_string(i), "{}", 0, false,
              v5_request("r", "c" + std::to_string(i)));
  }
  EXPECT_EQ(store_.runs, 2u);
  std::vector<Received> got = c.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(envelope_of(got[0])["code"], 503);
  // Per connection: another client is not held back.
  other.publish("$DB/users/u9", "{}", 0);
  EXPECT_EQ(store_.runs, 3u);
  store_.answer(0, Answer::not_found("no u0"));
  h_.run();
  EXPECT_EQ(handler_->in_flight("c"), 1u);
  c.publish("$DB/users/u3", "{}", 0, false, v5_request("r", "c3"));
  EXPECT_EQ(store_.runs, 4u);
}

TEST_F(DbTopicHandlerTest, AnswerLargerThanTheClientsMaximumPacketSizeIs413) {
  ConnectOptions o;
  o.client_id = "small";
  o.properties.maximum_packet_size = 300;
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.accepted());
  ASSERT_EQ(c.subscribe("r", 0), 0);
  c.publish("$DB/users/u1", "{}", 0, false, v5_request("r", "x"));
  store_.answer(0, Answer::ok(Json{{"blob", std::string(1000, 'b')}}));
  h_.run();
  std::vector<Received> got = c.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(envelope_of(got[0])["code"], 413);
  EXPECT_LE(got[0].wire->size(), 300u);
}

TEST_F(DbTopicHandlerTest, EventsArePublishedAtQos1) {
  TestClient& w = h_.connect("watcher");
  ASSERT_EQ(w.subscribe("$DB/users/events/#", 1), 1);
  ChangeEvent e;
  e.sequence = 5;
  e.entity = "users";
  e.id = "u1";
  e.operation = "Create";
  e.data_json = R"({"id":"u1","_version":1})";
  e.client_id = "c";
  handler_->on_change(e);
  h_.run();
  std::vector<Received> got = w.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().topic, "$DB/users/events/u1");
  EXPECT_EQ(got[0].publish().qos, 1);
  EXPECT_FALSE(got[0].publish().retain);
  EXPECT_EQ(got[0].publish().payload, e.to_json());
}

TEST_F(DbTopicHandlerTest, AWillOnDbRunsAsTheDevicesRequest) {
  ConnectOptions o;
  o.client_id = "device-1";
  o.version = ProtocolVersion::kV311;
  o.will = mqtt::Will{.topic = "$DB/devices/device-1/update", .payload = R"({"online":false})"};
  TestClient& device = h_.connect(o);
  ASSERT_TRUE(device.accepted());
  device.drop();
  h_.run();
  ASSERT_EQ(store_.pending.size(), 1u);
  EXPECT_EQ(store_.pending[0].request.op, Operation::kUpdate);
  EXPECT_EQ(store_.pending[0].request.id, "device-1");
  EXPECT_EQ(store_.pending[0].request.client_id, "device-1");
  EXPECT_EQ(store_.pending[0].request.body["online"], false);
  store_.answer(0, Answer::ok(Json::object()));  // nobody to answer: no crash, no publish
  h_.run();
}

TEST_F(DbTopicHandlerTest, AfterStopNothingIsPublished) {
  TestClient& c = h_.connect("c");
  ASSERT_EQ(c.subscribe("r", 0), 0);
  c.publish("$DB/users/u1", "{}", 0, false, v5_request("r", "x"));
  handler_->stop();
  store_.answer(0, Answer::ok(Json::object()));
  h_.run();
  EXPECT_TRUE(c.publishes().empty());
}

TEST_F(DbTopicHandlerTest, OperationStatsCountAnswersByOperationAndCode) {
  TestClient& c = h_.connect("c");
  ASSERT_EQ(c.subscribe("r", 0), 0);
  c.publish("$DB/users/create", R"({"n":1})", 0, false, v5_request("r", "1"));
  c.publish("$DB/users/create", R"({"n":2})", 0, false, v5_request("r", "2"));
  c.publish("$DB/users/u1", "{}", 0, false, v5_request("r", "3"));
  c.publish("$DB/users/create", "{bad", 0, false, v5_request("r", "4"));  // 400, never runs
  c.publish("$DB/users/events/u1", "{}", 0);                              // 403, never runs
  ASSERT_EQ(store_.runs, 3u);
  store_.answer(0, Answer::ok(Json{{"id", "a"}}));
  store_.answer(1, Answer::conflict("taken"));
  store_.answer(2, Answer::not_found("no u1"));
  h_.run();
  // A resend answered from the dedupe ran nothing and is not counted again.
  c.publish("$DB/users/create", R"({"n":1})", 0, false, v5_request("r", "1"));
  ASSERT_EQ(store_.runs, 3u);

  using Row = DbOperationStats::Row;
  std::vector<Row> rows = handler_->operation_stats().rows();
  auto count = [&](std::string_view op, int code) -> uint64_t {
    for (const Row& r : rows) {
      if (r.op == op && r.code == code) return r.count;
    }
    return 0;
  };
  EXPECT_EQ(count("create", 200), 1u);
  EXPECT_EQ(count("create", 409), 1u);
  EXPECT_EQ(count("read", 404), 1u);
  EXPECT_EQ(count("invalid", 400), 1u);
  EXPECT_EQ(count("invalid", 403), 1u);
  EXPECT_EQ(rows.size(), 5u);
  // Sorted by operation, then code.
  EXPECT_EQ(rows.front().op, "create");
  EXPECT_EQ(rows.front().code, 200);
  EXPECT_EQ(rows.back().op, "read");
}

}  // namespace
}  // namespace topicdb::db::adapter

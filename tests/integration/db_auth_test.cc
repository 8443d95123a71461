// $DB permissions with the real binary, a password file and an ACL file written by the test:
// each operation authorized through the ACL on "$DB/{entity}/{operation}" (0x87 and a 403
// naming entity and operation when refused), events and replay needing read on
// "$DB/{entity}/events/#", $DB/_admin/... for --admin-user only, the protections no ACL can
// lift, and --ownership isolating two users' records in reads, lists, writes, events (also
// to an offline persistent session), replay, includes and cascades.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/password_file.h"
#include "tests/integration/broker_process.h"
#include "tests/integration/mqtt_packets.h"
#include "tests/integration/raw_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using v5::V5Client;
namespace m = ::topicdb::mqtt;

constexpr char kPassword[] = "s3cret";

// Everyone reads the answers under reply/{user}/; alice and bob work on orders and notes,
// eve may only read and list orders, root (the admin) on everything.
constexpr char kDbAcl[] =
    "pattern read reply/%u/#\n"
    "pattern read $DB/_reply/#\n"
    "user alice\n"
    "topic write $DB/orders/+\n"
    "topic write $DB/notes/+\n"
    "topic read $DB/orders/events/#\n"
    "topic read $DB/notes/events/#\n"
    "user bob\n"
    "topic write $DB/orders/+\n"
    "topic write $DB/notes/+\n"
    "topic read $DB/notes/events/#\n"
    "user eve\n"
    "topic write $DB/orders/read\n"
    "topic write $DB/orders/list\n"
    "user root\n"
    "topic write $DB/+/+\n"
    "topic read $DB/+/events/#\n";

// One user's MQTT 5 connection (the project's own codec over TCP, for exact reason codes):
// requests with a Response Topic under reply/{user}/, events collected on the side.
class DbUser {
 public:
  DbUser(uint16_t port, std::string client_id, std::string user)
      : client_(port), client_id_(std::move(client_id)), user_(std::move(user)) {}

  ::testing::AssertionResult connect(std::optional<uint32_t> session_expiry = std::nullopt,
                                     bool clean_start = true) {
    m::ConnectPacket p = V5Client::connect_packet(client_id_, clean_start, session_expiry);
    p.username = user_;
    p.password = kPassword;
    if (auto r = client_.connect(p); !r) return r;
    return client_.subscribe({v5::sub(reply_topic(), 1)}, 0, {1});
  }

  // Publishes `body` on `topic` at QoS 1; the answer's envelope (null when none came), the
  // PUBACK's reason code in *puback.
  Json request(const std::string& topic, const Json& body, uint8_t* puback = nullptr) {
    const std::string correlation = std::to_string(++counter_);
    m::Properties props;
    props.response_topic = reply_topic();
    props.correlation_data = correlation;
    uint8_t reason = 0xFF;
    EXPECT_TRUE(client_.publish(topic, body.dump(), 1, props, false, &reason));
    if (puback) *puback = reason;
    auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = client_.recv_publish(milliseconds(5000));
      if (!msg) break;
      if (msg->topic == reply_topic() && msg->props.correlation_data == correlation) {
        return Json::parse(msg->payload, nullptr, false);
      }
      events_.push_back(Json::parse(msg->payload, nullptr, false));
    }
    ADD_FAILURE() << user_ << ": no answer to " << topic;
    return nullptr;
  }

  // The events received so far plus those arriving within `window`.
  std::vector<Json> events(milliseconds window = milliseconds(400)) {
    while (auto msg = client_.recv_publish(window)) {
      events_.push_back(Json::parse(msg->payload, nullptr, false));
    }
    return events_;
  }

  V5Client& client() { return client_; }

 private:
  std::string reply_topic() const { return "reply/" + user_ + "/" + client_id_; }

  V5Client client_;
  std::string client_id_;
  std::string user_;
  uint64_t counter_ = 0;
  std::vector<Json> events_;
};

::testing::AssertionResult is_ok(const Json& answer) {
  if (answer.is_object() && answer.value("status", "") == "ok") {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected ok, got " << answer.dump();
}

::testing::AssertionResult is_error(const Json& answer, int code) {
  if (answer.is_object() && answer.value("status", "") == "error" &&
      answer.value("code", 0) == code) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected error " << code << ", got " << answer.dump();
}

std::vector<std::string> ids_of(const Json& records, const char* key = "id") {
  std::vector<std::string> ids;
  if (!records.is_array()) return ids;
  for (const Json& r : records) ids.push_back(r.value(key, ""));
  return ids;
}

class DbAuthTest : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string password_file() {
    std::string text;
    for (const char* user : {"alice", "bob", "eve", "root"}) {
      auto hash = plugins::make_pbkdf2_hash(kPassword, 1000);
      EXPECT_TRUE(hash.is_ok());
      text += std::string(user) + ":" + *hash + "\n";
    }
    return file("passwd", text);
  }
  ::testing::AssertionResult start(std::vector<std::string> args) {
    args.insert(args.begin(), {"--sys-interval", "0", "--auth-fail-delay-ms", "0"});
    return broker_.start(dir_.path(), args);
  }
  // The usual set-up: users, the ACL above, root as admin, notes owned by their "owner".
  ::testing::AssertionResult start_secured() {
    return start({"--password-file", password_file(), "--acl-file", file("acl", kDbAcl),
                  "--admin-user", "root", "--ownership", "notes:owner"});
  }
  uint16_t port() const { return broker_.port(); }

  TempDir dir_;
  BrokerProcess broker_;
};

TEST_F(DbAuthTest, EachOperationNeedsWriteOnItsNormalizedTopic) {
  ASSERT_TRUE(start_secured());
  DbUser alice(port(), "a", "alice");
  DbUser eve(port(), "e", "eve");
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(eve.connect());

  // alice has "$DB/orders/+": all five operations.
  uint8_t puback = 0xFF;
  ASSERT_TRUE(is_ok(alice.request("$DB/orders/create", {{"id", "o1"}, {"n", 1}}, &puback)));
  EXPECT_EQ(puback, 0);
  EXPECT_TRUE(is_ok(alice.request("$DB/orders/o1", Json::object())));
  EXPECT_TRUE(is_ok(alice.request("$DB/orders/o1/update", {{"n", 2}})));
  EXPECT_TRUE(is_ok(alice.request("$DB/orders/list", Json::object())));

  // eve: read and list only. A refusal is 0x87 and a 403 naming entity and operation.
  Json answer = eve.request("$DB/orders/o1", Json::object(), &puback);
  ASSERT_TRUE(is_ok(answer));
  EXPECT_EQ(puback, 0);
  EXPECT_EQ(answer["data"]["n"], 2);
  EXPECT_TRUE(is_ok(eve.request("$DB/orders/list", Json::object())));
  struct Denied {
    const char* topic;
    const char* operation;
  };
  for (const Denied& d :
       {Denied{"$DB/orders/create", "create"}, Denied{"$DB/orders/o1/update", "update"},
        Denied{"$DB/orders/o1/delete", "delete"}}) {
    answer = eve.request(d.topic, {{"n", 9}}, &puback);
    EXPECT_TRUE(is_error(answer, 403)) << d.topic;
    EXPECT_EQ(puback, 0x87) << d.topic;
    const std::string message = answer.value("message", "");
    EXPECT_NE(message.find(d.operation), std::string::npos) << message;
    EXPECT_NE(message.find("orders"), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("$DB/orders/") + d.operation), std::string::npos) << message;
  }
  // Nothing of the refused requests ran.
  answer = alice.request("$DB/orders/o1", Json::object());
  ASSERT_TRUE(is_ok(answer));
  EXPECT_EQ(answer["data"]["n"], 2);
  // No rule for customers at all.
  EXPECT_TRUE(is_error(alice.request("$DB/customers/create", {{"id", "c"}}, &puback), 403));
  EXPECT_EQ(puback, 0x87);
  EXPECT_TRUE(is_error(eve.request("$DB/customers/list", Json::object()), 403));

  EXPECT_TRUE(is_ok(alice.request("$DB/orders/o1/delete", Json::object(), &puback)));
  EXPECT_EQ(puback, 0);
  EXPECT_TRUE(is_error(alice.request("$DB/orders/o1", Json::object()), 404));
}

TEST_F(DbAuthTest, Mqtt311RefusalsAreA403AnswerAndASuback0x80) {
  ASSERT_TRUE(start_secured());
  RawClient eve;
  ConnectSpec spec;
  spec.client_id = "e3";
  spec.username = "eve";
  spec.password = kPassword;
  ASSERT_TRUE(eve.connect(port()));
  ASSERT_TRUE(eve.send(connect_packet(spec)));
  auto connack = eve.recv_packet_of_type(2, milliseconds(5000));
  ASSERT_TRUE(connack);
  ASSERT_EQ(connack->body.size(), 2u);
  ASSERT_EQ(connack->body[1], 0);
  ASSERT_TRUE(eve.send(subscribe_packet(1, {{"$DB/_reply/#", 1}, {"$DB/orders/events/#", 1}})));
  auto suback = eve.recv_packet_of_type(9);
  ASSERT_TRUE(suback);
  ASSERT_EQ(suback->body.size(), 4u);
  EXPECT_EQ(suback->body[2], 1);
  EXPECT_EQ(suback->body[3], 0x80);
  // 3.1.1 cannot refuse a PUBLISH (its PUBACK has no reason code): the 403 answer says why.
  ASSERT_TRUE(eve.send(publish_packet("$DB/orders/create", R"({"id":"o1"})", 1, false, false, 2)));
  auto answer = eve.recv_packet_of_type(3, milliseconds(5000));
  ASSERT_TRUE(answer);
  auto view = parse_publish(*answer);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->topic, "$DB/_reply/orders/create");
  Json envelope = Json::parse(view->payload, nullptr, false);
  EXPECT_TRUE(is_error(envelope, 403));
  EXPECT_NE(envelope.value("message", "").find("$DB/orders/create"), std::string::npos)
      << envelope.dump();
}

TEST_F(DbAuthTest, EventsAndReplayNeedReadOnTheEntitysEvents) {
  ASSERT_TRUE(start_secured());
  DbUser alice(port(), "a", "alice");
  DbUser bob(port(), "b", "bob");
  DbUser eve(port(), "e", "eve");
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(eve.connect());
  // alice may read orders' events, bob and eve may not (bob only notes').
  ASSERT_TRUE(alice.client().subscribe({v5::sub("$DB/orders/events/#", 1)}, 0, {1}));
  ASSERT_TRUE(bob.client().subscribe({v5::sub("$DB/orders/events/#", 1)}, 0, {0x87}));
  ASSERT_TRUE(eve.client().subscribe({v5::sub("$DB/orders/events/+", 1)}, 0, {0x87}));
  ASSERT_TRUE(bob.client().subscribe({v5::sub("$DB/+/events/#", 1)}, 0, {0x87}));

  ASSERT_TRUE(is_ok(bob.request("$DB/orders/create", {{"id", "o1"}})));
  std::vector<Json> events = alice.events(milliseconds(2000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["id"], "o1");
  EXPECT_TRUE(bob.events().empty());
  EXPECT_TRUE(eve.events().empty());

  Json replay = alice.request("$DB/_events/replay", {{"entity", "orders"}, {"since", 0}});
  ASSERT_TRUE(is_ok(replay));
  EXPECT_EQ(ids_of(replay["data"]), std::vector<std::string>{"o1"});
  uint8_t puback = 0xFF;
  Json refused = bob.request("$DB/_events/replay", {{"entity", "orders"}, {"since", 0}}, &puback);
  EXPECT_TRUE(is_error(refused, 403));
  EXPECT_EQ(puback, 0x87);
  EXPECT_NE(refused.value("message", "").find("$DB/orders/events/#"), std::string::npos)
      << refused.dump();
}

TEST_F(DbAuthTest, AdminTopicsAreForAdminUsersOnly) {
  ASSERT_TRUE(start_secured());
  DbUser alice(port(), "a", "alice");
  DbUser root(port(), "r", "root");
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(root.connect());
  const Json schema = {{"n", {{"type", "integer"}}}};
  uint8_t puback = 0xFF;
  Json answer = alice.request("$DB/_admin/schema/orders/set", schema, &puback);
  EXPECT_TRUE(is_error(answer, 403));
  EXPECT_EQ(puback, 0x87);
  EXPECT_NE(answer.value("message", "").find("admin"), std::string::npos) << answer.dump();
  EXPECT_TRUE(is_error(alice.request("$DB/_admin/index/orders/list", Json::object()), 403));
  EXPECT_TRUE(is_error(alice.request("$DB/_admin/schema/orders/get", Json::object()), 403));

  ASSERT_TRUE(is_ok(root.request("$DB/_admin/schema/orders/set", schema, &puback)));
  EXPECT_EQ(puback, 0);
  EXPECT_TRUE(is_ok(root.request("$DB/_admin/schema/orders/get", Json::object())));
  // The schema root set holds for alice's writes.
  EXPECT_TRUE(is_error(alice.request("$DB/orders/create", {{"n", "x"}}), 400));
}

TEST_F(DbAuthTest, WithAPasswordFileAndNoAdminNobodyUsesAdminTopics) {
  ASSERT_TRUE(start({"--password-file", password_file()}));
  DbUser root(port(), "r", "root");
  ASSERT_TRUE(root.connect());
  EXPECT_TRUE(is_error(root.request("$DB/_admin/index/orders/list", Json::object()), 403));
  EXPECT_TRUE(is_ok(root.request("$DB/orders/create", {{"id", "o"}})));
}

TEST_F(DbAuthTest, WithoutPasswordFileOrAdminEveryoneUsesAdminTopicsAsBefore) {
  ASSERT_TRUE(start({}));
  V5Client c(port());
  ASSERT_TRUE(c.connect("anon"));
  ASSERT_TRUE(c.subscribe({v5::sub("r/anon", 1)}, 0, {1}));
  m::Properties props;
  props.response_topic = "r/anon";
  uint8_t puback = 0xFF;
  ASSERT_TRUE(c.publish("$DB/_admin/index/orders/list", "{}", 1, props, false, &puback));
  EXPECT_EQ(puback, 0);
  auto answer = c.recv_publish(milliseconds(5000));
  ASSERT_TRUE(answer);
  EXPECT_TRUE(is_ok(Json::parse(answer->payload, nullptr, false)));
}

TEST_F(DbAuthTest, ProtectedTopicsStayProtectedUnderAnAllowAllAcl) {
  ASSERT_TRUE(start({"--acl-file", file("acl",
                                        "topic readwrite #\ntopic readwrite $DB/#\n"
                                        "topic readwrite $SYS/#\n")}));
  V5Client c(port());
  ASSERT_TRUE(c.connect("anon"));
  uint8_t reason = 0;
  for (const char* topic :
       {"$DB/orders/events/o1", "$DB/_reply/orders/create", "$SYS/broker/uptime"}) {
    ASSERT_TRUE(c.publish(topic, "{}", 1, {}, false, &reason));
    EXPECT_EQ(reason, 0x87) << topic;
  }
  // Events may be read; request topics cannot be subscribed to (nothing is ever delivered
  // there); requests themselves pass the ACL's "$DB/#".
  std::vector<uint8_t> codes;
  ASSERT_TRUE(c.subscribe(
      {v5::sub("$DB/orders/events/#", 1), v5::sub("$DB/orders/create", 1), v5::sub("$SYS/#", 0)}, 0,
      {}, &codes));
  EXPECT_EQ(codes, (std::vector<uint8_t>{1, 0x87, 0}));
  ASSERT_TRUE(c.publish("$DB/orders/create", R"({"id":"o1"})", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0);
  auto event = c.recv_publish(milliseconds(5000));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->topic, "$DB/orders/events/o1");
}

TEST_F(DbAuthTest, OwnedRecordsAreSeenAndChangedOnlyByTheirOwnerAndAdmins) {
  ASSERT_TRUE(start_secured());
  DbUser alice(port(), "a", "alice");
  DbUser bob(port(), "b", "bob");
  DbUser root(port(), "r", "root");
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(root.connect());

  // A create without the owner field gets the creator's name.
  Json created = alice.request("$DB/notes/create", {{"id", "n1"}, {"text", "alice's"}});
  ASSERT_TRUE(is_ok(created));
  EXPECT_EQ(created["data"]["owner"], "alice");
  ASSERT_TRUE(is_ok(bob.request("$DB/notes/create", {{"id", "n2"}, {"owner", "bob"}})));
  // Naming someone else is refused; an admin may.
  uint8_t puback = 0xFF;
  EXPECT_TRUE(is_error(bob.request("$DB/notes/create", {{"id", "n3"}, {"owner", "alice"}}), 403));
  ASSERT_TRUE(is_ok(root.request("$DB/notes/create", {{"id", "n3"}, {"owner", "alice"}})));

  // Reads: another user's record reads as absent.
  EXPECT_TRUE(is_error(bob.request("$DB/notes/n1", Json::object()), 404));
  EXPECT_TRUE(is_ok(alice.request("$DB/notes/n1", Json::object())));
  EXPECT_TRUE(is_ok(root.request("$DB/notes/n2", Json::object())));
  // Lists: filtered before limits apply.
  Json list = alice.request("$DB/notes/list", Json::object());
  ASSERT_TRUE(is_ok(list));
  EXPECT_EQ(ids_of(list["data"]), (std::vector<std::string>{"n1", "n3"}));
  list = bob.request("$DB/notes/list", {{"limit", 1}});
  ASSERT_TRUE(is_ok(list));
  EXPECT_EQ(ids_of(list["data"]), std::vector<std::string>{"n2"});
  list = root.request("$DB/notes/list", Json::object());
  EXPECT_EQ(ids_of(list["data"]), (std::vector<std::string>{"n1", "n2", "n3"}));

  // Updates and deletes of another's record: 404; nothing changed.
  EXPECT_TRUE(is_error(bob.request("$DB/notes/n1/update", {{"text", "bob was here"}}), 404));
  EXPECT_TRUE(is_error(bob.request("$DB/notes/n1/delete", Json::object(), &puback), 404));
  EXPECT_EQ(puback, 0);
  Json n1 = alice.request("$DB/notes/n1", Json::object());
  ASSERT_TRUE(is_ok(n1));
  EXPECT_EQ(n1["data"]["text"], "alice's");
  // A record cannot be given away.
  EXPECT_TRUE(is_error(bob.request("$DB/notes/n2/update", {{"owner", "alice"}}), 403));
  EXPECT_TRUE(is_ok(bob.request("$DB/notes/n2/update", {{"text", "mine"}, {"owner", "bob"}})));
  EXPECT_TRUE(is_ok(alice.request("$DB/notes/n3/delete", Json::object())));
}

TEST_F(DbAuthTest, OwnedRecordsEventsReplayAndIncludesReachOnlyTheirOwner) {
  ASSERT_TRUE(start_secured());
  DbUser alice(port(), "a", "alice");
  DbUser root(port(), "r", "root");
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(root.connect());
  ASSERT_TRUE(alice.client().subscribe({v5::sub("$DB/notes/events/#", 1)}, 0, {1}));
  ASSERT_TRUE(root.client().subscribe({v5::sub("$DB/notes/events/#", 1)}, 0, {1}));
  {
    // bob's persistent session is away while the events are made: it must get his only.
    DbUser bob(port(), "b", "bob");
    ASSERT_TRUE(bob.connect(3600));
    ASSERT_TRUE(bob.client().subscribe({v5::sub("$DB/notes/events/#", 1)}, 0, {1}));
    ASSERT_TRUE(bob.client().disconnect());
  }
  ASSERT_TRUE(is_ok(alice.request("$DB/notes/create", {{"id", "n1"}})));
  ASSERT_TRUE(is_ok(root.request("$DB/notes/create", {{"id", "n2"}, {"owner", "bob"}})));
  ASSERT_TRUE(is_ok(alice.request("$DB/notes/n1/update", {{"text", "x"}})));
  ASSERT_TRUE(is_ok(root.request("$DB/notes/n2/delete", Json::object())));

  std::vector<Json> seen = root.events(milliseconds(1500));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(ids_of(seen), (std::vector<std::string>{"n1", "n2", "n1", "n2"}));
  EXPECT_EQ(ids_of(alice.events()), (std::vector<std::string>{"n1", "n1"}));

  DbUser bob(port(), "b", "bob");
  m::ConnectPacket p = V5Client::connect_packet("b", /*clean_start=*/false, 3600);
  p.username = "bob";
  p.password = kPassword;
  m::ConnackPacket ack;
  ASSERT_TRUE(bob.client().connect(p, &ack));
  EXPECT_TRUE(ack.session_present);
  std::vector<Json> bobs = bob.events(milliseconds(1500));
  EXPECT_EQ(ids_of(bobs), (std::vector<std::string>{"n2", "n2"}));
  for (const Json& e : bobs) EXPECT_EQ(e["data"]["owner"], "bob") << e.dump();
  ASSERT_TRUE(bob.client().disconnect());

  DbUser bob2(port(), "b2", "bob");
  ASSERT_TRUE(bob2.connect());

  // Replay: the user's events only, the admin's all.
  Json replay = bob2.request("$DB/_events/replay", {{"entity", "notes"}, {"since", 0}});
  ASSERT_TRUE(is_ok(replay));
  EXPECT_EQ(ids_of(replay["data"]), (std::vector<std::string>{"n2", "n2"}));
  replay = alice.request("$DB/_events/replay", {{"entity", "notes"}, {"since", 0}, {"limit", 1}});
  ASSERT_TRUE(is_ok(replay));
  EXPECT_EQ(ids_of(replay["data"]), std::vector<std::string>{"n1"});
  replay = root.request("$DB/_events/replay", {{"entity", "notes"}, {"since", 0}});
  EXPECT_EQ(replay["data"].size(), 4u);

  // Includes of an owned entity: only the user's records are nested.
  ASSERT_TRUE(is_ok(bob2.request("$DB/orders/create", {{"id", "o1"}, {"notes_id", "n1"}})));
  const Json with_note = {{"includes", {"notes"}}};
  Json order = bob2.request("$DB/orders/o1", with_note);
  ASSERT_TRUE(is_ok(order));
  EXPECT_FALSE(order["data"].contains("notes")) << order.dump();
  order = alice.request("$DB/orders/o1", with_note);
  ASSERT_TRUE(is_ok(order));
  EXPECT_EQ(order["data"]["notes"]["id"], "n1") << order.dump();
  Json orders = bob2.request("$DB/orders/list", with_note);
  ASSERT_TRUE(is_ok(orders));
  ASSERT_EQ(orders["data"].size(), 1u);
  EXPECT_FALSE(orders["data"][0].contains("notes")) << orders.dump();
}

TEST_F(DbAuthTest, ACascadesEventsReachOnlyTheOwnersOfTheRecordsItDeletes) {
  ASSERT_TRUE(start_secured());
  DbUser alice(port(), "a", "alice");
  DbUser bob(port(), "b", "bob");
  DbUser root(port(), "r", "root");
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(root.connect());
  ASSERT_TRUE(is_ok(alice.request("$DB/orders/create", {{"id", "o1"}})));
  ASSERT_TRUE(is_ok(root.request("$DB/_admin/constraint/notes/add", {{"type", "foreign_key"},
                                                                     {"name", "fk_order"},
                                                                     {"field", "order_id"},
                                                                     {"target_entity", "orders"},
                                                                     {"target_field", "id"},
                                                                     {"on_delete", "cascade"}})));
  ASSERT_TRUE(is_ok(alice.request("$DB/notes/create", {{"id", "na"}, {"order_id", "o1"}})));
  ASSERT_TRUE(is_ok(bob.request("$DB/notes/create", {{"id", "nb"}, {"order_id", "o1"}})));
  for (DbUser* u : {&alice, &bob, &root}) {
    ASSERT_TRUE(u->client().subscribe({v5::sub("$DB/notes/events/#", 1)}, 0, {1}));
  }

  // alice's delete of the order cascades into both notes: each note's delete event goes to
  // its owner (and the admin) only, and her answer names no record of bob's.
  Json deleted = alice.request("$DB/orders/o1/delete", Json::object());
  ASSERT_TRUE(is_ok(deleted));
  EXPECT_EQ(deleted.dump().find("nb"), std::string::npos) << deleted.dump();
  EXPECT_EQ(ids_of(alice.events(milliseconds(1000))), std::vector<std::string>{"na"});
  EXPECT_EQ(ids_of(bob.events(milliseconds(1000))), std::vector<std::string>{"nb"});
  std::vector<std::string> all = ids_of(root.events(milliseconds(1000)));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"na", "nb"}));
  EXPECT_TRUE(is_error(root.request("$DB/notes/nb", Json::object()), 404));
}

}  // namespace
}  // namespace topicdb::itest

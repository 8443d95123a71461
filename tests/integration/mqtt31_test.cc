// MQTT 3.1 ("MQIsdp", level 3) with real 3.1 clients: mosquitto_pub / mosquitto_sub
// -V mqttv31, Paho Python's MQTTv31 and raw packets; mixed with 3.1.1 and 5 clients, and
// the places where 3.1 differs (client id rules, CONNACK, SUBACK).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/raw_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

// The suite's helpers pass `-V mqttv311`; a later -V wins, so appending this selects 3.1.
const std::vector<std::string> kV31Args = {"-V", "mqttv31"};

std::vector<std::string> with_v31(std::vector<std::string> args) {
  args.insert(args.begin(), kV31Args.begin(), kV31Args.end());
  return args;
}

ConnectSpec v31_spec(const std::string& client_id, bool clean_session = true) {
  ConnectSpec spec;
  spec.protocol_name = "MQIsdp";
  spec.protocol_level = 3;
  spec.client_id = client_id;
  spec.clean_session = clean_session;
  return spec;
}

// Sends CONNECT and returns the first packet back (nullopt if none in 3 s).
std::optional<Packet> connect_and_read(RawClient& raw, uint16_t port, const ConnectSpec& spec) {
  if (!raw.connect(port) || !raw.send(connect_packet(spec))) return std::nullopt;
  return raw.recv_packet(milliseconds(3000));
}

// The protocol_version column of a stored session (topicdb serve's SQLite file), -1 if absent.
int stored_protocol_version(const std::string& data_dir, const std::string& client_id) {
  sqlite3* db = nullptr;
  int version = -1;
  if (sqlite3_open_v2((data_dir + "/topicdb.sqlite3").c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT protocol_version FROM broker_sessions WHERE client_id = ?",
                           -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, client_id.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) == SQLITE_ROW) version = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return version;
}

class Mqtt31Test : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--sys-interval", "0"}; }
};

// mosquitto_pub -V mqttv31 to mosquitto_sub -V mqttv31, at each QoS.
TEST_F(Mqtt31Test, MosquittoV31PublishesToV31Subscriber) {
  MosquittoSub sub;
  ASSERT_TRUE(sub.start(port(), with_v31({"-t", "v31/#", "-q", "2"}))) << sub.log();
  for (const char* qos : {"0", "1", "2"}) {
    ASSERT_TRUE(mosquitto_pub(port(), with_v31({"-t", std::string("v31/q") + qos, "-m",
                                                std::string("payload-") + qos, "-q", qos})));
  }
  auto lines = sub.collect(3, milliseconds(5000));
  ASSERT_EQ(lines.size(), 3u) << sub.log();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i].topic, "v31/q" + std::to_string(i));
    EXPECT_EQ(lines[i].payload, "payload-" + std::to_string(i));
    EXPECT_EQ(lines[i].qos, i);  // min(publish QoS, granted 2)
  }
}

// A 3.1 publisher reaches 3.1.1 and 5 subscribers, each at the QoS it was published with.
TEST_F(Mqtt31Test, V31PublisherReachesV311AndV5Subscribers) {
  MosqClient v311(port(), "sub-311");
  ASSERT_TRUE(v311.connect());
  ASSERT_TRUE(v311.subscribe("mix/#", 2));
  v5::MosqSubV5 v5sub;
  ASSERT_TRUE(v5sub.start(port(), "%t|%q|%p", {"-t", "mix/#", "-q", "2"})) << v5sub.log();
  for (const char* qos : {"0", "1", "2"}) {
    ASSERT_TRUE(mosquitto_pub(port(), with_v31({"-t", std::string("mix/q") + qos, "-m",
                                                std::string("from31-") + qos, "-q", qos})));
  }
  std::vector<MosqMessage> got;
  ASSERT_TRUE(v311.receive_n(3, &got));
  auto lines = v5sub.collect(3, milliseconds(5000));
  ASSERT_EQ(lines.size(), 3u) << v5sub.log();
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_EQ(got[i].topic, "mix/q" + n);
    EXPECT_EQ(got[i].payload, "from31-" + n);
    EXPECT_EQ(got[i].qos, i);
    EXPECT_EQ(lines[i], "mix/q" + n + "|" + n + "|from31-" + n);
  }
}

// 3.1.1 and 5 publishers reach a 3.1 subscriber, each at the QoS it was published with.
TEST_F(Mqtt31Test, V311AndV5PublishersReachV31Subscriber) {
  MosquittoSub sub;
  ASSERT_TRUE(sub.start(port(), with_v31({"-t", "into31/#", "-q", "2"}))) << sub.log();
  MosqClient v311(port(), "pub-311");
  ASSERT_TRUE(v311.connect());
  for (int qos = 0; qos <= 2; ++qos) {
    ASSERT_TRUE(v311.publish("into31/311/q" + std::to_string(qos), "a", qos));
  }
  for (const char* qos : {"0", "1", "2"}) {
    ASSERT_TRUE(v5::mosquitto_pub_v5(
        port(), {"-t", std::string("into31/5/q") + qos, "-m", "b", "-q", qos}));
  }
  auto lines = sub.collect(6, milliseconds(5000));
  ASSERT_EQ(lines.size(), 6u) << sub.log();
  // MQTT orders messages per publisher and QoS, not across QoS levels: compare as a set.
  std::set<std::tuple<std::string, std::string, int>> got;
  for (const auto& line : lines) got.emplace(line.topic, line.payload, line.qos);
  std::set<std::tuple<std::string, std::string, int>> want;
  for (int i = 0; i < 6; ++i) {
    const int qos = i % 3;
    want.emplace(std::string(i < 3 ? "into31/311/q" : "into31/5/q") + std::to_string(qos),
                 i < 3 ? "a" : "b", qos);
  }
  EXPECT_EQ(got, want) << sub.log();
}

// MQTT 3.1 §3.1: the client id has 1 to 23 characters; an empty one is refused with CONNACK
// 0x02 whether or not the session is clean (3.1.1 would assign one for a clean session).
TEST_F(Mqtt31Test, EmptyClientIdIsRejectedWith2) {
  for (bool clean : {true, false}) {
    RawClient raw;
    auto packet = connect_and_read(raw, port(), v31_spec("", clean));
    ASSERT_TRUE(packet) << "no CONNACK (clean=" << clean << ")";
    EXPECT_EQ(packet->type(), kConnack) << describe(*packet);
    EXPECT_EQ(packet->body, (Bytes{0x00, 0x02})) << describe(*packet);
    EXPECT_TRUE(raw.wait_closed(milliseconds(3000))) << "not closed after CONNACK 0x02";
  }
}

// Ids longer than 3.1's 23 characters are accepted, as mosquitto does.
TEST_F(Mqtt31Test, ClientIdLongerThan23IsAccepted) {
  const std::string id = "a-3.1-device-with-a-long-client-identifier";  // 42 characters
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), v31_spec(id)));
  ASSERT_TRUE(raw.mqtt_subscribe(1, {{"long/id", 1}}, {1}));
  ASSERT_TRUE(raw.send(publish_packet("long/id", "self", 1, false, false, 2)));
  auto packet = raw.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "long-id client does not receive its own message";
  EXPECT_EQ(parse_publish(*packet)->payload, "self");
}

// MQTT 3.1's CONNACK has no session present flag: a resumed 3.1 session answers 00 00 where
// 3.1.1 answers 01 00, and the session is resumed all the same (its subscription delivers).
TEST_F(Mqtt31Test, SessionPresentIsNeverSetForV31) {
  {
    RawClient first;
    ASSERT_TRUE(first.mqtt_connect(port(), v31_spec("resume-31", false)));
    ASSERT_TRUE(first.mqtt_subscribe(1, {{"resume/t", 1}}, {1}));
    ASSERT_TRUE(first.send(disconnect_packet()));
    EXPECT_TRUE(first.wait_closed(milliseconds(3000)));
  }
  RawClient again;
  auto connack = connect_and_read(again, port(), v31_spec("resume-31", false));
  ASSERT_TRUE(connack) << "no CONNACK";
  EXPECT_EQ(connack->body, (Bytes{0x00, 0x00})) << describe(*connack);
  MosqClient pub(port(), "resume-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("resume/t", "still-subscribed", 1));
  auto packet = again.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "the resumed 3.1 session lost its subscription";
  EXPECT_EQ(parse_publish(*packet)->payload, "still-subscribed");
  ASSERT_TRUE(again.send(puback_packet(parse_publish(*packet)->packet_id)));
  ASSERT_TRUE(again.send(disconnect_packet()));
  EXPECT_TRUE(again.wait_closed(milliseconds(3000)));

  // The same session, now resumed with 3.1.1: the flag is back.
  RawClient v311;
  ConnectSpec spec = v31_spec("resume-31", false);
  spec.protocol_name = "MQTT";
  spec.protocol_level = 4;
  auto connack311 = connect_and_read(v311, port(), spec);
  ASSERT_TRUE(connack311) << "no CONNACK";
  EXPECT_EQ(connack311->body, (Bytes{0x01, 0x00})) << describe(*connack311);
}

// A persistent 3.1 session (mosquitto_sub -V mqttv31 -c) gets the QoS 1 messages queued while
// it was away, also after a broker restart (the stored session keeps level 3).
TEST_F(Mqtt31Test, PersistentV31SessionReceivesQueuedMessages) {
  const std::vector<std::string> args =
      with_v31({"-i", "durable-31", "-c", "-t", "queue31/#", "-q", "1"});
  {
    MosquittoSub sub;
    ASSERT_TRUE(sub.start(port(), args)) << sub.log();
    sub.process().kill_and_reap();  // away without unsubscribing
  }
  MosqClient pub(port(), "queue-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("queue31/a", "queued-1", 1));
  ASSERT_TRUE(pub.publish("queue31/b", "queued-2", 1));
  ASSERT_TRUE(pub.disconnect());
  {
    // Not MosquittoSub: the queued messages come right after CONNACK, before the SUBACK it
    // waits for. -C 2 makes mosquitto_sub exit after two messages.
    Subprocess sub;
    std::vector<std::string> argv = {
        STDBUF, "-oL",          MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", std::to_string(port()),
        "-F",   "MSG|%t|%q|%p", "-C",          "2"};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_TRUE(sub.spawn(argv, Subprocess::Stderr::kMergeIntoStdout));
    bool eof = false;
    const std::string out = sub.read_all(milliseconds(10000), &eof);
    EXPECT_TRUE(eof) << "mosquitto_sub -C 2 did not finish: " << out;
    EXPECT_EQ(out, "MSG|queue31/a|1|queued-1\nMSG|queue31/b|1|queued-2\n");
    sub.kill_and_reap();
  }
  MosqClient pub2(port(), "queue-pub");
  ASSERT_TRUE(pub2.connect());
  ASSERT_TRUE(pub2.publish("queue31/c", "across-restart", 1));
  ASSERT_TRUE(pub2.disconnect());
  ASSERT_TRUE(broker_.stop());
  // Stored as level 3, so that the session is restored as 3.1 (MQTT 3.1.1 would store 4).
  EXPECT_EQ(stored_protocol_version(broker_.data_dir(), "durable-31"), 3);
  ASSERT_TRUE(broker_.restart());

  // Raw, to see the CONNACK bytes of the restored session: still no session present.
  RawClient raw;
  auto connack = connect_and_read(raw, port(), v31_spec("durable-31", false));
  ASSERT_TRUE(connack) << "no CONNACK after restart";
  EXPECT_EQ(connack->body, (Bytes{0x00, 0x00})) << describe(*connack);
  auto packet = raw.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "queued message lost across the restart";
  auto publish = parse_publish(*packet);
  ASSERT_TRUE(publish);
  EXPECT_EQ(publish->topic, "queue31/c");
  EXPECT_EQ(publish->payload, "across-restart");
  EXPECT_EQ(publish->qos, 1);
}

// MQTT 3.1 has no SUBACK failure code: a filter the broker refuses (here a malformed shared
// subscription) is answered with the requested QoS and delivers nothing; 3.1.1 gets 0x80.
TEST_F(Mqtt31Test, RefusedSubscriptionLooksGrantedButDeliversNothing) {
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), v31_spec("suback-31")));
  ASSERT_TRUE(raw.mqtt_subscribe(1, {{"$share/g", 1}, {"ok/t", 2}}, {1, 2}));
  RawClient v311;
  ConnectSpec spec;
  spec.client_id = "suback-311";
  ASSERT_TRUE(v311.mqtt_connect(port(), spec));
  ASSERT_TRUE(v311.mqtt_subscribe(1, {{"$share/g", 1}, {"ok/t", 2}}, {0x80, 2}));

  MosqClient pub(port(), "suback-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("$share/g", "not-for-anyone", 1));
  ASSERT_TRUE(pub.publish("ok/t", "marker", 1));
  // Deliveries keep their order, so the marker arriving first proves nothing came before.
  auto packet = raw.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "no delivery on the granted filter";
  EXPECT_EQ(parse_publish(*packet)->topic, "ok/t");
  for (const Packet& skipped : raw.skipped()) {
    EXPECT_NE(skipped.type(), kPublish) << describe(skipped);
  }
}

// Paho Python with protocol=MQTTv31 (paho_mqttv31_client.py): connect, subscribe at QoS 1,
// publish QoS 1 to itself, receive it. A 3.1.1 subscriber sees the same message.
TEST_F(Mqtt31Test, PahoPythonMqttV31RoundTrip) {
  MosqClient watcher(port(), "paho-watcher");
  ASSERT_TRUE(watcher.connect());
  ASSERT_TRUE(watcher.subscribe("paho31/t", 1));
  ProcessResult r = run_process({PAHO_PYTHON3, PAHO_MQTTV31_SCRIPT, "127.0.0.1",
                                 std::to_string(port()), "paho-31-client", "paho31/t", "hello-31"},
                                milliseconds(20000));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("CONNACK rc=0 session_present=0\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SUBACK granted=1\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PUBACK mid="), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MESSAGE topic=paho31/t qos=1 payload=hello-31\n"), std::string::npos)
      << r.output;
  auto seen = watcher.receive();
  ASSERT_TRUE(seen) << "the 3.1.1 subscriber got nothing from the Paho 3.1 publisher";
  EXPECT_EQ(seen->payload, "hello-31");
  EXPECT_EQ(seen->qos, 1);
}

}  // namespace
}  // namespace topicdb::itest

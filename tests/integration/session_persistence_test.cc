// Persistent sessions across broker restarts (graceful SIGTERM and SIGKILL crash): clean
// session 0 sessions, their subscriptions, queued QoS 1/2 messages, in-flight messages and
// retained messages are restored from --data-dir.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class SessionPersistenceTest : public BrokerTest {
 protected:
  // A durable client that subscribes and goes away (DISCONNECT).
  void create_offline_session(const std::string& client_id,
                              const std::vector<std::pair<std::string, int>>& filters) {
    PahoClient client(port(), client_id);
    PahoConnectOptions options;
    options.clean_session = false;
    ASSERT_TRUE(client.connect(options));
    for (const auto& [filter, qos] : filters) ASSERT_TRUE(client.subscribe(filter, qos));
    ASSERT_TRUE(client.disconnect());
  }

  // Reconnects a durable client with clean session 0 and expects session present = 1.
  std::unique_ptr<PahoClient> reconnect(const std::string& client_id) {
    auto client = std::make_unique<PahoClient>(port(), client_id);
    PahoConnectOptions options;
    options.clean_session = false;
    bool session_present = false;
    EXPECT_TRUE(client->connect(options, &session_present));
    EXPECT_TRUE(session_present) << "persistent session '" << client_id << "' not restored";
    return client;
  }

  void publish_all(int count, const std::string& topic, int qos, const std::string& prefix) {
    MosqClient pub(port(), "publisher");
    ASSERT_TRUE(pub.connect());
    // Paho's publish() returns after the PUBACK / PUBCOMP: the broker owns the messages.
    for (int i = 0; i < count; ++i)
      ASSERT_TRUE(pub.publish(topic, prefix + std::to_string(i), qos));
    ASSERT_TRUE(pub.disconnect());
  }

  void expect_queued(PahoClient& client, int count, const std::string& prefix, int qos) {
    std::vector<::mqtt::const_message_ptr> got;
    ASSERT_TRUE(client.receive_n(static_cast<size_t>(count), &got));
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(got[i]->get_payload_str(), prefix + std::to_string(i)) << "at index " << i;
      EXPECT_EQ(got[i]->get_qos(), qos);
    }
    EXPECT_TRUE(client.expect_no_message(milliseconds(300)));
  }
};

TEST_F(SessionPersistenceTest, QueuedMessagesSurviveGracefulRestart) {
  create_offline_session("durable", {{"persist/q", 1}});
  ASSERT_NO_FATAL_FAILURE(publish_all(5, "persist/q", 1, "m"));
  {
    MosqClient pub(port(), "retainer");
    ASSERT_TRUE(pub.connect());
    ASSERT_TRUE(pub.publish("persist/retained", "kept", 1, true));
  }
  ASSERT_TRUE(broker_.restart());  // SIGTERM, exit code 0, start on the same data dir

  auto client = reconnect("durable");
  ASSERT_NO_FATAL_FAILURE(expect_queued(*client, 5, "m", 1));

  MosqClient late(port(), "late");
  ASSERT_TRUE(late.connect());
  ASSERT_TRUE(late.subscribe("persist/retained", 1));
  auto msg = late.receive();
  ASSERT_TRUE(msg) << "retained message lost in a graceful restart";
  EXPECT_EQ(msg->payload, "kept");
  EXPECT_TRUE(msg->retain);
}

// The crash case: SIGKILL right after the publishers got their PUBACK / PUBCOMP.
TEST_F(SessionPersistenceTest, QueuedMessagesSurviveCrashAfterPuback) {
  create_offline_session("durable", {{"crash/q1", 1}, {"crash/q2", 2}});
  ASSERT_NO_FATAL_FAILURE(publish_all(4, "crash/q1", 1, "one-"));
  ASSERT_NO_FATAL_FAILURE(publish_all(3, "crash/q2", 2, "two-"));
  broker_.kill();
  ASSERT_TRUE(broker_.start(dir_.path()));

  auto client = reconnect("durable");
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(client->receive_n(7, &got));
  std::vector<std::string> q1, q2;
  for (const auto& m : got) {
    if (m->get_topic() == "crash/q1") {
      q1.push_back(m->get_payload_str());
      EXPECT_EQ(m->get_qos(), 1);
    } else {
      q2.push_back(m->get_payload_str());
      EXPECT_EQ(m->get_qos(), 2);
    }
  }
  EXPECT_EQ(q1, (std::vector<std::string>{"one-0", "one-1", "one-2", "one-3"}));
  EXPECT_EQ(q2, (std::vector<std::string>{"two-0", "two-1", "two-2"}));
  EXPECT_TRUE(client->expect_no_message(milliseconds(300)));
}

TEST_F(SessionPersistenceTest, RetainedMessagesSurviveCrash) {
  {
    MosqClient pub(port(), "retainer");
    ASSERT_TRUE(pub.connect());
    ASSERT_TRUE(pub.publish("crash/ret/a", "old", 1, true));
    ASSERT_TRUE(pub.publish("crash/ret/a", "new", 1, true));  // replaced
    ASSERT_TRUE(pub.publish("crash/ret/b", "gone", 1, true));
    ASSERT_TRUE(pub.publish("crash/ret/b", "", 1, true));  // cleared
    ASSERT_TRUE(pub.publish("crash/ret/c", "c", 2, true));
  }
  ASSERT_TRUE(broker_.crash_and_restart());
  PahoClient sub(port(), "sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("crash/ret/#", 2));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(2, &got));
  std::vector<std::string> seen;
  for (const auto& m : got) seen.push_back(m->get_topic() + "=" + m->get_payload_str());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"crash/ret/a=new", "crash/ret/c=c"}));
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300))) << "cleared retained message came back";
}

// Subscriptions of a persistent session are restored: messages published after the restart
// reach the client without it subscribing again.
TEST_F(SessionPersistenceTest, SubscriptionsSurviveRestart) {
  create_offline_session("durable", {{"subs/+/a", 1}, {"subs/exact", 2}});
  ASSERT_TRUE(broker_.restart());
  auto client = reconnect("durable");
  MosqClient pub(port(), "publisher");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("subs/x/a", "wild", 1));
  ASSERT_TRUE(pub.publish("subs/exact", "exact", 2));
  ASSERT_TRUE(pub.publish("subs/x/b", "no match", 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(client->receive_n(2, &got));
  EXPECT_EQ(got[0]->get_payload_str(), "wild");
  EXPECT_EQ(got[0]->get_qos(), 1);
  EXPECT_EQ(got[1]->get_payload_str(), "exact");
  EXPECT_EQ(got[1]->get_qos(), 2);
  EXPECT_TRUE(client->expect_no_message(milliseconds(300)));
}

// Messages sent but not acknowledged before the restart are redelivered with DUP=1
// (MQTT-4.4.0-1, MQTT-3.3.1-1).
TEST_F(SessionPersistenceTest, UnackedInflightRedeliveredAfterRestart) {
  ConnectSpec spec;
  spec.client_id = "raw-durable";
  spec.clean_session = false;
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), spec));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"inflight/t", 1}}, {1}));
    ASSERT_NO_FATAL_FAILURE(publish_all(2, "inflight/t", 1, "p"));
    for (int i = 0; i < 2; ++i) {
      auto packet = raw.recv_packet_of_type(kPublish);
      ASSERT_TRUE(packet) << "message " << i << " not delivered";
    }
    raw.close();  // no PUBACKs
  }
  ASSERT_TRUE(broker_.restart());
  RawClient raw;
  bool session_present = false;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec, &session_present));
  EXPECT_TRUE(session_present);
  for (int i = 0; i < 2; ++i) {
    auto packet = raw.recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet) << "unacknowledged message " << i << " not redelivered after restart";
    auto view = parse_publish(*packet);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->payload, "p" + std::to_string(i));
    EXPECT_TRUE(view->dup) << "redelivery must set DUP=1";
    EXPECT_EQ(view->qos, 1);
    ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
  }
  EXPECT_FALSE(raw.recv_packet_of_type(kPublish, milliseconds(500)));
}

// Connecting with clean session 1 discards the persisted session (MQTT-3.1.2-6), also across
// a restart; a later clean session 0 connect starts from scratch (session present 0).
TEST_F(SessionPersistenceTest, CleanSessionDiscardsPersistedSession) {
  create_offline_session("durable", {{"discard/t", 1}});
  ASSERT_NO_FATAL_FAILURE(publish_all(2, "discard/t", 1, "q"));
  ASSERT_TRUE(broker_.restart());
  {
    PahoClient clean(port(), "durable");
    bool session_present = true;
    ASSERT_TRUE(clean.connect({}, &session_present));
    EXPECT_FALSE(session_present);
    EXPECT_TRUE(clean.expect_no_message(milliseconds(500))) << "queued messages leaked";
    ASSERT_TRUE(clean.disconnect());
  }
  ASSERT_TRUE(broker_.restart());
  PahoClient client(port(), "durable");
  PahoConnectOptions options;
  options.clean_session = false;
  bool session_present = true;
  ASSERT_TRUE(client.connect(options, &session_present));
  EXPECT_FALSE(session_present) << "discarded session came back after restart";
  MosqClient pub(port(), "publisher");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("discard/t", "late", 1));
  EXPECT_TRUE(client.expect_no_message(milliseconds(500))) << "discarded subscription survived";
}

// Several restarts in a row (alternating graceful and crash) keep the queue intact.
TEST_F(SessionPersistenceTest, SurvivesRepeatedRestarts) {
  create_offline_session("durable", {{"multi/t", 1}});
  ASSERT_NO_FATAL_FAILURE(publish_all(1, "multi/t", 1, "a"));
  ASSERT_TRUE(broker_.restart());
  ASSERT_NO_FATAL_FAILURE(publish_all(1, "multi/t", 1, "b"));
  ASSERT_TRUE(broker_.crash_and_restart());
  ASSERT_NO_FATAL_FAILURE(publish_all(1, "multi/t", 1, "c"));
  ASSERT_TRUE(broker_.restart());
  auto client = reconnect("durable");
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(client->receive_n(3, &got));
  EXPECT_EQ(got[0]->get_payload_str(), "a0");
  EXPECT_EQ(got[1]->get_payload_str(), "b0");
  EXPECT_EQ(got[2]->get_payload_str(), "c0");
}

// Overlapping subscriptions of an offline session queue a single copy at the maximum QoS
// (MQTT-3.3.5-1), also after a restart.
TEST_F(SessionPersistenceTest, OverlappingSubscriptionsQueueOneCopy) {
  create_offline_session("durable", {{"ovq/#", 1}, {"ovq/a", 2}, {"ovq/+", 0}});
  ASSERT_NO_FATAL_FAILURE(publish_all(1, "ovq/a", 2, "x"));
  ASSERT_TRUE(broker_.restart());
  auto client = reconnect("durable");
  auto msg = client->receive();
  ASSERT_TRUE(msg) << "queued message lost";
  EXPECT_EQ(msg->get_payload_str(), "x0");
  EXPECT_EQ(msg->get_qos(), 2);
  EXPECT_TRUE(client->expect_no_message(milliseconds(500))) << "more than one copy queued";
}

// UNSUBSCRIBE on a persistent session is persisted too.
TEST_F(SessionPersistenceTest, UnsubscribeIsPersisted) {
  create_offline_session("durable", {{"unsub/keep", 1}, {"unsub/drop", 1}});
  {
    auto client = reconnect("durable");
    ASSERT_TRUE(client->unsubscribe("unsub/drop"));
    ASSERT_TRUE(client->disconnect());
  }
  ASSERT_TRUE(broker_.crash_and_restart());
  ASSERT_NO_FATAL_FAILURE(publish_all(1, "unsub/drop", 1, "dropped"));
  ASSERT_NO_FATAL_FAILURE(publish_all(1, "unsub/keep", 1, "kept"));
  auto client = reconnect("durable");
  auto msg = client->receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_topic(), "unsub/keep") << "removed subscription came back after restart";
  EXPECT_TRUE(client->expect_no_message(milliseconds(300)));
}

// A clean session 1 client's subscriptions are not persisted.
TEST_F(SessionPersistenceTest, CleanSessionIsNotPersisted) {
  {
    PahoClient client(port(), "ephemeral");
    ASSERT_TRUE(client.connect());
    ASSERT_TRUE(client.subscribe("eph/t", 1));
    ASSERT_TRUE(broker_.restart());
  }
  PahoClient client(port(), "ephemeral");
  PahoConnectOptions options;
  options.clean_session = false;
  bool session_present = true;
  ASSERT_TRUE(client.connect(options, &session_present));
  EXPECT_FALSE(session_present) << "clean session 1 state survived a restart";
  MosqClient pub(port(), "publisher");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("eph/t", "x", 1));
  EXPECT_TRUE(client.expect_no_message(milliseconds(500)));
}

// A longer offline queue comes back complete and in order after a crash.
TEST_F(SessionPersistenceTest, LongQueueSurvivesCrashInOrder) {
  constexpr int kCount = 200;
  create_offline_session("durable", {{"long/q", 1}});
  ASSERT_NO_FATAL_FAILURE(publish_all(kCount, "long/q", 1, "n"));
  ASSERT_TRUE(broker_.crash_and_restart());
  auto client = reconnect("durable");
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(client->receive_n(kCount, &got, milliseconds(10000)));
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(got[i]->get_payload_str(), "n" + std::to_string(i)) << "at index " << i;
  }
}

// Exactly-once across a crash: the broker acknowledged a QoS 2 PUBLISH with PUBREC, then was
// SIGKILLed. The publisher (clean session 0) reconnects and continues with PUBREL (it must not
// re-send the PUBLISH, §4.3.3); the broker answers PUBCOMP and the offline subscriber gets the
// message exactly once.
TEST_F(SessionPersistenceTest, Qos2ExactlyOnceAcrossCrash) {
  create_offline_session("durable", {{"eo/t", 2}});
  ConnectSpec spec;
  spec.client_id = "raw-q2-pub";
  spec.clean_session = false;
  {
    RawClient pub;
    ASSERT_TRUE(pub.mqtt_connect(port(), spec));
    ASSERT_TRUE(pub.send(publish_packet("eo/t", "exactly once", 2, false, false, 42)));
    auto pubrec = pub.recv_packet(milliseconds(3000));
    ASSERT_TRUE(pubrec);
    ASSERT_EQ(pubrec->type(), kPubrec) << describe(*pubrec);
  }
  ASSERT_TRUE(broker_.crash_and_restart());
  RawClient pub;
  bool session_present = false;
  ASSERT_TRUE(pub.mqtt_connect(port(), spec, &session_present));
  EXPECT_TRUE(session_present);
  ASSERT_TRUE(pub.send(pubrel_packet(42)));
  auto pubcomp = pub.recv_packet(milliseconds(3000));
  ASSERT_TRUE(pubcomp) << "no PUBCOMP for the PUBREL after the restart";
  EXPECT_EQ(pubcomp->type(), kPubcomp) << describe(*pubcomp);
  EXPECT_EQ(pubcomp->packet_id(), 42);

  auto client = reconnect("durable");
  auto msg = client->receive();
  ASSERT_TRUE(msg) << "PUBREC'ed QoS 2 message lost in the crash";
  EXPECT_EQ(msg->get_payload_str(), "exactly once");
  EXPECT_TRUE(client->expect_no_message(milliseconds(500))) << "delivered more than once";
}

}  // namespace
}  // namespace topicdb::itest

// Users and ACLs with the real binary: mosquitto-format password and ACL files written by
// the test, wrong passwords refused (MQTT 5 and 3.1.1 codes) and slowed down, `topicdb
// passwd`, SIGHUP reloading without dropping connections, ACL allow/deny for publish and
// subscribe under MQTT 5, 3.1.1 and 3.1, and the protections no ACL can lift.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "plugins/password_file.h"
#include "plugins/scram_auth.h"
#include "tests/integration/broker_process.h"
#include "tests/integration/raw_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using v5::V5Client;
namespace m = ::topicdb::mqtt;

// mosquitto's own test file (test/broker/01-connect-uname-password-denied.pwfile): user
// "user", password "password", in the $6$ format of mosquitto before 1.6.
constexpr char kMosquittoUserLine[] =
    "user:$6$vZY4TS+/HBxHw38S$vvjVFECzb8dyuu/mruD2QKTfdFn0WmKxbc+1TsdB0L8EdHk3v9JRmfjHd56+VaTnUcSZ"
    "OZ/hzkdvWCtxlX7AUQ==";
// PBKDF2-SHA512 ($7$, mosquitto 2.0's default 101 iterations) of "correct horse", salt bytes
// 1..12, computed outside this code base (Python's hashlib).
constexpr char kAliceLine[] =
    "alice:$7$101$AQIDBAUGBwgJCgsM$mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD+cyTDcrMk08Rnc3N+vIiTgRJqnol"
    "JL9TU+/R/F+mbz31mQG16jg==";
constexpr char kAlicePassword[] = "correct horse";

class AuthTest : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  ::testing::AssertionResult start(std::vector<std::string> args) {
    args.insert(args.begin(), {"--sys-interval", "0"});
    return broker_.start(dir_.path(), args);
  }
  uint16_t port() const { return broker_.port(); }

  static m::ConnectPacket v5_connect(const std::string& id, std::optional<std::string> user,
                                     std::optional<std::string> password) {
    m::ConnectPacket p = V5Client::connect_packet(id);
    p.username = std::move(user);
    p.password = std::move(password);
    return p;
  }
  // A 3.1.1 (or 3.1) CONNECT; returns the CONNACK return code, -1 without one.
  int v311_connect(RawClient& raw, const std::string& id, std::optional<std::string> user,
                   std::optional<std::string> password, uint8_t level = 4) {
    ConnectSpec spec;
    spec.client_id = id;
    spec.username = std::move(user);
    spec.password = std::move(password);
    if (level == 3) {
      spec.protocol_name = "MQIsdp";
      spec.protocol_level = 3;
    }
    if (!raw.connect(port()) || !raw.send(connect_packet(spec))) return -1;
    auto ack = raw.recv_packet_of_type(2, milliseconds(8000));
    if (!ack || ack->body.size() < 2) return -1;
    return ack->body[1];
  }

  TempDir dir_;
  BrokerProcess broker_;
};

TEST_F(AuthTest, MosquittoPasswordFileLetsTheRightPasswordsIn) {
  const std::string pw = file("passwd", std::string("# made by mosquitto\n") + kAliceLine + "\n" +
                                            kMosquittoUserLine + "\n");
  ASSERT_TRUE(start({"--password-file", pw}));
  V5Client alice(port());
  EXPECT_TRUE(alice.connect(v5_connect("a", "alice", kAlicePassword)));
  V5Client user(port());
  EXPECT_TRUE(user.connect(v5_connect("u", "user", "password")));
  RawClient old;
  EXPECT_EQ(v311_connect(old, "o", "user", "password"), 0);
  // Anonymous access is off once a password file is configured: "not authorized".
  V5Client anon(port());
  EXPECT_TRUE(anon.connect(v5_connect("n", std::nullopt, std::nullopt), nullptr,
                           m::reason::kNotAuthorized));
  RawClient anon311;
  EXPECT_EQ(v311_connect(anon311, "n3", std::nullopt, std::nullopt), 5);
}

TEST_F(AuthTest, AllowAnonymousTrueKeepsAnonymousClientsIn) {
  const std::string pw = file("passwd", std::string(kAliceLine) + "\n");
  ASSERT_TRUE(start({"--password-file", pw, "--allow-anonymous", "true"}));
  V5Client anon(port());
  EXPECT_TRUE(anon.connect(v5_connect("n", std::nullopt, std::nullopt)));
  V5Client wrong(port());
  EXPECT_TRUE(
      wrong.connect(v5_connect("w", "alice", "nope"), nullptr, m::reason::kBadUserNameOrPassword));
}

TEST_F(AuthTest, WrongPasswordsAreRefusedLaterEachTimeWithinABound) {
  const std::string pw = file("passwd", std::string(kAliceLine) + "\n");
  ASSERT_TRUE(start({"--password-file", pw, "--auth-fail-delay-ms", "300"}));
  auto refused_after = [&](bool v5, const char* user) -> int64_t {
    auto t0 = SteadyClock::now();
    if (v5) {
      V5Client c(port());
      EXPECT_TRUE(
          c.connect(v5_connect("x", user, "wrong"), nullptr, m::reason::kBadUserNameOrPassword));
    } else {
      RawClient raw;
      EXPECT_EQ(v311_connect(raw, "x", user, "wrong"), 5);  // not authorized, as mosquitto
    }
    return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - t0).count();
  };
  const int64_t first = refused_after(true, "alice");
  const int64_t second = refused_after(false, "alice");
  const int64_t third = refused_after(true, "nobody");  // unknown users count the same
  EXPECT_GE(first, 300);
  EXPECT_GE(second, 600);
  EXPECT_GT(second, first);
  EXPECT_GE(third, 1200);
  EXPECT_LT(third, 4800 + 1500);  // doubling stops at 16 x the base
  // The right password still gets in (after its own check; the throttle only delays
  // refusals).
  V5Client alice(port());
  EXPECT_TRUE(alice.connect(v5_connect("a", "alice", kAlicePassword)));
}

TEST_F(AuthTest, PasswdCommandWritesAFileTheBrokerAccepts) {
  const std::string pw = dir_.path() + "/made-by-topicdb";
  const std::string add = std::string("printf 'pa55 word\\n' | ") + TOPICDB_BINARY +
                          " passwd add --iterations 1000 " + pw + " bob";
  ProcessResult r = run_process({"/bin/sh", "-c", add}, milliseconds(20000));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_process(
      {"/bin/sh", "-c",
       std::string("printf 'x\\n' | ") + TOPICDB_BINARY + " passwd add " + pw + " carol"},
      milliseconds(20000));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st {};
  ASSERT_EQ(stat(pw.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(pw);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("bob:$7$1000$"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("carol:$7$210000$"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("pa55"), std::string::npos);

  r = run_process({TOPICDB_BINARY, "passwd", "list", pw}, milliseconds(5000));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "bob\ncarol\n");
  r = run_process({TOPICDB_BINARY, "passwd", "remove", pw, "carol"}, milliseconds(5000));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_process({TOPICDB_BINARY, "passwd", "remove", pw, "carol"}, milliseconds(5000));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  r = run_process(
      {"/bin/sh", "-c", std::string(TOPICDB_BINARY) + " passwd add " + pw + " dave </dev/null"},
      milliseconds(5000));
  EXPECT_NE(r.exit_code, 0) << "no password on stdin must fail";

  ASSERT_TRUE(start({"--password-file", pw}));
  V5Client bob(port());
  EXPECT_TRUE(bob.connect(v5_connect("b", "bob", "pa55 word")));
  V5Client carol(port());
  EXPECT_TRUE(
      carol.connect(v5_connect("c", "carol", "x"), nullptr, m::reason::kBadUserNameOrPassword));
}

TEST_F(AuthTest, SighupAddsAUserWithoutDroppingConnections) {
  const std::string pw = file("passwd", std::string(kAliceLine) + "\n");
  const std::string acl = file("acl", "user alice\ntopic readwrite a/#\n");
  ASSERT_TRUE(start({"--password-file", pw, "--acl-file", acl, "--auth-fail-delay-ms", "0"}));
  V5Client alice(port());
  ASSERT_TRUE(alice.connect(v5_connect("a", "alice", kAlicePassword)));
  ASSERT_TRUE(alice.subscribe("a/#", 1));
  V5Client early(port());
  ASSERT_TRUE(early.connect(v5_connect("u1", "user", "password"), nullptr,
                            m::reason::kBadUserNameOrPassword));

  file("passwd", std::string(kAliceLine) + "\n" + kMosquittoUserLine + "\n");
  file("acl", "user alice\ntopic readwrite a/#\nuser user\ntopic write a/#\n");
  ASSERT_EQ(kill(broker_.pid(), SIGHUP), 0);
  bool in = wait_until(
      [&] {
        V5Client c(port());
        m::ConnackPacket ack;
        return c.connect(v5_connect("u2", "user", "password"), &ack, 0) && ack.reason_code == 0;
      },
      milliseconds(5000), milliseconds(50));
  ASSERT_TRUE(in) << broker_.stderr_tail();
  // The new user publishes under the new ACL to the subscriber that never left.
  V5Client user(port());
  ASSERT_TRUE(user.connect(v5_connect("u3", "user", "password")));
  ASSERT_TRUE(user.publish("a/hello", "after reload", 1));
  auto msg = alice.recv_publish();
  ASSERT_TRUE(msg) << "the connection from before SIGHUP no longer receives";
  EXPECT_EQ(msg->payload, "after reload");
  EXPECT_TRUE(alice.ping());

  // A broken file keeps the old one: the broker stays up, users stay in.
  file("acl", "this is not an ACL\n");
  ASSERT_EQ(kill(broker_.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_until(
      [&] { return broker_.stderr_tail().find("keeping the old ACL file") != std::string::npos; },
      milliseconds(5000)));
  ASSERT_TRUE(user.publish("a/again", "still allowed", 1));
  auto again = alice.recv_publish();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->payload, "still allowed");
  EXPECT_TRUE(broker_.stop());
}

// SCRAM-SHA-256 through MQTT 5 AUTH packets, with the keys `topicdb passwd add` wrote.
TEST_F(AuthTest, ScramLoginWithKeysFromPasswd) {
  const std::string pw = dir_.path() + "/passwd";
  ProcessResult r = run_process(
      {"/bin/sh", "-c",
       std::string("printf 'scram pw\\n' | ") + TOPICDB_BINARY + " passwd add " + pw + " sam"},
      milliseconds(20000));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(start({"--password-file", pw, "--acl-file", file("acl", "user sam\ntopic s/#\n")}));

  auto scram = [&](const std::string& user, const std::string& password,
                   const std::string& connect_user) -> std::optional<m::ConnackPacket> {
    V5Client c(port());
    if (!c.raw().connect(port())) return std::nullopt;
    const std::string first_bare = "n=" + user + ",r=clientnonce123";
    m::ConnectPacket p = v5_connect("s-" + user, connect_user, std::nullopt);
    p.properties.authentication_method = plugins::kScramMethod;
    p.properties.authentication_data = "n,," + first_bare;
    if (!c.send(p)) return std::nullopt;
    auto challenge = c.recv_type(m::PacketType::kAuth);
    if (!challenge) {
      auto other = c.recv();
      if (other) {
        if (auto* ack = other->get<m::ConnackPacket>()) return *ack;
      }
      return std::nullopt;
    }
    const std::string server_first =
        challenge->get<m::AuthPacket>()->properties.authentication_data.value_or("");
    // r=NONCE,s=SALT,i=ITERATIONS
    const size_t s_at = server_first.find(",s="), i_at = server_first.find(",i=");
    EXPECT_NE(i_at, std::string::npos) << server_first;
    const std::string nonce = server_first.substr(2, s_at - 2);
    auto salt = plugins::base64_decode(server_first.substr(s_at + 3, i_at - s_at - 3));
    const int iterations = std::stoi(server_first.substr(i_at + 3));
    EXPECT_TRUE(salt.is_ok());
    const std::string without_proof = "c=biws,r=" + nonce;
    const std::string auth_message = first_bare + "," + server_first + "," + without_proof;
    m::AuthPacket answer;
    answer.reason_code = m::reason::kContinueAuthentication;
    answer.properties.authentication_method = plugins::kScramMethod;
    answer.properties.authentication_data = without_proof + ",p=" +
                                            plugins::base64_encode(plugins::scram_client_proof(
                                                password, *salt, iterations, auth_message));
    std::string out;
    m::encode(answer, &out);
    if (!c.send_bytes(out)) return std::nullopt;
    auto done = c.recv_type(m::PacketType::kConnack);
    if (!done) return std::nullopt;
    m::ConnackPacket ack = *done->get<m::ConnackPacket>();
    if (ack.reason_code == 0) {
      EXPECT_EQ(ack.properties.authentication_data.value_or(""),
                "v=" + plugins::base64_encode(plugins::scram_server_signature(
                           password, *salt, iterations, auth_message)))
          << "the broker's signature does not prove it holds sam's keys";
      uint8_t reason = 0xff;
      EXPECT_TRUE(c.publish("s/1", "x", 1, {}, false, &reason));  // the ACL applies to sam
      EXPECT_LT(reason, 0x80);
    }
    return ack;
  };
  auto ok = scram("sam", "scram pw", "sam");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->reason_code, 0);
  auto wrong = scram("sam", "not it", "sam");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->reason_code, m::reason::kNotAuthorized);
  // Proving "sam" while the CONNECT names someone else would borrow sam's ACL for them.
  auto other = scram("sam", "scram pw", "root");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->reason_code, m::reason::kNotAuthorized);
}

// ACL used by the publish/subscribe tests; alice's rules and an anonymous section.
constexpr char kAcl[] =
    "# anonymous clients\n"
    "topic readwrite v31/ok/#\n"
    "topic read v31/ro/#\n"
    "topic write v31/wo/#\n"
    "\n"
    "user alice\n"
    "topic readwrite open/#\n"
    "topic read ro/#\n"
    "topic deny open/secret\n";

class AclTest : public AuthTest {
 protected:
  void SetUp() override {
    const std::string pw = file("passwd", std::string(kAliceLine) + "\n");
    ASSERT_TRUE(start(
        {"--password-file", pw, "--acl-file", file("acl", kAcl), "--allow-anonymous", "true"}));
  }
};

TEST_F(AclTest, Mqtt5PublishAndSubscribeRefusalsAre0x87) {
  V5Client c(port());
  ASSERT_TRUE(c.connect(v5_connect("a5", "alice", kAlicePassword)));
  std::vector<uint8_t> codes;
  ASSERT_TRUE(c.subscribe(
      {v5::sub("open/a", 1), v5::sub("ro/#", 1), v5::sub("open/#", 1), v5::sub("other/x", 0)}, 0,
      {}, &codes));
  // open/# could reach the denied open/secret: refused whole.
  EXPECT_EQ(codes, (std::vector<uint8_t>{1, 1, 0x87, 0x87}));
  uint8_t reason = 0;
  ASSERT_TRUE(c.publish("ro/x", "no", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0x87);
  ASSERT_TRUE(c.publish("open/secret", "no", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0x87);
  ASSERT_TRUE(c.publish("open/a", "yes", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0);
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->topic, "open/a");
  EXPECT_FALSE(c.recv_publish(milliseconds(300)));
}

TEST_F(AclTest, Mqtt311DeniedPublishIsDroppedAndDeniedSubscribeIs0x80) {
  RawClient c;
  ASSERT_EQ(v311_connect(c, "a3", "alice", kAlicePassword), 0);
  ASSERT_TRUE(c.send(subscribe_packet(1, {{"ro/#", 1}, {"secret/#", 1}, {"open/a", 1}})));
  auto suback = c.recv_packet_of_type(9);
  ASSERT_TRUE(suback);
  ASSERT_EQ(suback->body.size(), 5u);
  EXPECT_EQ(suback->body[2], 1);
  EXPECT_EQ(suback->body[3], 0x80);
  EXPECT_EQ(suback->body[4], 1);
  // Write is missing on ro/: acknowledged (3.1.1 cannot say no) and dropped.
  ASSERT_TRUE(c.send(publish_packet("ro/x", "dropped", 1, false, false, 2)));
  auto ack = c.recv_packet_of_type(4);
  ASSERT_TRUE(ack);
  ASSERT_TRUE(c.send(publish_packet("open/a", "delivered", 1, false, false, 3)));
  auto msg = c.recv_packet_of_type(3);
  ASSERT_TRUE(msg);
  auto view = parse_publish(*msg);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->topic, "open/a") << "the denied publish reached a subscriber";
}

TEST_F(AclTest, Mqtt31IsGrantedButNothingDeniedIsDelivered) {
  auto run31 = [&](const std::string& topic, const char* timeout_s) {
    return run_process({PAHO_PYTHON3, PAHO_MQTTV31_SCRIPT, "127.0.0.1", std::to_string(port()),
                        "p31-" + topic.substr(4, 2), topic, "hello", timeout_s},
                       milliseconds(20000));
  };
  ProcessResult ok = run31("v31/ok/t", "10");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("MESSAGE topic=v31/ok/t"), std::string::npos) << ok.output;
  // Read-only: subscription granted, the publish acknowledged and dropped.
  ProcessResult ro = run31("v31/ro/t", "2");
  EXPECT_NE(ro.output.find("SUBACK granted=1\n"), std::string::npos) << ro.output;
  EXPECT_NE(ro.output.find("PUBACK mid="), std::string::npos) << ro.output;
  EXPECT_EQ(ro.output.find("MESSAGE"), std::string::npos) << ro.output;
  // Write-only: 3.1 has no failure code, so the refused subscription reads "granted".
  ProcessResult wo = run31("v31/wo/t", "2");
  EXPECT_NE(wo.output.find("SUBACK granted=1\n"), std::string::npos) << wo.output;
  EXPECT_EQ(wo.output.find("MESSAGE"), std::string::npos) << wo.output;
}

TEST_F(AuthTest, ProtectedTopicsStayProtectedUnderAnAllowAllAcl) {
  const std::string acl =
      file("acl", "topic readwrite #\ntopic readwrite $SYS/#\ntopic readwrite $response/#\n");
  ASSERT_TRUE(start({"--acl-file", acl}));
  V5Client c(port());
  m::ConnectPacket p = v5_connect("me", std::nullopt, std::nullopt);
  p.properties.request_response_information = 1;
  m::ConnackPacket ack;
  ASSERT_TRUE(c.connect(p, &ack));
  ASSERT_TRUE(ack.properties.response_information);
  const std::string own = *ack.properties.response_information;
  EXPECT_EQ(own, "$response/me");
  std::vector<uint8_t> codes;
  ASSERT_TRUE(c.subscribe({v5::sub(own + "/#", 1), v5::sub("$response/other/#", 1),
                           v5::sub("$response/+/x", 1), v5::sub("$SYS/#", 0)},
                          0, {}, &codes));
  EXPECT_EQ(codes, (std::vector<uint8_t>{1, 0x87, 0x87, 0}));
  uint8_t reason = 0;
  ASSERT_TRUE(c.publish("$SYS/broker/uptime", "forged", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0x87);
  ASSERT_TRUE(c.publish("any/topic", "fine", 1, {}, false, &reason));
  EXPECT_LT(reason, 0x80);
}

}  // namespace
}  // namespace topicdb::itest

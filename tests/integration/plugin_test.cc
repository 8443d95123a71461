// Plugins through the C ABI with the real binary: `--plugin` libraries built by this test
// tree (tests/integration/plugins/*.c) veto a $DB write with their own error answer, deny a
// login and a publish; the example audit_log plugin writes its JSON lines; a plugin of
// another ABI version, a missing library and a plugin whose init fails stop start-up with
// one line; a plugin that answers garbage costs only refusals.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/db_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest {
namespace {

using Json = nlohmann::json;
using v5::V5Client;
namespace m = ::topicdb::mqtt;

ProcessResult serve_expecting_failure(const std::string& data_dir,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TOPICDB_BINARY, "serve",      "--listen",
                                   "127.0.0.1:0",  "--data-dir", data_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, milliseconds(10000));
}

// Lines of the output that are the broker's start-up errors ("topicdb: ...").
std::vector<std::string> error_lines(const std::string& output) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("topicdb: ", 0) == 0) lines.push_back(line);
  }
  return lines;
}

m::ConnectPacket login(const std::string& id, const std::string& user) {
  m::ConnectPacket p = V5Client::connect_packet(id);
  p.username = user;
  p.password = "pw";
  return p;
}

class VetoPluginTest : public db::DbTest {
 protected:
  std::vector<std::string> db_flags() const override {
    return {"--plugin",
            TEST_PLUGIN,
            "--plugin-opt",
            "veto_entity=forbidden",
            "--plugin-opt",
            "deny_user=mallory",
            "--plugin-opt",
            "deny_prefix=blocked/",
            "--auth-fail-delay-ms",
            "0"};
  }
};

TEST_F(VetoPluginTest, VetoedCreateGetsThePluginsAnswerAndStoresNothing) {
  db::DbClient c(port(), "vetoed");
  ASSERT_TRUE(c.connect());
  Json vetoed = c.request("$DB/forbidden/create", R"({"id":"x1","name":"no"})");
  ASSERT_TRUE(db::is_error(vetoed, 422));
  EXPECT_EQ(vetoed["message"], "the test plugin refuses this entity");
  EXPECT_TRUE(db::is_error(c.request("$DB/forbidden/x1", "{}"), 404)) << "nothing was stored";

  // Other entities, and other operations on the vetoed one, still run.
  ASSERT_TRUE(db::is_ok(c.request("$DB/allowed/create", R"({"id":"y1","name":"yes"})")));
  Json read = c.request("$DB/allowed/y1", "{}");
  ASSERT_TRUE(db::is_ok(read));
  EXPECT_EQ(read["data"]["name"], "yes");
  Json list = c.request("$DB/forbidden/list", "{}");
  ASSERT_TRUE(db::is_ok(list));
  EXPECT_TRUE(list["data"].empty()) << list.dump();
}

TEST_F(VetoPluginTest, DeniedUserIsRefusedAndOthersGetIn) {
  V5Client mallory(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(mallory.connect(login("m1", "mallory"), &ack, m::reason::kBadUserNameOrPassword));
  V5Client bob(port());
  ASSERT_TRUE(bob.connect(login("b1", "bob")));  // every plugin defers: allowed
}

TEST_F(VetoPluginTest, DeniedPublishIs0x87AndOthersAreDelivered) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("pub1"));
  ASSERT_TRUE(c.subscribe("#", 1));
  uint8_t reason = 0;
  ASSERT_TRUE(c.publish("blocked/x", "no", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0x87);
  ASSERT_TRUE(c.publish("open/x", "yes", 1, {}, false, &reason));
  EXPECT_EQ(reason, 0);
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->topic, "open/x");
}

// PBKDF2-SHA512 of "correct horse" (auth_test.cc's alice): the built-in password plugin is
// asked first, then the --plugin; deny wins either way.
constexpr char kAliceLine[] =
    "alice:$7$101$AQIDBAUGBwgJCgsM$mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD+cyTDcrMk08Rnc3N+vIiTgRJqnol"
    "JL9TU+/R/F+mbz31mQG16jg==";

class PasswordFileAndPluginTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override {
    const std::string pw = dir_.path() + "/passwd";
    std::ofstream(pw) << kAliceLine << "\n"
                      << "mallory:" << std::string(kAliceLine).substr(6) << "\n";
    return {
        "--password-file",      pw, "--plugin", TEST_PLUGIN, "--plugin-opt", "deny_user=mallory",
        "--auth-fail-delay-ms", "0"};
  }
  static m::ConnectPacket with_password(const std::string& id, const std::string& user,
                                        const std::string& password) {
    m::ConnectPacket p = V5Client::connect_packet(id);
    p.username = user;
    p.password = password;
    return p;
  }
};

TEST_F(PasswordFileAndPluginTest, BothMustLetAClientInAndEitherCanRefuse) {
  V5Client alice(port());
  ASSERT_TRUE(alice.connect(with_password("a", "alice", "correct horse")));
  V5Client wrong(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(
      wrong.connect(with_password("w", "alice", "wrong"), &ack, m::reason::kBadUserNameOrPassword))
      << "the password file refuses whatever the plugin says";
  V5Client mallory(port());
  ASSERT_TRUE(mallory.connect(with_password("m", "mallory", "correct horse"), &ack,
                              m::reason::kBadUserNameOrPassword))
      << "the right password, but the plugin denies";
}

class AuditLogTest : public db::DbTest {
 protected:
  std::string log_path() const { return dir_.path() + "/audit.jsonl"; }
  std::vector<std::string> db_flags() const override {
    return {"--plugin", AUDIT_LOG_PLUGIN, "--plugin-opt", "file=" + log_path()};
  }
  std::vector<Json> events() const {
    std::vector<Json> out;
    std::ifstream in(log_path());
    for (std::string line; std::getline(in, line);) {
      Json j = Json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  const Json* find(const std::vector<Json>& all, const std::string& event,
                   const std::string& client_id) const {
    for (const Json& e : all) {
      if (e.value("event", "") == event && e.value("client_id", "") == client_id) return &e;
    }
    return nullptr;
  }
};

TEST_F(AuditLogTest, ConnectPublishDbWriteAndDisconnectAreLogged) {
  {
    V5Client c(port());
    m::ConnectPacket p = V5Client::connect_packet("auditor");
    p.username = "ann";
    ASSERT_TRUE(c.connect(p));
    uint8_t reason = 0;
    ASSERT_TRUE(c.publish("sensors/t1", "21.5", 1, {}, false, &reason));
    ASSERT_TRUE(c.disconnect());
  }
  db::DbClient d(port(), "writer");
  ASSERT_TRUE(d.connect());
  ASSERT_TRUE(db::is_ok(d.request("$DB/things/create", R"({"id":"t1","n":1})")));
  ASSERT_TRUE(db::is_error(d.request("$DB/things/create", R"({"id":"t1","n":2})"), 409));

  ASSERT_TRUE(wait_until([&] { return find(events(), "disconnect", "auditor") != nullptr; },
                         milliseconds(5000)));
  ASSERT_TRUE(wait_until([&] { return find(events(), "db_write", "writer") != nullptr; },
                         milliseconds(5000)));
  const std::vector<Json> all = events();
  const Json* connect = find(all, "connect", "auditor");
  ASSERT_NE(connect, nullptr);
  EXPECT_EQ((*connect)["username"], "ann");
  EXPECT_EQ((*connect)["protocol_version"], 5);
  EXPECT_EQ((*connect)["address"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
  const Json* publish = find(all, "publish", "auditor");
  ASSERT_NE(publish, nullptr);
  EXPECT_EQ((*publish)["topic"], "sensors/t1");
  EXPECT_EQ((*publish)["qos"], 1);
  EXPECT_EQ((*publish)["payload_bytes"], 4);
  const Json* write = find(all, "db_write", "writer");
  ASSERT_NE(write, nullptr);
  EXPECT_EQ((*write)["operation"], "create");
  EXPECT_EQ((*write)["entity"], "things");
  EXPECT_TRUE((*write)["username"].is_null());
  // The plugin's init logged through the host's log function, into the broker's log.
  EXPECT_NE(broker_.stderr_tail(100000).find("writing audit events to " + log_path()),
            std::string::npos)
      << broker_.stderr_tail();
  size_t writes = 0;
  for (const Json& e : all) writes += e.value("event", "") == "db_write";
  EXPECT_EQ(writes, 1u) << "the refused second create is not a committed write";
}

TEST(PluginStartTest, AnotherAbiVersionStopsStartUpWithOneLine) {
  TempDir dir;
  ProcessResult r = serve_expecting_failure(dir.path(), {"--plugin", WRONG_ABI_PLUGIN});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("topicdb ready"), std::string::npos) << r.output;
  std::vector<std::string> errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find("ABI version 999"), std::string::npos) << errors[0];
}

TEST(PluginStartTest, MissingLibraryAndFailedInitStopStartUpWithOneLine) {
  TempDir dir;
  ProcessResult missing =
      serve_expecting_failure(dir.path(), {"--plugin", dir.path() + "/nothing.so"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  ASSERT_EQ(error_lines(missing.output).size(), 1u) << missing.output;
  EXPECT_NE(error_lines(missing.output)[0].find("cannot load plugin " + dir.path()),
            std::string::npos)
      << missing.output;

  ProcessResult no_file = serve_expecting_failure(dir.path(), {"--plugin", AUDIT_LOG_PLUGIN});
  EXPECT_EQ(no_file.exit_code, 1) << no_file.output;
  ASSERT_EQ(error_lines(no_file.output).size(), 1u) << no_file.output;
  EXPECT_NE(error_lines(no_file.output)[0].find("audit_log needs --plugin-opt file=PATH"),
            std::string::npos)
      << no_file.output;

  ProcessResult orphan = serve_expecting_failure(dir.path(), {"--plugin-opt", "a=b"});
  EXPECT_EQ(orphan.exit_code, 2) << orphan.output;  // a usage error
  EXPECT_NE(orphan.output.find("--plugin-opt needs a --plugin before it"), std::string::npos)
      << orphan.output;
}

class GarbagePluginTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override {
    return {"--plugin", TEST_PLUGIN, "--plugin-opt", "garbage=1", "--auth-fail-delay-ms", "0"};
  }
};

TEST_F(GarbagePluginTest, GarbageAnswersAreRefusalsAndTheBrokerStaysUp) {
  V5Client basic(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(basic.connect(login("g1", "anyone"), &ack, m::reason::kNotAuthorized));

  // Its enhanced method claims success with 5 bytes at NULL: refused, not read.
  V5Client enhanced(port());
  m::ConnectPacket p = V5Client::connect_packet("g2");
  p.properties.authentication_method = "TEST-GARBAGE";
  p.properties.authentication_data = "hello";
  ASSERT_TRUE(enhanced.connect(p, &ack, m::reason::kNotAuthorized));

  EXPECT_TRUE(broker_.running());
  V5Client again(port());
  ASSERT_TRUE(again.connect(login("g3", "anyone"), &ack, m::reason::kNotAuthorized));
  ASSERT_TRUE(broker_.stop());
}

}  // namespace
}  // namespace topicdb::itest

// `topicdb db ...` as users and scripts run it: the real binary against a real broker
// (every command of the $DB table, watch, replay, error answers), and its failures when
// there is no broker to answer (refused connection, a server that never answers).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace topicdb::itest {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  milliseconds elapsed{0};
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t line_count(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Runs `topicdb db <args>` to completion (bounded), stdout and stderr kept apart.
CliResult run_db(const std::vector<std::string>& args, const std::string& scratch_dir) {
  std::vector<std::string> argv = {TOPICDB_BINARY, "db"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string err_path = scratch_dir + "/cli.stderr";
  ::unlink(err_path.c_str());
  CliResult r;
  auto start = std::chrono::steady_clock::now();
  Subprocess p;
  if (!p.spawn(argv, Subprocess::Stderr::kFile, err_path)) return r;
  r.out = p.read_all(milliseconds(15000));
  auto status = p.wait(milliseconds(5000));
  r.elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  if (status && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  r.err = read_file(err_path);
  return r;
}

Json parse_out(const CliResult& r) {
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON: " << r.out;
  return j;
}

// --- no broker to answer: these hold whatever the broker serves ----------------------------

class DbCliNoServerTest : public ::testing::Test {
 protected:
  // A TCP port on 127.0.0.1 that is listening (`listen` true: connections complete in the
  // backlog and are never accepted nor answered) or closed (connections are refused).
  uint16_t open_port(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    if (listen) {
      EXPECT_EQ(::listen(fd_, 8), 0);
    } else {
      ::close(fd_);  // nobody listens there now
      fd_ = -1;
    }
    return ntohs(addr.sin_port);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }

  TempDir dir_;
  int fd_ = -1;
};

TEST_F(DbCliNoServerTest, RefusedConnectionIsOneLineAndExit3) {
  uint16_t port = open_port(false);
  CliResult r = run_db({"read", "users", "u1", "--port", std::to_string(port)}, dir_.path());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "topicdb: cannot connect to 127.0.0.1:" + std::to_string(port) +
                       ": Connection refused\n");
}

TEST_F(DbCliNoServerTest, ServerThatNeverAnswersTimesOut) {
  uint16_t port = open_port(true);
  CliResult r =
      run_db({"list", "users", "--port", std::to_string(port), "--timeout-ms", "300"}, dir_.path());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(
      r.err.find("topicdb: no answer from 127.0.0.1:" + std::to_string(port) + " within 300 ms"),
      std::string::npos)
      << r.err;
  EXPECT_GE(r.elapsed.count(), 250);
  EXPECT_LT(r.elapsed.count(), 5000);
}

// The TCP connect itself hangs (the listener's accept queue is full, so the kernel drops
// the SYN): --timeout-ms still bounds it.
TEST_F(DbCliNoServerTest, ConnectThatHangsIsBoundedByTheTimeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd_, 0), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(c);
  }
  pollfd first = {fillers[0], POLLOUT, 0};
  ASSERT_EQ(::poll(&first, 1, 2000), 1);  // the queue now holds a completed connection
  std::string port = std::to_string(ntohs(addr.sin_port));
  CliResult r = run_db({"read", "users", "u1", "--port", port, "--timeout-ms", "400"}, dir_.path());
  for (int c : fillers) ::close(c);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "topicdb: cannot connect to 127.0.0.1:" + port + ": no answer within 400 ms\n");
  EXPECT_GE(r.elapsed.count(), 350);
  EXPECT_LT(r.elapsed.count(), 5000);
}

TEST_F(DbCliNoServerTest, BadArgumentsAreExit2BeforeConnecting) {
  uint16_t port = open_port(false);  // would be refused (exit 3) if the CLI connected
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list", "users", "--bogus"},
                                             {"read", "users"},
                                             {"create", "users", "-d", "{not json"},
                                             {"list", "users", "-f", "age"},
                                             {"read", "_admin", "x"},
                                             {"frobnicate"}}) {
    std::vector<std::string> with_port = args;
    with_port.insert(with_port.end(), {"--port", std::to_string(port)});
    CliResult r = run_db(with_port, dir_.path());
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("topicdb: ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(DbCliNoServerTest, HelpGoesToStdout) {
  CliResult r = run_db({"--help"}, dir_.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("topicdb db <command>"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

// --- against a real broker ------------------------------------------------------------------

class DbCliTest : public BrokerTest {
 protected:
  CliResult db(std::vector<std::string> args) {
    args.insert(args.end(), {"--port", std::to_string(port()), "--timeout-ms", "5000"});
    return run_db(args, scratch_.path());
  }
  // Runs a command that must succeed; returns its data.
  Json ok(std::vector<std::string> args) {
    CliResult r = db(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.exit_code == 0 ? parse_out(r) : Json();
  }

  TempDir scratch_;
};

TEST_F(DbCliTest, CreateReadUpdateDelete) {
  Json created = ok({"create", "users", "-d", R"({"name":"Ann","age":30})", "--id", "u1"});
  EXPECT_EQ(created["id"], "u1");
  EXPECT_EQ(created["name"], "Ann");
  EXPECT_EQ(created["_version"], 1);

  Json read = ok({"read", "users", "u1"});
  EXPECT_EQ(read, created);
  Json projected = ok({"read", "users", "u1", "--projection", "name"});
  EXPECT_EQ(projected["id"], "u1");  // id is always kept
  EXPECT_EQ(projected["name"], "Ann");
  EXPECT_FALSE(projected.contains("age"));

  Json updated = ok({"update", "users", "u1", "-d", R"({"age":31})", "--version", "1"});
  EXPECT_EQ(updated["age"], 31);
  EXPECT_EQ(updated["name"], "Ann");
  EXPECT_EQ(updated["_version"], 2);

  CliResult stale = db({"update", "users", "u1", "-d", R"({"age":40})", "--version", "1"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_EQ(stale.out, "");
  EXPECT_EQ(stale.err.rfind("topicdb: 409 conflict: ", 0), 0u) << stale.err;
  EXPECT_EQ(line_count(stale.err), 1u);

  Json deleted = ok({"delete", "users", "u1"});
  EXPECT_EQ(deleted["id"], "u1");
  EXPECT_EQ(deleted["deleted"], true);
  CliResult gone = db({"read", "users", "u1"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.err.rfind("topicdb: 404 not found: ", 0), 0u) << gone.err;
  EXPECT_EQ(line_count(gone.err), 1u);
}

TEST_F(DbCliTest, CreateAssignsAnIdAndTtlSetsAnExpiry) {
  Json a = ok({"create", "things", "-d", R"({"n":1})", "--ttl", "3600"});
  ASSERT_TRUE(a["id"].is_string());
  EXPECT_FALSE(a["id"].get<std::string>().empty());
  EXPECT_TRUE(a.contains("_expires_at")) << a.dump();
  CliResult dup = db({"create", "things", "-d", R"({"n":2})", "--id", a["id"].get<std::string>()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.err.rfind("topicdb: 409 conflict: ", 0), 0u) << dup.err;
}

TEST_F(DbCliTest, ListFiltersSortsPagesAndPrintsCompact) {
  for (auto [id, name, age] : std::vector<std::tuple<const char*, const char*, int>>{
           {"a", "Ann", 17}, {"b", "Bob", 25}, {"c", "Cid", 40}, {"d", "Dee", 33}}) {
    ok({"create", "people", "-d",
        Json{{"name", name}, {"age", age}, {"address", {{"city", age > 30 ? "Oslo" : "Rome"}}}}
            .dump(),
        "--id", id});
  }
  CliResult r = db({"list", "people", "-f", "age>18", "--sort", "age:desc", "-l", "2", "-c"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(line_count(r.out), 1u) << r.out;  // --compact: one line
  Json page = parse_out(r);
  ASSERT_EQ(page.size(), 2u) << page.dump();
  EXPECT_EQ(page[0]["id"], "c");
  EXPECT_EQ(page[1]["id"], "d");

  Json next = ok({"list", "people", "-f", "age>18", "--sort", "age:desc", "-l", "2", "-o", "2"});
  ASSERT_EQ(next.size(), 1u) << next.dump();
  EXPECT_EQ(next[0]["id"], "b");

  Json named = ok({"list", "people", "-f", R"(name:in:["Ann","Dee"])", "--sort", "name",
                   "--projection", "name"});
  ASSERT_EQ(named.size(), 2u) << named.dump();
  EXPECT_EQ(named[0]["name"], "Ann");
  EXPECT_FALSE(named[0].contains("age"));

  Json nested = ok({"list", "people", "-f", "address.city=Oslo,name~D*"});
  ASSERT_EQ(nested.size(), 1u) << nested.dump();
  EXPECT_EQ(nested[0]["id"], "d");
}

TEST_F(DbCliTest, SchemaSetGetAndValidation) {
  std::string schema =
      R"({"title":{"type":"string","required":true},"views":{"type":"integer","default":0}})";
  ok({"schema", "set", "posts", "-d", schema});
  Json got = ok({"schema", "get", "posts"});
  EXPECT_NE(got.dump().find("title"), std::string::npos) << got.dump();

  CliResult invalid = db({"create", "posts", "-d", R"({"views":3})"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(invalid.err.rfind("topicdb: 400 bad request: ", 0), 0u) << invalid.err;
  Json post = ok({"create", "posts", "-d", R"({"title":"hi"})"});
  EXPECT_EQ(post["views"], 0);

  // MQDB's --file spelling.
  std::string path = scratch_.path() + "/schema.json";
  std::ofstream(path) << R"({"name":{"type":"string"}})";
  ok({"schema", "set", "tags", "--file", path});
  EXPECT_NE(ok({"schema", "get", "tags"}).dump().find("name"), std::string::npos);
}

TEST_F(DbCliTest, IncludeNestsTheReferencedRecord) {
  ok({"schema", "set", "posts", "-d", R"({"author_id":{"type":"string","references":"users"}})"});
  ok({"create", "users", "-d", R"({"name":"Ann"})", "--id", "u1"});
  ok({"create", "posts", "-d", R"({"title":"hi","author_id":"u1"})", "--id", "p1"});
  Json post = ok({"read", "posts", "p1", "--include", "author"});
  EXPECT_EQ(post["author"]["name"], "Ann") << post.dump();
  Json posts = ok({"list", "posts", "--include", "author", "--projection", "title,author_id"});
  ASSERT_EQ(posts.size(), 1u) << posts.dump();
  EXPECT_EQ(posts[0]["author"]["id"], "u1") << posts.dump();
}

TEST_F(DbCliTest, IndexAddAndList) {
  ok({"index", "add", "readings", "--fields", "site,ts"});
  Json indexes = ok({"index", "list", "readings"});
  std::string text = indexes.dump();
  EXPECT_NE(text.find("site"), std::string::npos) << text;
  EXPECT_NE(text.find("ts"), std::string::npos) << text;
}

// Finds the events array in a replay answer ({"events":[...]} or the array itself).
Json events_of(const Json& data) {
  if (data.is_array()) return data;
  if (data.is_object() && data.contains("events")) return data["events"];
  return Json::array();
}

TEST_F(DbCliTest, WatchPrintsEventsAsJsonLinesAndReplayReturnsThemInOrder) {
  Subprocess watch;
  ASSERT_TRUE(watch.spawn(
      {TOPICDB_BINARY, "db", "watch", "users", "--count", "3", "--port", std::to_string(port())},
      Subprocess::Stderr::kMergeIntoStdout));
  auto ready = watch.read_line(milliseconds(5000));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(*ready, "watching $DB/users/events/# (Ctrl-C to stop)");

  ok({"create", "users", "-d", R"({"name":"Ann"})", "--id", "w1"});
  ok({"update", "users", "w1", "-d", R"({"name":"Annie"})"});
  ok({"delete", "users", "w1"});

  std::vector<Json> events;
  for (int i = 0; i < 3; ++i) {
    auto line = watch.read_line(milliseconds(5000));
    ASSERT_TRUE(line.has_value()) << "event " << i;
    events.push_back(Json::parse(*line, nullptr, false));
    ASSERT_FALSE(events.back().is_discarded()) << *line;
  }
  EXPECT_EQ(events[0]["operation"], "Create");
  EXPECT_EQ(events[1]["operation"], "Update");
  EXPECT_EQ(events[2]["operation"], "Delete");
  for (const Json& e : events) {
    EXPECT_EQ(e["entity"], "users");
    EXPECT_EQ(e["id"], "w1");
  }
  EXPECT_LT(events[0]["sequence"].get<int64_t>(), events[1]["sequence"].get<int64_t>());
  EXPECT_LT(events[1]["sequence"].get<int64_t>(), events[2]["sequence"].get<int64_t>());
  auto status = watch.wait(milliseconds(5000));  // --count 3: it ends by itself
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);

  int64_t first = events[0]["sequence"].get<int64_t>();
  Json replayed = events_of(ok({"replay", "users", "--since", std::to_string(first)}));
  ASSERT_EQ(replayed.size(), 2u) << replayed.dump();
  EXPECT_EQ(replayed[0]["sequence"], events[1]["sequence"]);
  EXPECT_EQ(replayed[0]["operation"], "Update");
  EXPECT_EQ(replayed[1]["operation"], "Delete");
  Json limited = events_of(ok({"replay", "users", "--since", "0", "--limit", "1"}));
  ASSERT_EQ(limited.size(), 1u) << limited.dump();
  EXPECT_EQ(limited[0]["sequence"], events[0]["sequence"]);
}

TEST_F(DbCliTest, WatchOneRecordEndsOnSigint) {
  Subprocess watch;
  ASSERT_TRUE(watch.spawn(
      {TOPICDB_BINARY, "db", "watch", "users", "--id", "x2", "--port", std::to_string(port())},
      Subprocess::Stderr::kMergeIntoStdout));
  auto ready = watch.read_line(milliseconds(5000));
  ASSERT_EQ(ready.value_or(""), "watching $DB/users/events/x2 (Ctrl-C to stop)");
  ok({"create", "users", "-d", "{}", "--id", "x1"});  // another record: not printed
  ok({"create", "users", "-d", "{}", "--id", "x2"});
  auto line = watch.read_line(milliseconds(5000));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Json::parse(*line)["id"], "x2");
  ASSERT_TRUE(watch.send_signal(SIGINT));
  auto status = watch.wait(milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
}

}  // namespace
}  // namespace topicdb::itest

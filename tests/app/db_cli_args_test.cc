// `topicdb db ...` without a broker: argument parsing, the topic and payload each command
// sends, the filter and sort mini-languages, and how an answer envelope becomes output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/db_cli.h"
#include "app/db_cli_args.h"
#include "app/db_cli_request.h"

namespace topicdb::app {
namespace {

using Json = nlohmann::json;

DbCommand parse_ok(const std::vector<std::string>& args) {
  auto cmd = parse_db_args(args);
  EXPECT_TRUE(cmd.is_ok()) << cmd.status().message();
  return cmd.is_ok() ? *cmd : DbCommand{};
}

std::string parse_error(const std::vector<std::string>& args) {
  auto cmd = parse_db_args(args);
  EXPECT_FALSE(cmd.is_ok());
  return cmd.is_ok() ? "" : cmd.status().message();
}

DbCliRequest request_for(const std::vector<std::string>& args) {
  auto req = build_db_request(parse_ok(args));
  EXPECT_TRUE(req.is_ok()) << req.status().message();
  return req.is_ok() ? *req : DbCliRequest{};
}

std::string request_error(const std::vector<std::string>& args) {
  auto req = build_db_request(parse_ok(args));
  EXPECT_FALSE(req.is_ok());
  return req.is_ok() ? "" : req.status().message();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// --- requests: one per command ----------------------------------------------------------

TEST(DbCliRequestTest, CreateSendsTheRecordWithIdAndTtl) {
  DbCliRequest r = request_for({"create", "users", "-d", R"({"name":"Ann","age":30})"});
  EXPECT_EQ(r.topic, "$DB/users/create");
  EXPECT_EQ(r.payload, Json::parse(R"({"name":"Ann","age":30})"));

  r = request_for({"create", "users", "--data", R"({"name":"Ann"})", "--id", "u1", "--ttl", "60"});
  EXPECT_EQ(r.payload, Json::parse(R"({"name":"Ann","id":"u1","ttl_secs":60})"));
}

TEST(DbCliRequestTest, CreateRefusesDataThatIsNotAnObjectOrAnIdThatDiffers) {
  EXPECT_TRUE(contains(request_error({"create", "users", "-d", "{x"}), "--data is not valid JSON"));
  EXPECT_TRUE(contains(request_error({"create", "users", "-d", "[1]"}), "must be a JSON object"));
  EXPECT_TRUE(
      contains(request_error({"create", "users", "-d", R"({"id":"a"})", "--id", "b"}), "differs"));
  EXPECT_TRUE(contains(request_error({"create", "users", "-d", "{}", "--id", "a/b"}),
                       "bad record id 'a/b'"));
}

TEST(DbCliRequestTest, ReadWithProjectionAndIncludes) {
  DbCliRequest r = request_for({"read", "posts", "p1"});
  EXPECT_EQ(r.topic, "$DB/posts/p1");
  EXPECT_EQ(r.payload, Json::object());
  r = request_for({"read", "posts", "p1", "--projection", "title,views", "--include", "author"});
  EXPECT_EQ(r.payload, Json::parse(R"({"projection":["title","views"],"includes":["author"]})"));
}

TEST(DbCliRequestTest, UpdateWithVersion) {
  DbCliRequest r = request_for({"update", "users", "u1", "-d", R"({"age":31})", "--version", "3"});
  EXPECT_EQ(r.topic, "$DB/users/u1/update");
  EXPECT_EQ(r.payload, Json::parse(R"({"age":31,"_version":3})"));
  EXPECT_TRUE(contains(
      request_error({"update", "users", "u1", "-d", R"({"_version":2})", "--version", "3"}),
      "--version differs"));
}

TEST(DbCliRequestTest, Delete) {
  DbCliRequest r = request_for({"delete", "users", "u1"});
  EXPECT_EQ(r.topic, "$DB/users/u1/delete");
  EXPECT_EQ(r.payload, Json::object());
}

TEST(DbCliRequestTest, ListWithEveryOption) {
  DbCliRequest r = request_for({"list", "users", "-f", "age>18", "--filter", "name~A*,active=true",
                                "-s", "name:asc,age:desc", "-l", "10", "-o", "20", "--projection",
                                "name", "--include", "team"});
  EXPECT_EQ(r.topic, "$DB/users/list");
  EXPECT_EQ(r.payload, Json::parse(R"({
    "filters":[{"field":"age","op":"gt","value":18},{"field":"name","op":"like","value":"A*"},
               {"field":"active","op":"eq","value":true}],
    "sort":[{"field":"name","direction":"asc"},{"field":"age","direction":"desc"}],
    "limit":10,"offset":20,"projection":["name"],"includes":["team"]})"));
  EXPECT_EQ(request_for({"list", "users"}).payload, Json::object());
}

TEST(DbCliRequestTest, SchemaIndexAndReplayTopics) {
  DbCliRequest r = request_for({"schema", "set", "posts", "-d", R"({"title":{"type":"string"}})"});
  EXPECT_EQ(r.topic, "$DB/_admin/schema/posts/set");
  EXPECT_EQ(r.payload, Json::parse(R"({"title":{"type":"string"}})"));
  EXPECT_EQ(request_for({"schema", "get", "posts"}).topic, "$DB/_admin/schema/posts/get");

  r = request_for({"index", "add", "readings", "--fields", "site,ts"});
  EXPECT_EQ(r.topic, "$DB/_admin/index/readings/add");
  EXPECT_EQ(r.payload, Json::parse(R"({"fields":["site","ts"]})"));
  // MQDB's spelling: --fields takes several words.
  EXPECT_EQ(request_for({"index", "add", "readings", "--fields", "site", "ts"}).payload,
            Json::parse(R"({"fields":["site","ts"]})"));
  EXPECT_EQ(request_for({"index", "list", "readings"}).topic, "$DB/_admin/index/readings/list");

  r = request_for({"replay", "users", "--since", "41", "--limit", "100"});
  EXPECT_EQ(r.topic, "$DB/_events/replay");
  EXPECT_EQ(r.payload, Json::parse(R"({"entity":"users","since":41,"limit":100})"));
}

TEST(DbCliRequestTest, NamesThatWouldChangeTheTopicAreRefused) {
  EXPECT_TRUE(contains(request_error({"read", "_admin", "x"}), "bad entity name '_admin'"));
  EXPECT_TRUE(contains(request_error({"read", "us/ers", "x"}), "bad entity name"));
  EXPECT_TRUE(contains(request_error({"read", "users", "a/b"}), "bad record id 'a/b'"));
  EXPECT_TRUE(contains(request_error({"delete", "users", "#"}), "bad record id"));
  EXPECT_TRUE(contains(request_error({"read", "users", "list"}), "bad record id 'list'"));
}

TEST(DbCliRequestTest, WatchTopicFilter) {
  EXPECT_EQ(*watch_topic_filter(parse_ok({"watch", "users"})), "$DB/users/events/#");
  EXPECT_EQ(*watch_topic_filter(parse_ok({"watch", "users", "--id", "u1", "-C", "2"})),
            "$DB/users/events/u1");
  EXPECT_FALSE(watch_topic_filter(parse_ok({"watch", "users", "--id", "+"})).is_ok());
  EXPECT_EQ(*parse_ok({"watch", "users", "--count", "3"}).count, 3);
  EXPECT_EQ(parse_ok({"watch", "users", "-f", "age>18"}).filters,
            std::vector<std::string>{"age>18"});
}

// --- filters and sort -------------------------------------------------------------------

Json filter(const std::string& text) {
  auto f = parse_filter_expression(text);
  EXPECT_TRUE(f.is_ok()) << text << ": " << f.status().message();
  return f.is_ok() ? *f : Json();
}

std::string filter_error(const std::string& text) {
  auto f = parse_filter_expression(text);
  EXPECT_FALSE(f.is_ok()) << text;
  return f.is_ok() ? "" : f.status().message();
}

TEST(DbCliFilterTest, MqdbOperators) {
  struct Case {
    const char* text;
    const char* op;
  } cases[] = {{"a=1", "eq"}, {"a<>1", "neq"}, {"a!=1", "neq"}, {"a>1", "gt"},
               {"a<1", "lt"}, {"a>=1", "gte"}, {"a<=1", "lte"}, {"a~x*", "like"}};
  for (const Case& c : cases) {
    Json f = filter(c.text);
    ASSERT_EQ(f.size(), 1u) << c.text;
    EXPECT_EQ(f[0]["field"], "a") << c.text;
    EXPECT_EQ(f[0]["op"], c.op) << c.text;
  }
  EXPECT_EQ(filter("deleted_at?"), Json::parse(R"([{"field":"deleted_at","op":"is_null"}])"));
  EXPECT_EQ(filter("email!?"), Json::parse(R"([{"field":"email","op":"is_not_null"}])"));
}

TEST(DbCliFilterTest, ValuesAreTypedAsMqdbTypesThem) {
  EXPECT_EQ(filter("n=42")[0]["value"], Json(42));
  EXPECT_EQ(filter("n=-7")[0]["value"], Json(-7));
  EXPECT_EQ(filter("n=2.5")[0]["value"], Json(2.5));
  EXPECT_EQ(filter("b=true")[0]["value"], Json(true));
  EXPECT_EQ(filter("s=Alice Smith")[0]["value"], Json("Alice Smith"));
  EXPECT_EQ(filter("s=\"42\"")[0]["value"], Json("42"));  // quoted: text, not a number
  EXPECT_EQ(filter("s=nan")[0]["value"], Json("nan"));
  EXPECT_EQ(filter("code~12*")[0]["value"], Json("12*"));  // like always matches text
  EXPECT_EQ(filter("time=10:30")[0], Json::parse(R"({"field":"time","op":"eq","value":"10:30"})"));
}

TEST(DbCliFilterTest, NamedOperatorsDottedPathsAndCommas) {
  EXPECT_EQ(filter("address.city:eq:Paris"),
            Json::parse(R"([{"field":"address.city","op":"eq","value":"Paris"}])"));
  EXPECT_EQ(filter("tags:in:[\"a\",\"b\"],age:gte:18"),
            Json::parse(R"([{"field":"tags","op":"in","value":["a","b"]},
                            {"field":"age","op":"gte","value":18}])"));
  EXPECT_EQ(filter("x:is_null"), Json::parse(R"([{"field":"x","op":"is_null"}])"));
  EXPECT_EQ(filter("age > 18")[0], Json::parse(R"({"field":"age","op":"gt","value":18})"));
}

TEST(DbCliFilterTest, BadFiltersAreNamed) {
  EXPECT_TRUE(contains(filter_error("age"), "no operator"));
  EXPECT_TRUE(contains(filter_error(">3"), "no field"));
  EXPECT_TRUE(contains(filter_error("a b=3"), "bad --filter 'a b=3'"));
  EXPECT_TRUE(contains(filter_error("x?y"), "nothing may follow"));
  EXPECT_TRUE(contains(filter_error("tags:in:a"), "in needs a JSON array"));
  EXPECT_TRUE(contains(filter_error("name:bogus:1"), "unknown operator 'bogus'"));
  EXPECT_TRUE(contains(filter_error("a=1,,b=2"), "empty expression"));
}

TEST(DbCliFilterTest, Sort) {
  EXPECT_EQ(*parse_sort_expression("name"), Json::parse(R"([{"field":"name","direction":"asc"}])"));
  EXPECT_EQ(*parse_sort_expression("a.b:desc,c"),
            Json::parse(R"([{"field":"a.b","direction":"desc"},{"field":"c","direction":"asc"}])"));
  EXPECT_TRUE(contains(parse_sort_expression("name:up").status().message(), "asc or desc"));
  EXPECT_FALSE(parse_sort_expression(":asc").is_ok());
}

// --- argument rules ---------------------------------------------------------------------

TEST(DbCliArgsTest, ConnectionDefaultsAndFlags) {
  DbCommand cmd = parse_ok({"read", "users", "u1"});
  EXPECT_EQ(cmd.connection.host, "127.0.0.1");
  EXPECT_EQ(cmd.connection.port, 1883);
  EXPECT_EQ(cmd.connection.timeout_ms, 10000);
  EXPECT_TRUE(cmd.connection.client_id.empty());
  EXPECT_FALSE(cmd.connection.username.has_value());
  EXPECT_EQ(cmd.format, OutputFormat::kDefault);

  cmd = parse_ok({"--host", "db.local", "read", "users", "u1", "--port=2883", "-i", "me", "-u",
                  "ann", "-P", "pw", "--timeout-ms", "250", "--format", "compact"});
  EXPECT_EQ(cmd.connection.host, "db.local");
  EXPECT_EQ(cmd.connection.port, 2883);
  EXPECT_EQ(cmd.connection.client_id, "me");
  EXPECT_EQ(cmd.connection.username, "ann");
  EXPECT_EQ(cmd.connection.password, "pw");
  EXPECT_EQ(cmd.connection.timeout_ms, 250);
  EXPECT_EQ(cmd.format, OutputFormat::kCompact);

  // MQDB's spellings.
  cmd = parse_ok({"read", "users", "u1", "--broker", "10.0.0.2:1884", "--user", "a", "--pass", "b",
                  "--timeout", "3", "--format", "json"});
  EXPECT_EQ(cmd.connection.host, "10.0.0.2");
  EXPECT_EQ(cmd.connection.port, 1884);
  EXPECT_EQ(cmd.connection.username, "a");
  EXPECT_EQ(cmd.connection.password, "b");
  EXPECT_EQ(cmd.connection.timeout_ms, 3000);
  EXPECT_EQ(cmd.format, OutputFormat::kPretty);
  EXPECT_EQ(parse_ok({"list", "users", "-c"}).format, OutputFormat::kCompact);
}

TEST(DbCliArgsTest, BadFlagsAreOneLineMessagesNamingThem) {
  EXPECT_EQ(parse_error({"list", "users", "--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(parse_error({"list", "users", "-x"}), "unknown option '-x'");
  EXPECT_EQ(parse_error({"read", "users", "u1", "--ttl", "5"}),
            "option '--ttl' does not apply to 'read'");
  EXPECT_EQ(parse_error({"list", "users", "--limit"}), "option '--limit' needs a value");
  EXPECT_TRUE(contains(parse_error({"list", "users", "--limit", "ten"}), "--limit"));
  EXPECT_TRUE(contains(parse_error({"list", "users", "--limit", "-1"}), "--limit"));
  EXPECT_TRUE(contains(parse_error({"read", "users", "u1", "--port", "70000"}), "--port"));
  EXPECT_TRUE(contains(parse_error({"read", "users", "u1", "--port", "0"}), "--port"));
  EXPECT_TRUE(contains(parse_error({"read", "users", "u1", "--timeout-ms", "0"}), "--timeout-ms"));
  EXPECT_TRUE(contains(parse_error({"read", "users", "u1", "--broker", "nohost"}), "--broker"));
  EXPECT_TRUE(contains(parse_error({"read", "users", "u1", "--format", "xml"}), "--format"));
  EXPECT_EQ(parse_error({"read", "users", "u1", "--compact=yes"}),
            "option '--compact' takes no value");
  EXPECT_TRUE(contains(parse_error({"list", "users", "--projection", "a,,b"}), "empty item"));
  EXPECT_TRUE(contains(parse_error({"watch", "users", "--count", "0"}), "--count"));
}

TEST(DbCliArgsTest, CommandsAndTheirArguments) {
  EXPECT_TRUE(contains(parse_error({}), "missing command"));
  EXPECT_TRUE(contains(parse_error({"frob"}), "unknown db command 'frob'"));
  EXPECT_TRUE(contains(parse_error({"schema"}), "set or get"));
  EXPECT_TRUE(contains(parse_error({"index", "drop", "x"}), "unknown action 'drop'"));
  EXPECT_EQ(parse_error({"read"}), "'read' needs an ENTITY");
  EXPECT_EQ(parse_error({"read", "users"}), "'read' needs an ID");
  EXPECT_EQ(parse_error({"delete", "users", "u1", "u2"}), "unexpected argument 'u2' for 'delete'");
  EXPECT_EQ(parse_error({"create", "users"}), "'create' needs --data JSON");
  EXPECT_EQ(parse_error({"update", "users", "u1"}), "'update' needs --data JSON");
  EXPECT_TRUE(contains(parse_error({"schema", "set", "users"}), "--data JSON or --file"));
  EXPECT_EQ(parse_error({"index", "add", "users"}), "'index add' needs --fields a,b");
  EXPECT_EQ(parse_error({"replay", "users"}), "'replay' needs --since SEQUENCE");
  EXPECT_EQ(parse_error({"index", "list", "users", "extra"}),
            "unexpected argument 'extra' for 'index list'");

  DbCommand cmd = parse_ok({"schema", "set", "users", "--file", "/tmp/s.json"});
  EXPECT_EQ(cmd.verb, DbVerb::kSchemaSet);
  EXPECT_EQ(cmd.data_file, "/tmp/s.json");
  // "--" ends the flags: an id may start with '-'.
  cmd = parse_ok({"read", "users", "--", "-abc"});
  EXPECT_EQ(cmd.id, "-abc");
}

TEST(DbCliArgsTest, Help) {
  EXPECT_TRUE(parse_ok({"--help"}).show_help);
  EXPECT_TRUE(parse_ok({"help"}).show_help);
  EXPECT_TRUE(parse_ok({"list", "-h"}).show_help);  // no ENTITY needed for help
  std::string usage = db_usage();
  for (const char* word : {"create", "read", "update", "delete", "list", "watch", "schema set",
                           "index add", "replay", "--filter", "--sort", "--limit", "--offset",
                           "--projection", "--host", "--port", "--timeout-ms", "Exit status"}) {
    EXPECT_TRUE(contains(usage, word)) << word;
  }
}

// --- answers ----------------------------------------------------------------------------

TEST(DbCliAnswerTest, OkPrintsDataPrettyOrCompact) {
  DbAnswerOutcome o =
      interpret_answer(R"({"status":"ok","data":{"id":"u1","n":1}})", OutputFormat::kDefault);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out, "{\n  \"id\": \"u1\",\n  \"n\": 1\n}\n");
  EXPECT_EQ(o.err, "");
  o = interpret_answer(R"({"status":"ok","data":[{"id":"u1"}]})", OutputFormat::kCompact);
  EXPECT_EQ(o.out, "[{\"id\":\"u1\"}]\n");
}

TEST(DbCliAnswerTest, ErrorIsOneLineWithCodeAndExit1) {
  DbAnswerOutcome o = interpret_answer(
      R"({"status":"error","code":404,"message":"no record users/u9"})", OutputFormat::kDefault);
  EXPECT_EQ(o.exit_code, kDbExitErrorAnswer);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "topicdb: 404 not found: no record users/u9\n");
  o = interpret_answer(
      R"({"status":"error","code":409,"message":"version is 4\nnot 3","data":{"current_version":4}})",
      OutputFormat::kDefault);
  EXPECT_EQ(o.err, "topicdb: 409 conflict: version is 4 not 3\n");
  EXPECT_EQ(describe_db_code(410), "410 gone");
  EXPECT_EQ(describe_db_code(503), "503 unavailable");
}

TEST(DbCliAnswerTest, NotAnEnvelopeIsExit3) {
  for (const char* text : {"not json", "[1,2]", R"({"data":1})"}) {
    DbAnswerOutcome o = interpret_answer(text, OutputFormat::kDefault);
    EXPECT_EQ(o.exit_code, kDbExitNoAnswer) << text;
    EXPECT_TRUE(contains(o.err, "not a $DB envelope")) << text;
  }
}

}  // namespace
}  // namespace topicdb::app

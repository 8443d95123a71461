// Constraints over real MQTT: the constraint admin topics, each kind and on_delete policy,
// malformed definitions, many clients racing for one unique value, deletes racing creates,
// $DB/_admin/verify after a mixed workload and after corruption, and restart persistence.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/wait.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/db_client.h"

namespace topicdb::itest::db {
namespace {

class DbConstraintsTest : public DbTest {
 protected:
  Json verify(DbClient& c) {
    Json answer = c.request("$DB/_admin/verify", "{}");
    EXPECT_TRUE(is_ok(answer));
    return answer["data"];
  }
  bool exec_sql(const std::string& sql) {
    sqlite3* db = nullptr;
    bool ok = sqlite3_open((broker_.data_dir() + "/topicdb.sqlite3").c_str(), &db) == SQLITE_OK &&
              sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    if (!ok) ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return ok;
  }
};

std::string message(const Json& envelope) { return envelope.value("message", ""); }

// Runs fn(i) on n threads, released together.
template <typename Fn>
void race(int n, Fn fn) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      fn(i, [&] {
        ready.fetch_add(1);
        while (!go.load()) std::this_thread::yield();
      });
    });
  }
  while (ready.load() < n) std::this_thread::sleep_for(milliseconds(1));
  go.store(true);
  for (auto& t : threads) t.join();
}

TEST_F(DbConstraintsTest, EachKindWithMqdbPayloads) {
  DbClient c(port(), "admin");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/posts/create", R"({"id":"p1","title":"a"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/posts/add",
                              R"({"type":"unique","name":"uniq_title","fields":["title"]})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/posts/add",
                              R"({"type":"not_null","name":"nn_title","field":"title"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/comments/add",
                              R"({"type":"foreign_key","name":"fk_post","field":"post_id",
                                  "target_entity":"posts","target_field":"id",
                                  "on_delete":"cascade"})")));
  Json list = c.request("$DB/_admin/constraint/posts/list", "{}");
  ASSERT_TRUE(is_ok(list));
  ASSERT_EQ(list["data"].size(), 2u) << list.dump();
  EXPECT_EQ(list["data"][0]["name"], "uniq_title");
  EXPECT_EQ(list["data"][1]["type"], "not_null");

  Json dup = c.request("$DB/posts/create", R"({"title":"a"})");
  ASSERT_TRUE(is_error(dup, 409));
  EXPECT_NE(message(dup).find("uniq_title"), std::string::npos) << dup.dump();
  EXPECT_NE(message(dup).find("\"a\""), std::string::npos) << dup.dump();
  Json null_title = c.request("$DB/posts/create", R"({"title":null})");
  ASSERT_TRUE(is_error(null_title, 409));
  EXPECT_NE(message(null_title).find("nn_title"), std::string::npos);
  Json dangling = c.request("$DB/comments/create", R"({"post_id":"p9"})");
  ASSERT_TRUE(is_error(dangling, 409));
  EXPECT_NE(message(dangling).find("fk_post"), std::string::npos);
  EXPECT_NE(message(dangling).find("p9"), std::string::npos);

  ASSERT_TRUE(is_ok(c.request("$DB/comments/create", R"({"id":"c1","post_id":"p1"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/posts/p1/delete", "{}")));
  EXPECT_TRUE(is_error(c.request("$DB/comments/c1", "{}"), 404)) << "cascaded";

  EXPECT_TRUE(is_error(c.request("$DB/_admin/constraint/posts/remove", R"({"name":"nope"})"), 404));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/posts/remove", R"({"name":"uniq_title"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/posts/create", R"({"title":"b"})")));
  EXPECT_TRUE(is_ok(c.request("$DB/posts/create", R"({"title":"b"})"))) << "removed";
}

TEST_F(DbConstraintsTest, MalformedDefinitionsAre400SayingWhatIsWrong) {
  DbClient c(port(), "bad");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/posts/create", R"({"id":"p"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/comments/add",
                              R"({"type":"not_null","name":"nn_post","field":"post_id"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/schema/votes/set",
                              R"({"post_id":{"type":"string","required":true}})")));
  struct Case {
    const char* entity;
    const char* body;
    const char* says;
  } cases[] = {
      {"comments", R"({"type":"primary","name":"x","field":"a"})", "unknown constraint type"},
      {"comments", R"({"type":"unique","name":"x"})", "fields"},
      {"comments", R"({"type":"not_null","name":"x"})", "field"},
      {"comments", R"({"type":"unique","fields":["a"]})", "name"},
      {"comments", R"({"type":"foreign_key","name":"x","field":"a","target_entity":"nothing"})",
       "unknown target entity 'nothing'"},
      {"comments",
       R"({"type":"foreign_key","name":"x","field":"a","target_entity":"posts","on_delete":"drop"})",
       "on_delete"},
      {"comments",
       R"({"type":"foreign_key","name":"x","field":"post_id","target_entity":"posts",
           "on_delete":"set_null"})",
       "nn_post"},
      {"votes",
       R"({"type":"foreign_key","name":"x","field":"post_id","target_entity":"posts",
           "on_delete":"set_null"})",
       "requires"},
  };
  for (const Case& k : cases) {
    Json answer = c.request(std::string("$DB/_admin/constraint/") + k.entity + "/add", k.body);
    ASSERT_TRUE(is_error(answer, 400)) << k.body;
    EXPECT_NE(message(answer).find(k.says), std::string::npos) << answer.dump();
  }
  EXPECT_TRUE(is_error(c.request("$DB/_admin/constraint/comments/add", "[1]"), 400));
}

TEST_F(DbConstraintsTest, AddOnViolatingDataIs409WithASample) {
  DbClient c(port(), "violating");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"a","email":"x"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"b","email":"x"})")));
  Json refused = c.request("$DB/_admin/constraint/users/add",
                           R"({"type":"unique","name":"u_email","fields":["email"]})");
  ASSERT_TRUE(is_error(refused, 409));
  EXPECT_NE(message(refused).find("u_email"), std::string::npos);
  EXPECT_EQ(refused["data"]["offending"][0]["ids"], Json({"a", "b"})) << refused.dump();
  EXPECT_EQ(refused["data"]["offending"][0]["value"], Json({"x"}));
  Json list = c.request("$DB/_admin/constraint/users/list", "{}");
  EXPECT_EQ(list["data"], Json::array());
}

TEST_F(DbConstraintsTest, SixtyFourClientsRaceForOneUniqueValue) {
  {
    DbClient admin(port(), "admin");
    ASSERT_TRUE(admin.connect());
    ASSERT_TRUE(is_ok(admin.request("$DB/_admin/constraint/handles/add",
                                    R"({"type":"unique","name":"u_handle","fields":["handle"]})")));
    for (int i = 0; i < 64; ++i) {
      ASSERT_TRUE(is_ok(admin.request(
          "$DB/handles/create",
          R"({"id":"h)" + std::to_string(i) + R"(","handle":"own)" + std::to_string(i) + "\"}")));
    }
  }
  constexpr int kClients = 64;
  std::vector<Json> creates(kClients), updates(kClients);
  race(kClients, [&](int i, auto wait) {
    DbClient c(port(), "racer-" + std::to_string(i));
    if (!c.connect()) {
      ADD_FAILURE() << "connect " << i;
      wait();
      return;
    }
    wait();
    creates[i] = c.request("$DB/handles/create", R"({"handle":"taken"})");
  });
  int ok = 0;
  for (const Json& a : creates) {
    if (is_ok(a)) {
      ++ok;
    } else {
      EXPECT_TRUE(is_error(a, 409)) << a.dump();
    }
  }
  EXPECT_EQ(ok, 1) << "exactly one create wins";

  race(kClients, [&](int i, auto wait) {
    DbClient c(port(), "updater-" + std::to_string(i));
    if (!c.connect()) {
      ADD_FAILURE() << "connect " << i;
      wait();
      return;
    }
    wait();
    updates[i] =
        c.request("$DB/handles/h" + std::to_string(i) + "/update", R"({"handle":"second"})");
  });
  ok = 0;
  for (const Json& a : updates) {
    if (is_ok(a)) {
      ++ok;
    } else {
      EXPECT_TRUE(is_error(a, 409)) << a.dump();
    }
  }
  EXPECT_EQ(ok, 1) << "exactly one update wins";
  DbClient check(port(), "check");
  ASSERT_TRUE(check.connect());
  Json list =
      check.request("$DB/handles/list",
                    R"({"filters":[{"field":"handle","op":"in","value":["taken","second"]}]})");
  ASSERT_TRUE(is_ok(list));
  EXPECT_EQ(list["data"].size(), 2u) << list.dump();
  EXPECT_EQ(verify(check)["clean"], true);
}

// Children are created under parents from several clients while another client deletes the
// parents: afterwards no child points at a missing parent and verify is clean.
TEST_F(DbConstraintsTest, DeletesRacingChildCreatesLeaveNoOrphan) {
  DbClient admin(port(), "admin");
  ASSERT_TRUE(admin.connect());
  constexpr int kParents = 10;
  for (const char* parent : {"folders", "vaults"}) {
    for (int p = 0; p < kParents; ++p) {
      ASSERT_TRUE(is_ok(admin.request(std::string("$DB/") + parent + "/create",
                                      R"({"id":"p)" + std::to_string(p) + "\"}")));
    }
  }
  ASSERT_TRUE(is_ok(admin.request("$DB/_admin/constraint/files/add",
                                  R"({"type":"foreign_key","name":"fk_folder","field":"folder_id",
                                      "target_entity":"folders","on_delete":"cascade"})")));
  ASSERT_TRUE(is_ok(admin.request("$DB/_admin/constraint/keys/add",
                                  R"({"type":"foreign_key","name":"fk_vault","field":"vault_id",
                                      "target_entity":"vaults","on_delete":"restrict"})")));
  constexpr int kWriters = 6;
  std::atomic<int> restricted_refusals{0};
  race(kWriters + 1, [&](int i, auto wait) {
    DbClient c(port(), "client-" + std::to_string(i));
    bool connected = static_cast<bool>(c.connect());
    wait();
    if (!connected) {
      ADD_FAILURE() << "connect " << i;
      return;
    }
    if (i == kWriters) {  // the deleter
      for (int p = 0; p < kParents; ++p) {
        Json a = c.request("$DB/folders/p" + std::to_string(p) + "/delete", "{}");
        EXPECT_TRUE(is_ok(a)) << a.dump();
        Json b = c.request("$DB/vaults/p" + std::to_string(p) + "/delete", "{}");
        if (!is_ok(b)) {
          EXPECT_TRUE(is_error(b, 409)) << b.dump();
          restricted_refusals.fetch_add(1);
        }
      }
      return;
    }
    for (int n = 0; n < 30; ++n) {
      std::string p = "p" + std::to_string(n % kParents);
      Json f = c.request("$DB/files/create", R"({"folder_id":")" + p + "\"}");
      if (!is_ok(f)) {
        EXPECT_TRUE(is_error(f, 409)) << f.dump();
      }
      Json k = c.request("$DB/keys/create", R"({"vault_id":")" + p + "\"}");
      if (!is_ok(k)) {
        EXPECT_TRUE(is_error(k, 409)) << k.dump();
      }
    }
  });
  Json files = admin.request("$DB/files/list", "{}");
  ASSERT_TRUE(is_ok(files));
  EXPECT_TRUE(files["data"].empty()) << "every folder is gone, so are its files";
  Json keys = admin.request("$DB/keys/list", "{}");
  ASSERT_TRUE(is_ok(keys));
  for (const Json& key : keys["data"]) {
    EXPECT_TRUE(is_ok(admin.request("$DB/vaults/" + key["vault_id"].get<std::string>(), "{}")))
        << "orphan " << key.dump();
  }
  Json report = verify(admin);
  EXPECT_EQ(report["clean"], true) << report.dump();
}

TEST_F(DbConstraintsTest, VerifyAfterMixedWorkloadAndAfterCorruption) {
  DbClient c(port(), "mixed");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/authors/create", R"({"id":"seed"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/books/add",
                              R"({"type":"foreign_key","name":"fk_author","field":"author_id",
                                  "target_entity":"authors","on_delete":"set_null"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/books/add",
                              R"({"type":"unique","name":"u_isbn","fields":["isbn"]})")));
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);
    ASSERT_TRUE(is_ok(c.request("$DB/authors/create", R"({"id":"a)" + n + "\"}")));
    ASSERT_TRUE(is_ok(c.request("$DB/books/create", R"({"id":"b)" + n + R"(","isbn":)" + n +
                                                        R"(,"author_id":"a)" + n + "\"}")));
    if (i % 3 == 0) {
      ASSERT_TRUE(is_ok(c.request("$DB/books/b" + n + "/update",
                                  R"({"isbn":)" + std::to_string(100000 + i) + "}")));
    }
    if (i % 4 == 1) {
      ASSERT_TRUE(is_ok(c.request("$DB/authors/a" + n + "/delete", "{}")));
    }
    if (i % 5 == 2) {
      ASSERT_TRUE(is_ok(c.request("$DB/books/b" + n + "/delete", "{}")));
    }
  }
  Json clean = verify(c);
  EXPECT_EQ(clean["clean"], true) << clean.dump();

  ASSERT_TRUE(broker_.stop());
  ASSERT_TRUE(exec_sql("DELETE FROM db_unique WHERE record_id='b3'"));
  ASSERT_TRUE(exec_sql("INSERT INTO db_fk_refs VALUES('books','fk_author','ghost','b4',0)"));
  ASSERT_TRUE(broker_.start(broker_.data_dir(), broker_args()));
  DbClient after(port(), "after");
  ASSERT_TRUE(after.connect());
  Json report = verify(after);
  EXPECT_EQ(report["clean"], false) << report.dump();
  bool unique_reported = false, fk_reported = false;
  for (const Json& p : report["problems"]) {
    if (p["constraint"] == "u_isbn") unique_reported = p["missing_rows"] == 1;
    if (p["constraint"] == "fk_author") fk_reported = p["extra_rows"] == 1;
  }
  EXPECT_TRUE(unique_reported) << report.dump();
  EXPECT_TRUE(fk_reported) << report.dump();
}

TEST_F(DbConstraintsTest, DefinitionsAndReverseIndexSurviveRestart) {
  {
    DbClient c(port(), "before");
    ASSERT_TRUE(c.connect());
    ASSERT_TRUE(is_ok(c.request("$DB/posts/create", R"({"id":"p"})")));
    ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/comments/add",
                                R"({"type":"foreign_key","name":"fk_post","field":"post_id",
                                    "target_entity":"posts"})")));
    ASSERT_TRUE(is_ok(c.request("$DB/comments/create", R"({"id":"c","post_id":"p"})")));
  }
  ASSERT_TRUE(broker_.restart());
  DbClient c(port(), "after");
  ASSERT_TRUE(c.connect());
  Json list = c.request("$DB/_admin/constraint/comments/list", "{}");
  ASSERT_TRUE(is_ok(list));
  EXPECT_EQ(list["data"].size(), 1u);
  Json refused = c.request("$DB/posts/p/delete", "{}");
  ASSERT_TRUE(is_error(refused, 409)) << "restrict still knows the child";
  EXPECT_NE(message(refused).find("fk_post"), std::string::npos);
  EXPECT_TRUE(is_error(c.request("$DB/comments/create", R"({"post_id":"zz"})"), 409));
  EXPECT_EQ(verify(c)["clean"], true);
}

TEST_F(DbConstraintsTest, CascadeEmitsOneEventPerRecordInCommitOrder) {
  v5::PahoV5 watcher(port(), "watcher");
  ASSERT_TRUE(watcher.connect());
  DbClient c(port(), "cascade");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/a/create", R"({"id":"root"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/b/create", R"({"id":"seed"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/b/add",
                              R"({"type":"foreign_key","name":"fk_a","field":"a_id",
                                  "target_entity":"a","on_delete":"cascade"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/constraint/c/add",
                              R"({"type":"foreign_key","name":"fk_b","field":"b_id",
                                  "target_entity":"b","on_delete":"cascade"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/b/create", R"({"id":"b1","a_id":"root"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/c/create", R"({"id":"c1","b_id":"b1"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/c/create", R"({"id":"c2","b_id":"b1"})")));
  ASSERT_TRUE(watcher.subscribe("$DB/+/events/#", 1));
  ASSERT_TRUE(is_ok(c.request("$DB/a/root/delete", "{}")));
  std::vector<std::string> seen;
  int64_t last = 0;
  while (seen.size() < 4) {
    auto msg = watcher.receive(milliseconds(5000));
    ASSERT_TRUE(msg) << "got " << seen.size() << " events";
    Json e = parse_envelope(msg->get_payload_str());
    EXPECT_EQ(e["operation"], "Delete");
    EXPECT_GT(e["sequence"].get<int64_t>(), last);
    last = e["sequence"];
    seen.push_back(e["entity"].get<std::string>() + "/" + e["id"].get<std::string>());
  }
  EXPECT_EQ(seen[0], "a/root");
  EXPECT_EQ(seen[1], "b/b1");
  EXPECT_TRUE(watcher.receive(milliseconds(300)) == nullptr) << "one event per record";
}

// A cascade over thousands of children outgrows the in-memory savepoint journal, which then
// spills to a temp file. That spill once failed ("database or disk is full": SQLite wrote
// journal chunks larger than the unix VFS writes at once) and left the store refusing writes.
TEST_F(DbConstraintsTest, CascadeThatSpillsItsJournalDeletesEveryChild) {
  DbClient admin(port(), "admin");
  ASSERT_TRUE(admin.connect());
  ASSERT_TRUE(is_ok(admin.request("$DB/posts/create", R"({"id":"big"})")));
  ASSERT_TRUE(is_ok(admin.request("$DB/_admin/constraint/comments/add",
                                  R"({"type":"foreign_key","name":"fk_post","field":"post_id",
                                      "target_entity":"posts","on_delete":"cascade"})")));
  // 3,000 children (~1 MiB of journaled pages), in batches under --db-max-inflight (1024).
  constexpr int kBatches = 4;
  constexpr int kBatchSize = 750;
  const std::string filler(120, 'x');
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::string> payloads;
    for (int n = 0; n < kBatchSize; ++n) {
      payloads.push_back(R"({"post_id":"big","text":")" + filler + std::to_string(n) + "\"}");
    }
    for (const Json& a : admin.request_pipelined("$DB/comments/create", payloads)) {
      ASSERT_TRUE(is_ok(a));
    }
  }

  Json deleted = admin.request("$DB/posts/big/delete", "{}");
  ASSERT_TRUE(is_ok(deleted));
  EXPECT_EQ(deleted["data"]["deleted"], true);
  Json left = admin.request("$DB/comments/list", "{}");
  ASSERT_TRUE(is_ok(left));
  EXPECT_TRUE(left["data"].empty()) << left["data"].size() << " children survived";
  Json after = admin.request("$DB/posts/create", R"({"id":"next"})");
  EXPECT_TRUE(is_ok(after)) << "the store still accepts writes";
  Json report = verify(admin);
  EXPECT_EQ(report["clean"], true) << report.dump();
}

// `topicdb db verify` and `topicdb db constraint ...` ask the running broker over MQTT.
TEST_F(DbConstraintsTest, CliVerifyAndConstraintCommands) {
  auto run_cli = [&](std::vector<std::string> args, int* exit_code) {
    std::vector<std::string> argv = {TOPICDB_BINARY, "db"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--port", std::to_string(port()), "--compact"});
    Subprocess p;
    std::string err = broker_.data_dir() + "/cli.stderr";
    EXPECT_TRUE(p.spawn(argv, Subprocess::Stderr::kFile, err));
    std::string out = p.read_all(milliseconds(15000));
    auto status = p.wait(milliseconds(5000));
    *exit_code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    return out;
  };
  DbClient c(port(), "cli-setup");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/posts/create", R"({"id":"p"})")));
  int code = -1;
  std::string added = run_cli({"constraint", "add", "comments", "--data",
                               R"({"type":"foreign_key","name":"fk_post","field":"post_id",
                                   "target_entity":"posts"})"},
                              &code);
  EXPECT_EQ(code, 0) << added;
  EXPECT_NE(added.find("fk_post"), std::string::npos) << added;
  std::string listed = run_cli({"constraint", "list", "comments"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(listed.find("fk_post"), std::string::npos) << listed;
  std::string verified = run_cli({"verify"}, &code);
  EXPECT_EQ(code, 0);
  Json report = Json::parse(verified, nullptr, false);
  EXPECT_EQ(report["clean"], true) << verified;
  run_cli({"constraint", "remove", "comments", "nope"}, &code);
  EXPECT_EQ(code, 1) << "a 404 answer";
  run_cli({"constraint", "remove", "comments", "fk_post"}, &code);
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace topicdb::itest::db

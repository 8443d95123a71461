// The store manager through the DocumentStore: constraint admin, enforcement on writes,
// delete plans (restrict, cascade, set_null), TTL interplay, verify, restart and rebuild.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tests/db/db_test_util.h"

namespace topicdb::db {
namespace {

class DbConstraintTest : public testing::DocumentStoreTest {
 protected:
  Answer add(const std::string& entity, const std::string& definition) {
    return run(make(Operation::kConstraintAdd, entity, "", Json::parse(definition)));
  }
  Answer drop(const std::string& entity, const std::string& name) {
    return run(make(Operation::kConstraintRemove, entity, "", Json{{"name", name}}));
  }
  Answer list(const std::string& entity) {
    return run(make(Operation::kConstraintList, entity, "", Json::object()));
  }
  Answer verify() { return run(make(Operation::kVerify, "", "", Json::object())); }
  void fk(const std::string& child, const std::string& name, const std::string& field,
          const std::string& parent, const std::string& on_delete) {
    Answer a = add(child, Json{{"type", "foreign_key"},
                               {"name", name},
                               {"field", field},
                               {"target_entity", parent},
                               {"on_delete", on_delete}}
                              .dump());
    ASSERT_EQ(a.code, 200) << a.message;
  }
  bool exists(const std::string& entity, const std::string& id) {
    return read(entity, id).code == 200;
  }
  // Lets the sweep run (the clock moves a sweep interval per round) until `done`.
  bool sweep_until(const std::function<bool()>& done) {
    for (int round = 0; round < 100; ++round) {
      if (done()) return true;
      clock_.advance_ms(250);
      run_loop_until_for(10, [] { return false; });
    }
    return done();
  }
  static bool mentions(const Answer& a, const std::string& text) {
    return a.message.find(text) != std::string::npos;
  }
};

TEST_F(DbConstraintTest, UniqueRefusesDuplicatesByJsonValue) {
  ASSERT_EQ(add("users", R"({"type":"unique","name":"uniq_email","fields":["email"]})").code, 200);
  Answer first = create("users", {{"id", "a"}, {"email", "x@y"}});
  ASSERT_EQ(first.code, 200) << first.message;
  Answer dup = create("users", {{"id", "b"}, {"email", "x@y"}});
  EXPECT_EQ(dup.code, 409);
  EXPECT_TRUE(mentions(dup, "uniq_email")) << dup.message;
  EXPECT_TRUE(mentions(dup, "x@y")) << dup.message;
  EXPECT_FALSE(exists("users", "b"));

  ASSERT_EQ(add("nums", R"({"type":"unique","name":"u","fields":["n"]})").code, 200);
  ASSERT_EQ(create("nums", {{"id", "one"}, {"n", 1}}).code, 200);
  EXPECT_EQ(create("nums", {{"id", "float"}, {"n", 1.0}}).code, 409) << "1 equals 1.0";
  EXPECT_EQ(create("nums", {{"id", "text"}, {"n", "1"}}).code, 200) << "\"1\" differs from 1";
  EXPECT_EQ(create("nums", {{"id", "null1"}, {"n", nullptr}}).code, 200);
  EXPECT_EQ(create("nums", {{"id", "null2"}}).code, 200) << "nulls are never duplicates";

  // Updates: keeping one's own value is fine; taking another's is not; a freed value is free.
  EXPECT_EQ(update("users", "a", {{"email", "x@y"}, {"age", 3}}).code, 200);
  ASSERT_EQ(create("users", {{"id", "c"}, {"email", "c@y"}}).code, 200);
  EXPECT_EQ(update("users", "c", {{"email", "x@y"}}).code, 409);
  EXPECT_EQ(update("users", "a", {{"email", "new@y"}}).code, 200);
  EXPECT_EQ(update("users", "c", {{"email", "x@y"}}).code, 200);
  ASSERT_EQ(remove("users", "c").code, 200);
  EXPECT_EQ(create("users", {{"id", "d"}, {"email", "x@y"}}).code, 200);
  EXPECT_EQ(query("SELECT count(*) FROM db_unique WHERE entity='users'"), 2);
}

// A create claims its unique keys by inserting them. When a later key of the record is taken,
// the keys it claimed before and its record row go again, leaving no trace; nothing else
// (its foreign-key row, its event) was written.
TEST_F(DbConstraintTest, ARefusedCreateReleasesTheKeysItClaimedFirst) {
  ASSERT_EQ(add("teams", R"({"type":"unique","name":"u_name","fields":["name"]})").code, 200);
  ASSERT_EQ(add("teams", R"({"type":"unique","name":"u_code","fields":["code"]})").code, 200);
  ASSERT_EQ(create("orgs", {{"id", "o1"}}).code, 200);
  fk("teams", "fk_org", "org", "orgs", "restrict");
  ASSERT_EQ(create("teams", {{"id", "a"}, {"name", "red"}, {"code", 1}, {"org", "o1"}}).code, 200);

  Answer dup = create("teams", {{"id", "b"}, {"name", "blue"}, {"code", 1}, {"org", "o1"}});
  EXPECT_EQ(dup.code, 409);
  EXPECT_TRUE(mentions(dup, "u_code")) << dup.message;
  EXPECT_TRUE(mentions(dup, "'a'")) << dup.message;
  EXPECT_FALSE(exists("teams", "b"));
  EXPECT_EQ(query("SELECT count(*) FROM db_unique WHERE record_id='b'"), 0) << "u_name released";
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs WHERE child_id='b'"), 0);
  EXPECT_EQ(query("SELECT count(*) FROM db_changes WHERE id='b'"), 0) << "no change, no event";

  // "blue" is free, and the refused id can be created.
  EXPECT_EQ(create("teams", {{"id", "b"}, {"name", "blue"}, {"code", 2}, {"org", "o1"}}).code, 200);
  EXPECT_EQ(query("SELECT count(*) FROM db_unique WHERE entity='teams'"), 4);
  EXPECT_EQ(verify().data["clean"], true);
}

TEST_F(DbConstraintTest, CompositeUniqueIsTheTuple) {
  ASSERT_EQ(add("slots", R"({"type":"unique","name":"u_slot","fields":["room","hour"]})").code,
            200);
  ASSERT_EQ(create("slots", {{"id", "a"}, {"room", "r1"}, {"hour", 9}}).code, 200);
  EXPECT_EQ(create("slots", {{"id", "b"}, {"room", "r1"}, {"hour", 10}}).code, 200)
      << "one equal member is not a duplicate (MQDB checks each field alone)";
  EXPECT_EQ(create("slots", {{"id", "c"}, {"room", "r2"}, {"hour", 9}}).code, 200);
  Answer dup = create("slots", {{"id", "d"}, {"room", "r1"}, {"hour", 9.0}});
  EXPECT_EQ(dup.code, 409);
  EXPECT_TRUE(mentions(dup, "u_slot")) << dup.message;
  EXPECT_EQ(create("slots", {{"id", "e"}, {"room", "r1"}, {"hour", nullptr}}).code, 200);
  EXPECT_EQ(create("slots", {{"id", "f"}, {"room", "r1"}, {"hour", nullptr}}).code, 200)
      << "a tuple with a null member is never a duplicate";
  EXPECT_EQ(create("slots", {{"id", "g"}, {"room", "r1"}}).code, 200);
}

TEST_F(DbConstraintTest, NotNullOnCreateAndUpdate) {
  ASSERT_EQ(add("posts", R"({"type":"not_null","name":"nn_title","field":"title"})").code, 200);
  Answer missing = create("posts", {{"id", "p"}});
  EXPECT_EQ(missing.code, 409);
  EXPECT_TRUE(mentions(missing, "nn_title")) << missing.message;
  EXPECT_EQ(create("posts", {{"id", "p"}, {"title", nullptr}}).code, 409);
  ASSERT_EQ(create("posts", {{"id", "p"}, {"title", "t"}}).code, 200);
  EXPECT_EQ(update("posts", "p", {{"title", nullptr}}).code, 409);
  EXPECT_EQ(read("posts", "p").data["title"], "t");
  EXPECT_EQ(update("posts", "p", {{"other", 1}}).code, 200);
}

TEST_F(DbConstraintTest, ForeignKeyRefusesDanglingReferencesAndRestrictsDeletes) {
  ASSERT_EQ(create("posts", {{"id", "p1"}}).code, 200);
  fk("comments", "fk_post", "post_id", "posts", "restrict");
  Answer dangling = create("comments", {{"id", "c1"}, {"post_id", "nope"}});
  EXPECT_EQ(dangling.code, 409);
  EXPECT_TRUE(mentions(dangling, "fk_post")) << dangling.message;
  EXPECT_TRUE(mentions(dangling, "nope")) << dangling.message;
  EXPECT_EQ(create("comments", {{"id", "c1"}, {"post_id", 5}}).code, 409);
  ASSERT_EQ(create("comments", {{"id", "c1"}, {"post_id", "p1"}}).code, 200);
  EXPECT_EQ(create("comments", {{"id", "c0"}}).code, 200) << "a null reference is fine";
  EXPECT_EQ(update("comments", "c0", {{"post_id", "gone"}}).code, 409);

  Answer refused = remove("posts", "p1");
  EXPECT_EQ(refused.code, 409);
  EXPECT_TRUE(mentions(refused, "fk_post")) << refused.message;
  EXPECT_TRUE(mentions(refused, "c1")) << refused.message;
  EXPECT_TRUE(exists("posts", "p1"));
  ASSERT_EQ(update("comments", "c1", {{"post_id", nullptr}}).code, 200);
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs"), 0) << "an update moves the reference";
  EXPECT_EQ(remove("posts", "p1").code, 200);
}

// The enforcer remembers where a referenced parent's row is (its rowid) and reads that row
// again on the next reference. A parent deleted since, or a rowid that SQLite gave to another
// record, must not pass for the parent.
TEST_F(DbConstraintTest, ARememberedParentThatIsGoneNoLongerPasses) {
  ASSERT_EQ(create("posts", {{"id", "p1"}}).code, 200);
  fk("comments", "fk_post", "post_id", "posts", "cascade");
  int64_t p1_rowid = query("SELECT rowid FROM db_records WHERE entity='posts' AND id='p1'");
  ASSERT_EQ(create("comments", {{"id", "c1"}, {"post_id", "p1"}}).code, 200);
  ASSERT_EQ(remove("posts", "p1").code, 200);  // and c1: p1's row was the last but one
  ASSERT_EQ(create("posts", {{"id", "q"}}).code, 200);
  ASSERT_EQ(query("SELECT rowid FROM db_records WHERE entity='posts' AND id='q'"), p1_rowid)
      << "the test needs SQLite to reuse the rowid";
  EXPECT_EQ(create("comments", {{"id", "c2"}, {"post_id", "p1"}}).code, 409) << "q's row";
  EXPECT_EQ(create("comments", {{"id", "c3"}, {"post_id", "q"}}).code, 200);

  ASSERT_EQ(create("posts", {{"id", "p2"}}).code, 200);
  ASSERT_EQ(create("comments", {{"id", "c4"}, {"post_id", "p2"}}).code, 200);
  ASSERT_EQ(remove("posts", "p2").code, 200);
  EXPECT_EQ(create("comments", {{"id", "c5"}, {"post_id", "p2"}}).code, 409) << "no row";
  ASSERT_EQ(create("posts", {{"id", "p2"}}).code, 200);
  EXPECT_EQ(create("comments", {{"id", "c6"}, {"post_id", "p2"}}).code, 200) << "back again";
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs"), 2);
}

TEST_F(DbConstraintTest, CascadeDeletesThreeLevelsInOneTransactionWithEvents) {
  ASSERT_EQ(create("users", {{"id", "u"}}).code, 200);
  ASSERT_EQ(create("posts", {{"id", "seed"}}).code, 200);
  fk("posts", "fk_author", "author_id", "users", "cascade");
  fk("comments", "fk_post", "post_id", "posts", "cascade");
  ASSERT_EQ(create("comments", {{"id", "seed"}}).code, 200);
  fk("likes", "fk_comment", "comment_id", "comments", "cascade");
  ASSERT_EQ(create("posts", {{"id", "p1"}, {"author_id", "u"}}).code, 200);
  ASSERT_EQ(create("posts", {{"id", "p2"}, {"author_id", "u"}}).code, 200);
  ASSERT_EQ(create("comments", {{"id", "c1"}, {"post_id", "p1"}}).code, 200);
  ASSERT_EQ(create("comments", {{"id", "c2"}, {"post_id", "p2"}}).code, 200);
  ASSERT_EQ(create("likes", {{"id", "l1"}, {"comment_id", "c1"}}).code, 200);
  ASSERT_EQ(create("likes", {{"id", "l2"}, {"comment_id", "c2"}}).code, 200);
  ASSERT_TRUE(wait_events(9));
  size_t before = sink_.events.size();

  ASSERT_EQ(remove("users", "u").code, 200);
  for (auto [entity, id] : std::vector<std::pair<std::string, std::string>>{
           {"users", "u"}, {"posts", "p1"}, {"comments", "c2"}, {"likes", "l1"}}) {
    EXPECT_FALSE(exists(entity, id)) << entity << "/" << id;
  }
  EXPECT_TRUE(exists("posts", "seed"));
  ASSERT_TRUE(wait_events(before + 7));
  std::vector<std::string> deleted;
  for (size_t i = before; i < sink_.events.size(); ++i) {
    EXPECT_EQ(sink_.events[i].operation, "Delete");
    if (i > before) {
      EXPECT_GT(sink_.events[i].sequence, sink_.events[i - 1].sequence);
    }
    deleted.push_back(sink_.events[i].entity + "/" + sink_.events[i].id);
  }
  EXPECT_EQ(deleted.front(), "users/u") << "the root first, then level by level";
  EXPECT_EQ(deleted.size(), 7u);
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs"), 0);
  EXPECT_EQ(verify().data["clean"], true);
}

// A cascade removes each parent's reverse-index rows in one range delete; a child's other rows
// (a unique key, a second foreign key) still go with it.
TEST_F(DbConstraintTest, CascadeRemovesEveryRowOfChildrenWithOtherConstraints) {
  ASSERT_EQ(create("users", {{"id", "u"}}).code, 200);
  ASSERT_EQ(create("tags", {{"id", "t"}}).code, 200);
  fk("posts", "fk_author", "author_id", "users", "cascade");
  fk("posts", "fk_tag", "tag_id", "tags", "restrict");
  ASSERT_EQ(add("posts", R"({"type":"unique","name":"u_slug","fields":["slug"]})").code, 200);
  ASSERT_EQ(
      create("posts", {{"id", "p1"}, {"author_id", "u"}, {"tag_id", "t"}, {"slug", "a"}}).code,
      200);
  ASSERT_EQ(create("posts", {{"id", "p2"}, {"author_id", "u"}, {"slug", "b"}}).code, 200);
  EXPECT_EQ(remove("tags", "t").code, 409) << "p1 still references the tag";

  ASSERT_EQ(remove("users", "u").code, 200);
  EXPECT_FALSE(exists("posts", "p1"));
  EXPECT_FALSE(exists("posts", "p2"));
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs"), 0);
  EXPECT_EQ(query("SELECT count(*) FROM db_unique"), 0);
  EXPECT_EQ(remove("tags", "t").code, 200) << "the deleted child's tag reference is gone";
  ASSERT_EQ(create("users", {{"id", "v"}}).code, 200);
  EXPECT_EQ(create("posts", {{"id", "p3"}, {"author_id", "v"}, {"slug", "a"}}).code, 200)
      << "the deleted child's unique value is free";
  EXPECT_EQ(verify().data["clean"], true);
}

TEST_F(DbConstraintTest, SelfReferenceAndCycleTerminate) {
  ASSERT_EQ(create("nodes", {{"id", "root"}}).code, 200);
  fk("nodes", "fk_parent", "parent_id", "nodes", "cascade");
  ASSERT_EQ(create("nodes", {{"id", "self"}, {"parent_id", "self"}}).code, 200)
      << "a record may reference itself";
  ASSERT_EQ(create("nodes", {{"id", "a"}, {"parent_id", "root"}}).code, 200);
  ASSERT_EQ(create("nodes", {{"id", "b"}, {"parent_id", "a"}}).code, 200);
  ASSERT_EQ(update("nodes", "root", {{"parent_id", "b"}}).code, 200) << "a cycle";
  ASSERT_EQ(remove("nodes", "a").code, 200);
  EXPECT_FALSE(exists("nodes", "root"));
  EXPECT_FALSE(exists("nodes", "b"));
  ASSERT_EQ(remove("nodes", "self").code, 200);

  // A cycle between two entities.
  ASSERT_EQ(create("xs", {{"id", "x0"}}).code, 200);
  ASSERT_EQ(create("ys", {{"id", "y0"}}).code, 200);
  fk("xs", "fk_y", "y_id", "ys", "cascade");
  fk("ys", "fk_x", "x_id", "xs", "cascade");
  ASSERT_EQ(create("xs", {{"id", "x1"}}).code, 200);
  ASSERT_EQ(create("ys", {{"id", "y1"}, {"x_id", "x1"}}).code, 200);
  ASSERT_EQ(update("xs", "x1", {{"y_id", "y1"}}).code, 200);
  ASSERT_EQ(remove("ys", "y1").code, 200);
  EXPECT_FALSE(exists("xs", "x1"));
  EXPECT_EQ(query("SELECT count(*) FROM db_records WHERE entity IN ('xs','ys')"), 2);
  EXPECT_EQ(verify().data["clean"], true);
}

TEST_F(DbConstraintTest, SetNullNullsTheFieldWithAnUpdateEvent) {
  ASSERT_EQ(create("teams", {{"id", "t"}}).code, 200);
  fk("players", "fk_team", "team_id", "teams", "set_null");
  ASSERT_EQ(create("players", {{"id", "p"}, {"team_id", "t"}, {"name", "n"}}).code, 200);
  ASSERT_TRUE(wait_events(2));
  ASSERT_EQ(remove("teams", "t").code, 200);
  Answer player = read("players", "p");
  ASSERT_EQ(player.code, 200);
  EXPECT_TRUE(player.data["team_id"].is_null());
  EXPECT_EQ(player.data["_version"], 2);
  ASSERT_TRUE(wait_events(4));
  EXPECT_EQ(sink_.events[2].operation, "Delete");
  EXPECT_EQ(sink_.events[3].operation, "Update");
  EXPECT_EQ(sink_.events[3].id, "p");
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs"), 0);

  // A set_null field cannot also be not-null, either way round.
  Answer nn = add("players", R"({"type":"not_null","name":"nn_team","field":"team_id"})");
  EXPECT_EQ(nn.code, 400);
  EXPECT_TRUE(mentions(nn, "fk_team")) << nn.message;
  ASSERT_EQ(add("players", R"({"type":"not_null","name":"nn_name","field":"name"})").code, 200);
  Answer bad = add("players", R"({"type":"foreign_key","name":"fk2","field":"name",
      "target_entity":"players","on_delete":"set_null"})");
  EXPECT_EQ(bad.code, 400);
  EXPECT_TRUE(mentions(bad, "nn_name")) << bad.message;
  // ... nor a required schema field; when the schema comes later, the delete is refused.
  ASSERT_EQ(create("teams", {{"id", "t2"}}).code, 200);
  ASSERT_EQ(update("players", "p", {{"team_id", "t2"}}).code, 200);
  ASSERT_EQ(run(make(Operation::kSchemaSet, "players", "",
                     Json::parse(R"({"team_id":{"type":"string","required":true}})")))
                .code,
            200);
  Answer refused = remove("teams", "t2");
  EXPECT_EQ(refused.code, 409);
  EXPECT_TRUE(mentions(refused, "fk_team")) << refused.message;
  EXPECT_TRUE(exists("teams", "t2"));
}

TEST_F(DbConstraintTest, AddValidatesExistingDataAndNames) {
  ASSERT_EQ(create("users", {{"id", "a"}, {"email", "same"}}).code, 200);
  ASSERT_EQ(create("users", {{"id", "b"}, {"email", "same"}}).code, 200);
  ASSERT_EQ(create("users", {{"id", "c"}}).code, 200);
  Answer dup = add("users", R"({"type":"unique","name":"u_email","fields":["email"]})");
  ASSERT_EQ(dup.code, 409);
  EXPECT_TRUE(mentions(dup, "u_email")) << dup.message;
  EXPECT_EQ(dup.data["offending"][0]["ids"], Json({"a", "b"})) << dup.data.dump();
  Answer nulls = add("users", R"({"type":"not_null","name":"nn","field":"email"})");
  ASSERT_EQ(nulls.code, 409);
  EXPECT_EQ(nulls.data["offending"][0]["id"], "c");
  Answer dangling = add("users", R"({"type":"foreign_key","name":"f","field":"email",
      "target_entity":"users"})");
  ASSERT_EQ(dangling.code, 409);
  EXPECT_EQ(dangling.data["offending"].size(), 2u);
  EXPECT_EQ(list("users").data, Json::array()) << "nothing was added";

  EXPECT_EQ(add("users", R"({"type":"foreign_key","name":"f","field":"x",
      "target_entity":"ghosts"})")
                .code,
            400)
      << "unknown target entity";
  ASSERT_EQ(add("users", R"({"type":"unique","name":"u_name","fields":["name"]})").code, 200);
  EXPECT_EQ(add("users", R"({"type":"not_null","name":"u_name","field":"email"})").code, 409);
  EXPECT_EQ(add("users", R"({"type":"bogus","name":"z","field":"x"})").code, 400);
  EXPECT_EQ(drop("users", "missing").code, 404);
  Answer listed = list("users");
  ASSERT_EQ(listed.code, 200);
  ASSERT_EQ(listed.data.size(), 1u);
  EXPECT_EQ(listed.data[0]["name"], "u_name");
  ASSERT_EQ(drop("users", "u_name").code, 200);
  EXPECT_EQ(list("users").data, Json::array());
  EXPECT_EQ(query("SELECT count(*) FROM db_metadata_log WHERE kind='constraint'"), 2)
      << "add and remove both go through the revision-numbered log";
}

TEST_F(DbConstraintTest, DefinitionsAndReverseIndexSurviveRestart) {
  ASSERT_EQ(create("posts", {{"id", "p"}}).code, 200);
  fk("comments", "fk_post", "post_id", "posts", "restrict");
  ASSERT_EQ(add("comments", R"({"type":"unique","name":"u_slug","fields":["slug"]})").code, 200);
  ASSERT_EQ(create("comments", {{"id", "c"}, {"post_id", "p"}, {"slug", "s"}}).code, 200);
  reopen();
  EXPECT_EQ(list("comments").data.size(), 2u);
  EXPECT_EQ(remove("posts", "p").code, 409);
  EXPECT_EQ(create("comments", {{"id", "d"}, {"slug", "s"}}).code, 409);

  // Structures emptied behind the store's back are rebuilt from the data at start.
  close_store();
  ASSERT_TRUE(exec("DELETE FROM db_unique; DELETE FROM db_fk_refs;"));
  open_store(options_);
  EXPECT_EQ(query("SELECT count(*) FROM db_fk_refs"), 1);
  EXPECT_EQ(remove("posts", "p").code, 409);
  EXPECT_EQ(create("comments", {{"id", "d"}, {"slug", "s"}}).code, 409);
  EXPECT_EQ(verify().data["clean"], true);
}

TEST_F(DbConstraintTest, VerifyReportsDrift) {
  ASSERT_EQ(create("posts", {{"id", "p"}}).code, 200);
  fk("comments", "fk_post", "post_id", "posts", "cascade");
  ASSERT_EQ(add("comments", R"({"type":"unique","name":"u_slug","fields":["slug"]})").code, 200);
  ASSERT_EQ(create("comments", {{"id", "c1"}, {"post_id", "p"}, {"slug", "a"}}).code, 200);
  ASSERT_EQ(create("comments", {{"id", "c2"}, {"post_id", "p"}, {"slug", "b"}}).code, 200);
  Answer clean = verify();
  ASSERT_EQ(clean.code, 200);
  EXPECT_EQ(clean.data["clean"], true) << clean.data.dump();
  EXPECT_EQ(clean.data["constraints"], 2);

  store_->flush();
  ASSERT_TRUE(exec("DELETE FROM db_unique WHERE record_id='c1'"));
  ASSERT_TRUE(exec("UPDATE db_records SET body=json_set(body,'$.slug','b') WHERE id='c1'"));
  ASSERT_TRUE(exec("DELETE FROM db_fk_refs WHERE child_id='c2'"));
  Answer report = verify();
  ASSERT_EQ(report.code, 200);
  EXPECT_EQ(report.data["clean"], false);
  const Json& problems = report.data["problems"];
  ASSERT_EQ(problems.size(), 2u) << problems.dump();
  for (const Json& p : problems) {
    EXPECT_EQ(p["entity"], "comments");
    if (p["constraint"] == "u_slug") {
      EXPECT_EQ(p["violations"], 1) << "c1 and c2 share b";
    } else {
      EXPECT_EQ(p["constraint"], "fk_post");
      EXPECT_EQ(p["missing_rows"], 1);
    }
  }
}

TEST_F(DbConstraintTest, TtlExpiryAppliesOnDelete) {
  ASSERT_EQ(create("posts", {{"id", "seed"}}).code, 200);
  fk("comments", "fk_cascade", "post_id", "posts", "cascade");
  fk("pins", "fk_restrict", "post_id", "posts", "restrict");
  ASSERT_EQ(create("posts", {{"id", "short"}, {"ttl_secs", 1}}).code, 200);
  ASSERT_EQ(create("comments", {{"id", "c"}, {"post_id", "short"}}).code, 200);
  clock_.advance_ms(1000);
  ASSERT_TRUE(sweep_until([&] { return !exists("comments", "c"); }))
      << "cascade applies to an expired parent";

  ASSERT_EQ(create("posts", {{"id", "pinned"}, {"ttl_secs", 1}}).code, 200);
  ASSERT_EQ(create("pins", {{"id", "pin"}, {"post_id", "pinned"}}).code, 200);
  clock_.advance_ms(1000);
  ASSERT_TRUE(sweep_until(
      [&] { return query("SELECT count(*) FROM db_expiry_held WHERE id='pinned'") == 1; }));
  EXPECT_TRUE(exists("posts", "pinned")) << "restrict: the expiry waits, the record is readable";
  ASSERT_EQ(remove("pins", "pin").code, 200);
  ASSERT_TRUE(sweep_until([&] { return !exists("posts", "pinned"); }))
      << "once no child remains, the held expiry happens";
  EXPECT_EQ(query("SELECT count(*) FROM db_expiry_held"), 0);
}

TEST_F(DbConstraintTest, IncludesFollowTheForeignKey) {
  ASSERT_EQ(create("people", {{"id", "ada"}, {"name", "Ada"}}).code, 200);
  fk("posts", "fk_writer", "writer_id", "people", "restrict");
  ASSERT_EQ(create("posts", {{"id", "p"}, {"writer_id", "ada"}}).code, 200);
  Answer got = run(make(Operation::kRead, "posts", "p", Json{{"includes", {"writer"}}}));
  ASSERT_EQ(got.code, 200) << got.message;
  EXPECT_EQ(got.data["writer"]["name"], "Ada") << got.data.dump();
}

}  // namespace
}  // namespace topicdb::db

#include "db/metadata.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/db/db_test_util.h"

namespace topicdb::db {
namespace {

class DbMetadataTest : public testing::DocumentStoreTest {
 protected:
  Answer set_schema(const std::string& entity, Json schema) {
    return run(make(Operation::kSchemaSet, entity, "", std::move(schema)));
  }
  Answer get_schema(const std::string& entity) {
    return run(make(Operation::kSchemaGet, entity, "", Json::object()));
  }
  Answer add_index(const std::string& entity, Json body) {
    return run(make(Operation::kIndexAdd, entity, "", std::move(body)));
  }
  Answer list_indexes(const std::string& entity) {
    return run(make(Operation::kIndexList, entity, "", Json::object()));
  }
  int64_t revision() { return query("SELECT value FROM db_state WHERE key='metadata_revision'"); }

  const Json kPostSchema = Json::parse(
      R"({"title":{"type":"string","required":true},"views":{"type":"integer","default":0},
          "author_id":{"type":"string","references":"users"}})");
};

TEST_F(DbMetadataTest, SchemaValidatesCreatesAndUpdates) {
  Answer set = set_schema("posts", kPostSchema);
  ASSERT_EQ(set.code, 200) << set.message;
  EXPECT_EQ(set.data, kPostSchema);

  Answer missing = create("posts", {{"views", 1}});
  EXPECT_EQ(missing.code, 400);
  EXPECT_NE(missing.message.find("'title'"), std::string::npos) << missing.message;
  Answer wrong = create("posts", {{"title", "t"}, {"views", "many"}});
  EXPECT_EQ(wrong.code, 400);
  EXPECT_NE(wrong.message.find("'views'"), std::string::npos) << wrong.message;
  EXPECT_EQ(create("posts", {{"title", "t"}, {"views", 1.5}}).code, 400) << "integer, not number";
  EXPECT_EQ(create("posts", {{"title", 5}}).code, 400);

  Answer ok = create("posts", {{"id", "p1"}, {"title", "t"}, {"extra", true}});
  ASSERT_EQ(ok.code, 200) << ok.message;
  EXPECT_EQ(ok.data["views"], 0) << "default filled in";
  EXPECT_EQ(ok.data["extra"], true) << "fields outside the schema are free";

  Answer nulled = update("posts", "p1", {{"title", nullptr}});
  EXPECT_EQ(nulled.code, 400);
  EXPECT_NE(nulled.message.find("'title'"), std::string::npos);
  EXPECT_EQ(update("posts", "p1", {{"views", "x"}}).code, 400);
  EXPECT_EQ(update("posts", "p1", {{"views", 7}}).code, 200);
  EXPECT_EQ(query("SELECT version FROM db_records WHERE id='p1'"), 2);
  EXPECT_EQ(create("other", {{"anything", "goes"}}).code, 200) << "no schema = schemaless";
}

TEST_F(DbMetadataTest, SchemaGetAndRevisionsAndRestart) {
  EXPECT_EQ(get_schema("posts").code, 404);
  EXPECT_EQ(revision(), -1) << "no revision before the first change";
  ASSERT_EQ(set_schema("posts", kPostSchema).code, 200);
  EXPECT_EQ(revision(), 1);
  Answer got = get_schema("posts");
  ASSERT_EQ(got.code, 200);
  EXPECT_EQ(got.data, kPostSchema);
  Json smaller = {{"title", {{"type", "string"}}}};
  ASSERT_EQ(set_schema("posts", smaller).code, 200);
  EXPECT_EQ(revision(), 2);
  EXPECT_EQ(query("SELECT count(*) FROM db_metadata_log"), 2);
  EXPECT_EQ(query("SELECT revision FROM db_metadata WHERE kind='schema' AND entity='posts'"), 2);
  EXPECT_EQ(get_schema("posts").data, smaller);

  ASSERT_EQ(set_schema("posts", kPostSchema).code, 200);
  reopen();
  EXPECT_EQ(get_schema("posts").data, kPostSchema);
  EXPECT_EQ(create("posts", {{"views", 1}}).code, 400) << "the schema survives a restart";
  EXPECT_EQ(create("posts", {{"title", "t"}}).data["views"], 0);
  EXPECT_EQ(revision(), 3);
}

TEST_F(DbMetadataTest, InvalidSchemaIsRefused) {
  EXPECT_EQ(set_schema("posts", {{"a", {{"type", "date"}}}}).code, 400);
  EXPECT_EQ(set_schema("posts", {{"a", {{"type", "string"}, {"unique", true}}}}).code, 400);
  EXPECT_EQ(set_schema("posts", {{"a", {{"type", "integer"}, {"default", "x"}}}}).code, 400);
  EXPECT_EQ(set_schema("posts", {{"a", {{"type", "integer"}, {"references", "users"}}}}).code, 400);
  EXPECT_EQ(set_schema("posts", {{"a", {{"required", "yes"}}}}).code, 400);
  EXPECT_EQ(set_schema("posts", {{"_v", {{"type", "string"}}}}).code, 400);
  EXPECT_EQ(set_schema("posts", {{"a", "string"}}).code, 400);
  EXPECT_EQ(revision(), -1);
}

TEST_F(DbMetadataTest, SchemaThatExistingRecordsViolateIsConflictWithSample) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(create("posts", {{"id", "p" + std::to_string(i)}, {"n", i}}).code, 200);
  }
  ASSERT_EQ(create("posts", {{"id", "good"}, {"title", "t"}}).code, 200);
  Answer refused = set_schema("posts", kPostSchema);
  EXPECT_EQ(refused.code, 409);
  ASSERT_TRUE(refused.data["offending_ids"].is_array());
  EXPECT_EQ(refused.data["offending_ids"].size(), 10u) << "a sample of at most 10";
  for (const Json& id : refused.data["offending_ids"]) EXPECT_NE(id, "good");
  EXPECT_NE(refused.message.find("'title'"), std::string::npos) << refused.message;
  EXPECT_EQ(revision(), -1) << "nothing applied";
  EXPECT_EQ(get_schema("posts").code, 404);
  EXPECT_EQ(create("posts", {{"no_title", 1}}).code, 200) << "still schemaless";
}

TEST_F(DbMetadataTest, IndexAddCreatesPartialExpressionIndex) {
  Answer added = add_index("readings", {{"fields", {"site", "ts"}}});
  ASSERT_EQ(added.code, 200) << added.message;
  EXPECT_EQ(added.data, Json::parse(R"([{"fields":["site","ts"]}])"));
  EXPECT_EQ(revision(), 1);
  EXPECT_EQ(query("SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                  "name='dbidx_readings_1' AND sql LIKE "
                  "'%json_extract(body,''$.\"site\"''), json_extract(body,''$.\"ts\"'')%' AND "
                  "sql LIKE '%WHERE entity=''readings'''"),
            1);
  // The same fields again change nothing.
  EXPECT_EQ(add_index("readings", {{"fields", {"site", "ts"}}}).data.size(), 1u);
  EXPECT_EQ(revision(), 1);
  ASSERT_EQ(add_index("readings", {{"fields", {"meta.kind"}}}).code, 200);
  EXPECT_EQ(revision(), 2);
  Answer listed = list_indexes("readings");
  ASSERT_EQ(listed.code, 200);
  EXPECT_EQ(listed.data, Json::parse(R"([{"fields":["site","ts"]},{"fields":["meta.kind"]}])"));
  EXPECT_EQ(list_indexes("other").data, Json::array());
  EXPECT_EQ(query("SELECT count(*) FROM db_metadata WHERE kind='index' AND entity='readings' AND "
                  "name='site,ts'"),
            1);
  reopen();
  EXPECT_EQ(list_indexes("readings").data.size(), 2u) << "indexes survive a restart";
}

TEST_F(DbMetadataTest, IndexAddRefusesBadFields) {
  EXPECT_EQ(add_index("readings", Json::object()).code, 400);
  EXPECT_EQ(add_index("readings", {{"fields", Json::array()}}).code, 400);
  EXPECT_EQ(add_index("readings", {{"fields", {"a b"}}}).code, 400);
  EXPECT_EQ(add_index("readings", {{"fields", {1}}}).code, 400);
  EXPECT_EQ(add_index("readings", {{"fields", "site"}}).code, 400);
  EXPECT_EQ(add_index("readings", {{"fields", {"a"}}, {"unique", true}}).code, 400);
  EXPECT_EQ(add_index("readings", {{"fields", {"a", "b", "c", "d", "e", "f", "g", "h", "i"}}}).code,
            400);
  EXPECT_EQ(revision(), -1);
}

TEST(DbIndexDdlTest, MatchesThePlannerText) {
  EXPECT_EQ(index_ddl("my-things", "dbidx_my-things_3", {"a", "b.c"}),
            "CREATE INDEX IF NOT EXISTS \"dbidx_my-things_3\" ON "
            "db_records(json_extract(body,'$.\"a\"'), json_extract(body,'$.\"b\".\"c\"'), id) "
            "WHERE entity='my-things'");
}

}  // namespace
}  // namespace topicdb::db

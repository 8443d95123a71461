// Includes on reads and lists: the target entity from the schema's "references" (or the
// include's name), nesting up to depth 3, missing targets left out, batching on lists.
#include "db/includes.h"

#include <gtest/gtest.h>

#include "tests/db/query_test_util.h"

namespace topicdb::db {
namespace {

class IncludesTest : public testing::QueryTest {
 protected:
  void SetUp() override {
    QueryTest::SetUp();
    set_schema("posts", Json::parse(R"({"title":{"type":"string"},
                                         "author_id":{"type":"string","references":"users"}})"));
    set_schema("users", Json::parse(R"({"company_id":{"type":"string","references":"orgs"}})"));
    set_schema("comments", Json::parse(R"({"post_id":{"type":"string","references":"posts"}})"));
    put("orgs", "o1", {{"name", "Acme"}});
    put("users", "u1", {{"name", "ann"}, {"company_id", "o1"}});
    put("users", "u2", {{"name", "bob"}, {"company_id", "o-gone"}});
    put("posts", "t1", {{"title", "one"}, {"author_id", "u1"}});
    put("posts", "t2", {{"title", "two"}, {"author_id", "u2"}});
    put("posts", "t3", {{"title", "three"}, {"author_id", "u1"}});
    put("posts", "t4", {{"title", "four"}, {"author_id", "nobody"}});
    put("posts", "t5", {{"title", "five"}});
    put("posts", "t6", {{"title", "six"}, {"author_id", 7}});
    put("comments", "c1", {{"text", "hi"}, {"post_id", "t1"}});
  }

  Json user(const std::string& id) { return read("users", id).data; }
};

TEST_F(IncludesTest, ReadNestsTheReferencedRecord) {
  Answer answer = read("posts", "t1", {{"includes", {"author"}}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data["author"], user("u1"));
  EXPECT_EQ(answer.data["author_id"], "u1");  // the id field stays
  EXPECT_EQ(answer.data["title"], "one");
  // "include" is accepted too, and "author_id" means the same include.
  EXPECT_EQ(read("posts", "t1", {{"include", {"author"}}}).data, answer.data);
  EXPECT_EQ(read("posts", "t1", {{"includes", {"author_id"}}}).data, answer.data);
}

TEST_F(IncludesTest, MissingTargetsAreLeftOutAsInMqdb) {
  for (const char* id : {"t4", "t5", "t6"}) {  // no such user, no author_id, not a string
    Answer answer = read("posts", id, {{"includes", {"author"}}});
    ASSERT_EQ(answer.code, 200) << answer.message;
    EXPECT_FALSE(answer.data.contains("author")) << id << ": " << answer.data.dump();
  }
  put("users", "u9", {{"name", "gone"}}, testing::kNow);  // expired
  put("posts", "t9", {{"author_id", "u9"}});
  EXPECT_FALSE(read("posts", "t9", {{"includes", {"author"}}}).data.contains("author"));
  // An include the record has nothing for.
  EXPECT_FALSE(read("posts", "t1", {{"includes", {"editor"}}}).data.contains("editor"));
}

TEST_F(IncludesTest, WithoutASchemaReferenceTheEntityIsNamedLikeTheInclude) {
  put("owner", "w1", {{"name", "wes"}});
  put("cars", "k1", {{"owner_id", "w1"}});
  Answer answer = read("cars", "k1", {{"includes", {"owner"}}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data["owner"]["name"], "wes");
  // The schema wins over the name: posts' author is a user, not an "author" record.
  put("author", "u1", {{"name", "not this one"}});
  EXPECT_EQ(read("posts", "t1", {{"includes", {"author"}}}).data["author"]["name"], "ann");
}

TEST_F(IncludesTest, NestedIncludesUpToDepthThree) {
  Answer answer = read("comments", "c1", {{"includes", {"post.author.company"}}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data["post"]["title"], "one");
  EXPECT_EQ(answer.data["post"]["author"]["name"], "ann");
  EXPECT_EQ(answer.data["post"]["author"]["company"], read("orgs", "o1").data);
  // One level only when one is asked for.
  answer = read("comments", "c1", {{"includes", {"post"}}});
  EXPECT_FALSE(answer.data["post"].contains("author"));
  // Depth 4 is refused.
  answer = read("comments", "c1", {{"includes", {"post.author.company.boss"}}});
  EXPECT_EQ(answer.code, 400);
  EXPECT_NE(answer.message.find("deeper than 3"), std::string::npos) << answer.message;
}

TEST_F(IncludesTest, ProjectionKeepsTheIncludes) {
  Answer answer = read("posts", "t1", {{"projection", {"title"}}, {"includes", {"author"}}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data, (Json{{"id", "t1"}, {"title", "one"}, {"author", user("u1")}}));
}

TEST_F(IncludesTest, ListsNestOnEveryRecord) {
  Answer answer = list("posts", {{"includes", {"author.company"}}, {"projection", {"title"}}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  ASSERT_EQ(answer.data.size(), 6u);
  Json ann = user("u1");
  ann["company"] = read("orgs", "o1").data;
  EXPECT_EQ(answer.data[0], (Json{{"id", "t1"}, {"title", "one"}, {"author", ann}}));
  // bob's company does not exist: bob without "company".
  EXPECT_EQ(answer.data[1], (Json{{"id", "t2"}, {"title", "two"}, {"author", user("u2")}}));
  EXPECT_EQ(answer.data[2]["author"], ann);  // the same author twice
  for (size_t i : {3u, 4u, 5u}) EXPECT_FALSE(answer.data[i].contains("author")) << i;
}

TEST_F(IncludesTest, LoadIncludesFetchesEachLevelInOneQuery) {
  // Every record of a list shares one lookup per include and level: count the statements
  // that read db_records through a trace.
  int record_queries = 0;
  sqlite3_trace_v2(
      reader_, SQLITE_TRACE_STMT,
      [](unsigned, void* ctx, void* p, void*) {
        const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
        if (std::string_view(sql).find("FROM db_records") != std::string_view::npos) {
          ++*static_cast<int*>(ctx);
        }
        return 0;
      },
      &record_queries);
  std::vector<Json> posts;
  for (int i = 0; i < 6; ++i) posts.push_back(read("posts", "t" + std::to_string(i + 1)).data);
  record_queries = 0;
  std::vector<Json*> pointers;
  for (Json& post : posts) pointers.push_back(&post);
  auto includes = parse_includes(Json::array({"author.company"}), "includes");
  ASSERT_TRUE(includes.is_ok());
  ASSERT_TRUE(load_includes(reader_, "posts", *includes, pointers, testing::kNow).is_ok());
  EXPECT_EQ(record_queries, 2);  // users, then orgs
  EXPECT_EQ(posts[0]["author"]["company"]["name"], "Acme");
  sqlite3_trace_v2(reader_, 0, nullptr, nullptr);
}

}  // namespace
}  // namespace topicdb::db

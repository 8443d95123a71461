// Lists over real MQTT 5 against the real binary: every filter operator and its edges
// (types, missing fields, nested paths), sorting and paging boundaries, projection and
// includes on lists and reads, and the 400s and limits a list can hit. The same rules have
// unit tests on a real SQLite connection (tests/db/list_test.cc); these prove them end to end.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/integration/db_client.h"

namespace topicdb::itest::db {
namespace {

class DbListTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    client_ = std::make_unique<DbClient>(port(), "lister");
    ASSERT_TRUE(client_->connect());
    // id, name, age, nested city, tags; "d" has no age, "e" a null age, "f" a string "30".
    const char* people[] = {
        R"({"id":"a","name":"Ada","age":36,"address":{"city":"Oslo"},"vip":true,"author_id":"w1"})",
        R"({"id":"b","name":"Bob","age":17,"address":{"city":"Bergen"},"vip":false})",
        R"({"id":"c","name":"Cleo","age":30,"address":{"city":"Oslo"},"author_id":"w2"})",
        R"({"id":"d","name":"Dan","address":{"city":"Tromso"}})",
        R"({"id":"e","name":"Eve","age":null})",
        R"({"id":"f","name":"Finn","age":"30"})",
    };
    for (const char* p : people) ASSERT_TRUE(is_ok(client_->request("$DB/people/create", p)));
    ASSERT_TRUE(is_ok(client_->request("$DB/writers/create", R"({"id":"w1","pen":"quill"})")));
  }

  // The ids a list answers, in order.
  std::vector<std::string> ids(const std::string& body) {
    Json answer = client_->request("$DB/people/list", body);
    std::vector<std::string> out;
    if (!is_ok(answer)) {
      ADD_FAILURE() << body << " -> " << answer.dump();
      return out;
    }
    for (const Json& r : answer["data"]) out.push_back(r["id"]);
    return out;
  }
  std::vector<std::string> filter(const std::string& f) {
    return ids(R"({"filters":[)" + f + R"(],"sort":[{"field":"id","direction":"asc"}]})");
  }

  std::unique_ptr<DbClient> client_;
};

using Ids = std::vector<std::string>;

TEST_F(DbListTest, EveryOperatorWithItsTypeRules) {
  EXPECT_EQ(filter(R"({"field":"age","op":"eq","value":30})"), Ids{"c"});  // not the string "30"
  EXPECT_EQ(filter(R"({"field":"age","op":"eq","value":"30"})"), Ids{"f"});
  EXPECT_EQ(filter(R"({"field":"age","op":"eq","value":30.0})"), Ids{"c"});  // numbers by value
  // A present field that is not 30 (an explicit null is present); a missing one never matches.
  EXPECT_EQ(filter(R"({"field":"age","op":"neq","value":30})"), (Ids{"a", "b", "e", "f"}));
  EXPECT_EQ(filter(R"({"field":"age","op":"lt","value":30})"), Ids{"b"});
  EXPECT_EQ(filter(R"({"field":"age","op":"lte","value":30})"), (Ids{"b", "c"}));
  EXPECT_EQ(filter(R"({"field":"age","op":"gt","value":30})"), Ids{"a"});
  EXPECT_EQ(filter(R"({"field":"age","op":"gte","value":30})"), (Ids{"a", "c"}));
  EXPECT_EQ(filter(R"({"field":"name","op":"in","value":["Bob","Eve","Nobody"]})"),
            (Ids{"b", "e"}));
  EXPECT_EQ(filter(R"({"field":"name","op":"like","value":"*n"})"), (Ids{"d", "f"}));
  EXPECT_EQ(filter(R"({"field":"name","op":"like","value":"C*"})"), Ids{"c"});
  EXPECT_EQ(filter(R"({"field":"age","op":"is_null"})"), (Ids{"d", "e"}));  // missing or null
  EXPECT_EQ(filter(R"({"field":"age","op":"is_not_null"})"), (Ids{"a", "b", "c", "f"}));
  EXPECT_EQ(filter(R"({"field":"vip","op":"eq","value":true})"), Ids{"a"});  // not 1
  EXPECT_EQ(filter(R"({"field":"missing","op":"eq","value":1})"), Ids{});
}

TEST_F(DbListTest, NestedPathsAndAndedFilters) {
  EXPECT_EQ(filter(R"({"field":"address.city","op":"eq","value":"Oslo"})"), (Ids{"a", "c"}));
  EXPECT_EQ(filter(R"({"field":"address.city","op":"eq","value":"Oslo"},)"
                   R"({"field":"age","op":"gt","value":31})"),
            Ids{"a"});
}

TEST_F(DbListTest, SortingAndPagingBoundaries) {
  EXPECT_EQ(ids(R"({"sort":[{"field":"name","direction":"desc"}]})"),
            (Ids{"f", "e", "d", "c", "b", "a"}));
  // Two keys: city ascending (missing first), then age descending.
  Ids by_city = ids(R"({"filters":[{"field":"address.city","op":"is_not_null"}],)"
                    R"("sort":[{"field":"address.city","direction":"asc"},)"
                    R"({"field":"age","direction":"desc"}]})");
  EXPECT_EQ(by_city, (Ids{"b", "a", "c", "d"}));
  const std::string sort = R"("sort":[{"field":"id","direction":"asc"}])";
  EXPECT_EQ(ids("{" + sort + R"(,"limit":2,"offset":0})"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("{" + sort + R"(,"limit":2,"offset":4})"), (Ids{"e", "f"}));
  EXPECT_EQ(ids("{" + sort + R"(,"limit":2,"offset":5})"), Ids{"f"});
  EXPECT_EQ(ids("{" + sort + R"(,"limit":2,"offset":6})"), Ids{});
  EXPECT_EQ(ids("{" + sort + R"(,"pagination":{"limit":1,"offset":2}})"), Ids{"c"});
  EXPECT_EQ(ids("{" + sort + R"(,"limit":0})"), Ids{});
}

TEST_F(DbListTest, ProjectionAndIncludesOnListsAndReads) {
  Json listed = client_->request(
      "$DB/people/list",
      R"({"filters":[{"field":"id","op":"in","value":["a","c"]}],"sort":[{"field":"id","direction":"asc"}],)"
      R"("projection":["name","address.city"],"includes":["author"]})");
  ASSERT_TRUE(is_ok(listed));
  ASSERT_EQ(listed["data"].size(), 2u);
  const Json& a = listed["data"][0];
  EXPECT_EQ(a["id"], "a");  // kept although not asked for
  EXPECT_EQ(a["name"], "Ada");
  EXPECT_EQ(a["address"], (Json{{"city", "Oslo"}}));
  EXPECT_FALSE(a.contains("age"));
  EXPECT_FALSE(a.contains("_version"));
  // No schema names author_id's target: the entity named like the include ("author") has no
  // such record, so nothing is nested; a schema reference makes it "writers".
  EXPECT_FALSE(a.contains("author"));
  ASSERT_TRUE(is_ok(client_->request("$DB/_admin/schema/people/set",
                                     R"({"author_id":{"type":"string","references":"writers"}})")));
  Json read = client_->request("$DB/people/a", R"({"include":["author"]})");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["author"]["pen"], "quill");
  listed = client_->request(
      "$DB/people/list",
      R"({"filters":[{"field":"author_id","op":"is_not_null"}],"sort":[{"field":"id","direction":"asc"}],"includes":["author"]})");
  ASSERT_TRUE(is_ok(listed));
  ASSERT_EQ(listed["data"].size(), 2u);
  EXPECT_EQ(listed["data"][0]["author"]["id"], "w1");
  EXPECT_FALSE(listed["data"][1].contains("author"));  // w2 does not exist
}

TEST_F(DbListTest, MalformedListsAndLimitsAre400sThatSaySo) {
  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {R"({"filters":[{"field":"age","op":"bogus","value":1}]})", "bogus"},
      {R"({"filters":[{"op":"eq","value":1}]})", "field"},
      {R"({"filters":[{"field":"age","op":"in","value":3}]})", "in"},
      {R"({"filters":{"field":"age"}})", "filters"},
      {R"({"sort":[{"field":"age","direction":"up"}]})", "direction"},
      {R"({"limit":-1})", "limit"},
      {R"({"limit":"ten"})", "limit"},
      {R"({"limit":10001})", "10000"},
      {R"({"colour":"red"})", "colour"},
      {R"({"projection":"name"})", "projection"},
  };
  for (const Case& c : cases) {
    Json answer = client_->request("$DB/people/list", c.body);
    EXPECT_TRUE(is_error(answer, 400)) << c.body;
    EXPECT_NE(answer.value("message", "").find(c.says), std::string::npos)
        << c.body << " -> " << answer.dump();
  }
  std::string many = R"({"filters":[)";
  for (int i = 0; i < 17; ++i)
    many += std::string(i ? "," : "") + R"({"field":"age","op":"is_null"})";
  many += "]}";
  EXPECT_TRUE(is_error(client_->request("$DB/people/list", many), 400));
  std::string sorts = R"({"sort":[)";
  for (int i = 0; i < 5; ++i)
    sorts += std::string(i ? "," : "") + R"({"field":"f)" + std::to_string(i) + R"("})";
  sorts += "]}";
  EXPECT_TRUE(is_error(client_->request("$DB/people/list", sorts), 400));
}

}  // namespace
}  // namespace topicdb::itest::db

namespace topicdb::itest::db {
namespace {

// --db-max-list-results: a list asking for more is a 400, and so is one without a limit
// that matches more (never a silently cut answer); paging within it works.
class DbListMaxResultsTest : public DbTest {
 protected:
  std::vector<std::string> db_flags() const override { return {"--db-max-list-results", "3"}; }
};

TEST_F(DbListMaxResultsTest, PastTheMaximumIsA400NeverATruncation) {
  DbClient c(port(), "pager");
  ASSERT_TRUE(c.connect());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(is_ok(c.request("$DB/items/create", R"({"n":)" + std::to_string(i) + "}")));
  }
  Json all = c.request("$DB/items/list", "{}");
  ASSERT_TRUE(is_ok(all));
  EXPECT_EQ(all["data"].size(), 3u);  // exactly the maximum: answered whole
  ASSERT_TRUE(is_ok(c.request("$DB/items/create", R"({"n":3})")));
  Json too_many = c.request("$DB/items/list", "{}");
  EXPECT_TRUE(is_error(too_many, 400));
  EXPECT_NE(too_many.value("message", "").find("more than 3"), std::string::npos)
      << too_many.dump();
  EXPECT_TRUE(is_error(c.request("$DB/items/list", R"({"limit":4})"), 400));
  Json page = c.request("$DB/items/list", R"({"limit":3,"offset":3})");
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(page["data"].size(), 1u);
}

}  // namespace
}  // namespace topicdb::itest::db

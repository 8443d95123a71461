// run_list on a real database: every operator and its type rules, nested paths, sort,
// paging, projection, expiry, limits.
#include <gtest/gtest.h>

#include "db/reads.h"
#include "tests/db/query_test_util.h"

namespace topicdb::db {
namespace {

using Ids = std::vector<std::string>;

class ListTest : public testing::QueryTest {
 protected:
  void SetUp() override {
    QueryTest::SetUp();
    put("people", "p1", Json::parse(R"({"name":"ann","age":30,"active":true,"score":1.5,"nick":null,
                        "address":{"city":"Oslo","zip":"0150"},"tags":["a","b"]})"));
    put("people", "p2", Json::parse(R"({"name":"bob","age":25,"active":false,
                                        "address":{"city":"Bergen"}})"));
    put("people", "p3", Json::parse(R"({"name":"cy","age":"30","active":1})"));
    put("people", "p4", Json::parse(R"({"name":"dee","age":40,"nick":"d","score":2})"));
    put("people", "p5", Json::object());
    put("pets", "p6", Json::parse(R"({"name":"ann","age":30})"));  // another entity
  }

  Ids where(const std::string& field, const std::string& op, Json value) {
    return list_ids("people", {{"filters", {{{"field", field}, {"op", op}, {"value", value}}}}});
  }
  Ids where(const std::string& field, const std::string& op) {
    return list_ids("people", {{"filters", {{{"field", field}, {"op", op}}}}});
  }
};

TEST_F(ListTest, NoFiltersListsTheEntityInIdOrder) {
  EXPECT_EQ(list_ids("people", Json::object()), (Ids{"p1", "p2", "p3", "p4", "p5"}));
  EXPECT_EQ(list_ids("nobody", Json::object()), Ids{});
}

TEST_F(ListTest, EqMatchesTheSameJsonTypeOnly) {
  EXPECT_EQ(where("age", "eq", 30), Ids{"p1"});       // not the string "30"
  EXPECT_EQ(where("age", "eq", "30"), Ids{"p3"});     // not the number 30
  EXPECT_EQ(where("age", "eq", 30.0), Ids{"p1"});     // numbers compare numerically
  EXPECT_EQ(where("active", "eq", true), Ids{"p1"});  // not 1
  EXPECT_EQ(where("active", "eq", 1), Ids{"p3"});     // not true
  EXPECT_EQ(where("active", "eq", false), Ids{"p2"});
  EXPECT_EQ(where("active", "eq", 0), Ids{});
  EXPECT_EQ(where("nick", "eq", nullptr), Ids{"p1"});  // explicit null only, not missing
  EXPECT_EQ(where("name", "eq", "ann"), Ids{"p1"});
  EXPECT_EQ(where("tags", "eq", Json::parse(R"(["a","b"])")), Ids{"p1"});
  EXPECT_EQ(where("address", "eq", Json::parse(R"({"zip":"0150","city":"Oslo"})")), Ids{"p1"});
  EXPECT_EQ(where("address", "eq", R"({"city":"Oslo","zip":"0150"})"), Ids{});  // a string
  EXPECT_EQ(where("missing", "eq", nullptr), Ids{});
}

TEST_F(ListTest, NeqNeedsThePresentField) {
  EXPECT_EQ(where("age", "neq", 30), (Ids{"p2", "p3", "p4"}));  // p5 has no age
  EXPECT_EQ(where("nick", "neq", nullptr), Ids{"p4"});
  EXPECT_EQ(where("nick", "neq", "d"), Ids{"p1"});  // null is not "d"
  EXPECT_EQ(where("active", "neq", true), (Ids{"p2", "p3"}));
}

TEST_F(ListTest, RangesCompareNumbersWithNumbersAndStringsWithStrings) {
  EXPECT_EQ(where("age", "lt", 30), Ids{"p2"});
  EXPECT_EQ(where("age", "lte", 30), (Ids{"p1", "p2"}));
  EXPECT_EQ(where("age", "gt", 30), Ids{"p4"});
  EXPECT_EQ(where("age", "gte", 30), (Ids{"p1", "p4"}));
  EXPECT_EQ(where("age", "gte", 29.5), (Ids{"p1", "p4"}));
  EXPECT_EQ(where("age", "gte", "0"), Ids{"p3"});  // only the string age
  EXPECT_EQ(where("name", "gt", "bob"), (Ids{"p3", "p4"}));
  EXPECT_EQ(where("name", "lte", "bob"), (Ids{"p1", "p2"}));
  EXPECT_EQ(where("active", "gt", 0), Ids{"p3"});  // booleans are not numbers
  EXPECT_EQ(where("score", "gt", 1), (Ids{"p1", "p4"}));
}

TEST_F(ListTest, InIsEqAgainstAnyValue) {
  EXPECT_EQ(where("age", "in", {25, 40}), (Ids{"p2", "p4"}));
  EXPECT_EQ(where("age", "in", {30, "30"}), (Ids{"p1", "p3"}));
  EXPECT_EQ(where("active", "in", {true}), Ids{"p1"});
  EXPECT_EQ(where("active", "in", {1}), Ids{"p3"});
  EXPECT_EQ(where("active", "in", {true, 0}), Ids{"p1"});  // false is not 0
  EXPECT_EQ(where("active", "in", {false, 1}), (Ids{"p2", "p3"}));
  EXPECT_EQ(where("nick", "in", {nullptr, "d"}), (Ids{"p1", "p4"}));
  EXPECT_EQ(where("nick", "in", {nullptr}), Ids{"p1"});
  EXPECT_EQ(where("age", "in", Json::array()), Ids{});
}

TEST_F(ListTest, LikeIsACaseSensitiveStarGlobOnStrings) {
  EXPECT_EQ(where("name", "like", "a*"), Ids{"p1"});
  EXPECT_EQ(where("name", "like", "*e"), Ids{"p4"});
  EXPECT_EQ(where("name", "like", "*o*"), Ids{"p2"});
  EXPECT_EQ(where("name", "like", "b*b"), Ids{"p2"});
  EXPECT_EQ(where("name", "like", "*"), (Ids{"p1", "p2", "p3", "p4"}));
  EXPECT_EQ(where("name", "like", "ann"), Ids{"p1"});  // no star: equality
  EXPECT_EQ(where("name", "like", "an"), Ids{});
  EXPECT_EQ(where("name", "like", "A*"), Ids{});
  EXPECT_EQ(where("age", "like", "3*"), Ids{"p3"});  // only strings
}

TEST_F(ListTest, LikeTreatsSqlAndGlobMetacharactersLiterally) {
  put("codes", "c1", {{"code", "50%_off"}});
  put("codes", "c2", {{"code", "50xyoff"}});
  put("codes", "c3", {{"code", "a?c[d]"}});
  put("codes", "c4", {{"code", "abc[d]"}});
  put("codes", "c5", {{"code", "ab\xc3\xa9z"}});  // UTF-8 é
  auto like = [&](const std::string& pattern) {
    return list_ids("codes",
                    {{"filters", {{{"field", "code"}, {"op", "like"}, {"value", pattern}}}}});
  };
  EXPECT_EQ(like("50%_*"), Ids{"c1"});
  EXPECT_EQ(like("*%*"), Ids{"c1"});
  EXPECT_EQ(like("*_*"), Ids{"c1"});
  EXPECT_EQ(like("a?c*"), Ids{"c3"});
  EXPECT_EQ(like("*[d]"), (Ids{"c3", "c4"}));
  EXPECT_EQ(like("*c[d*"), (Ids{"c3", "c4"}));
  EXPECT_EQ(like("ab\xc3\xa9*"), Ids{"c5"});
}

TEST_F(ListTest, IsNullMeansNullOrMissing) {
  EXPECT_EQ(where("nick", "is_null"), (Ids{"p1", "p2", "p3", "p5"}));
  EXPECT_EQ(where("nick", "is_not_null"), Ids{"p4"});
  // "value" is ignored.
  EXPECT_EQ(where("nick", "is_null", "whatever"), (Ids{"p1", "p2", "p3", "p5"}));
}

TEST_F(ListTest, DottedPathsReachIntoNestedObjects) {
  EXPECT_EQ(where("address.city", "eq", "Oslo"), Ids{"p1"});
  EXPECT_EQ(where("address.city", "like", "*e*"), Ids{"p2"});
  EXPECT_EQ(where("address.zip", "is_null"), (Ids{"p2", "p3", "p4", "p5"}));
  EXPECT_EQ(where("name.first", "eq", "ann"), Ids{});  // through a string: missing
}

TEST_F(ListTest, FiltersAreAnded) {
  Json body = {{"filters",
                {{{"field", "age"}, {"op", "gte"}, {"value", 25}},
                 {{"field", "age"}, {"op", "lt"}, {"value", 40}},
                 {{"field", "name"}, {"op", "neq"}, {"value", "bob"}}}}};
  EXPECT_EQ(list_ids("people", body), Ids{"p1"});
}

TEST_F(ListTest, SortAscDescWithMissingFirstAndIdAsTieBreaker) {
  auto sorted = [&](Json sort) { return list_ids("people", {{"sort", sort}}); };
  // Missing first, then numbers, then strings.
  EXPECT_EQ(sorted({{{"field", "age"}, {"direction", "asc"}}}),
            (Ids{"p5", "p2", "p1", "p4", "p3"}));
  EXPECT_EQ(sorted({{{"field", "age"}, {"direction", "desc"}}}),
            (Ids{"p3", "p4", "p1", "p2", "p5"}));
  EXPECT_EQ(sorted({{{"field", "age"}}}), (Ids{"p5", "p2", "p1", "p4", "p3"}));  // asc default
  EXPECT_EQ(sorted({{{"field", "name"}, {"direction", "desc"}}}),
            (Ids{"p4", "p3", "p2", "p1", "p5"}));
  // Equal keys (all missing): by id, the way the last key runs.
  EXPECT_EQ(sorted({{{"field", "nope"}, {"direction", "desc"}}}),
            (Ids{"p5", "p4", "p3", "p2", "p1"}));
  EXPECT_EQ(sorted({{{"field", "nope"}, {"direction", "asc"}}}),
            (Ids{"p1", "p2", "p3", "p4", "p5"}));
}

TEST_F(ListTest, SortOnSeveralKeys) {
  put("scores", "a", {{"team", "x"}, {"points", 1}});
  put("scores", "b", {{"team", "y"}, {"points", 3}});
  put("scores", "c", {{"team", "x"}, {"points", 3}});
  put("scores", "d", {{"team", "y"}, {"points", 1}});
  put("scores", "e", {{"team", "x"}, {"points", 3}});
  Json sort = {{{"field", "team"}, {"direction", "asc"}},
               {{"field", "points"}, {"direction", "desc"}}};
  EXPECT_EQ(list_ids("scores", {{"sort", sort}}), (Ids{"e", "c", "a", "b", "d"}));
  sort = {{{"field", "points"}, {"direction", "asc"}}, {{"field", "team"}, {"direction", "desc"}}};
  EXPECT_EQ(list_ids("scores", {{"sort", sort}}), (Ids{"d", "a", "b", "e", "c"}));
  sort = {{{"field", "team"}, {"direction", "desc"}}, {{"field", "points"}, {"direction", "asc"}}};
  EXPECT_EQ(list_ids("scores", {{"sort", sort}}), (Ids{"d", "b", "a", "c", "e"}));
}

TEST_F(ListTest, PagingBoundaries) {
  EXPECT_EQ(list_ids("people", {{"limit", 2}}), (Ids{"p1", "p2"}));
  EXPECT_EQ(list_ids("people", {{"limit", 2}, {"offset", 2}}), (Ids{"p3", "p4"}));
  EXPECT_EQ(list_ids("people", {{"limit", 2}, {"offset", 4}}), Ids{"p5"});
  EXPECT_EQ(list_ids("people", {{"limit", 2}, {"offset", 5}}), Ids{});
  EXPECT_EQ(list_ids("people", {{"offset", 1000}}), Ids{});
  EXPECT_EQ(list_ids("people", {{"offset", 3}}), (Ids{"p4", "p5"}));
  EXPECT_EQ(list_ids("people", {{"limit", 0}}), Ids{});
  EXPECT_EQ(list_ids("people", {{"pagination", {{"limit", 1}, {"offset", 1}}}}), Ids{"p2"});
  EXPECT_EQ(list_ids("people", {{"pagination", {{"offset", 4}}}}), Ids{"p5"});
  // Paging through a sort with ties stays stable.
  Json sort = {{{"field", "nope"}}};
  EXPECT_EQ(list_ids("people", {{"sort", sort}, {"limit", 2}, {"offset", 1}}), (Ids{"p2", "p3"}));
}

TEST_F(ListTest, PastTheMaximumIsA400NeverATruncation) {
  QueryLimits limits;
  limits.max_list_limit = 3;
  // Five people match a list without a limit: more than the maximum, so no cut answer.
  Answer cut = list("people", Json::object(), limits);
  EXPECT_EQ(cut.code, 400);
  EXPECT_NE(cut.message.find("more than 3 records match"), std::string::npos) << cut.message;
  limits.max_list_limit = 5;
  EXPECT_EQ(ids(list("people", Json::object(), limits)).size(), 5u);  // exactly the maximum
  limits.max_list_limit = 3;
  EXPECT_EQ(ids(list("people", {{"limit", 3}}, limits)), (Ids{"p1", "p2", "p3"}));
  Answer over = list("people", {{"limit", 4}}, limits);
  EXPECT_EQ(over.code, 400);
  EXPECT_NE(over.message.find("maximum of 3"), std::string::npos) << over.message;
}

TEST_F(ListTest, ExpiredRecordsAreInvisible) {
  put("people", "p7", {{"name", "eve"}}, testing::kNow);
  put("people", "p8", {{"name", "fay"}}, testing::kNow + 1);
  EXPECT_EQ(list_ids("people", Json::object()), (Ids{"p1", "p2", "p3", "p4", "p5", "p8"}));
  EXPECT_EQ(where("name", "like", "*"), (Ids{"p1", "p2", "p3", "p4", "p8"}));
  EXPECT_EQ(ids(list("people", Json::object(), {}, testing::kNow + 1)),
            (Ids{"p1", "p2", "p3", "p4", "p5"}));
}

TEST_F(ListTest, ProjectionOnEveryRecord) {
  Answer answer = list("people", {{"projection", {"name", "address.city"}}, {"limit", 2}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data, Json::parse(R"([{"id":"p1","name":"ann","address":{"city":"Oslo"}},
                                          {"id":"p2","name":"bob","address":{"city":"Bergen"}}])"));
}

TEST_F(ListTest, AnUncheckedEntityNameNeverReachesTheSql) {
  Answer answer = list("people' OR '1'='1", Json::object());
  EXPECT_EQ(answer.code, 400);
  EXPECT_TRUE(answer.data.is_null());
}

TEST_F(ListTest, LimitsOnFiltersAndSortKeys) {
  QueryLimits limits;
  limits.max_filters = 2;
  limits.max_sort_keys = 1;
  Json filter = {{"field", "age"}, {"op", "is_not_null"}};
  EXPECT_EQ(list("people", {{"filters", {filter, filter}}}, limits).code, 200);
  Answer answer = list("people", {{"filters", {filter, filter, filter}}}, limits);
  EXPECT_EQ(answer.code, 400);
  EXPECT_EQ(answer.message, "too many filters: 3 (at most 2)");
  Json key = {{"field", "age"}};
  EXPECT_EQ(list("people", {{"sort", {key}}}, limits).code, 200);
  answer = list("people", {{"sort", {key, key}}}, limits);
  EXPECT_EQ(answer.code, 400);
  EXPECT_EQ(answer.message, "too many sort keys: 2 (at most 1)");
  // The defaults: the issue's 16 filters, 4 sort keys, 10,000 records.
  QueryLimits defaults;
  EXPECT_EQ(defaults.max_filters, 16u);
  EXPECT_EQ(defaults.max_sort_keys, 4u);
  EXPECT_EQ(defaults.max_list_limit, 10000u);
  EXPECT_EQ(list("people", {{"limit", 10001}}).code, 400);
  EXPECT_EQ(list("people", {{"limit", 10000}}).code, 200);
}

}  // namespace
}  // namespace topicdb::db

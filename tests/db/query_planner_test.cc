// The planner's SQL on a real database: EXPLAIN QUERY PLAN proves that eq, range, in, like
// with a prefix and sort on an indexed field use the entity's expression index, and that a
// filter on an unindexed field scans the entity's records.
#include "db/query_planner.h"

#include <gtest/gtest.h>

#include "tests/db/query_test_util.h"

namespace topicdb::db {
namespace {

class QueryPlannerTest : public testing::QueryTest {
 protected:
  void SetUp() override {
    QueryTest::SetUp();
    create_index("dbidx_people_0", "people", {"age"});
    create_index("dbidx_people_1", "people", {"address.city"});
    create_index("dbidx_pets_0", "pets", {"name"});
    for (int i = 0; i < 20; ++i) {
      put("people", "p" + std::to_string(i),
          {{"age", i}, {"name", "n" + std::to_string(i)}, {"address", {{"city", "c"}}}});
    }
  }

  // The EXPLAIN QUERY PLAN lines of the list query `body` on people, joined by "\n".
  std::string plan_of(const Json& body, const std::string& entity = "people") {
    auto query = parse_list_query(body, QueryLimits{});
    EXPECT_TRUE(query.is_ok()) << query.status().to_string();
    if (!query.is_ok()) return "";
    PlannedQuery plan = plan_list(entity, *query, testing::kNow);
    sqlite3_stmt* stmt = nullptr;
    std::string sql = "EXPLAIN QUERY PLAN " + plan.sql;
    EXPECT_EQ(sqlite3_prepare_v2(reader_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(reader_) << " in " << sql;
    bind_params(stmt, plan.params);
    std::string lines;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      lines += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      lines += "\n";
    }
    sqlite3_finalize(stmt);
    return lines;
  }

  static Json filter(const std::string& field, const std::string& op, Json value) {
    return {{"filters", {{{"field", field}, {"op", op}, {"value", std::move(value)}}}}};
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(QueryPlannerTest, EqualityUsesTheIndex) {
  std::string plan = plan_of(filter("age", "eq", 7));
  EXPECT_TRUE(contains(plan, "SEARCH db_records USING INDEX dbidx_people_0 (<expr>=?)")) << plan;
  plan = plan_of(filter("address.city", "eq", "c"));
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_1 (<expr>=?)")) << plan;
  plan = plan_of(filter("age", "eq", true));
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_0 (<expr>=?)")) << plan;
}

TEST_F(QueryPlannerTest, RangesUseTheIndex) {
  EXPECT_TRUE(contains(plan_of(filter("age", "gt", 7)), "USING INDEX dbidx_people_0 (<expr>>?)"));
  EXPECT_TRUE(contains(plan_of(filter("age", "lte", 7)), "USING INDEX dbidx_people_0 (<expr><?)"));
  Json both = {{"filters",
                {{{"field", "age"}, {"op", "gte"}, {"value", 3}},
                 {{"field", "age"}, {"op", "lt"}, {"value", 9}}}}};
  std::string plan = plan_of(both);
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_0 (<expr>>? AND <expr><?)")) << plan;
}

TEST_F(QueryPlannerTest, InLikeWithAPrefixAndIsNullUseTheIndex) {
  std::string plan = plan_of(filter("age", "in", {1, 2, 3}));
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_0 (<expr>=?)")) << plan;
  plan = plan_of(filter("address.city", "like", "c*"));
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_1 (<expr>>? AND <expr><?)")) << plan;
  plan = plan_of({{"filters", {{{"field", "age"}, {"op", "is_null"}}}}});
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_0 (<expr>=?)")) << plan;
}

TEST_F(QueryPlannerTest, SortOnAnIndexedFieldUsesTheIndex) {
  for (const char* direction : {"asc", "desc"}) {
    std::string plan = plan_of({{"sort", {{{"field", "age"}, {"direction", direction}}}}});
    EXPECT_TRUE(contains(plan, "SCAN db_records USING INDEX dbidx_people_0")) << plan;
    // At most the ties are sorted (by id), never the whole entity.
    EXPECT_FALSE(contains(plan, "USE TEMP B-TREE FOR ORDER BY")) << plan;
  }
  std::string plan =
      plan_of({{"sort", {{{"field", "age"}}}}, {"filters", filter("age", "gt", 3)["filters"]}});
  EXPECT_TRUE(contains(plan, "USING INDEX dbidx_people_0 (<expr>>?)")) << plan;
  EXPECT_FALSE(contains(plan, "USE TEMP B-TREE FOR ORDER BY")) << plan;
}

TEST_F(QueryPlannerTest, AnUnindexedFieldScansTheEntity) {
  std::string plan = plan_of(filter("name", "eq", "n3"));
  EXPECT_FALSE(contains(plan, "dbidx_")) << plan;
  EXPECT_TRUE(contains(plan, "USING INDEX db_records_key (entity=?)")) << plan;
  plan = plan_of({{"sort", {{{"field", "name"}}}}});
  EXPECT_FALSE(contains(plan, "dbidx_")) << plan;
  EXPECT_TRUE(contains(plan, "USE TEMP B-TREE FOR ORDER BY")) << plan;
  // Another entity's index on the same field is not used.
  plan = plan_of(filter("name", "eq", "n3"), "pets");
  EXPECT_TRUE(contains(plan, "dbidx_pets_0")) << plan;
  plan = plan_of(filter("age", "eq", 3), "pets");
  EXPECT_FALSE(contains(plan, "dbidx_")) << plan;
}

// With id as the index's last column (see query_planner.h), the default id order and a
// sort on the field need no sort step at all: a LIMIT stops the walk early, whatever the
// number of matches.
TEST_F(QueryPlannerTest, AnIndexEndingInIdNeedsNoSortStep) {
  create_index("dbidx_people_2", "people", {"score"});
  sql("DROP INDEX dbidx_people_2");
  sql("CREATE INDEX dbidx_people_2 ON db_records(" + json_extract_sql("score") +
      ", id) WHERE entity='people'");
  std::string plan = plan_of(filter("score", "eq", 3));
  EXPECT_TRUE(contains(plan, "SEARCH db_records USING INDEX dbidx_people_2 (<expr>=?)")) << plan;
  EXPECT_FALSE(contains(plan, "TEMP B-TREE")) << plan;
  for (const char* direction : {"asc", "desc"}) {
    plan = plan_of({{"sort", {{{"field", "score"}, {"direction", direction}}}}});
    EXPECT_TRUE(contains(plan, "SCAN db_records USING INDEX dbidx_people_2")) << plan;
    EXPECT_FALSE(contains(plan, "TEMP B-TREE")) << plan;
  }
}

TEST_F(QueryPlannerTest, IndexedQueriesReturnTheSameAsScans) {
  EXPECT_EQ(list_ids("people", filter("age", "in", {3, 1, 17})),
            (std::vector<std::string>{"p1", "p17", "p3"}));
  EXPECT_EQ(
      list_ids("people", {{"sort", {{{"field", "age"}, {"direction", "desc"}}}}, {"limit", 3}}),
      (std::vector<std::string>{"p19", "p18", "p17"}));
  EXPECT_EQ(list_ids("people", filter("age", "gte", 18)), (std::vector<std::string>{"p18", "p19"}));
}

TEST_F(QueryPlannerTest, TheSqlIsTheSameForTheSameShape) {
  auto sql_of = [](const Json& body) {
    return plan_list("people", *parse_list_query(body, QueryLimits{}), testing::kNow).sql;
  };
  EXPECT_EQ(sql_of(filter("age", "eq", 1)), sql_of(filter("age", "eq", 2)));
  EXPECT_EQ(sql_of({{"limit", 1}}), sql_of({{"limit", 2}, {"offset", 5}}));
  EXPECT_NE(sql_of(filter("age", "eq", 1)), sql_of(filter("age", "eq", "1")));
}

}  // namespace
}  // namespace topicdb::db

// parse_list_query: every malformed part of a list request is refused with a message that
// names it; well-formed requests parse to what they say.
#include "db/list_query.h"

#include <gtest/gtest.h>

namespace topicdb::db {
namespace {

struct BadCase {
  const char* body;
  const char* message_part;
};

class ListQueryBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ListQueryBadTest, IsRefusedNamingThePart) {
  const BadCase& c = GetParam();
  Result<ListQuery> query = parse_list_query(Json::parse(c.body), QueryLimits{});
  ASSERT_FALSE(query.is_ok()) << c.body;
  EXPECT_EQ(query.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(query.status().message().find(c.message_part), std::string::npos)
      << c.body << " -> " << query.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    EveryMalformedPart, ListQueryBadTest,
    ::testing::Values(
        BadCase{R"([])", "must be a JSON object"},
        BadCase{R"({"filter":[]})", "unknown list option \"filter\""},
        BadCase{R"({"where":1})", "unknown list option \"where\""},
        BadCase{R"({"filters":{}})", "filters must be an array, not an object"},
        BadCase{R"({"filters":[1]})", "filters[0] must be an object"},
        BadCase{R"({"filters":[{"field":"a","op":"eq","value":1,"x":2}]})",
                "filters[0]: unknown key \"x\""},
        BadCase{R"({"filters":[{"op":"eq","value":1}]})", "filters[0]: \"field\" is missing"},
        BadCase{R"({"filters":[{"field":7,"op":"eq","value":1}]})",
                "filters[0].field must be a string, not a number"},
        BadCase{R"({"filters":[{"field":"a..b","op":"eq","value":1}]})", "filters[0].field"},
        BadCase{R"({"filters":[{"field":"a$","op":"eq","value":1}]})", "filters[0].field"},
        BadCase{R"({"filters":[{"field":"a","value":1}]})", "filters[0]: \"op\" is missing"},
        BadCase{R"({"filters":[{"field":"a","op":1,"value":1}]})",
                "filters[0].op must be a string"},
        BadCase{R"({"filters":[{"field":"a","op":"eq","value":1},{"field":"a","op":"contains",
                   "value":1}]})",
                "filters[1].op: unknown operator \"contains\""},
        BadCase{R"({"filters":[{"field":"a","op":"EQ","value":1}]})", "unknown operator \"EQ\""},
        BadCase{R"({"filters":[{"field":"a","op":"eq"}]})",
                "filters[0]: \"value\" is missing (required by eq)"},
        BadCase{R"({"filters":[{"field":"a","op":"lt","value":true}]})",
                "filters[0].value must be a number or a string for lt, not a boolean"},
        BadCase{R"({"filters":[{"field":"a","op":"gte","value":null}]})",
                "must be a number or a string for gte"},
        BadCase{R"({"filters":[{"field":"a","op":"gt","value":[1]}]})", "for gt, not an array"},
        BadCase{R"({"filters":[{"field":"a","op":"in","value":1}]})",
                "filters[0].value must be an array for in"},
        BadCase{R"({"filters":[{"field":"a","op":"in","value":[1,{"b":2}]}]})",
                "filters[0].value[1] must be a string, number, boolean or null"},
        BadCase{R"({"filters":[{"field":"a","op":"like","value":3}]})",
                "filters[0].value must be a string for like"},
        BadCase{R"({"sort":{"field":"a"}})", "sort must be an array"},
        BadCase{R"({"sort":["a"]})", "sort[0] must be an object"},
        BadCase{R"({"sort":[{"field":"a","dir":"asc"}]})", "sort[0]: unknown key \"dir\""},
        BadCase{R"({"sort":[{"direction":"asc"}]})", "sort[0]: \"field\" is missing"},
        BadCase{R"({"sort":[{"field":"a","direction":"up"}]})",
                "sort[0].direction must be \"asc\" or \"desc\""},
        BadCase{R"({"sort":[{"field":"a","direction":1}]})", "sort[0].direction"},
        BadCase{R"({"limit":-1})", "limit must not be negative"},
        BadCase{R"({"limit":"10"})", "limit must be a non-negative integer, not a string"},
        BadCase{R"({"limit":1.5})", "limit must be a non-negative integer, not a number"},
        BadCase{R"({"limit":10001})", "limit 10001 is over the maximum of 10000"},
        BadCase{R"({"offset":-5})", "offset must not be negative"},
        BadCase{R"({"offset":null})", "offset must be a non-negative integer, not null"},
        BadCase{R"({"offset":18446744073709551615})", "offset is too large"},
        BadCase{R"({"pagination":5})", "pagination must be an object"},
        BadCase{R"({"pagination":{"size":5}})", "pagination: unknown key \"size\""},
        BadCase{R"({"pagination":{"limit":-2}})", "pagination.limit must not be negative"},
        BadCase{R"({"pagination":{"offset":"a"}})", "pagination.offset must be"},
        BadCase{R"({"limit":5,"pagination":{"limit":5}})",
                "limit is given both at the top level and in pagination"},
        BadCase{R"({"projection":"a"})", "projection must be an array"},
        BadCase{R"({"projection":["a",2]})", "projection[1] must be a string"},
        BadCase{R"({"includes":{}})", "includes must be an array"},
        BadCase{R"({"include":["a.b.c.d"]})", "include[0]: 'a.b.c.d' nests deeper than 3"},
        BadCase{R"({"include":[""]})", "include[0]"},
        BadCase{R"({"includes":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o",
                   "p","q"]})",
                "too many includes: 17 (at most 16)"},
        BadCase{R"({"includes":[],"include":[]})", "either includes or include"}));

TEST(ListQueryTest, TooManyFiltersOrSortKeysSaySo) {
  QueryLimits limits;
  limits.max_filters = 1;
  limits.max_sort_keys = 1;
  Json two_filters =
      Json::parse(R"({"filters":[{"field":"a","op":"is_null"},{"field":"b","op":"is_null"}]})");
  auto query = parse_list_query(two_filters, limits);
  ASSERT_FALSE(query.is_ok());
  EXPECT_EQ(query.status().message(), "too many filters: 2 (at most 1)");
  query = parse_list_query(Json::parse(R"({"sort":[{"field":"a"},{"field":"b"}]})"), limits);
  ASSERT_FALSE(query.is_ok());
  EXPECT_EQ(query.status().message(), "too many sort keys: 2 (at most 1)");
}

TEST(ListQueryTest, ParsesAWholeRequest) {
  auto query = parse_list_query(Json::parse(R"({
      "filters":[{"field":"age","op":"gt","value":18},{"field":"a.b","op":"is_null","value":1},
                 {"field":"tag","op":"in","value":["x",1,null]}],
      "sort":[{"field":"name","direction":"desc"},{"field":"age"}],
      "limit":10,"offset":20,"projection":["name"],"include":["author.company","author"]})"),
                                QueryLimits{});
  ASSERT_TRUE(query.is_ok()) << query.status().to_string();
  ASSERT_EQ(query->filters.size(), 3u);
  EXPECT_EQ(query->filters[0].field, "age");
  EXPECT_EQ(query->filters[0].op, FilterOp::kGt);
  EXPECT_EQ(query->filters[0].value, 18);
  EXPECT_EQ(query->filters[1].op, FilterOp::kIsNull);
  EXPECT_TRUE(query->filters[1].value.is_null());  // ignored
  EXPECT_EQ(query->filters[2].op, FilterOp::kIn);
  ASSERT_EQ(query->sort.size(), 2u);
  EXPECT_TRUE(query->sort[0].descending);
  EXPECT_FALSE(query->sort[1].descending);
  EXPECT_EQ(query->limit, 10u);
  EXPECT_EQ(query->offset, 20u);
  ASSERT_TRUE(query->projection.has_value());
  EXPECT_EQ(query->projection->paths, std::vector<std::string>{"name"});
  ASSERT_EQ(query->includes.size(), 1u);  // "author" and "author.company" merge
  EXPECT_EQ(query->includes[0].name, "author");
  ASSERT_EQ(query->includes[0].children.size(), 1u);
  EXPECT_EQ(query->includes[0].children[0].name, "company");
}

TEST(ListQueryTest, DefaultsAndPagination) {
  QueryLimits limits;
  limits.max_list_limit = 50;
  auto query = parse_list_query(Json::object(), limits);
  ASSERT_TRUE(query.is_ok());
  EXPECT_EQ(query->limit, 50u);  // no limit: up to the maximum
  EXPECT_EQ(query->offset, 0u);
  EXPECT_FALSE(query->projection.has_value());
  query = parse_list_query(Json::parse(R"({"pagination":{"limit":3,"offset":4}})"), limits);
  ASSERT_TRUE(query.is_ok());
  EXPECT_EQ(query->limit, 3u);
  EXPECT_EQ(query->offset, 4u);
  query = parse_list_query(Json::parse(R"({"limit":0})"), limits);
  ASSERT_TRUE(query.is_ok());
  EXPECT_EQ(query->limit, 0u);
}

TEST(ListQueryTest, EveryOperatorByItsMqdbName) {
  for (const char* op :
       {"eq", "neq", "lt", "lte", "gt", "gte", "in", "like", "is_null", "is_not_null"}) {
    Json value = std::string(op) == "in" ? Json::array({1}) : Json(1);
    if (std::string(op) == "like") value = "a*";
    Json body = {{"filters", {{{"field", "f"}, {"op", op}, {"value", value}}}}};
    auto query = parse_list_query(body, QueryLimits{});
    ASSERT_TRUE(query.is_ok()) << op << ": " << query.status().to_string();
    EXPECT_EQ(filter_op_name(query->filters[0].op), op);
  }
}

}  // namespace
}  // namespace topicdb::db

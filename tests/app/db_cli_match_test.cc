// `topicdb db watch -f ...`: which event records pass the client-side filters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/db_cli_match.h"
#include "app/db_cli_request.h"

namespace topicdb::app {
namespace {

using Json = nlohmann::json;

bool passes(const char* record, const std::string& filter_text) {
  auto filters = parse_filter_expression(filter_text);
  EXPECT_TRUE(filters.is_ok()) << filter_text;
  return filters.is_ok() && record_matches(Json::parse(record), *filters);
}

TEST(DbCliMatchTest, ComparisonsOnNumbersAndStrings) {
  const char* r = R"({"age":30,"name":"Ann","score":2.5})";
  EXPECT_TRUE(passes(r, "age=30"));
  EXPECT_FALSE(passes(r, "age=31"));
  EXPECT_TRUE(passes(r, "age<>31"));
  EXPECT_TRUE(passes(r, "age>18"));
  EXPECT_FALSE(passes(r, "age>30"));
  EXPECT_TRUE(passes(r, "age>=30"));
  EXPECT_TRUE(passes(r, "age<=30"));
  EXPECT_FALSE(passes(r, "age<30"));
  EXPECT_TRUE(passes(r, "score>2"));
  EXPECT_TRUE(passes(r, "name>Al"));
  EXPECT_FALSE(passes(r, "name>5"));  // a string and a number do not order
  EXPECT_TRUE(passes(r, "age>18,name=Ann"));
  EXPECT_FALSE(passes(r, "age>18,name=Bob"));  // ANDed
}

TEST(DbCliMatchTest, LikeInNullsAndNestedPaths) {
  const char* r = R"({"name":"Annabel","tags":"x","address":{"city":"Oslo"},"gone":null})";
  EXPECT_TRUE(passes(r, "name~Ann*"));
  EXPECT_TRUE(passes(r, "name~*bel"));
  EXPECT_TRUE(passes(r, "name~A*a*l"));
  EXPECT_FALSE(passes(r, "name~Bob*"));
  EXPECT_FALSE(passes(r, "name~Ann"));  // no wildcard: the whole text
  EXPECT_TRUE(passes(r, R"(tags:in:["x","y"])"));
  EXPECT_FALSE(passes(r, R"(tags:in:["y"])"));
  EXPECT_TRUE(passes(r, "address.city=Oslo"));
  EXPECT_FALSE(passes(r, "address.zip=1"));
  EXPECT_TRUE(passes(r, "address.zip?"));  // missing counts as null
  EXPECT_TRUE(passes(r, "gone?"));
  EXPECT_TRUE(passes(r, "name!?"));
  EXPECT_FALSE(passes(r, "gone!?"));
}

}  // namespace
}  // namespace topicdb::app

#include "db/constraints.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::db {
namespace {

std::string parse_error(const Json& body) {
  Result<Constraint> c = parse_constraint("posts", body);
  EXPECT_FALSE(c.is_ok()) << body.dump();
  return c.is_ok() ? std::string() : c.status().message();
}

TEST(ConstraintsTest, ParsesTheThreeKindsAsMqdbWritesThem) {
  Result<Constraint> u = parse_constraint(
      "posts", Json::parse(R"({"type":"unique","name":"uniq_title","fields":["title","site"]})"));
  ASSERT_TRUE(u.is_ok()) << u.status().message();
  EXPECT_EQ(u->kind, ConstraintKind::kUnique);
  EXPECT_EQ(u->fields, (std::vector<std::string>{"title", "site"}));

  Result<Constraint> n =
      parse_constraint("posts", Json::parse(R"({"type":"not_null","name":"nn","field":"title"})"));
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(n->kind, ConstraintKind::kNotNull);
  EXPECT_EQ(n->field(), "title");

  Result<Constraint> f = parse_constraint(
      "comments", Json::parse(R"({"type":"foreign_key","name":"fk_post","field":"post_id",
        "target_entity":"posts","target_field":"id","on_delete":"cascade"})"));
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f->target_entity, "posts");
  EXPECT_EQ(f->on_delete, OnDelete::kCascade);
  EXPECT_EQ(f->to_json()["on_delete"], "cascade");

  Result<Constraint> r = parse_constraint(
      "comments",
      Json::parse(R"({"type":"foreign_key","name":"fk","field":"p","target_entity":"posts"})"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->on_delete, OnDelete::kRestrict) << "restrict when on_delete is absent";
}

TEST(ConstraintsTest, MalformedDefinitionsSayWhatIsWrong) {
  EXPECT_NE(parse_error(Json::parse(R"({"type":"check","name":"x","field":"a"})"))
                .find("unknown constraint type 'check'"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"name":"x","field":"a"})")).find("\"type\""),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"unique","fields":["a"]})")).find("\"name\""),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"not_null","name":"nn"})")).find("\"field\""),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"unique","name":"u","fields":[]})")).find("fields"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"unique","name":"u","fields":["a","a"]})"))
                .find("named twice"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"foreign_key","name":"f","field":"p"})"))
                .find("target_entity"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"foreign_key","name":"f","field":"p",
                                       "target_entity":"posts","on_delete":"explode"})"))
                .find("on_delete 'explode' is not one of restrict, cascade, set_null"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"foreign_key","name":"f","field":"p",
                                       "target_entity":"posts","target_field":"slug"})"))
                .find("target_field"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"not_null","name":"n","field":"a","extra":1})"))
                .find("unknown key \"extra\""),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"type":"not_null","name":"bad name","field":"a"})"))
                .find("bad name"),
            std::string::npos);
  EXPECT_NE(
      parse_error(Json::parse(R"({"type":"not_null","name":"n","field":"id"})")).find("server's"),
      std::string::npos);
}

TEST(ConstraintsTest, UniqueKeysCompareJsonValues) {
  const std::vector<std::string> a = {"a"};
  EXPECT_EQ(unique_key(a, Json::parse(R"({"a":1})")), unique_key(a, Json::parse(R"({"a":1.0})")));
  EXPECT_NE(unique_key(a, Json::parse(R"({"a":1})")), unique_key(a, Json::parse(R"({"a":"1"})")));
  EXPECT_NE(unique_key(a, Json::parse(R"({"a":1})")), unique_key(a, Json::parse(R"({"a":1.5})")));
  EXPECT_EQ(unique_key(a, Json::parse(R"({"a":{"x":1,"y":[2.0]}})")),
            unique_key(a, Json::parse(R"({"a":{"y":[2],"x":1.0}})")));
  EXPECT_NE(unique_key(a, Json::parse(R"({"a":true})")), unique_key(a, Json::parse(R"({"a":1})")));
  EXPECT_FALSE(unique_key(a, Json::parse(R"({"a":null})")).has_value());
  EXPECT_FALSE(unique_key(a, Json::parse(R"({"b":1})")).has_value());
  const std::vector<std::string> ab = {"a", "b.c"};
  EXPECT_FALSE(unique_key(ab, Json::parse(R"({"a":1,"b":{"c":null}})")).has_value())
      << "a tuple with a null member is never a duplicate";
  EXPECT_EQ(unique_key(ab, Json::parse(R"({"a":1,"b":{"c":"x"}})")), "[1,\"x\"]");
}

TEST(ConstraintsTest, SetFindsReferencingForeignKeys) {
  ConstraintSet set;
  set.add(*parse_constraint("comments", Json::parse(R"({"type":"foreign_key","name":"fk",
    "field":"post_id","target_entity":"posts"})")));
  set.add(
      *parse_constraint("posts", Json::parse(R"({"type":"not_null","name":"nn","field":"t"})")));
  ASSERT_EQ(set.referencing("posts").size(), 1u);
  EXPECT_EQ(set.referencing("posts")[0]->entity, "comments");
  EXPECT_TRUE(set.referencing("comments").empty());
  EXPECT_TRUE(set.remove("posts", "nn"));
  EXPECT_FALSE(set.remove("posts", "nn"));
  EXPECT_EQ(set.all().size(), 1u);
}

}  // namespace
}  // namespace topicdb::db

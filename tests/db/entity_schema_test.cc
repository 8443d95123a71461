#include "db/entity_schema.h"

#include <gtest/gtest.h>

namespace topicdb::db {
namespace {

EntitySchema parse(const char* text) {
  Result<EntitySchema> schema = EntitySchema::parse(Json::parse(text));
  EXPECT_TRUE(schema.is_ok()) << schema.status().to_string();
  return schema.is_ok() ? std::move(schema).value() : EntitySchema();
}

TEST(DbEntitySchemaTest, EveryTypeChecks) {
  EntitySchema schema = parse(
      R"({"s":{"type":"string"},"n":{"type":"number"},"i":{"type":"integer"},
          "b":{"type":"boolean"},"o":{"type":"object"},"a":{"type":"array"},"free":{}})");
  EXPECT_TRUE(
      schema.validate(Json::parse(R"({"s":"x","n":1.5,"i":-3,"b":false,"o":{},"a":[],"free":[1]})"))
          .is_ok());
  EXPECT_TRUE(schema.validate(Json::parse(R"({"n":2})")).is_ok()) << "an integer is a number";
  EXPECT_TRUE(schema.validate(Json::object()).is_ok()) << "nothing required";
  EXPECT_TRUE(schema.validate(Json::parse(R"({"s":null})")).is_ok()) << "null nulls";
  const char* wrong[] = {R"({"s":1})", R"({"n":"1"})", R"({"i":1.5})", R"({"i":true})",
                         R"({"b":0})", R"({"o":[]})",  R"({"a":{}})"};
  for (const char* text : wrong) {
    Status status = schema.validate(Json::parse(text));
    EXPECT_FALSE(status.is_ok()) << text;
    std::string field = Json::parse(text).begin().key();
    EXPECT_NE(status.message().find("'" + field + "'"), std::string::npos) << status.message();
  }
}

TEST(DbEntitySchemaTest, RequiredAndDefaults) {
  EntitySchema schema = parse(
      R"({"title":{"type":"string","required":true},"views":{"type":"integer","default":0},
          "tags":{"type":"array","default":["a"]}})");
  Json record = Json::parse(R"({"title":"t","views":5})");
  schema.apply_defaults(record);
  EXPECT_EQ(record, Json::parse(R"({"title":"t","views":5,"tags":["a"]})"));
  Json nulled = Json::parse(R"({"views":null})");
  schema.apply_defaults(nulled);
  EXPECT_TRUE(nulled["views"].is_null()) << "an explicit null is not replaced by the default";
  EXPECT_FALSE(schema.validate(Json::parse(R"({"views":1})")).is_ok());
  EXPECT_FALSE(schema.validate(Json::parse(R"({"title":null})")).is_ok());
  EXPECT_EQ(schema.fields().at("title").required, true);
}

TEST(DbEntitySchemaTest, References) {
  EntitySchema schema = parse(R"({"author_id":{"type":"string","references":"users"}})");
  EXPECT_EQ(schema.fields().at("author_id").references, "users");
  EXPECT_FALSE(
      EntitySchema::parse(Json::parse(R"({"a":{"type":"object","references":"u"}})")).is_ok());
  EXPECT_FALSE(EntitySchema::parse(Json::parse(R"({"a":{"references":5}})")).is_ok());
  EXPECT_FALSE(EntitySchema::parse(Json::parse(R"({"a":{"references":"no/such"}})")).is_ok());
  EXPECT_FALSE(EntitySchema::parse(Json::parse(R"({"a":{"references":"_admin"}})")).is_ok());
}

TEST(DbEntitySchemaTest, BadDefinitions) {
  const char* bad[] = {R"([])",
                       R"({"a":1})",
                       R"({"a":{"type":"date"}})",
                       R"({"a":{"type":7}})",
                       R"({"a":{"required":1}})",
                       R"({"a":{"type":"string","default":1}})",
                       R"({"a":{"type":"string","max":1}})",
                       R"({"id":{"type":"string"}})",
                       R"({"_version":{"type":"integer"}})"};
  for (const char* text : bad) {
    EXPECT_FALSE(EntitySchema::parse(Json::parse(text)).is_ok()) << text;
  }
}

}  // namespace
}  // namespace topicdb::db

// mosquitto's ACL file format: the anonymous section, user sections, patterns with %u and
// %c, deny-wins precedence, and read checked on the whole subscription filter.
#include "plugins/acl_file.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::plugins {
namespace {

AclClient user(std::string_view name, std::string_view client_id = "c1") {
  return AclClient{client_id, name, true};
}
AclClient anonymous(std::string_view client_id = "anon1") {
  return AclClient{client_id, {}, false};
}

AclFile parse_ok(const std::string& text) {
  auto acl = AclFile::parse(text);
  EXPECT_TRUE(acl.is_ok()) << acl.status().to_string();
  return acl.is_ok() ? std::move(*acl) : AclFile();
}

TEST(AclFileTest, AnonymousSectionIsOnlyForClientsWithoutAUserName) {
  AclFile acl = parse_ok(
      "# anonymous clients\n"
      "topic read public/#\n"
      "\n"
      "user alice\n"
      "topic readwrite alice/#\n");
  EXPECT_TRUE(acl.may_subscribe(anonymous(), "public/news"));
  EXPECT_FALSE(acl.may_publish(anonymous(), "public/news"));  // read only
  EXPECT_FALSE(acl.may_subscribe(user("alice"), "public/news"));
  EXPECT_TRUE(acl.may_publish(user("alice"), "alice/x"));
  EXPECT_TRUE(acl.may_subscribe(user("alice"), "alice/#"));
  EXPECT_FALSE(acl.may_publish(user("bob"), "alice/x"));  // unknown user: no rules, no access
  EXPECT_FALSE(acl.may_publish(anonymous(), "alice/x"));
}

TEST(AclFileTest, AccessWords) {
  AclFile acl = parse_ok(
      "user u\n"
      "topic r/#\n"  // no access word: readwrite
      "topic read ro/#\n"
      "topic write wo/#\n"
      "topic readwrite rw/#\n");
  EXPECT_TRUE(acl.may_publish(user("u"), "r/1"));
  EXPECT_TRUE(acl.may_subscribe(user("u"), "r/1"));
  EXPECT_FALSE(acl.may_publish(user("u"), "ro/1"));
  EXPECT_TRUE(acl.may_subscribe(user("u"), "ro/1"));
  EXPECT_TRUE(acl.may_publish(user("u"), "wo/1"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "wo/1"));
  EXPECT_TRUE(acl.may_publish(user("u"), "rw/1"));
  EXPECT_TRUE(acl.may_subscribe(user("u"), "rw/+"));
}

TEST(AclFileTest, DenyWinsWhereverItStands) {
  AclFile acl = parse_ok(
      "user u\n"
      "topic readwrite sensors/#\n"
      "topic deny sensors/secret\n"
      "pattern deny %u/private/#\n"
      "topic readwrite u/#\n");
  EXPECT_TRUE(acl.may_publish(user("u"), "sensors/temp"));
  EXPECT_FALSE(acl.may_publish(user("u"), "sensors/secret"));
  EXPECT_TRUE(acl.may_subscribe(user("u"), "sensors/temp"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "sensors/secret"));
  // A filter that could reach the denied topic is refused whole.
  EXPECT_FALSE(acl.may_subscribe(user("u"), "sensors/#"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "sensors/+"));
  // A pattern's deny beats the user's own allow, although the allow comes later.
  EXPECT_TRUE(acl.may_publish(user("u"), "u/public"));
  EXPECT_FALSE(acl.may_publish(user("u"), "u/private/x"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "u/#"));
}

TEST(AclFileTest, ReadMustCoverTheWholeSubscription) {
  AclFile acl = parse_ok("user u\ntopic read a/+/temp\n");
  EXPECT_TRUE(acl.may_subscribe(user("u"), "a/kitchen/temp"));
  EXPECT_TRUE(acl.may_subscribe(user("u"), "a/+/temp"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "a/#"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "#"));
}

TEST(AclFileTest, PatternsSubstituteUserAndClientId) {
  AclFile acl = parse_ok(
      "pattern readwrite users/%u/#\n"
      "pattern write devices/%c/status\n");
  EXPECT_TRUE(acl.may_publish(user("alice", "dev7"), "users/alice/x"));
  EXPECT_TRUE(acl.may_subscribe(user("alice", "dev7"), "users/alice/#"));
  EXPECT_FALSE(acl.may_publish(user("alice", "dev7"), "users/bob/x"));
  EXPECT_TRUE(acl.may_publish(user("alice", "dev7"), "devices/dev7/status"));
  EXPECT_FALSE(acl.may_publish(user("alice", "dev7"), "devices/dev8/status"));
  // Anonymous clients get the %c patterns, not the %u ones.
  EXPECT_TRUE(acl.may_publish(anonymous("dev9"), "devices/dev9/status"));
  EXPECT_FALSE(acl.may_publish(anonymous("dev9"), "users//x"));
}

TEST(AclFileTest, WildcardNamesGetNothingWhilePatternsExist) {
  AclFile acl = parse_ok(
      "user a+b\ntopic readwrite own/#\n"
      "pattern readwrite users/%u/#\n");
  // "users/+/#" would open every user's tree: mosquitto denies such a client outright.
  EXPECT_FALSE(acl.may_publish(user("+", "c"), "users/bob/x"));
  EXPECT_FALSE(acl.may_publish(user("a+b", "c"), "own/x"));
  EXPECT_FALSE(acl.may_publish(user("alice", "#"), "users/alice/x"));
  EXPECT_TRUE(acl.may_publish(user("alice", "c"), "users/alice/x"));
}

TEST(AclFileTest, DollarTopicsNeedRulesThatSpellThemOut) {
  AclFile acl = parse_ok("user u\ntopic readwrite #\ntopic read $SYS/#\n");
  EXPECT_TRUE(acl.may_publish(user("u"), "anything/at/all"));
  EXPECT_FALSE(acl.may_publish(user("u"), "$SYS/x"));
  EXPECT_TRUE(acl.may_subscribe(user("u"), "$SYS/broker/#"));
}

TEST(AclFileTest, UserNamesAndFiltersKeepInnerSpaces) {
  AclFile acl = parse_ok("user  John Smith  \ntopic write rooms/living room/#\n");
  EXPECT_TRUE(acl.may_publish(user("John Smith"), "rooms/living room/lamp"));
}

TEST(AclFileTest, BadLinesAreErrorsWithTheirNumber) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"topic read a/#\nuser\n", "line 2"},
      {"topic nope a/#\n", "line 1"},
      {"user u\ntopic read a/#/b\n", "line 2"},
      {"\n\nsubscribe a\n", "line 3"},
      {"topic\n", "line 1"},
  };
  for (const Case& k : cases) {
    auto acl = AclFile::parse(k.text);
    ASSERT_FALSE(acl.is_ok()) << k.text;
    EXPECT_NE(acl.status().message().find(k.expect), std::string::npos) << acl.status().message();
  }
  EXPECT_FALSE(AclFile::load("/nonexistent/topicdb/acl").is_ok());
}

TEST(AclFileTest, EmptyFileDeniesEverything) {
  AclFile acl = parse_ok("# nothing\n");
  EXPECT_FALSE(acl.may_publish(anonymous(), "a"));
  EXPECT_FALSE(acl.may_subscribe(user("u"), "a"));
}

}  // namespace
}  // namespace topicdb::plugins

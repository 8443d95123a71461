// Record ownership's rules without a database: parsing --ownership, what a scope sees, and
// how creates and update patches are checked.
#include "db/ownership.h"

#include <gtest/gtest.h>

namespace topicdb::db {
namespace {

OwnerScope scope_of(const std::string& user) {
  OwnerScope scope;
  scope.user = user;
  scope.fields = {{"notes", "owner"}};
  return scope;
}

TEST(OwnershipTest, ParsesEntityAndTopLevelField) {
  OwnershipFields fields;
  ASSERT_TRUE(parse_ownership("notes:owner", &fields).is_ok());
  ASSERT_TRUE(parse_ownership("notes:owner", &fields).is_ok());  // the same again is fine
  ASSERT_TRUE(parse_ownership("orders:user_name", &fields).is_ok());
  EXPECT_EQ(fields.at("notes"), "owner");
  EXPECT_EQ(fields.at("orders"), "user_name");
  for (const char* bad : {"notes", "notes:", ":owner", "_notes:owner", "notes:_owner", "notes:a.b",
                          "notes:id", "no tes:owner", "notes:other"}) {
    EXPECT_FALSE(parse_ownership(bad, &fields).is_ok()) << bad;
  }
}

TEST(OwnershipTest, AScopeSeesItsUsersRecordsAndEveryUnownedOne) {
  OwnerScope alice = scope_of("alice");
  EXPECT_TRUE(alice.may_see("notes", Json{{"owner", "alice"}}));
  EXPECT_FALSE(alice.may_see("notes", Json{{"owner", "bob"}}));
  EXPECT_FALSE(alice.may_see("notes", Json{{"text", "no owner"}}));
  EXPECT_FALSE(alice.may_see("notes", Json{{"owner", 7}}));
  EXPECT_TRUE(alice.may_see("orders", Json{{"owner", "bob"}}));
  // Nobody without a name owns anything, not even records whose owner is "".
  EXPECT_FALSE(scope_of("").may_see("notes", Json{{"owner", ""}}));
}

TEST(OwnershipTest, CreateSetsTheOwnerOrRefusesAnother) {
  OwnerScope alice = scope_of("alice");
  Answer error;
  Json body = {{"text", "t"}};
  ASSERT_TRUE(apply_owner_to_create(alice, "notes", &body, &error));
  EXPECT_EQ(body["owner"], "alice");
  body = {{"owner", "alice"}};
  EXPECT_TRUE(apply_owner_to_create(alice, "notes", &body, &error));
  body = {{"owner", "bob"}};
  EXPECT_FALSE(apply_owner_to_create(alice, "notes", &body, &error));
  EXPECT_EQ(error.code, 403);
  body = {{"owner", nullptr}};
  EXPECT_FALSE(apply_owner_to_create(alice, "notes", &body, &error));
  body = {{"owner", "bob"}};
  EXPECT_TRUE(apply_owner_to_create(alice, "orders", &body, &error)) << "orders are not owned";
}

TEST(OwnershipTest, APatchCannotGiveARecordAway) {
  OwnerScope alice = scope_of("alice");
  Answer error;
  EXPECT_TRUE(check_owner_in_patch(alice, "notes", Json{{"text", "t"}}, &error));
  EXPECT_TRUE(check_owner_in_patch(alice, "notes", Json{{"owner", "alice"}}, &error));
  EXPECT_FALSE(check_owner_in_patch(alice, "notes", Json{{"owner", "bob"}}, &error));
  EXPECT_EQ(error.code, 403);
  EXPECT_FALSE(check_owner_in_patch(alice, "notes", Json{{"owner", nullptr}}, &error));
}

}  // namespace
}  // namespace topicdb::db

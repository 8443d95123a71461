// DbAccess without a broker: which Authorizer question each request becomes, admin gating
// with and without admins named, owner scopes, and the recipients of owned records' events.
#include "db/adapter/db_access.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace topicdb::db::adapter {
namespace {

// Records every question and allows only the topics and filters it was given.
class ListAuthorizer final : public broker::Authorizer {
 public:
  std::vector<std::string> writable, readable, asked;
  Status authorize_connect(const broker::ClientIdentity&) override { return Status::ok(); }
  Status authorize_publish(const broker::ClientIdentity&, std::string_view topic, uint8_t,
                           bool) override {
    asked.push_back("write " + std::string(topic));
    return allowed(writable, topic);
  }
  Status authorize_subscribe(const broker::ClientIdentity&, std::string_view filter,
                             uint8_t) override {
    asked.push_back("read " + std::string(filter));
    return allowed(readable, filter);
  }

 private:
  static Status allowed(const std::vector<std::string>& list, std::string_view what) {
    for (const std::string& s : list) {
      if (s == what) return Status::ok();
    }
    return Status::permission_denied("no");
  }
};

broker::ClientIdentity user(const char* name) {
  broker::ClientIdentity who;
  who.client_id = "c";
  if (name != nullptr) {
    who.username = name;
    who.has_username = true;
  }
  return who;
}

Request request(Operation op, std::string entity, Json body = Json::object()) {
  Request r;
  r.op = op;
  r.entity = std::move(entity);
  r.body = std::move(body);
  return r;
}

class DbAccessTest : public ::testing::Test {
 protected:
  DbAccess make(DbAccessOptions options) {
    return DbAccess([this]() -> broker::Authorizer& { return acl_; }, std::move(options));
  }
  ListAuthorizer acl_;
};

TEST_F(DbAccessTest, RequestsAreCheckedOnTheirNormalizedTopic) {
  DbAccess access = make({});
  acl_.writable = {"$DB/orders/update"};
  EXPECT_TRUE(access.authorize(user("a"), request(Operation::kUpdate, "orders"), 1).is_ok());
  Status refused = access.authorize(user("a"), request(Operation::kDelete, "orders"), 1);
  EXPECT_EQ(refused.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(refused.message().find("$DB/orders/delete"), std::string::npos) << refused.message();
  EXPECT_EQ(acl_.asked,
            (std::vector<std::string>{"write $DB/orders/update", "write $DB/orders/delete"}));
}

TEST_F(DbAccessTest, ReplayNeedsReadOnTheEntitysEvents) {
  DbAccess access = make({});
  acl_.readable = {"$DB/orders/events/#"};
  EXPECT_TRUE(
      access.authorize(user("a"), request(Operation::kReplay, "", {{"entity", "orders"}}), 0)
          .is_ok());
  EXPECT_FALSE(
      access.authorize(user("a"), request(Operation::kReplay, "", {{"entity", "notes"}}), 0)
          .is_ok());
  // No valid entity: nothing to authorize, the store answers 400.
  EXPECT_TRUE(access.authorize(user("a"), request(Operation::kReplay, ""), 0).is_ok());
}

TEST_F(DbAccessTest, AdminOperationsNeedAnAdminOrNoneNamedWithoutPasswords) {
  DbAccessOptions with_admin;
  with_admin.admin_users = {"root"};
  DbAccess access = make(with_admin);
  EXPECT_TRUE(access.authorize(user("root"), request(Operation::kSchemaSet, "x"), 1).is_ok());
  EXPECT_FALSE(access.authorize(user("alice"), request(Operation::kIndexList, "x"), 1).is_ok());
  EXPECT_FALSE(access.authorize(user(nullptr), request(Operation::kSchemaGet, "x"), 1).is_ok());
  EXPECT_TRUE(acl_.asked.empty()) << "admin gating does not consult the ACL";

  DbAccess open = make({});  // no admins, no password file: as before
  EXPECT_TRUE(open.authorize(user(nullptr), request(Operation::kIndexAdd, "x"), 1).is_ok());
  DbAccessOptions closed_options;
  closed_options.admin_open_without_admins = false;
  DbAccess closed = make(closed_options);
  EXPECT_FALSE(closed.authorize(user("root"), request(Operation::kIndexAdd, "x"), 1).is_ok());
}

TEST_F(DbAccessTest, OwnedEntitiesScopeUsersButNotAdmins) {
  DbAccessOptions options;
  options.admin_users = {"root"};
  options.ownership = {{"notes", "owner"}};
  DbAccess access = make(options);
  acl_.writable = {"$DB/notes/read"};
  EXPECT_EQ(access.scope_for(user("root")), nullptr);
  auto scope = access.scope_for(user("alice"));
  ASSERT_NE(scope, nullptr);
  EXPECT_EQ(scope->user, "alice");
  EXPECT_NE(scope->field_of("notes"), nullptr);
  // Without a user name an owned entity is out of reach.
  EXPECT_FALSE(access.authorize(user(nullptr), request(Operation::kRead, "notes"), 1).is_ok());
  EXPECT_TRUE(access.authorize(user("alice"), request(Operation::kRead, "notes"), 1).is_ok());
  EXPECT_EQ(make({}).scope_for(user("alice")), nullptr) << "nothing owned: no scope";
}

TEST_F(DbAccessTest, OwnedEventsGoToTheOwnerAndAdmins) {
  DbAccessOptions options;
  options.admin_users = {"root"};
  options.ownership = {{"notes", "owner"}};
  DbAccess access = make(options);
  ChangeEvent event;
  event.entity = "notes";
  event.data_json = R"({"id":"n1","owner":"alice"})";
  auto recipients = access.recipients_for(event);
  ASSERT_NE(recipients, nullptr);
  const std::string alice = "alice", bob = "bob", root = "root";
  EXPECT_TRUE((*recipients)(&alice));
  EXPECT_TRUE((*recipients)(&root));
  EXPECT_FALSE((*recipients)(&bob));
  EXPECT_FALSE((*recipients)(nullptr));
  event.data_json = R"({"id":"n2"})";  // no owner: admins only
  recipients = access.recipients_for(event);
  EXPECT_FALSE((*recipients)(&alice));
  EXPECT_TRUE((*recipients)(&root));
  event.entity = "orders";
  EXPECT_EQ(access.recipients_for(event), nullptr);
}

}  // namespace
}  // namespace topicdb::db::adapter

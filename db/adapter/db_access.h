// DbAccess: who may run which $DB request and see which records. A request is authorized
// through the broker's Authorizer (the ACL file, plugins) against its normalized topic
// "$DB/{entity}/{operation}" whatever the shape of the topic it came on; replay needs read
// on "$DB/{entity}/events/#"; "_admin/..." needs an admin user (--admin-user); and records
// of owned entities (--ownership) are seen and changed only by their owner and the admins.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "broker/authorizer.h"
#include "broker/message.h"
#include "db/change_event.h"
#include "db/ownership.h"
#include "db/request.h"

namespace topicdb::db::adapter {

struct DbAccessOptions {
  std::vector<std::string> admin_users;  // --admin-user, repeatable
  // With no admin user named: whether everyone may use "_admin/..." (true without a
  // password file, the behaviour from before there were admins; false with one, where
  // user names are proven and nobody was named).
  bool admin_open_without_admins = true;
  OwnershipFields ownership;  // --ownership ENTITY:FIELD, repeatable
};

class DbAccess {
 public:
  // The Authorizer in use when a request arrives (the broker's; it may be replaced at
  // start-up after the handler is made).
  using AuthorizerSource = std::function<broker::Authorizer&()>;

  DbAccess(AuthorizerSource authorizer, DbAccessOptions options);

  // Ok, or a permission_denied whose message names the entity and the operation (the 403
  // answer's text).
  Status authorize(const broker::ClientIdentity& who, const Request& request, uint8_t qos) const;
  // Whose records `who` may see: null for an admin, or when no entity is owned.
  std::shared_ptr<const OwnerScope> scope_for(const broker::ClientIdentity& who) const;
  // Who may receive `event`: null (everyone subscribed) unless its entity is owned; then its
  // owner (the field in the event's data) and the admins.
  std::shared_ptr<const broker::RecipientFilter> recipients_for(const ChangeEvent& event) const;

  bool is_admin(const broker::ClientIdentity& who) const;

 private:
  AuthorizerSource authorizer_;
  DbAccessOptions options_;
  std::shared_ptr<const std::set<std::string, std::less<>>> admins_;
};

}  // namespace topicdb::db::adapter

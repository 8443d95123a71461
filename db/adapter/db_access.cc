#include "db/adapter/db_access.h"

#include <fmt/format.h>

#include <utility>

#include "db/adapter/db_topics.h"
#include "db/names.h"

namespace topicdb::db::adapter {

DbAccess::DbAccess(AuthorizerSource authorizer, DbAccessOptions options)
    : authorizer_(std::move(authorizer)),
      options_(std::move(options)),
      admins_(std::make_shared<const std::set<std::string, std::less<>>>(
          options_.admin_users.begin(), options_.admin_users.end())) {}

bool DbAccess::is_admin(const broker::ClientIdentity& who) const {
  return who.has_username && admins_->count(who.username) > 0;
}

Status DbAccess::authorize(const broker::ClientIdentity& who, const Request& request,
                           uint8_t qos) const {
  if (is_admin_operation(request.op)) {
    if (is_admin(who) || (admins_->empty() && options_.admin_open_without_admins)) {
      return Status::ok();
    }
    return Status::permission_denied(
        fmt::format("$DB/_admin/...: {} of '{}' is for admin users only (--admin-user)",
                    operation_name(request.op), request.entity));
  }
  std::string entity = request.entity;
  if (request.op == Operation::kReplay) {
    auto it = request.body.find("entity");
    // No (valid) entity: the store answers its 400; there is nothing to authorize.
    if (it == request.body.end() || !it->is_string()) return Status::ok();
    entity = it->get<std::string>();
    if (!check_entity_name(entity)) return Status::ok();
    const std::string filter = fmt::format("{}{}/events/#", kDbPrefix, entity);
    if (!authorizer_().authorize_subscribe(who, filter, qos).is_ok()) {
      return Status::permission_denied(
          fmt::format("replay of '{}' refused: it needs read on {}", entity, filter));
    }
  } else {
    const std::string topic = fmt::format("{}{}/{}", kDbPrefix, entity, operation_name(request.op));
    if (!authorizer_().authorize_publish(who, topic, qos, false).is_ok()) {
      return Status::permission_denied(fmt::format("{} of '{}' refused: it needs write on {}",
                                                   operation_name(request.op), entity, topic));
    }
  }
  if (!who.has_username && options_.ownership.count(entity) > 0) {
    return Status::permission_denied(
        fmt::format("{} of '{}' refused: its records belong to users, connect with a user name",
                    operation_name(request.op), entity));
  }
  return Status::ok();
}

std::shared_ptr<const OwnerScope> DbAccess::scope_for(const broker::ClientIdentity& who) const {
  if (options_.ownership.empty() || is_admin(who)) return nullptr;
  auto scope = std::make_shared<OwnerScope>();
  scope->user = who.has_username ? std::string(who.username) : std::string();
  scope->fields = options_.ownership;
  return scope;
}

std::shared_ptr<const broker::RecipientFilter> DbAccess::recipients_for(
    const ChangeEvent& event) const {
  auto field = options_.ownership.find(event.entity);
  if (field == options_.ownership.end()) return nullptr;
  std::string owner;
  Json data = Json::parse(event.data_json, nullptr, /*allow_exceptions=*/false);
  if (data.is_object()) {
    auto it = data.find(field->second);
    if (it != data.end() && it->is_string()) owner = it->get<std::string>();
  }
  // A record without an owner is seen by the admins only.
  return std::make_shared<const broker::RecipientFilter>(
      [owner = std::move(owner), admins = admins_](const std::string* username) {
        if (username == nullptr) return false;
        return (!owner.empty() && *username == owner) || admins->count(*username) > 0;
      });
}

}  // namespace topicdb::db::adapter

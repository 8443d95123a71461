#include "app/plugin_db_hooks.h"

#include <string>

namespace topicdb::app {

namespace {

std::string db_topic(const db::Request& request) {
  return "$DB/" + request.entity + "/" + std::string(db::operation_name(request.op));
}

}  // namespace

std::optional<db::Answer> PluginDbHooks::before(const broker::ClientIdentity& client,
                                                const db::Request& request) {
  if (Status allowed = chain_->authorize(client, TOPICDB_ACCESS_DB, db_topic(request), 0, false);
      !allowed.is_ok()) {
    return db::Answer::error(403, allowed.message());
  }
  if (!db::is_write(request.op) || !chain_->offers(&topicdb_plugin::db_before_write)) {
    return std::nullopt;
  }
  const std::string body = request.body.dump();
  plugins::DbWrite write{db::operation_name(request.op), request.entity, request.id, body};
  if (std::optional<plugins::DbVeto> veto = chain_->before_db_write(client, write)) {
    return db::Answer::error(veto->code, std::move(veto->message));
  }
  return std::nullopt;
}

void PluginDbHooks::after(const broker::ClientIdentity& client, const db::Request& request,
                          const db::Answer& answer) {
  if (!chain_->offers(&topicdb_plugin::db_after_write)) return;
  const std::string body = request.body.dump();
  const std::string result = answer.data.dump();
  // A create that let the store pick the id: plugins get the id it picked.
  std::string id = request.id;
  if (id.empty() && answer.data.is_object() && answer.data.contains("id") &&
      answer.data["id"].is_string()) {
    id = answer.data["id"].get<std::string>();
  }
  plugins::DbWrite write{db::operation_name(request.op), request.entity, id, body};
  chain_->after_db_write(client, write, result);
}

}  // namespace topicdb::app

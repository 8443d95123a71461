// PluginDbHooks: the plugins' $DB hooks (PluginChain) in the shape the db adapter calls
// (DbRequestHooks). Every request is first an authorization check of
// "$DB/{entity}/{operation}" (TOPICDB_ACCESS_DB); a write then goes through the plugins'
// db_before_write, whose veto is the error answer; an ok write goes to db_after_write.
#pragma once

#include <memory>

#include "db/adapter/db_request_hooks.h"
#include "plugins/plugin_chain.h"

namespace topicdb::app {

class PluginDbHooks final : public db::adapter::DbRequestHooks {
 public:
  explicit PluginDbHooks(std::shared_ptr<plugins::PluginChain> chain) : chain_(std::move(chain)) {}
  std::optional<db::Answer> before(const broker::ClientIdentity& client,
                                   const db::Request& request) override;
  void after(const broker::ClientIdentity& client, const db::Request& request,
             const db::Answer& answer) override;
  bool wants_after() const override { return chain_->offers(&topicdb_plugin::db_after_write); }

 private:
  std::shared_ptr<plugins::PluginChain> chain_;
};

}  // namespace topicdb::app

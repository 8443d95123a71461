#include "plugins/builtin_file_auth.h"

#include <string>

namespace topicdb::plugins {

namespace {

// The plugin's context: FileAuth's seams, and the descriptor offering what they offer.
struct FileAuthPlugin {
  std::shared_ptr<FileAuth> auth;
  std::unique_ptr<broker::Authenticator> authenticator;  // null: no basic authentication
  std::unique_ptr<broker::Authorizer> authorizer;        // null: no ACL file
  std::unique_ptr<broker::AuthPlugin> scram;             // null: no password file
  topicdb_plugin descriptor{};
};

// One SCRAM exchange; keeps what the last step returned alive until the next (the ABI's
// rule for out data).
struct ScramExchange {
  std::unique_ptr<broker::AuthExchange> exchange;
  broker::AuthExchange::Step last;
};

std::string_view view(topicdb_str s) {
  return s.len == 0 ? std::string_view() : std::string_view(s.data, s.len);
}

broker::ClientIdentity identity(const topicdb_client* c) {
  broker::ClientIdentity who;
  who.client_id = view(c->client_id);
  who.username = view(c->username);
  who.has_username = c->has_username != 0;
  who.version =
      c->protocol_version == 5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311;
  who.address = view(c->address);
  return who;
}

int basic_auth(void* ctx, const topicdb_client* client, topicdb_str password, int has_password,
               topicdb_auth_done done, void* done_ctx) {
  auto* self = static_cast<FileAuthPlugin*>(ctx);
  std::optional<std::string_view> pw;
  if (has_password != 0) pw = view(password);
  // FileAuth answers now or from the thread pool's completion, on the loop either way.
  self->authenticator->check(identity(client), pw, [done, done_ctx](Status verdict) {
    const int result = verdict.is_ok()                                    ? TOPICDB_ALLOW
                       : verdict.code() == Status::Code::kUnauthenticated ? TOPICDB_DENY
                                                                          : TOPICDB_NOT_AUTHORIZED;
    done(done_ctx, result, verdict.is_ok() ? nullptr : verdict.message().c_str());
  });
  return TOPICDB_PENDING;
}

int authorize(void* ctx, const topicdb_client* client, int access, topicdb_str topic, int qos,
              int retain) {
  auto* self = static_cast<FileAuthPlugin*>(ctx);
  const broker::ClientIdentity who = identity(client);
  Status s = Status::ok();
  switch (access) {
    case TOPICDB_ACCESS_CONNECT:
      s = self->authorizer->authorize_connect(who);
      break;
    case TOPICDB_ACCESS_PUBLISH:
      s = self->authorizer->authorize_publish(who, view(topic), static_cast<uint8_t>(qos),
                                              retain != 0);
      break;
    case TOPICDB_ACCESS_SUBSCRIBE:
      s = self->authorizer->authorize_subscribe(who, view(topic), static_cast<uint8_t>(qos));
      break;
    default:
      // $DB operations are matched against the ACL by the db adapter's own check.
      return TOPICDB_DEFER;
  }
  return s.is_ok() ? TOPICDB_ALLOW : TOPICDB_DENY;
}

int auth_start(void* ctx, const topicdb_client* client, void** exchange) {
  auto* self = static_cast<FileAuthPlugin*>(ctx);
  std::optional<std::string> username;
  if (client->has_username != 0) username = std::string(view(client->username));
  auto state = std::make_unique<ScramExchange>();
  state->exchange = self->scram->begin(std::string(view(client->client_id)), username);
  *exchange = state.release();
  return 0;
}

int auth_step(void*, void* exchange, topicdb_str data_in, const char** out, size_t* out_len,
              const char** reason) {
  auto* state = static_cast<ScramExchange*>(exchange);
  state->last = state->exchange->on_client_data(view(data_in));
  *out = state->last.data.data();
  *out_len = state->last.data.size();
  *reason = state->last.reason.empty() ? nullptr : state->last.reason.c_str();
  switch (state->last.outcome) {
    case broker::AuthExchange::Outcome::kContinue:
      return TOPICDB_AUTH_CONTINUE;
    case broker::AuthExchange::Outcome::kSuccess:
      return TOPICDB_AUTH_SUCCESS;
    default:
      return TOPICDB_AUTH_FAILURE;
  }
}

void auth_end(void*, void* exchange) { delete static_cast<ScramExchange*>(exchange); }

void destroy(void* ctx) { delete static_cast<FileAuthPlugin*>(ctx); }

}  // namespace

Result<std::unique_ptr<LoadedPlugin>> make_file_auth_plugin(std::shared_ptr<FileAuth> auth) {
  auto self = std::make_unique<FileAuthPlugin>();
  self->authenticator = auth->make_authenticator();
  self->authorizer = auth->make_authorizer();
  self->scram = auth->make_scram_plugin();
  self->auth = std::move(auth);
  topicdb_plugin& d = self->descriptor;
  d.abi_version = TOPICDB_PLUGIN_ABI_VERSION;
  d.struct_size = sizeof(topicdb_plugin);
  d.name = kFileAuthPluginName;
  d.destroy = &destroy;
  if (self->authenticator) d.basic_auth = &basic_auth;
  if (self->authorizer) d.authorize = &authorize;
  if (self->scram) {
    d.auth_method = kScramMethod;
    d.auth_start = &auth_start;
    d.auth_step = &auth_step;
    d.auth_end = &auth_end;
  }
  const topicdb_plugin* descriptor = &self->descriptor;
  FileAuthPlugin* ctx = self.release();  // destroy() frees it from now on
  auto plugin = LoadedPlugin::from_descriptor(descriptor, ctx, kFileAuthPluginName);
  if (!plugin.is_ok()) delete ctx;
  return plugin;
}

}  // namespace topicdb::plugins

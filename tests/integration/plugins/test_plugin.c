/* A plugin for the integration tests, steered by its options:
 *   veto_entity=NAME   $DB creates of entity NAME are vetoed with 422 and a message
 *   deny_user=NAME     basic authentication of user NAME is denied (0x86); others defer
 *   deny_prefix=P      publishing to topics starting with P is denied
 *   garbage=1          every hook answers outside the ABI (results 77, NULL out data)
 */
#include <stdlib.h>
#include <string.h>

#include "plugins/topicdb_plugin.h"

typedef struct test_plugin {
  const char* veto_entity;
  const char* deny_user;
  const char* deny_prefix;
  int garbage;
} test_plugin;

static int equals(topicdb_str s, const char* c) {
  return c != NULL && s.len == strlen(c) && memcmp(s.data, c, s.len) == 0;
}

static int basic_auth(void* ctx, const topicdb_client* client, topicdb_str password,
                      int has_password, topicdb_auth_done done, void* done_ctx) {
  test_plugin* self = (test_plugin*)ctx;
  (void)password;
  (void)has_password;
  (void)done;
  (void)done_ctx;
  if (self->garbage) return 77;
  if (client->has_username && equals(client->username, self->deny_user)) return TOPICDB_DENY;
  return TOPICDB_DEFER;
}

static int authorize(void* ctx, const topicdb_client* client, int access, topicdb_str topic,
                     int qos, int retain) {
  test_plugin* self = (test_plugin*)ctx;
  (void)client;
  (void)qos;
  (void)retain;
  if (self->garbage) return 77;
  if (access == TOPICDB_ACCESS_PUBLISH && self->deny_prefix != NULL &&
      topic.len >= strlen(self->deny_prefix) &&
      memcmp(topic.data, self->deny_prefix, strlen(self->deny_prefix)) == 0) {
    return TOPICDB_DENY;
  }
  return TOPICDB_DEFER;
}

static int db_before_write(void* ctx, const topicdb_client* client, const topicdb_db_write* write,
                           int* code, const char** message) {
  test_plugin* self = (test_plugin*)ctx;
  (void)client;
  if (self->garbage) {
    *code = 200; /* not a client error: must not pass as one */
    return 99;
  }
  if (equals(write->operation, "create") && equals(write->entity, self->veto_entity)) {
    *code = 422;
    *message = "the test plugin refuses this entity";
    return TOPICDB_DENY;
  }
  return TOPICDB_ALLOW;
}

static int auth_start(void* ctx, const topicdb_client* client, void** exchange) {
  (void)ctx;
  (void)client;
  *exchange = NULL;
  return 0;
}

static int auth_step(void* ctx, void* exchange, topicdb_str data_in, const char** out,
                     size_t* out_len, const char** reason) {
  (void)ctx;
  (void)exchange;
  (void)data_in;
  (void)reason;
  *out = NULL; /* garbage: bytes promised at NULL */
  *out_len = 5;
  return TOPICDB_AUTH_SUCCESS;
}

static void destroy(void* ctx) { free(ctx); }

static const topicdb_plugin kTestPlugin = {
    .abi_version = TOPICDB_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(topicdb_plugin),
    .name = "test_plugin",
    .destroy = destroy,
    .basic_auth = basic_auth,
    .auth_method = "TEST-GARBAGE",
    .auth_start = auth_start,
    .auth_step = auth_step,
    .authorize = authorize,
    .db_before_write = db_before_write,
};

TOPICDB_PLUGIN_EXPORT int topicdb_plugin_init(const topicdb_host* host,
                                              const topicdb_plugin** plugin, void** ctx,
                                              const char** error) {
  test_plugin* self = (test_plugin*)calloc(1, sizeof(test_plugin));
  if (self == NULL) {
    *error = "out of memory";
    return 1;
  }
  for (size_t i = 0; i < host->option_count; ++i) {
    const char* key = host->options[i].key;
    const char* value = host->options[i].value;
    if (strcmp(key, "veto_entity") == 0) self->veto_entity = value;
    if (strcmp(key, "deny_user") == 0) self->deny_user = value;
    if (strcmp(key, "deny_prefix") == 0) self->deny_prefix = value;
    if (strcmp(key, "garbage") == 0) self->garbage = strcmp(value, "1") == 0;
  }
  *plugin = &kTestPlugin;
  *ctx = self;
  return 0;
}

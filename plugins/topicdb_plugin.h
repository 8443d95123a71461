/* topicdb_plugin.h: the stable C ABI between the TopicDB broker and its plugins (shared
 * libraries loaded with --plugin PATH, and the built-in password/ACL/SCRAM plugin). Plain C,
 * no C++ types cross it. docs/plugins.md is the reference; the rules in brief:
 *
 *  - A plugin exports `topicdb_plugin_init` (TOPICDB_PLUGIN_INIT_SYMBOL). The broker calls
 *    it once at start-up with a topicdb_host; the plugin answers with a pointer to its
 *    topicdb_plugin descriptor (static storage, lives until unload) and its context pointer.
 *  - Versioning: abi_version must equal TOPICDB_PLUGIN_ABI_VERSION (a change that breaks
 *    old plugins bumps it). New hooks are only ever appended to the structs; struct_size
 *    says how much of a struct its writer knows, and the reader treats fields past it as
 *    absent (NULL).
 *  - Threading: every hook runs on the broker's loop thread, one at a time. A hook must not
 *    block; slow work goes to a thread of the plugin's own and answers through a pending
 *    completion (basic authentication) on the loop thread.
 *  - Memory: every pointer handed to a hook is valid only during the call. Strings are
 *    (data, len) pairs and are not NUL-terminated unless said. Memory a plugin returns
 *    (out data, messages) must stay valid until the next hook call on the same context or
 *    exchange.
 *  - Any result outside the documented ones is a failure: the broker logs it and refuses
 *    what was asked. A plugin cannot take the broker down by answering badly.
 */
#ifndef TOPICDB_PLUGINS_TOPICDB_PLUGIN_H_
#define TOPICDB_PLUGINS_TOPICDB_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOPICDB_PLUGIN_ABI_VERSION 1u
#define TOPICDB_PLUGIN_INIT_SYMBOL "topicdb_plugin_init"

#if defined(__GNUC__)
#define TOPICDB_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define TOPICDB_PLUGIN_EXPORT
#endif

/* Results of the hooks that decide. */
#define TOPICDB_ALLOW 0 /* yes (authentication: this plugin vouches for the client) */
#define TOPICDB_DEFER 1 /* no opinion: ask the next plugin */
#define TOPICDB_DENY                                                                     \
  2                              /* no: authentication 0x86 (bad user name or password), \
                                    authorization 0x87, $DB write: the veto code/message */
#define TOPICDB_NOT_AUTHORIZED 3 /* authentication only: 0x87 (e.g. anonymous refused) */
#define TOPICDB_PENDING 4        /* basic authentication only: the verdict comes later */

/* Outcomes of one enhanced-authentication step. */
#define TOPICDB_AUTH_CONTINUE 0 /* send out data as an AUTH challenge, wait for the next */
#define TOPICDB_AUTH_SUCCESS 1  /* accept; out data (if any) goes in the CONNACK */
#define TOPICDB_AUTH_FAILURE 2  /* refuse with 0x87 */

/* What an authorization check is about. */
#define TOPICDB_ACCESS_CONNECT 1   /* topic is empty */
#define TOPICDB_ACCESS_PUBLISH 2   /* topic: the PUBLISH's topic (after alias resolution) */
#define TOPICDB_ACCESS_SUBSCRIBE 3 /* topic: one filter of a SUBSCRIBE */
#define TOPICDB_ACCESS_DB 4        /* topic: "$DB/{entity}/{operation}" of a $DB request */

/* Levels of topicdb_host.log. */
#define TOPICDB_LOG_DEBUG 0
#define TOPICDB_LOG_INFO 1
#define TOPICDB_LOG_WARN 2
#define TOPICDB_LOG_ERROR 3

typedef struct topicdb_str {
  const char* data; /* may be NULL when len is 0 */
  size_t len;
} topicdb_str;

/* One option given to this plugin: --plugin-opt KEY=VALUE after its --plugin. */
typedef struct topicdb_option {
  const char* key;   /* NUL-terminated */
  const char* value; /* NUL-terminated */
} topicdb_option;

/* Who is asking. protocol_version: 4 (MQTT 3.1.1, also for 3.1) or 5. */
typedef struct topicdb_client {
  topicdb_str client_id;
  topicdb_str username;
  int has_username;
  topicdb_str address; /* "IP:PORT" of the peer; empty where unknown */
  int protocol_version;
} topicdb_client;

/* A $DB write: operation is "create", "update", "delete", "schema_set" or "index_add";
 * id is empty for a create without one (db_after_write: the id the store gave it); body is
 * the request's JSON object. */
typedef struct topicdb_db_write {
  topicdb_str operation;
  topicdb_str entity;
  topicdb_str id;
  topicdb_str body;
} topicdb_db_write;

/* A completion of a TOPICDB_PENDING basic authentication: call exactly once, on the loop
 * thread (also allowed before basic_auth returns), with TOPICDB_ALLOW, TOPICDB_DEFER,
 * TOPICDB_DENY or TOPICDB_NOT_AUTHORIZED; `reason` (NUL-terminated, may be NULL) is logged
 * and is the CONNACK's Reason String. */
typedef void (*topicdb_auth_done)(void* done_ctx, int result, const char* reason);

/* What the broker offers to a plugin. */
typedef struct topicdb_host {
  uint32_t abi_version; /* TOPICDB_PLUGIN_ABI_VERSION of the broker */
  uint32_t struct_size; /* sizeof(topicdb_host) of the broker */
  void* host_ctx;       /* pass back to the host functions */
  const topicdb_option* options;
  size_t option_count;
  /* One log line in the broker's log, prefixed with the plugin's name. NUL-terminated. */
  void (*log)(void* host_ctx, int level, const char* message);
} topicdb_host;

/* What a plugin offers. Any hook may be NULL (not offered). `ctx` is the pointer the init
 * function returned. */
typedef struct topicdb_plugin {
  uint32_t abi_version; /* TOPICDB_PLUGIN_ABI_VERSION the plugin was built against */
  uint32_t struct_size; /* sizeof(topicdb_plugin) the plugin was built against */
  const char* name;     /* for logs */

  /* Called once at shutdown, after the last hook. */
  void (*destroy)(void* ctx);

  /* Basic authentication: the CONNECT's user name and password (has_password 0: none).
   * Returns a result; TOPICDB_PENDING means `done(done_ctx, ...)` follows. */
  int (*basic_auth)(void* ctx, const topicdb_client* client, topicdb_str password, int has_password,
                    topicdb_auth_done done, void* done_ctx);

  /* Enhanced authentication (MQTT 5 §4.12) for the method `auth_method` (NUL-terminated;
   * NULL: none). auth_start makes an exchange (*exchange, opaque to the broker) and
   * returns 0, or anything else to refuse; auth_step feeds it the client's data and sets
   * *out and *out_len to data to send back (owned by the exchange) and *reason (may stay NULL);
   * auth_end frees it, once per started exchange. */
  const char* auth_method;
  int (*auth_start)(void* ctx, const topicdb_client* client, void** exchange);
  int (*auth_step)(void* ctx, void* exchange, topicdb_str data_in, const char** out,
                   size_t* out_len, const char** reason);
  void (*auth_end)(void* ctx, void* exchange);

  /* Authorization: TOPICDB_ALLOW, TOPICDB_DEFER or TOPICDB_DENY. qos/retain are 0 where
   * they do not apply. */
  int (*authorize)(void* ctx, const topicdb_client* client, int access, topicdb_str topic, int qos,
                   int retain);

  /* Observers. */
  void (*on_connect)(void* ctx, const topicdb_client* client);
  void (*on_disconnect)(void* ctx, const topicdb_client* client);
  void (*on_publish)(void* ctx, const topicdb_client* client, topicdb_str topic,
                     topicdb_str payload, int qos, int retain);

  /* $DB writes. before: before the write reaches the store; TOPICDB_DENY vetoes it with
   * *code (an HTTP-style code 400-499; anything else becomes 403) and *message
   * (NUL-terminated, may stay NULL); the client gets that error answer. after: once the
   * write committed, with the answer's data as JSON. */
  int (*db_before_write)(void* ctx, const topicdb_client* client, const topicdb_db_write* write,
                         int* code, const char** message);
  void (*db_after_write)(void* ctx, const topicdb_client* client, const topicdb_db_write* write,
                         topicdb_str result);
} topicdb_plugin;

/* The entry point every shared-library plugin exports. Returns 0 on success with *plugin
 * and *ctx set; anything else fails start-up (with *error, NUL-terminated and static, if
 * set). */
typedef int (*topicdb_plugin_init_fn)(const topicdb_host* host, const topicdb_plugin** plugin,
                                      void** ctx, const char** error);

TOPICDB_PLUGIN_EXPORT int topicdb_plugin_init(const topicdb_host* host,
                                              const topicdb_plugin** plugin, void** ctx,
                                              const char** error);

#ifdef __cplusplus
}
#endif

#endif /* TOPICDB_PLUGINS_TOPICDB_PLUGIN_H_ */

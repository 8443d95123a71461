/* audit_log: an example TopicDB plugin (plain C, the ABI of plugins/topicdb_plugin.h) that
 * appends one JSON line per event to a file: client connects and disconnects, accepted
 * PUBLISHes (topic, QoS, retain, payload size: never the payload) and committed $DB writes.
 *
 *   topicdb serve --plugin libtopicdb_audit_log.so --plugin-opt file=/var/log/topicdb-audit.jsonl
 *
 * Lines are written with stdio and flushed at once, on the loop thread: enough for an
 * example and a light audit trail; a busy broker would hand lines to a thread of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugins/topicdb_plugin.h"

typedef struct audit_log {
  const topicdb_host* host;
  FILE* out;
} audit_log;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes s as a JSON string (quotes included). */
static void put_json_string(FILE* out, topicdb_str s) {
  fputc('"', out);
  for (size_t i = 0; i < s.len; ++i) {
    unsigned char c = (unsigned char)s.data[i];
    if (c == '"' || c == '\\') {
      fputc('\\', out);
      fputc(c, out);
    } else if (c < 0x20) {
      fprintf(out, "\\u%04x", c);
    } else {
      fputc(c, out);
    }
  }
  fputc('"', out);
}

static void begin_line(audit_log* self, const char* event, const topicdb_client* client) {
  fprintf(self->out, "{\"time_ms\":%lld,\"event\":\"%s\",\"client_id\":", now_ms(), event);
  put_json_string(self->out, client->client_id);
  fputs(",\"username\":", self->out);
  if (client->has_username) {
    put_json_string(self->out, client->username);
  } else {
    fputs("null", self->out);
  }
}

static void end_line(audit_log* self) {
  fputs("}\n", self->out);
  fflush(self->out);
}

static void on_connect(void* ctx, const topicdb_client* client) {
  audit_log* self = (audit_log*)ctx;
  begin_line(self, "connect", client);
  fputs(",\"address\":", self->out);
  put_json_string(self->out, client->address);
  fprintf(self->out, ",\"protocol_version\":%d", client->protocol_version);
  end_line(self);
}

static void on_disconnect(void* ctx, const topicdb_client* client) {
  audit_log* self = (audit_log*)ctx;
  begin_line(self, "disconnect", client);
  end_line(self);
}

static void on_publish(void* ctx, const topicdb_client* client, topicdb_str topic,
                       topicdb_str payload, int qos, int retain) {
  audit_log* self = (audit_log*)ctx;
  begin_line(self, "publish", client);
  fputs(",\"topic\":", self->out);
  put_json_string(self->out, topic);
  fprintf(self->out, ",\"qos\":%d,\"retain\":%s,\"payload_bytes\":%zu", qos,
          retain ? "true" : "false", payload.len);
  end_line(self);
}

static void db_after_write(void* ctx, const topicdb_client* client, const topicdb_db_write* write,
                           topicdb_str result) {
  audit_log* self = (audit_log*)ctx;
  (void)result;
  begin_line(self, "db_write", client);
  fputs(",\"operation\":", self->out);
  put_json_string(self->out, write->operation);
  fputs(",\"entity\":", self->out);
  put_json_string(self->out, write->entity);
  fputs(",\"id\":", self->out);
  put_json_string(self->out, write->id);
  end_line(self);
}

static void destroy(void* ctx) {
  audit_log* self = (audit_log*)ctx;
  if (self->out != NULL) fclose(self->out);
  free(self);
}

static const topicdb_plugin kAuditLog = {
    .abi_version = TOPICDB_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(topicdb_plugin),
    .name = "audit_log",
    .destroy = destroy,
    .on_connect = on_connect,
    .on_disconnect = on_disconnect,
    .on_publish = on_publish,
    .db_after_write = db_after_write,
};

TOPICDB_PLUGIN_EXPORT int topicdb_plugin_init(const topicdb_host* host,
                                              const topicdb_plugin** plugin, void** ctx,
                                              const char** error) {
  const char* path = NULL;
  for (size_t i = 0; i < host->option_count; ++i) {
    if (strcmp(host->options[i].key, "file") == 0) path = host->options[i].value;
  }
  if (path == NULL || path[0] == '\0') {
    *error = "audit_log needs --plugin-opt file=PATH";
    return 1;
  }
  audit_log* self = (audit_log*)calloc(1, sizeof(audit_log));
  if (self == NULL) {
    *error = "out of memory";
    return 1;
  }
  self->host = host;
  self->out = fopen(path, "a");
  if (self->out == NULL) {
    free(self);
    *error = "audit_log cannot open its file for appending";
    return 1;
  }
  char line[512];
  snprintf(line, sizeof(line), "writing audit events to %s", path);
  host->log(host->host_ctx, TOPICDB_LOG_INFO, line);
  *plugin = &kAuditLog;
  *ctx = self;
  return 0;
}

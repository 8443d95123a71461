/* A plugin built for an ABI version this broker does not speak: start-up must refuse it. */
#include <stddef.h>

#include "plugins/topicdb_plugin.h"

static const topicdb_plugin kWrongAbi = {
    .abi_version = 999,
    .struct_size = sizeof(topicdb_plugin),
    .name = "wrong_abi",
};

TOPICDB_PLUGIN_EXPORT int topicdb_plugin_init(const topicdb_host* host,
                                              const topicdb_plugin** plugin, void** ctx,
                                              const char** error) {
  (void)host;
  (void)error;
  *plugin = &kWrongAbi;
  *ctx = NULL;
  return 0;
}

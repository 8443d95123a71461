// The broker state tables in SQLite (sessions, subscriptions, queued messages, inbound
// QoS 2 ids, retained messages): component "broker" of the node's database, and its
// migrations.
#pragma once

#include <cstdint>

#include "storage/schema_versions.h"

namespace topicdb::broker {

// The layout of the broker tables written by this build.
inline constexpr int64_t kStateSchemaVersion = 1;

// Component "broker": its migrations, and for files from before the schema_versions table
// (which kept this version in PRAGMA user_version) the version found there.
storage::ComponentSchema state_schema();

}  // namespace topicdb::broker

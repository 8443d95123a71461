// The broker state tables in SQLite (sessions, subscriptions, queued messages, inbound
// QoS 2 ids, retained messages) and their migrations, keyed by PRAGMA user_version.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "base/status.h"

namespace topicdb::broker {

// Brings the schema to `supported_version` inside one transaction, so a crash mid-migration
// leaves the old version intact. A database newer than this build is refused (unsupported),
// naming `path`.
Status migrate_state_schema(sqlite3* db, const std::string& path, int supported_version);

// The error for a database whose schema `version` is newer than this build's `supported`.
Status newer_state_schema_status(const std::string& path, int64_t version, int supported);

}  // namespace topicdb::broker

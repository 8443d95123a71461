#include "broker/persist/state_schema.h"

#include <fmt/format.h>

#include "broker/persist/sqlite_helpers.h"

namespace topicdb::broker {
namespace {

using sqlite::exec;
using sqlite::query_int;

// Version 1. Later versions add steps to migrate() that run inside the same transaction.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS broker_sessions(client_id TEXT NOT NULL PRIMARY KEY,
  protocol_version INTEGER NOT NULL, expiry_interval_s INTEGER NOT NULL,
  disconnected_at_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS broker_subscriptions(client_id TEXT NOT NULL, filter TEXT NOT NULL,
  options INTEGER NOT NULL, subscription_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, filter)) WITHOUT ROWID;
-- Rowid tables for the rows that carry payloads: WITHOUT ROWID suits small rows only.
CREATE TABLE IF NOT EXISTS broker_messages(client_id TEXT NOT NULL, seq INTEGER NOT NULL,
  topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  packet_id INTEGER NOT NULL, state INTEGER NOT NULL, properties BLOB NOT NULL,
  expiry_at_ms INTEGER NOT NULL, subscription_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, seq));
CREATE TABLE IF NOT EXISTS broker_inbound_qos2(client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL, PRIMARY KEY(client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS broker_retained(topic TEXT NOT NULL PRIMARY KEY,
  payload BLOB NOT NULL, qos INTEGER NOT NULL, properties BLOB NOT NULL,
  expiry_at_ms INTEGER NOT NULL);
)sql";

}  // namespace

Status newer_state_schema_status(const std::string& path, int64_t version, int supported) {
  return Status::unsupported(
      fmt::format("state store {} has schema version {}, newer than version {} supported by "
                  "this build; run a newer topicdb or use another data directory",
                  path, version, supported));
}

Status migrate_state_schema(sqlite3* db, const std::string& path, int supported_version) {
  TDB_RETURN_IF_ERROR(exec(db, "BEGIN IMMEDIATE"));
  Result<int64_t> version = query_int(db, "PRAGMA user_version");
  Status status = version.status();
  if (status.is_ok() && *version > supported_version) {
    status = newer_state_schema_status(path, *version, supported_version);
  }
  if (status.is_ok() && *version < 1) {
    status = exec(db, kSchemaV1);
    if (status.is_ok()) status = exec(db, "PRAGMA user_version = 1");
  }
  if (!status.is_ok()) {
    exec(db, "ROLLBACK");
    return status;
  }
  return exec(db, "COMMIT");
}

}  // namespace topicdb::broker

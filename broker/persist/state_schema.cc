#include "broker/persist/state_schema.h"

#include "storage/sqlite_helpers.h"

namespace topicdb::broker {
namespace {

// Version 1. Later versions append a step to state_schema().migrations.
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

storage::ComponentSchema state_schema() {
  storage::ComponentSchema schema;
  schema.component = "broker";
  schema.migrations.push_back([](sqlite3* db) { return storage::sqlite::exec(db, kSchemaV1); });
  // Before per-component versions the broker was the file's only user and kept its
  // version in PRAGMA user_version (1 for the tables above).
  schema.legacy_version = [](sqlite3* db) {
    return storage::sqlite::query_int(db, "PRAGMA user_version");
  };
  return schema;
}

}  // namespace topicdb::broker

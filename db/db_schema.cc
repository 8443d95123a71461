#include "db/db_schema.h"

#include "storage/sqlite_helpers.h"

namespace topicdb::db {
namespace {

// Version 1. Later versions append a step to db_schema().migrations.
constexpr char kSchemaV1[] = R"sql(
-- One row per record. body is the JSON object as clients see it, "id" and "_version"
-- included. partition = partition_of(entity, id) (db/partition.h), stored so a partition
-- can be exported and counted without rehashing (version 3 drops its index: see there).
-- expires_at_ms: TTL deadline or NULL.
CREATE TABLE IF NOT EXISTS db_records(entity TEXT NOT NULL, id TEXT NOT NULL,
  partition INTEGER NOT NULL, version INTEGER NOT NULL, expires_at_ms INTEGER,
  body TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS db_records_key ON db_records(entity, id);
CREATE INDEX IF NOT EXISTS db_records_expiry ON db_records(expires_at_ms)
  WHERE expires_at_ms IS NOT NULL;
-- The change log and event outbox. seq is the node's durable commit sequence: AUTOINCREMENT
-- so a number is never handed out twice, even after the rows holding the highest ones were
-- pruned. op: 'Create', 'Update' or 'Delete'. data: the record after the change (for a
-- delete its last state).
CREATE TABLE IF NOT EXISTS db_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,
  entity TEXT NOT NULL, id TEXT NOT NULL, partition INTEGER NOT NULL, op TEXT NOT NULL,
  data TEXT NOT NULL, client_id TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS db_changes_entity ON db_changes(entity, seq);
-- Key/value state of the store: 'routed_seq' (the highest change whose event left; events
-- after it are routed again at start), 'metadata_revision'.
CREATE TABLE IF NOT EXISTS db_state(key TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL)
  WITHOUT ROWID;
-- Metadata (schemas, index definitions; constraints later) changes only through one ordered
-- apply path: every change is a row here with the next revision, applied in the same
-- transaction as its effect. A cluster replays this log in revision order.
CREATE TABLE IF NOT EXISTS db_metadata_log(revision INTEGER NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL, entity TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
-- The current metadata, as the log leaves it. kind: 'schema', 'index', 'constraint'.
CREATE TABLE IF NOT EXISTS db_metadata(kind TEXT NOT NULL, entity TEXT NOT NULL,
  name TEXT NOT NULL, definition TEXT NOT NULL, revision INTEGER NOT NULL,
  PRIMARY KEY(kind, entity, name)) WITHOUT ROWID;
)sql";

// Version 2: the store manager's structures (db/constraint_enforcer.h). Both carry the
// partition of the record they belong to, so they export and import with it. Each is its
// primary key alone: every b-tree a write touches is another page in each commit (measured:
// with a record and a partition index on each, a constrained create cost 3 times a plain
// one). A record's rows are found from its old body; a partition export scans them.
constexpr char kSchemaV2[] = R"sql(
-- Unique constraints: one row per record and unique constraint whose tuple has no null
-- member. key is the tuple's canonical JSON (db/constraints.h: 1 and 1.0 agree, "1" differs),
-- and the primary key makes SQLite itself refuse a duplicate.
CREATE TABLE IF NOT EXISTS db_unique(entity TEXT NOT NULL, constraint_name TEXT NOT NULL,
  key TEXT NOT NULL, record_id TEXT NOT NULL, partition INTEGER NOT NULL,
  PRIMARY KEY(entity, constraint_name, key)) WITHOUT ROWID;
-- The foreign-key reverse index: one row per child record whose foreign key field is set;
-- parent id -> child ids per foreign key (child_entity, fk_name). partition: the child's.
CREATE TABLE IF NOT EXISTS db_fk_refs(child_entity TEXT NOT NULL, fk_name TEXT NOT NULL,
  parent_id TEXT NOT NULL, child_id TEXT NOT NULL, partition INTEGER NOT NULL,
  PRIMARY KEY(child_entity, fk_name, parent_id, child_id)) WITHOUT ROWID;
-- Records whose TTL deadline passed while a restrict foreign key still had children: they
-- stay readable (expires_at_ms is cleared) and the sweep deletes them once no child remains.
CREATE TABLE IF NOT EXISTS db_expiry_held(entity TEXT NOT NULL, id TEXT NOT NULL,
  deadline_ms INTEGER NOT NULL, PRIMARY KEY(entity, id)) WITHOUT ROWID;
)sql";

// Version 3: no partition index on db_records or db_changes (version 1 made them; it no
// longer does, so a new store never has them). Every create wrote a row into each at one of
// 256 places, so a group commit of 1,024 creates dirtied about 512 extra pages: measured on
// the store's tables, raw inserts (record + change row, synchronous=FULL) went from ~42,000/s
// to ~166,000/s without them. Their only readers are partition export, import and stats
// (cluster rebalancing, rare), which scan instead: db_records in (entity, id) order and the
// change log from the asked sequence on.
constexpr char kSchemaV3[] = R"sql(
DROP INDEX IF EXISTS db_records_partition;
DROP INDEX IF EXISTS db_changes_partition;
)sql";

}  // namespace

storage::ComponentSchema db_schema() {
  storage::ComponentSchema schema;
  schema.component = "db";
  schema.migrations.push_back([](sqlite3* db) { return storage::sqlite::exec(db, kSchemaV1); });
  schema.migrations.push_back([](sqlite3* db) { return storage::sqlite::exec(db, kSchemaV2); });
  schema.migrations.push_back([](sqlite3* db) { return storage::sqlite::exec(db, kSchemaV3); });
  return schema;
}

}  // namespace topicdb::db

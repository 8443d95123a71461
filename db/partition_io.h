// One partition as a stream, for moving it between nodes (cluster, later) and checking two
// copies agree: export writes its records and its change-log tail as a sequence of items,
// import applies such a sequence in one transaction, and partition_stats gives a record
// count and an order-independent content hash per partition.
//
// Items are JSON text, one per callback call, in this order:
//   {"kind":"partition","partition":P,"format":1}
//   {"kind":"record","entity":E,"id":I,"version":V,"expires_at_ms":T|null,"body":"<JSON text>"}
//   {"kind":"unique","entity":E,"constraint":N,"key":K,"record_id":I}   (db_unique rows)
//   {"kind":"fk_ref","child_entity":E,"fk_name":N,"parent_id":P,"child_id":I}  (db_fk_refs)
//   {"kind":"change","seq":S,"entity":E,"id":I,"op":O,"data":"<JSON text>","client_id":C,
//    "at_ms":T}                                          (seq order)
// Bodies travel as the stored text, so a copy is byte-identical and hashes equal.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace topicdb::db {

// Receives one item; a non-ok Status stops the export and is returned.
using PartitionItemSink = std::function<Status(const std::string& item)>;
// Gives the next item; false when there are no more.
using PartitionItemSource = std::function<bool(std::string* item)>;

// Exports partition `partition` (records, their unique and reverse-index rows, then the
// change-log rows with seq > since_seq).
// Run it inside one read transaction so the stream is one snapshot.
Status export_partition(sqlite3* db, int partition, int64_t since_seq,
                        const PartitionItemSink& sink);

// Replaces partition `partition` with the items of `source` in one SAVEPOINT (all or
// nothing): its records, unique rows and reverse-index rows are deleted, the exported ones
// inserted (each record must belong to the partition), change-log rows inserted unless their
// seq exists. corruption for a malformed
// item.
Status import_partition(sqlite3* db, int partition, const PartitionItemSource& source);

struct PartitionStats {
  int partition = 0;
  int64_t records = 0;
  // Sum mod 2^64 of FNV-1a 64 over entity, 0x00, id, 0x00, version (decimal), 0x00, body of
  // every record: independent of row order, so two copies compare by value.
  uint64_t content_hash = 0;

  bool operator==(const PartitionStats&) const = default;
};

// Stats of one partition (expired rows not yet swept count: they are still stored).
Result<PartitionStats> partition_stats(sqlite3* db, int partition);
// Stats of every non-empty partition, by partition number.
Result<std::vector<PartitionStats>> all_partition_stats(sqlite3* db);

}  // namespace topicdb::db

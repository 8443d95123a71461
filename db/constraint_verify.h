// Verify of the store manager's structures: recompute the unique table (db_unique) and the
// foreign-key reverse index (db_fk_refs) from the data and report drift by entity and
// constraint; plus the record scans the constraint admin shares.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <string>

#include "base/status.h"
#include "db/answer.h"

namespace topicdb::db {

// Calls fn(id, partition, record) for every stored record of `entity` that is a JSON object
// (expired ones not yet swept included: the structures cover every stored row).
Status for_each_record(sqlite3* db, const std::string& entity,
                       const std::function<Status(const std::string&, int, const Json&)>& fn);
// Whether entity/id is stored (whatever its expiry).
Result<bool> record_exists(sqlite3* db, const std::string& entity, const std::string& id);

// kVerify (any connection, one snapshot): for every constraint, the rows the data implies
// against the rows stored. Answer data:
//   {"clean":bool,"constraints":N,"problems":[{"entity","constraint","type",
//     "missing_rows":n,"extra_rows":n,"violations":n,"sample":[...]}]}
// missing/extra: rows of db_unique / db_fk_refs absent or stale; violations: records that
// break the rule (duplicates, nulls, references to missing records). Rows of constraints
// that no longer exist are reported under "constraint":"<unknown>".
Answer verify_constraints(sqlite3* db);

}  // namespace topicdb::db

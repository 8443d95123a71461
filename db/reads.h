// Reads and lists: run on a reader connection (ReaderPool) against db_records. No MQTT.
#pragma once

#include <sqlite3.h>

#include <cstdint>

#include "db/answer.h"
#include "db/request.h"

namespace topicdb::db {

struct QueryLimits {
  size_t max_list_limit = 10000;
  size_t max_filters = 16;
  size_t max_sort_keys = 4;
};

// kRead: {} or {"projection":[...],"includes":[...]} ("include" accepted too). 404 when the
// record is missing or past its TTL deadline (`now_ms`).
Answer run_read(sqlite3* db, const Request& request, int64_t now_ms);
// kList: filters, sort, limit/offset (or "pagination"), projection, includes; see the README.
Answer run_list(sqlite3* db, const Request& request, const QueryLimits& limits, int64_t now_ms);

}  // namespace topicdb::db

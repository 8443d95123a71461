#include "db/adapter/db_operation_stats.h"

#include <algorithm>

namespace topicdb::db::adapter {

void DbOperationStats::count(std::string_view op, int code) {
  for (Row& row : rows_) {
    if (row.code == code && row.op == op) {
      ++row.count;
      return;
    }
  }
  rows_.push_back({op, code, 1});
}

std::vector<DbOperationStats::Row> DbOperationStats::rows() const {
  std::vector<Row> sorted = rows_;
  std::sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) {
    return a.op != b.op ? a.op < b.op : a.code < b.code;
  });
  return sorted;
}

}  // namespace topicdb::db::adapter

// DbOperationStats: $DB requests answered, by operation and answer code, for /metrics.
// Plain counters on the loop thread, kept by DbTopicHandler.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace topicdb::db::adapter {

class DbOperationStats {
 public:
  // The operation of a request that could not be parsed (bad topic or payload) or that
  // was published to a topic the server owns.
  static constexpr std::string_view kInvalid = "invalid";

  struct Row {
    std::string_view op;  // operation_name(...) or kInvalid: static strings
    int code;             // the answer's code (200 ok; 4xx, 5xx)
    uint64_t count;
  };

  // `op` must have static storage duration (operation_name's names do).
  void count(std::string_view op, int code);
  // Every (operation, code) seen so far, sorted by operation, then code.
  std::vector<Row> rows() const;

 private:
  // A few dozen pairs at most: a linear scan beats hashing at this size.
  std::vector<Row> rows_;
};

}  // namespace topicdb::db::adapter

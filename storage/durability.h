// Durability: how hard the node's store works to keep a commit across a power loss. One
// setting for the whole database (broker state and $DB); docs/durability.md is the contract.
#pragma once

#include <string_view>

#include "base/status.h"

namespace topicdb::storage {

enum class Durability {
  // synchronous=NORMAL; the sync thread fdatasyncs the WAL as soon as a group commits, and
  // nothing is acknowledged before that sync covers it.
  kImmediate,
  // synchronous=NORMAL: commits are not fsynced; a background thread fdatasyncs the WAL at
  // least every interval. Acknowledged after commit; durable (events) after that sync.
  kPeriodic,
  // synchronous=OFF: SQLite never fsyncs; only the background sync that lets change events
  // go (WAL and database file, every interval). A power loss may lose or damage anything.
  kNone,
};

constexpr int kDefaultDurabilityIntervalMs = 10;

// "immediate", "periodic" or "none".
std::string_view durability_name(Durability durability);
// The inverse of durability_name; an invalid_argument Status names the accepted values.
Result<Durability> parse_durability(std::string_view text);

}  // namespace topicdb::storage

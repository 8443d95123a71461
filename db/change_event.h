// ChangeEvent: one committed create, update or delete, as the change log keeps it and as
// it is published on $DB/{entity}/events/{id}.
#pragma once

#include <cstdint>
#include <string>

namespace topicdb::db {

struct ChangeEvent {
  uint64_t sequence = 0;  // the node's durable commit sequence (db_changes.seq)
  std::string entity;
  std::string id;
  std::string operation;  // "Create", "Update" or "Delete" (MQDB's spelling)
  std::string data_json;  // the record after the change; for a delete its last state
  std::string client_id;  // who made the change ("" for TTL expiry)

  // MQDB's event payload:
  // {"sequence":N,"entity":"...","id":"...","operation":"...","data":{...},"client_id":"..."}
  std::string to_json() const;
  // "$DB/{entity}/events/{id}" without the "$DB/" prefix: "{entity}/events/{id}".
  std::string topic_path() const { return entity + "/events/" + id; }
};

// Receives events on the loop thread, in sequence order, each once its change is durable.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_change(const ChangeEvent& event) = 0;
};

}  // namespace topicdb::db

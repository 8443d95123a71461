// Request: one $DB operation, parsed from its topic path (the part after "$DB/") and its
// JSON payload. No MQTT here: the adapter fills client_id and strips the prefix.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "db/answer.h"
#include "db/ownership.h"

namespace topicdb::db {

enum class Operation {
  kCreate,            // {entity}/create
  kRead,              // {entity}/{id}
  kUpdate,            // {entity}/{id}/update
  kDelete,            // {entity}/{id}/delete
  kList,              // {entity}/list
  kSchemaSet,         // _admin/schema/{entity}/set
  kSchemaGet,         // _admin/schema/{entity}/get
  kIndexAdd,          // _admin/index/{entity}/add
  kIndexList,         // _admin/index/{entity}/list
  kReplay,            // _events/replay
  kConstraintAdd,     // _admin/constraint/{entity}/add
  kConstraintList,    // _admin/constraint/{entity}/list
  kConstraintRemove,  // _admin/constraint/{entity}/remove
  kVerify,            // _admin/verify
};

// True for the operations that change data or metadata (they go to the store thread).
bool is_write(Operation op);
// A "$DB/_admin/..." operation: schemas, indexes, constraints, verify (--admin-user).
bool is_admin_operation(Operation op);
// "create", "read", ... as in the normalized topic $DB/{entity}/{operation} that
// authorization matches (schema/index operations: "schema_set", ...).
std::string_view operation_name(Operation op);

struct Request {
  Operation op = Operation::kRead;
  std::string entity;  // empty for kReplay (its entity is in the body) and kVerify
  std::string id;      // kRead, kUpdate, kDelete
  // The payload as parsed: always a JSON object, "_request_id" already taken out.
  Json body = Json::object();
  std::optional<std::string> request_id;  // "_request_id", echoed in the answer
  std::string client_id;                  // who asked; goes into change events
  // Whose records the request may see and change (--ownership); null: every record (an
  // admin, or no owned entities).
  std::shared_ptr<const OwnerScope> owner;
};

}  // namespace topicdb::db

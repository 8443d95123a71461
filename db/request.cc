#include "db/request.h"

namespace topicdb::db {

bool is_write(Operation op) {
  switch (op) {
    case Operation::kCreate:
    case Operation::kUpdate:
    case Operation::kDelete:
    case Operation::kSchemaSet:
    case Operation::kIndexAdd:
    case Operation::kConstraintAdd:
    case Operation::kConstraintRemove:
      return true;
    case Operation::kRead:
    case Operation::kList:
    case Operation::kSchemaGet:
    case Operation::kIndexList:
    case Operation::kReplay:
    case Operation::kConstraintList:
    case Operation::kVerify:
      return false;
  }
  return false;
}

bool is_admin_operation(Operation op) {
  switch (op) {
    case Operation::kSchemaSet:
    case Operation::kSchemaGet:
    case Operation::kIndexAdd:
    case Operation::kIndexList:
    case Operation::kConstraintAdd:
    case Operation::kConstraintList:
    case Operation::kConstraintRemove:
    case Operation::kVerify:
      return true;
    case Operation::kCreate:
    case Operation::kRead:
    case Operation::kUpdate:
    case Operation::kDelete:
    case Operation::kList:
    case Operation::kReplay:
      return false;
  }
  return false;
}

std::string_view operation_name(Operation op) {
  switch (op) {
    case Operation::kCreate:
      return "create";
    case Operation::kRead:
      return "read";
    case Operation::kUpdate:
      return "update";
    case Operation::kDelete:
      return "delete";
    case Operation::kList:
      return "list";
    case Operation::kSchemaSet:
      return "schema_set";
    case Operation::kSchemaGet:
      return "schema_get";
    case Operation::kIndexAdd:
      return "index_add";
    case Operation::kIndexList:
      return "index_list";
    case Operation::kReplay:
      return "replay";
    case Operation::kConstraintAdd:
      return "constraint_add";
    case Operation::kConstraintList:
      return "constraint_list";
    case Operation::kConstraintRemove:
      return "constraint_remove";
    case Operation::kVerify:
      return "verify";
  }
  return "unknown";
}

}  // namespace topicdb::db

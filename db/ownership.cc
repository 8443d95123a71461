#include "db/ownership.h"

#include <fmt/format.h>

#include "db/names.h"
#include "db/statement_cache.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

constexpr std::string_view kOwnerSql =
    "SELECT json_extract(body, ?3) FROM db_records WHERE entity=?1 AND id=?2";

bool valid_field(std::string_view field) {
  if (field.empty() || field.size() > 128 || field[0] == '_' || field == "id") return false;
  for (char c : field) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status parse_ownership(std::string_view text, OwnershipFields* into) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::invalid_argument(
        fmt::format("--ownership expects ENTITY:FIELD, got '{}'", text));
  }
  std::string_view entity = text.substr(0, colon);
  std::string_view field = text.substr(colon + 1);
  if (Status valid = check_entity_name(entity); !valid) {
    return Status::invalid_argument(fmt::format("--ownership '{}': {}", text, valid.message()));
  }
  if (!valid_field(field)) {
    return Status::invalid_argument(fmt::format(
        "--ownership '{}': the field must be a top-level name of letters, digits and '_', not "
        "starting with '_' and not 'id'",
        text));
  }
  auto [it, inserted] = into->emplace(std::string(entity), std::string(field));
  if (!inserted && it->second != field) {
    return Status::invalid_argument(
        fmt::format("--ownership: entity '{}' is given two owner fields", entity));
  }
  return Status::ok();
}

const std::string* OwnerScope::field_of(std::string_view entity) const {
  auto it = fields.find(entity);
  return it == fields.end() ? nullptr : &it->second;
}

bool OwnerScope::may_see(std::string_view entity, const Json& record) const {
  const std::string* field = field_of(entity);
  if (field == nullptr) return true;
  if (user.empty() || !record.is_object()) return false;
  auto it = record.find(*field);
  return it != record.end() && it->is_string() && it->get_ref<const std::string&>() == user;
}

bool apply_owner_to_create(const OwnerScope& scope, std::string_view entity, Json* body,
                           Answer* error) {
  const std::string* field = scope.field_of(entity);
  if (field == nullptr || !body->is_object()) return true;
  auto it = body->find(*field);
  if (it == body->end()) {
    (*body)[*field] = scope.user;
    return true;
  }
  if (it->is_string() && it->get_ref<const std::string&>() == scope.user) return true;
  *error = Answer::error(403, fmt::format("records of '{}' belong to the user in '{}': you may "
                                          "create only your own ('{}')",
                                          entity, *field, scope.user));
  return false;
}

bool check_owner_in_patch(const OwnerScope& scope, std::string_view entity, const Json& patch,
                          Answer* error) {
  const std::string* field = scope.field_of(entity);
  if (field == nullptr || !patch.is_object()) return true;
  auto it = patch.find(*field);
  if (it == patch.end()) return true;
  if (it->is_string() && it->get_ref<const std::string&>() == scope.user) return true;
  *error = Answer::error(
      403, fmt::format("'{}' names the owner of a '{}' record: it cannot be given away", *field,
                       entity));
  return false;
}

Status check_stored_owner(sqlite3* db, const OwnerScope& scope, const std::string& entity,
                          const std::string& id, bool* allowed) {
  *allowed = true;
  const std::string* field = scope.field_of(entity);
  if (field == nullptr) return Status::ok();
  Statement stmt = Statement::prepare(db, kOwnerSql);
  if (!stmt)
    return Status::unavailable(fmt::format("database: owner check: {}", sqlite3_errmsg(db)));
  const std::string path = "$." + *field;
  storage::sqlite::bind_text(stmt.get(), 1, entity);
  storage::sqlite::bind_text(stmt.get(), 2, id);
  storage::sqlite::bind_text(stmt.get(), 3, path);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return Status::ok();  // absent: the write's own 404
  if (rc != SQLITE_ROW) {
    return Status::unavailable(fmt::format("database: owner check: {}", sqlite3_errmsg(db)));
  }
  *allowed = sqlite3_column_type(stmt.get(), 0) == SQLITE_TEXT &&
             storage::sqlite::column_bytes(stmt.get(), 0) == scope.user;
  return Status::ok();
}

}  // namespace topicdb::db

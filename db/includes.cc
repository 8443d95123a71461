#include "db/includes.h"

#include <fmt/format.h>

#include <map>
#include <unordered_map>
#include <utility>

#include "db/names.h"
#include "db/statement_cache.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

constexpr std::string_view kForeignKeysSql =
    "SELECT definition FROM db_metadata WHERE kind='constraint' AND entity=?1 "
    "AND json_extract(definition,'$.type')='foreign_key' AND json_extract(definition,'$.field')=?2";
constexpr std::string_view kSchemaSql =
    "SELECT definition FROM db_metadata WHERE kind='schema' AND entity=?1 AND name=''";
// json_each keeps the statement text fixed whatever the number of ids (one cached statement).
constexpr std::string_view kTargetsSql =
    "SELECT id, body FROM db_records WHERE entity=?1 AND id IN (SELECT value FROM json_each(?2))"
    " AND (expires_at_ms IS NULL OR expires_at_ms>?3)";

Status sqlite_error(sqlite3* db, std::string_view what) {
  return Status::unavailable(fmt::format("database: {}: {}", what, sqlite3_errmsg(db)));
}

IncludeNode* child_named(std::vector<IncludeNode>& nodes, std::string_view name) {
  for (IncludeNode& node : nodes) {
    if (node.name == name) return &node;
  }
  nodes.push_back({std::string(name), {}});
  return &nodes.back();
}

// The entity an include of `entity` points to: a foreign key on the id field, else the
// schema's "references", else its name.
Result<std::string> target_entity(sqlite3* db, std::string_view entity,
                                  std::string_view include_name) {
  std::string id_field = include_id_field(include_name);
  {
    Statement fk = Statement::prepare(db, kForeignKeysSql);
    if (!fk) return sqlite_error(db, "foreign key lookup");
    sqlite3_bind_text(fk.get(), 1, entity.data(), static_cast<int>(entity.size()), SQLITE_STATIC);
    sqlite3_bind_text(fk.get(), 2, id_field.data(), static_cast<int>(id_field.size()),
                      SQLITE_STATIC);
    int rc = sqlite3_step(fk.get());
    if (rc == SQLITE_ROW) {
      Json definition = Json::parse(storage::sqlite::column_bytes(fk.get(), 0), nullptr, false);
      if (definition.is_object() && definition.value("target_entity", Json()).is_string()) {
        return definition["target_entity"].get<std::string>();
      }
    } else if (rc != SQLITE_DONE) {
      return sqlite_error(db, "foreign key lookup");
    }
  }
  Statement stmt = Statement::prepare(db, kSchemaSql);
  if (!stmt) return sqlite_error(db, "schema lookup");
  sqlite3_bind_text(stmt.get(), 1, entity.data(), static_cast<int>(entity.size()), SQLITE_STATIC);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_ROW) {
    Json schema = Json::parse(storage::sqlite::column_bytes(stmt.get(), 0), nullptr, false);
    if (schema.is_object()) {
      auto field = schema.find(id_field);
      if (field != schema.end() && field->is_object()) {
        auto references = field->find("references");
        if (references != field->end() && references->is_string()) {
          return references->get<std::string>();
        }
      }
    }
  } else if (rc != SQLITE_DONE) {
    return sqlite_error(db, "schema lookup");
  }
  return std::string(include_name);
}

}  // namespace

std::string include_id_field(std::string_view name) { return std::string(name) + "_id"; }

std::vector<std::string> include_names(const std::vector<IncludeNode>& includes) {
  std::vector<std::string> names;
  for (const IncludeNode& node : includes) names.push_back(node.name);
  return names;
}

Result<std::vector<IncludeNode>> parse_includes(const Json& value, std::string_view option) {
  if (!value.is_array()) {
    return Status::invalid_argument(fmt::format("{} must be an array of names", option));
  }
  if (value.size() > kMaxIncludes) {
    return Status::invalid_argument(
        fmt::format("too many {}: {} (at most {})", option, value.size(), kMaxIncludes));
  }
  std::vector<IncludeNode> roots;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return Status::invalid_argument(fmt::format("{}[{}] must be a string", option, i));
    }
    const std::string& path = value[i].get_ref<const std::string&>();
    Status status = check_field_path(path);
    if (!status.is_ok()) {
      return Status::invalid_argument(fmt::format("{}[{}]: {}", option, i, status.message()));
    }
    std::vector<std::string_view> segments;
    for (size_t start = 0;;) {
      size_t dot = path.find('.', start);
      segments.push_back(std::string_view(path).substr(
          start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (segments.size() > kMaxIncludeDepth) {
      return Status::invalid_argument(fmt::format("{}[{}]: '{}' nests deeper than {} levels",
                                                  option, i, path, kMaxIncludeDepth));
    }
    std::vector<IncludeNode>* level = &roots;
    for (std::string_view segment : segments) {
      // "author_id" asks for the same as "author" (MQDB accepts both spellings); the record
      // goes under "author", so the id field stays as it was.
      if (segment.size() > 3 && segment.ends_with("_id")) segment.remove_suffix(3);
      level = &child_named(*level, segment)->children;
    }
  }
  return roots;
}

Status load_includes(sqlite3* db, std::string_view entity, const std::vector<IncludeNode>& includes,
                     const std::vector<Json*>& records, int64_t now_ms, const OwnerScope* owner) {
  if (records.empty()) return Status::ok();
  for (const IncludeNode& include : includes) {
    Result<std::string> target = target_entity(db, entity, include.name);
    if (!target.is_ok()) return target.status();
    if (!check_entity_name(*target).is_ok()) continue;  // no such entity can exist
    std::string id_field = include_id_field(include.name);

    // The distinct ids the records point to, fetched in one query.
    Json ids = Json::array();
    std::map<std::string, Json> found;  // id -> target record
    for (Json* record : records) {
      auto it = record->find(id_field);
      if (it == record->end() || !it->is_string()) continue;
      if (found.emplace(it->get<std::string>(), Json()).second) ids.push_back(*it);
    }
    if (ids.empty()) continue;
    {
      Statement stmt = Statement::prepare(db, kTargetsSql);
      if (!stmt) return sqlite_error(db, "include lookup");
      std::string ids_text = ids.dump();
      sqlite3_bind_text(stmt.get(), 1, target->data(), static_cast<int>(target->size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(stmt.get(), 2, ids_text.data(), static_cast<int>(ids_text.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(stmt.get(), 3, now_ms);
      int rc;
      while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        Json body = Json::parse(storage::sqlite::column_bytes(stmt.get(), 1), nullptr, false);
        if (body.is_discarded()) continue;
        if (owner != nullptr && !owner->may_see(*target, body)) continue;  // not the user's
        found[storage::sqlite::column_bytes(stmt.get(), 0)] = std::move(body);
      }
      if (rc != SQLITE_DONE) return sqlite_error(db, "include lookup");
    }
    if (!include.children.empty()) {
      std::vector<Json*> targets;
      for (auto& [id, body] : found) {
        if (body.is_object()) targets.push_back(&body);
      }
      TDB_RETURN_IF_ERROR(load_includes(db, *target, include.children, targets, now_ms, owner));
    }
    for (Json* record : records) {
      auto it = record->find(id_field);
      if (it == record->end() || !it->is_string()) continue;
      auto target_record = found.find(it->get_ref<const std::string&>());
      if (target_record != found.end() && target_record->second.is_object()) {
        (*record)[include.name] = target_record->second;
      }
    }
  }
  return Status::ok();
}

}  // namespace topicdb::db

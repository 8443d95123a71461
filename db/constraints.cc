#include "db/constraints.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <set>

#include "db/json_text.h"
#include "db/names.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

constexpr size_t kMaxUniqueFields = 8;

Status check_constraint_name(const Json& name) {
  if (!name.is_string()) return Status::invalid_argument("constraint needs \"name\": a string");
  const std::string& text = name.get_ref<const std::string&>();
  if (text.empty() || text.size() > 128) {
    return Status::invalid_argument("constraint name must be 1 to 128 characters");
  }
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) {
      return Status::invalid_argument(
          fmt::format("constraint name '{}' may contain only A-Z, a-z, 0-9, '_' and '-'", text));
    }
  }
  return Status::ok();
}

Result<std::string> parse_field(const Json& value, std::string_view name, std::string_view key) {
  if (!value.is_string()) {
    return Status::invalid_argument(
        fmt::format("constraint '{}': \"{}\" must be a field name (a string)", name, key));
  }
  const std::string& path = value.get_ref<const std::string&>();
  Status valid = check_field_path(path);
  if (!valid) {
    return Status::invalid_argument(fmt::format("constraint '{}': {}", name, valid.message()));
  }
  if (path == "id" || path[0] == '_') {
    return Status::invalid_argument(fmt::format(
        "constraint '{}': field '{}' is the server's (id and '_' fields cannot be constrained)",
        name, path));
  }
  return path;
}

// Numbers by value: an integral double within int64 is written as that integer, so 1.0 and 1
// agree; other doubles with 17 significant digits (round-trip exact).
std::string canonical_number(const Json& value) {
  if (value.is_number_integer()) return value.dump();
  double d = value.get<double>();
  if (std::isfinite(d) && std::trunc(d) == d && d >= -9.2233720368547758e18 &&
      d < 9.2233720368547758e18) {
    return std::to_string(static_cast<int64_t>(d));
  }
  if (std::isfinite(d) && std::trunc(d) == d && d >= 0 && d < 1.8446744073709552e19) {
    return std::to_string(static_cast<uint64_t>(d));
  }
  return fmt::format("{:.17g}", d);
}

void append_canonical(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      *out += canonical_number(value);
      return;
    case Json::value_t::array: {
      *out += '[';
      bool first = true;
      for (const Json& item : value) {
        if (!first) *out += ',';
        first = false;
        append_canonical(item, out);
      }
      *out += ']';
      return;
    }
    case Json::value_t::object: {
      // nlohmann's object is a std::map: keys already sorted.
      *out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) *out += ',';
        first = false;
        *out += dump_json(Json(key));
        *out += ':';
        append_canonical(item, out);
      }
      *out += '}';
      return;
    }
    default:
      *out += dump_json(value);
  }
}

}  // namespace

std::string_view constraint_kind_name(ConstraintKind kind) {
  switch (kind) {
    case ConstraintKind::kUnique:
      return "unique";
    case ConstraintKind::kNotNull:
      return "not_null";
    case ConstraintKind::kForeignKey:
      return "foreign_key";
  }
  return "unique";
}

std::string_view on_delete_name(OnDelete policy) {
  switch (policy) {
    case OnDelete::kRestrict:
      return "restrict";
    case OnDelete::kCascade:
      return "cascade";
    case OnDelete::kSetNull:
      return "set_null";
  }
  return "restrict";
}

Json Constraint::to_json() const {
  Json out = {{"type", constraint_kind_name(kind)}, {"name", name}};
  switch (kind) {
    case ConstraintKind::kUnique:
      out["fields"] = fields;
      break;
    case ConstraintKind::kNotNull:
      out["field"] = field();
      break;
    case ConstraintKind::kForeignKey:
      out["field"] = field();
      out["target_entity"] = target_entity;
      out["target_field"] = "id";
      out["on_delete"] = on_delete_name(on_delete);
      break;
  }
  return out;
}

Result<Constraint> parse_constraint(const std::string& entity, const Json& body) {
  if (!body.is_object()) return Status::invalid_argument("a constraint must be a JSON object");
  auto type = body.find("type");
  if (type == body.end() || !type->is_string()) {
    return Status::invalid_argument(
        "constraint needs \"type\": one of unique, not_null, foreign_key");
  }
  Constraint c;
  c.entity = entity;
  const std::string& type_name = type->get_ref<const std::string&>();
  std::set<std::string> allowed = {"type", "name"};
  if (type_name == "unique") {
    c.kind = ConstraintKind::kUnique;
    allowed.insert({"fields", "field"});
  } else if (type_name == "not_null") {
    c.kind = ConstraintKind::kNotNull;
    allowed.insert("field");
  } else if (type_name == "foreign_key") {
    c.kind = ConstraintKind::kForeignKey;
    allowed.insert({"field", "target_entity", "target_field", "on_delete"});
  } else {
    return Status::invalid_argument(
        fmt::format("unknown constraint type '{}' (unique, not_null, foreign_key)", type_name));
  }
  auto name = body.find("name");
  if (name == body.end()) return Status::invalid_argument("constraint needs \"name\": a string");
  TDB_RETURN_IF_ERROR(check_constraint_name(*name));
  c.name = name->get<std::string>();
  for (const auto& [key, value] : body.items()) {
    if (!allowed.contains(key)) {
      return Status::invalid_argument(
          fmt::format("constraint '{}': unknown key \"{}\" for type {}", c.name, key, type_name));
    }
  }

  auto fields = body.find("fields");
  auto field = body.find("field");
  if (c.kind == ConstraintKind::kUnique) {
    if ((fields == body.end()) == (field == body.end())) {
      return Status::invalid_argument(
          fmt::format("constraint '{}': unique needs \"fields\": an array of 1 to {} field names",
                      c.name, kMaxUniqueFields));
    }
    if (field != body.end()) {
      Result<std::string> one = parse_field(*field, c.name, "field");
      if (!one.is_ok()) return one.status();
      c.fields.push_back(std::move(one).value());
    } else {
      if (!fields->is_array() || fields->empty() || fields->size() > kMaxUniqueFields) {
        return Status::invalid_argument(
            fmt::format("constraint '{}': \"fields\" must be an array of 1 to {} field names",
                        c.name, kMaxUniqueFields));
      }
      std::set<std::string> seen;
      for (const Json& f : *fields) {
        Result<std::string> one = parse_field(f, c.name, "fields");
        if (!one.is_ok()) return one.status();
        if (!seen.insert(*one).second) {
          return Status::invalid_argument(
              fmt::format("constraint '{}': field '{}' is named twice", c.name, *one));
        }
        c.fields.push_back(std::move(one).value());
      }
    }
    return c;
  }

  if (field == body.end()) {
    return Status::invalid_argument(
        fmt::format("constraint '{}': {} needs \"field\": a field name", c.name, type_name));
  }
  Result<std::string> one = parse_field(*field, c.name, "field");
  if (!one.is_ok()) return one.status();
  c.fields.push_back(std::move(one).value());
  if (c.kind == ConstraintKind::kNotNull) return c;

  auto target = body.find("target_entity");
  if (target == body.end() || !target->is_string()) {
    return Status::invalid_argument(fmt::format(
        "constraint '{}': foreign_key needs \"target_entity\": an entity name", c.name));
  }
  Status valid_target = check_entity_name(target->get_ref<const std::string&>());
  if (!valid_target) {
    return Status::invalid_argument(
        fmt::format("constraint '{}': target_entity: {}", c.name, valid_target.message()));
  }
  c.target_entity = target->get<std::string>();
  auto target_field = body.find("target_field");
  if (target_field != body.end() && (!target_field->is_string() || *target_field != "id")) {
    return Status::invalid_argument(fmt::format(
        "constraint '{}': target_field must be \"id\" (a foreign key references the target's id)",
        c.name));
  }
  auto on_delete = body.find("on_delete");
  if (on_delete != body.end()) {
    std::string policy = on_delete->is_string() ? on_delete->get<std::string>() : on_delete->dump();
    if (policy == "restrict") {
      c.on_delete = OnDelete::kRestrict;
    } else if (policy == "cascade") {
      c.on_delete = OnDelete::kCascade;
    } else if (policy == "set_null") {
      c.on_delete = OnDelete::kSetNull;
    } else {
      return Status::invalid_argument(
          fmt::format("constraint '{}': on_delete '{}' is not one of restrict, cascade, set_null",
                      c.name, policy));
    }
  }
  return c;
}

const Json* field_value(const Json& record, std::string_view path) {
  const Json* at = &record;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view segment =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!at->is_object()) return nullptr;
    auto it = at->find(segment);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string_view::npos) return at;
    start = dot + 1;
  }
}

bool is_null_field(const Json& record, std::string_view path) {
  const Json* value = field_value(record, path);
  return value == nullptr || value->is_null();
}

std::string canonical_json(const Json& value) {
  std::string out;
  append_canonical(value, &out);
  return out;
}

std::optional<std::string> unique_key(const std::vector<std::string>& fields, const Json& record) {
  std::string key = "[";
  for (size_t i = 0; i < fields.size(); ++i) {
    const Json* value = field_value(record, fields[i]);
    if (value == nullptr || value->is_null()) return std::nullopt;
    if (i > 0) key += ',';
    append_canonical(*value, &key);
  }
  key += ']';
  return key;
}

void ConstraintSet::add(Constraint constraint) {
  by_entity_[constraint.entity].push_back(std::move(constraint));
}

bool ConstraintSet::remove(const std::string& entity, const std::string& name) {
  auto it = by_entity_.find(entity);
  if (it == by_entity_.end()) return false;
  auto& list = it->second;
  for (auto c = list.begin(); c != list.end(); ++c) {
    if (c->name == name) {
      list.erase(c);
      if (list.empty()) by_entity_.erase(it);
      return true;
    }
  }
  return false;
}

const Constraint* ConstraintSet::find(const std::string& entity, const std::string& name) const {
  for (const Constraint& c : of(entity)) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const std::vector<Constraint>& ConstraintSet::of(const std::string& entity) const {
  static const std::vector<Constraint> kNone;
  auto it = by_entity_.find(entity);
  return it == by_entity_.end() ? kNone : it->second;
}

std::vector<const Constraint*> ConstraintSet::referencing(const std::string& entity) const {
  std::vector<const Constraint*> out;
  for (const auto& [owner, list] : by_entity_) {
    for (const Constraint& c : list) {
      if (c.kind == ConstraintKind::kForeignKey && c.target_entity == entity) out.push_back(&c);
    }
  }
  return out;
}

std::vector<const Constraint*> ConstraintSet::all() const {
  std::vector<const Constraint*> out;
  for (const auto& [owner, list] : by_entity_) {
    for (const Constraint& c : list) out.push_back(&c);
  }
  return out;
}

Status load_constraints(sqlite3* db, ConstraintSet* set) {
  set->clear();
  auto stmt = storage::sqlite::prepare(
      db, "SELECT entity, definition FROM db_metadata WHERE kind='constraint' ORDER BY revision");
  if (!stmt.is_ok()) return stmt.status();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    std::string entity = storage::sqlite::column_bytes(stmt->get(), 0);
    Json definition = Json::parse(storage::sqlite::column_bytes(stmt->get(), 1), nullptr, false);
    Result<Constraint> c = parse_constraint(entity, definition);
    if (!c.is_ok()) {
      return Status::corruption(
          fmt::format("database: stored constraint of '{}': {}", entity, c.status().message()));
    }
    set->add(std::move(c).value());
  }
  if (rc != SQLITE_DONE) return storage::sqlite::sqlite_status(db, "load constraints");
  return Status::ok();
}

}  // namespace topicdb::db

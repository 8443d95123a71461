// EntitySchema: the schema of one entity ({"field":{"type":...,"required":...,"default":...,
// "references":"entity"}}), parsed once and used to validate creates and updates and to fill
// defaults. Fields the schema does not name are free (a schema constrains, it does not close).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/status.h"
#include "db/answer.h"

namespace topicdb::db {

enum class FieldType { kAny, kString, kNumber, kInteger, kBoolean, kObject, kArray };

struct FieldRule {
  FieldType type = FieldType::kAny;
  bool required = false;
  std::optional<Json> default_value;
  std::string references;  // target entity of an "author_id"-style field, or empty
};

class EntitySchema {
 public:
  // Parses a definition; invalid_argument naming the field and the problem for an unknown
  // type or option, a default of the wrong type, or "references" on a non-string field.
  static Result<EntitySchema> parse(const Json& definition);

  // Fills missing fields (absent, not null) that have a default. For creates.
  void apply_defaults(Json& record) const;
  // invalid_argument naming the first offending field: a required field missing or null, or
  // a value of the wrong type. null passes the type check of an optional field (setting a
  // field to null nulls it). "integer" means a JSON integer (5, not 5.0); "number" any number.
  Status validate(const Json& record) const;

  const std::map<std::string, FieldRule>& fields() const { return fields_; }

 private:
  std::map<std::string, FieldRule> fields_;
};

std::string_view field_type_name(FieldType type);

}  // namespace topicdb::db

#include "db/entity_schema.h"

#include "db/names.h"

namespace topicdb::db {

namespace {

std::optional<FieldType> parse_type(const std::string& name) {
  if (name == "string") return FieldType::kString;
  if (name == "number") return FieldType::kNumber;
  if (name == "integer") return FieldType::kInteger;
  if (name == "boolean") return FieldType::kBoolean;
  if (name == "object") return FieldType::kObject;
  if (name == "array") return FieldType::kArray;
  return std::nullopt;
}

bool has_type(const Json& value, FieldType type) {
  switch (type) {
    case FieldType::kAny:
      return true;
    case FieldType::kString:
      return value.is_string();
    case FieldType::kNumber:
      return value.is_number();
    case FieldType::kInteger:
      return value.is_number_integer();
    case FieldType::kBoolean:
      return value.is_boolean();
    case FieldType::kObject:
      return value.is_object();
    case FieldType::kArray:
      return value.is_array();
  }
  return false;
}

}  // namespace

std::string_view field_type_name(FieldType type) {
  switch (type) {
    case FieldType::kAny:
      return "any";
    case FieldType::kString:
      return "string";
    case FieldType::kNumber:
      return "number";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kObject:
      return "object";
    case FieldType::kArray:
      return "array";
  }
  return "any";
}

Result<EntitySchema> EntitySchema::parse(const Json& definition) {
  if (!definition.is_object()) {
    return Status::invalid_argument("schema must be a JSON object of field definitions");
  }
  EntitySchema schema;
  for (const auto& [name, spec] : definition.items()) {
    if (name.empty() || name[0] == '_' || name == "id") {
      return Status::invalid_argument("schema field '" + name +
                                      "' is the server's (id and fields starting with '_')");
    }
    if (!spec.is_object()) {
      return Status::invalid_argument("schema field '" + name + "' must be an object");
    }
    FieldRule rule;
    for (const auto& [key, value] : spec.items()) {
      if (key == "type") {
        std::optional<FieldType> type;
        if (value.is_string()) type = parse_type(value.get<std::string>());
        if (!type) {
          return Status::invalid_argument(
              "schema field '" + name +
              "': type must be one of string, number, integer, boolean, object, array");
        }
        rule.type = *type;
      } else if (key == "required") {
        if (!value.is_boolean()) {
          return Status::invalid_argument("schema field '" + name + "': required must be boolean");
        }
        rule.required = value.get<bool>();
      } else if (key == "default") {
        rule.default_value = value;
      } else if (key == "references") {
        if (!value.is_string() || !check_entity_name(value.get_ref<const std::string&>())) {
          return Status::invalid_argument("schema field '" + name +
                                          "': references must be an entity name");
        }
        rule.references = value.get<std::string>();
      } else {
        return Status::invalid_argument("schema field '" + name + "': unknown option '" + key +
                                        "'");
      }
    }
    if (rule.default_value && !rule.default_value->is_null() &&
        !has_type(*rule.default_value, rule.type)) {
      return Status::invalid_argument("schema field '" + name + "': default is not of type " +
                                      std::string(field_type_name(rule.type)));
    }
    if (!rule.references.empty() && rule.type != FieldType::kString &&
        rule.type != FieldType::kAny) {
      return Status::invalid_argument("schema field '" + name +
                                      "': references needs a string field");
    }
    schema.fields_.emplace(name, std::move(rule));
  }
  return schema;
}

void EntitySchema::apply_defaults(Json& record) const {
  for (const auto& [name, rule] : fields_) {
    if (rule.default_value && !record.contains(name)) record[name] = *rule.default_value;
  }
}

Status EntitySchema::validate(const Json& record) const {
  for (const auto& [name, rule] : fields_) {
    auto it = record.find(name);
    if (it == record.end() || it->is_null()) {
      if (rule.required) {
        return Status::invalid_argument("field '" + name + "' is required");
      }
      continue;
    }
    if (!has_type(*it, rule.type)) {
      return Status::invalid_argument("field '" + name + "' must be of type " +
                                      std::string(field_type_name(rule.type)));
    }
  }
  return Status::ok();
}

}  // namespace topicdb::db

#include "db/projection.h"

#include <fmt/format.h>

#include "db/names.h"

namespace topicdb::db {

namespace {

// Copies record[path] into out[path], creating the objects on the way; nothing when the
// path does not exist in `record` (or crosses a non-object).
void copy_path(const Json& record, std::string_view path, Json& out) {
  const Json* from = &record;
  Json* to = &out;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key(path.substr(start, dot == std::string_view::npos ? path.npos : dot - start));
    auto it = from->find(key);
    if (it == from->end()) return;
    if (dot == std::string_view::npos) {
      (*to)[key] = *it;
      return;
    }
    if (!it->is_object()) return;
    Json& next = (*to)[key];
    // An earlier path may have kept the whole value already: it holds this one too.
    if (!next.is_null() && !next.is_object()) return;
    if (next.is_null()) next = Json::object();
    from = &*it;
    to = &next;
    start = dot + 1;
  }
}

}  // namespace

Result<Projection> parse_projection(const Json& value, std::string_view option) {
  if (!value.is_array()) {
    return Status::invalid_argument(fmt::format("{} must be an array of field names", option));
  }
  Projection projection;
  for (size_t i = 0; i < value.size(); ++i) {
    const Json& field = value[i];
    if (!field.is_string()) {
      return Status::invalid_argument(fmt::format("{}[{}] must be a string", option, i));
    }
    const std::string& path = field.get_ref<const std::string&>();
    Status status = check_field_path(path);
    if (!status.is_ok()) {
      return Status::invalid_argument(fmt::format("{}[{}]: {}", option, i, status.message()));
    }
    projection.paths.push_back(path);
  }
  return projection;
}

Json project(const Json& record, const Projection& projection,
             const std::vector<std::string>& keep) {
  if (!record.is_object()) return record;
  Json out = Json::object();
  if (auto id = record.find("id"); id != record.end()) out["id"] = *id;
  for (const std::string& path : projection.paths) copy_path(record, path, out);
  for (const std::string& key : keep) {
    if (auto it = record.find(key); it != record.end()) out[key] = *it;
  }
  return out;
}

}  // namespace topicdb::db

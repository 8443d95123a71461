#include "db/request_parser.h"

#include <array>

#include "db/names.h"

namespace topicdb::db {

namespace {

// The levels of a topic path, without allocating (this runs for every $DB publish): the
// first kKept are kept, size() counts them all. No operation topic has more than four.
class TopicLevels {
 public:
  static constexpr size_t kKept = 5;
  explicit TopicLevels(std::string_view path) {
    size_t start = 0;
    while (true) {
      size_t slash = path.find('/', start);
      std::string_view level = path.substr(
          start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
      if (count_ < kKept) kept_[count_] = level;
      ++count_;
      if (slash == std::string_view::npos) return;
      start = slash + 1;
    }
  }
  size_t size() const { return count_; }
  // Only for i < min(size(), kKept).
  std::string_view operator[](size_t i) const { return kept_[i]; }

 private:
  std::array<std::string_view, kKept> kept_;
  size_t count_ = 0;
};

Answer unknown_operation(std::string_view path) {
  return Answer::bad_request(
      "unknown operation topic '$DB/" + std::string(path) +
      "': expected {entity}/create, {entity}/list, {entity}/{id}, {entity}/{id}/update, "
      "{entity}/{id}/delete, _admin/schema/{entity}/set|get, _admin/index/{entity}/add|list "
      "or _events/replay");
}

// Fills op, entity and id from the topic path, or returns the error answer.
std::optional<Answer> parse_path(std::string_view path, Request* request) {
  const TopicLevels levels(path);
  if (levels[0] == "_admin") {
    if (levels.size() == 2 && levels[1] == "verify") {
      request->op = Operation::kVerify;
      return std::nullopt;
    }
    if (levels.size() != 4) return unknown_operation(path);
    const std::string_view kind = levels[1];
    const std::string_view verb = levels[3];
    if (kind == "schema" && verb == "set") {
      request->op = Operation::kSchemaSet;
    } else if (kind == "schema" && verb == "get") {
      request->op = Operation::kSchemaGet;
    } else if (kind == "index" && verb == "add") {
      request->op = Operation::kIndexAdd;
    } else if (kind == "index" && verb == "list") {
      request->op = Operation::kIndexList;
    } else if (kind == "constraint" && verb == "add") {
      request->op = Operation::kConstraintAdd;
    } else if (kind == "constraint" && verb == "list") {
      request->op = Operation::kConstraintList;
    } else if (kind == "constraint" && verb == "remove") {
      request->op = Operation::kConstraintRemove;
    } else {
      return unknown_operation(path);
    }
    if (Status s = check_entity_name(levels[2]); !s.is_ok()) {
      return Answer::bad_request(s.message());
    }
    request->entity = levels[2];
    return std::nullopt;
  }
  if (levels[0] == "_events") {
    if (levels.size() != 2 || levels[1] != "replay") return unknown_operation(path);
    request->op = Operation::kReplay;
    return std::nullopt;
  }
  if (levels.size() < 2 || levels.size() > 3) return unknown_operation(path);
  if (Status s = check_entity_name(levels[0]); !s.is_ok()) return Answer::bad_request(s.message());
  request->entity = levels[0];
  if (levels.size() == 2) {
    if (levels[1] == "create") {
      request->op = Operation::kCreate;
      return std::nullopt;
    }
    if (levels[1] == "list") {
      request->op = Operation::kList;
      return std::nullopt;
    }
    request->op = Operation::kRead;
  } else if (levels[2] == "update") {
    request->op = Operation::kUpdate;
  } else if (levels[2] == "delete") {
    request->op = Operation::kDelete;
  } else {
    return unknown_operation(path);
  }
  if (Status s = check_record_id(levels[1]); !s.is_ok()) return Answer::bad_request(s.message());
  request->id = levels[1];
  return std::nullopt;
}

// Deepest nesting of arrays and objects, counted on the raw text (strings skipped) so a
// hostile payload is refused before the recursive parts of the JSON library see it.
int nesting_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// Checks of the body that the topic alone decides: a client-chosen id on a create, the
// entity of a replay.
std::optional<Answer> check_body(const Request& request) {
  const Json& body = request.body;
  if (request.op == Operation::kCreate) {
    auto id = body.find("id");
    if (id != body.end()) {
      if (!id->is_string()) return Answer::bad_request("\"id\" must be a string");
      if (Status s = check_record_id(id->get_ref<const std::string&>()); !s.is_ok()) {
        return Answer::bad_request(s.message());
      }
    }
  } else if (request.op == Operation::kReplay) {
    auto entity = body.find("entity");
    if (entity == body.end() || !entity->is_string()) {
      return Answer::bad_request("replay needs \"entity\": the entity name as a string");
    }
    if (Status s = check_entity_name(entity->get_ref<const std::string&>()); !s.is_ok()) {
      return Answer::bad_request(s.message());
    }
  }
  return std::nullopt;
}

}  // namespace

bool is_server_topic(std::string_view path) {
  const TopicLevels levels(path);
  if (levels[0] == "_reply") return true;
  return levels.size() >= 2 && levels[0].size() > 0 && levels[0][0] != '_' && levels[1] == "events";
}

ParsedRequest parse_request(std::string_view path, std::string_view payload,
                            const RequestParserOptions& options) {
  ParsedRequest parsed;
  if (payload.size() > options.max_payload) {
    parsed.error = Answer::error(413, "request payload of " + std::to_string(payload.size()) +
                                          " bytes is over the limit of " +
                                          std::to_string(options.max_payload) + " bytes");
    return parsed;
  }
  Request request;
  // An empty payload stands for {} (a read or delete sent by a tool with no body).
  if (!payload.empty()) {
    if (nesting_depth(payload) > options.max_depth) {
      parsed.error = Answer::bad_request("JSON nested deeper than " +
                                         std::to_string(options.max_depth) + " levels");
      return parsed;
    }
    try {
      request.body = Json::parse(payload);
    } catch (const Json::exception& e) {
      parsed.error = Answer::bad_request(std::string("invalid JSON: ") + e.what());
      return parsed;
    }
  }
  if (request.body.is_object()) {
    // "_request_id" belongs to the envelope, not to the record: taken out before anything
    // else sees the body, and echoed in every answer, errors included.
    auto id = request.body.find("_request_id");
    if (id != request.body.end()) {
      if (!id->is_string()) {
        parsed.error = Answer::bad_request("\"_request_id\" must be a string");
        return parsed;
      }
      parsed.request_id = id->get<std::string>();
      request.request_id = parsed.request_id;
      request.body.erase(id);
    }
  }
  if (std::optional<Answer> bad = parse_path(path, &request)) {
    parsed.error = std::move(*bad);
    return parsed;
  }
  if (!request.body.is_object()) {
    parsed.error = Answer::bad_request("the payload must be a JSON object, got " +
                                       std::string(request.body.type_name()));
    return parsed;
  }
  if (std::optional<Answer> bad = check_body(request)) {
    parsed.error = std::move(*bad);
    return parsed;
  }
  parsed.request = std::move(request);
  return parsed;
}

}  // namespace topicdb::db

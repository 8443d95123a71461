#include "db/answer.h"

#include "db/json_text.h"

namespace topicdb::db {

bool Answer::parse_data_text() {
  if (data_text.empty()) return true;
  Json parsed = Json::parse(data_text, nullptr, false);
  if (parsed.is_discarded()) return false;
  data = std::move(parsed);
  data_text.clear();
  return true;
}

std::string Answer::to_envelope(const std::optional<std::string>& request_id) const {
  // Written by hand so "status" comes first, as in MQDB's answers (nlohmann's objects sort
  // their keys), and the data is serialized once (or not at all: data_text).
  std::string out;
  if (is_ok()) {
    out.reserve(data_text.size() + 64);
    out = "{\"status\":\"ok\",\"data\":";
    if (!data_text.empty()) {
      out += data_text;
    } else {
      out += dump_json(data);
    }
  } else {
    out = "{\"status\":\"error\",\"code\":";
    out += std::to_string(code);
    out += ",\"message\":";
    out += dump_json(Json(message));
    if (!data.is_null()) {
      out += ",\"data\":";
      out += dump_json(data);
    }
  }
  if (request_id) {
    out += ",\"request_id\":";
    out += dump_json(Json(*request_id));
  }
  out += '}';
  return out;
}

}  // namespace topicdb::db

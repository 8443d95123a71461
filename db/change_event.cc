#include "db/change_event.h"

#include "db/json_text.h"

namespace topicdb::db {

namespace {

void append_string(std::string& out, const std::string& s) { out += dump_json(Json(s)); }

}  // namespace

std::string ChangeEvent::to_json() const {
  // Built by hand: data_json is already JSON text (as stored), so it is spliced in rather
  // than parsed and dumped again for every event.
  std::string out;
  out.reserve(data_json.size() + entity.size() + id.size() + client_id.size() + 96);
  out += "{\"sequence\":";
  out += std::to_string(sequence);
  out += ",\"entity\":";
  append_string(out, entity);
  out += ",\"id\":";
  append_string(out, id);
  out += ",\"operation\":";
  append_string(out, operation);
  out += ",\"data\":";
  out += data_json.empty() ? std::string("null") : data_json;
  out += ",\"client_id\":";
  append_string(out, client_id);
  out += '}';
  return out;
}

}  // namespace topicdb::db

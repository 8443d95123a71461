// Answer: what a $DB operation produces, success or error, before it is put in the MQTT
// envelope. Codes follow HTTP as MQDB's do: 200 ok; 400 bad request, 403 forbidden, 404 not
// found, 409 conflict, 410 gone (replay past the window), 413 too large, 503 unavailable.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace topicdb::db {

using Json = nlohmann::json;

struct Answer {
  int code = 200;
  Json data;            // ok: the answer's data; error: optional detail (e.g. current_version)
  std::string message;  // error only
  // Ok only, instead of `data` (then null): the data as JSON text already, e.g. a stored
  // record spliced in as it is, so a plain read neither parses nor dumps it. Empty when unset.
  std::string data_text;

  bool is_ok() const { return code == 200; }
  static Answer ok(Json data) { return Answer{200, std::move(data), {}, {}}; }
  // `text` must be one valid JSON value (the store wrote it with dump_json).
  static Answer ok_text(std::string text) { return Answer{200, nullptr, {}, std::move(text)}; }
  static Answer error(int code, std::string message, Json data = nullptr) {
    return Answer{code, std::move(data), std::move(message), {}};
  }
  static Answer bad_request(std::string m) { return error(400, std::move(m)); }
  static Answer not_found(std::string m) { return error(404, std::move(m)); }
  static Answer conflict(std::string m, Json data = nullptr) {
    return error(409, std::move(m), std::move(data));
  }
  static Answer unavailable(std::string m) { return error(503, std::move(m)); }

  // Parses data_text into data (and clears it), for callers that look into the value, such
  // as tests; the envelope does not need it. False when data_text is not valid JSON.
  bool parse_data_text();

  // {"status":"ok","data":...} or {"status":"error","code":N,"message":"...","data":...}
  // ("data" on an error only when set), plus "request_id" when the request carried one.
  std::string to_envelope(const std::optional<std::string>& request_id = std::nullopt) const;
};

}  // namespace topicdb::db

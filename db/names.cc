#include "db/names.h"

#include <string>

namespace topicdb::db {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c >> 5) == 0x6) {
      extra = 1;
    } else if ((c >> 4) == 0xE) {
      extra = 2;
    } else if ((c >> 3) == 0x1E) {
      extra = 3;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace

Status check_entity_name(std::string_view entity) {
  if (entity.empty() || entity.size() > 128) {
    return Status::invalid_argument("entity name must be 1 to 128 characters");
  }
  for (char c : entity) {
    if (!is_name_char(c)) {
      return Status::invalid_argument("entity name '" + std::string(entity) +
                                      "' may contain only A-Z, a-z, 0-9, '_' and '-'");
    }
  }
  if (entity[0] == '_') {
    return Status::invalid_argument("entity name '" + std::string(entity) +
                                    "' is reserved (names starting with '_' are the server's)");
  }
  return Status::ok();
}

Status check_record_id(std::string_view id) {
  if (id.empty() || id.size() > 512) {
    return Status::invalid_argument("id must be 1 to 512 bytes");
  }
  for (char c : id) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') {
      return Status::invalid_argument("id must not contain '/', '+', '#' or NUL");
    }
  }
  if (!is_valid_utf8(id)) return Status::invalid_argument("id must be valid UTF-8");
  if (id == "create" || id == "list" || id == "events" || id[0] == '_') {
    return Status::invalid_argument("id '" + std::string(id) +
                                    "' is reserved (it collides with an operation topic)");
  }
  return Status::ok();
}

Status check_field_path(std::string_view path) {
  if (path.empty()) return Status::invalid_argument("field path must not be empty");
  size_t segments = 0;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view segment =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (segment.empty() || segment.size() > 128) {
      return Status::invalid_argument("field path '" + std::string(path) +
                                      "' has an empty or over-long segment");
    }
    for (char c : segment) {
      if (!is_name_char(c)) {
        return Status::invalid_argument("field path '" + std::string(path) +
                                        "' may contain only A-Z, a-z, 0-9, '_', '-' and '.'");
      }
    }
    if (++segments > 8) {
      return Status::invalid_argument("field path '" + std::string(path) +
                                      "' has more than 8 segments");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Status::ok();
}

std::string json_extract_sql(std::string_view checked_path) {
  // Segments are [A-Za-z0-9_-]: quoting each keeps '-' and leading digits literal in the
  // JSON path syntax.
  std::string sql = "json_extract(body,'$";
  size_t start = 0;
  while (true) {
    size_t dot = checked_path.find('.', start);
    sql += ".\"";
    sql += checked_path.substr(
        start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    sql += '"';
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  sql += "')";
  return sql;
}

std::string entity_literal(std::string_view checked_entity) {
  return "'" + std::string(checked_entity) + "'";
}

}  // namespace topicdb::db

#include "db/reads.h"

#include <fmt/format.h>

#include <optional>
#include <utility>
#include <vector>

#include "db/includes.h"
#include "db/list_query.h"
#include "db/names.h"
#include "db/projection.h"
#include "db/query_planner.h"
#include "db/statement_cache.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

constexpr std::string_view kReadSql =
    "SELECT body FROM db_records WHERE entity=?1 AND id=?2 AND (expires_at_ms IS NULL OR "
    "expires_at_ms>?3)";

struct ReadOptions {
  std::optional<Projection> projection;
  std::vector<IncludeNode> includes;
};

Result<ReadOptions> parse_read_options(const Json& body) {
  ReadOptions options;
  if (body.is_null()) return options;
  if (!body.is_object()) return Status::invalid_argument("a read request must be a JSON object");
  bool has_include = false;
  for (const auto& [key, value] : body.items()) {
    if (key == "projection") {
      Result<Projection> projection = parse_projection(value);
      if (!projection.is_ok()) return projection.status();
      options.projection = std::move(projection).value();
    } else if (key == "includes" || key == "include") {
      if (has_include) return Status::invalid_argument("give either includes or include, not both");
      has_include = true;
      Result<std::vector<IncludeNode>> includes = parse_includes(value, key);
      if (!includes.is_ok()) return includes.status();
      options.includes = std::move(includes).value();
    } else {
      return Status::invalid_argument(
          fmt::format("unknown read option \"{}\" (projection, includes)", key));
    }
  }
  return options;
}

Answer failure(sqlite3* db, std::string_view what) {
  return Answer::unavailable(fmt::format("database: {}: {}", what, sqlite3_errmsg(db)));
}

Answer from_status(const Status& status) {
  if (status.code() == Status::Code::kInvalidArgument) return Answer::bad_request(status.message());
  return Answer::unavailable(status.message());
}

// Includes first, on whole records (they need the "..._id" fields a projection may drop),
// then the projection, which keeps the includes asked for.
Status finish(sqlite3* db, std::string_view entity, const std::optional<Projection>& projection,
              const std::vector<IncludeNode>& includes, std::vector<Json*>& records, int64_t now_ms,
              const OwnerScope* owner) {
  if (!includes.empty()) {
    TDB_RETURN_IF_ERROR(load_includes(db, entity, includes, records, now_ms, owner));
  }
  if (projection) {
    std::vector<std::string> keep = include_names(includes);
    for (Json* record : records) *record = project(*record, *projection, keep);
  }
  return Status::ok();
}

}  // namespace

Answer run_read(sqlite3* db, const Request& request, int64_t now_ms) {
  Result<ReadOptions> options = parse_read_options(request.body);
  if (!options.is_ok()) return from_status(options.status());

  // Nothing reshapes the record and no owner check needs its fields: the stored text (which
  // the store dumped, so it is valid JSON) goes into the answer as it is, unparsed.
  const bool splice = !options->projection && options->includes.empty() &&
                      (!request.owner || request.owner->field_of(request.entity) == nullptr);
  Json record;
  {
    Statement stmt = Statement::prepare(db, kReadSql);
    if (!stmt) return failure(db, "read");
    sqlite3_bind_text(stmt.get(), 1, request.entity.data(), static_cast<int>(request.entity.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt.get(), 2, request.id.data(), static_cast<int>(request.id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt.get(), 3, now_ms);
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) {
      // MQDB's wording.
      return Answer::not_found(
          fmt::format("entity not found: {} id={}", request.entity, request.id));
    }
    if (rc != SQLITE_ROW) return failure(db, "read");
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    int size = sqlite3_column_bytes(stmt.get(), 0);
    if (splice && text != nullptr) return Answer::ok_text(std::string(text, size));
    record = Json::parse(text, text + size, nullptr, false);
  }
  if (record.is_discarded()) {
    return Answer::unavailable(
        fmt::format("database: record {}/{} is not valid JSON", request.entity, request.id));
  }
  if (request.owner && !request.owner->may_see(request.entity, record)) {
    // Another user's record reads as absent: a 403 would tell that the id exists.
    return Answer::not_found(fmt::format("entity not found: {} id={}", request.entity, request.id));
  }
  if (options->projection || !options->includes.empty()) {
    std::vector<Json*> records{&record};
    Status status = finish(db, request.entity, options->projection, options->includes, records,
                           now_ms, request.owner.get());
    if (!status.is_ok()) return from_status(status);
  }
  return Answer::ok(std::move(record));
}

Answer run_list(sqlite3* db, const Request& request, const QueryLimits& limits, int64_t now_ms) {
  // The planner inlines the entity in the SQL text (for the partial indexes): it must be a
  // checked name, whoever called.
  Status entity_ok = check_entity_name(request.entity);
  if (!entity_ok.is_ok()) return Answer::bad_request(entity_ok.message());
  Result<ListQuery> query = parse_list_query(request.body, limits);
  if (!query.is_ok()) return from_status(query.status());
  // Without a limit, one row past the maximum tells whether the answer would be cut short:
  // that is a 400 rather than a silent truncation.
  if (!query->limit_given) query->limit = limits.max_list_limit + 1;
  if (request.owner) {
    // In SQL, so limit, offset and the too-many check count only the user's records.
    if (const std::string* field = request.owner->field_of(request.entity)) {
      query->filters.push_back(Filter{*field, FilterOp::kEq, Json(request.owner->user)});
    }
  }
  PlannedQuery plan = plan_list(request.entity, *query, now_ms);

  // As in run_read: without projection and includes the stored texts are spliced into one
  // array (ownership is already a filter in the SQL).
  const bool splice = !query->projection && query->includes.empty();
  Json records = Json::array();
  std::string texts = "[";
  size_t count = 0;
  {
    Statement stmt = Statement::prepare(db, plan.sql);
    if (!stmt) return failure(db, "list");
    if (bind_params(stmt.get(), plan.params) != SQLITE_OK) return failure(db, "list");
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
      int size = sqlite3_column_bytes(stmt.get(), 0);
      ++count;
      if (splice) {
        if (text == nullptr) {
          return Answer::unavailable(
              fmt::format("database: a record of {} is not valid JSON", request.entity));
        }
        if (count > 1) texts += ',';
        texts.append(text, size);
        continue;
      }
      Json record = Json::parse(text, text + size, nullptr, false);
      if (record.is_discarded()) {
        return Answer::unavailable(
            fmt::format("database: a record of {} is not valid JSON", request.entity));
      }
      records.push_back(std::move(record));
    }
    if (rc != SQLITE_DONE) return failure(db, "list");
  }
  if (!query->limit_given && count > limits.max_list_limit) {
    return Answer::bad_request(fmt::format(
        "more than {} records match (the most one list answers): page with \"limit\" and "
        "\"offset\", or narrow the filters",
        limits.max_list_limit));
  }
  if (splice) {
    texts += ']';
    return Answer::ok_text(std::move(texts));
  }
  if (query->projection || !query->includes.empty()) {
    std::vector<Json*> pointers;
    pointers.reserve(records.size());
    for (Json& record : records) pointers.push_back(&record);
    Status status = finish(db, request.entity, query->projection, query->includes, pointers, now_ms,
                           request.owner.get());
    if (!status.is_ok()) return from_status(status);
  }
  return Answer::ok(std::move(records));
}

}  // namespace topicdb::db

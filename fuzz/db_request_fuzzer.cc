// libFuzzer target for the $DB request parser and the pure checks behind it: the input is a
// topic path (after "$DB/"), a newline, then the payload. Whatever comes in, the parser
// must answer a Request or an error Answer with a documented code and a message; a parsed
// list body must parse to a query or fail with invalid_argument; a create or update body
// must pass or fail its checks with a 400. Sanitizers catch the rest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "db/list_query.h"
#include "db/names.h"
#include "db/record_writes.h"
#include "db/request_parser.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace topicdb::db;  // NOLINT(google-build-using-namespace): a fuzz target

void check_error(const Answer& answer) {
  TOPICDB_FUZZ_CHECK(
      answer.code == 400 || answer.code == 403 || answer.code == 404 || answer.code == 413,
      "parse error with an undocumented code");
  TOPICDB_FUZZ_CHECK(!answer.message.empty(), "error answer without a message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t newline = bytes.find('\n');
  std::string_view path = bytes.substr(0, newline);
  std::string_view payload = newline == std::string_view::npos ? "" : bytes.substr(newline + 1);
  RequestParserOptions options;
  options.max_payload = 4096;
  ParsedRequest parsed = parse_request(path, payload, options);
  if (!parsed.ok()) {
    check_error(parsed.error);
    return 0;
  }
  const Request& request = *parsed.request;
  TOPICDB_FUZZ_CHECK(request.body.is_object(), "parsed body is not an object");
  TOPICDB_FUZZ_CHECK(!request.body.contains("_request_id"), "_request_id left in the body");
  if (request.op != Operation::kReplay && request.op != Operation::kVerify) {
    TOPICDB_FUZZ_CHECK(
        check_entity_name(request.entity).is_ok() || request.op == Operation::kSchemaSet ||
            request.op == Operation::kSchemaGet || request.op == Operation::kIndexAdd ||
            request.op == Operation::kIndexList,
        "a record operation on an invalid entity name");
  }
  if (request.op == Operation::kRead || request.op == Operation::kUpdate ||
      request.op == Operation::kDelete) {
    TOPICDB_FUZZ_CHECK(check_record_id(request.id).is_ok(), "an invalid id was accepted");
  }
  Answer error;
  switch (request.op) {
    case Operation::kList: {
      auto query = parse_list_query(request.body, QueryLimits{});
      TOPICDB_FUZZ_CHECK(
          query.is_ok() || query.status().code() == topicdb::Status::Code::kInvalidArgument,
          "list parse failed other than invalid_argument");
      break;
    }
    case Operation::kCreate: {
      CreateInput input;
      if (!check_create(request.body, "assigned", 1'700'000'000'000, &input, &error)) {
        TOPICDB_FUZZ_CHECK(error.code == 400 && !error.message.empty(), "create check error");
      } else {
        TOPICDB_FUZZ_CHECK(input.record.is_object() && check_record_id(input.id).is_ok(),
                           "create accepted a bad record or id");
      }
      break;
    }
    case Operation::kUpdate:
      if (!check_update(request.body, &error)) {
        TOPICDB_FUZZ_CHECK(error.code == 400 && !error.message.empty(), "update check error");
      }
      break;
    default:
      break;
  }
  return 0;
}

// `topicdb db ...`: one request and its answer, or a stream of change events.
#include "app/db_cli.h"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/db_cli_client.h"
#include "app/db_cli_match.h"
#include "app/db_cli_request.h"

namespace topicdb::app {
namespace {

using Json = nlohmann::json;

volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void on_stop_signal(int) { g_stop_requested = 1; }

// Messages from the broker or the network may hold newlines; the error stays one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

int fail(int exit_code, const std::string& message) {
  std::fprintf(stderr, "topicdb: %s\n", one_line(message).c_str());
  return exit_code;
}

// Pretty (2-space indent) or one line; bytes that are not UTF-8 are replaced, not thrown on.
std::string dump(const Json& value, bool pretty) {
  return value.dump(pretty ? 2 : -1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<Json> parse(const std::string& text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

// Reads `schema set --file PATH` into the command's data.
Status read_data_file(DbCommand* cmd) {
  std::ifstream in(*cmd->data_file, std::ios::binary);
  if (!in) return Status::invalid_argument("cannot read --file " + *cmd->data_file);
  std::ostringstream text;
  text << in.rdbuf();
  cmd->data = text.str();
  return Status::ok();
}

int run_request(const DbCommand& cmd) {
  auto request = build_db_request(cmd);
  if (!request) return fail(kDbExitUsage, request.status().message());
  auto client = DbCliClient::connect(cmd.connection);
  if (!client) return fail(kDbExitNoAnswer, client.status().message());
  auto answer = (*client)->request(request->topic, request->payload.dump());
  if (!answer) return fail(kDbExitNoAnswer, answer.status().message());
  DbAnswerOutcome outcome = interpret_answer(*answer, cmd.format);
  std::fputs(outcome.out.c_str(), stdout);
  std::fputs(outcome.err.c_str(), stderr);
  return outcome.exit_code;
}

int run_watch(const DbCommand& cmd) {
  auto filter = watch_topic_filter(cmd);
  if (!filter) return fail(kDbExitUsage, filter.status().message());
  auto record_filters = parse_filter_expressions(cmd.filters);
  if (!record_filters) return fail(kDbExitUsage, record_filters.status().message());
  auto client = DbCliClient::connect(cmd.connection);
  if (!client) return fail(kDbExitNoAnswer, client.status().message());
  Status subscribed = (*client)->subscribe(*filter);
  if (!subscribed.is_ok()) return fail(kDbExitNoAnswer, subscribed.message());

  g_stop_requested = 0;
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  // Scripts and tests wait for this line: from here on no event is missed.
  std::fprintf(stderr, "watching %s (Ctrl-C to stop)\n", filter->c_str());
  std::fflush(stderr);

  bool pretty = cmd.format == OutputFormat::kPretty;
  int64_t seen = 0;
  while (g_stop_requested == 0 && (!cmd.count || seen < *cmd.count)) {
    auto messages = (*client)->poll(1000, [] { return g_stop_requested != 0; });
    if (!messages) return fail(kDbExitNoAnswer, messages.status().message());
    for (const DbCliMessage& m : *messages) {
      std::optional<Json> event = parse(m.payload);
      if (!record_filters->empty()) {
        // MQDB's watch filters on the record the event carries (for a delete, its last state).
        const Json* record =
            event && event->is_object() && event->contains("data") ? &(*event)["data"] : nullptr;
        if (record == nullptr || !record_matches(*record, *record_filters)) continue;
      }
      std::string line = event ? dump(*event, pretty) : m.payload + "\n";
      std::fputs(line.c_str(), stdout);
      if (std::fflush(stdout) != 0) return kDbExitOk;  // the reader went away (| head)
      if (cmd.count && ++seen >= *cmd.count) break;
    }
  }
  return kDbExitOk;
}

}  // namespace

std::string describe_db_code(int code) {
  const char* name = "error";
  switch (code) {
    case 400:
      name = "bad request";
      break;
    case 403:
      name = "forbidden";
      break;
    case 404:
      name = "not found";
      break;
    case 409:
      name = "conflict";
      break;
    case 410:
      name = "gone";
      break;
    case 413:
      name = "too large";
      break;
    case 503:
      name = "unavailable";
      break;
    default:
      break;
  }
  return std::to_string(code) + " " + name;
}

DbAnswerOutcome interpret_answer(const std::string& envelope, OutputFormat format) {
  DbAnswerOutcome outcome;
  std::optional<Json> answer = parse(envelope);
  auto status = answer && answer->is_object() ? answer->find("status") : Json::iterator();
  if (!answer || !answer->is_object() || status == answer->end() || !status->is_string()) {
    std::string head = envelope.substr(0, 200);
    outcome.exit_code = kDbExitNoAnswer;
    outcome.err = "topicdb: the answer is not a $DB envelope: " + one_line(head) + "\n";
    return outcome;
  }
  if (*status == "ok") {
    auto data = answer->find("data");
    outcome.out = dump(data == answer->end() ? Json() : *data, format != OutputFormat::kCompact);
    return outcome;
  }
  int code = 0;
  if (auto c = answer->find("code"); c != answer->end() && c->is_number_integer()) {
    code = c->get<int>();
  }
  std::string message = "(no message)";
  if (auto m = answer->find("message"); m != answer->end() && m->is_string()) {
    message = m->get<std::string>();
  }
  outcome.exit_code = kDbExitErrorAnswer;
  outcome.err = "topicdb: " + describe_db_code(code) + ": " + one_line(message) + "\n";
  return outcome;
}

int run_db_command(const std::vector<std::string>& args) {
  auto cmd = parse_db_args(args);
  if (!cmd) return fail(kDbExitUsage, cmd.status().message());
  if (cmd->show_help) {
    std::fputs(db_usage().c_str(), stdout);
    return kDbExitOk;
  }
  if (cmd->data_file) {
    Status read = read_data_file(&*cmd);
    if (!read.is_ok()) return fail(kDbExitUsage, read.message());
  }
  return cmd->verb == DbVerb::kWatch ? run_watch(*cmd) : run_request(*cmd);
}

}  // namespace topicdb::app

// `topicdb db ...`: the command-line client of the $DB API. Parses the arguments, asks the
// broker over MQTT 5, prints the answer's data as JSON; exit codes say what went wrong.
#pragma once

#include <string>
#include <vector>

#include "app/db_cli_args.h"

namespace topicdb::app {

// Exit codes of `topicdb db` (documented in db_usage() and the README).
constexpr int kDbExitOk = 0;
constexpr int kDbExitErrorAnswer = 1;  // the broker answered {"status":"error",...}
constexpr int kDbExitUsage = 2;        // bad arguments: nothing was sent
constexpr int kDbExitNoAnswer = 3;     // cannot connect, refused, timed out, connection lost

// What the CLI does with one answer envelope: the text for stdout (ok) or the one line for
// stderr (error), and the exit code.
struct DbAnswerOutcome {
  int exit_code = kDbExitOk;
  std::string out;  // ends with '\n' when not empty
  std::string err;  // "topicdb: 404 not found: ...\n"
};
DbAnswerOutcome interpret_answer(const std::string& envelope, OutputFormat format);

// "400 bad request", "404 not found", ... for the $DB error codes ("418 error" otherwise).
std::string describe_db_code(int code);

// Runs `topicdb db <args>`; returns the process exit code.
int run_db_command(const std::vector<std::string>& args);

}  // namespace topicdb::app

// The topicdb command line as scripts see it: exit codes and one-line messages for bad
// input, --help, and refusing a data directory another broker holds.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "tests/integration/fixture.h"

namespace topicdb::itest {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs topicdb with `args` (shell words), bounded by `timeout`.
CliRun run_topicdb(const std::string& args) {
  std::string command = "timeout 10 " + std::string(TOPICDB_BINARY) + " " + args + " 2>&1";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

size_t line_count(const std::string& s) {
  size_t lines = 0;
  for (char c : s) lines += c == '\n';
  return lines;
}

TEST(CliTest, UnknownOptionIsOneLineAndExitCode2) {
  CliRun run = run_topicdb("serve --bogus 1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("unknown option '--bogus'"), std::string::npos) << run.output;
  EXPECT_EQ(line_count(run.output), 1u) << run.output;
}

TEST(CliTest, BadValueNamesTheOption) {
  CliRun run = run_topicdb("serve --max-inflight zero");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("--max-inflight"), std::string::npos) << run.output;
  EXPECT_EQ(line_count(run.output), 1u) << run.output;
}

TEST(CliTest, UnknownCommand) {
  CliRun run = run_topicdb("frobnicate");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("unknown command"), std::string::npos) << run.output;
}

TEST(CliTest, HelpDocumentsOptions) {
  CliRun run = run_topicdb("serve --help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag : {"--listen", "--data-dir", "--config", "--max-packet-size"}) {
    EXPECT_NE(run.output.find(flag), std::string::npos) << flag;
  }
}

class CliBrokerTest : public BrokerTest {};

TEST_F(CliBrokerTest, SecondBrokerOnTheSameDataDirIsRefused) {
  CliRun run = run_topicdb("serve --listen 127.0.0.1:0 --data-dir " + dir_.path());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("in use by another topicdb process"), std::string::npos) << run.output;
}

TEST_F(CliBrokerTest, PortInUseIsRefusedWithAClearMessage) {
  TempDir other;
  CliRun run = run_topicdb("serve --listen 127.0.0.1:" + std::to_string(port()) + " --data-dir " +
                           other.path());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("cannot listen on 127.0.0.1:" + std::to_string(port())),
            std::string::npos)
      << run.output;
}

}  // namespace
}  // namespace topicdb::itest

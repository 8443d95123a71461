// `topicdb passwd add|remove|list FILE [USER]`: edits a password file in mosquitto's format
// (plugins/password_file.h). `add` reads the password twice without echo from a terminal,
// or one line from stdin when stdin is not a terminal (scripts); it writes a $7$
// PBKDF2-SHA512 hash (--iterations N, default 210,000) or, with --argon2id, an Argon2id one,
// never a plain or fast hash, and (unless --no-scram) a "#scram" line with the user's
// SCRAM-SHA-256 keys (plugins/scram_auth.h). The file is rewritten atomically (a temporary file in
// the same directory, then rename) with mode 0600; other lines and comments are kept.
#pragma once

#include <string>
#include <vector>

namespace topicdb::app {

// Runs the subcommand with the arguments after "passwd"; returns the process exit code.
// Errors are one line on stderr.
int run_passwd(const std::vector<std::string>& args);

}  // namespace topicdb::app

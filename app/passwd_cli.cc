#include "app/passwd_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/status.h"
#include "plugins/password_file.h"

namespace topicdb::app {

namespace {

constexpr char kUsage[] =
    "Usage: topicdb passwd add [--iterations N | --argon2id] [--no-scram] FILE USER\n"
    "       topicdb passwd remove FILE USER\n"
    "       topicdb passwd list FILE\n\n"
    "Edits a password file in mosquitto's format. 'add' creates the file if needed and sets\n"
    "USER's password, read without echo from the terminal, or as one line from stdin when\n"
    "stdin is not a terminal. Hashes: $7$ PBKDF2-SHA512 with N iterations (default 210000),\n"
    "or Argon2id, plus a '#scram USER:...' line with SCRAM-SHA-256 keys (4096 iterations)\n"
    "for MQTT 5 clients that authenticate with SCRAM (mosquitto reads it as a comment),\n"
    "unless --no-scram. The broker rereads the file on SIGHUP.\n";

struct Options {
  std::string command;
  std::string file;
  std::string user;
  int iterations = plugins::kDefaultPbkdf2Iterations;
  bool argon2id = false;
  bool scram = true;
};

Status parse_options(const std::vector<std::string>& args, Options* o) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--argon2id") {
      o->argon2id = true;
    } else if (a == "--no-scram") {
      o->scram = false;
    } else if (a == "--iterations" || a.starts_with("--iterations=")) {
      std::string v;
      if (a == "--iterations") {
        if (i + 1 >= args.size()) return Status::invalid_argument("--iterations needs a number");
        v = args[++i];
      } else {
        v = a.substr(13);
      }
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o->iterations);
      // Below mosquitto 2.0's 101 a $7$ hash would be a fast hash.
      if (ec != std::errc() || p != v.data() + v.size() || o->iterations < 1000) {
        return Status::invalid_argument("--iterations expects a number of at least 1000, got '" +
                                        v + "'");
      }
    } else if (a.starts_with("--")) {
      return Status::invalid_argument("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return Status::invalid_argument("missing command (add, remove, list)");
  o->command = positional[0];
  const size_t want = o->command == "list" ? 2 : 3;
  if (o->command != "add" && o->command != "remove" && o->command != "list") {
    return Status::invalid_argument("unknown command '" + o->command + "' (add, remove, list)");
  }
  if (positional.size() != want) {
    return Status::invalid_argument(o->command == "list" ? "list needs FILE"
                                                         : o->command + " needs FILE USER");
  }
  o->file = positional[1];
  if (want == 3) o->user = positional[2];
  if (o->user.find(':') != std::string::npos) {
    return Status::invalid_argument("a user name must not contain ':'");
  }
  if (want == 3 && o->user.empty()) {
    return Status::invalid_argument("empty user name");
  }
  return Status::ok();
}

// One line from the terminal without echo (termios), or from stdin when it is not one.
Result<std::string> read_line(const char* prompt, bool tty) {
  termios saved{};
  if (tty) {
    std::fputs(prompt, stderr);
    std::fflush(stderr);
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  if (!got) return Status::invalid_argument("no password given");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> read_password() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  auto first = read_line("Password: ", tty);
  if (!first.is_ok()) return first.status();
  if (first->empty()) return Status::invalid_argument("empty password");
  if (tty) {
    auto again = read_line("Reenter password: ", tty);
    if (!again.is_ok()) return again.status();
    if (*again != *first) return Status::invalid_argument("passwords do not match");
  }
  return first;
}

// The file's lines; a missing file is empty when `may_be_missing`.
Result<std::vector<std::string>> read_lines(const std::string& path, bool may_be_missing) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (may_be_missing && errno == ENOENT) return std::vector<std::string>{};
    return Status::io_error("cannot read '" + path + "': " + std::strerror(errno));
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

constexpr std::string_view kScramPrefix = "#scram ";

// The user a line names, or "" for comments, blanks and lines without ':'. With `scram`,
// the user of a "#scram USER:..." line instead.
std::string user_of(const std::string& line, bool scram = false) {
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  if (scram) {
    if (line.compare(b, kScramPrefix.size(), kScramPrefix) != 0) return "";
    b += kScramPrefix.size();
  } else if (line[b] == '#') {
    return "";
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return "";
  std::string user = line.substr(b, colon - b);
  while (!user.empty() && (user.back() == ' ' || user.back() == '\t')) user.pop_back();
  return user;
}

// Writes `lines` to a temporary file beside `path` (mode 0600), syncs it, renames it over.
Status write_atomically(const std::string& path, const std::vector<std::string>& lines) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmp.data());  // mode 0600
  if (fd < 0)
    return Status::io_error("cannot create a file beside '" + path + "': " + std::strerror(errno));
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == text.size() && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  int saved_errno = errno;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved_errno = errno;
    unlink(tmp.c_str());
    return Status::io_error("cannot write '" + path + "': " + std::strerror(saved_errno));
  }
  return Status::ok();
}

Status run(const Options& o) {
  if (o.command == "list") {
    auto lines = read_lines(o.file, false);
    if (!lines.is_ok()) return lines.status();
    for (const std::string& l : *lines) {
      std::string user = user_of(l);
      if (!user.empty()) std::printf("%s\n", user.c_str());
    }
    return Status::ok();
  }
  auto lines = read_lines(o.file, o.command == "add");
  if (!lines.is_ok()) return lines.status();
  std::vector<std::string> kept;
  bool found = false;
  for (const std::string& l : *lines) {
    if (user_of(l) == o.user || user_of(l, true) == o.user) {
      found = true;
      continue;
    }
    kept.push_back(l);
  }
  if (o.command == "remove") {
    if (!found) return Status::not_found("no user '" + o.user + "' in '" + o.file + "'");
    return write_atomically(o.file, kept);
  }
  auto password = read_password();
  if (!password.is_ok()) return password.status();
  auto hash = o.argon2id ? plugins::make_argon2id_hash(*password)
                         : plugins::make_pbkdf2_hash(*password, o.iterations);
  if (!hash.is_ok()) return hash.status();
  kept.push_back(o.user + ":" + *hash);
  if (o.scram) {
    auto keys = plugins::make_scram_keys(*password, plugins::kDefaultScramIterations);
    if (!keys.is_ok()) return keys.status();
    kept.push_back(std::string(kScramPrefix) + o.user + ":" + plugins::format_scram_keys(*keys));
  }
  return write_atomically(o.file, kept);
}

}  // namespace

int run_passwd(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Options options;
  Status s = parse_options(args, &options);
  if (s.is_ok()) s = run(options);
  if (!s.is_ok()) {
    std::fprintf(stderr, "topicdb passwd: %s\n", s.message().c_str());
    return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace topicdb::app

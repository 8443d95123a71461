// topicdb_tls_connect: how many TLS clients per second a broker lets in. Each connect is a
// whole client visit: TCP connect, a full TLS handshake (no session resumption, the server
// certificate verified against --cafile), MQTT 3.1.1 CONNECT, CONNACK, DISCONNECT, close.
// Any MQTT broker with a TLS listener will do (bench/compare.sh runs it against TopicDB and
// mosquitto with the same certificate).
//
//   topicdb_tls_connect --port P --cafile ca.crt [--host 127.0.0.1] [--seconds 10]
//                       [--clients 1] [--broker-pid PID]
//
// Prints one line: scenario=tls_connect status=ok connects=N seconds=S connects_per_s=R
// p50_ms=.. p99_ms=.. protocol=TLSv1.3 cipher=... failures=F, and with --broker-pid the
// broker's CPU time per connect (utime+stime from /proc, 10 ms ticks): on a shared machine
// the rate of one client depends on how soon each process gets a CPU, the CPU time much less.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string cafile;
  double seconds = 10;
  int clients = 1;
  int broker_pid = 0;
};

struct Outcome {
  std::vector<double> latencies_ms;
  uint64_t failures = 0;
  std::string protocol;
  std::string cipher;
  std::string first_error;
};

// A 3.1.1 CONNECT: clean session, keep alive 60 s, the given client id.
std::string connect_packet(const std::string& client_id) {
  std::string variable = std::string("\x00\x04MQTT\x04\x02\x00\x3c", 10);
  std::string payload;
  payload.push_back(static_cast<char>(client_id.size() >> 8));
  payload.push_back(static_cast<char>(client_id.size() & 0xff));
  payload += client_id;
  std::string packet = "\x10";
  packet.push_back(static_cast<char>(variable.size() + payload.size()));  // < 128 here
  return packet + variable + payload;
}

bool read_exactly(SSL* ssl, char* out, int n) {
  for (int done = 0; done < n;) {
    int r = SSL_read(ssl, out + done, n - done);
    if (r <= 0) return false;
    done += r;
  }
  return true;
}

// One client visit; false (and *error) if any step failed.
bool visit(SSL_CTX* ctx, const sockaddr_in& addr, const std::string& client_id, Outcome* outcome,
           std::string* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    *error = "socket";
    return false;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  bool ok = false;
  SSL* ssl = nullptr;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
  } else {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "127.0.0.1");
    const std::string connect = connect_packet(client_id);
    const std::string disconnect("\xe0\x00", 2);
    char connack[4];
    if (SSL_connect(ssl) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      *error = std::string("handshake: ") + buf;
    } else if (SSL_write(ssl, connect.data(), static_cast<int>(connect.size())) <= 0) {
      *error = "CONNECT write";
    } else if (!read_exactly(ssl, connack, 4) || connack[0] != 0x20 || connack[3] != 0) {
      *error = "no accepting CONNACK";
    } else if (SSL_write(ssl, disconnect.data(), 2) <= 0) {
      *error = "DISCONNECT write";
    } else {
      ok = true;
      if (outcome->protocol.empty()) {
        outcome->protocol = SSL_get_version(ssl);
        outcome->cipher = SSL_get_cipher_name(ssl);
      }
      SSL_shutdown(ssl);  // close_notify; no wait for the server's
    }
    SSL_free(ssl);
  }
  ERR_clear_error();
  ::close(fd);
  return ok;
}

void run_client(int index, SSL_CTX* ctx, const sockaddr_in& addr, Clock::time_point end,
                Outcome* outcome) {
  for (uint64_t n = 0; Clock::now() < end; ++n) {
    const std::string id = "tls-" + std::to_string(index) + "-" + std::to_string(n);
    auto start = Clock::now();
    std::string error;
    if (visit(ctx, addr, id, outcome, &error)) {
      outcome->latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    } else {
      if (outcome->failures++ == 0) outcome->first_error = error;
      if (outcome->failures > 100 && outcome->latencies_ms.empty()) return;  // it never works
    }
  }
}

// utime + stime of a process in seconds; -1 if unreadable.
double cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  unsigned long utime = 0;
  unsigned long stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
      2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--host") {
      o->host = v;
    } else if (a == "--port") {
      o->port = std::atoi(v.c_str());
    } else if (a == "--cafile") {
      o->cafile = v;
    } else if (a == "--seconds") {
      o->seconds = std::atof(v.c_str());
    } else if (a == "--clients") {
      o->clients = std::atoi(v.c_str());
    } else if (a == "--broker-pid") {
      o->broker_pid = std::atoi(v.c_str());
    } else {
      return false;
    }
  }
  return o->port > 0 && !o->cafile.empty() && o->seconds > 0 && o->clients > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, &options)) {
    std::fprintf(stderr,
                 "usage: topicdb_tls_connect --port P --cafile CA [--host H] [--seconds S] "
                 "[--clients N]\n");
    return 2;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Every visit is a full handshake: what a fleet of devices reconnecting after a broker
  // restart costs (resumption would need each device to have kept its session).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, options.cafile.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "topicdb_tls_connect: cannot load %s\n", options.cafile.c_str());
    return 1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options.port));
  if (::inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "topicdb_tls_connect: --host must be an IPv4 address\n");
    return 2;
  }

  std::vector<Outcome> outcomes(static_cast<size_t>(options.clients));
  const double cpu_before = cpu_seconds(options.broker_pid);
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options.seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < options.clients; ++i) {
    threads.emplace_back(run_client, i, ctx, std::cref(addr), end,
                         &outcomes[static_cast<size_t>(i)]);
  }
  for (std::thread& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_after = cpu_seconds(options.broker_pid);
  SSL_CTX_free(ctx);

  Outcome all;
  for (Outcome& o : outcomes) {
    all.latencies_ms.insert(all.latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
    all.failures += o.failures;
    if (all.protocol.empty()) all.protocol = o.protocol;
    if (all.cipher.empty()) all.cipher = o.cipher;
    if (all.first_error.empty()) all.first_error = o.first_error;
  }
  const size_t connects = all.latencies_ms.size();
  const bool ok = connects > 0 && all.failures == 0;
  if (!all.first_error.empty()) {
    std::fprintf(stderr, "topicdb_tls_connect: first failure: %s\n", all.first_error.c_str());
  }
  std::printf(
      "scenario=tls_connect status=%s connects=%zu seconds=%.2f connects_per_s=%.1f "
      "p50_ms=%.3f p99_ms=%.3f clients=%d protocol=%s cipher=%s failures=%llu",
      ok ? "ok" : "error", connects, elapsed, static_cast<double>(connects) / elapsed,
      percentile(all.latencies_ms, 0.50), percentile(all.latencies_ms, 0.99), options.clients,
      all.protocol.empty() ? "none" : all.protocol.c_str(),
      all.cipher.empty() ? "none" : all.cipher.c_str(),
      static_cast<unsigned long long>(all.failures));
  if (cpu_before >= 0 && cpu_after >= 0 && connects > 0) {
    std::printf(" broker_cpu_ms_per_connect=%.3f",
                1000 * (cpu_after - cpu_before) / static_cast<double>(connects));
  }
  std::printf("\n");
  return ok ? 0 : 1;
}

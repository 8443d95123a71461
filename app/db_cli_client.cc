// The CLI's MQTT 5 client on libmosquitto's own loop (mosquitto_loop in this thread: no
// library threads, every wait bounded by a deadline we compute).
#include "app/db_cli_client.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

namespace topicdb::app {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kKeepAliveSecs = 60;
constexpr int kQos = 1;  // a PUBACK tells a refused request (0x87) from a lost one

std::string random_hex(size_t bytes) {
  static std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = device() & 0xff;
    out.push_back(kHex[v >> 4]);
    out.push_back(kHex[v & 0xf]);
  }
  return out;
}

// "Not authorized (0x87)", and the broker's Reason String when it sent one.
std::string describe_reason(int reason, const std::string& reason_string = "") {
  char code[16];
  std::snprintf(code, sizeof(code), " (0x%02x)", reason);
  std::string text = std::string(mosquitto_reason_string(reason)) + code;
  if (!reason_string.empty()) text += ": " + reason_string;
  return text;
}

std::string read_string_property(const mosquitto_property* props, int id) {
  char* value = nullptr;
  if (mosquitto_property_read_string(props, id, &value, false) == nullptr || value == nullptr) {
    return {};
  }
  std::string out(value);
  std::free(value);
  return out;
}

// The blocking TCP connect of libmosquitto has no timeout of its own (its asynchronous
// connect cannot carry CONNECT properties in 2.0), so an interval timer bounds it: when it
// fires, the process prints the prepared line and exits 3 (only async-signal-safe calls).
char g_connect_timeout_line[512];
size_t g_connect_timeout_line_size = 0;

extern "C" void on_connect_deadline(int) {
  ssize_t ignored = ::write(STDERR_FILENO, g_connect_timeout_line, g_connect_timeout_line_size);
  (void)ignored;
  ::_exit(3);
}

void arm_connect_deadline(int timeout_ms, const std::string& line) {
  std::string text = line + "\n";
  g_connect_timeout_line_size = std::min(text.size(), sizeof(g_connect_timeout_line));
  std::memcpy(g_connect_timeout_line, text.data(), g_connect_timeout_line_size);
  struct sigaction action = {};
  action.sa_handler = on_connect_deadline;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGALRM, &action, nullptr);
  itimerval timer = {};
  timer.it_value.tv_sec = timeout_ms / 1000;
  timer.it_value.tv_usec = (timeout_ms % 1000) * 1000;
  ::setitimer(ITIMER_REAL, &timer, nullptr);
}

void disarm_connect_deadline() {
  itimerval timer = {};
  ::setitimer(ITIMER_REAL, &timer, nullptr);
  std::signal(SIGALRM, SIG_DFL);
}

}  // namespace

void DbCliClient::MosquittoDeleter::operator()(mosquitto* m) const { mosquitto_destroy(m); }

DbCliClient::DbCliClient(const DbConnection& conn) : conn_(conn) {
  if (conn_.client_id.empty()) conn_.client_id = "topicdb-cli-" + random_hex(8);
}

DbCliClient::~DbCliClient() {
  if (!mosq_ || !connected_ || disconnected_) return;
  // A clean DISCONNECT (reason 0x00), flushed before the socket goes, so the broker does not
  // log a lost connection for every CLI run.
  if (mosquitto_disconnect_v5(mosq_.get(), 0, nullptr) != MOSQ_ERR_SUCCESS) return;
  for (int i = 0; i < 5 && !disconnected_; ++i) {
    if (mosquitto_loop(mosq_.get(), 100, 1) != MOSQ_ERR_SUCCESS) break;
  }
}

std::string DbCliClient::peer() const { return conn_.host + ":" + std::to_string(conn_.port); }

std::string DbCliClient::lost_message() const {
  std::string text = "connection to " + peer() + " lost";
  // libmosquitto passes a server DISCONNECT's reason code (0x80 and up) or its own MOSQ_ERR_*
  // (small numbers) through the same argument.
  if (disconnect_reason_ >= 0x80) {
    text += ": " + describe_reason(disconnect_reason_, disconnect_reason_string_);
  } else if (disconnect_reason_ > 0) {
    text += ": " + std::string(mosquitto_strerror(disconnect_reason_));
  }
  return text;
}

Result<std::unique_ptr<DbCliClient>> DbCliClient::connect(const DbConnection& conn) {
  static const bool initialized = (mosquitto_lib_init(), true);
  (void)initialized;
  std::unique_ptr<DbCliClient> client(new DbCliClient(conn));
  TDB_RETURN_IF_ERROR(client->start());
  return client;
}

Status DbCliClient::start() {
  mosq_.reset(mosquitto_new(conn_.client_id.c_str(), /*clean_session=*/true, this));
  if (!mosq_)
    return Status::internal("cannot create an MQTT client: " + std::string(strerror(errno)));
  mosquitto_int_option(mosq_.get(), MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  if (conn_.username) {
    mosquitto_username_pw_set(mosq_.get(), conn_.username->c_str(),
                              conn_.password ? conn_.password->c_str() : nullptr);
  }
  mosquitto_connect_v5_callback_set(mosq_.get(), &DbCliClient::on_connect);
  mosquitto_disconnect_v5_callback_set(mosq_.get(), &DbCliClient::on_disconnect);
  mosquitto_publish_v5_callback_set(mosq_.get(), &DbCliClient::on_publish);
  mosquitto_subscribe_v5_callback_set(mosq_.get(), &DbCliClient::on_subscribe);
  mosquitto_message_v5_callback_set(mosq_.get(), &DbCliClient::on_message);

  mosquitto_property* props = nullptr;
  mosquitto_property_add_byte(&props, MQTT_PROP_REQUEST_RESPONSE_INFORMATION, 1);
  const std::string timeout_line = "topicdb: cannot connect to " + peer() + ": no answer within " +
                                   std::to_string(conn_.timeout_ms) + " ms";
  auto started = SteadyClock::now();
  arm_connect_deadline(conn_.timeout_ms, timeout_line);
  errno = 0;
  int rc = mosquitto_connect_bind_v5(mosq_.get(), conn_.host.c_str(), conn_.port, kKeepAliveSecs,
                                     nullptr, props);
  disarm_connect_deadline();
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::string why = rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : mosquitto_strerror(rc);
    return Status::unavailable("cannot connect to " + peer() + ": " + why);
  }
  connected_ = true;
  int spent = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count());
  TDB_RETURN_IF_ERROR(run_until([this] { return connack_; }, std::max(1, conn_.timeout_ms - spent),
                                "the CONNACK", conn_.timeout_ms));
  if (connack_reason_ != 0) {
    return Status::unavailable("connection refused by " + peer() + ": " +
                               describe_reason(connack_reason_, connack_reason_string_));
  }
  response_topic_ = response_information_.empty() ? "topicdb-cli/" + conn_.client_id + "/reply"
                                                  : response_information_ + "/db";
  return Status::ok();
}

Status DbCliClient::run_until(const std::function<bool()>& done, int timeout_ms,
                              const std::string& what, int said_ms) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (disconnected_) return Status::unavailable(lost_message());
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      return Status::unavailable("no answer from " + peer() + " within " +
                                 std::to_string(said_ms > 0 ? said_ms : timeout_ms) +
                                 " ms (waiting for " + what + ")");
    }
    int rc = mosquitto_loop(mosq_.get(), static_cast<int>(std::min<int64_t>(left.count(), 100)), 1);
    if (rc == MOSQ_ERR_ERRNO && errno == EINTR) continue;  // a signal: the caller decides
    if (rc != MOSQ_ERR_SUCCESS) {
      bool reason_known = disconnected_ && disconnect_reason_ != 0;
      std::string why =
          rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : mosquitto_strerror(rc);
      disconnected_ = true;
      return Status::unavailable(reason_known ? lost_message()
                                              : "connection to " + peer() + " lost: " + why);
    }
  }
  return Status::ok();
}

Status DbCliClient::subscribe(const std::string& filter) {
  int mid = 0;
  acked_ = false;
  int rc = mosquitto_subscribe_v5(mosq_.get(), &mid, filter.c_str(), kQos, 0, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Status::invalid_argument("cannot subscribe to '" + filter +
                                    "': " + mosquitto_strerror(rc));
  }
  pending_mid_ = mid;
  TDB_RETURN_IF_ERROR(run_until([this] { return acked_; }, conn_.timeout_ms, "the SUBACK"));
  if (ack_reason_ >= 0x80) {
    return Status::permission_denied("subscription to '" + filter +
                                     "' refused: " + describe_reason(ack_reason_));
  }
  return Status::ok();
}

Result<std::string> DbCliClient::request(const std::string& topic, const std::string& payload) {
  if (!response_subscribed_) {
    TDB_RETURN_IF_ERROR(subscribe(response_topic_));
    response_subscribed_ = true;
  }
  const std::string correlation = random_hex(16);
  mosquitto_property* props = nullptr;
  mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic_.c_str());
  mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation.data(),
                                static_cast<uint16_t>(correlation.size()));
  int mid = 0;
  acked_ = false;
  int rc = mosquitto_publish_v5(mosq_.get(), &mid, topic.c_str(), static_cast<int>(payload.size()),
                                payload.data(), kQos, false, props);
  mosquitto_property_free_all(&props);
  if (rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_PAYLOAD_SIZE) {
    return Status::resource_exhausted("request of " + std::to_string(payload.size()) +
                                      " bytes is larger than " + peer() + " accepts");
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    return Status::unavailable("cannot publish to '" + topic + "': " + mosquitto_strerror(rc));
  }
  pending_mid_ = mid;
  std::optional<std::string> answer;
  auto answered = [&] {
    for (DbCliMessage& m : inbox_) {
      if (m.topic == response_topic_ && m.correlation_data == correlation) {
        answer = std::move(m.payload);
        break;
      }
    }
    inbox_.clear();  // anything else on the response topic is a stale answer
    // A refusing PUBACK (0x87 not authorized, ...) means no answer will come.
    return answer.has_value() || (acked_ && ack_reason_ >= 0x80);
  };
  TDB_RETURN_IF_ERROR(run_until(answered, conn_.timeout_ms, "the answer on " + response_topic_));
  if (!answer) {
    return Status::permission_denied("request to '" + topic +
                                     "' refused: " + describe_reason(ack_reason_));
  }
  return std::move(*answer);
}

Result<std::vector<DbCliMessage>> DbCliClient::poll(int wait_ms,
                                                    const std::function<bool()>& stop) {
  Status s = run_until([&] { return !inbox_.empty() || stop(); }, wait_ms, "events");
  std::vector<DbCliMessage> out;
  out.swap(inbox_);
  if (!s.is_ok() && disconnected_) return s;
  return out;  // a quiet interval is not an error
}

void DbCliClient::on_connect(mosquitto*, void* self, int rc, int, const mosquitto_property* props) {
  auto* c = static_cast<DbCliClient*>(self);
  c->connack_ = true;
  c->connack_reason_ = rc;
  c->response_information_ = read_string_property(props, MQTT_PROP_RESPONSE_INFORMATION);
  c->connack_reason_string_ = read_string_property(props, MQTT_PROP_REASON_STRING);
}

void DbCliClient::on_disconnect(mosquitto*, void* self, int rc, const mosquitto_property* props) {
  auto* c = static_cast<DbCliClient*>(self);
  c->disconnected_ = true;
  c->disconnect_reason_ = rc;
  c->disconnect_reason_string_ = read_string_property(props, MQTT_PROP_REASON_STRING);
}

void DbCliClient::on_publish(mosquitto*, void* self, int mid, int reason,
                             const mosquitto_property*) {
  auto* c = static_cast<DbCliClient*>(self);
  if (mid != c->pending_mid_) return;
  c->acked_ = true;
  c->ack_reason_ = reason;
}

void DbCliClient::on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                               const mosquitto_property*) {
  auto* c = static_cast<DbCliClient*>(self);
  if (mid != c->pending_mid_) return;
  c->acked_ = true;
  c->ack_reason_ = count > 0 ? granted[0] : 0x80;
}

void DbCliClient::on_message(mosquitto*, void* self, const mosquitto_message* message,
                             const mosquitto_property* props) {
  auto* c = static_cast<DbCliClient*>(self);
  DbCliMessage m;
  m.topic = message->topic;
  m.payload.assign(static_cast<const char*>(message->payload),
                   static_cast<size_t>(message->payloadlen));
  void* data = nullptr;
  uint16_t len = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false) !=
          nullptr &&
      data != nullptr) {
    m.correlation_data.assign(static_cast<const char*>(data), len);
    std::free(data);
  }
  c->inbox_.push_back(std::move(m));
}

}  // namespace topicdb::app

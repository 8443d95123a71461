// Basic authentication: the CONNECT's user name and password go to the Authenticator, which
// may answer later (password hashing runs off the loop). Meanwhile the CONNECT is held like
// an enhanced-authentication exchange, and whatever the client pipelines after it is held
// in order (Connection::hold_publishes) until the verdict. A failed login is refused after
// a delay that grows with the failures from its address (LoginThrottle), so guessing costs
// time; the refusal itself is the usual CONNACK 0x86 (3.1.1: 0x05).
#include "base/log.h"
#include "broker/broker.h"
#include "broker/reason_codes.h"

namespace topicdb::broker {

void Broker::check_login(Connection& c, std::unique_ptr<mqtt::ConnectPacket> p) {
  ClientIdentity who;
  who.client_id = p->client_id;
  if (p->username) {
    who.username = *p->username;
    who.has_username = true;
  }
  who.version = c.version;
  const std::string address = c.peer();
  who.address = address;
  std::optional<std::string_view> password;
  if (p->password) password = *p->password;
  // The packet stays where it is (the views above remain valid); the connection holds it.
  c.auth().pending_connect = std::move(p);
  c.hold_publishes();
  const uint64_t id = c.id();
  authenticator_->check(who, password,
                        [this, alive = std::weak_ptr<bool>(alive_), id](Status verdict) {
                          if (alive.expired()) return;  // the broker is gone
                          finish_login(id, verdict);
                        });
}

void Broker::finish_login(uint64_t connection_id, const Status& verdict) {
  auto it = connections_.find(connection_id);
  if (it == connections_.end()) return;  // the client left before the verdict
  Connection& c = *it->second;
  if (!c.is_open() || !c.authenticating() || c.auth().refusal_timer) return;
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  if (verdict.is_ok()) {
    std::unique_ptr<mqtt::ConnectPacket> p = std::move(c.auth().pending_connect);
    accept_connect(c, *p, std::nullopt);
    // Packets pipelined behind the CONNECT now run in order (or are dropped if refused).
    if (c.blocked_by == nullptr) c.release_publishes();
    return;
  }
  const std::string client_id = c.auth().pending_connect->client_id;
  const uint8_t code = v5 ? reason_code_for(verdict) : connack_v311_code_for(verdict);
  if (verdict.code() != Status::Code::kUnauthenticated) {
    log::info("refusing {} ('{}'): {}", c.peer(), client_id, verdict.to_string());
    refuse_connect(c, c.version, code, verdict.message());
    return;
  }
  refuse_failed_login(c, code, verdict.message());
}

void Broker::refuse_failed_login(Connection& c, uint8_t code, const std::string& why) {
  ++stats_.auth_failures;
  const std::string peer = c.peer();
  const int64_t delay =
      login_throttle_.on_failure(LoginThrottle::address_of(peer), clock_->now_ms());
  log::info("login of {} ('{}') failed: {}; refused in {} ms", peer,
            c.auth().pending_connect ? c.auth().pending_connect->client_id : "", why, delay);
  // The timer belongs to the connection: if the client goes first, the refusal never runs.
  c.auth().refusal_timer = clock_->make_timer();
  Connection* conn = &c;
  c.auth().refusal_timer->start(delay, 0, [this, conn, code, why] {
    if (conn->is_open()) refuse_connect(*conn, conn->version, code, why);
  });
}

}  // namespace topicdb::broker

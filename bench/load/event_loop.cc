#include "bench/load/event_loop.h"

#include "bench/load/coalesced_io.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace topicdb::bench {

// --- Client -----------------------------------------------------------------------------------

Client::Client(EventLoop* loop, std::string client_id, const Settings& settings)
    : loop_(loop), id_(std::move(client_id)) {
  mosq_ = mosquitto_new(id_.c_str(), true, this);
  if (mosq_ == nullptr) {
    failed_ = true;
    closed_ = true;
    return;
  }
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, settings.protocol);
  // Nagle's algorithm with the peer's delayed ACKs would hold small PUBLISHes for up to 40 ms.
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_int_option(mosq_, MOSQ_OPT_SEND_MAXIMUM, settings.send_maximum);
  mosquitto_connect_callback_set(mosq_, &Client::on_connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &Client::on_disconnect_cb);
  if (settings.protocol == MQTT_PROTOCOL_V5) {
    mosquitto_message_v5_callback_set(mosq_, &Client::on_message_v5_cb);
  } else {
    mosquitto_message_callback_set(mosq_, &Client::on_message_cb);
  }
  mosquitto_publish_callback_set(mosq_, &Client::on_publish_cb);
  mosquitto_subscribe_callback_set(mosq_, &Client::on_subscribe_cb);
  keepalive_s_ = settings.keepalive_s;
  loop_->track(this);
}

Client::~Client() {
  loop_->untrack(this);
  loop_->unmark_ready(this);
  if (fd_ >= 0) loop_->remove(fd_);
  fd_ = -1;
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

bool Client::start_connect(const std::string& host, int port, const std::string& bind_address) {
  if (mosq_ == nullptr) return false;
  connect_started_ns_ = now_ns();
  int rc = mosquitto_connect_bind_async(mosq_, host.c_str(), port, keepalive_s_,
                                        bind_address.empty() ? nullptr : bind_address.c_str());
  if (rc != MOSQ_ERR_SUCCESS) {
    failed_ = true;
    closed_ = true;
    return false;
  }
  sync_interest();
  return true;
}

bool Client::subscribe(const std::vector<std::string>& filters, int qos) {
  std::vector<char*> subs;
  subs.reserve(filters.size());
  for (const std::string& f : filters) subs.push_back(const_cast<char*>(f.c_str()));
  int mid = 0;
  int rc = mosquitto_subscribe_multiple(mosq_, &mid, static_cast<int>(subs.size()), subs.data(),
                                        qos, 0, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return false;
  ++subacks_pending_;
  sync_interest();
  return true;
}

bool Client::publish(const std::string& topic, const void* payload, int length, int qos) {
  last_publish_qos_ = qos;
  int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), length, payload, qos, false);
  if (rc != MOSQ_ERR_SUCCESS) return false;
  if (qos > 0) ++qos1_sent_;
  sync_interest();
  return true;
}

bool Client::publish_request(const std::string& topic, const void* payload, int length, int qos,
                             const std::string& response_topic, const void* correlation,
                             int correlation_length) {
  last_publish_qos_ = qos;
  mosquitto_property* props = nullptr;
  if (mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic.c_str()) !=
          MOSQ_ERR_SUCCESS ||
      mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation,
                                    static_cast<uint16_t>(correlation_length)) !=
          MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&props);
    return false;
  }
  int rc = mosquitto_publish_v5(mosq_, nullptr, topic.c_str(), length, payload, qos, false, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) return false;
  if (qos > 0) ++qos1_sent_;
  sync_interest();
  return true;
}

void Client::disconnect() {
  if (closed_ || mosq_ == nullptr) return;
  disconnecting_ = true;
  if (mosquitto_disconnect(mosq_) != MOSQ_ERR_SUCCESS) {
    closed_ = true;
    socket_gone();
    return;
  }
  sync_interest();
}

void Client::handle_events(uint32_t events) {
  if (mosq_ == nullptr || fd_ < 0) return;
  if ((events & EPOLLOUT) != 0) {
    // Bytes the coalescing buffer holds go first: libmosquitto's queue comes after them.
    if (coalesced_io::flush(fd_)) mosquitto_loop_write(mosq_, 1);
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    // mosquitto_loop_read() reads a single packet per call unless QoS > 0 messages are
    // pending, so drain the socket here: a read that found no data returns success with
    // errno EAGAIN. The cap keeps one busy socket from starving the others.
    for (int i = 0; i < 512 && fd_ >= 0; ++i) {
      errno = 0;
      int rc = mosquitto_loop_read(mosq_, 1);
      if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK) break;
    }
    // Data already pulled into the coalescing buffer does not wake epoll again.
    if (fd_ >= 0 && coalesced_io::has_buffered_input(fd_)) loop_->mark_ready(this);
  }
  sync_interest();
}

void Client::misc() {
  if (fd_ >= 0) mosquitto_loop_misc(mosq_);
}

void Client::sync_interest(bool flush_blocked) {
  if (mosq_ == nullptr) return;
  int sock = mosquitto_socket(mosq_);
  if (sock < 0) {
    socket_gone();
    return;
  }
  if (fd_ != sock) coalesced_io::attach(sock);
  bool want_out = mosquitto_want_write(mosq_) || flush_blocked;
  if (fd_ != sock) {
    if (fd_ >= 0) loop_->remove(fd_);
    fd_ = sock;
    out_interest_ = want_out;
    loop_->add(this, fd_, want_out);
  } else if (want_out != out_interest_) {
    out_interest_ = want_out;
    loop_->modify(this, fd_, want_out);
  }
}

// The library closed the socket: closing removed it from the epoll set already, and the
// number may be reused by the next socket, so it must not be passed to epoll_ctl again.
void Client::socket_gone() {
  fd_ = -1;
  out_interest_ = false;
}

void Client::on_connect_cb(mosquitto* /*m*/, void* self, int rc) {
  auto* c = static_cast<Client*>(self);
  if (rc == 0) {
    c->connected_ = true;
    c->connack_ns_ = now_ns();
  } else {
    c->failed_ = true;
  }
}

void Client::on_disconnect_cb(mosquitto* /*m*/, void* self, int /*rc*/) {
  auto* c = static_cast<Client*>(self);
  if (!c->disconnecting_ || !c->connected_) c->failed_ = true;
  c->connected_ = false;
  c->closed_ = true;
  c->socket_gone();
}

void Client::on_message_cb(mosquitto* /*m*/, void* self, const mosquitto_message* msg) {
  auto* c = static_cast<Client*>(self);
  ++c->received_;
  if (c->on_message) c->on_message(*msg);
}

void Client::on_message_v5_cb(mosquitto* m, void* self, const mosquitto_message* msg,
                              const mosquitto_property* props) {
  on_message_cb(m, self, msg);
  auto* c = static_cast<Client*>(self);
  if (!c->on_reply || props == nullptr) return;
  void* correlation = nullptr;
  uint16_t length = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &correlation, &length,
                                     false) != nullptr) {
    c->on_reply(*msg, correlation, length);
    std::free(correlation);
  }
}

void Client::on_publish_cb(mosquitto* /*m*/, void* self, int /*mid*/) {
  auto* c = static_cast<Client*>(self);
  // Also called when a QoS 0 message has been written; only QoS 1 ones are in flight.
  if (c->last_publish_qos_ > 0 && c->qos1_acked_ < c->qos1_sent_) ++c->qos1_acked_;
}

void Client::on_subscribe_cb(mosquitto* /*m*/, void* self, int /*mid*/, int count,
                             const int* granted) {
  auto* c = static_cast<Client*>(self);
  --c->subacks_pending_;
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= 0x80) c->failed_ = true;
  }
}

// --- EventLoop --------------------------------------------------------------------------------

EventLoop::EventLoop() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {}

EventLoop::~EventLoop() {
  if (epfd_ >= 0) close(epfd_);
}

void EventLoop::add(Client* c, int fd, bool want_out) {
  if (static_cast<size_t>(fd) >= by_fd_.size()) by_fd_.resize(static_cast<size_t>(fd) + 1);
  by_fd_[static_cast<size_t>(fd)] = c;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  ev.data.ptr = c;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::modify(Client* c, int fd, bool want_out) {
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  ev.data.ptr = c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::remove(int fd) {
  if (static_cast<size_t>(fd) < by_fd_.size()) by_fd_[static_cast<size_t>(fd)] = nullptr;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::mark_ready(Client* c) {
  for (Client* r : ready_) {
    if (r == c) return;
  }
  ready_.push_back(c);
}

void EventLoop::unmark_ready(Client* c) {
  for (Client*& r : handling_ready_) {
    if (r == c) r = nullptr;  // destroyed while poll() works through the list
  }
  for (size_t i = 0; i < ready_.size(); ++i) {
    if (ready_[i] == c) {
      ready_.erase(ready_.begin() + static_cast<ptrdiff_t>(i));
      return;
    }
  }
}

void EventLoop::poll(int64_t timeout_ns) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  // Gathered writes go out before the loop waits; a socket the kernel did not fully take
  // waits for EPOLLOUT.
  coalesced_io::flush_all([this](int fd) {
    if (static_cast<size_t>(fd) < by_fd_.size() && by_fd_[static_cast<size_t>(fd)] != nullptr) {
      by_fd_[static_cast<size_t>(fd)]->sync_interest(/*flush_blocked=*/true);
    }
  });
  if (timeout_ns < 0 || !ready_.empty()) timeout_ns = 0;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
  int n = epoll_pwait2(epfd_, events, kMaxEvents, &ts, nullptr);
  for (int i = 0; i < n; ++i) {
    static_cast<Client*>(events[i].data.ptr)->handle_events(events[i].events);
  }
  // Clients whose coalescing buffer still holds input (they hit the per-turn read cap).
  handling_ready_.clear();
  handling_ready_.swap(ready_);
  for (size_t i = 0; i < handling_ready_.size(); ++i) {
    if (Client* c = handling_ready_[i]) c->handle_events(EPOLLIN);
  }
  handling_ready_.clear();
  int64_t now = now_ns();
  if (now >= next_misc_ns_) {
    next_misc_ns_ = now + 1'000'000'000;
    for (Client* c : clients_) c->misc();
  }
}

bool EventLoop::run_until(int64_t deadline_ns, const std::function<bool()>& done,
                          const std::function<int64_t()>& step) {
  while (!done()) {
    int64_t now = now_ns();
    if (now >= deadline_ns) return false;
    int64_t timeout = step ? step() : 50'000'000;
    if (done()) return true;
    if (timeout > deadline_ns - now) timeout = deadline_ns - now;
    poll(timeout);
  }
  return true;
}

}  // namespace topicdb::bench

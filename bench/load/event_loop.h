// An epoll loop driving many libmosquitto clients through libmosquitto's external-loop API
// (mosquitto_socket, mosquitto_loop_read/write/misc, mosquitto_want_write). The library's
// own mosquitto_loop()/loop_start() use select(), which fails for descriptors past 1023.
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

namespace topicdb::bench {

using Clock = std::chrono::steady_clock;

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

class EventLoop;

// One MQTT client. Not copyable; the loop holds a pointer to it while it is registered, so a
// Client must outlive its registration (the destructor unregisters it).
class Client {
 public:
  struct Settings {
    int protocol = MQTT_PROTOCOL_V311;
    int keepalive_s = 60;
    int send_maximum = 64;  // QoS 1 messages this client keeps in flight at most
  };

  Client(EventLoop* loop, std::string client_id, const Settings& settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts a non-blocking connect; CONNACK arrives later (connected() turns true) or the
  // attempt fails (failed() turns true). bind_address may be empty.
  bool start_connect(const std::string& host, int port, const std::string& bind_address);
  // Sends one SUBSCRIBE with all of `filters`; subacks_pending() counts until its SUBACK.
  bool subscribe(const std::vector<std::string>& filters, int qos);
  // Queues one PUBLISH (and writes it at once if the socket takes it). QoS 1 messages stay
  // counted in inflight() until their PUBACK.
  bool publish(const std::string& topic, const void* payload, int length, int qos);
  // An MQTT 5 request: a PUBLISH with Response Topic and Correlation Data properties.
  bool publish_request(const std::string& topic, const void* payload, int length, int qos,
                       const std::string& response_topic, const void* correlation,
                       int correlation_length);
  // Sends DISCONNECT; closed() turns true once the library has closed the socket.
  void disconnect();

  bool connected() const { return connected_; }
  bool failed() const { return failed_; }
  bool closed() const { return closed_; }
  bool want_write() const { return mosquitto_want_write(mosq_); }
  int subacks_pending() const { return subacks_pending_; }
  uint64_t inflight() const { return qos1_sent_ - qos1_acked_; }
  uint64_t received() const { return received_; }
  int64_t connect_started_ns() const { return connect_started_ns_; }
  int64_t connack_ns() const { return connack_ns_; }
  const std::string& id() const { return id_; }

  // Called for every PUBLISH received (after received() counts it).
  std::function<void(const mosquitto_message&)> on_message;
  // Called (after on_message) for every PUBLISH that carries Correlation Data (MQTT 5
  // answers); `correlation` points into the library's property list.
  std::function<void(const mosquitto_message&, const void* correlation, uint16_t length)> on_reply;

  // For the loop.
  void handle_events(uint32_t events);
  void misc();
  // Makes the epoll registration follow the library's socket and mosquitto_want_write();
  // flush_blocked: the coalescing buffer holds output the kernel did not take, so EPOLLOUT
  // is wanted too (EventLoop::poll says so after each flush that stays blocked).
  void sync_interest(bool flush_blocked = false);

 private:
  static void on_connect_cb(mosquitto* m, void* self, int rc);
  static void on_disconnect_cb(mosquitto* m, void* self, int rc);
  static void on_message_cb(mosquitto* m, void* self, const mosquitto_message* msg);
  static void on_message_v5_cb(mosquitto* m, void* self, const mosquitto_message* msg,
                               const mosquitto_property* props);
  static void on_publish_cb(mosquitto* m, void* self, int mid);
  static void on_subscribe_cb(mosquitto* m, void* self, int mid, int count, const int* granted);

  void socket_gone();

  EventLoop* loop_;
  std::string id_;
  mosquitto* mosq_ = nullptr;
  int keepalive_s_ = 60;
  int fd_ = -1;  // descriptor registered with epoll, -1 when none
  bool out_interest_ = false;
  bool connected_ = false;
  bool failed_ = false;
  bool closed_ = false;
  bool disconnecting_ = false;
  int subacks_pending_ = 0;
  int last_publish_qos_ = 0;
  uint64_t qos1_sent_ = 0;
  uint64_t qos1_acked_ = 0;
  uint64_t received_ = 0;
  int64_t connect_started_ns_ = 0;
  int64_t connack_ns_ = 0;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool ok() const { return epfd_ >= 0; }

  // Waits up to timeout_ns for socket events and handles them; calls every client's
  // mosquitto_loop_misc() (keep alive) about once a second.
  void poll(int64_t timeout_ns);

  // Polls until done() returns true (returns true) or deadline_ns passes (returns false).
  // step(), if given, runs before each poll and returns how long the poll may block.
  bool run_until(int64_t deadline_ns, const std::function<bool()>& done,
                 const std::function<int64_t()>& step = {});

  // For Client.
  void add(Client* c, int fd, bool want_out);
  void modify(Client* c, int fd, bool want_out);
  void remove(int fd);
  void track(Client* c) { clients_.insert(c); }
  void untrack(Client* c) { clients_.erase(c); }
  // `c` has input in its coalescing buffer: the next poll() handles it without waiting.
  void mark_ready(Client* c);
  void unmark_ready(Client* c);

 private:
  int epfd_ = -1;
  std::vector<Client*> by_fd_;  // registered client per descriptor
  std::vector<Client*> ready_;
  std::vector<Client*> handling_ready_;  // the ready_ list poll() is working through
  int64_t next_misc_ns_ = 0;
  std::unordered_set<Client*> clients_;
};

}  // namespace topicdb::bench

// MemoryStream: a Stream without a socket, for tests and the in-process harness. The test
// pushes bytes in (delivered to the owner as reads of at most the loop's scratch size) and
// takes out what the owner wrote; writes can be held back to imitate a slow reader.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "net/stream.h"

namespace topicdb::net {

class MemoryStream final : public Stream {
 public:
  // Borrows `buffers`, which must outlive the stream.
  explicit MemoryStream(LoopBuffers* buffers, std::string peer = "memory:0")
      : buffers_(buffers), peer_(std::move(peer)) {}

  // --- the peer's side, driven by the test ----------------------------------------------
  // Bytes from the peer: delivered now while reading, else kept until reading resumes and
  // deliver_pending() or read_now() runs.
  void push(std::string_view bytes);
  // The peer closes its side: reported once what was pushed before it has been delivered.
  void push_eof();
  // Delivers what was kept while reading was stopped (the libuv read watcher's part).
  void deliver_pending();
  // Everything written so far, in order; the test consumes it.
  std::string take_written() { return std::exchange(written_, std::string()); }
  const std::string& written() const { return written_; }
  // Gathered writes (flushes with bytes) so far, and the segments of the last one.
  size_t write_count() const { return write_count_; }
  size_t last_write_segments() const { return last_write_segments_; }
  // While not writable, flushes stay in write (counted by queued_bytes()); making the stream
  // writable again completes them in order.
  void set_writable(bool writable);
  // The user name a transport would vouch for (a TLS stream under --tls-cert-as-username).
  void set_transport_username(std::string name) { transport_username_ = std::move(name); }

  bool reading() const { return reading_; }
  // shutdown_and_drain() was called and the write side is shut (the queued bytes are all
  // written): the peer would read EOF. Bytes pushed while draining are counted and dropped.
  bool write_shut() const { return write_shut_; }
  bool draining() const { return draining_; }
  size_t discarded_bytes() const { return discarded_bytes_; }
  // close() or abort() was called; the peer would see the connection end.
  bool closing() const { return closing_; }
  // Closed with nothing left to write: finish_close() may run.
  bool closed() const { return closed_; }
  // Runs what libuv's close callback does: tells the owner, which may destroy this stream.
  void finish_close();

  // --- Stream ---------------------------------------------------------------------------
  bool start_reading() override;
  void stop_reading() override { reading_ = false; }
  void read_now() override { deliver_pending(); }
  void flush() override;
  void close(bool flush_first) override;
  void shutdown_and_drain() override;
  void abort() override;
  std::string peer() const override { return peer_; }
  std::optional<std::string> transport_username() const override { return transport_username_; }

 private:
  LoopBuffers& buffers() const override { return *buffers_; }
  void complete_writes();
  void end_drain();

  LoopBuffers* buffers_;
  std::string peer_;
  std::optional<std::string> transport_username_;
  std::string pending_;                    // pushed while not reading
  std::deque<OutBuffer::Batch> in_write_;  // flushed while not writable
  std::string written_;
  size_t write_count_ = 0;
  size_t last_write_segments_ = 0;
  size_t discarded_bytes_ = 0;
  bool reading_ = false;
  bool eof_pending_ = false;
  bool writable_ = true;
  bool closing_ = false;
  bool closed_ = false;
  bool close_reported_ = false;
  bool draining_ = false;
  bool write_shut_ = false;
};

}  // namespace topicdb::net

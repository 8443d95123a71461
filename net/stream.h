// Stream: one byte stream on the loop thread (a TCP connection, or an in-memory one in tests):
// reading into the loop's scratch buffer, a gathered write per flush, and closing. It reports
// to one StreamOwner (an MQTT connection, later a node-to-node link) and knows nothing above.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/loop_buffers.h"
#include "net/out_buffer.h"

namespace topicdb::net {

// What a Stream tells its owner. All calls come on the loop thread.
class StreamOwner {
 public:
  enum class End : uint8_t { kPeerClosed, kReadError, kWriteError };

  // Bytes arrived. `bytes` points into the loop's read scratch: valid only during the call.
  virtual void on_stream_data(std::string_view bytes) = 0;
  // `bytes` of the write queue reached the kernel (or the test): queued_bytes() shrank.
  virtual void on_stream_written(size_t bytes) = 0;
  // The peer closed its side, or reading or writing failed. The stream stays usable until the
  // owner calls close() or abort() (it may first process what it had received).
  virtual void on_stream_end(End why) = 0;
  // The stream is closed for good (after close() or abort()); the owner may now destroy it.
  virtual void on_stream_closed() = 0;

 protected:
  ~StreamOwner() = default;
};

class Stream {
 public:
  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Set once, before start_reading().
  void set_owner(StreamOwner* owner) { owner_ = owner; }

  // Starts (or resumes) delivering bytes to the owner; false if the stream cannot read.
  virtual bool start_reading() = 0;
  // Stops delivering bytes; the peer is then held back by its own TCP window.
  virtual void stop_reading() = 0;
  // Delivers what already arrived without waiting for the next poll (a client's first packet
  // is usually there when the connection is accepted).
  virtual void read_now() = 0;

  // The write queue; encoders append in place. Allocated on demand (from the loop's spare
  // buffers) and handed off by flush(), so an idle stream holds no output buffer.
  OutBuffer& out() {
    if (!out_) new_out_buffer();
    return *out_;
  }
  // Writes everything queued in one gathered write.
  virtual void flush() = 0;
  // Lends one of the loop's recycled buffers for work done within a callback (joining a
  // packet split across reads); give it back with return_spare_buffer().
  std::string take_spare_buffer() { return buffers().take_spare_buffer(); }
  void return_spare_buffer(std::string buffer) { buffers().give_spare_buffer(std::move(buffer)); }
  // Bytes queued and not yet handed to the kernel.
  size_t queued_bytes() const { return (out_ ? out_->size() : 0) + bytes_in_write_; }

  // Stops reading and closes. With flush_first, what is queued is written first (then a
  // shutdown, unless everything already went to the kernel: close() then sends it before the
  // FIN). on_stream_closed() follows later, never from inside close().
  virtual void close(bool flush_first) = 0;
  // Writes what is queued, then shuts down the write side (the peer reads everything, then
  // EOF), and keeps reading and discarding what the peer still sends, without telling the
  // owner, until the peer closes or fails; then closes as close() does. Lets a peer that is
  // still writing read our last words instead of a reset (bytes arriving at a closed
  // socket make the kernel send RST, which can destroy unread data at the peer). Has no
  // time limit of its own: the owner ends a linger with close() (stop draining, close once
  // the queued bytes are written) or abort().
  virtual void shutdown_and_drain() = 0;
  // Closes now, dropping unwritten bytes (a close that could not finish).
  virtual void abort() = 0;
  // "host:port" of the peer, looked up on demand (not stored: idle streams are kept small).
  virtual std::string peer() const = 0;
  // A user name the transport itself established, which replaces the one in CONNECT: the
  // TLS client certificate's CN under --tls-cert-as-username. None for plain streams.
  virtual std::optional<std::string> transport_username() const { return std::nullopt; }

 protected:
  Stream() = default;
  virtual LoopBuffers& buffers() const = 0;
  void new_out_buffer() {
    out_ = std::make_unique<OutBuffer>();
    out_->adopt(buffers().take_spare_buffer());
  }

  StreamOwner* owner_ = nullptr;
  std::unique_ptr<OutBuffer> out_;
  // Handed to a write that has not completed. 32 bits leave the rest of the word to a
  // subclass's flags (an idle connection's size is a benchmark target); what one client can
  // have in flight is bounded far below 4 GiB (64 MiB of QoS 0, the in-flight window).
  uint32_t bytes_in_write_ = 0;
};

}  // namespace topicdb::net

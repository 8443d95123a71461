// TcpStream: a Stream over one accepted libuv TCP handle. Reads land in the loop's scratch;
// a flush tries uv_try_write and queues only the rest with uv_write.
#pragma once

#include <memory>
#include <string>

#include <uv.h>

#include "net/stream.h"

namespace topicdb::net {

class TcpStream final : public Stream {
 public:
  // Accepts a pending connection of `server` (TCP_NODELAY set); null if the accept failed.
  // The loop must have LoopBuffers attached.
  static std::unique_ptr<TcpStream> accept(uv_stream_t* server);

  explicit TcpStream(uv_loop_t* loop);
  // The handle must be closed (on_stream_closed() has run) before the stream is destroyed.
  ~TcpStream() override;

  bool start_reading() override;
  void stop_reading() override;
  void read_now() override;
  void flush() override;
  void close(bool flush_first) override;
  void shutdown_and_drain() override;
  void abort() override;
  std::string peer() const override;

 private:
  struct WriteRequest;
  LoopBuffers& buffers() const override { return LoopBuffers::of(handle_.loop); }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&handle_); }
  // Whether uv_close was called (libuv keeps the flag: no member of our own needed).
  bool handle_closing() const {
    return uv_is_closing(reinterpret_cast<const uv_handle_t*>(&handle_)) != 0;
  }
  void close_handle();
  bool start_shutdown();
  void end_drain();

  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_close(uv_handle_t* handle);

  // Declared before the handle so they fill the base's last word.
  bool draining_ = false;              // shutdown_and_drain(): reads are discarded
  bool shutdown_in_progress_ = false;  // a uv_shutdown has not completed yet
  uv_tcp_t handle_;
};

}  // namespace topicdb::net

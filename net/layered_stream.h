// LayeredStream: a Stream that speaks a protocol (TLS, WebSocket) over another Stream it owns:
// it is the inner stream's owner and forwards reading, closing and write progress, so the
// MQTT connection above sees one plain byte stream. Plain TCP never goes through one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/stream.h"

namespace topicdb::net {

class LayeredStream : public Stream, protected StreamOwner {
 public:
  ~LayeredStream() override;

  bool start_reading() override;
  void stop_reading() override;
  void read_now() override;
  void flush() override;
  void close(bool flush_first) override;
  void shutdown_and_drain() override;
  void abort() override;
  std::string peer() const override { return inner_->peer(); }
  std::optional<std::string> transport_username() const override {
    return inner_->transport_username();
  }

 protected:
  // Borrows `buffers` (the loop's), which must outlive the stream.
  LayeredStream(std::unique_ptr<Stream> inner, LoopBuffers* buffers);

  LoopBuffers& buffers() const override { return *buffers_; }
  Stream& inner() { return *inner_; }
  // True once the owner closed (or started to close) this stream: nothing more reaches it.
  bool closing() const { return closing_; }

  // --- what a protocol fills in -----------------------------------------------------------
  // Bytes from the inner stream (valid only during the call).
  virtual void on_inner_data(std::string_view bytes) = 0;
  // Whether the owner's bytes can be encoded now (false while a handshake is under way:
  // they stay queued and flush() runs again once it completes).
  virtual bool ready_to_send() const = 0;
  // Encodes one batch of the owner's bytes into inner().out().
  virtual void encode(const OutBuffer::Batch& batch) = 0;
  // Appends the protocol's goodbye (TLS close_notify, a WebSocket close frame) to
  // inner().out() before an orderly close; may do nothing.
  virtual void encode_goodbye() {}

  // Helpers for the protocol: hand bytes or the end of the stream to the owner, unless the
  // owner is closing; flush what the protocol wrote into the inner stream.
  void deliver(std::string_view bytes) {
    if (!closing_ && owner_ != nullptr) owner_->on_stream_data(bytes);
  }
  void deliver_end(End why);
  void flush_inner() { inner_->flush(); }

 private:
  // StreamOwner (the inner stream reports here).
  void on_stream_data(std::string_view bytes) override;
  void on_stream_written(size_t bytes) override;
  void on_stream_end(End why) override;
  void on_stream_closed() override;

  std::unique_ptr<Stream> inner_;
  LoopBuffers* buffers_;
  bool closing_ = false;
  bool end_reported_ = false;
};

}  // namespace topicdb::net

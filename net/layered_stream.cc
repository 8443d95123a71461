#include "net/layered_stream.h"

#include <algorithm>
#include <utility>

namespace topicdb::net {

LayeredStream::LayeredStream(std::unique_ptr<Stream> inner, LoopBuffers* buffers)
    : inner_(std::move(inner)), buffers_(buffers) {
  inner_->set_owner(this);
}

LayeredStream::~LayeredStream() = default;

bool LayeredStream::start_reading() { return !closing_ && inner_->start_reading(); }

void LayeredStream::stop_reading() { inner_->stop_reading(); }

void LayeredStream::read_now() { inner_->read_now(); }

void LayeredStream::flush() {
  if (closing_ || !out_ || out_->empty() || !ready_to_send()) return;
  OutBuffer::Batch batch = out_->take();
  out_.reset();  // idle streams hold no output buffer
  // The owner's bytes count as in write until the inner stream has written their encoding.
  bytes_in_write_ += static_cast<uint32_t>(batch.total);
  encode(batch);
  buffers_->give_spare_buffer(std::move(batch.owned));
  inner_->flush();
}

void LayeredStream::close(bool flush_first) {
  if (flush_first && !closing_) {
    flush();
    encode_goodbye();
  }
  closing_ = true;
  inner_->close(flush_first);
}

void LayeredStream::shutdown_and_drain() {
  if (closing_) return;
  flush();
  encode_goodbye();
  closing_ = true;
  inner_->shutdown_and_drain();
}

void LayeredStream::abort() {
  closing_ = true;
  out_.reset();
  inner_->abort();
}

void LayeredStream::deliver_end(End why) {
  if (closing_ || end_reported_ || owner_ == nullptr) return;
  end_reported_ = true;
  owner_->on_stream_end(why);
}

void LayeredStream::on_stream_data(std::string_view bytes) {
  if (closing_) return;
  on_inner_data(bytes);
}

// The encoding is larger than what the owner queued (records, frame headers), so written
// bytes are mapped back approximately: at most what is in write per report, and all of it
// once the inner queue is empty, which is what back-pressure waits for.
void LayeredStream::on_stream_written(size_t bytes) {
  if (bytes_in_write_ == 0 || owner_ == nullptr) return;
  size_t done =
      inner_->queued_bytes() == 0 ? bytes_in_write_ : std::min<size_t>(bytes, bytes_in_write_);
  bytes_in_write_ -= static_cast<uint32_t>(done);
  owner_->on_stream_written(done);
}

void LayeredStream::on_stream_end(End why) { deliver_end(why); }

void LayeredStream::on_stream_closed() {
  bytes_in_write_ = 0;
  if (owner_ != nullptr) owner_->on_stream_closed();  // may destroy *this (and the inner)
}

}  // namespace topicdb::net

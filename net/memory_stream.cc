#include "net/memory_stream.h"

#include <algorithm>
#include <utility>

namespace topicdb::net {

bool MemoryStream::start_reading() {
  if (closing_) return false;
  reading_ = true;
  return true;
}

void MemoryStream::push(std::string_view bytes) {
  if (draining_) {
    discarded_bytes_ += bytes.size();  // read and dropped, never shown to the owner
    return;
  }
  if (closing_) return;  // a closed socket drops what still arrives
  pending_.append(bytes);
  deliver_pending();
}

void MemoryStream::push_eof() {
  if (draining_) {
    end_drain();
    return;
  }
  eof_pending_ = true;
  deliver_pending();
}

// Like socket reads: the owner sees the bytes in the loop's scratch buffer, at most its size
// at a time; if the owner stops reading, the rest waits.
void MemoryStream::deliver_pending() {
  std::string& scratch = buffers_->read_scratch();
  while (reading_ && !closing_ && !pending_.empty()) {
    size_t n = std::min(pending_.size(), scratch.size());
    std::copy_n(pending_.data(), n, scratch.data());
    pending_.erase(0, n);
    owner_->on_stream_data(std::string_view(scratch.data(), n));
  }
  if (eof_pending_ && pending_.empty() && reading_ && !closing_) {
    eof_pending_ = false;
    owner_->on_stream_end(StreamOwner::End::kPeerClosed);
  }
}

void MemoryStream::flush() {
  if (closed_ || !out_ || out_->empty()) return;
  OutBuffer::Batch batch = out_->take();
  out_.reset();
  ++write_count_;
  last_write_segments_ = batch.segments.size();
  bytes_in_write_ += static_cast<uint32_t>(batch.total);
  in_write_.push_back(std::move(batch));
  if (writable_) complete_writes();
}

void MemoryStream::set_writable(bool writable) {
  writable_ = writable;
  if (writable_) complete_writes();
}

void MemoryStream::complete_writes() {
  while (!in_write_.empty() && !closed_) {
    OutBuffer::Batch batch = std::move(in_write_.front());
    in_write_.pop_front();
    for (const OutBuffer::Batch::Segment& s : batch.segments) {
      const std::string& base = s.shared_index < 0 ? batch.owned : *batch.shared[s.shared_index];
      written_.append(base, s.offset, s.length);
    }
    bytes_in_write_ -= static_cast<uint32_t>(batch.total);
    buffers_->give_spare_buffer(std::move(batch.owned));
    owner_->on_stream_written(batch.total);
  }
  // A close that waited for the writes (close(true) while not writable) ends here; a drain
  // shuts the write side instead and goes on reading.
  if (closing_ && in_write_.empty()) {
    if (draining_) {
      write_shut_ = true;
    } else {
      closed_ = true;
    }
  }
}

void MemoryStream::close(bool flush_first) {
  if (draining_ && flush_first) {
    end_drain();
    return;
  }
  if (draining_) {
    abort();
    return;
  }
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  if (!flush_first) {
    abort();
    return;
  }
  flush();
  if (in_write_.empty()) closed_ = true;
}

void MemoryStream::shutdown_and_drain() {
  if (closing_) return;
  closing_ = true;
  draining_ = true;
  reading_ = false;
  pending_.clear();  // not yet delivered: dropped like what arrives from now on
  const bool peer_closed = std::exchange(eof_pending_, false);
  flush();
  if (in_write_.empty()) write_shut_ = true;
  if (peer_closed) end_drain();
}

// The peer closed, or the owner ended the linger: closed once the writes are done.
void MemoryStream::end_drain() {
  draining_ = false;
  if (in_write_.empty()) closed_ = true;
}

void MemoryStream::abort() {
  draining_ = false;
  closing_ = true;
  reading_ = false;
  closed_ = true;
  bytes_in_write_ = 0;
  in_write_.clear();
  out_.reset();
}

void MemoryStream::finish_close() {
  if (!closed_ || close_reported_) return;
  close_reported_ = true;
  owner_->on_stream_closed();  // may destroy *this
}

}  // namespace topicdb::net

// LoopBuffers: scratch space and recycled buffers shared by every stream of one libuv loop.
// Owned beside the loop (app/server.cc) and found through uv_loop_t::data, so a stream pays
// no pointer for it: idle connections are kept small.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <vector>

#include <uv.h>

namespace topicdb::net {

class LoopBuffers {
 public:
  static constexpr size_t kReadScratchSize = 64 * 1024;
  static constexpr size_t kDecodeScratchSize = 16 * 1024;  // a TLS record's largest plaintext

  // With a loop, attaches itself as the loop's `data` until destroyed; nothing else on the
  // loop may use that field.
  explicit LoopBuffers(uv_loop_t* loop = nullptr)
      : loop_(loop), read_scratch_(kReadScratchSize, '\0') {
    if (loop_ != nullptr) loop_->data = this;
  }
  ~LoopBuffers() {
    if (loop_ != nullptr) loop_->data = nullptr;
  }
  LoopBuffers(const LoopBuffers&) = delete;
  LoopBuffers& operator=(const LoopBuffers&) = delete;

  // The buffers attached to `loop`.
  static LoopBuffers& of(uv_loop_t* loop) {
    assert(loop->data != nullptr);
    return *static_cast<LoopBuffers*>(loop->data);
  }

  // Every stream reads into this one buffer; the owner consumes the bytes in the callback, so
  // an idle stream holds no read buffer.
  std::string& read_scratch() { return read_scratch_; }

  // Where a layered stream (TLS) decodes into while the bytes it decodes still lie in the
  // read scratch. Sized on first use: a loop without such streams never allocates it.
  std::string& decode_scratch() {
    if (decode_scratch_.empty()) decode_scratch_.resize(kDecodeScratchSize);
    return decode_scratch_;
  }

  // Output buffers are recycled: fan-out refills the same buffers every loop turn, and
  // growing fresh ones each time costs reallocations and page faults.
  std::string take_spare_buffer() {
    if (spare_buffers_.empty()) return std::string();
    std::string buffer = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
    return buffer;
  }
  void give_spare_buffer(std::string buffer) {
    constexpr size_t kMaxSpare = 64;  // at most 8 MiB kept for reuse
    constexpr size_t kMaxSpareCapacity = 128 * 1024;
    if (spare_buffers_.size() < kMaxSpare && buffer.capacity() > 64 &&
        buffer.capacity() <= kMaxSpareCapacity) {
      spare_buffers_.push_back(std::move(buffer));
    }
  }
  size_t spare_count() const { return spare_buffers_.size(); }

  // The iovec array of the gathered write under way.
  std::vector<uv_buf_t>& iov_scratch() { return iov_scratch_; }

 private:
  uv_loop_t* loop_;
  std::string read_scratch_;
  std::string decode_scratch_;
  std::vector<std::string> spare_buffers_;
  std::vector<uv_buf_t> iov_scratch_;
};

}  // namespace topicdb::net

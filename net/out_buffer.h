// OutBuffer: bytes waiting to be written to one stream during a loop turn. Small packets
// are copied into one owned string; large shared buffers (an encoded PUBLISH or a payload
// used by many subscribers) are referenced, not copied. take() hands everything to one
// gathered write.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

namespace topicdb::net {

using SharedBytes = std::shared_ptr<const std::string>;

class OutBuffer {
 public:
  // What one gathered write owns until libuv is done with it.
  struct Batch {
    std::string owned;
    std::vector<SharedBytes> shared;  // keeps referenced buffers alive
    // Segments in write order: shared_index < 0 means a range of `owned`.
    struct Segment {
      int shared_index;
      size_t offset;
      size_t length;
    };
    std::vector<Segment> segments;
    size_t total = 0;
    // Builds the uv_buf_t list; pointers stay valid while the Batch is not modified.
    void to_bufs(std::vector<uv_buf_t>* bufs) const;
  };

  // Copies bytes in (acks, headers, small packets).
  void append(std::string_view bytes);
  // The owned area itself, for encoders that append in place (saves a copy).
  std::string& owned_tail() { return batch_.owned; }
  // References a shared buffer without copying.
  void append_shared(SharedBytes bytes);

  // Starts the owned area with a recycled buffer (its capacity is what is reused).
  void adopt(std::string buffer) {
    buffer.clear();
    batch_.owned = std::move(buffer);
  }

  size_t size() const { return batch_.total + (batch_.owned.size() - owned_mark_); }
  bool empty() const { return size() == 0; }
  Batch take();

 private:
  void seal_owned();

  Batch batch_;
  size_t owned_mark_ = 0;  // bytes of batch_.owned already covered by a segment
};

}  // namespace topicdb::net

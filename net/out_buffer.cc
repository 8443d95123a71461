#include "net/out_buffer.h"

namespace topicdb::net {

void OutBuffer::Batch::to_bufs(std::vector<uv_buf_t>* bufs) const {
  bufs->clear();
  bufs->reserve(segments.size());
  for (const Segment& s : segments) {
    const char* base = s.shared_index < 0 ? owned.data() : shared[s.shared_index]->data();
    bufs->push_back(
        uv_buf_init(const_cast<char*>(base + s.offset), static_cast<unsigned>(s.length)));
  }
}

// Bytes appended to `owned` since the last segment become one segment; adjacent owned
// ranges are merged so a burst of acks becomes one buffer.
void OutBuffer::seal_owned() {
  size_t len = batch_.owned.size() - owned_mark_;
  if (len == 0) return;
  if (!batch_.segments.empty() && batch_.segments.back().shared_index < 0 &&
      batch_.segments.back().offset + batch_.segments.back().length == owned_mark_) {
    batch_.segments.back().length += len;
  } else {
    batch_.segments.push_back({-1, owned_mark_, len});
  }
  batch_.total += len;
  owned_mark_ = batch_.owned.size();
}

void OutBuffer::append(std::string_view bytes) { batch_.owned.append(bytes); }

void OutBuffer::append_shared(SharedBytes bytes) {
  if (bytes->empty()) return;
  seal_owned();
  batch_.segments.push_back({static_cast<int>(batch_.shared.size()), 0, bytes->size()});
  batch_.total += bytes->size();
  batch_.shared.push_back(std::move(bytes));
}

OutBuffer::Batch OutBuffer::take() {
  seal_owned();
  Batch out = std::move(batch_);
  batch_ = Batch();
  owned_mark_ = 0;
  return out;
}

}  // namespace topicdb::net

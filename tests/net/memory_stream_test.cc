#include "net/memory_stream.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace topicdb::net {
namespace {

// Records what the stream reports; the reads are copied out of the scratch buffer.
class MemoryRecordingOwner final : public StreamOwner {
 public:
  void on_stream_data(std::string_view bytes) override {
    reads.emplace_back(bytes);
    if (stop_after_first_read) stream->stop_reading();
  }
  void on_stream_written(size_t bytes) override { written += bytes; }
  void on_stream_end(End why) override { ends.push_back(why); }
  void on_stream_closed() override { ++closed; }

  MemoryStream* stream = nullptr;
  bool stop_after_first_read = false;
  std::vector<std::string> reads;
  size_t written = 0;
  std::vector<End> ends;
  int closed = 0;
};

class MemoryStreamTest : public ::testing::Test {
 protected:
  MemoryStreamTest() {
    stream_.set_owner(&owner_);
    owner_.stream = &stream_;
  }
  LoopBuffers buffers_;
  MemoryStream stream_{&buffers_, "10.0.0.1:1883"};
  MemoryRecordingOwner owner_;
};

TEST_F(MemoryStreamTest, BytesWaitUntilReadingStarts) {
  stream_.push("abc");
  EXPECT_TRUE(owner_.reads.empty());
  ASSERT_TRUE(stream_.start_reading());
  EXPECT_TRUE(owner_.reads.empty());  // like libuv: delivered by the next read, not at start
  stream_.read_now();
  ASSERT_EQ(owner_.reads.size(), 1u);
  EXPECT_EQ(owner_.reads[0], "abc");
  stream_.push("de");
  ASSERT_EQ(owner_.reads.size(), 2u);
  EXPECT_EQ(owner_.reads[1], "de");
  EXPECT_EQ(stream_.peer(), "10.0.0.1:1883");
}

TEST_F(MemoryStreamTest, ReadsAreViewsIntoTheLoopScratchOfAtMostItsSize) {
  stream_.start_reading();
  std::string big(LoopBuffers::kReadScratchSize + 10, 'x');
  stream_.push(big);
  ASSERT_EQ(owner_.reads.size(), 2u);
  EXPECT_EQ(owner_.reads[0].size(), LoopBuffers::kReadScratchSize);
  EXPECT_EQ(owner_.reads[1].size(), 10u);
}

TEST_F(MemoryStreamTest, StoppingInsideAReadKeepsTheRestInOrder) {
  stream_.start_reading();
  owner_.stop_after_first_read = true;
  stream_.push(std::string(LoopBuffers::kReadScratchSize, 'a') + "bc");
  ASSERT_EQ(owner_.reads.size(), 1u);
  stream_.push("d");
  EXPECT_EQ(owner_.reads.size(), 1u);
  owner_.stop_after_first_read = false;
  stream_.start_reading();
  stream_.deliver_pending();
  ASSERT_EQ(owner_.reads.size(), 2u);
  EXPECT_EQ(owner_.reads[1], "bcd");
}

TEST_F(MemoryStreamTest, EofIsReportedAfterThePushedBytes) {
  stream_.push("x");
  stream_.push_eof();
  EXPECT_TRUE(owner_.ends.empty());
  stream_.start_reading();
  stream_.read_now();
  ASSERT_EQ(owner_.reads.size(), 1u);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], StreamOwner::End::kPeerClosed);
}

TEST_F(MemoryStreamTest, AFlushIsOneGatheredWrite) {
  auto shared = std::make_shared<const std::string>("SHARED");
  stream_.out().append("ab");
  stream_.out().append_shared(shared);
  stream_.out().append("cd");
  EXPECT_EQ(stream_.queued_bytes(), 10u);
  stream_.flush();
  EXPECT_EQ(stream_.write_count(), 1u);
  EXPECT_EQ(stream_.last_write_segments(), 3u);
  EXPECT_EQ(stream_.take_written(), "abSHAREDcd");
  EXPECT_EQ(owner_.written, 10u);
  EXPECT_EQ(stream_.queued_bytes(), 0u);
  stream_.flush();  // nothing queued: no write
  EXPECT_EQ(stream_.write_count(), 1u);
}

TEST_F(MemoryStreamTest, HeldWritesCountAsQueuedUntilWritable) {
  stream_.set_writable(false);
  stream_.out().append("hello");
  stream_.flush();
  EXPECT_EQ(stream_.queued_bytes(), 5u);
  EXPECT_EQ(owner_.written, 0u);
  EXPECT_TRUE(stream_.written().empty());
  stream_.set_writable(true);
  EXPECT_EQ(stream_.queued_bytes(), 0u);
  EXPECT_EQ(owner_.written, 5u);
  EXPECT_EQ(stream_.written(), "hello");
}

TEST_F(MemoryStreamTest, CloseWithFlushWritesFirstAndReportsClosedOnce) {
  stream_.start_reading();
  stream_.out().append("bye");
  stream_.close(true);
  EXPECT_TRUE(stream_.closing());
  EXPECT_TRUE(stream_.closed());
  EXPECT_FALSE(stream_.reading());
  EXPECT_EQ(stream_.written(), "bye");
  EXPECT_EQ(owner_.closed, 0);  // never from inside close()
  stream_.finish_close();
  stream_.finish_close();
  EXPECT_EQ(owner_.closed, 1);
  stream_.push("late");
  EXPECT_TRUE(owner_.reads.empty());
}

TEST_F(MemoryStreamTest, CloseWaitsForHeldWritesAndAbortDropsThem) {
  stream_.set_writable(false);
  stream_.out().append("one");
  stream_.close(true);
  EXPECT_TRUE(stream_.closing());
  EXPECT_FALSE(stream_.closed());
  stream_.finish_close();
  EXPECT_EQ(owner_.closed, 0);
  stream_.abort();
  EXPECT_TRUE(stream_.closed());
  EXPECT_EQ(stream_.queued_bytes(), 0u);
  EXPECT_TRUE(stream_.written().empty());
  stream_.finish_close();
  EXPECT_EQ(owner_.closed, 1);
}

TEST_F(MemoryStreamTest, SpareBuffersAreRecycled) {
  stream_.out().append(std::string(1000, 'z'));
  stream_.flush();
  EXPECT_EQ(buffers_.spare_count(), 1u);
  stream_.out().append("a");
  EXPECT_EQ(buffers_.spare_count(), 0u);  // the next queue starts with the recycled buffer
}

// shutdown_and_drain: the queued bytes go out, the write side shuts, and what the peer
// still sends is dropped without reaching the owner until the peer's EOF closes the stream.
TEST_F(MemoryStreamTest, ShutdownAndDrainDiscardsInputUntilThePeerCloses) {
  stream_.start_reading();
  stream_.out().append("reason");
  stream_.shutdown_and_drain();
  EXPECT_EQ(stream_.written(), "reason");
  EXPECT_TRUE(stream_.write_shut());
  EXPECT_TRUE(stream_.closing());
  EXPECT_FALSE(stream_.closed());
  stream_.push("still sending");
  EXPECT_TRUE(owner_.reads.empty());
  EXPECT_EQ(stream_.discarded_bytes(), 13u);
  stream_.push_eof();
  EXPECT_TRUE(owner_.ends.empty()) << "the owner hears of the end through on_stream_closed";
  ASSERT_TRUE(stream_.closed());
  stream_.finish_close();
  EXPECT_EQ(owner_.closed, 1);
}

// The write side shuts only after held writes complete; a close() during the drain (the
// owner's time limit) ends it once they are written, abort() at once.
TEST_F(MemoryStreamTest, ShutdownAndDrainWaitsForWritesAndCloseEndsIt) {
  stream_.start_reading();
  stream_.set_writable(false);
  stream_.out().append("reason");
  stream_.shutdown_and_drain();
  EXPECT_FALSE(stream_.write_shut());
  EXPECT_EQ(stream_.queued_bytes(), 6u);
  stream_.close(true);
  EXPECT_FALSE(stream_.closed());
  stream_.set_writable(true);
  EXPECT_EQ(stream_.written(), "reason");
  EXPECT_TRUE(stream_.closed());

  MemoryStream other(&buffers_);
  MemoryRecordingOwner other_owner;
  other.set_owner(&other_owner);
  other.set_writable(false);
  other.out().append("lost");
  other.shutdown_and_drain();
  other.abort();
  EXPECT_TRUE(other.closed());
  EXPECT_EQ(other.queued_bytes(), 0u);
}

// Bytes that arrived but were not delivered (reading stopped) are dropped too, and an EOF
// that had already arrived ends the drain as soon as the writes are done.
TEST_F(MemoryStreamTest, ShutdownAndDrainAfterThePeerAlreadyClosed) {
  stream_.push("unread");
  stream_.push_eof();
  stream_.shutdown_and_drain();
  EXPECT_TRUE(owner_.reads.empty());
  EXPECT_TRUE(stream_.closed());
}

}  // namespace
}  // namespace topicdb::net

// The sync thread of StoreThread: makes commits durable off the commit path (immediate: as
// soon as a group commits; periodic, none: at most once per interval). See store_thread.h
// and docs/durability.md.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/log.h"
#include "storage/store_thread.h"

namespace topicdb::storage {

void StoreThread::wake_syncer() {
  // Under sync_mu_, so the wake-up cannot fall between the sync thread's check and its wait;
  // skipped while it is not idle: it looks at committed_ticket() again before it waits.
  std::lock_guard lock(sync_mu_);
  if (!sync_idle_) return;
  sync_idle_ = false;
  sync_cv_.notify_one();
}

void StoreThread::run_syncs() {
  using SteadyClock = std::chrono::steady_clock;
  // Immediate syncs back to back: each sync covers every group committed while the one
  // before it ran, so the store thread never waits for the disk.
  const auto interval = std::chrono::milliseconds(
      options_.durability == Durability::kImmediate ? 0 : options_.durability_interval_ms);
  SteadyClock::time_point last_sync{};  // long ago: the first commit is synced at once
  // A failed group stops committed_ticket(), not the syncs: what committed before it is
  // still made durable (and acknowledged). A failed sync stops them for good: after an
  // fdatasync error the kernel may have dropped the dirty pages, so a later sync that
  // succeeds would prove nothing.
  auto pending = [this] {
    return committed_ticket() > durable_ticket() && !sync_failed_.load(std::memory_order_relaxed);
  };
  std::unique_lock lock(sync_mu_);
  for (;;) {
    sync_idle_ = true;
    sync_cv_.wait(lock, [&] { return sync_stop_ || sync_requested_ || pending(); });
    sync_idle_ = false;
    if (!pending()) {
      // Everything committed is durable already (or never will be: a sync failed).
      sync_requested_ = false;
      sync_done_cv_.notify_all();
      if (sync_stop_) return;
      continue;
    }
    // At most one sync per interval unless one is asked for (flush, close): under load each
    // sync covers every group committed since the last one. A commit waits at most
    // max(interval, the running sync) plus its own sync.
    sync_cv_.wait_until(lock, last_sync + interval,
                        [this] { return sync_stop_ || sync_requested_; });
    sync_requested_ = false;
    // Read before the sync: every write of these commits reached the kernel before it.
    uint64_t target = committed_ticket();
    last_sync = SteadyClock::now();
    lock.unlock();
    Status synced = sync_files();
    if (synced.is_ok()) {
      durable_ticket_.store(target, std::memory_order_release);
      syncs_.fetch_add(1, std::memory_order_relaxed);
      auto took =
          std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - last_sync);
      uint64_t us = static_cast<uint64_t>(took.count());
      if (us > longest_sync_us_.load(std::memory_order_relaxed)) {
        longest_sync_us_.store(us, std::memory_order_relaxed);
      }
    } else {
      fail(synced);  // durability can no longer be promised: durable_ticket() stops
      // After fail(): whoever sees the flag finds health() already saying why.
      sync_failed_.store(true, std::memory_order_release);
    }
    if (async_ != nullptr) uv_async_send(async_);
    lock.lock();
    sync_done_cv_.notify_all();
  }
}

Status StoreThread::sync_files() {
  // fdatasync, not PRAGMA wal_checkpoint: one flush of the WAL's new frames, on this thread,
  // while the store thread keeps committing; a checkpoint would copy every page into the
  // database file under the write connection's lock and sync twice.
  if (fdatasync(wal_fd_) != 0) {
    return Status::io_error(
        fmt::format("database: fdatasync of {}-wal failed: {}", path_, std::strerror(errno)));
  }
  if (db_fd_ >= 0 && fdatasync(db_fd_) != 0) {
    return Status::io_error(
        fmt::format("database: fdatasync of {} failed: {}", path_, std::strerror(errno)));
  }
  return Status::ok();
}

void StoreThread::break_sync_for_testing() {
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return;
  ::dup2(null_fd, wal_fd_);  // atomic: the sync thread sees the old file or /dev/null
  ::close(null_fd);
}

void StoreThread::wait_durable() {
  if (!sync_thread_.joinable()) return;
  uint64_t target = committed_ticket();
  std::unique_lock lock(sync_mu_);
  sync_requested_ = true;
  sync_cv_.notify_one();
  sync_done_cv_.wait(lock, [&] {
    return durable_ticket() >= target || sync_failed_.load(std::memory_order_relaxed);
  });
}

}  // namespace topicdb::storage

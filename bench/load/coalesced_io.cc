#include "bench/load/coalesced_io.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace topicdb::bench::coalesced_io {
namespace {

constexpr size_t kInputChunk = 64 * 1024;
constexpr size_t kOutputLimit = 64 * 1024;

struct SocketBuffers {
  std::vector<char> in = std::vector<char>(kInputChunk);
  size_t in_pos = 0;
  size_t in_len = 0;
  std::vector<char> out;
  size_t out_pos = 0;  // out[out_pos, out.size()) is pending
  int error = 0;       // a failed send, reported by the next read() or write()
  bool dirty = false;  // listed in g_dirty
};

bool g_enabled = true;
std::vector<std::unique_ptr<SocketBuffers>> g_sockets;  // indexed by descriptor
std::vector<int> g_dirty;

SocketBuffers* lookup(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= g_sockets.size()) return nullptr;
  return g_sockets[static_cast<size_t>(fd)].get();
}

// The real calls: raw syscalls, so that nothing here depends on which library's read()
// or write() comes next in the symbol lookup order (a sanitizer runtime intercepts them too).
ssize_t sys_read(int fd, void* buf, size_t n) { return syscall(SYS_read, fd, buf, n); }
ssize_t sys_write(int fd, const void* buf, size_t n) { return syscall(SYS_write, fd, buf, n); }
int sys_close(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }

size_t pending(const SocketBuffers& s) { return s.out.size() - s.out_pos; }

// Returns true when nothing is left pending.
bool flush_socket(int fd, SocketBuffers& s) {
  while (pending(s) > 0) {
    ssize_t n = send(fd, s.out.data() + s.out_pos, pending(s), MSG_NOSIGNAL);
    if (n > 0) {
      s.out_pos += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    s.error = n < 0 ? errno : EPIPE;
    break;
  }
  s.out.clear();
  s.out_pos = 0;
  return true;
}

}  // namespace

void set_enabled(bool enabled) { g_enabled = enabled; }
bool enabled() { return g_enabled; }

// A forked worker inherits the parent's client sockets and their buffers: the sockets stay
// the parent's to use, so the child forgets them instead of ever flushing the parent's
// pending bytes (which would send them twice).
namespace {
void forget_all_in_child() {
  g_sockets.clear();
  g_dirty.clear();
}
}  // namespace

void attach(int fd) {
  if (!g_enabled || fd < 0) return;
  static const bool registered = pthread_atfork(nullptr, nullptr, &forget_all_in_child) == 0;
  (void)registered;
  if (static_cast<size_t>(fd) >= g_sockets.size()) g_sockets.resize(static_cast<size_t>(fd) + 1);
  g_sockets[static_cast<size_t>(fd)] = std::make_unique<SocketBuffers>();
}

bool has_buffered_input(int fd) {
  SocketBuffers* s = lookup(fd);
  return s != nullptr && s->in_pos < s->in_len;
}

bool has_pending_output(int fd) {
  SocketBuffers* s = lookup(fd);
  return s != nullptr && pending(*s) > 0;
}

bool flush(int fd) {
  SocketBuffers* s = lookup(fd);
  return s == nullptr || flush_socket(fd, *s);
}

void flush_all(const std::function<void(int fd)>& still_pending) {
  std::vector<int> dirty;
  dirty.swap(g_dirty);
  for (int fd : dirty) {
    SocketBuffers* s = lookup(fd);
    if (s == nullptr || !s->dirty) continue;
    if (flush_socket(fd, *s)) {
      s->dirty = false;
    } else {
      g_dirty.push_back(fd);
      still_pending(fd);
    }
  }
}

}  // namespace topicdb::bench::coalesced_io

using topicdb::bench::coalesced_io::g_dirty;
using topicdb::bench::coalesced_io::kOutputLimit;
using topicdb::bench::coalesced_io::lookup;
using topicdb::bench::coalesced_io::pending;
using topicdb::bench::coalesced_io::SocketBuffers;

// The interposed calls. The executable's definitions come first in the dynamic symbol
// lookup, so libmosquitto's read()/write()/close() land here.
extern "C" ssize_t read(int fd, void* buf, size_t n) {
  SocketBuffers* s = lookup(fd);
  if (s == nullptr) return topicdb::bench::coalesced_io::sys_read(fd, buf, n);
  if (s->in_pos == s->in_len) {
    if (s->error != 0) {
      errno = s->error;
      return -1;
    }
    ssize_t got = recv(fd, s->in.data(), s->in.size(), 0);
    if (got <= 0) return got;
    s->in_pos = 0;
    s->in_len = static_cast<size_t>(got);
  }
  size_t take = std::min(n, s->in_len - s->in_pos);
  std::memcpy(buf, s->in.data() + s->in_pos, take);
  s->in_pos += take;
  return static_cast<ssize_t>(take);
}

extern "C" ssize_t write(int fd, const void* buf, size_t n) {
  SocketBuffers* s = lookup(fd);
  if (s == nullptr) return topicdb::bench::coalesced_io::sys_write(fd, buf, n);
  if (s->error != 0) {
    errno = s->error;
    return -1;
  }
  if (pending(*s) + n > kOutputLimit) {
    topicdb::bench::coalesced_io::flush_socket(fd, *s);
    if (s->error != 0) {
      errno = s->error;
      return -1;
    }
    if (pending(*s) == 0 && n > kOutputLimit) {
      return send(fd, buf, n, MSG_NOSIGNAL);  // too big to gather: straight to the kernel
    }
    if (pending(*s) + n > kOutputLimit) {
      errno = EAGAIN;  // the kernel is full too: libmosquitto keeps the packet queued
      return -1;
    }
  }
  const char* bytes = static_cast<const char*>(buf);
  s->out.insert(s->out.end(), bytes, bytes + n);
  if (!s->dirty) {
    s->dirty = true;
    g_dirty.push_back(fd);
  }
  return static_cast<ssize_t>(n);
}

// A closing client socket gets one last non-blocking flush (libmosquitto closes right after
// writing DISCONNECT), and its buffers go, since the number will be reused.
extern "C" int close(int fd) {
  SocketBuffers* s = lookup(fd);
  if (s != nullptr) {
    topicdb::bench::coalesced_io::flush_socket(fd, *s);
    topicdb::bench::coalesced_io::g_sockets[static_cast<size_t>(fd)].reset();
  }
  return topicdb::bench::coalesced_io::sys_close(fd);
}

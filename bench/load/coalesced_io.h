// Read and write coalescing for the load tool's client sockets.
//
// libmosquitto reads every packet with three read() calls (type byte, remaining length,
// body) and writes every PUBACK with its own write(). At several hundred thousand messages
// per second on two shared cores those syscalls made the load tool, not the broker, set the
// pace of the fan-out scenarios (and every PUBACK reached the broker as its own TCP segment).
// The tool therefore interposes read(), write() and close() for the sockets it attaches:
//   - reads are served from a 64 KiB buffer that one recv() fills;
//   - writes are gathered and sent once per loop turn (EventLoop::poll flushes them before
//     it waits), or sooner when 64 KiB are pending. When the kernel takes no more, write()
//     reports EAGAIN so libmosquitto queues the packet and mosquitto_want_write() turns true,
//     exactly as without the buffer.
// Every other descriptor (files, pipes, /proc) passes straight through. The same tool runs
// against every broker, so the comparison stays fair; `--no-coalesce` turns it off.
//
// The load tool is single-threaded per process (subscriber processes are forked), so the
// state here needs no locking.
#pragma once

#include <functional>

namespace topicdb::bench::coalesced_io {

// Off: attach() does nothing and every call passes through. On by default.
void set_enabled(bool enabled);
bool enabled();

// Starts coalescing for a connected (or connecting) client socket.
void attach(int fd);

// Bytes read from the kernel that libmosquitto has not consumed yet. epoll cannot see them,
// so the loop must call the client's read path again itself.
bool has_buffered_input(int fd);

// Bytes gathered but not yet taken by the kernel.
bool has_pending_output(int fd);

// Sends what is pending on `fd`; true when nothing remains (an error also leaves nothing:
// the next read() or write() reports it).
bool flush(int fd);

// Flushes every descriptor with pending output; calls still_pending(fd) for each one the
// kernel did not fully take (it needs EPOLLOUT).
void flush_all(const std::function<void(int fd)>& still_pending);

}  // namespace topicdb::bench::coalesced_io

// A SQLite VFS that writes each commit's WAL frames with one write instead of two per frame.
//
// SQLite writes a WAL frame as two pwrites, its 24-byte header and then the page. A group
// commit of constrained creates writes ~120 frames (the foreign-key reverse index alone
// dirties one leaf per parent), so ~240 system calls; on the machines we measure on a pwrite
// costs ~1.5 us, most of it the call itself. This VFS wraps the default one and, for WAL
// files only, keeps contiguous writes in a buffer and hands them to the real file as one
// write: when the frame that commits a transaction (a frame header whose "database size
// after commit" field is set) has been written, or that header alone when it is rewritten
// (SQLite rewrites frame headers with new checksums at commit), before any other operation
// on the WAL file (read, sync, size, truncate, close, file control), when a write does not
// continue the buffer, and when the buffer is full.
//
// Why this is safe: other connections learn of new frames only from the wal-index header
// that SQLite publishes after the commit frame is written, and by then the frames are in the
// file (an error of that write fails the commit, as an error of SQLite's own write would).
// Frames written before the commit frame (a spill of the page cache mid-transaction) are not
// visible to anyone until that commit. The connection's own reads of the WAL flush first.
// As a backstop against a SQLite whose frame writes look different, the main database file's
// shared-memory barrier (which SQLite calls before it publishes the header) flushes too;
// tests check that it never finds anything to write.
//
// Only the store connection (the one writer) opens files through it.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace topicdb::storage {

// Registers the VFS (once per process; later calls do nothing) and returns its name for
// sqlite3_open_v2.
Result<const char*> wal_batching_vfs();

// Process-wide counts, for tests: flushes of the buffer to the real file and their bytes, and
// flushes the backstop had to do (0 unless SQLite's frame writes changed).
struct WalBatchingStats {
  uint64_t flushes = 0;
  uint64_t flushed_bytes = 0;
  uint64_t backstop_flushes = 0;
};
WalBatchingStats wal_batching_stats();

}  // namespace topicdb::storage

#include "storage/wal_batching_vfs.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/log.h"

namespace topicdb::storage {
namespace {

constexpr char kVfsName[] = "topicdb-wal-batching";
// A WAL frame header: page number, database size after commit (0 unless the frame commits),
// salts and checksums.
constexpr int kFrameHeaderBytes = 24;
// A transaction larger than this goes out in several flushes.
constexpr size_t kBufferBytes = size_t{4} << 20;
// The unix VFS writes at most 128 KiB - 1 bytes per pwrite (it masks the length with
// 0x1ffff, so a 4 MiB write would write nothing and fail as "disk full"): a flush hands it
// pieces of at most this.
constexpr size_t kMaxWriteBytes = (size_t{128} << 10) - 4096;

std::atomic<uint64_t> g_flushes{0};
std::atomic<uint64_t> g_flushed_bytes{0};
std::atomic<uint64_t> g_backstop_flushes{0};

sqlite3_vfs* g_real = nullptr;  // the default VFS, which does the I/O
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

// What SQLite allocates for each open file (szOsFile): this, then the real VFS's file.
struct BatchFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool is_wal;
  BatchFile* wal;  // a main database file: its WAL while that is open (for the backstop)
  BatchFile* db;   // a WAL: its main database file
  char* buffer;    // a WAL: writes not yet handed to `real`, from file offset `start`
  size_t used;
  sqlite3_int64 start;
  bool flush_after_next_write;  // a commit frame's header is buffered; its page comes next
  // Offset of the WAL read just before this write, else -1. SQLite rewrites frame headers
  // (walRewriteChecksums, after a transaction overwrote one of its own spilled frames) by
  // reading each frame at its header's offset and writing the header back: no page follows
  // the commit frame's rewritten header, so it is flushed at once.
  sqlite3_int64 last_read_offset;
};

constexpr size_t kRealOffset = (sizeof(BatchFile) + 7) & ~size_t{7};

BatchFile* batch(sqlite3_file* file) { return reinterpret_cast<BatchFile*>(file); }
const sqlite3_io_methods* real_methods(BatchFile* f) { return f->real->pMethods; }

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

int flush(BatchFile* f) {
  if (f->used == 0) return SQLITE_OK;
  size_t bytes = f->used;
  f->used = 0;  // on an error SQLite fails the transaction; the frames are not kept
  f->flush_after_next_write = false;
  g_flushes.fetch_add(1, std::memory_order_relaxed);
  g_flushed_bytes.fetch_add(bytes, std::memory_order_relaxed);
  for (size_t done = 0; done < bytes;) {
    size_t piece = std::min(bytes - done, kMaxWriteBytes);
    int rc = real_methods(f)->xWrite(f->real, f->buffer + done, static_cast<int>(piece),
                                     f->start + static_cast<sqlite3_int64>(done));
    if (rc != SQLITE_OK) return rc;
    done += piece;
  }
  return SQLITE_OK;
}

int write_wal(BatchFile* f, const void* data, int amount, sqlite3_int64 offset) {
  const size_t size = static_cast<size_t>(amount);
  // Taken before a flush below clears it: this write is the commit frame's page.
  const bool commit_page = f->flush_after_next_write;
  const bool rewrite = offset == f->last_read_offset;
  f->last_read_offset = -1;
  const bool continues = f->used > 0 && offset == f->start + static_cast<sqlite3_int64>(f->used);
  if (f->used > 0 && (!continues || f->used + size > kBufferBytes || size > kMaxWriteBytes)) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->buffer == nullptr) {
    f->buffer = static_cast<char*>(sqlite3_malloc64(kBufferBytes));
  }
  if (f->buffer == nullptr || size > kMaxWriteBytes) {
    return real_methods(f)->xWrite(f->real, data, amount, offset);  // unbatched
  }
  if (f->used == 0) f->start = offset;
  std::memcpy(f->buffer + f->used, data, size);
  f->used += size;
  const auto* bytes = static_cast<const unsigned char*>(data);
  const bool commit_frame_header = size == kFrameHeaderBytes && read_be32(bytes + 4) != 0;
  // A frame written in one piece (header and page) that commits.
  const bool whole_commit_frame =
      size > kFrameHeaderBytes && (size - kFrameHeaderBytes) >= 512 &&
      ((size - kFrameHeaderBytes) & (size - kFrameHeaderBytes - 1)) == 0 &&
      read_be32(bytes + 4) != 0;
  if (commit_page || whole_commit_frame || (commit_frame_header && rewrite)) return flush(f);
  if (commit_frame_header) f->flush_after_next_write = true;
  return SQLITE_OK;
}

// --- sqlite3_io_methods ------------------------------------------------------------------

int batch_close(sqlite3_file* file) {
  BatchFile* f = batch(file);
  int rc = SQLITE_OK;
  if (f->is_wal) {
    rc = flush(f);
    if (f->db != nullptr) f->db->wal = nullptr;
    sqlite3_free(f->buffer);
    f->buffer = nullptr;
  } else if (f->wal != nullptr) {
    f->wal->db = nullptr;
  }
  int close_rc = real_methods(f)->xClose(f->real);
  return rc != SQLITE_OK ? rc : close_rc;
}

int batch_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  BatchFile* f = batch(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  f->last_read_offset = offset;
  return real_methods(f)->xRead(f->real, out, amount, offset);
}

int batch_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  BatchFile* f = batch(file);
  if (f->is_wal) return write_wal(f, data, amount, offset);
  return real_methods(f)->xWrite(f->real, data, amount, offset);
}

int batch_truncate(sqlite3_file* file, sqlite3_int64 size) {
  BatchFile* f = batch(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xTruncate(f->real, size);
}

int batch_sync(sqlite3_file* file, int flags) {
  BatchFile* f = batch(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xSync(f->real, flags);
}

int batch_file_size(sqlite3_file* file, sqlite3_int64* size) {
  BatchFile* f = batch(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFileSize(f->real, size);
}

int batch_lock(sqlite3_file* file, int level) {
  return real_methods(batch(file))->xLock(batch(file)->real, level);
}

int batch_unlock(sqlite3_file* file, int level) {
  return real_methods(batch(file))->xUnlock(batch(file)->real, level);
}

int batch_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_methods(batch(file))->xCheckReservedLock(batch(file)->real, out);
}

int batch_file_control(sqlite3_file* file, int op, void* arg) {
  BatchFile* f = batch(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFileControl(f->real, op, arg);
}

int batch_sector_size(sqlite3_file* file) {
  return real_methods(batch(file))->xSectorSize(batch(file)->real);
}

int batch_device_characteristics(sqlite3_file* file) {
  return real_methods(batch(file))->xDeviceCharacteristics(batch(file)->real);
}

int batch_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  BatchFile* f = batch(file);
  if (real_methods(f)->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return real_methods(f)->xShmMap(f->real, page, page_size, extend, out);
}

int batch_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  BatchFile* f = batch(file);
  if (real_methods(f)->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return real_methods(f)->xShmLock(f->real, offset, n, flags);
}

// SQLite calls the barrier between the two copies of the wal-index header it writes when it
// publishes a commit, so frames still buffered here would be visible before they are in the
// file. With the SQLite we know the commit frame's write has flushed them already; this is
// the backstop. Its failure cannot be returned: rather than let readers see frames that are
// not there, the process stops. Nothing it committed in this transaction was acknowledged
// yet (acknowledgements wait for a sync that runs after COMMIT returns).
void batch_shm_barrier(sqlite3_file* file) {
  BatchFile* f = batch(file);
  if (f->wal != nullptr && f->wal->used > 0) {
    g_backstop_flushes.fetch_add(1, std::memory_order_relaxed);
    if (int rc = flush(f->wal); rc != SQLITE_OK) {
      log::error(
          "database: writing the WAL failed (SQLite error {}) as a commit was published; "
          "stopping",
          rc);
      std::abort();
    }
  }
  if (real_methods(f)->iVersion >= 2) real_methods(f)->xShmBarrier(f->real);
}

int batch_shm_unmap(sqlite3_file* file, int delete_flag) {
  BatchFile* f = batch(file);
  if (real_methods(f)->iVersion < 2) return SQLITE_OK;
  return real_methods(f)->xShmUnmap(f->real, delete_flag);
}

int batch_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  BatchFile* f = batch(file);
  if (real_methods(f)->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFetch(f->real, offset, amount, out);
}

int batch_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  BatchFile* f = batch(file);
  if (real_methods(f)->iVersion < 3) return SQLITE_OK;
  return real_methods(f)->xUnfetch(f->real, offset, page);
}

// --- sqlite3_vfs ---------------------------------------------------------------------------

int batch_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  BatchFile* f = batch(file);
  std::memset(f, 0, sizeof(BatchFile));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;  // SQLite does not close a file whose open failed
    return rc;
  }
  f->base.pMethods = &g_methods;
  f->last_read_offset = -1;
  if ((flags & SQLITE_OPEN_WAL) != 0 && name != nullptr) {
    f->is_wal = true;
    // The main database file opened through this VFS too (only the store connection uses
    // it), so this is one of ours.
    sqlite3_file* db_file = sqlite3_database_file_object(name);
    if (db_file != nullptr && db_file->pMethods == &g_methods) {
      f->db = batch(db_file);
      f->db->wal = f;
    }
  }
  return SQLITE_OK;
}

int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real->xFullPathname(g_real, name, size, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void vfs_dl_error(sqlite3_vfs*, int size, char* out) { g_real->xDlError(g_real, size, out); }
void (*vfs_dl_sym(sqlite3_vfs*, void* lib, const char* symbol))(void) {
  return g_real->xDlSym(g_real, lib, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* lib) { g_real->xDlClose(g_real, lib); }
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
  return g_real->xRandomness(g_real, size, out);
}
int vfs_sleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int vfs_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
  return g_real->xGetLastError != nullptr ? g_real->xGetLastError(g_real, size, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

int register_vfs() {
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr) return SQLITE_ERROR;
  g_methods = {};
  g_methods.iVersion = 3;
  g_methods.xClose = batch_close;
  g_methods.xRead = batch_read;
  g_methods.xWrite = batch_write;
  g_methods.xTruncate = batch_truncate;
  g_methods.xSync = batch_sync;
  g_methods.xFileSize = batch_file_size;
  g_methods.xLock = batch_lock;
  g_methods.xUnlock = batch_unlock;
  g_methods.xCheckReservedLock = batch_check_reserved_lock;
  g_methods.xFileControl = batch_file_control;
  g_methods.xSectorSize = batch_sector_size;
  g_methods.xDeviceCharacteristics = batch_device_characteristics;
  g_methods.xShmMap = batch_shm_map;
  g_methods.xShmLock = batch_shm_lock;
  g_methods.xShmBarrier = batch_shm_barrier;
  g_methods.xShmUnmap = batch_shm_unmap;
  g_methods.xFetch = batch_fetch;
  g_methods.xUnfetch = batch_unfetch;

  g_vfs = {};
  g_vfs.iVersion = 2;  // version 3's system-call overrides are not forwarded
  g_vfs.szOsFile = static_cast<int>(kRealOffset) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.xOpen = batch_open;
  g_vfs.xDelete = vfs_delete;
  g_vfs.xAccess = vfs_access;
  g_vfs.xFullPathname = vfs_full_pathname;
  g_vfs.xDlOpen = vfs_dl_open;
  g_vfs.xDlError = vfs_dl_error;
  g_vfs.xDlSym = vfs_dl_sym;
  g_vfs.xDlClose = vfs_dl_close;
  g_vfs.xRandomness = vfs_randomness;
  g_vfs.xSleep = vfs_sleep;
  g_vfs.xCurrentTime = vfs_current_time;
  g_vfs.xGetLastError = vfs_get_last_error;
  g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  if (g_real->iVersion < 2 || g_real->xCurrentTimeInt64 == nullptr) return SQLITE_ERROR;
  return sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
}

}  // namespace

Result<const char*> wal_batching_vfs() {
  static std::once_flag once;
  static int rc = SQLITE_ERROR;
  std::call_once(once, [] { rc = register_vfs(); });
  if (rc != SQLITE_OK) {
    return Status::internal(
        fmt::format("database: cannot register the WAL batching VFS: {}", sqlite3_errstr(rc)));
  }
  return kVfsName;
}

WalBatchingStats wal_batching_stats() {
  return {g_flushes.load(std::memory_order_relaxed),
          g_flushed_bytes.load(std::memory_order_relaxed),
          g_backstop_flushes.load(std::memory_order_relaxed)};
}

}  // namespace topicdb::storage

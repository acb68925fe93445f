#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro cast Swift cannot import: expose it as a function. */
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

/* sqlite3_db_config is variadic, which Swift cannot call. Turning off double-quoted string
   literals makes a misspelled column name an error instead of a silent string constant. */
static inline void csqlite_disable_dqs(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3029000
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (void *)0);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (void *)0);
#endif
}

/* Leaves the write-ahead log in place when the connection closes: no checkpoint of the whole log into
   the database file, no fsync of both, no unlink of -wal and -shm that the next process recreates
   (and fsyncs again). Every short CLI command is the last connection to close, so without this each
   one paid four fsyncs. Nothing committed is at risk: the WAL is the durable record (SQLite reads it
   on open), and checkpoints still happen as the log grows (wal_autocheckpoint, and the store's
   checkpoint aside). */
static inline void csqlite_keep_wal_on_close(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3016000
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
#endif
}

/* A checkpoint of the file at `path` through a connection of its own, opened and closed here.
   `PRAGMA schema_version` reads page 1 (which puts the pager in WAL mode) without parsing the
   schema, as the checkpoint API alone would not on a connection that has read nothing. First PASSIVE,
   which takes no lock a writer needs, so writers go on meanwhile. Then, when that copied the whole
   log, one TRUNCATE attempt that does not wait (busy timeout 0): it empties the log file if no one
   is writing or reading it this instant. Without it the log would start over only at a later write
   of this same process: the next process's open runs recovery, which sets every frame back to "not
   copied" (nBackfill 0), and would copy the same frames again. *log and *done: the log's frames and
   how many of them are in the database file (both 0 after a truncation). Returns the result code
   of the PASSIVE step (the TRUNCATE attempt's SQLITE_BUSY is not a failure). */
static inline int csqlite_checkpoint_file(const char *path, int *log, int *done) {
    sqlite3 *db = 0;
    *log = -1; *done = -1;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, 0);
    if (rc == SQLITE_OK) {
        csqlite_keep_wal_on_close(db);
        sqlite3_busy_timeout(db, 0);
        rc = sqlite3_exec(db, "PRAGMA schema_version", 0, 0, 0);
        if (rc == SQLITE_OK) rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, log, done);
        if (rc == SQLITE_OK && *log >= 0 && *done == *log) {
            int truncatedLog = -1, truncatedDone = -1;
            if (sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, &truncatedLog, &truncatedDone) == SQLITE_OK) {
                *log = truncatedLog; *done = truncatedDone;
            }
        }
    }
    sqlite3_close_v2(db);
    return rc;
}

/* The WAL-index header (https://www.sqlite.org/walformat.html, "The WAL-Index Header"): the -shm file
   begins with two copies of a 48-byte header; a writer stores copy 2 (offset 48), a memory barrier,
   then copy 1 (offset 0), and a commit increments its iChange. These two helpers let the store read it
   the way SQLite's own reader does (walIndexTryHdr), without a lock and without a system call. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Region 0 of this connection's own WAL-index mapping, or NULL. Asks the connection's VFS file
   (SQLITE_FCNTL_FILE_POINTER, xShmMap without extending) for the mapping SQLite already holds, rather
   than opening the -shm file: closing a second descriptor of that file would drop every POSIX lock
   this process holds on it (SQLite's read and DMS locks included). Call only in WAL mode with the
   normal locking mode, after a first read (the WAL index is open then, so nothing new is opened). */
static inline const void *csqlite_wal_index(sqlite3 *db) {
    sqlite3_file *file = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == 0) return 0;
    const struct sqlite3_io_methods *methods = file->pMethods;
    if (methods == 0 || methods->iVersion < 2 || methods->xShmMap == 0) return 0;
    volatile void *region = 0;
    /* 32,768: the WAL index's region size (WALINDEX_PGSZ); region 0 starts with the headers. */
    if (methods->xShmMap(file, 0, 32768, 0, &region) != SQLITE_OK) return 0;
    return (const void *)region;
}

/* Copies the WAL-index header into out (48 bytes) when it is consistent: copy 1, a full barrier,
   copy 2, both byte-equal, isInit set and the header's own checksum right (SQLite's reader checks the
   same three). Returns 0 when a writer is in the middle of an update or the index is not initialized:
   the caller then asks SQLite (PRAGMA data_version). */
static inline int csqlite_wal_index_header(const void *mapping, uint32_t out[12]) {
    const volatile unsigned char *region = (const volatile unsigned char *)mapping;
    uint32_t first[12], second[12];
    memcpy(first, (const void *)region, 48);
    atomic_thread_fence(memory_order_seq_cst);
    memcpy(second, (const void *)(region + 48), 48);
    atomic_thread_fence(memory_order_seq_cst);
    if (memcmp(first, second, 48) != 0) return 0;
    if (((const unsigned char *)first)[12] == 0) return 0;          /* isInit */
    uint32_t s1 = 0, s2 = 0;                                         /* native-order checksum of bytes 0..39 */
    for (int i = 0; i < 10; i += 2) { s1 += first[i] + s2; s2 += first[i + 1] + s1; }
    if (s1 != first[10] || s2 != first[11]) return 0;
    memcpy(out, first, 48);
    return 1;
}

/* The log's frames (mxFrame of the header, byte 16 of region 0) and how many of them are in the
   database file already (nBackfill of the checkpoint info, byte 96), by the WAL index
   (https://www.sqlite.org/walformat.html). Read without a lock: estimates, which is all the store
   needs to decide on a checkpoint. */
static inline uint32_t csqlite_wal_index_frames(const void *mapping) {
    return *(const volatile uint32_t *)((const volatile unsigned char *)mapping + 16);
}

static inline uint32_t csqlite_wal_index_backfilled(const void *mapping) {
    return *(const volatile uint32_t *)((const volatile unsigned char *)mapping + 96);
}

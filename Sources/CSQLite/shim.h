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
   on open), and checkpoints still happen as the log grows (wal_autocheckpoint). */
static inline void csqlite_keep_wal_on_close(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3016000
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
#endif
}

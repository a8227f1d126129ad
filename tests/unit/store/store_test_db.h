/* A database file of its own for each test of the store suites that work on a file (migrations
 * of a filled database, what an older angorad left): a fresh path, the migrations folder, and the
 * removal of the file with its WAL and shared-memory files. */
#ifndef STORE_TEST_DB_H
#define STORE_TEST_DB_H

#include <stddef.h>

/* the migrations folder into mig_dir and a fresh database path into db (no file yet); fails the
 * test when either cannot be had */
void store_test_db_new(char *mig_dir, size_t mig_dir_sz, char *db, size_t db_sz);
/* removes db and its -wal and -shm files */
void store_test_db_remove(const char *db);

#endif

/* A database file of its own per store test (store_test_db.h). */
#include "store_test_db.h"

#include "ag_fs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void store_test_db_new(char *mig_dir, size_t mig_dir_sz, char *db, size_t db_sz) {
    char path[] = "/tmp/angora-store-db-XXXXXX";
    int fd;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig_dir, mig_dir_sz), 0);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    ck_assert_int_lt(snprintf(db, db_sz, "%s.db", path), (int)db_sz);
}

void store_test_db_remove(const char *db) {
    char side[700];
    unlink(db);
    snprintf(side, sizeof(side), "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", db);
    unlink(side);
}

/* WAL checkpoints of the writer's database on a thread and connection of their own.
 *
 * DESIGN
 * The WAL hook (store_gen.c) sees the WAL's size after every commit. Checkpointing there, on the
 * writer's connection, made the commit that crossed the threshold also copy the WAL into the
 * database and sync it (fdatasync calls of up to 285 ms were traced), while ingestion held the
 * write lock and every live stream row waited behind it. A PASSIVE checkpoint needs no write
 * lock, so here the hook only wakes this thread, which checkpoints from its own read-write
 * connection while the writer goes on; the writer restarts the WAL from its start at its next
 * transaction once a checkpoint has copied all of it and no reader still uses it. Databases in
 * memory, or where the thread cannot start, checkpoint in the hook as before. */
#include "store_int.h"

#include "ag_error.h"

#include <stdlib.h>

struct StoreCheckpointer {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int due;
    int running; /* a checkpoint is under way */
    int paused;  /* store_ckpt_pause: requests wait */
    int stop;
    _Atomic uint64_t done;
};

static void *checkpointer_main(void *arg) {
    StoreCheckpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while ((!c->due || c->paused) && !c->stop) {
            pthread_cond_wait(&c->wake, &c->mu);
        }
        if (c->stop) {
            break;
        }
        c->due = 0;
        c->running = 1;
        pthread_mutex_unlock(&c->mu);
        int log = -1, copied = -1;
        if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) ==
                SQLITE_OK &&
            log >= 0) {
            atomic_fetch_add(&c->done, 1);
        }
        pthread_mutex_lock(&c->mu);
        c->running = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int store_ckpt_start(Store *s, const char *path, char *err, size_t err_sz) {
    StoreCheckpointer *c = calloc(1, sizeof(*c));
    if (!c) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        int rc = ag_errorf(err, err_sz, AG_EDB, "checkpoint connection to %s: %s", path,
                           c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close_v2(c->db);
        free(c);
        return rc;
    }
    sqlite3_busy_timeout(c->db, STORE_BUSY_MS);
    /* a connection opens the file, and so learns it is in WAL mode, at its first statement: a
     * checkpoint before that does nothing */
    if (sqlite3_exec(c->db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = ag_errorf(err, err_sz, AG_EDB, "checkpoint connection to %s: %s", path,
                           sqlite3_errmsg(c->db));
        sqlite3_close_v2(c->db);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close_v2(c->db);
        free(c);
        return ag_errorf(err, err_sz, AG_ENOMEM, "cannot start the checkpoint thread");
    }
    s->ckpt = c;
    return 0;
}

int store_ckpt_request(Store *s) {
    StoreCheckpointer *c = s->ckpt;
    if (!c) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    c->due = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    return 1;
}

void store_ckpt_stop(Store *s) {
    StoreCheckpointer *c = s->ckpt;
    if (!c) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close_v2(c->db);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    free(c);
    s->ckpt = NULL;
}

void store_ckpt_pause(Store *s, int paused) {
    StoreCheckpointer *c = s->ckpt;
    if (c) {
        pthread_mutex_lock(&c->mu);
        c->paused = paused;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->mu);
    }
}

int store_ckpt_busy(Store *s) {
    StoreCheckpointer *c = s->ckpt;
    int busy = 0;
    if (c) {
        pthread_mutex_lock(&c->mu);
        busy = c->due || c->running;
        pthread_mutex_unlock(&c->mu);
    }
    return busy;
}

uint64_t store_wal_checkpoints(Store *s) {
    return s->ckpt ? atomic_load(&s->ckpt->done) : 0;
}

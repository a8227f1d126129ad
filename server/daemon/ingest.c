/* Ingestion of metrics.jsonl: reads each run's file from the stored byte offset, passes the
 * complete lines to the store in one transaction with the new offset (exactly-once across
 * crashes), then hands each committed row to the live stream's hook. All buffers are allocated
 * once at creation. */
#include "daemon.h"

#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INGEST_READ_MAX  (4u << 20)
#define INGEST_LINES_MAX 16384

struct Ingest {
    Store *store;
    char *buf;
    const char **lines;
    size_t *lens;
    int64_t *seqs;
    IngestNotifyFn notify;
    void *notify_ctx;
    IngestRowHook row_hook;
    void *row_hook_ctx;
};

int ingest_create(Ingest **out, Store *store, char *err, size_t err_sz) {
    Ingest *in = calloc(1, sizeof(*in));
    *out = NULL;
    if (!in) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    in->store = store;
    in->buf = malloc(INGEST_READ_MAX);
    in->lines = malloc(INGEST_LINES_MAX * sizeof(*in->lines));
    in->lens = malloc(INGEST_LINES_MAX * sizeof(*in->lens));
    in->seqs = malloc(INGEST_LINES_MAX * sizeof(*in->seqs));
    if (!in->buf || !in->lines || !in->lens || !in->seqs) {
        ingest_destroy(in);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    *out = in;
    return 0;
}

void ingest_destroy(Ingest *in) {
    if (!in) {
        return;
    }
    free(in->buf);
    free(in->lines);
    free(in->lens);
    free(in->seqs);
    free(in);
}

void ingest_set_notify(Ingest *in, IngestNotifyFn fn, void *ctx) {
    in->notify = fn;
    in->notify_ctx = ctx;
}

void ingest_set_row_hook(Ingest *in, IngestRowHook fn, void *ctx) {
    in->row_hook = fn;
    in->row_hook_ctx = ctx;
}

/* reads up to max bytes at offset; returns bytes read or -1 */
static ssize_t read_at(int fd, char *buf, size_t max, off_t offset) {
    size_t got = 0;
    while (got < max) {
        ssize_t n = pread(fd, buf + got, max - got, offset + (off_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int ingest_run(Ingest *in, int64_t exp_id, const char *run_dir, size_t *rows, char *err,
               size_t err_sz) {
    char path[PATH_MAX];
    StoreRun r;
    struct stat sb;
    int fd = -1, rc;
    size_t total = 0;
    if (rows) {
        *rows = 0;
    }
    if (snprintf(path, sizeof(path), "%s/" AG_RUN_METRICS, run_dir) >= (int)sizeof(path)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "run directory path too long");
    }
    rc = store_run_get(in->store, exp_id, &r, err, err_sz);
    if (rc) {
        return rc;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 0
                               : ag_errorf(err, err_sz, AG_EIO, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* a file shorter than what was read was rewritten: read it again from the start (rows of
     * repeated iterations replace the stored ones) */
    if (sb.st_size < r.ingest_offset) {
        ag_log_warn("ingest: %s shrank below offset %lld; re-reading", path,
                    (long long)r.ingest_offset);
        r.ingest_offset = 0;
        rc = store_metrics_set_offset(in->store, exp_id, 0, err, err_sz);
        if (rc) {
            goto out;
        }
    }
    while (r.ingest_offset < sb.st_size) {
        ssize_t n = read_at(fd, in->buf, INGEST_READ_MAX, (off_t)r.ingest_offset);
        size_t used = 0, nlines = 0, added = 0;
        char *p, *nl;
        if (n < 0) {
            rc = ag_errorf(err, err_sz, AG_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        p = in->buf;
        while (nlines < INGEST_LINES_MAX && (nl = memchr(p, '\n', (size_t)n - used)) != NULL) {
            size_t len = (size_t)(nl - p);
            if (len > 0 && p[len - 1] == '\r') {
                len--;
            }
            if (len > 0) {
                in->lines[nlines] = p;
                in->lens[nlines] = len;
                nlines++;
            }
            used += (size_t)(nl - p) + 1;
            p = nl + 1;
        }
        if (used == 0) {
            /* no newline yet: a partial line being written, or one longer than the buffer */
            if ((size_t)n < INGEST_READ_MAX) {
                break;
            }
            ag_log_warn("ingest: experiment %lld: a metrics line exceeds %u bytes; skipped",
                        (long long)exp_id, INGEST_READ_MAX);
            used = (size_t)n;
        }
        rc = store_metrics_ingest_seqs(in->store, exp_id, in->lines, in->lens, nlines,
                                       r.ingest_offset + (int64_t)used, in->seqs, &added, NULL, err,
                                       err_sz);
        if (rc) {
            goto out;
        }
        /* the hook sees rows only once they are committed, in seq order */
        for (size_t i = 0; i < nlines && in->row_hook; i++) {
            if (in->seqs[i]) {
                in->row_hook(in->row_hook_ctx, exp_id, in->seqs[i], in->lines[i], in->lens[i]);
            }
        }
        r.ingest_offset += (int64_t)used;
        total += added;
    }
out:
    close(fd);
    if (total && in->notify) {
        in->notify(in->notify_ctx, total);
    }
    if (rows) {
        *rows = total;
    }
    return rc;
}

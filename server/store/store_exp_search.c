/* The list's name search (q=): which experiments' names may hold the search, from the trigram
 * index of names (migration 015), for store_exp_list.c to read by id and test with the LIKE.
 *
 * DESIGN
 * The index folds case over all of Unicode and the LIKE over ASCII only, so whatever set of the
 * search's trigrams is asked for, the names holding them are a superset of the matches, and the
 * LIKE stays the exact test of each. An AND of every trigram read the whole doclist of each one,
 * and a trigram that every name shares (run, -ru) is 10^4 entries at 10^4 experiments: 0.37 ms of
 * a 0.53 ms page. Each trigram is now read on its own up to EXP_Q_FEW names, so a common one costs
 * at most that many entries; the candidates are the intersection of the trigrams found on fewer
 * (complete lists, in rowid order), and the common ones are left to the LIKE. Only when every
 * trigram is common is the AND of all of them asked, as before. A connection remembers the
 * trigrams it found common (STORE_Q_COMMON of them, one slot per hash) and does not read them
 * again for EXP_Q_COMMON_S: which trigrams are read only decides the cost, never the answer. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_json_text.h"
#include "ag_time.h"

#include <stdlib.h>
#include <string.h>

#define EXP_Q_TEXT_(x) #x
#define EXP_Q_TEXT(x)  EXP_Q_TEXT_(x)
/* one trigram's names, or the AND of them all, in rowid order, up to EXP_Q_FEW of them */
#define EXP_Q_IDS_SQL                                                                              \
    "SELECT rowid FROM experiment_names WHERE experiment_names MATCH ?1 ORDER BY rowid "           \
    "LIMIT " EXP_Q_TEXT(EXP_Q_FEW)

/* how long a trigram found on EXP_Q_FEW names or more is taken to be common without reading it */
#define EXP_Q_COMMON_S 60.0

/* the slot of r's common trigrams for the len bytes at t (FNV-1a) */
static StoreQCommon *q_common_slot(Store *r, const char *t, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)t[i]) * 16777619u;
    }
    return &r->q_common[h % STORE_Q_COMMON];
}

/* 1 when the trigram (len bytes at t, at most 12) was found common on r lately */
static int q_common_known(Store *r, const char *t, size_t len, double now) {
    const StoreQCommon *c = q_common_slot(r, t, len);
    return strlen(c->trigram) == len && memcmp(c->trigram, t, len) == 0 &&
           now - c->at < EXP_Q_COMMON_S && now >= c->at;
}

static void q_common_put(Store *r, const char *t, size_t len, double now) {
    StoreQCommon *c = q_common_slot(r, t, len);
    memcpy(c->trigram, t, len);
    c->trigram[len] = '\0';
    c->at = now;
}

uint64_t store_exp_q_trigram_reads(Store *s) {
    uint64_t n;
    pthread_mutex_lock(&s->mu);
    n = s->q_trigram_reads;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nreaders; i++) {
        n += store_exp_q_trigram_reads(s->readers[i]);
    }
    return n;
}

/* characters of the longest search that asks the index (the API takes 128 bytes); longer scan */
#define EXP_Q_CHARS_MAX 256

/* the length of the UTF-8 character starting at q, or 0 when there is none */
static size_t utf8_char_len(const unsigned char *q) {
    size_t n = q[0] < 0x80                   ? 1
               : q[0] >= 0xc2 && q[0] < 0xe0 ? 2
               : q[0] >= 0xe0 && q[0] < 0xf0 ? 3
               : q[0] >= 0xf0 && q[0] < 0xf5 ? 4
                                             : 0;
    for (size_t i = 1; i < n; i++) {
        if ((q[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return n;
}

/* the byte offsets of q's characters into starts (nchars + 1 of them); 0 when q has fewer than 3
 * or more than EXP_Q_CHARS_MAX characters or is not UTF-8 */
static size_t q_chars(const char *q, size_t starts[EXP_Q_CHARS_MAX + 1]) {
    size_t n = strlen(q), nchars = 0;
    for (size_t i = 0; i < n; nchars++) {
        size_t len = utf8_char_len((const unsigned char *)q + i);
        if (len == 0 || nchars == EXP_Q_CHARS_MAX) {
            return 0;
        }
        starts[nchars] = i;
        i += len;
    }
    starts[nchars] = n;
    return nchars < 3 ? 0 : nchars;
}

/* appends the trigram of q from character c as an FTS5 string ("..." with its quotes doubled) */
static void trigram_append(const char *q, const size_t *starts, size_t c, char *out, size_t *j) {
    out[(*j)++] = '"';
    for (size_t i = starts[c]; i < starts[c + 3]; i++) {
        if (q[i] == '"') {
            out[(*j)++] = '"';
        }
        out[(*j)++] = q[i];
    }
    out[(*j)++] = '"';
}

/* rows of st (bound) into ids, at most EXP_Q_FEW; their count, or -1 on an error */
static int ids_read(sqlite3_stmt *st, int64_t *ids) {
    int n = 0, step;
    while (n < EXP_Q_FEW && (step = sqlite3_step(st)) == SQLITE_ROW) {
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if (n < EXP_Q_FEW && step != SQLITE_DONE) {
        return -1;
    }
    return n;
}

/* the ids in both a and b (each ascending) into a; their count */
static int ids_intersect(int64_t *a, int na, const int64_t *b, int nb) {
    int i = 0, j = 0, n = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) {
            i++;
        } else if (a[i] > b[j]) {
            j++;
        } else {
            a[n++] = a[i++];
            j++;
        }
    }
    return n;
}

int store_exp_q_candidates(Store *r, const char *q, char **ids_json, char *err, size_t err_sz) {
    size_t starts[EXP_Q_CHARS_MAX + 1], nchars, j = 0;
    int64_t cand[EXP_Q_FEW], cur[EXP_Q_FEW];
    int ncand = -1, n = 0, rc;
    double now = ag_time_now();
    sqlite3_stmt *st = NULL;
    /* one trigram, or all of them: each at most 12 bytes, doubled quotes, its quotes, a space */
    char *match;
    AgBuf list;
    *ids_json = NULL;
    if (!q || !*q || (nchars = q_chars(q, starts)) == 0) {
        return 0;
    }
    match = malloc((nchars - 2) * (2 * 12 + 3) + 1);
    if (!match) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    rc = store_stmt_get(r, EXP_Q_IDS_SQL, &st, err, err_sz);
    for (size_t c = 0; rc == 0 && c + 3 <= nchars && ncand != 0; c++) {
        const char *t = q + starts[c];
        size_t len = starts[c + 3] - starts[c];
        if (q_common_known(r, t, len, now)) {
            continue;
        }
        j = 0;
        trigram_append(q, starts, c, match, &j);
        match[j] = '\0';
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, match, (int)j, SQLITE_STATIC);
        r->q_trigram_reads++;
        n = ids_read(st, cur);
        if (n < 0) {
            rc = store_db_fail(r, err, err_sz, "search the names");
        } else if (n == EXP_Q_FEW) {
            q_common_put(r, t, len, now);
        } else if (ncand < 0) {
            memcpy(cand, cur, (size_t)n * sizeof(cur[0]));
            ncand = n;
        } else {
            ncand = ids_intersect(cand, ncand, cur, n);
        }
    }
    if (rc == 0 && ncand < 0) {
        /* every trigram on EXP_Q_FEW names or more: the AND of them all may still be fewer */
        j = 0;
        for (size_t c = 0; c + 3 <= nchars; c++) {
            if (c) {
                match[j++] = ' ';
            }
            trigram_append(q, starts, c, match, &j);
        }
        match[j] = '\0';
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, match, (int)j, SQLITE_STATIC);
        ncand = ids_read(st, cand);
        if (ncand < 0) {
            rc = store_db_fail(r, err, err_sz, "search the names");
        }
    }
    store_stmt_put(r, st);
    free(match);
    if (rc || ncand >= EXP_Q_FEW) {
        return rc;
    }
    rc = ag_buf_init(&list, 64, (size_t)EXP_Q_FEW * 24);
    if (rc == 0) {
        rc = ag_buf_append(&list, "[", 1);
    }
    for (int i = 0; rc == 0 && i < ncand; i++) {
        rc = i ? ag_buf_append(&list, ",", 1) : 0;
        if (rc == 0) {
            rc = ag_json_text_int(&list, cand[i]);
        }
    }
    if (rc == 0) {
        rc = ag_buf_append(&list, "]", 1);
    }
    if (rc) {
        ag_buf_free(&list);
        return ag_errorf(err, err_sz, rc, "out of memory");
    }
    *ids_json = list.data;
    return 0;
}

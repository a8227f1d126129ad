/* The list's name search (q=): which experiments' names may hold the search, from the trigram
 * index of names (migration 015), for store_exp_list.c to read by id and test with the LIKE.
 *
 * DESIGN
 * The index folds case over all of Unicode and the LIKE over ASCII only, so whatever set of the
 * search's trigrams is asked for, the names holding them are a superset of the matches, and the
 * LIKE stays the exact test of each. An AND of every trigram read the whole doclist of each one,
 * and a trigram that every name shares (run, -ru) is 10^4 entries at 10^4 experiments: 0.37 ms of
 * a 0.53 ms page. Each trigram is now read on its own up to EXP_Q_MANY names, so a common one
 * costs at most that many entries; the candidates are the intersection of the trigrams found on
 * fewer (complete lists, in rowid order), and the common ones are left to the LIKE. Only when
 * every trigram is common is the AND of all of them asked, as before. A connection remembers the
 * trigrams it found common (STORE_Q_COMMON of them, one slot per hash) and does not read them
 * again for EXP_Q_COMMON_S: which trigrams are read only decides the cost, never the answer.
 * Fewer than EXP_Q_FEW candidates are read by id; up to EXP_Q_MANY they are a set the page tests
 * each entry of its order's index against (ag_in_ids, store_idset.c) before the row's name is
 * read for the LIKE: a search on a tenth of the names under a sort read the rows of nine entries
 * per row shown. Under the submitted order, whose index is the table, they are read by id.
 * The candidates are kept on the connection until a name or tags change (store_idset.c), so
 * the next pages of a search read no trigram. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_json_text.h"
#include "ag_time.h"

#include <stdlib.h>
#include <string.h>

#define EXP_Q_TEXT_(x) #x
#define EXP_Q_TEXT(x)  EXP_Q_TEXT_(x)
/* one trigram's names, or the AND of them all, in rowid order, up to EXP_Q_MANY of them */
#define EXP_Q_IDS_SQL                                                                              \
    "SELECT rowid FROM experiment_names WHERE experiment_names MATCH ?1 ORDER BY rowid "           \
    "LIMIT " EXP_Q_TEXT(EXP_Q_MANY)

/* how long a trigram found on EXP_Q_MANY names or more is taken to be common without reading it */
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

/* the ids in both a and b (each ascending) into a; their count */
static size_t ids_intersect(int64_t *a, size_t na, const int64_t *b, size_t nb) {
    size_t i = 0, j = 0, n = 0;
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

/* the ids of cand as a JSON array into *ids_json */
static int ids_json_text(const StoreIdSet *cand, char **ids_json, char *err, size_t err_sz) {
    AgBuf list;
    int rc = ag_buf_init(&list, 64, (size_t)EXP_Q_MANY * 24);
    if (rc == 0) {
        rc = ag_buf_append(&list, "[", 1);
    }
    for (size_t i = 0; rc == 0 && i < cand->n; i++) {
        rc = i ? ag_buf_append(&list, ",", 1) : 0;
        if (rc == 0) {
            rc = ag_json_text_int(&list, cand->ids[i]);
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

/* cand as the page takes it (store_exp_q_candidates), which it then owns or frees */
static int q_candidates_out(StoreIdSet *cand, char **ids_json, StoreIdSet *set, char *err,
                            size_t err_sz) {
    int rc = 0;
    if (cand->n < EXP_Q_FEW || (!set && cand->n < EXP_Q_MANY)) {
        rc = ids_json_text(cand, ids_json, err, err_sz);
    } else if (cand->n < EXP_Q_MANY) {
        store_idset_free(set);
        *set = *cand;
        store_idset_map(set);
        return 0;
    }
    store_idset_free(cand);
    return rc;
}

int store_exp_q_candidates(Store *r, const char *q, char **ids_json, StoreIdSet *set, char *err,
                           size_t err_sz) {
    size_t starts[EXP_Q_CHARS_MAX + 1], nchars, j = 0;
    StoreIdSet cand = {0}, cur = {0};
    int have = 0, kept = 0, rc = 0;
    int64_t version = -1;
    double now = ag_time_now();
    /* one trigram, or all of them: each at most 12 bytes, doubled quotes, its quotes, a space */
    char *match;
    *ids_json = NULL;
    if (set) {
        set->n = 0;
    }
    if (!q || !*q || (nchars = q_chars(q, starts)) == 0) {
        return 0;
    }
    /* the version first: candidates read after it are at least as new as what it names */
    rc = store_filter_version(r, &version, err, err_sz);
    if (rc == 0) {
        rc = store_idset_kept_get(r, 'q', q, version, &cand, &kept, err, err_sz);
    }
    if (rc || kept) {
        return rc ? rc : q_candidates_out(&cand, ids_json, set, err, err_sz);
    }
    match = malloc((nchars - 2) * (2 * 12 + 3) + 1);
    if (!match) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    for (size_t c = 0; rc == 0 && c + 3 <= nchars && !(have && cand.n == 0); c++) {
        const char *t = q + starts[c];
        size_t len = starts[c + 3] - starts[c];
        if (q_common_known(r, t, len, now)) {
            continue;
        }
        j = 0;
        trigram_append(q, starts, c, match, &j);
        match[j] = '\0';
        r->q_trigram_reads++;
        rc = store_idset_read(r, EXP_Q_IDS_SQL, match, EXP_Q_MANY, &cur, err, err_sz);
        if (rc) {
            break;
        } else if (cur.n == EXP_Q_MANY) {
            q_common_put(r, t, len, now);
        } else if (!have) {
            StoreIdSet swap = cand;
            cand = cur;
            cur = swap;
            have = 1;
        } else {
            cand.n = ids_intersect(cand.ids, cand.n, cur.ids, cur.n);
        }
    }
    if (rc == 0 && !have) {
        /* every trigram on EXP_Q_MANY names or more: the AND of them all may still be fewer */
        j = 0;
        for (size_t c = 0; c + 3 <= nchars; c++) {
            if (c) {
                match[j++] = ' ';
            }
            trigram_append(q, starts, c, match, &j);
        }
        match[j] = '\0';
        rc = store_idset_read(r, EXP_Q_IDS_SQL, match, EXP_Q_MANY, &cand, err, err_sz);
    }
    free(match);
    store_idset_free(&cur);
    if (rc) {
        store_idset_free(&cand);
        return rc;
    }
    /* few candidates may still have cost a trigram on 2,047 names (run-77: n-7 on 1,111) */
    store_idset_keep(r, 'q', q, version, &cand);
    return q_candidates_out(&cand, ids_json, set, err, err_sz);
}

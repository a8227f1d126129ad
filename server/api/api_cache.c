/* The response cache of the read routes: answers of the experiment list and of metric series
 * kept by their normalised query, each with the store generation it was read at, so that a
 * dashboard polling the same pages is answered from memory until a write changes them.
 *
 * DESIGN
 * An entry is valid only for the generation it was stored with (store_generation for a list,
 * store_run_generation for a series): the route loads the generation before it reads the
 * database, and the store counts it up after every commit, so a lookup with the current
 * generation never finds an answer older than an acknowledged write; an entry of another
 * generation is dropped when it is met. Entries live in a hash table and a list from most to
 * least recently used; the bytes they hold (key, body, holes, bookkeeping) stay within a budget,
 * the least recently used going first, and an answer above an eighth of the budget is not kept.
 * Parts of an answer that depend on the time of the request (the duration and ETA of a running
 * experiment) are kept as holes: the offset where they go and what they are computed from,
 * filled in at each answer by the route's function. A list page's generation is the list
 * generation plus the run generations of the experiments it shows (store.h), kept with their ids
 * and summed again at each lookup. One mutex guards everything; a hit copies the body out under
 * it. */
#include "api_int.h"

#include "ag_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct CacheEntry {
    struct CacheEntry *chain;         /* next in the hash bucket */
    struct CacheEntry *newer, *older; /* the recency list */
    uint64_t hash;
    uint64_t gen;
    char *key;
    size_t key_len;
    char *body;
    size_t body_len;
    ApiCacheHole *holes;
    size_t nholes;
    int64_t *ids; /* what the generation of a list page is computed from, or NULL */
    size_t nids;
    size_t bytes;
} CacheEntry;

struct ApiCache {
    pthread_mutex_t mu;
    size_t budget, bytes;
    CacheEntry **table;
    size_t nbuckets, count;
    CacheEntry *newest, *oldest;
    uint64_t hits, misses, evictions;
};

#define CACHE_BUCKETS_MIN 256

/* FNV-1a, 64 bits */
uint64_t api_cache_hash(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

int api_cache_create(ApiCache **out, size_t budget) {
    ApiCache *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c) {
        return AG_ENOMEM;
    }
    c->table = calloc(CACHE_BUCKETS_MIN, sizeof(*c->table));
    if (!c->table) {
        free(c);
        return AG_ENOMEM;
    }
    c->nbuckets = CACHE_BUCKETS_MIN;
    c->budget = budget;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

static void entry_free(CacheEntry *x) {
    free(x->key);
    free(x->body);
    free(x->holes);
    free(x->ids);
    free(x);
}

void api_cache_destroy(ApiCache *c) {
    CacheEntry *x, *next;
    if (!c) {
        return;
    }
    for (x = c->newest; x; x = next) {
        next = x->older;
        entry_free(x);
    }
    free(c->table);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void list_unlink(ApiCache *c, CacheEntry *x) {
    if (x->newer) {
        x->newer->older = x->older;
    } else {
        c->newest = x->older;
    }
    if (x->older) {
        x->older->newer = x->newer;
    } else {
        c->oldest = x->newer;
    }
    x->newer = x->older = NULL;
}

static void list_push_newest(ApiCache *c, CacheEntry *x) {
    x->older = c->newest;
    x->newer = NULL;
    if (c->newest) {
        c->newest->newer = x;
    } else {
        c->oldest = x;
    }
    c->newest = x;
}

/* removes x from the table and the list and frees it (mu held) */
static void entry_remove(ApiCache *c, CacheEntry *x) {
    CacheEntry **p = &c->table[x->hash % c->nbuckets];
    while (*p && *p != x) {
        p = &(*p)->chain;
    }
    if (*p) {
        *p = x->chain;
    }
    list_unlink(c, x);
    c->bytes -= x->bytes;
    c->count--;
    entry_free(x);
}

static CacheEntry *entry_find(ApiCache *c, const char *key, size_t len, uint64_t hash) {
    for (CacheEntry *x = c->table[hash % c->nbuckets]; x; x = x->chain) {
        if (x->hash == hash && x->key_len == len && !memcmp(x->key, key, len)) {
            return x;
        }
    }
    return NULL;
}

/* doubles the table when it holds more entries than buckets (mu held); stays as it is when
 * memory is short */
static void table_grow(ApiCache *c) {
    size_t n = c->nbuckets * 2;
    CacheEntry **t;
    if (c->count <= c->nbuckets || !(t = calloc(n, sizeof(*t)))) {
        return;
    }
    for (size_t b = 0; b < c->nbuckets; b++) {
        CacheEntry *x = c->table[b], *next;
        for (; x; x = next) {
            next = x->chain;
            x->chain = t[x->hash % n];
            t[x->hash % n] = x;
        }
    }
    free(c->table);
    c->table = t;
    c->nbuckets = n;
}

int api_cache_assemble(const char *tmpl, size_t len, const ApiCacheHole *holes, size_t nholes,
                       ApiCacheFillFn fill, void *ctx, char **body, size_t *body_len) {
    AgBuf b;
    size_t at = 0;
    int rc = ag_buf_init(&b, len + nholes * 128, len + nholes * 4096 + 1);
    for (size_t i = 0; rc == 0 && i < nholes; i++) {
        rc = ag_buf_append(&b, tmpl + at, holes[i].at - at);
        if (rc == 0) {
            rc = fill(&b, &holes[i].pace, ctx);
        }
        at = holes[i].at;
    }
    if (rc == 0) {
        rc = ag_buf_append(&b, tmpl + at, len - at);
    }
    if (rc) {
        ag_buf_free(&b);
        return rc;
    }
    *body_len = b.len;
    *body = ag_buf_steal(&b);
    return 0;
}

/* the generation x is valid at now (mu held) */
static uint64_t entry_gen_now(const CacheEntry *x, uint64_t gen, const ApiCacheGen *g) {
    return g && x->ids ? g->fn(g->ctx, x->ids, x->nids) : gen;
}

int api_cache_gen(ApiCache *c, const char *key, size_t key_len, uint64_t gen, const ApiCacheGen *g,
                  uint64_t *kept, uint64_t *now, uint64_t *ids_hash) {
    uint64_t hash = api_cache_hash(key, key_len);
    CacheEntry *x;
    pthread_mutex_lock(&c->mu);
    x = c->budget ? entry_find(c, key, key_len, hash) : NULL;
    if (x) {
        *kept = x->gen;
        *now = entry_gen_now(x, gen, g);
        *ids_hash = x->ids ? api_cache_hash((const char *)x->ids, x->nids * sizeof(*x->ids)) : 0;
    }
    pthread_mutex_unlock(&c->mu);
    return x != NULL;
}

int api_cache_get(ApiCache *c, const char *key, size_t key_len, uint64_t gen, const ApiCacheGen *g,
                  ApiCacheFillFn fill, void *ctx, char **body, size_t *body_len, size_t *nholes,
                  uint64_t *kept_gen, uint64_t *ids_hash) {
    uint64_t hash = api_cache_hash(key, key_len);
    CacheEntry *x;
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    x = c->budget ? entry_find(c, key, key_len, hash) : NULL;
    if (x && x->gen != entry_gen_now(x, gen, g)) {
        /* written since: of no use to anyone any more */
        entry_remove(c, x);
        x = NULL;
    }
    if (x && (x->nholes == 0 || fill) &&
        api_cache_assemble(x->body, x->body_len, x->holes, x->nholes, fill, ctx, body, body_len) ==
            0) {
        list_unlink(c, x);
        list_push_newest(c, x);
        if (nholes) {
            *nholes = x->nholes;
        }
        if (kept_gen) {
            *kept_gen = x->gen;
        }
        if (ids_hash) {
            *ids_hash =
                x->ids ? api_cache_hash((const char *)x->ids, x->nids * sizeof(*x->ids)) : 0;
        }
        hit = 1;
    }
    if (hit) {
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void api_cache_put(ApiCache *c, const char *key, size_t key_len, uint64_t gen, const char *body,
                   size_t body_len, const ApiCacheHole *holes, size_t nholes, const int64_t *ids,
                   size_t nids) {
    uint64_t hash = api_cache_hash(key, key_len);
    size_t bytes = sizeof(CacheEntry) + key_len + body_len + nholes * sizeof(ApiCacheHole) +
                   nids * sizeof(int64_t);
    CacheEntry *x, *old;
    if (bytes > c->budget / 8) {
        return;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        return;
    }
    x->key = malloc(key_len);
    x->body = malloc(body_len ? body_len : 1);
    x->holes = nholes ? malloc(nholes * sizeof(*holes)) : NULL;
    x->ids = ids ? malloc((nids ? nids : 1) * sizeof(*ids)) : NULL;
    if (!x->key || !x->body || (nholes && !x->holes) || (ids && !x->ids)) {
        entry_free(x);
        return;
    }
    if (ids && nids) {
        memcpy(x->ids, ids, nids * sizeof(*ids));
    }
    x->nids = ids ? nids : 0;
    memcpy(x->key, key, key_len);
    memcpy(x->body, body, body_len);
    if (nholes) {
        memcpy(x->holes, holes, nholes * sizeof(*holes));
    }
    x->key_len = key_len;
    x->body_len = body_len;
    x->nholes = nholes;
    x->hash = hash;
    x->gen = gen;
    x->bytes = bytes;
    pthread_mutex_lock(&c->mu);
    old = entry_find(c, key, key_len, hash);
    /* a reader that loaded a newer generation may have stored its answer first (the sums of
     * two list pages' different ids do not compare: each is checked against its own) */
    if (old && !ids && !old->ids && old->gen > gen) {
        pthread_mutex_unlock(&c->mu);
        entry_free(x);
        return;
    }
    if (old) {
        entry_remove(c, old);
    }
    while (c->oldest && c->bytes + bytes > c->budget) {
        entry_remove(c, c->oldest);
        c->evictions++;
    }
    x->chain = c->table[hash % c->nbuckets];
    c->table[hash % c->nbuckets] = x;
    list_push_newest(c, x);
    c->bytes += bytes;
    c->count++;
    table_grow(c);
    pthread_mutex_unlock(&c->mu);
}

void api_cache_stats(ApiCache *c, ApiCacheStats *out) {
    pthread_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    out->entries = c->count;
    out->bytes = c->bytes;
    out->budget = c->budget;
    pthread_mutex_unlock(&c->mu);
}

/* ---- validators ---- */

void api_etag(const Api *api, const char *key, size_t key_len, uint64_t gen, uint64_t ids_hash,
              char *etag) {
    snprintf(etag, API_ETAG_MAX, "\"%llx-%llx-%016llx-%llx\"", (unsigned long long)api->etag_epoch,
             (unsigned long long)gen, (unsigned long long)api_cache_hash(key, key_len),
             (unsigned long long)ids_hash);
}

int api_etag_matches(const ApiRequest *req, const char *etag) {
    const char *p = req->if_none_match;
    size_t n = strlen(etag);
    if (!p) {
        return 0;
    }
    /* a list of entity tags separated by commas, each perhaps weak (W/) */
    while (*p) {
        const char *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (!strncmp(p, "W/", 2)) {
            p += 2;
        }
        end = p;
        while (*end && *end != ',') {
            end++;
        }
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if ((size_t)(end - p) == n && !memcmp(p, etag, n)) {
            return 1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

void api_resp_not_modified(ApiResponse *resp, const char *etag) {
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = 304;
    resp->content_type = NULL;
    snprintf(resp->etag, sizeof(resp->etag), "%s", etag);
}

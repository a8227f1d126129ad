/* The list's kept item texts (store_exp_items.h). */
#include "store_exp_items.h"

#include "ag_error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct ExpItem {
    int64_t id; /* 0: empty */
    int64_t version;
    StoreExpPace pace;
    char *text;
    size_t len;
} ExpItem;

struct StoreExpItems {
    pthread_mutex_t mu[STORE_EXP_ITEM_LOCKS];
    ExpItem slots[STORE_EXP_ITEM_SLOTS];
    size_t budget;
    _Atomic size_t bytes;
    _Atomic size_t items;
};

static size_t item_slot(int64_t id) {
    return (size_t)((uint64_t)id & (STORE_EXP_ITEM_SLOTS - 1));
}

static pthread_mutex_t *item_lock(StoreExpItems *c, size_t slot) {
    return &c->mu[slot % STORE_EXP_ITEM_LOCKS];
}

StoreExpItems *store_exp_items_new(size_t budget) {
    StoreExpItems *c = calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    for (int i = 0; i < STORE_EXP_ITEM_LOCKS; i++) {
        pthread_mutex_init(&c->mu[i], NULL);
    }
    c->budget = budget;
    return c;
}

void store_exp_items_free(StoreExpItems *c) {
    if (!c) {
        return;
    }
    for (size_t i = 0; i < STORE_EXP_ITEM_SLOTS; i++) {
        free(c->slots[i].text);
    }
    for (int i = 0; i < STORE_EXP_ITEM_LOCKS; i++) {
        pthread_mutex_destroy(&c->mu[i]);
    }
    free(c);
}

int store_exp_items_get(StoreExpItems *c, int64_t id, int64_t version, AgBuf *out,
                        StoreExpPace *pace) {
    size_t slot = item_slot(id);
    ExpItem *it = &c->slots[slot];
    int rc = 0;
    pthread_mutex_lock(item_lock(c, slot));
    if (it->id == id && it->version == version && it->text) {
        rc = ag_buf_append(out, it->text, it->len);
        if (rc == 0) {
            *pace = it->pace;
            rc = 1;
        }
    }
    pthread_mutex_unlock(item_lock(c, slot));
    return rc;
}

void store_exp_items_put(StoreExpItems *c, int64_t id, int64_t version, const char *text,
                         size_t len, const StoreExpPace *pace) {
    size_t slot = item_slot(id), old_len;
    ExpItem *it = &c->slots[slot];
    char *copy;
    if (id <= 0 || len > STORE_EXP_ITEM_MAX) {
        return;
    }
    pthread_mutex_lock(item_lock(c, slot));
    old_len = it->text ? it->len : 0;
    /* the budget counts the texts kept; replacing a slot's text gives its bytes back first */
    if (atomic_load(&c->bytes) - old_len + len > c->budget) {
        pthread_mutex_unlock(item_lock(c, slot));
        return;
    }
    copy = it->text && it->len >= len ? it->text : realloc(it->text, len ? len : 1);
    if (!copy) {
        pthread_mutex_unlock(item_lock(c, slot));
        return; /* the old text is still there, under its own id and version */
    }
    memcpy(copy, text, len);
    if (!it->text) {
        atomic_fetch_add(&c->items, 1);
    }
    it->text = copy;
    atomic_fetch_sub(&c->bytes, old_len);
    atomic_fetch_add(&c->bytes, len);
    it->len = len;
    it->id = id;
    it->version = version;
    it->pace = *pace;
    pthread_mutex_unlock(item_lock(c, slot));
}

void store_exp_items_count(StoreExpItems *c, size_t *items, size_t *bytes) {
    *items = atomic_load(&c->items);
    *bytes = atomic_load(&c->bytes);
}

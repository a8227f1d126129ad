/* The list's kept item texts: for each experiment, the JSON text of its list item (from '{' to
 * the members the API appends) and its pace inputs, valid for one version of its experiments row
 * (migration 014), so that a page copies the items whose rows have not changed instead of
 * writing their 31 columns and looking up their newest metric row again.
 *
 * DESIGN
 * One slot per id modulo the slot count (ids are dense: below that count no two experiments
 * share a slot), each under one of a few locks; a text is kept only while the total stays under
 * its byte budget, and an item over the per-item maximum is not kept (it is written each time, as
 * before). A kept text answers only for the exact (id, version) it was written from: the version
 * is read with the page's ids in the page's snapshot, so a hit is the text the row gives now. */
#ifndef ANGORA_STORE_EXP_ITEMS_H
#define ANGORA_STORE_EXP_ITEMS_H

#include "ag_buf.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_EXP_ITEM_SLOTS    16384 /* a power of two */
#define STORE_EXP_ITEM_LOCKS    64
#define STORE_EXP_ITEM_MAX      16384 /* bytes of one kept text */
#define STORE_EXP_ITEMS_DEFAULT ((size_t)64 << 20)

typedef struct StoreExpItems StoreExpItems;

/* NULL when out of memory; budget in bytes of text kept in all */
StoreExpItems *store_exp_items_new(size_t budget);
void store_exp_items_free(StoreExpItems *c);
/* appends the text kept for id at version to out and copies its pace into *pace: 1, 0 when none
 * is kept for them (out unchanged), or an AgBuf error */
int store_exp_items_get(StoreExpItems *c, int64_t id, int64_t version, AgBuf *out,
                        StoreExpPace *pace);
/* keeps text (len bytes) and pace for id at version, in place of what its slot held; a text over
 * STORE_EXP_ITEM_MAX, or one that would pass the budget, is not kept (nor is a failed copy) */
void store_exp_items_put(StoreExpItems *c, int64_t id, int64_t version, const char *text,
                         size_t len, const StoreExpPace *pace);
/* texts and bytes kept now */
void store_exp_items_count(StoreExpItems *c, size_t *items, size_t *bytes);

#endif

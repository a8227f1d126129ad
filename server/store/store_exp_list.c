/* The experiment listings of angorad's store: the sort keys, the opaque cursors of sorted pages,
 * and one page of experiments, either as jansson objects (store_exp_list_page) or written
 * straight into a buffer as the same JSON text (store_exp_list_page_text, what the API answers).
 *
 * DESIGN
 * A page of 100 is the daemon's most frequent answer. Its statement is kept prepared on the
 * reader connection that runs it (one per combination of sort, order and filters). The text path
 * selects only the ids and row versions (migration 014) of its items and copies each item's text
 * kept for that version (store_exp_items.h); an item not kept is read by id and written column by
 * column as JSON without building an object (a tags column already in jansson's compact form is
 * copied as it is), then kept. The object path reads every column and is what the text path is
 * tested against. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_json_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a sort key: its SQL expression, how a cursor value binds, its default direction, and whether
 * it can be NULL (never started, no metrics yet) */
typedef struct ExpSort {
    const char *name;
    const char *expr;
    int kind; /* 0 integer (id), 1 text, 2 integer, 3 real */
    int ascending;
    int nullable;
} ExpSort;

static const ExpSort exp_sorts[] = {
    {"submitted", "id", 0, 0, 0},
    {"name", "(name COLLATE NOCASE)", 1, 1, 0},
    {"task", "task", 1, 1, 0},
    {"state", "state", 1, 1, 0},
    {"priority", "priority", 2, 0, 0},
    {"started", "started_at", 3, 0, 1},
    {"finished", "finished_at", 3, 0, 1},
    {"return", "latest_return", 3, 0, 1},
    {"progress", PROGRESS_EXPR, 3, 0, 1},
};

/* What a page is ordered by: the key itself, or for a nullable one the key with NULL as the
 * value that sorts last in the page's direction, so that empty values come last either way and
 * the order is one index (migration 008 makes these expressions) read forwards or backwards:
 * no sort of the whole table per page, and the keyset condition is a range of that index. */
#define EXP_NULL_LAST_DESC "-1e308"
#define EXP_NULL_LAST_ASC  "1e308"

static void exp_sort_order_expr(const ExpSort *k, int asc, char *out, size_t out_sz) {
    if (k->nullable) {
        snprintf(out, out_sz, "coalesce(%s, %s)", k->expr,
                 asc ? EXP_NULL_LAST_ASC : EXP_NULL_LAST_DESC);
    } else {
        snprintf(out, out_sz, "%s", k->expr);
    }
}

static const ExpSort *exp_sort_find(const char *name) {
    for (size_t i = 0; i < sizeof(exp_sorts) / sizeof(exp_sorts[0]); i++) {
        if (!strcmp(exp_sorts[i].name, name ? name : "submitted")) {
            return &exp_sorts[i];
        }
    }
    return NULL;
}

int store_exp_sort_known(const char *sort) {
    return sort && exp_sort_find(sort) != NULL;
}

int store_exp_sort_ascending(const char *sort) {
    const ExpSort *k = exp_sort_find(sort);
    return k ? k->ascending : 0;
}

/* A cursor of a sorted listing is the hex text of [sort, order, value, id] of the last row
 * shown: opaque to clients, checked against the sort it is used with. */
static int cursor_encode(const ExpSort *k, int asc, sqlite3_stmt *st, int vcol, int64_t id,
                         char *out, size_t out_sz) {
    json_t *v, *doc;
    char *text;
    size_t len, i;
    static const char hex[] = "0123456789abcdef";
    v = store_column_to_json(st, vcol);
    doc =
        json_pack("[s,s,o,I]", k->name, asc ? "asc" : "desc", v ? v : json_null(), (json_int_t)id);
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        return AG_ENOMEM;
    }
    len = strlen(text);
    if (2 * len + 1 > out_sz) {
        free(text);
        return AG_ETOOBIG;
    }
    for (i = 0; i < len; i++) {
        out[2 * i] = hex[(unsigned char)text[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)text[i] & 15];
    }
    out[2 * len] = '\0';
    free(text);
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* the [sort, order, value, id] of a cursor as a new array; NULL when it is not one of ours */
static json_t *cursor_decode(const char *c, const ExpSort *k, int asc) {
    size_t len = strlen(c), i;
    char buf[STORE_CURSOR_MAX / 2 + 1];
    json_t *doc, *v;
    if (len == 0 || len % 2 || len > STORE_CURSOR_MAX) {
        return NULL;
    }
    for (i = 0; i < len / 2; i++) {
        int hi = hex_digit(c[2 * i]), lo = hex_digit(c[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return NULL;
        }
        buf[i] = (char)(hi << 4 | lo);
    }
    doc = json_loadb(buf, len / 2, 0, NULL);
    if (!json_is_array(doc) || json_array_size(doc) != 4 ||
        !json_is_string(json_array_get(doc, 0)) ||
        strcmp(json_string_value(json_array_get(doc, 0)), k->name) ||
        !json_is_string(json_array_get(doc, 1)) ||
        strcmp(json_string_value(json_array_get(doc, 1)), asc ? "asc" : "desc") ||
        !json_is_integer(json_array_get(doc, 3)) ||
        json_integer_value(json_array_get(doc, 3)) < 1) {
        goto bad;
    }
    v = json_array_get(doc, 2);
    if (json_is_null(v) || (k->kind == 1 && json_is_string(v)) ||
        (k->kind == 2 && json_is_integer(v)) || (k->kind == 3 && json_is_number(v))) {
        return doc;
    }
bad:
    json_decref(doc);
    return NULL;
}

/* a decimal id cursor ("submitted" order), or -1 */
static int64_t cursor_id(const char *c) {
    char *end;
    long long x;
    if (!c || !*c || *c < '0' || *c > '9') {
        return -1;
    }
    x = strtoll(c, &end, 10);
    return *end || x < 0 ? -1 : (int64_t)x;
}

#define EXP_WALL_SQL "SELECT wall_s FROM metrics WHERE exp_id = ?1 ORDER BY seq DESC LIMIT 1"
/* what a page of objects selects, and what the text path selects: the ids and row versions
 * (migration 014) of its items, whose text is then kept or written from EXP_ITEM_SQL */
#define EXP_OBJECT_COLUMNS EXP_COLUMNS ", " PROGRESS_EXPR " AS progress"
#define EXP_PAGE_IDS       "id, row_version"
#define EXP_ITEM_SQL       "SELECT " EXP_OBJECT_COLUMNS ", row_version FROM experiments WHERE id = ?1"

/* what a page is asked for, checked, with its SQL */
typedef struct ExpPage {
    const ExpSort *k;
    int asc;
    int limit;
    int has_after;
    int after_null;
    int64_t after_id;
    json_t *cur; /* the decoded cursor of a sorted page, or NULL */
    char *q_ids; /* the ids a name search can match, as a JSON array (store_exp_q_candidates) */
    const StoreIdSet *tag_ids; /* the tag's ids when the page tests them with ag_in_ids */
    const StoreIdSet *q_set;   /* the name search's candidates when tested so */
    char sql[4096];
} ExpPage;

/* How a tag (the rows of migration 012) is read. Under the submitted order the page is a range
 * of the tag's index itself, read newest first, each row fetched by its id: it stops after a page
 * whatever the tag. Under another order the tag's ids are read from its index, up to
 * EXP_TAG_MANY: a tag on fewer than EXP_TAG_FEW experiments is read by those ids and they are
 * sorted (about 2.5 us each at 10^4 experiments on the machine of docs/benchmarks.md); a tag on
 * up to EXP_TAG_MANY is a set each entry of the order's index is tested against by its id
 * (ag_in_ids, store_idset.c: no row, no lookup); a tag on more is tested row by row along that
 * index (about 0.6 us a row), dense enough that a page stops after a few rows per row shown.
 * The ids read are kept on the connection until a name or tags change (store_idset.c): the next
 * pages of the tag, about 0.15 ms each at 10^4 experiments, take them from there. */
#define EXP_TAG_FEW  256
#define EXP_TAG_MANY 2048
#define EXP_TEXT_(x) #x
#define EXP_TEXT(x)  EXP_TEXT_(x)
#define EXP_TAG_IDS_SQL                                                                            \
    "SELECT exp_id FROM experiment_tags WHERE tag = ?1 ORDER BY exp_id LIMIT " EXP_TEXT(           \
        EXP_TAG_MANY)

/* how the page's tag is read (exp_tag_read) */
typedef struct ExpTag {
    int few;        /* read by its ids, which are then sorted */
    int use_set;    /* ids tested with ag_in_ids */
    StoreIdSet ids; /* its ids, up to EXP_TAG_MANY; the caller frees them */
} ExpTag;

/* *t for f's tag under f's sort: the tag's ids when f has a tag and a sort other than the
 * submitted order; r locked */
static int exp_tag_read(Store *r, const StoreExpFilter *f, ExpTag *t, char *err, size_t err_sz) {
    const ExpSort *k = exp_sort_find(f->sort);
    int64_t version;
    int rc, kept = 0;
    memset(t, 0, sizeof(*t));
    if (!f->tag || !k || k->kind == 0) {
        return 0;
    }
    /* the version first: a set read after it is at least as new as what it names */
    rc = store_filter_version(r, &version, err, err_sz);
    if (rc == 0) {
        rc = store_idset_kept_get(r, 't', f->tag, version, &t->ids, &kept, err, err_sz);
    }
    if (rc == 0 && !kept) {
        rc = store_idset_read(r, EXP_TAG_IDS_SQL, f->tag, EXP_TAG_MANY, &t->ids, err, err_sz);
        if (rc == 0) {
            store_idset_keep(r, 't', f->tag, version, &t->ids);
        }
    }
    t->few = t->ids.n < EXP_TAG_FEW;
    t->use_set = !t->few && t->ids.n < EXP_TAG_MANY;
    if (rc == 0 && t->use_set) {
        store_idset_map(&t->ids);
    }
    return rc;
}

/* 1 when f's name search may be a set of ids (store_exp_q_candidates): under a sort whose index
 * is not the table itself */
static int exp_q_set_ok(const StoreExpFilter *f) {
    const ExpSort *k = exp_sort_find(f->sort);
    return k && k->kind != 0;
}

/* checks the sort and cursor of f and writes the page's SQL (tag from exp_tag_read, kept by the
 * caller until the page is read), selecting columns, then the sort value; no lock needed */
static int exp_page_plan(const StoreExpFilter *f, const ExpTag *tag, char *q_ids,
                         const StoreIdSet *q_set, const char *columns, ExpPage *pg, char *err,
                         size_t err_sz) {
    char where[768], ord[192];
    const char *from = "experiments AS e", *id_order = "id";
    const ExpSort *k = exp_sort_find(f->sort);
    int n, asc = f->ascending != 0, plain, order_is_filter, show_task, show_state;
    const char *cmp = asc ? ">" : "<", *dir = asc ? "ASC" : "DESC";
    memset(pg, 0, sizeof(*pg));
    pg->q_ids = q_ids; /* the page's from now on */
    pg->limit = f->limit > 0 && f->limit <= 1000 ? f->limit : 100;
    pg->asc = asc;
    pg->k = k;
    if (!k) {
        return ag_errorf(err, err_sz, AG_EINVAL, "sort must be one of %s", STORE_EXP_SORTS);
    }
    if (k->kind == 0) {
        int64_t c = f->after && *f->after ? cursor_id(f->after) : f->cursor;
        if (c < 0) {
            return ag_errorf(err, err_sz, AG_EINVAL, "cursor is not one of this listing");
        }
        if (c > 0) {
            pg->has_after = 1;
            pg->after_id = c;
        }
    } else if (f->after && *f->after) {
        pg->cur = cursor_decode(f->after, k, asc);
        if (!pg->cur) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "cursor is not one of this listing (sort=%s, order=%s)", k->name,
                             asc ? "asc" : "desc");
        }
        pg->has_after = 1;
        pg->after_null = json_is_null(json_array_get(pg->cur, 2));
        pg->after_id = json_integer_value(json_array_get(pg->cur, 3));
    } else if (f->cursor) {
        return ag_errorf(err, err_sz, AG_EINVAL, "an id cursor only pages the submitted order");
    }
    exp_sort_order_expr(k, asc, ord, sizeof(ord));
    /* only the filters asked for, so the planner sees plain conditions. Under a sort other than
     * the submitted order it is shown one filter ("+" hides the other from indexes): the one
     * whose index holds the order after it (migration 018), task when asked. Under sort=task or
     * sort=state with both, the order is constant within the match, so it is shown both: the
     * page is a range of (task, state, id) or (state, task, id), where one filter alone would
     * read the other's entries first. The page is then that range read in order (after a
     * cursor, two ranges), and a hidden filter is tested from the index entry. With a tag, a
     * name search or a parent the order's own index is read and both are tested on each entry
     * (016), as those filters choose their own ways. Never a sort of every match. */
    plain = k->kind == 0 || (!f->tag && !(f->q && *f->q) && f->parent_id <= 0);
    order_is_filter = !strcmp(k->name, "task") || !strcmp(k->name, "state");
    show_task = plain && f->task;
    show_state = plain && f->state && (k->kind == 0 || !f->task || order_is_filter);
    n = snprintf(where, sizeof(where), "1");
    if (f->state) {
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND %sstate = ?1",
                      show_state ? "" : "+");
    }
    if (f->task) {
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND %stask = ?2",
                      show_task ? "" : "+");
    }
    if (f->tag && k->kind == 0) {
        from = "experiment_tags AS t CROSS JOIN experiments AS e";
        id_order = "t.exp_id";
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND t.tag = ?3 AND e.id = t.exp_id");
    } else if (f->tag && tag->few) {
        n += snprintf(where + n, sizeof(where) - (size_t)n,
                      " AND id IN (SELECT exp_id FROM experiment_tags WHERE tag = ?3)");
    } else if (f->tag && tag->use_set) {
        pg->tag_ids = &tag->ids;
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND ag_in_ids(?10, id)");
    } else if (f->tag) {
        n += snprintf(where + n, sizeof(where) - (size_t)n,
                      " AND EXISTS (SELECT 1 FROM experiment_tags AS t"
                      " WHERE t.exp_id = e.id AND t.tag = ?3)");
    }
    if (pg->q_ids) {
        n += snprintf(where + n, sizeof(where) - (size_t)n,
                      " AND id IN (SELECT value FROM json_each(?9))");
    } else if (q_set && q_set->n > 0) {
        pg->q_set = q_set;
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND ag_in_ids(?11, id)");
    }
    if (f->q && *f->q) {
        /* LIKE folds ASCII case as lower() does, without a copy of every name it tests */
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND name LIKE ?4 ESCAPE '\\'");
    }
    if (f->parent_id > 0) {
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND parent_id = ?8");
    }
    /* keyset condition: after the last row shown in (order value, id) order */
    if (pg->has_after && k->kind == 0) {
        snprintf(where + n, sizeof(where) - (size_t)n, " AND %s %s ?7", id_order, cmp);
    }
    if (k->kind == 0) {
        n = snprintf(pg->sql, sizeof(pg->sql),
                     "SELECT %s, id AS sort_value FROM %s WHERE %s ORDER BY %s %s LIMIT ?5",
                     columns, from, where, id_order, dir);
    } else if (pg->has_after) {
        /* the rest of the cursor's order value (after its id), then the values after it: each
         * part one range of the order's index, read in order. As one range of the order value
         * with the id tested on each row, a page read every row sharing the cursor's value
         * first, thousands under an order with few values (state, task, priority, progress).
         * Ordered by the task or state it is filtered by, every match has the filter's value, so
         * the second part's test is that value against the cursor's, a constant: a range of the
         * order value there would be planned beside both filters' equalities as a range read
         * and then sorted by id. */
        char later[224];
        if (f->task && !strcmp(k->name, "task")) {
            snprintf(later, sizeof(later), "?2 %s ?6", cmp);
        } else if (f->state && !strcmp(k->name, "state")) {
            snprintf(later, sizeof(later), "?1 %s ?6", cmp);
        } else {
            snprintf(later, sizeof(later), "%s %s ?6", ord, cmp);
        }
        n = snprintf(pg->sql, sizeof(pg->sql),
                     "SELECT * FROM (SELECT %s, %s AS sort_value FROM %s WHERE %s AND %s = ?6 AND"
                     " id %s ?7 ORDER BY id %s LIMIT ?5) UNION ALL SELECT * FROM (SELECT %s, %s AS"
                     " sort_value FROM %s WHERE %s AND %s ORDER BY %s %s, id %s LIMIT ?5)"
                     " LIMIT ?5",
                     columns, ord, from, where, ord, cmp, dir, columns, ord, from, where, later,
                     ord, dir, dir);
    } else {
        n = snprintf(pg->sql, sizeof(pg->sql),
                     "SELECT %s, %s AS sort_value FROM %s WHERE %s ORDER BY %s %s, id %s LIMIT ?5",
                     columns, ord, from, where, ord, dir, dir);
    }
    if (n < 0 || (size_t)n >= sizeof(pg->sql)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "the listing's statement is too long");
    }
    return 0;
}

int store_exp_list_page_sql(Store *s, const StoreExpFilter *f, char *sql, size_t sql_sz, char *err,
                            size_t err_sz) {
    ExpPage pg;
    ExpTag tag;
    StoreIdSet q_set = {0};
    int rc;
    char *q_ids = NULL;
    Store *r = store_reader_lock(s);
    rc = exp_tag_read(r, f, &tag, err, err_sz);
    if (rc == 0) {
        rc = store_exp_q_candidates(r, f->q, &q_ids, exp_q_set_ok(f) ? &q_set : NULL, err, err_sz);
    }
    pthread_mutex_unlock(&r->mu);
    if (rc == 0) {
        rc = exp_page_plan(f, &tag, q_ids, &q_set, EXP_PAGE_IDS, &pg, err, err_sz);
        json_decref(pg.cur);
        free(pg.q_ids);
    }
    store_idset_free(&tag.ids);
    store_idset_free(&q_set);
    if (rc) {
        return rc;
    }
    if (snprintf(sql, sql_sz, "%s", pg.sql) >= (int)sql_sz) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "statement longer than %zu bytes", sql_sz);
    }
    return 0;
}

/* "%q%" with q's own '%', '_' and '\\' escaped: a LIKE pattern matching q anywhere */
static char *like_pattern(const char *q) {
    size_t n = strlen(q), j = 0;
    char *p = malloc(2 * n + 3);
    if (!p) {
        return NULL;
    }
    p[j++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\') {
            p[j++] = '\\';
        }
        p[j++] = q[i];
    }
    p[j++] = '%';
    p[j] = '\0';
    return p;
}

/* the page's statement, kept prepared on the locked reader r, with f and pg bound */
static int exp_page_bind(Store *r, const StoreExpFilter *f, const ExpPage *pg, sqlite3_stmt **out,
                         char *err, size_t err_sz) {
    sqlite3_stmt *st;
    int rc = store_stmt_get(r, pg->sql, &st, err, err_sz);
    *out = NULL;
    if (rc) {
        return rc;
    }
    if (f->state) {
        sqlite3_bind_text(st, 1, f->state, -1, SQLITE_STATIC);
    }
    if (f->task) {
        sqlite3_bind_text(st, 2, f->task, -1, SQLITE_STATIC);
    }
    if (f->tag) {
        sqlite3_bind_text(st, 3, f->tag, -1, SQLITE_STATIC);
    }
    if (f->q && *f->q) {
        char *pattern = like_pattern(f->q);
        if (!pattern) {
            store_stmt_put(r, st);
            return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        }
        sqlite3_bind_text(st, 4, pattern, -1, free);
    }
    /* one more than asked tells whether another page exists */
    sqlite3_bind_int(st, 5, pg->limit + 1);
    if (pg->has_after && pg->k->kind != 0 && pg->after_null) {
        /* a cursor of a row without a value (written before NULLs had their order value) */
        sqlite3_bind_double(st, 6, pg->asc ? 1e308 : -1e308);
    } else if (pg->has_after && pg->k->kind != 0) {
        json_t *v = json_array_get(pg->cur, 2);
        if (json_is_string(v)) {
            sqlite3_bind_text(st, 6, json_string_value(v), -1, SQLITE_TRANSIENT);
        } else if (json_is_integer(v)) {
            sqlite3_bind_int64(st, 6, json_integer_value(v));
        } else {
            sqlite3_bind_double(st, 6, json_number_value(v));
        }
    }
    if (pg->has_after) {
        sqlite3_bind_int64(st, 7, pg->after_id);
    }
    if (f->parent_id > 0) {
        sqlite3_bind_int64(st, 8, f->parent_id);
    }
    if (pg->q_ids) {
        sqlite3_bind_text(st, 9, pg->q_ids, -1, SQLITE_STATIC);
    }
    if (pg->tag_ids) {
        sqlite3_bind_pointer(st, 10, (void *)pg->tag_ids, STORE_IDSET_TYPE, NULL);
    }
    if (pg->q_set) {
        sqlite3_bind_pointer(st, 11, (void *)pg->q_set, STORE_IDSET_TYPE, NULL);
    }
    *out = st;
    return 0;
}

/* the cursor of the page ending at the current row of st (the limit-th) into next */
static int exp_page_next(const ExpPage *pg, sqlite3_stmt *st, char *next, size_t next_sz, char *err,
                         size_t err_sz) {
    int64_t id = sqlite3_column_int64(st, 0);
    int rc;
    if (pg->k->kind == 0) {
        snprintf(next, next_sz, "%lld", (long long)id);
        return 0;
    }
    rc = cursor_encode(pg->k, pg->asc, st, sqlite3_column_count(st) - 1, id, next, next_sz);
    return rc ? ag_errorf(err, err_sz, rc, "cursor does not fit") : 0;
}

/* latest_wall_s of each experiment of a page, looked up once the page is chosen: in the
 * listing's own SELECT, SQLite would compute it for every row it sorts, not only the page's */
static int page_wall_add(Store *s, json_t *page, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    size_t i;
    json_t *o;
    int rc = store_stmt_get(s, EXP_WALL_SQL, &st, err, err_sz);
    if (rc) {
        return rc;
    }
    json_array_foreach(page, i, o) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(o, "id")));
        json_object_set_new(o, "latest_wall_s",
                            sqlite3_step(st) == SQLITE_ROW ? store_column_to_json(st, 0)
                                                           : json_null());
    }
    store_stmt_put(s, st);
    return 0;
}

int store_exp_list_page(Store *s, const StoreExpFilter *f, json_t **out, char *next, size_t next_sz,
                        char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc, step = SQLITE_DONE, count = 0;
    json_t *arr = NULL;
    ExpPage pg;
    ExpTag tag;
    *out = NULL;
    if (next_sz) {
        next[0] = '\0';
    }
    arr = json_array();
    if (!arr) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    pg.cur = NULL;
    s = store_reader_lock(s);
    rc = exp_tag_read(s, f, &tag, err, err_sz);
    /* q tested on every name, without the index, and a tag on each row, without its id set:
     * what the text path is checked against */
    tag.use_set = 0;
    if (rc == 0) {
        rc = exp_page_plan(f, &tag, NULL, NULL, EXP_OBJECT_COLUMNS, &pg, err, err_sz);
    }
    if (rc == 0) {
        rc = exp_page_bind(s, f, &pg, &st, err, err_sz);
    }
    if (rc) {
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o;
        if (count == pg.limit) {
            break; /* the extra row: another page exists, next already holds its cursor */
        }
        o = store_row_to_json(st);
        json_object_del(o, "sort_value");
        json_array_append_new(arr, o);
        count++;
        if (count == pg.limit && (rc = exp_page_next(&pg, st, next, next_sz, err, err_sz))) {
            goto out;
        }
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "list experiments");
    } else if (step == SQLITE_DONE && next_sz) {
        next[0] = '\0'; /* the page ended the listing */
    }
    if (rc == 0) {
        rc = page_wall_add(s, arr, err, err_sz);
    }
out:
    json_decref(pg.cur);
    store_stmt_put(s, st);
    store_idset_free(&tag.ids);
    return store_reader_done(s, NULL, rc, arr, out);
}

/* column i of st as JSON text, what store_row_to_json gives for it once dumped: tags parsed
 * (copied when already compact), NaN and infinities, blobs and text that is not UTF-8 as null */
static int column_text(AgBuf *out, sqlite3_stmt *st, int i, int is_json) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return ag_json_text_int(out, sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        return isfinite(v) ? ag_json_text_real(out, v) : ag_buf_append(out, "null", 4);
    }
    case SQLITE_TEXT: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        size_t n = t ? strlen(t) : 0;
        if (!t) {
            return AG_ENOMEM;
        }
        if (is_json) {
            json_t *doc;
            char *text;
            int rc;
            if (ag_json_text_is_compact_strings(t, n)) {
                return ag_buf_append(out, t, n);
            }
            doc = json_loads(t, 0, NULL);
            text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
            json_decref(doc);
            if (text) {
                rc = ag_buf_append_str(out, text);
                free(text);
                return rc;
            }
        }
        {
            int rc = ag_json_text_string(out, t, n);
            return rc == AG_EINVAL ? ag_buf_append(out, "null", 4) : rc;
        }
    }
    default:
        return ag_buf_append(out, "null", 4);
    }
}

/* a column as json_number_value reads its value in the answer: 0 unless a finite number */
static double column_number(sqlite3_stmt *st, int i) {
    int type = i >= 0 ? sqlite3_column_type(st, i) : SQLITE_NULL;
    double v;
    if (type == SQLITE_INTEGER) {
        return (double)sqlite3_column_int64(st, i);
    }
    if (type != SQLITE_FLOAT) {
        return 0;
    }
    v = sqlite3_column_double(st, i);
    return isfinite(v) ? v : 0;
}

/* where the columns the text path reads by meaning are in the page's statement */
#define EXP_PAGE_COLS_MAX 64

typedef struct ExpPageCols {
    int n; /* columns written: all but sort_value */
    int is_json[EXP_PAGE_COLS_MAX];
    /* each member's ",\"name\":" (the first one without its comma), written once a page */
    char key[EXP_PAGE_COLS_MAX][48];
    size_t key_len[EXP_PAGE_COLS_MAX];
    int state, started_at, finished_at, budget, env_steps;
} ExpPageCols;

static int exp_page_cols(sqlite3_stmt *st, ExpPageCols *c) {
    memset(c, 0, sizeof(*c));
    c->state = c->started_at = c->finished_at = c->budget = c->env_steps = -1;
    c->n = sqlite3_column_count(st) - 1;
    if (c->n > EXP_PAGE_COLS_MAX) {
        return AG_ETOOBIG;
    }
    for (int i = 0; i < c->n; i++) {
        const char *name = sqlite3_column_name(st, i);
        int len = snprintf(c->key[i], sizeof(c->key[i]), "%s\"%s\":", i ? "," : "", name);
        if (len < 0 || (size_t)len >= sizeof(c->key[i]) || strpbrk(name, "\"\\")) {
            return AG_ETOOBIG; /* our own column names: short, nothing to escape */
        }
        c->key_len[i] = (size_t)len;
        c->is_json[i] = !strcmp(name, "tags") || !strcmp(name, "spec") || !strcmp(name, "row");
        if (!strcmp(name, "state")) {
            c->state = i;
        } else if (!strcmp(name, "started_at")) {
            c->started_at = i;
        } else if (!strcmp(name, "finished_at")) {
            c->finished_at = i;
        } else if (!strcmp(name, "budget_env_steps")) {
            c->budget = i;
        } else if (!strcmp(name, "latest_env_steps")) {
            c->env_steps = i;
        }
    }
    return 0;
}

/* the current row of st as the start of one item of the page, from its '{' to its latest_wall_s
 * (the members a caller appends and the '}' follow), and its pace */
static int exp_item_write(AgBuf *out, sqlite3_stmt *st, sqlite3_stmt *wall, const ExpPageCols *c,
                          StoreExpPace *pace) {
    const char *state;
    int rc = ag_buf_append(out, "{", 1);
    for (int i = 0; rc == 0 && i < c->n; i++) {
        rc = ag_buf_append(out, c->key[i], c->key_len[i]);
        if (rc == 0) {
            rc = column_text(out, st, i, c->is_json[i]);
        }
    }
    memset(pace, 0, sizeof(*pace));
    sqlite3_reset(wall);
    sqlite3_bind_int64(wall, 1, sqlite3_column_int64(st, 0));
    if (rc == 0) {
        rc = ag_buf_append_str(out, ",\"latest_wall_s\":");
    }
    if (rc == 0 && sqlite3_step(wall) == SQLITE_ROW) {
        rc = column_text(out, wall, 0, 0);
        pace->latest_wall_s = column_number(wall, 0);
    } else if (rc == 0) {
        rc = ag_buf_append(out, "null", 4);
    }
    state = c->state >= 0 ? (const char *)sqlite3_column_text(st, c->state) : NULL;
    pace->id = sqlite3_column_int64(st, 0);
    pace->running = state && !strcmp(state, "running");
    pace->latest_env_steps = column_number(st, c->env_steps);
    pace->budget_env_steps = column_number(st, c->budget);
    pace->started_at = column_number(st, c->started_at);
    pace->finished_at = column_number(st, c->finished_at);
    return rc;
}

/* what a text page reads its items' rows with, prepared at its first item not kept */
typedef struct ExpItemRead {
    sqlite3_stmt *item, *wall;
    ExpPageCols cols;
} ExpItemRead;

/* The start of the item of the page's current row (exp_item_write): the text kept for its id at
 * its row's version, else written from its row and kept. The row is read on the page's own
 * connection while the page's statement is running, so from the same snapshot as the version. */
static int exp_item_text(Store *r, StoreExpItems *items, sqlite3_stmt *page, ExpItemRead *rd,
                         AgBuf *out, StoreExpPace *pace, char *err, size_t err_sz) {
    int64_t id = sqlite3_column_int64(page, 0), version = sqlite3_column_int64(page, 1);
    size_t at = out->len;
    int rc = items ? store_exp_items_get(items, id, version, out, pace) : 0;
    if (rc != 0) {
        return rc == 1 ? 0 : ag_errorf(err, err_sz, rc, "the page does not fit its buffer");
    }
    if (!rd->item) {
        rc = store_stmt_get(r, EXP_ITEM_SQL, &rd->item, err, err_sz);
        if (rc == 0) {
            rc = store_stmt_get(r, EXP_WALL_SQL, &rd->wall, err, err_sz);
        }
        if (rc == 0 && (rc = exp_page_cols(rd->item, &rd->cols)) != 0) {
            return ag_errorf(err, err_sz, rc, "a column name of the listing is too long");
        }
        if (rc) {
            return rc;
        }
    }
    sqlite3_reset(rd->item);
    sqlite3_bind_int64(rd->item, 1, id);
    if (sqlite3_step(rd->item) != SQLITE_ROW) {
        return store_db_fail(r, err, err_sz, "read a listed experiment");
    }
    rc = exp_item_write(out, rd->item, rd->wall, &rd->cols, pace);
    if (rc) {
        return ag_errorf(err, err_sz, rc, "the page does not fit its buffer");
    }
    if (items) {
        store_exp_items_put(items, id, sqlite3_column_int64(rd->item, rd->cols.n), out->data + at,
                            out->len - at, pace);
    }
    return 0;
}

int store_exp_list_page_text(Store *s, const StoreExpFilter *f, AgBuf *out, StoreExpItemFn fn,
                             void *ctx, char *next, size_t next_sz, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    StoreExpItems *items = s->exp_items;
    int rc, step = SQLITE_DONE, count = 0;
    size_t start = out->len;
    ExpItemRead rd = {0};
    ExpPage pg;
    ExpTag tag;
    StoreIdSet q_set = {0};
    if (next_sz) {
        next[0] = '\0';
    }
    char *q_ids = NULL;
    pg.cur = NULL;
    pg.q_ids = NULL;
    s = store_reader_lock(s);
    rc = exp_tag_read(s, f, &tag, err, err_sz);
    if (rc == 0) {
        rc = store_exp_q_candidates(s, f->q, &q_ids, exp_q_set_ok(f) ? &q_set : NULL, err, err_sz);
    }
    if (rc == 0) {
        rc = exp_page_plan(f, &tag, q_ids, &q_set, EXP_PAGE_IDS, &pg, err, err_sz);
    }
    if (rc == 0) {
        rc = exp_page_bind(s, f, &pg, &st, err, err_sz);
    }
    if (rc == 0 && ag_buf_append(out, "[", 1) != 0) {
        rc = ag_errorf(err, err_sz, AG_ETOOBIG, "the page does not fit its buffer");
    }
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        StoreExpPace pace;
        if (count == pg.limit) {
            break; /* the extra row: another page exists, next already holds its cursor */
        }
        if (count > 0 && ag_buf_append(out, ",", 1) != 0) {
            rc = ag_errorf(err, err_sz, AG_ETOOBIG, "the page does not fit its buffer");
            break;
        }
        rc = exp_item_text(s, items, st, &rd, out, &pace, err, err_sz);
        if (rc) {
            break;
        }
        if (fn) {
            rc = fn(out, &pace, ctx);
        }
        if (rc == 0) {
            rc = ag_buf_append(out, "}", 1);
        }
        if (rc) {
            rc = ag_errorf(err, err_sz, rc, "the page does not fit its buffer");
            break;
        }
        count++;
        if (count == pg.limit) {
            rc = exp_page_next(&pg, st, next, next_sz, err, err_sz);
        }
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "list experiments");
    } else if (rc == 0 && step == SQLITE_DONE && next_sz) {
        next[0] = '\0'; /* the page ended the listing */
    }
    if (rc == 0 && ag_buf_append(out, "]", 1) != 0) {
        rc = ag_errorf(err, err_sz, AG_ETOOBIG, "the page does not fit its buffer");
    }
    store_stmt_put(s, rd.wall);
    store_stmt_put(s, rd.item);
    store_stmt_put(s, st);
    pthread_mutex_unlock(&s->mu);
    json_decref(pg.cur);
    free(pg.q_ids);
    store_idset_free(&tag.ids);
    store_idset_free(&q_set);
    if (rc) {
        out->len = start;
        if (out->data) {
            out->data[start] = '\0';
        }
    }
    return rc;
}

int store_exp_list_json(Store *s, const StoreExpFilter *f, json_t **out, int64_t *next, char *err,
                        size_t err_sz) {
    StoreExpFilter g = *f;
    char c[STORE_CURSOR_MAX];
    int rc;
    g.sort = NULL;
    g.ascending = 0;
    g.after = NULL;
    *next = 0;
    rc = store_exp_list_page(s, &g, out, c, sizeof(c), err, err_sz);
    if (rc == 0 && c[0]) {
        *next = cursor_id(c);
    }
    return rc;
}

/* Tests of server/store/store_exp_items.c: a kept item text answers only for its id and version,
 * a later id of the same slot replaces it, a text over the per-item maximum or past the budget is
 * not kept, and a page buffer that is full gets an error and nothing appended. */
#include "store_exp_items.h"

#include "ag_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static StoreExpPace pace_of(int64_t id, double steps) {
    StoreExpPace p = {.id = id, .running = 1, .latest_env_steps = steps, .latest_wall_s = 2.5};
    return p;
}

/* the text kept for (id, version) appended to a fresh buffer, or NULL when none is kept */
static char *kept(StoreExpItems *c, int64_t id, int64_t version, StoreExpPace *p) {
    AgBuf out;
    int rc;
    ck_assert_int_eq(ag_buf_init(&out, 0, 1 << 20), 0);
    rc = store_exp_items_get(c, id, version, &out, p);
    ck_assert_int_ge(rc, 0);
    if (rc == 0) {
        ck_assert_uint_eq(out.len, 0);
        ag_buf_free(&out);
        return NULL;
    }
    return out.data;
}

START_TEST(test_kept_for_its_version_only) {
    StoreExpItems *c = store_exp_items_new(STORE_EXP_ITEMS_DEFAULT);
    StoreExpPace p = pace_of(7, 100), got = {0};
    char *t;
    size_t items, bytes;
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(kept(c, 7, 0, &got));
    store_exp_items_put(c, 7, 3, "{\"id\":7", 7, &p);
    t = kept(c, 7, 3, &got);
    ck_assert_str_eq(t, "{\"id\":7");
    ck_assert(got.id == 7 && got.running == 1 && got.latest_env_steps == 100 &&
              got.latest_wall_s == 2.5);
    free(t);
    ck_assert_ptr_null(kept(c, 7, 4, &got));
    ck_assert_ptr_null(kept(c, 7, 2, &got));
    ck_assert_ptr_null(kept(c, 8, 3, &got));
    /* a new version in place of the old one */
    p = pace_of(7, 200);
    store_exp_items_put(c, 7, 4, "{\"id\":7,\"x\":1", 13, &p);
    ck_assert_ptr_null(kept(c, 7, 3, &got));
    t = kept(c, 7, 4, &got);
    ck_assert_str_eq(t, "{\"id\":7,\"x\":1");
    ck_assert(got.latest_env_steps == 200);
    free(t);
    /* the id of the same slot replaces it */
    p = pace_of(7 + STORE_EXP_ITEM_SLOTS, 1);
    store_exp_items_put(c, 7 + STORE_EXP_ITEM_SLOTS, 4, "{\"other\"", 9, &p);
    ck_assert_ptr_null(kept(c, 7, 4, &got));
    t = kept(c, 7 + STORE_EXP_ITEM_SLOTS, 4, &got);
    ck_assert_str_eq(t, "{\"other\"");
    free(t);
    store_exp_items_count(c, &items, &bytes);
    ck_assert_uint_eq(items, 1);
    ck_assert_uint_eq(bytes, 9);
    store_exp_items_free(c);
}
END_TEST

START_TEST(test_limits) {
    StoreExpItems *c = store_exp_items_new(20);
    StoreExpPace p = pace_of(1, 0), got;
    char *big = malloc(STORE_EXP_ITEM_MAX + 1), *t;
    size_t items, bytes;
    AgBuf small;
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', STORE_EXP_ITEM_MAX + 1);
    /* over the per-item maximum (with a budget that would hold it) */
    {
        StoreExpItems *roomy = store_exp_items_new(STORE_EXP_ITEMS_DEFAULT);
        store_exp_items_put(roomy, 1, 0, big, STORE_EXP_ITEM_MAX + 1, &p);
        ck_assert_ptr_null(kept(roomy, 1, 0, &got));
        store_exp_items_put(roomy, 1, 0, big, STORE_EXP_ITEM_MAX, &p);
        t = kept(roomy, 1, 0, &got);
        ck_assert_uint_eq(strlen(t), STORE_EXP_ITEM_MAX);
        free(t);
        store_exp_items_free(roomy);
    }
    /* the budget of 20 bytes: 12 kept, 12 more not, the same id's 18 in place of its 12 */
    store_exp_items_put(c, 1, 0, "123456789012", 12, &p);
    store_exp_items_put(c, 2, 0, "abcdefghijkl", 12, &p);
    ck_assert_ptr_null(kept(c, 2, 0, &got));
    store_exp_items_put(c, 1, 1, "123456789012345678", 18, &p);
    t = kept(c, 1, 1, &got);
    ck_assert_str_eq(t, "123456789012345678");
    free(t);
    store_exp_items_count(c, &items, &bytes);
    ck_assert_uint_eq(items, 1);
    ck_assert_uint_eq(bytes, 18);
    /* no id 0 or below */
    store_exp_items_put(c, 0, 0, "a", 1, &p);
    ck_assert_ptr_null(kept(c, 0, 0, &got));
    /* a full buffer: an error, nothing appended */
    ck_assert_int_eq(ag_buf_init(&small, 0, 10), 0);
    ck_assert_int_eq(ag_buf_append_str(&small, "[x"), 0);
    ck_assert_int_eq(store_exp_items_get(c, 1, 1, &small, &got), AG_ETOOBIG);
    ck_assert_str_eq(small.data, "[x");
    ag_buf_free(&small);
    free(big);
    store_exp_items_free(c);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("store_exp_items");
    TCase *tc = tcase_create("items");
    tcase_add_test(tc, test_kept_for_its_version_only);
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

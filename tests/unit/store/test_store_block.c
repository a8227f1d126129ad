/* Tests of server/store/store_block.c: a key's cells and a chunk's layout come back from their
 * blobs exactly (every double's bits, integers at the ends of their range, every kind of JSON
 * value, absent cells); a damaged blob is refused, never read past its end; reals are written
 * as jansson writes them. */
#include "store_block.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void roundtrip(const StoreCell *cells, size_t n) {
    AgBuf b;
    StoreCell *back = calloc(n + 1, sizeof(*back));
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(ag_buf_init(&b, 0, 1u << 30), 0);
    ck_assert_int_eq(store_block_encode(cells, n, &b), 0);
    ck_assert_int_eq(store_block_decode((const unsigned char *)b.data, b.len, n, back), 0);
    for (size_t k = 0; k < n; k++) {
        ck_assert_int_eq(back[k].kind, cells[k].kind);
        if (cells[k].kind == STORE_CELL_INT) {
            ck_assert_int_eq(back[k].i, cells[k].i);
        } else if (cells[k].kind == STORE_CELL_REAL) {
            ck_assert_mem_eq(&back[k].d, &cells[k].d, sizeof(double));
        } else if (cells[k].kind == STORE_CELL_JSON) {
            ck_assert_uint_eq(back[k].len, cells[k].len);
            ck_assert_mem_eq(back[k].text, cells[k].text, cells[k].len);
        }
    }
    /* every shorter blob is refused, and so is one with a byte too many */
    for (size_t cut = 0; cut < b.len; cut++) {
        ck_assert_int_eq(store_block_decode((const unsigned char *)b.data, cut, n, back),
                         AG_EFORMAT);
    }
    ag_buf_append(&b, "x", 1);
    ck_assert_int_eq(store_block_decode((const unsigned char *)b.data, b.len, n, back), AG_EFORMAT);
    ag_buf_free(&b);
    free(back);
}

START_TEST(test_integers_roundtrip) {
    enum { N = 300 };
    StoreCell c[N];
    memset(c, 0, sizeof(c));
    for (int k = 0; k < N; k++) {
        c[k].kind = STORE_CELL_INT;
        c[k].i = k * 2048; /* a steady step: one bit per value */
    }
    roundtrip(c, N);
    /* every code length, and the ends of the range next to each other */
    int64_t odd[] = {0,         1,         -1,      100,        -100,
                     5000,      -5000,     1 << 19, -(1 << 19), INT64_MAX,
                     INT64_MIN, INT64_MAX, 0,       INT64_MIN,  9007199254740993LL,
                     42};
    for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
        c[k].i = odd[k];
    }
    roundtrip(c, sizeof(odd) / sizeof(odd[0]));
    srand(7);
    for (int k = 0; k < N; k++) {
        c[k].i = (int64_t)(((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 2) ^ (uint64_t)rand());
    }
    roundtrip(c, N);
}
END_TEST

START_TEST(test_reals_roundtrip) {
    enum { N = 300 };
    StoreCell c[N];
    memset(c, 0, sizeof(c));
    for (int k = 0; k < N; k++) {
        c[k].kind = STORE_CELL_REAL;
        c[k].d = 3.0 * (1.0 + log1p(k)) + (double)rand() / RAND_MAX;
    }
    roundtrip(c, N);
    /* special values keep their bits: signed zero, NaN, infinities, subnormals, extremes */
    double odd[] = {0.0,
                    -0.0,
                    NAN,
                    -NAN,
                    INFINITY,
                    -INFINITY,
                    5e-324,
                    -5e-324,
                    1.7976931348623157e308,
                    2.2250738585072014e-308,
                    1.0,
                    1.0,
                    1.0,
                    0.1,
                    0.1,
                    -2.5};
    for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
        c[k].d = odd[k];
    }
    roundtrip(c, sizeof(odd) / sizeof(odd[0]));
    /* a constant costs about a bit a value */
    for (int k = 0; k < N; k++) {
        c[k].d = 0.25;
    }
    {
        AgBuf b;
        ck_assert_int_eq(ag_buf_init(&b, 0, 1u << 20), 0);
        ck_assert_int_eq(store_block_encode(c, N, &b), 0);
        ck_assert_uint_lt(b.len, 8 + N / 8 + 16);
        ag_buf_free(&b);
    }
}
END_TEST

START_TEST(test_mixed_kinds_roundtrip) {
    enum { N = 40 };
    StoreCell c[N];
    static const char *texts[] = {"\"a string\"", "[1,2]", "{\"x\":null}", "\"\\u00e9\\n\""};
    memset(c, 0, sizeof(c));
    for (int k = 0; k < N; k++) {
        c[k].kind = (unsigned char)(k % STORE_CELL_KINDS);
        c[k].i = k * 3 - 50;
        c[k].d = k * 0.5 - 3;
        if (c[k].kind == STORE_CELL_JSON) {
            c[k].text = texts[k % 4];
            c[k].len = strlen(texts[k % 4]);
        }
    }
    roundtrip(c, N);
    /* all absent, and no cells at all */
    memset(c, 0, sizeof(c));
    roundtrip(c, N);
    roundtrip(c, 0);
}
END_TEST

START_TEST(test_bad_blobs) {
    StoreCell c[4];
    unsigned char kind_out_of_range[] = {1, STORE_CELL_KINDS, 4, 0, 0};
    unsigned char too_many[] = {1, STORE_CELL_NULL, 9, 0, 0};
    unsigned char runaway_varint[12];
    memset(runaway_varint, 0xff, sizeof(runaway_varint));
    ck_assert_int_eq(store_block_decode(kind_out_of_range, sizeof(kind_out_of_range), 4, c),
                     AG_EFORMAT);
    ck_assert_int_eq(store_block_decode(too_many, sizeof(too_many), 4, c), AG_EFORMAT);
    ck_assert_int_eq(store_block_decode(runaway_varint, sizeof(runaway_varint), 4, c), AG_EFORMAT);
    ck_assert_int_eq(store_block_decode(NULL, 0, 4, c), AG_EFORMAT);
}
END_TEST

START_TEST(test_layout_roundtrip) {
    int64_t seqs[5] = {7, 8, 9, 12, 100}, a[3] = {1, 2, 3}, b[1] = {700000};
    int64_t *lists[2] = {a, b};
    size_t lens[2] = {3, 1}, rows[5] = {0, 0, 1, 0, 1};
    StoreLayout l = {.nrows = 5,
                     .seqs = seqs,
                     .nlists = 2,
                     .list_len = lens,
                     .lists = lists,
                     .row_list = rows},
                back;
    AgBuf buf;
    ck_assert_int_eq(ag_buf_init(&buf, 0, 1u << 20), 0);
    ck_assert_int_eq(store_layout_encode(&l, &buf), 0);
    ck_assert_int_eq(store_layout_decode((const unsigned char *)buf.data, buf.len, &back), 0);
    ck_assert_uint_eq(back.nrows, 5);
    ck_assert_mem_eq(back.seqs, seqs, sizeof(seqs));
    ck_assert_uint_eq(back.nlists, 2);
    ck_assert_uint_eq(back.list_len[0], 3);
    ck_assert_mem_eq(back.lists[0], a, sizeof(a));
    ck_assert_int_eq(back.lists[1][0], 700000);
    ck_assert_mem_eq(back.row_list, rows, sizeof(rows));
    store_layout_free(&back);
    for (size_t cut = 0; cut < buf.len; cut++) {
        ck_assert_int_eq(store_layout_decode((const unsigned char *)buf.data, cut, &back),
                         AG_EFORMAT);
    }
    /* contiguous seqs and one list: a few bytes whatever the row count */
    for (int k = 0; k < 5; k++) {
        seqs[k] = 1000 + k;
    }
    l.nlists = 1;
    ag_buf_reset(&buf);
    ck_assert_int_eq(store_layout_encode(&l, &buf), 0);
    ck_assert_uint_lt(buf.len, 12);
    ck_assert_int_eq(store_layout_decode((const unsigned char *)buf.data, buf.len, &back), 0);
    ck_assert_int_eq(back.seqs[4], 1004);
    ck_assert_uint_eq(back.row_list[2], 0);
    store_layout_free(&back);
    ag_buf_free(&buf);
}
END_TEST

/* the text of a real is what jansson's compact dump writes */
START_TEST(test_reals_written_as_jansson) {
    double values[] = {0.1,
                       -0.0,
                       3.0,
                       1e20,
                       1e-5,
                       123456789012345678.0,
                       5e-324,
                       1e300,
                       -2.5e-7,
                       100.0,
                       0.30000000000000004,
                       1.7976931348623157e308};
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 1u << 20), 0);
    for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
        json_t *v = json_real(values[k]);
        char *want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        StoreCell c;
        ck_assert_int_eq(store_cell_from_json(v, &c), 0);
        ag_buf_reset(&b);
        ck_assert_int_eq(store_cell_write(&b, &c), 0);
        ck_assert_str_eq(b.data, want);
        free(want);
        json_decref(v);
    }
    /* other kinds */
    {
        json_t *doc =
            json_loads("[-9223372036854775808,null,true,false,\"\\u00e9\",{\"a\":[1]}]", 0, NULL);
        size_t i;
        json_t *v;
        ck_assert_ptr_nonnull(doc);
        ag_buf_reset(&b);
        ag_buf_append_str(&b, "[");
        json_array_foreach(doc, i, v) {
            StoreCell c;
            ck_assert_int_eq(store_cell_from_json(v, &c), 0);
            if (i > 0) {
                ag_buf_append_str(&b, ",");
            }
            ck_assert_int_eq(store_cell_write(&b, &c), 0);
            if (c.kind == STORE_CELL_JSON) {
                free((char *)c.text);
            }
        }
        ag_buf_append_str(&b, "]");
        {
            char *want = json_dumps(doc, JSON_COMPACT);
            ck_assert_str_eq(b.data, want);
            free(want);
        }
        json_decref(doc);
    }
    ag_buf_free(&b);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("store_block");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_integers_roundtrip);
    tcase_add_test(tc, test_reals_roundtrip);
    tcase_add_test(tc, test_mixed_kinds_roundtrip);
    tcase_add_test(tc, test_bad_blobs);
    tcase_add_test(tc, test_layout_roundtrip);
    tcase_add_test(tc, test_reals_written_as_jansson);
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

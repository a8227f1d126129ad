/* Tests of server/store/store_block.c: a key's cells and a chunk's layout come back from their
 * blobs exactly (every double's bits, integers at the ends of their range, every kind of JSON
 * value, absent cells), blobs of the first version (reals XOR-ed) among them; the bytes the
 * encoder writes are pinned; reals cost what the coding of differences promises; a damaged blob
 * is refused, never read past its end; reals are written as jansson writes them, in a buffer
 * and as a value's text alone. */
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

/* a blob of the first version (no mark, reals XOR-ed), as the encoder before the version mark
 * wrote it for these cells, reads back: databases keep their sealed blocks */
START_TEST(test_first_version_blob_reads) {
    static const unsigned char blob[] = {
        0x04, 0x02, 0x05, 0x01, 0x01, 0x00, 0x01, 0x02, 0x11, 0x08, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x07, 0x92, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc0, 0x03, 0x80, 0x67, 0xff, 0xe0, 0x00, 0xd0, 0x00, 0xb0, 0x00, 0xc9, 0xd6, 0x4c,
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xdc, 0x0f, 0xbf, 0xef, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x66, 0xe0, 0x7f, 0x00, 0x58, 0x1a, 0xc6, 0xad, 0x86, 0x92, 0x4f, 0x00, 0x00, 0x6e,
        0x0d, 0x56, 0x88, 0xd4, 0x9f, 0xc0, 0x00, 0x2b, 0xa1, 0x60, 0xa1, 0x49, 0x06, 0x90,
        0x00, 0x1d, 0x9f, 0x12, 0xa1, 0x0a, 0xf1, 0xdc, 0x00, 0x01, 0xa8, 0x8c, 0xf6, 0xfa,
        0x4c, 0x25, 0x00, 0x00, 0xbc, 0xe7, 0x93, 0xc5, 0x7c, 0x62, 0xc0, 0x00, 0xf4, 0x22,
        0x7a, 0x94, 0x46, 0x43, 0x70, 0x00, 0x07, 0xe1, 0x87, 0x78, 0x20, 0x13, 0x8c, 0x00,
        0x03, 0x50, 0x24, 0xeb, 0x59, 0x72, 0x45, 0x00, 0x00, 0x4e, 0x0b, 0x72, 0x87, 0x1f,
        0xfd, 0x40, 0x00, 0x6e, 0x1d, 0x20, 0x8c, 0x99, 0x44, 0x90, 0x00, 0x0c, 0x94, 0xa2,
        0x4e, 0x41, 0xfe, 0x84, 0x00, 0x01, 0x75, 0x0b, 0xa2, 0xb3, 0x02, 0xb0,
    };
    static const unsigned char kinds[24] = {2, 2, 2, 2, 2, 1, 0, 2, 2, 2, 2, 2,
                                            2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    static const uint64_t reals[24] = {
        0x0000000000000000ull, 0x8000000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000000ull,
        0xfff0000000000000ull, 0x0000000000000001ull, 0x7fefffffffffffffull, 0x3ff0000000000000ull,
        0x3ff0000000000000ull, 0x3fb999999999999aull, 0xc004000000000000ull, 0x40280d6356c34927ull,
        0x4028d179fbd2e018ull, 0x40298c72fed8a82cull, 0x402a3f90aaf9f617ull, 0x402aebd6d184d005ull,
        0x402b9219f60e28c0ull, 0x402c330a22ac1adbull, 0x402ccf3acda818aaull, 0x402d6728b804a188ull,
        0x402dfb3e5d0a9e72ull, 0x402e8bd7596e5456ull, 0x402f194310a66b86ull, 0x402fa3c6c1ffeadeull};
    StoreCell c[24];
    ck_assert_int_eq(store_block_decode(blob, sizeof(blob), 24, c), 0);
    for (int k = 0; k < 24; k++) {
        uint64_t u;
        ck_assert_int_eq(c[k].kind, kinds[k]);
        if (kinds[k] == STORE_CELL_REAL) {
            memcpy(&u, &c[k].d, sizeof(u));
            ck_assert_msg(u == reals[k], "cell %d: %016llx", k, (unsigned long long)u);
        }
    }
    ck_assert_int_eq(c[5].i, 7);
    /* shorter, it is refused */
    for (size_t cut = 0; cut < sizeof(blob); cut++) {
        ck_assert_int_eq(store_block_decode(blob, cut, 24, c), AG_EFORMAT);
    }
}
END_TEST

/* the bytes of a blob are pinned: the encoder writes what the sealed blocks of existing
 * databases hold (reals of every code, an absent and a null cell, integers of every code
 * length, a JSON cell), so a faster writer cannot change the format unseen */
START_TEST(test_blob_bytes_pinned) {
    static const unsigned char expected[] = {
        0x00, 0x02, 0x06, 0x02, 0x0c, 0x00, 0x01, 0x03, 0x01, 0x01, 0x0a, 0x06, 0x01, 0x02, 0x01,
        0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x10, 0x00, 0x37, 0xfe, 0xf0,
        0x0b, 0x26, 0x71, 0x3f, 0xbe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdb, 0x9f, 0x8f, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xfe, 0xee, 0x92, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd,
        0x68, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x01, 0xe6, 0x01, 0xde,
        0x0f, 0xdf, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0xfe, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0x80, 0x1b, 0x33, 0x33,
        0x33, 0x33, 0x33, 0x33, 0x40, 0x0d, 0xce, 0x79, 0x37, 0xa5, 0x35, 0xf1, 0xb5, 0x0b, 0xf1,
        0x05, 0xa9, 0x43, 0xe5, 0xbc, 0x65, 0xd7, 0xc8, 0x18, 0x2e, 0x40, 0xa5, 0x07, 0xcf, 0xfb,
        0x4e, 0x71, 0xa0, 0x24, 0xea, 0xfa, 0x80, 0x04, 0x22, 0x61, 0x62, 0x22,
    };
    static const uint64_t reals[12] = {
        0x0000000000000000ull, 0x8000000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000000ull,
        0x0000000000000001ull, 0x7fefffffffffffffull, 0x3ff0000000000000ull, 0x3ff0000000000000ull,
        0x3fb999999999999aull, 0x40280d6356c34927ull, 0x4028d179fbd2e018ull, 0x40298c72fed8a82cull};
    static const int64_t ints[10] = {0,    2048,   4096,      6144,      6145,
                                     9000, -70000, INT64_MAX, INT64_MIN, 42};
    StoreCell c[26];
    AgBuf b;
    memset(c, 0, sizeof(c));
    for (int k = 0; k < 12; k++) {
        c[k].kind = STORE_CELL_REAL;
        memcpy(&c[k].d, &reals[k], sizeof(double));
    }
    c[12].kind = STORE_CELL_ABSENT;
    c[13].kind = STORE_CELL_NULL;
    for (int k = 0; k < 10; k++) {
        c[14 + k].kind = STORE_CELL_INT;
        c[14 + k].i = ints[k];
    }
    c[24].kind = STORE_CELL_JSON;
    c[24].text = "\"ab\"";
    c[24].len = 4;
    c[25].kind = STORE_CELL_REAL;
    c[25].d = -2.5;
    ck_assert_int_eq(ag_buf_init(&b, 0, 1u << 30), 0);
    ck_assert_int_eq(store_block_encode(c, 26, &b), 0);
    ck_assert_uint_eq(b.len, sizeof(expected));
    ck_assert_mem_eq(b.data, expected, sizeof(expected));
    ag_buf_free(&b);
    roundtrip(c, 26);
}
END_TEST

/* the bits a real costs: values of the bench's kind (a slow trend and a random fraction of 31
 * bits, %.17g) under 6.4 bytes (the XOR coding took 6.6), values of float32 precision under 3 */
START_TEST(test_reals_size) {
    enum { N = 256 };
    StoreCell c[N];
    AgBuf b;
    memset(c, 0, sizeof(c));
    srand(11);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < N; k++) {
            double v = 7.0 * (1.0 + log1p(k + 300)) + (double)rand() / RAND_MAX;
            c[k].kind = STORE_CELL_REAL;
            c[k].d = pass ? (double)(float)v : v;
        }
        ck_assert_int_eq(ag_buf_init(&b, 0, 1u << 20), 0);
        ck_assert_int_eq(store_block_encode(c, N, &b), 0);
        ck_assert_msg(b.len < (pass ? 3.0 : 6.4) * N, "pass %d: %zu bytes", pass, b.len);
        ag_buf_free(&b);
        roundtrip(c, N);
    }
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
        /* the same text alone, as the sealing's check of compact rows reads it */
        {
            char text[STORE_CELL_NUMBER_TEXT_MAX];
            int n = store_cell_number_text(&c, text);
            ck_assert_int_eq(n, (int)strlen(want));
            ck_assert(!memcmp(text, want, (size_t)n));
        }
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
            {
                /* integers have a text alone, other kinds none */
                char text[STORE_CELL_NUMBER_TEXT_MAX];
                int n = store_cell_number_text(&c, text);
                if (c.kind == STORE_CELL_INT) {
                    ck_assert_int_eq(n, 20);
                    ck_assert(!memcmp(text, "-9223372036854775808", 20));
                } else {
                    ck_assert_int_eq(n, -1);
                }
            }
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
    tcase_add_test(tc, test_first_version_blob_reads);
    tcase_add_test(tc, test_blob_bytes_pinned);
    tcase_add_test(tc, test_reals_size);
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

/* Tests of server/store/store_rowparse.c: every metrics line comes out of store_row_parse as
 * the fields of the object jansson's json_loadb reads (same keys in the same order, same integer
 * or real, same bits, the same JSON text for other values), through the fast path for flat
 * objects of numbers and through jansson for anything else, including lines jansson refuses. */
#include "store_int.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* both NULL (anything but an object), or the same keys in the same order with the cells
 * store_cell_from_json makes of jansson's values (same kind, integer, real bits, JSON text) */
static void expect_as_jansson(const char *text, size_t len) {
    json_t *want = json_loadb(text, len, 0, NULL);
    StoreRow *got = store_row_parse(text, len);
    if (!json_is_object(want)) {
        ck_assert_msg(got == NULL, "read as an object what jansson does not: %.*s", (int)len, text);
        json_decref(want);
        return;
    }
    ck_assert_msg(got != NULL, "refused what jansson reads: %.*s", (int)len, text);
    ck_assert_uint_eq(got->n, json_object_size(want));
    {
        const char *k;
        json_t *v;
        size_t i = 0;
        json_object_foreach(want, k, v) {
            StoreCell c;
            const StoreCell *g = &got->fields[i].cell;
            ck_assert_int_eq(store_cell_from_json(v, &c), 0);
            ck_assert_str_eq(got->fields[i].key, k);
            ck_assert_msg(g->kind == c.kind, "%s: kind %d, jansson's %d in %.*s", k, g->kind,
                          c.kind, (int)len, text);
            if (c.kind == STORE_CELL_INT) {
                ck_assert_int_eq(g->i, c.i);
            } else if (c.kind == STORE_CELL_REAL) {
                ck_assert_msg(!memcmp(&g->d, &c.d, sizeof(c.d)), "%s: %.17g, jansson's %.17g", k,
                              g->d, c.d);
            } else if (c.kind == STORE_CELL_JSON) {
                ck_assert_uint_eq(g->len, c.len);
                ck_assert(!memcmp(g->text, c.text, c.len));
                free((char *)c.text);
            }
            ck_assert_ptr_eq(store_row_get(got, k), g);
            i++;
        }
    }
    json_decref(want);
    store_row_free(got);
}

static void expect_str(const char *text) {
    expect_as_jansson(text, strlen(text));
}

START_TEST(test_flat_rows_read_as_jansson_reads_them) {
    char line[2048];
    unsigned seed = 3;
    expect_str("{\"iteration\":1,\"env_steps\":2048,\"return_mean\":12.5}");
    expect_str(" {\t\"a\" : -0 ,\r\n\"b\":-0.0, \"c\":1e5,\"d\":1E-5,\"e\":2.5e+3 }\n ");
    expect_str("{\"x\":123456789012345678,\"y\":-123456789012345678}");
    expect_str("{\"x\":0.1,\"y\":1e-320,\"z\":1e-400,\"w\":1.7976931348623157e308}");
    expect_str("{\"lr\":0.00029999999999999997,\"k\":12345678901234567890.5}");
    expect_str("{\"key with spaces!\":1,\"\":2}");
    /* as trainers write them: %.17g reals, integers, 30 keys */
    for (int i = 0; i < 2000; i++) {
        size_t n =
            (size_t)snprintf(line, sizeof(line), "{\"iteration\":%d,\"env_steps\":%d", i, i * 2048);
        for (int k = 0; k < 30; k++) {
            double v = (double)k * (1.0 + log1p((double)i)) + (double)rand_r(&seed) / RAND_MAX;
            n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"key%d\":%.17g", k,
                                  i % 7 ? v : -v * 1e-9);
        }
        snprintf(line + n, sizeof(line) - n, "}");
        expect_str(line);
    }
}
END_TEST

START_TEST(test_other_lines_go_to_jansson) {
    static const char *const lines[] = {
        "{}", "[]", "[1,2]", "1", "null", "\"text\"", "",
        /* values the fast path does not read */
        "{\"a\":\"text\"}", "{\"a\":true,\"b\":false,\"c\":null}", "{\"a\":[1,2],\"b\":{\"c\":1}}",
        "{\"a\":1,\"nested\":{\"b\":2.5}}",
        /* keys with escapes or beyond ASCII */
        "{\"a\\\"b\":1}", "{\"a\\u00e9\":1}", "{\"\xc3\xa9t\xc3\xa9\":1}", "{\"\xff\":1}",
        /* repeated keys: the last value wins where jansson says so */
        "{\"a\":1,\"b\":2,\"a\":3}",
        /* integers at and past int64 */
        "{\"a\":9223372036854775807}", "{\"a\":-9223372036854775808}",
        "{\"a\":9223372036854775808}", "{\"a\":1234567890123456789012}",
        /* reals past the double range */
        "{\"a\":1e400}", "{\"a\":-1e400}",
        /* numbers JSON does not allow */
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":-}",
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":0x10}",
        /* broken objects */
        "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":1}}", "{\"a\":1} x",
        "{\"a\":1,\"b\"}", "{\"a\":1 2}", "{,}", "{\"a\":1}\x01"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        expect_str(lines[i]);
    }
    /* a NUL inside the text, and text cut anywhere */
    expect_as_jansson("{\"a\":1\0}", 8);
    {
        const char *full = "{\"iteration\":12,\"return_mean\":-3.25e-2,\"loss\":0.5}";
        for (size_t n = 0; n <= strlen(full); n++) {
            expect_as_jansson(full, n);
        }
    }
}
END_TEST

/* lines of more keys than the fast path reads, keys repeated anywhere among many, and a value
 * of every other kind next to numbers */
START_TEST(test_many_keys_repeats_and_other_values) {
    char line[8192];
    for (int nkeys = 120; nkeys <= 140; nkeys += 4) {
        size_t n = (size_t)snprintf(line, sizeof(line), "{");
        for (int k = 0; k < nkeys; k++) {
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"k%d\":%d.5", k ? "," : "", k, k);
        }
        snprintf(line + n, sizeof(line) - n, "}");
        expect_str(line);
    }
    /* a repeat of each earlier key in turn, among 60 keys */
    for (int rep = 0; rep < 60; rep++) {
        size_t n = (size_t)snprintf(line, sizeof(line), "{");
        for (int k = 0; k < 60; k++) {
            n +=
                (size_t)snprintf(line + n, sizeof(line) - n, "%s\"key_%d\":%d", k ? "," : "", k, k);
        }
        snprintf(line + n, sizeof(line) - n, ",\"key_%d\":-1}", rep);
        expect_str(line);
    }
    expect_str("{\"a\":1,\"s\":\"text \\\"q\\\" \\u00e9\",\"t\":true,\"f\":false,\"n\":null,"
               "\"arr\":[1, 2.5, {\"x\" : null}],\"o\":{},\"z\":-2.5e-3}");
    {
        const char *text = "{\"iteration\":3,\"x\":0.5}";
        StoreRow *row = store_row_parse(text, strlen(text));
        ck_assert_ptr_nonnull(row);
        ck_assert_ptr_null(store_row_get(row, "missing"));
        ck_assert_ptr_null(store_row_get(row, "iter"));
        ck_assert_int_eq(store_row_get(row, "iteration")->i, 3);
        ck_assert(store_cell_is_number(store_row_get(row, "x")));
        ck_assert(store_cell_number(store_row_get(row, "iteration")) == 3.0);
        store_row_free(row);
    }
}
END_TEST

/* reals read to the same bits as strtod gives: the fast path converts up to 19 digits itself */
START_TEST(test_reals_read_to_strtod_bits) {
    static const char *const tokens[] = {"9007199254740993.0",
                                         "9007199254740995.0",
                                         "9007199254740993e0",
                                         "4.5035996273704985e15",
                                         "0.1",
                                         "0.2",
                                         "0.30000000000000004",
                                         "1e-27",
                                         "1e27",
                                         "1e28",
                                         "1e-28",
                                         "123456789e-27",
                                         "1.7976931348623157e308",
                                         "2.2250738585072014e-308",
                                         "4.9e-324",
                                         "1e-400",
                                         "1.00000000000000011102230246251565404236316680908203125",
                                         "0.000000000000000000000000000000123",
                                         "1234567890123456789.0",
                                         "12345678901234567890.0",
                                         "12345678901234567891.5",
                                         "0.0000",
                                         "-0.0e5",
                                         "1.0e-0",
                                         "100000000000000000000000.0",
                                         "18446744073709551615.0",
                                         "9999999999999999999e-27",
                                         "9999999999999999999e27"};
    char line[128];
    unsigned seed = 5;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        snprintf(line, sizeof(line), "{\"v\":%s,\"w\":-%s}", tokens[i], tokens[i]);
        expect_str(line);
    }
    for (int i = 0; i < 200000; i++) {
        char digits[32];
        int n = 1 + rand_r(&seed) % 20, point = rand_r(&seed) % (n + 1),
            e = rand_r(&seed) % 70 - 35;
        size_t k = 0;
        for (int j = 0; j < n; j++) {
            digits[j] = (char)('0' + rand_r(&seed) % 10);
        }
        digits[0] = digits[0] == '0' ? '7' : digits[0];
        k += (size_t)snprintf(line + k, sizeof(line) - k, "{\"v\":");
        if (point == 0) {
            k += (size_t)snprintf(line + k, sizeof(line) - k, "0.%.*s", n, digits);
        } else {
            k += (size_t)snprintf(line + k, sizeof(line) - k, "%.*s.%.*s", point, digits, n - point,
                                  digits + point);
            if (point == n) {
                k += (size_t)snprintf(line + k, sizeof(line) - k, "0");
            }
        }
        if (i % 2) {
            k += (size_t)snprintf(line + k, sizeof(line) - k, "e%d", e);
        }
        snprintf(line + k, sizeof(line) - k, "}");
        expect_str(line);
    }
}
END_TEST

static Suite *rowparse_suite(void) {
    Suite *s = suite_create("store_rowparse");
    TCase *tc = tcase_create("rowparse");
    tcase_add_test(tc, test_flat_rows_read_as_jansson_reads_them);
    tcase_add_test(tc, test_other_lines_go_to_jansson);
    tcase_add_test(tc, test_many_keys_repeats_and_other_values);
    tcase_add_test(tc, test_reals_read_to_strtod_bits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(rowparse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

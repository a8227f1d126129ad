/* Tests of common/ag_json_text.c: every value written is byte for byte what jansson's compact dump
 * writes for it (reals over random bit patterns, the ranges the daemon stores, powers of ten and
 * their neighbours, ties; strings with every escape, Unicode and random bytes, which must be
 * refused exactly when jansson refuses them; integers at their limits), and a column's JSON text
 * is copied only when jansson would write it the same way. */
#include "ag_json_text.h"

#include "ag_error.h"

#include <check.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* jansson's text of v alone (JSON_ENCODE_ANY), freed by the caller */
static char *jansson_text(json_t *v) {
    char *text;
    ck_assert_ptr_nonnull(v);
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    ck_assert_ptr_nonnull(text);
    return text;
}

static void expect_real(double v) {
    AgBuf b;
    char *want = jansson_text(json_real(v));
    ck_assert_int_eq(ag_buf_init(&b, 0, 64), 0);
    ck_assert_int_eq(ag_json_text_real(&b, v), 0);
    ck_assert_msg(!strcmp(b.data, want), "%a: got %s, jansson %s", v, b.data, want);
    ag_buf_free(&b);
    free(want);
}

/* xorshift, so the values are the same every run */
static uint64_t next_u64(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(test_reals_as_jansson) {
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    static const double fixed[] = {0.0,
                                   -0.0,
                                   0.5,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   1e-5,
                                   1e-4,
                                   9.9999e-5,
                                   1e15,
                                   1e16,
                                   1e17,
                                   1e21,
                                   1e22,
                                   1e23,
                                   123456789012345678.0,
                                   DBL_MAX,
                                   DBL_MIN,
                                   -DBL_MAX,
                                   5e-324,
                                   1e300,
                                   -1e-7,
                                   1764900000.123456,
                                   9007199254740993.0,
                                   2.5,
                                   0.125};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        expect_real(fixed[i]);
    }
    /* powers of ten and their neighbours, where the exponent guess and the rounding turn */
    for (int e = -30; e <= 40; e++) {
        double p = pow(10, e);
        expect_real(p);
        expect_real(nextafter(p, 0));
        expect_real(nextafter(p, INFINITY));
        expect_real(-p);
    }
    /* whole numbers (written without dtoa under 2^53): every magnitude to 2^53 and past it */
    for (int k = 0; k <= 60; k++) {
        double p = ldexp(1, k);
        expect_real(p);
        expect_real(p - 1);
        expect_real(p + 1);
        expect_real(-p);
        expect_real(1 - p);
    }
    expect_real(9007199254740991.0);
    expect_real(-9007199254740991.0);
    expect_real(9007199254740992.0);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = next_u64(&seed);
        double whole = (double)(bits >> (11 + bits % 50));
        expect_real(whole);
        expect_real(-whole);
    }
    /* ties of the 17th digit: small integers times powers of two */
    for (int k = 1; k < 2000; k++) {
        expect_real(ldexp(k, -k % 60));
        expect_real((double)k * 1e15 + 0.5);
    }
    for (int i = 0; i < 60000; i++) {
        uint64_t bits = next_u64(&seed);
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (isfinite(v)) {
            expect_real(v);
        }
        /* what the daemon keeps: times, returns, steps, fractions */
        expect_real(1.7e9 + (double)(bits % 100000000) / 1e6);
        expect_real(((double)(bits % 2000000) - 1e6) / 1000.0 / 3.0);
        expect_real((double)(bits >> 20) / 1024.0);
        expect_real((double)(bits % 1000000007) / 1000000007.0);
    }
}
END_TEST

static void expect_string(const char *s, size_t n) {
    json_t *v = json_stringn(s, n);
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 1 << 16), 0);
    ck_assert_int_eq(ag_buf_append_str(&b, "x"), 0);
    if (!v || memchr(s, 0, n)) {
        /* jansson refuses it (a NUL is refused too: the listing never gives one) */
        json_decref(v);
        if (!memchr(s, 0, n)) {
            ck_assert_int_eq(ag_json_text_string(&b, s, n), AG_EINVAL);
            ck_assert_str_eq(b.data, "x");
        }
    } else {
        char *want = jansson_text(v);
        ck_assert_int_eq(ag_json_text_string(&b, s, n), 0);
        ck_assert_msg(!strcmp(b.data + 1, want), "got %s, jansson %s", b.data + 1, want);
        free(want);
    }
    ag_buf_free(&b);
}

START_TEST(test_strings_as_jansson) {
    static const char *const fixed[] = {
        "",
        "plain",
        "q\"b\\s/",
        "\b\f\n\r\t\x01\x1f\x7f",
        "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80",
        "\xc0\x80",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xe0\x80\xaf",
        "\xc3",
        "\xff",
        "\x80",
    };
    uint64_t seed = 12345;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        expect_string(fixed[i], strlen(fixed[i]));
    }
    for (int c = 1; c < 256; c++) {
        char one = (char)c;
        expect_string(&one, 1);
    }
    for (int i = 0; i < 40000; i++) {
        char s[12];
        size_t n = next_u64(&seed) % sizeof(s);
        for (size_t j = 0; j < n; j++) {
            uint64_t r = next_u64(&seed);
            /* mostly bytes of UTF-8 sequences and controls, so valid ones come up too */
            static const unsigned char pool[] = {'a',  '"',  '\\', 0x01, 0x1f, 0x7f, 0x80,
                                                 0x9f, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xed,
                                                 0xef, 0xf0, 0xf4, 0xf5, 0xa0, 0x90, 0x8f};
            s[j] = (char)(r % 3 ? pool[(r >> 8) % sizeof(pool)] : (unsigned char)(r >> 16));
            if (s[j] == 0) {
                s[j] = 'z';
            }
        }
        expect_string(s, n);
    }
}
END_TEST

START_TEST(test_integers) {
    static const int64_t v[] = {0, 1, -1, 9, 10, -10, 9007199254740993LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        AgBuf b;
        char *want = jansson_text(json_integer((json_int_t)v[i]));
        ck_assert_int_eq(ag_buf_init(&b, 0, 64), 0);
        ck_assert_int_eq(ag_json_text_int(&b, v[i]), 0);
        ck_assert_str_eq(b.data, want);
        ag_buf_free(&b);
        free(want);
    }
}
END_TEST

/* copied only when jansson's own dump of the parsed text is the same text */
static void expect_compact(const char *s, int want) {
    json_t *doc = json_loads(s, 0, NULL);
    char *again = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int got = ag_json_text_is_compact_strings(s, strlen(s));
    ck_assert_msg(got == want, "%s: %d, want %d", s, got, want);
    if (got) {
        ck_assert_ptr_nonnull(again);
        ck_assert_str_eq(again, s);
    }
    free(again);
    json_decref(doc);
}

START_TEST(test_compact_tags) {
    expect_compact("[]", 1);
    expect_compact("[\"best\"]", 1);
    expect_compact("[\"a\",\"b\",\"caf\xc3\xa9\"]", 1);
    expect_compact("[\"q\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001F\"]", 1);
    expect_compact("[\"\"]", 1);
    expect_compact("[ \"a\"]", 0);
    expect_compact("[\"a\" ]", 0);
    expect_compact("[\"a\",]", 0);
    expect_compact("[,\"a\"]", 0);
    expect_compact("[\"a\"\"b\"]", 0);
    expect_compact("[\"\\/\"]", 0);
    expect_compact("[\"\\u00e9\"]", 0);
    expect_compact("[\"\\u001f\"]", 0);
    expect_compact("[\"\\u0041\"]", 0);
    expect_compact("[\"\\u0000\"]", 0);
    expect_compact("[\"\\ud83d\\ude00\"]", 0);
    expect_compact("[\"\\x\"]", 0);
    expect_compact("[\"a\x01\"]", 0);
    expect_compact("[\"\xff\"]", 0);
    expect_compact("[\"a]", 0);
    expect_compact("[\"a\\\"]", 0);
    expect_compact("[1]", 0);
    expect_compact("{}", 0);
    expect_compact("\"a\"", 0);
    expect_compact("", 0);
    expect_compact("[", 0);
}
END_TEST

START_TEST(test_buffer_limit) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 8), 0);
    ck_assert_int_eq(ag_buf_append_str(&b, "ab"), 0);
    ck_assert_int_eq(ag_json_text_string(&b, "\x01", 1), AG_ETOOBIG);
    ck_assert_int_eq(ag_json_text_real(&b, 0.1), AG_ETOOBIG);
    ck_assert_str_eq(b.data, "ab");
    ag_buf_free(&b);
}
END_TEST

static Suite *json_text_suite(void) {
    Suite *s = suite_create("ag_json_text");
    TCase *tc = tcase_create("json_text");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reals_as_jansson);
    tcase_add_test(tc, test_strings_as_jansson);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_compact_tags);
    tcase_add_test(tc, test_buffer_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(json_text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

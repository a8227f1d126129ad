/* Tests of the shortest round-trip number text (common/ag_dtoa.c): decimal inputs come back as
 * written, every output reads back as the same double (tricky values: subnormals, extremes,
 * values needing all 17 digits), and JSON text keeps reals real and jansson's escaping. */
#include "ag_dtoa.h"

#include "ag_error.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_text(double v, const char *want) {
    char out[AG_DTOA_MAX];
    int n = ag_dtoa_format(v, out, sizeof(out));
    ck_assert_msg(!strcmp(out, want), "%.17g gave \"%s\", want \"%s\"", v, out, want);
    ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(test_decimal_inputs_come_back) {
    expect_text(0.0003, "0.0003");
    expect_text(3e-4 * 1.0, "0.0003");
    expect_text(0.1, "0.1");
    expect_text(0.2, "0.2");
    expect_text(2.5e-4, "0.00025");
    expect_text(-1.5, "-1.5");
    expect_text(0.99, "0.99");
    expect_text(100.0, "100");
    expect_text(0.0, "0");
    expect_text(-0.0, "-0");
    expect_text(1e-7, "1e-07");
    expect_text(1e21, "1e+21");
    expect_text(123456.789, "123456.789");
    /* values that need many digits keep them */
    expect_text(0.1 + 0.2, "0.30000000000000004");
    expect_text(1.0 / 3.0, "0.3333333333333333");
    expect_text(DBL_MAX, "1.7976931348623157e+308");
    expect_text(DBL_MIN, "2.2250738585072014e-308");
    expect_text(5e-324, "5e-324");
    expect_text(9007199254740993.0, "9007199254740992");
    expect_text(NAN, "nan");
    expect_text(-INFINITY, "-inf");
}
END_TEST

/* every output, for a spread of doubles, parses back to the same bits and is no longer than
 * %.17g */
START_TEST(test_round_trip) {
    char out[AG_DTOA_MAX], full[64];
    unsigned long long state = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; i++) {
        double v;
        unsigned long long bits;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bits = state;
        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v)) {
            continue;
        }
        ag_dtoa_format(v, out, sizeof(out));
        ck_assert_msg(strtod(out, NULL) == v, "%s does not read back as %a", out, v);
        snprintf(full, sizeof(full), "%.17g", v);
        ck_assert_uint_le(strlen(out), strlen(full));
    }
    /* decimal numbers with few digits come back with those digits */
    for (int k = 1; k < 10000; k++) {
        double v = k / 10000.0;
        char want[32];
        snprintf(want, sizeof(want), "%g", v);
        ag_dtoa_format(v, out, sizeof(out));
        ck_assert_str_eq(out, want);
    }
}
END_TEST

START_TEST(test_small_buffer) {
    char out[8];
    ck_assert_int_eq(ag_dtoa_format(1.0, out, sizeof(out)), AG_ETOOBIG);
}
END_TEST

START_TEST(test_json_dumps) {
    json_t *doc = json_pack("{s:f,s:f,s:i,s:s,s:[f,b,n],s:{},s:[]}", "lr", 0.0003, "gamma", 3.0,
                            "n", 7, "text", "a\"b\n\xc3\xa9", "list", 0.1, 1, "empty", "none");
    char *text = ag_dtoa_json_dumps(doc, 0);
    json_t *back;
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "{\"lr\":0.0003,\"gamma\":3.0,\"n\":7,\"text\":\"a\\\"b\\n\xc3\xa9\","
                           "\"list\":[0.1,true,null],\"empty\":{},\"none\":[]}");
    /* it reads back equal, and 3.0 stays a real */
    back = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(back, doc));
    ck_assert(json_is_real(json_object_get(back, "gamma")));
    json_decref(back);
    free(text);
    /* indented like jansson's JSON_INDENT(2) */
    text = ag_dtoa_json_dumps(doc, 2);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "{\n  \"lr\": 0.0003,\n  \"gamma\": 3.0,"));
    ck_assert_ptr_nonnull(strstr(text, "\"list\": [\n    0.1,\n    true,\n    null\n  ],"));
    ck_assert_ptr_nonnull(strstr(text, "\"empty\": {},\n  \"none\": []\n}"));
    free(text);
    json_decref(doc);
    /* a bare scalar */
    doc = json_real(1e-7);
    text = ag_dtoa_json_dumps(doc, 2);
    ck_assert_str_eq(text, "1e-07");
    free(text);
    json_decref(doc);
    ck_assert_ptr_null(ag_dtoa_json_dumps(NULL, 0));
}
END_TEST

/* ag_dtoa_g17 must write what printf("%.17g") writes, byte for byte: sealed metric rows are
 * checked against their source text with it */
static void expect_g17(double v) {
    char want[64], got[AG_DTOA_MAX];
    int n = snprintf(want, sizeof(want), "%.17g", v);
    int m = ag_dtoa_g17(v, got);
    ck_assert_msg(m == n && !strcmp(got, want), "%a: %s, printf %s", v, got, want);
}

/* ag_dtoa_g17_json must write what jansson writes for a real, byte for byte: backlogs and
 * series answer with it in place of json_dumps */
static void expect_g17_json(double v) {
    char got[AG_DTOA_MAX], *want;
    json_t *real;
    int m;
    if (!isfinite(v)) {
        return; /* jansson has no text for it */
    }
    real = json_real(v);
    want = json_dumps(real, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    m = ag_dtoa_g17_json(v, got);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(m == (int)strlen(want) && !strcmp(got, want), "%a: %s, jansson %s", v, got, want);
    free(want);
    json_decref(real);
}

static uint64_t next_bits(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

START_TEST(test_g17_is_printf_and_jansson) {
    static const double fixed[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   0.3,
                                   1e-6,
                                   9.9999999999999995e-7,
                                   1e-5,
                                   1e-4,
                                   0.5,
                                   9.9999999999999991e-5,
                                   1e16,
                                   1e17,
                                   99999999999999984.0,
                                   9999999999999999.0,
                                   1234567890123456.5,
                                   123456789012345.125,
                                   0.30000000000000004,
                                   2.5e-300,
                                   5e-324,
                                   1.7976931348623157e308,
                                   DBL_MIN,
                                   4503599627370497.5};
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        expect_g17(fixed[i]);
        expect_g17_json(fixed[i]);
        expect_g17(-fixed[i]);
        expect_g17_json(-fixed[i]);
        expect_g17(nextafter(fixed[i], 0));
        expect_g17_json(nextafter(fixed[i], 0));
        expect_g17(nextafter(fixed[i], INFINITY));
        expect_g17_json(nextafter(fixed[i], INFINITY));
    }
    expect_g17(NAN);
    expect_g17(INFINITY);
    expect_g17(-INFINITY);
    /* every power of ten and its neighbours, where the exponent is decided */
    for (int p = -30; p <= 30; p++) {
        double v = pow(10, p);
        expect_g17(v);
        expect_g17_json(v);
        expect_g17(nextafter(v, 0));
        expect_g17_json(nextafter(v, 0));
        expect_g17(nextafter(v, INFINITY));
        expect_g17_json(nextafter(v, INFINITY));
    }
    for (int i = 0; i < 300000; i++) {
        uint64_t b = next_bits(&x);
        double v;
        /* any bit pattern, then values in the range metrics live in */
        memcpy(&v, &b, sizeof(v));
        expect_g17(v);
        expect_g17_json(v);
        v = ldexp((double)(b >> 11), -53) * pow(10, (int)(b % 26) - 8);
        expect_g17(v);
        expect_g17_json(v);
        /* dyadic values whose 18th digit is a 5: rounding ties */
        v = ldexp((double)(next_bits(&x) >> (11 + b % 8)), -(int)(b % 12));
        expect_g17(v);
        expect_g17_json(v);
        /* as the bench and the trainer make them */
        v = (double)(i % 30) * (1.0 + log1p((double)i)) + (double)(b % 1000003) / 1000003.0;
        expect_g17(v);
        expect_g17_json(v);
    }
}
END_TEST

static Suite *dtoa_suite(void) {
    Suite *s = suite_create("ag_dtoa");
    TCase *tc = tcase_create("dtoa");
    tcase_add_test(tc, test_decimal_inputs_come_back);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_small_buffer);
    tcase_add_test(tc, test_json_dumps);
    tcase_add_test(tc, test_g17_is_printf_and_jansson);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(dtoa_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

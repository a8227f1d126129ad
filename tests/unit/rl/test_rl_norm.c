/* Tests of the running mean/variance (merge == single pass), normalisation, pass-through features
 * (image pixels) and reward scaling. */
#include "rl_norm.h"

#include "ag_error.h"
#include "ag_rng.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 101, DIM = 3 };

static void make_data(float *x) {
    AgRng rng;
    ag_rng_seed(&rng, 7, 0);
    for (int r = 0; r < ROWS; r++) {
        x[r * DIM + 0] = (float)(5.0 + 2.0 * ag_rng_normal(&rng));
        x[r * DIM + 1] = (float)(-1000.0 + 0.01 * ag_rng_normal(&rng));
        x[r * DIM + 2] = (float)ag_rng_uniform(&rng);
    }
}

START_TEST(test_stat_matches_two_pass) {
    float x[ROWS * DIM];
    make_data(x);
    RlRunningStat s;
    ck_assert_int_eq(rl_stat_init(&s, DIM), 0);
    rl_stat_update(&s, x, ROWS);
    for (int i = 0; i < DIM; i++) {
        double mean = 0, var = 0;
        for (int r = 0; r < ROWS; r++) {
            mean += x[r * DIM + i];
        }
        mean /= ROWS;
        for (int r = 0; r < ROWS; r++) {
            var += (x[r * DIM + i] - mean) * (x[r * DIM + i] - mean);
        }
        var /= ROWS;
        ck_assert_double_eq_tol(s.mean[i], mean, 1e-9 * fabs(mean) + 1e-12);
        ck_assert_double_eq_tol(rl_stat_var(&s, i), var, 1e-9 * var + 1e-12);
    }
    ck_assert_double_eq(s.count, ROWS);
    rl_stat_free(&s);
}
END_TEST

START_TEST(test_stat_merge_equals_single_pass) {
    /* three "ranks" see uneven shares; merging them (also through the packed form) equals one
     * pass over everything, and so do many small updates */
    float x[ROWS * DIM];
    make_data(x);
    RlRunningStat all, a, b, c, inc, packed;
    rl_stat_init(&all, DIM);
    rl_stat_init(&a, DIM);
    rl_stat_init(&b, DIM);
    rl_stat_init(&c, DIM);
    rl_stat_init(&inc, DIM);
    rl_stat_init(&packed, DIM);
    rl_stat_update(&all, x, ROWS);
    rl_stat_update(&a, x, 10);
    rl_stat_update(&b, x + 10 * DIM, 60);
    rl_stat_update(&c, x + 70 * DIM, ROWS - 70);
    for (int r = 0; r < ROWS; r += 4) {
        rl_stat_update(&inc, x + r * DIM, r + 4 <= ROWS ? 4 : ROWS - r);
    }
    double buf[1 + 2 * DIM];
    ck_assert_uint_eq(rl_stat_packed_len(&a), 1 + 2 * DIM);
    rl_stat_pack(&a, buf);
    rl_stat_unpack(&packed, buf);
    rl_stat_pack(&b, buf);
    rl_stat_merge_packed(&packed, buf);
    rl_stat_merge(&a, &b);
    rl_stat_merge(&a, &c);
    rl_stat_merge(&packed, &c);
    RlRunningStat *cands[3] = {&a, &inc, &packed};
    for (int k = 0; k < 3; k++) {
        ck_assert_double_eq(cands[k]->count, all.count);
        for (int i = 0; i < DIM; i++) {
            ck_assert_double_eq_tol(cands[k]->mean[i], all.mean[i], 1e-9 * fabs(all.mean[i]));
            ck_assert_double_eq_tol(rl_stat_var(cands[k], i), rl_stat_var(&all, i),
                                    1e-7 * rl_stat_var(&all, i));
        }
    }
    /* merging an empty statistic changes nothing; merging into an empty one copies */
    RlRunningStat empty;
    rl_stat_init(&empty, DIM);
    rl_stat_merge(&a, &empty);
    ck_assert_double_eq(a.count, ROWS);
    rl_stat_merge(&empty, &all);
    ck_assert_double_eq(empty.mean[0], all.mean[0]);
    rl_stat_free(&empty);
    rl_stat_free(&all);
    rl_stat_free(&a);
    rl_stat_free(&b);
    rl_stat_free(&c);
    rl_stat_free(&inc);
    rl_stat_free(&packed);
}
END_TEST

START_TEST(test_stat_normalize_clip) {
    RlRunningStat s;
    rl_stat_init(&s, 2);
    float x[4] = {0, 10, 2, 30}; /* means 1, 20; variances 1, 100 */
    rl_stat_update(&s, x, 2);
    float in[4] = {3, 20, 1000, -1000}, out[4];
    rl_stat_normalize(&s, in, out, 2, 5.0f);
    ck_assert_double_eq_tol(out[0], 2.0, 1e-5);
    ck_assert_double_eq_tol(out[1], 0.0, 1e-5);
    ck_assert_double_eq_tol(out[2], 5.0, 1e-6); /* clipped */
    ck_assert_double_eq_tol(out[3], -5.0, 1e-6);
    /* in place */
    rl_stat_normalize(&s, in, in, 2, 5.0f);
    ck_assert_float_eq(in[0], out[0]);
    rl_stat_free(&s);
    RlRunningStat bad;
    ck_assert_int_eq(rl_stat_init(&bad, 0), -2); /* AG_EINVAL */
}
END_TEST

/* an observation of 7 features: vectors at 0, 1 and 5, an image at 2..4 and another at 6 */
enum { PT_ROWS = 50, PT_DIM = 7 };

static int pt_is_pixel(int i) {
    return (i >= 2 && i <= 4) || i == 6;
}

START_TEST(test_pass_through_features_unchanged) {
    float x[PT_ROWS * PT_DIM];
    AgRng rng;
    ag_rng_seed(&rng, 11, 0);
    for (int r = 0; r < PT_ROWS; r++) {
        for (int i = 0; i < PT_DIM; i++) {
            x[r * PT_DIM + i] = pt_is_pixel(i) ? (float)ag_rng_uniform(&rng)
                                               : (float)(3.0 * i + (i + 1) * ag_rng_normal(&rng));
        }
    }
    RlRunningStat plain, px;
    ck_assert_int_eq(rl_stat_init(&plain, PT_DIM), 0);
    ck_assert_int_eq(rl_stat_init(&px, PT_DIM), 0);
    ck_assert_int_eq(rl_stat_pass_through(&px, 2, 3), 0);
    ck_assert_int_eq(rl_stat_pass_through(&px, 6, 1), 0);
    ck_assert_int_eq(rl_stat_pass_through(&px, 3, 0), 0); /* nothing new */
    ck_assert_int_eq(px.num_runs, 4);
    for (int i = 0; i < PT_DIM; i++) {
        ck_assert_int_eq(rl_stat_is_pass_through(&px, i), pt_is_pixel(i));
    }
    ck_assert_int_eq(rl_stat_pass_through(&px, -1, 2), AG_EINVAL);
    ck_assert_int_eq(rl_stat_pass_through(&px, 6, 2), AG_EINVAL);
    ck_assert_int_eq(rl_stat_pass_through(&px, 0, -1), AG_EINVAL);
    ck_assert_int_eq(px.num_runs, 4);

    /* the statistics of the other features are those without pass-through, bit for bit; the
     * pixels' stay out of them */
    rl_stat_update(&plain, x, 20);
    rl_stat_update(&plain, x + 20 * PT_DIM, PT_ROWS - 20);
    rl_stat_update(&px, x, 20);
    rl_stat_update(&px, x + 20 * PT_DIM, PT_ROWS - 20);
    ck_assert_double_eq(px.count, plain.count);
    for (int i = 0; i < PT_DIM; i++) {
        if (pt_is_pixel(i)) {
            ck_assert_double_eq(px.mean[i], 0.0);
            ck_assert_double_eq(px.m2[i], 0.0);
        } else {
            ck_assert_double_eq(px.mean[i], plain.mean[i]);
            ck_assert_double_eq(px.m2[i], plain.m2[i]);
        }
    }

    /* pixels come out as they went in, even past the clip; the rest standardised and clipped */
    float in[2 * PT_DIM] = {1, 2, 0.0f, 1.0f, 0.25f, 100, 0.5f, -50, 4, 7.5f, -3, 0.125f, 9, 1e-7f};
    float out[2 * PT_DIM], want[2 * PT_DIM], inplace[2 * PT_DIM];
    memcpy(inplace, in, sizeof in);
    rl_stat_normalize(&px, in, out, 2, 5.0f);
    rl_stat_normalize(&plain, in, want, 2, 5.0f);
    rl_stat_normalize(&px, inplace, inplace, 2, 5.0f);
    int standardised = 0;
    for (int k = 0; k < 2 * PT_DIM; k++) {
        if (pt_is_pixel(k % PT_DIM)) {
            ck_assert_float_eq(out[k], in[k]);
        } else {
            ck_assert_float_eq(out[k], want[k]);
            standardised += out[k] != in[k];
        }
        ck_assert_float_eq(inplace[k], out[k]);
    }
    ck_assert_int_eq(standardised, 2 * 3);
    ck_assert_float_eq(out[PT_DIM + 2], 7.5f); /* not clipped */

    /* merges (as across ranks) leave the pixels out too */
    RlRunningStat other;
    ck_assert_int_eq(rl_stat_init(&other, PT_DIM), 0);
    ck_assert_int_eq(rl_stat_pass_through(&other, 2, 3), 0);
    ck_assert_int_eq(rl_stat_pass_through(&other, 6, 1), 0);
    rl_stat_update(&other, x, 5);
    double packed[1 + 2 * PT_DIM];
    rl_stat_pack(&other, packed);
    rl_stat_merge_packed(&px, packed);
    rl_stat_merge(&px, &other);
    ck_assert_double_eq(px.count, PT_ROWS + 10);
    ck_assert_double_eq(px.mean[2], 0.0);
    ck_assert_double_eq(px.m2[6], 0.0);

    /* statistics packed before pixels passed through (an older checkpoint, with the pixels'
     * statistics in it) load into the same layout and change nothing for the pixels */
    ck_assert_uint_eq(rl_stat_packed_len(&px), rl_stat_packed_len(&plain));
    rl_stat_pack(&plain, packed);
    ck_assert(packed[1 + 2] != 0.0);
    rl_stat_unpack(&px, packed);
    rl_stat_normalize(&px, in, out, 2, 5.0f);
    for (int k = 0; k < 2 * PT_DIM; k++) {
        ck_assert_float_eq(out[k], pt_is_pixel(k % PT_DIM) ? in[k] : want[k]);
    }
    rl_stat_free(&other);
    rl_stat_free(&plain);
    rl_stat_free(&px);
}
END_TEST

START_TEST(test_reward_scale_uses_gamma) {
    /* one environment, rewards 1, 1, 1 with gamma 0.5: returns 1, 1.5, 1.75 */
    RlRunningStat s;
    rl_stat_init(&s, 1);
    double ret = 0;
    unsigned char done = 0;
    float r = 1;
    rl_reward_scale(&s, NULL, &ret, &r, &done, 1, 0.5, 10.0f, 1);
    ck_assert_double_eq_tol(ret, 1.0, 1e-12);
    ck_assert_double_eq_tol(r, 10.0, 1e-6); /* variance 0: clipped */
    r = 1;
    rl_reward_scale(&s, NULL, &ret, &r, &done, 1, 0.5, 10.0f, 1);
    ck_assert_double_eq_tol(ret, 1.5, 1e-12);
    ck_assert_double_eq_tol(r, 1.0 / sqrt(0.0625 + RL_NORM_EPS), 1e-4); /* var{1,1.5} */
    r = 1;
    done = 1;
    rl_reward_scale(&s, NULL, &ret, &r, &done, 1, 0.5, 10.0f, 1);
    double m = (1 + 1.5 + 1.75) / 3.0;
    double var = ((1 - m) * (1 - m) + (1.5 - m) * (1.5 - m) + (1.75 - m) * (1.75 - m)) / 3.0;
    ck_assert_double_eq_tol(r, 1.0 / sqrt(var + RL_NORM_EPS), 1e-4);
    ck_assert_double_eq_tol(ret, 0.0, 1e-12); /* cleared by the episode end */
    /* a delta statistic receives the same samples (a rank's share for the merge) */
    RlRunningStat a, d;
    rl_stat_init(&a, 1);
    rl_stat_init(&d, 1);
    double runs[2] = {0, 0};
    unsigned char dn[2] = {0, 0};
    float rr[2] = {1, 3};
    rl_reward_scale(&a, &d, runs, rr, dn, 2, 0.9, 10.0f, 1);
    ck_assert_double_eq(d.count, 2);
    ck_assert_double_eq(a.count, 2);
    ck_assert_double_eq_tol(d.mean[0], 2.0, 1e-12);
    ck_assert_double_eq_tol(rl_stat_var(&d, 0), 1.0, 1e-12);
    ck_assert_double_eq_tol(rr[1], 3.0 / sqrt(1.0 + RL_NORM_EPS), 1e-5);
    rl_stat_free(&a);
    rl_stat_free(&d);
    /* frozen: statistic unchanged */
    double count = s.count;
    r = 2;
    done = 0;
    rl_reward_scale(&s, NULL, &ret, &r, &done, 1, 0.5, 10.0f, 0);
    ck_assert_double_eq(s.count, count);
    ck_assert_double_eq_tol(r, 2.0 / sqrt(var + RL_NORM_EPS), 1e-4);
    rl_stat_free(&s);
}
END_TEST

static Suite *norm_suite(void) {
    Suite *s = suite_create("rl_norm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_stat_matches_two_pass);
    tcase_add_test(tc, test_stat_merge_equals_single_pass);
    tcase_add_test(tc, test_stat_normalize_clip);
    tcase_add_test(tc, test_pass_through_features_unchanged);
    tcase_add_test(tc, test_reward_scale_uses_gamma);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(norm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

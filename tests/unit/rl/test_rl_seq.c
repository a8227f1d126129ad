/* Tests of recurrent chunk bookkeeping: reset masks with an episode end inside a chunk,
 * minibatch splits covering every unit, and sequence gathers. */
#include "rl_seq.h"

#include <check.h>
#include <string.h>

START_TEST(test_reset_mask_inside_chunk) {
    /* 2 envs x 8 steps; env 0 ends after step 2 (inside chunk 0 of length 4) and after step 7
     * (the last); env 1 carries a pending reset from the previous rollout */
    uint8_t dones[16] = {0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0};
    uint8_t first[2] = {0, 1};
    uint8_t reset[16];
    rl_seq_reset_mask(reset, dones, first, 2, 8);
    uint8_t want[16] = {0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0};
    ck_assert_mem_eq(reset, want, 16);
    /* the episode end at the last step of env 0 is the next rollout's first reset, and it
     * never leaks into env 1's row 8 from env 0's row 7 */
    rl_seq_reset_mask(reset, dones, NULL, 2, 8);
    ck_assert_int_eq(reset[8], 0);
}
END_TEST

START_TEST(test_minibatch_cover) {
    for (int total = 1; total < 40; total++) {
        for (int count = 1; count <= total; count++) {
            int next = 0, min = total, max = 0;
            for (int k = 0; k < count; k++) {
                int start, size;
                rl_minibatch_range(total, count, k, &start, &size);
                ck_assert_int_eq(start, next);
                next = start + size;
                min = size < min ? size : min;
                max = size > max ? size : max;
            }
            ck_assert_int_eq(next, total); /* no unit wasted */
            ck_assert_int_le(max - min, 1);
        }
    }
    ck_assert_int_eq(rl_minibatch_count(1024, 256), 4);
    ck_assert_int_eq(rl_minibatch_count(64, 16), 4);
    ck_assert_int_eq(rl_minibatch_count(10, 64), 1);
    ck_assert_int_eq(rl_minibatch_count(10, 0.5), 10);
    ck_assert_int_eq(rl_minibatch_count(10, 0), 1);
}
END_TEST

/* 0, 1, 2, ... 99 */
static const float *flags_f(void) {
    static float v[100];
    for (int i = 0; i < 100; i++) {
        v[i] = (float)i;
    }
    return v;
}

START_TEST(test_gather_sequences) {
    /* 2 envs x 6 steps, L = 3: sequences 0..3 are rows 0-2, 3-5, 6-8, 9-11 */
    float src[12 * 2];
    uint8_t flags[12];
    for (int r = 0; r < 12; r++) {
        src[r * 2] = (float)r;
        src[r * 2 + 1] = (float)(100 + r);
        flags[r] = (uint8_t)r;
    }
    int idx[2] = {3, 1};
    float dst[2 * 3 * 2];
    uint8_t fdst[6];
    rl_seq_gather_f(dst, src, idx, 2, 3, 2);
    rl_seq_gather_u8(fdst, flags, idx, 2, 3);
    float want[12] = {9, 109, 10, 110, 11, 111, 3, 103, 4, 104, 5, 105};
    uint8_t fwant[6] = {9, 10, 11, 3, 4, 5};
    ck_assert_mem_eq(dst, want, sizeof want);
    ck_assert_mem_eq(fdst, fwant, 6);
    /* single floats (feed-forward scalars) and long blocks (recurrent observations) */
    float one[3];
    int idx3[3] = {7, 0, 11};
    rl_seq_gather_f(one, flags_f(), idx3, 3, 1, 1);
    ck_assert_float_eq(one[0], 7);
    ck_assert_float_eq(one[1], 0);
    ck_assert_float_eq(one[2], 11);
    float big[2 * 4 * 5];
    rl_seq_gather_f(big, flags_f(), idx, 2, 4, 5); /* blocks of 20 floats */
    for (int k = 0; k < 20; k++) {
        ck_assert_float_eq(big[k], (float)(3 * 20 + k));
        ck_assert_float_eq(big[20 + k], (float)(1 * 20 + k));
    }
}
END_TEST

static Suite *seq_suite(void) {
    Suite *s = suite_create("rl_seq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_reset_mask_inside_chunk);
    tcase_add_test(tc, test_minibatch_cover);
    tcase_add_test(tc, test_gather_sequences);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(seq_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* Tests of offscreen rendering (mj_render.c): float and 8-bit images of the same scene agree,
 * images are top-down (C, H, W) in [0, 1], a named camera that does not exist and sizes beyond
 * the offscreen buffer are refused. */
#include "mj_render.h"
#include "mj_runtime.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mesa's software renderer keeps some allocations until the process ends; LeakSanitizer reads
 * this hook when the tests run under ASan */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libOSMesa\n";
}

START_TEST(test_float_and_rgb_agree) {
    char err[256] = "";
    mjModel *m = NULL;
    mjData *d = NULL;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_data_create(m, &d, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_forward(m, d), 0);
    EnvMjRenderer *r = NULL;
    ck_assert_msg(env_mj_renderer_create(m, "palm_cam", 40, 32, &r, err, sizeof(err)) == 0, "%s",
                  err);
    float *img = malloc(sizeof(float) * 3 * 40 * 32);
    unsigned char *rgb = malloc(3 * 40 * 32);
    ck_assert_int_eq(env_mj_render(r, m, d, img), 0);
    ck_assert_int_eq(env_mj_render_rgb(r, m, d, rgb), 0);
    for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 40; x++) {
            for (int c = 0; c < 3; c++) {
                float f = img[c * 40 * 32 + y * 40 + x];
                ck_assert(f >= 0.0f && f <= 1.0f);
                ck_assert_int_eq((int)lroundf(f * 255.0f), rgb[(y * 40 + x) * 3 + c]);
            }
        }
    }
    /* the cube's top face (blue) is seen from above near the middle of the picture */
    int blue = 0;
    for (int i = 0; i < 40 * 32; i++) {
        blue += rgb[3 * i + 2] > 150 && rgb[3 * i] < 100 && rgb[3 * i + 1] < 100;
    }
    ck_assert_int_gt(blue, 10);
    free(img);
    free(rgb);
    env_mj_renderer_destroy(r);
    /* a free camera works for any model */
    ck_assert_int_eq(env_mj_renderer_create(m, NULL, 16, 16, &r, err, sizeof(err)), 0);
    env_mj_renderer_destroy(r);
    env_mj_renderer_destroy(NULL);
    mj_deleteData(d);
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_refusals) {
    char err[256] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    EnvMjRenderer *r = (EnvMjRenderer *)1;
    ck_assert_int_eq(env_mj_renderer_create(m, "no_camera", 32, 32, &r, err, sizeof(err)),
                     AG_EFORMAT);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, "no_camera") != NULL, "%s", err);
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 32, 512, &r, err, sizeof(err)),
                     AG_ERANGE);
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 2, 2, &r, err, sizeof(err)), AG_ERANGE);
    mj_deleteModel(m);
}
END_TEST

static Suite *render_suite(void) {
    Suite *s = suite_create("mj_render");
    TCase *tc = tcase_create("render");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_float_and_rgb_agree);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(render_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

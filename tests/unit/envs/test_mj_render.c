/* Tests of offscreen rendering (mj_render.c): float and 8-bit images of the same scene agree,
 * images are top-down (C, H, W) in [0, 1], scenes tiled into one framebuffer give the same
 * pixels as scenes rendered one by one, the tessellation follows the image size, hidden geom
 * groups are left out of the picture, a named camera that does not exist, sizes beyond the
 * offscreen buffer and bad tile counts are refused. */
#include "mj_render.h"
#include "mj_runtime.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mesa's software renderer keeps some allocations until the process ends; LeakSanitizer reads
 * this hook when the tests run under ASan */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libOSMesa\n";
}

/* the block scene in its initial state, forward dynamics run (positions for the renderer) */
static void block_scene_open(mjModel **m, mjData **d) {
    char err[256] = "";
    ck_assert_msg(env_mj_model_load("hand_block.xml", m, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(env_mj_data_create(*m, d, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(env_mj_forward(*m, *d), 0);
}

START_TEST(test_float_and_rgb_agree) {
    char err[256] = "";
    mjModel *m = NULL;
    mjData *d = NULL;
    block_scene_open(&m, &d);
    EnvMjRenderer *r = NULL;
    ck_assert_msg(env_mj_renderer_create(m, "palm_cam", 40, 32, NULL, &r, err, sizeof(err)) == 0,
                  "%s", err);
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
    ck_assert_int_eq(env_mj_renderer_create(m, NULL, 16, 16, NULL, &r, err, sizeof(err)), 0);
    env_mj_renderer_destroy(r);
    env_mj_renderer_destroy(NULL);
    mj_deleteData(d);
    mj_deleteModel(m);
}
END_TEST

#define TILED_SCENES 11
#define TILED_W      40
#define TILED_H      32

/* scene i: the hand's joints and the block moved by amounts that differ from scene to scene */
static void tiled_scene_pose(const mjModel *m, mjData *d, int i) {
    for (int j = 0; j < m->njnt; j++) {
        int adr = m->jnt_qposadr[j];
        if (m->jnt_type[j] == mjJNT_HINGE) {
            double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
            double u = 0.5 + 0.45 * sin(1.7 * i + 0.9 * j);
            d->qpos[adr] = lo + u * (hi - lo);
        } else if (m->jnt_type[j] == mjJNT_FREE) {
            d->qpos[adr] += 0.012 * sin(2.3 * i);
            d->qpos[adr + 1] += 0.012 * cos(1.1 * i);
            double q[4] = {cos(0.3 * i), 0, sin(0.3 * i), 0};
            mju_copy4(d->qpos + adr + 3, q);
        }
    }
}

START_TEST(test_tiled_equals_single) {
    char err[256] = "";
    mjModel *m = NULL;
    mjData *d[TILED_SCENES];
    float *single[TILED_SCENES], *tiled[TILED_SCENES];
    size_t floats = 3 * TILED_W * TILED_H;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    for (int i = 0; i < TILED_SCENES; i++) {
        ck_assert_int_eq(env_mj_data_create(m, &d[i], err, sizeof(err)), 0);
        tiled_scene_pose(m, d[i], i);
        ck_assert_int_eq(env_mj_forward(m, d[i]), 0);
        single[i] = malloc(sizeof(float) * floats);
        tiled[i] = malloc(sizeof(float) * floats);
    }
    /* 4 tiles per pass: 11 scenes take three passes, the last with a partly used grid */
    EnvMjRenderer *one = NULL, *grid = NULL;
    EnvMjRenderOptions single_opts = {.tiles = 1, .full_detail = 0};
    EnvMjRenderOptions grid_opts = {.tiles = 4, .full_detail = 0};
    ck_assert_msg(env_mj_renderer_create(m, "palm_cam", TILED_W, TILED_H, &single_opts, &one, err,
                                         sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", TILED_W, TILED_H, &grid_opts, &grid, err,
                                            sizeof(err)),
                     0);
    ck_assert_int_eq(env_mj_renderer_tiles(one), 1);
    ck_assert_int_eq(env_mj_renderer_tiles(grid), 4);
    for (int i = 0; i < TILED_SCENES; i++) {
        ck_assert_int_eq(env_mj_render(one, m, d[i], single[i]), 0);
    }
    ck_assert_int_eq(env_mj_render_batch(grid, m, d, TILED_SCENES, tiled), 0);
    /* the model's own offscreen size and detail are left as they were */
    ck_assert_int_eq(m->vis.global.offwidth, 256);
    ck_assert_int_eq(m->vis.global.offheight, 256);
    ck_assert_int_eq(m->vis.quality.numslices, 28);
    /* the rasteriser may round a colour differently at another place in the framebuffer: one
     * level of 8 bits at most, in few values */
    float max_diff = 0.0f;
    size_t differ = 0;
    for (int i = 0; i < TILED_SCENES; i++) {
        for (size_t k = 0; k < floats; k++) {
            float diff = fabsf(single[i][k] - tiled[i][k]);
            max_diff = diff > max_diff ? diff : max_diff;
            differ += diff > 0.0f;
        }
    }
    printf("tiled vs single rendering: max difference %g, %zu of %zu values differ\n", max_diff,
           differ, floats * TILED_SCENES);
    ck_assert_float_le(max_diff, 1.0f / 255.0f + 1e-6f);
    ck_assert_uint_le(differ, floats * TILED_SCENES / 100);
    /* the scenes differ, so a tile shown in the wrong place would be caught */
    for (int i = 1; i < TILED_SCENES; i++) {
        ck_assert(memcmp(single[i], single[i - 1], sizeof(float) * floats) != 0);
    }
    env_mj_renderer_destroy(one);
    env_mj_renderer_destroy(grid);
    for (int i = 0; i < TILED_SCENES; i++) {
        free(single[i]);
        free(tiled[i]);
        mj_deleteData(d[i]);
    }
    mj_deleteModel(m);
}
END_TEST

/* the goal cube (geom group 2) moved into the middle of the palm camera's view: drawn by a
 * renderer with the default groups, left out, to the bit, by one that hides group 2 */
START_TEST(test_hidden_groups_left_out) {
    char err[256] = "";
    mjModel *m = NULL;
    mjData *d = NULL;
    block_scene_open(&m, &d);
    int goal = env_mj_id(m, mjOBJ_BODY, "goal");
    ck_assert_int_ge(goal, 0);
    int mocap = m->body_mocapid[goal];
    ck_assert_int_ge(mocap, 0);
    EnvMjRenderOptions shown = {.tiles = 1, .full_detail = 0};
    EnvMjRenderOptions hidden = {.tiles = 1, .full_detail = 0, .hidden_geom_groups = 1u << 2};
    EnvMjRenderer *with = NULL, *without = NULL;
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 32, 32, &shown, &with, err, sizeof(err)),
                     0);
    ck_assert_int_eq(
        env_mj_renderer_create(m, "palm_cam", 32, 32, &hidden, &without, err, sizeof(err)), 0);
    size_t floats = 3 * 32 * 32;
    float *img[4];
    for (int i = 0; i < 4; i++) {
        img[i] = malloc(sizeof(float) * floats);
    }
    ck_assert_int_eq(env_mj_render(with, m, d, img[0]), 0);
    ck_assert_int_eq(env_mj_render(without, m, d, img[1]), 0);
    /* 10 cm under the camera, above the block: in the middle of the picture */
    d->mocap_pos[3 * mocap] = 0.1;
    d->mocap_pos[3 * mocap + 1] = 0.0;
    d->mocap_pos[3 * mocap + 2] = 0.32;
    ck_assert_int_eq(env_mj_forward(m, d), 0);
    ck_assert_int_eq(env_mj_render(with, m, d, img[2]), 0);
    ck_assert_int_eq(env_mj_render(without, m, d, img[3]), 0);
    double moved = 0;
    for (size_t k = 0; k < floats; k++) {
        moved += fabsf(img[2][k] - img[0][k]);
    }
    ck_assert_msg(moved > 50.0, "the goal cube moved into view changed %g", moved);
    ck_assert_mem_eq(img[1], img[3], sizeof(float) * floats);
    for (int i = 0; i < 4; i++) {
        free(img[i]);
    }
    env_mj_renderer_destroy(with);
    env_mj_renderer_destroy(without);
    mj_deleteData(d);
    mj_deleteModel(m);
}
END_TEST

/* the tessellation follows the image size and never rises above the model's */
START_TEST(test_detail_follows_size) {
    mjVisual vis;
    memset(&vis, 0, sizeof(vis));
    vis.quality.numslices = 28;
    vis.quality.numstacks = 16;
    vis.quality.numquads = 4;
    mjVisual small = vis, large = vis, coarse = vis;
    env_mj_render_detail(&small, 64, 48);
    ck_assert_int_eq(small.quality.numslices, 8);
    ck_assert_int_eq(small.quality.numstacks, 4);
    ck_assert_int_eq(small.quality.numquads, 1);
    env_mj_render_detail(&large, 96, 1024);
    ck_assert_int_eq(large.quality.numslices, 28);
    ck_assert_int_eq(large.quality.numstacks, 16);
    ck_assert_int_eq(large.quality.numquads, 4);
    coarse.quality.numslices = 6;
    coarse.quality.numstacks = 3;
    env_mj_render_detail(&coarse, 256, 256);
    ck_assert_int_eq(coarse.quality.numslices, 6);
    ck_assert_int_eq(coarse.quality.numstacks, 3);
    ck_assert_int_eq(coarse.quality.numquads, 4);
}
END_TEST

START_TEST(test_refusals) {
    char err[256] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    EnvMjRenderer *r = (EnvMjRenderer *)1;
    ck_assert_int_eq(env_mj_renderer_create(m, "no_camera", 32, 32, NULL, &r, err, sizeof(err)),
                     AG_EFORMAT);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, "no_camera") != NULL, "%s", err);
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 32, 512, NULL, &r, err, sizeof(err)),
                     AG_ERANGE);
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 2, 2, NULL, &r, err, sizeof(err)),
                     AG_ERANGE);
    EnvMjRenderOptions none = {.tiles = 0}, many = {.tiles = ENV_MJ_RENDER_MAX_TILES + 1};
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 32, 32, &none, &r, err, sizeof(err)),
                     AG_ERANGE);
    ck_assert_int_eq(env_mj_renderer_create(m, "palm_cam", 32, 32, &many, &r, err, sizeof(err)),
                     AG_ERANGE);
    ck_assert_msg(strstr(err, "tiles") != NULL, "%s", err);
    mj_deleteModel(m);
}
END_TEST

static Suite *render_suite(void) {
    Suite *s = suite_create("mj_render");
    TCase *tc = tcase_create("render");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_float_and_rgb_agree);
    tcase_add_test(tc, test_tiled_equals_single);
    tcase_add_test(tc, test_detail_follows_size);
    tcase_add_test(tc, test_hidden_groups_left_out);
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

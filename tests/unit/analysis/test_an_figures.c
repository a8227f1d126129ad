/* Tests of the figures (an_figures.c): every figure is a readable PNG; the heatmap paints each
 * value in its viridis colour and a missing value grey; degenerate inputs (one unit, constant
 * units, a single layer) still draw; an_figures_write draws a whole analysis and lists what it
 * wrote. */
#include "an_figures.h"

#include "an_plot.h"
#include "an_test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64], path[160], err[512];

static void setup(void) {
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "fig"));
}

static void teardown(void) {
    an_test_rmdir(dir);
}

/* the PNG at path, checked readable */
static cairo_surface_t *load_png(void) {
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    ck_assert_msg(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "%s is no PNG", path);
    ck_assert_int_gt(cairo_image_surface_get_width(s), 100);
    return s;
}

/* pixels within 2 levels of rgb */
static int count_colour(cairo_surface_t *s, const double rgb[3]) {
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s), n = 0;
    int want[3] = {(int)lround(rgb[0] * 255), (int)lround(rgb[1] * 255), (int)lround(rgb[2] * 255)};
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint32_t c = *(const uint32_t *)(data + y * stride + x * 4);
            int r = (c >> 16) & 255, g = (c >> 8) & 255, b = c & 255;
            n += abs(r - want[0]) <= 2 && abs(g - want[1]) <= 2 && abs(b - want[2]) <= 2;
        }
    }
    return n;
}

START_TEST(test_heatmap_colours) {
    const char *rows[2] = {"policy.core.h", "value.trunk.0.dense"};
    const char *cols[3] = {"obs.goal", "reward", "a, long variable name"};
    const double v[6] = {0.9, 0.5, NAN, -0.2, 0.0, 0.1};
    snprintf(path, sizeof path, "%s/heat.png", dir);
    ck_assert_int_eq(an_figure_heatmap(path, "R2", rows, 2, cols, 3, v, err, sizeof err), 0);
    cairo_surface_t *s = load_png();
    double rgb[3], grey[3] = {0.82, 0.82, 0.82};
    /* a cell is 65 x 29 pixels of its colour, less the text in it */
    an_plot_viridis(0.9, rgb);
    ck_assert_int_gt(count_colour(s, rgb), 1000);
    ck_assert_int_gt(count_colour(s, grey), 1000);
    cairo_surface_destroy(s);
}
END_TEST

START_TEST(test_pca_figures) {
    const double f1[3] = {0.7, 0.2, 0.1}, f2[60] = {0.5, 0.25, 0.125};
    const double *fr[2] = {f1, f2};
    const int d[2] = {3, 60};
    const char *names[2] = {"a", "b"};
    snprintf(path, sizeof path, "%s/spectra.png", dir);
    ck_assert_int_eq(an_figure_spectra(path, names, fr, d, 2, err, sizeof err), 0);
    cairo_surface_destroy(load_png());
    /* trajectories: a circle, and a layer of one unit (one component) */
    double circle[100 * 3], line[10];
    for (int i = 0; i < 100; i++) {
        circle[i * 3] = cos(i * 0.1);
        circle[i * 3 + 1] = sin(i * 0.1);
        circle[i * 3 + 2] = 0;
    }
    for (int i = 0; i < 10; i++) {
        line[i] = i;
    }
    const double *traj[2] = {circle, line};
    const int64_t len[2] = {100, 10};
    const int keep[2] = {3, 1};
    snprintf(path, sizeof path, "%s/traj.png", dir);
    ck_assert_int_eq(an_figure_trajectories(path, names, traj, len, keep, 2, 0, err, sizeof err),
                     0);
    cairo_surface_destroy(load_png());
}
END_TEST

START_TEST(test_rdm_and_timescales) {
    const double rdm[9] = {0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0}, lo[3] = {0, 1, 2},
                 hi[3] = {0.9, 1.9, 2.9};
    snprintf(path, sizeof path, "%s/rdm.png", dir);
    ck_assert_int_eq(
        an_figure_rdm(path, "policy.core.h", rdm, 3, lo, hi, "obs.goal[0]", err, sizeof err), 0);
    cairo_surface_t *s = load_png();
    double top[3];
    an_plot_viridis(1.0, top);
    ck_assert_int_gt(count_colour(s, top), 100);
    cairo_surface_destroy(s);
    /* constant units (NaN) are skipped; a layer of constants only still draws */
    const double t1[4] = {1.5, NAN, 3.0, 100}, t2[2] = {NAN, NAN};
    const double *tau[2] = {t1, t2};
    const int d[2] = {4, 2};
    const char *names[2] = {"x", "y"};
    snprintf(path, sizeof path, "%s/ts.png", dir);
    ck_assert_int_eq(an_figure_timescales(path, names, tau, d, 2, 100, err, sizeof err), 0);
    cairo_surface_destroy(load_png());
}
END_TEST

START_TEST(test_figures_of_an_analysis) {
    char rec[128], out[128];
    snprintf(rec, sizeof rec, "%s/planted.h5", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(an_test_write_planted(rec, 6, 60, 3, err, sizeof err), 0);
    AnOptions opt;
    an_options_default(&opt);
    opt.input = rec;
    opt.out_dir = out;
    opt.folds = 3;
    AnAnalysis *a;
    int bad;
    ck_assert_msg(an_analysis_open(&a, &opt, &bad, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(an_analysis_run(a, err, sizeof err), 0);
    ck_assert_int_eq(mkdir(out, 0755), 0);
    ck_assert_msg(an_figures_write(a, err, sizeof err) == 0, "%s", err);
    /* decoding, spectra, trajectories, 3 RDMs, timescales */
    ck_assert_int_eq(a->n_outputs, 7);
    ck_assert_str_eq(a->outputs[0], "decoding.png");
    ck_assert_str_eq(a->outputs[3], "rdm_policy.core.c.png");
    for (int i = 0; i < a->n_outputs; i++) {
        snprintf(path, sizeof path, "%s/%s", out, a->outputs[i]);
        cairo_surface_destroy(load_png());
    }
    an_analysis_free(a);
}
END_TEST

static Suite *figures_suite(void) {
    Suite *s = suite_create("an_figures");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_heatmap_colours);
    tcase_add_test(tc, test_pca_figures);
    tcase_add_test(tc, test_rdm_and_timescales);
    tcase_add_test(tc, test_figures_of_an_analysis);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(figures_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* Tests of the drawing primitives (an_plot.c): nice ticks, grid layout, number formats, colour
 * maps, data-to-pixel mapping (linear and log), drawing into pixels, and PNG files written
 * whole or not at all. */
#include "an_plot.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_ticks) {
    double t[16];
    int n = an_plot_ticks(0, 1, 6, t);
    ck_assert_int_eq(n, 6);
    ck_assert_double_eq_tol(t[1], 0.2, 1e-12);
    ck_assert_double_eq_tol(t[5], 1.0, 1e-12);
    n = an_plot_ticks(-3, 47, 7, t);
    ck_assert_int_eq(n, 5); /* step 10: 0, 10, 20, 30, 40 */
    ck_assert_double_eq(t[0], 0);
    ck_assert_double_eq(t[4], 40);
    n = an_plot_ticks(0.5, 50.5, 7, t);
    ck_assert_double_eq(t[0], 10);
    ck_assert_int_eq(an_plot_ticks(2, 2, 6, t), 1);
}
END_TEST

START_TEST(test_grid_and_format) {
    int c, r;
    an_plot_grid(1, &c, &r);
    ck_assert(c == 1 && r == 1);
    an_plot_grid(5, &c, &r);
    ck_assert(c == 3 && r == 2);
    an_plot_grid(9, &c, &r);
    ck_assert(c == 3 && r == 3);
    char s[32];
    an_plot_format(s, sizeof s, 0.25);
    ck_assert_str_eq(s, "0.25");
    an_plot_format(s, sizeof s, 1e-5);
    ck_assert_str_eq(s, "1e-05");
    an_plot_format(s, sizeof s, 300);
    ck_assert_str_eq(s, "300");
    an_plot_format(s, sizeof s, 0);
    ck_assert_str_eq(s, "0");
}
END_TEST

START_TEST(test_colours) {
    double lo[3], hi[3], mid[3], clamp[3];
    an_plot_viridis(0, lo);
    an_plot_viridis(1, hi);
    an_plot_viridis(0.5, mid);
    an_plot_viridis(-3, clamp);
    /* dark purple to yellow, brighter along the way */
    ck_assert_double_lt(lo[1], mid[1]);
    ck_assert_double_lt(mid[1], hi[1]);
    ck_assert_double_gt(hi[0], 0.9);
    ck_assert_double_eq(clamp[0], lo[0]);
    double a[3], b[3];
    an_plot_palette(0, a);
    an_plot_palette(10, b);
    ck_assert(a[0] == b[0] && a[1] == b[1] && a[2] == b[2]);
}
END_TEST

START_TEST(test_axes_mapping) {
    AnAxes a = {.left = 100, .top = 50, .width = 200, .height = 100, .x0 = 0, .x1 = 10};
    a.y0 = 0;
    a.y1 = 1;
    ck_assert_double_eq(an_axes_x(&a, 0), 100);
    ck_assert_double_eq(an_axes_x(&a, 10), 300);
    ck_assert_double_eq(an_axes_y(&a, 0), 150);
    ck_assert_double_eq(an_axes_y(&a, 1), 50);
    a.log_y = 1;
    a.y0 = 0.01;
    a.y1 = 1;
    ck_assert_double_eq_tol(an_axes_y(&a, 0.1), 100, 1e-9);
}
END_TEST

START_TEST(test_draw_and_save) {
    char dir[64], path[128], err[256];
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "plot"));
    snprintf(path, sizeof path, "%s/fig.png", dir);
    AnPlot p;
    ck_assert_int_eq(an_plot_begin(&p, 300, 200), 0);
    AnAxes a = {.left = 50, .top = 30, .width = 200, .height = 120, .x0 = 0, .x1 = 1, .y1 = 1};
    an_plot_axes(&p, &a, "title", "x", "y");
    double x[2] = {0, 1}, y[2] = {0.5, 0.5}, red[3] = {1, 0, 0};
    an_plot_line(&p, &a, x, y, 2, red, 3);
    an_plot_colorbar(&p, 260, 30, 10, 120, 0, 1, "v");
    an_plot_text(&p, 10, 10, 12, 0, 0, 0, "text");
    ck_assert_double_gt(an_plot_text_width(&p, 12, "text"), 10);
    /* the line's middle pixel is red (RGB24 keeps 0x00RRGGBB) */
    cairo_surface_flush(p.surface);
    const unsigned char *px = cairo_image_surface_get_data(p.surface);
    int stride = cairo_image_surface_get_stride(p.surface);
    uint32_t c = *(const uint32_t *)(px + 90 * stride + 150 * 4);
    ck_assert_uint_eq(c & 0xffffff, 0xff0000);
    ck_assert_int_eq(an_plot_save(&p, path, err, sizeof err), 0);
    cairo_surface_t *back = cairo_image_surface_create_from_png(path);
    ck_assert_int_eq(cairo_surface_status(back), CAIRO_STATUS_SUCCESS);
    ck_assert_int_eq(cairo_image_surface_get_width(back), 300);
    ck_assert_int_eq(cairo_image_surface_get_height(back), 200);
    cairo_surface_destroy(back);
    /* a folder that does not exist: an error naming it, no file */
    snprintf(path, sizeof path, "%s/none/fig.png", dir);
    ck_assert_int_eq(an_plot_begin(&p, 10, 10), 0);
    ck_assert_int_ne(an_plot_save(&p, path, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "none"));
    an_test_rmdir(dir);
}
END_TEST

static Suite *plot_suite(void) {
    Suite *s = suite_create("an_plot");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ticks);
    tcase_add_test(tc, test_grid_and_format);
    tcase_add_test(tc, test_colours);
    tcase_add_test(tc, test_axes_mapping);
    tcase_add_test(tc, test_draw_and_save);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(plot_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cairo_debug_reset_static_data();
    return failed ? 1 : 0;
}

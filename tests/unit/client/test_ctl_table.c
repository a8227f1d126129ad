/* Tests of angoractl's output for people (client/ctl_table.c): table alignment and cutting,
 * durations, times, sizes, JSON scalars, the progress bar and the text chart of a curve. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *print_table(const CtlTable *t) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ctl_table_print(t, f);
    fclose(f);
    return text;
}

START_TEST(test_table_alignment) {
    static const char *const heads[] = {"ID", "NAME", "STATE"};
    static const char *const r1[] = {"7", "cartpole", "running"};
    static const char *const r2[] = {"123", "x", "queued"};
    CtlTable t;
    char *text;
    ck_assert_int_eq(ctl_table_init(&t, 3, heads), 0);
    ck_assert_int_eq(ctl_table_add(&t, r1), 0);
    ck_assert_int_eq(ctl_table_add(&t, r2), 0);
    text = print_table(&t);
    /* numbers right-aligned, text left-aligned, two spaces between columns, no trailing blanks */
    ck_assert_str_eq(text, " ID  NAME      STATE\n"
                           "  7  cartpole  running\n"
                           "123  x         queued\n");
    free(text);
    ctl_table_free(&t);
}
END_TEST

START_TEST(test_table_cut_and_mixed) {
    static const char *const heads[] = {"A", "B"};
    static const char *const r1[] = {"0123456789abcdef", "1.5"};
    static const char *const r2[] = {"short", "-"};
    static const char *const r3[] = {"x", "n/a"};
    CtlTable t;
    char *text;
    ck_assert_int_eq(ctl_table_init(&t, 2, heads), 0);
    t.max_width = 8;
    ctl_table_add(&t, r1);
    ctl_table_add(&t, r2);
    ctl_table_add(&t, r3);
    text = print_table(&t);
    /* a text cell makes the column left-aligned; long cells end in "..." */
    ck_assert_str_eq(text, "A         B\n"
                           "01234...  1.5\n"
                           "short     -\n"
                           "x         n/a\n");
    free(text);
    ctl_table_free(&t);
}
END_TEST

START_TEST(test_table_many_rows) {
    static const char *const heads[] = {"N"};
    CtlTable t;
    char cell[16], *text;
    const char *cells[1] = {cell};
    ctl_table_init(&t, 1, heads);
    for (int i = 0; i < 1000; i++) {
        snprintf(cell, sizeof(cell), "%d", i);
        ck_assert_int_eq(ctl_table_add(&t, cells), 0);
    }
    ck_assert_uint_eq(t.nrows, 1000);
    text = print_table(&t);
    ck_assert_ptr_nonnull(strstr(text, "  N\n  0\n  1\n"));
    ck_assert_ptr_nonnull(strstr(text, "999\n"));
    free(text);
    ctl_table_free(&t);
    ck_assert_int_eq(ctl_table_init(&t, 0, heads), AG_EINVAL);
    ck_assert_int_eq(ctl_table_init(&t, CTL_TABLE_MAX_COLS + 1, heads), AG_EINVAL);
}
END_TEST

START_TEST(test_formats) {
    char b[64];
    ctl_format_duration(4.25, b, sizeof(b));
    ck_assert_str_eq(b, "4.2s");
    ctl_format_duration(192, b, sizeof(b));
    ck_assert_str_eq(b, "3m12s");
    ctl_format_duration(3720, b, sizeof(b));
    ck_assert_str_eq(b, "1h02m");
    ctl_format_duration(90000, b, sizeof(b));
    ck_assert_str_eq(b, "1d01h");
    ctl_format_duration(-1, b, sizeof(b));
    ck_assert_str_eq(b, "-");
    ctl_format_duration(NAN, b, sizeof(b));
    ck_assert_str_eq(b, "-");
    ctl_format_time(0, b, sizeof(b));
    ck_assert_str_eq(b, "-");
    ctl_format_time(1795853282.7, b, sizeof(b));
    ck_assert_str_eq(b, "2026-11-28 08:08:02");
    ctl_format_bytes(512, b, sizeof(b));
    ck_assert_str_eq(b, "512 B");
    ctl_format_bytes(1536, b, sizeof(b));
    ck_assert_str_eq(b, "1.5 KiB");
    ctl_format_bytes(3.5 * 1024 * 1024, b, sizeof(b));
    ck_assert_str_eq(b, "3.5 MiB");
    ctl_format_bytes(-3, b, sizeof(b));
    ck_assert_str_eq(b, "-");
}
END_TEST

START_TEST(test_format_json) {
    char b[64];
    json_t *arr = json_pack("[i,i]", 1, 2);
    ctl_format_json(NULL, b, sizeof(b));
    ck_assert_str_eq(b, "-");
    ctl_format_json(json_null(), b, sizeof(b));
    ck_assert_str_eq(b, "-");
    json_t *s = json_string("abc"), *i = json_integer(-42), *r = json_real(0.125);
    ctl_format_json(s, b, sizeof(b));
    ck_assert_str_eq(b, "abc");
    ctl_format_json(i, b, sizeof(b));
    ck_assert_str_eq(b, "-42");
    ctl_format_json(r, b, sizeof(b));
    ck_assert_str_eq(b, "0.125");
    ctl_format_json(json_true(), b, sizeof(b));
    ck_assert_str_eq(b, "yes");
    ctl_format_json(arr, b, sizeof(b));
    ck_assert_str_eq(b, "[1,2]");
    json_decref(s);
    json_decref(i);
    json_decref(r);
    json_decref(arr);
}
END_TEST

START_TEST(test_progress_bar) {
    char b[64];
    ctl_progress_bar(0.5, 10, b, sizeof(b));
    ck_assert_str_eq(b, "[#####-----]  50.0%");
    ctl_progress_bar(0, 4, b, sizeof(b));
    ck_assert_str_eq(b, "[----]   0.0%");
    ctl_progress_bar(1.7, 4, b, sizeof(b));
    ck_assert_str_eq(b, "[####] 100.0%");
    ctl_progress_bar(NAN, 4, b, sizeof(b));
    ck_assert_str_eq(b, "[----]   0.0%");
    /* too small for the bar: the percentage alone */
    ctl_progress_bar(0.25, 40, b, 20);
    ck_assert_str_eq(b, " 25.0%");
}
END_TEST

/* splits the chart into rows and returns row r's plot part (after '|') */
static const char *plot_row(char *chart, int r) {
    char *line = chart;
    for (int i = 0; i < r; i++) {
        line = strchr(line, '\n');
        ck_assert_ptr_nonnull(line);
        line++;
    }
    return strchr(line, '|') + 1;
}

START_TEST(test_chart_rising) {
    double ys[10];
    char out[4096], copy[4096];
    for (int i = 0; i < 10; i++) {
        ys[i] = i;
    }
    ck_assert_int_eq(ctl_chart_render(ys, 10, 10, 5, out, sizeof(out)), 0);
    strcpy(copy, out);
    /* the lowest point bottom left, the highest top right, one mark per column */
    ck_assert_int_eq(plot_row(copy, 4)[0], '*');
    ck_assert_int_eq(plot_row(copy, 0)[9], '*');
    ck_assert_int_eq(plot_row(copy, 0)[0], ' ');
    ck_assert_int_eq(plot_row(copy, 4)[9], ' ');
    {
        int marks = 0;
        for (const char *p = out; *p; p++) {
            marks += *p == '*';
        }
        ck_assert_int_eq(marks, 10);
    }
    /* the y axis is labelled with the top and bottom values */
    ck_assert_ptr_nonnull(strstr(out, "         9 |"));
    ck_assert_ptr_nonnull(strstr(out, "         0 |"));
    /* 5 rows, no trailing newline */
    {
        int lines = 1;
        for (const char *p = out; *p; p++) {
            lines += *p == '\n';
        }
        ck_assert_int_eq(lines, 5);
        ck_assert_int_ne(out[strlen(out) - 1], '\n');
    }
}
END_TEST

START_TEST(test_chart_many_points_and_gaps) {
    double ys[1000];
    char out[8192];
    int marks = 0;
    for (int i = 0; i < 1000; i++) {
        ys[i] = i % 100 == 0 ? NAN : sin(i / 100.0);
    }
    ck_assert_int_eq(ctl_chart_render(ys, 1000, 50, 8, out, sizeof(out)), 0);
    for (const char *p = out; *p; p++) {
        marks += *p == '*';
    }
    /* every column has points: one mark per column */
    ck_assert_int_eq(marks, 50);
    /* a flat series sits on one row */
    for (int i = 0; i < 20; i++) {
        ys[i] = 3.0;
    }
    ck_assert_int_eq(ctl_chart_render(ys, 20, 20, 4, out, sizeof(out)), 0);
    marks = 0;
    for (const char *p = out; *p; p++) {
        marks += *p == '*';
    }
    ck_assert_int_eq(marks, 20);
    /* fewer points than columns: each point spans its share of the width */
    ys[0] = 0;
    ys[1] = 1;
    ys[2] = 2;
    ck_assert_int_eq(ctl_chart_render(ys, 3, 9, 3, out, sizeof(out)), 0);
    marks = 0;
    for (const char *p = out; *p; p++) {
        marks += *p == '*';
    }
    ck_assert_int_eq(marks, 9);
    ck_assert_int_eq(plot_row(out, 2)[0], '*');
    ck_assert_int_eq(plot_row(out, 2)[2], '*');
    ck_assert_int_eq(plot_row(out, 2)[3], ' ');
    ck_assert_int_eq(plot_row(out, 0)[8], '*');
}
END_TEST

START_TEST(test_chart_errors) {
    double ys[3] = {NAN, NAN, NAN};
    char out[4096];
    ck_assert_int_eq(ctl_chart_render(ys, 3, 10, 5, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "(no data)");
    ck_assert_int_eq(ctl_chart_render(NULL, 0, 10, 5, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "(no data)");
    ys[0] = 1;
    ck_assert_int_eq(ctl_chart_render(ys, 3, 1, 5, out, sizeof(out)), AG_EINVAL);
    ck_assert_int_eq(ctl_chart_render(ys, 3, 10, 1, out, sizeof(out)), AG_EINVAL);
    ck_assert_int_eq(ctl_chart_render(ys, 3, 10, 5, out, 40), AG_ETOOBIG);
}
END_TEST

static Suite *table_suite(void) {
    Suite *s = suite_create("ctl_table");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_table_alignment);
    tcase_add_test(tc, test_table_cut_and_mixed);
    tcase_add_test(tc, test_table_many_rows);
    tcase_add_test(tc, test_formats);
    tcase_add_test(tc, test_format_json);
    tcase_add_test(tc, test_progress_bar);
    tcase_add_test(tc, test_chart_rising);
    tcase_add_test(tc, test_chart_many_points_and_gaps);
    tcase_add_test(tc, test_chart_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(table_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

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

START_TEST(test_format_count) {
    static const struct {
        double n;
        const char *want;
    } cases[] = {{0, "0"},       {950, "950"},       {999, "999"},     {1000, "1k"},
                 {1500, "1.5k"}, {30700, "30.7k"},   {99949, "99.9k"}, {150000, "150k"},
                 {999999, "1M"}, {1234567, "1.23M"}, {2e9, "2G"},      {-1, "-"},
                 {NAN, "-"},     {INFINITY, "-"}};
    char b[16];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ctl_format_count(cases[i].n, b, sizeof(b));
        ck_assert_msg(!strcmp(b, cases[i].want), "%g gave %s, want %s", cases[i].n, b,
                      cases[i].want);
    }
}
END_TEST

/* ls and show's pace fields from an experiment as the API returns it */
START_TEST(test_pace_format) {
    CtlPace p;
    json_t *exp = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f}", "latest_env_steps", (json_int_t)30700,
                            "budget_env_steps", (json_int_t)100000, "latest_return", 123.456789,
                            "steps_per_s", 512.4, "duration_s", 192.0, "eta_s", 3720.0);
    ctl_pace_format(exp, &p);
    ck_assert_str_eq(p.progress, "30.7k/100k 30%");
    ck_assert_str_eq(p.ret, "123.5");
    ck_assert_str_eq(p.rate, "512");
    ck_assert_str_eq(p.duration, "3m12s");
    ck_assert_str_eq(p.eta, "1h02m");
    json_decref(exp);
    /* a queued run: nothing known but the budget (here only in the spec) */
    exp = json_pack("{s:n,s:n,s:n,s:n,s:n,s:{s:{s:I}}}", "latest_env_steps", "latest_return",
                    "steps_per_s", "duration_s", "eta_s", "spec", "budget", "env_steps",
                    (json_int_t)4096);
    ctl_pace_format(exp, &p);
    ck_assert_str_eq(p.progress, "0/4.1k 0%");
    ck_assert_str_eq(p.ret, "-");
    ck_assert_str_eq(p.rate, "-");
    ck_assert_str_eq(p.duration, "-");
    ck_assert_str_eq(p.eta, "-");
    json_decref(exp);
    /* an overshoot shows 100%, not more; no budget at all shows "-" */
    exp = json_pack("{s:I,s:I}", "latest_env_steps", (json_int_t)102400, "budget_env_steps",
                    (json_int_t)100000);
    ctl_pace_format(exp, &p);
    ck_assert_str_eq(p.progress, "102k/100k 100%");
    json_decref(exp);
    exp = json_object();
    ctl_pace_format(exp, &p);
    ck_assert_str_eq(p.progress, "-");
    json_decref(exp);
}
END_TEST

START_TEST(test_pace_eta) {
    double rate;
    ck_assert_double_eq_tol(ctl_pace_eta(30000, 60, 100000, &rate), 140.0, 1e-9);
    ck_assert_double_eq_tol(rate, 500.0, 1e-9);
    ck_assert_double_eq_tol(ctl_pace_eta(120000, 60, 100000, &rate), 0.0, 1e-12);
    ck_assert(isnan(ctl_pace_eta(30000, 60, 0, &rate)));
    ck_assert_double_eq_tol(rate, 500.0, 1e-9);
    ck_assert(isnan(ctl_pace_eta(30000, 0, 100000, &rate)));
    ck_assert(isnan(rate));
    ck_assert(isnan(ctl_pace_eta(NAN, 10, 100000, &rate)));
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
    tcase_add_test(tc, test_format_count);
    tcase_add_test(tc, test_pace_format);
    tcase_add_test(tc, test_pace_eta);
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

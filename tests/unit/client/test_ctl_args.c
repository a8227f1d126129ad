/* Tests of angoractl's command line (client/ctl_args.c): commands, global options anywhere,
 * "--opt=value", short options, repeatable and single options, positional counts, integer and
 * id arguments, help text, and a clear error for every kind of bad command line. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

/* parses a NULL-terminated argument list (argv[0] is added) */
static int parse(CtlArgs *a, const char *const *words) {
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"angoractl";
    for (int i = 0; words[i]; i++) {
        argv[argc++] = (char *)words[i];
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return ctl_args_parse(argc, argv, a, err, sizeof(err));
}

START_TEST(test_every_command_known) {
    static const char *const names[] = {"submit",      "ls",       "show",     "cancel",  "pause",
                                        "resume",      "rm",       "logs",     "metrics", "watch",
                                        "checkpoints", "download", "evaluate", "tasks",   "token",
                                        "version",     "analyze",  "pretrain", NULL};
    int n = 0;
    for (int i = 0; names[i]; i++) {
        const CtlCommandDef *c = ctl_command_find(names[i]);
        ck_assert_msg(c != NULL, "%s missing", names[i]);
        ck_assert_str_eq(c->name, names[i]);
        ck_assert_ptr_nonnull(c->summary);
    }
    for (const CtlCommandDef *c = ctl_commands; c->name; c++) {
        n += !CTL_COMMAND_HIDDEN(c);
    }
    ck_assert_int_eq(n, 18);
    ck_assert_ptr_null(ctl_command_find("list"));
    /* the one command for scripts */
    ck_assert_ptr_nonnull(ctl_command_find("__complete"));
    ck_assert(CTL_COMMAND_HIDDEN(ctl_command_find("__complete")));
}
END_TEST

START_TEST(test_submit_options) {
    CtlArgs a;
    const char *w[] = {"--url", "http://h:1", "submit", "spec.json", "--name=run one", "--priority",
                       "-5",    "--tag",      "a",      "--tag=b",   "--json",         NULL};
    ck_assert_int_eq(parse(&a, w), 0);
    ck_assert_str_eq(a.cmd->name, "submit");
    ck_assert_int_eq(a.npos, 1);
    ck_assert_str_eq(a.pos[0], "spec.json");
    ck_assert_str_eq(a.url, "http://h:1");
    ck_assert_int_eq(a.json, 1);
    ck_assert_str_eq(ctl_args_get(&a, "name"), "run one");
    ck_assert_str_eq(ctl_args_get(&a, "priority"), "-5");
    ck_assert_str_eq(ctl_args_nth(&a, "tag", 0), "a");
    ck_assert_str_eq(ctl_args_nth(&a, "tag", 1), "b");
    ck_assert_ptr_null(ctl_args_nth(&a, "tag", 2));
    ck_assert(!ctl_args_has(&a, "dry-run"));
    ck_assert_ptr_null(ctl_args_get(&a, "dry-run"));
}
END_TEST

START_TEST(test_short_and_flags) {
    CtlArgs a;
    const char *w1[] = {"logs", "7", "-f", "--worker", NULL};
    const char *w2[] = {"download", "3", "-oout.ckpt", "--checkpoint", "best.ckpt", NULL};
    const char *w3[] = {"download", "3", "-o", "-", NULL};
    ck_assert_int_eq(parse(&a, w1), 0);
    ck_assert_str_eq(ctl_args_get(&a, "follow"), "");
    ck_assert(ctl_args_has(&a, "worker"));
    ck_assert_str_eq(a.pos[0], "7");
    ck_assert_int_eq(parse(&a, w2), 0);
    ck_assert_str_eq(ctl_args_get(&a, "output"), "out.ckpt");
    ck_assert_str_eq(ctl_args_get(&a, "checkpoint"), "best.ckpt");
    /* "-" is a value, not an option */
    ck_assert_int_eq(parse(&a, w3), 0);
    ck_assert_str_eq(ctl_args_get(&a, "output"), "-");
}
END_TEST

START_TEST(test_globals_anywhere) {
    CtlArgs a;
    const char *w[] = {"--json",        "show",      "12",  "--token",  "ang_x",
                       "--data-dir=/d", "--timeout", "2.5", "--config", "/c.json",
                       "--token-file",  "/t",        NULL};
    ck_assert_int_eq(parse(&a, w), 0);
    ck_assert_str_eq(a.cmd->name, "show");
    ck_assert_int_eq(a.json, 1);
    ck_assert_str_eq(a.token, "ang_x");
    ck_assert_str_eq(a.data_dir, "/d");
    ck_assert_str_eq(a.timeout, "2.5");
    ck_assert_str_eq(a.config, "/c.json");
    ck_assert_str_eq(a.token_file, "/t");
    ck_assert_int_eq(a.nopts, 0);
}
END_TEST

START_TEST(test_double_dash) {
    CtlArgs a;
    const char *w[] = {"token", "create", "--", "--weird-name", NULL};
    ck_assert_int_eq(parse(&a, w), 0);
    ck_assert_int_eq(a.npos, 2);
    ck_assert_str_eq(a.pos[1], "--weird-name");
}
END_TEST

START_TEST(test_help_and_version) {
    CtlArgs a;
    const char *w1[] = {"--help", NULL};
    const char *w2[] = {"watch", "--help", NULL};
    const char *w3[] = {"--version", NULL};
    const char *w4[] = {NULL};
    ck_assert_int_eq(parse(&a, w1), 0);
    ck_assert_int_eq(a.help, 1);
    ck_assert_ptr_null(a.cmd);
    /* no ID needed with --help */
    ck_assert_int_eq(parse(&a, w2), 0);
    ck_assert_int_eq(a.help, 1);
    ck_assert_str_eq(a.cmd->name, "watch");
    ck_assert_int_eq(parse(&a, w3), 0);
    ck_assert_int_eq(a.version, 1);
    ck_assert_int_eq(parse(&a, w4), 0);
    ck_assert_ptr_null(a.cmd);
}
END_TEST

static void expect_error(const char *const *w, const char *needle) {
    CtlArgs a;
    ck_assert_int_eq(parse(&a, w), AG_EINVAL);
    ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" not in \"%s\"", needle, err);
}

START_TEST(test_errors) {
    const char *unknown_cmd[] = {"frobnicate", NULL};
    const char *unknown_opt[] = {"ls", "--colour", NULL};
    const char *wrong_cmd_opt[] = {"show", "1", "--csv", NULL};
    const char *unknown_short[] = {"ls", "-x", NULL};
    const char *missing_value[] = {"ls", "--state", NULL};
    const char *flag_value[] = {"metrics", "1", "--csv=yes", NULL};
    const char *twice[] = {"submit", "s.json", "--name", "a", "--name", "b", NULL};
    const char *missing_pos[] = {"show", NULL};
    const char *extra_pos[] = {"show", "1", "2", NULL};
    const char *flag_attached[] = {"logs", "1", "-fx", NULL};
    const char *no_url_value[] = {"ls", "--url", NULL};
    expect_error(unknown_cmd, "unknown command \"frobnicate\"");
    expect_error(unknown_opt, "unknown option --colour for ls");
    expect_error(wrong_cmd_opt, "unknown option --csv for show");
    expect_error(unknown_short, "unknown option -x");
    expect_error(missing_value, "--state needs a value");
    expect_error(flag_value, "--csv takes no value");
    expect_error(twice, "--name given twice");
    expect_error(missing_pos, "missing argument (usage: angoractl show ID)");
    expect_error(extra_pos, "unexpected argument \"2\"");
    expect_error(flag_attached, "unknown option -fx");
    expect_error(no_url_value, "--url needs a value");
}
END_TEST

/* a mistyped command or option is answered with the closest one; nothing far off is offered */
START_TEST(test_did_you_mean) {
    const char *sumbit[] = {"sumbit", "spec.json", NULL};
    const char *lss[] = {"lss", NULL};
    const char *metric[] = {"metric", "1", NULL};
    const char *upper[] = {"LS", NULL};
    const char *far[] = {"frobnicate", NULL};
    const char *complete[] = {"__complet", "x", NULL};
    const char *opt[] = {"ls", "--stat", "running", NULL};
    const char *opt2[] = {"metrics", "1", "--kye", "x", NULL};
    const char *global[] = {"ls", "--jsno", NULL};
    const char *far_opt[] = {"ls", "--colour", NULL};
    expect_error(sumbit, "unknown command \"sumbit\" (did you mean \"submit\"?)");
    expect_error(lss, "(did you mean \"ls\"?)");
    expect_error(metric, "(did you mean \"metrics\"?)");
    expect_error(upper, "(did you mean \"ls\"?)");
    expect_error(far, "unknown command \"frobnicate\" (see angoractl --help)");
    /* the hidden command is never suggested */
    expect_error(complete, "unknown command \"__complet\" (see");
    expect_error(opt, "unknown option --stat for ls (did you mean --state?)");
    expect_error(opt2, "(did you mean --key?)");
    expect_error(global, "(did you mean --json?)");
    expect_error(far_opt, "unknown option --colour for ls");
    ck_assert_ptr_null(strstr(err, "did you mean"));
}
END_TEST

START_TEST(test_get_int) {
    CtlArgs a;
    long long v = 0;
    const char *w[] = {"ls", "--limit", "50", "--cursor", "abc", NULL};
    const char *w2[] = {"ls", "--limit", "5000", NULL};
    ck_assert_int_eq(parse(&a, w), 0);
    ck_assert_int_eq(ctl_args_get_int(&a, "limit", 100, 1, 1000, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 50);
    ck_assert_int_eq(ctl_args_get_int(&a, "state", 7, 1, 1000, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(ctl_args_get_int(&a, "cursor", 0, 0, 10, &v, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--cursor: expected an integer, got \"abc\""));
    ck_assert_int_eq(parse(&a, w2), 0);
    ck_assert_int_eq(ctl_args_get_int(&a, "limit", 100, 1, 1000, &v, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "must be in [1, 1000], got 5000"));
}
END_TEST

START_TEST(test_parse_id) {
    int64_t id = 0;
    ck_assert_int_eq(ctl_parse_id("42", "the id", &id, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 42);
    ck_assert_int_eq(ctl_parse_id("0", "the id", &id, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "the id must be a positive integer, got \"0\""));
    ck_assert_int_eq(ctl_parse_id("-3", "the id", &id, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(ctl_parse_id("+3", "the id", &id, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(ctl_parse_id("12x", "the id", &id, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(ctl_parse_id("", "the id", &id, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(ctl_parse_id("99999999999999999999999", "the id", &id, err, sizeof(err)),
                     AG_EINVAL);
    ck_assert_int_eq(id, 42);
}
END_TEST

/* the help lists every command, every option of a command, and the exit codes */
START_TEST(test_usage_text) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ctl_usage_print(f, NULL);
    fclose(f);
    for (const CtlCommandDef *c = ctl_commands; c->name; c++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "  %s ", c->name);
        if (CTL_COMMAND_HIDDEN(c)) {
            ck_assert_msg(!strstr(text, c->name), "%s in the help", c->name);
        } else {
            ck_assert_msg(strstr(text, needle), "%s not in the help", c->name);
        }
    }
    ck_assert_ptr_nonnull(strstr(text, "5 server unreachable"));
    free(text);
    for (const CtlCommandDef *c = ctl_commands; c->name; c++) {
        text = NULL;
        f = open_memstream(&text, &len);
        ctl_usage_print(f, c);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(text, c->name));
        for (const CtlOptDef *d = c->opts; d && d->name; d++) {
            char needle[64];
            snprintf(needle, sizeof(needle), "--%s", d->name);
            ck_assert_msg(strstr(text, needle), "%s --help lacks %s", c->name, needle);
        }
        ck_assert_ptr_nonnull(strstr(text, "--json"));
        free(text);
    }
}
END_TEST

static Suite *args_suite(void) {
    Suite *s = suite_create("ctl_args");
    TCase *tc = tcase_create("args");
    tcase_add_test(tc, test_every_command_known);
    tcase_add_test(tc, test_submit_options);
    tcase_add_test(tc, test_short_and_flags);
    tcase_add_test(tc, test_globals_anywhere);
    tcase_add_test(tc, test_double_dash);
    tcase_add_test(tc, test_help_and_version);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_did_you_mean);
    tcase_add_test(tc, test_get_int);
    tcase_add_test(tc, test_parse_id);
    tcase_add_test(tc, test_usage_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(args_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

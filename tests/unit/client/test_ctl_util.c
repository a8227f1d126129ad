/* Tests of the helpers angoractl's commands share (client/ctl_util.c): percent-encoding, tag
 * lists, JSON members and final states, the id and seconds arguments with their messages, and
 * an API call that cannot reach a server. Calls with answers are tested end to end in
 * tests/integration/client. */
#include "ctl.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a context for argv (the program name first) with its messages in a memory stream */
typedef struct Ctx {
    CtlArgs args;
    CtlCtx x;
    char *msg;
    size_t msg_len;
} Ctx;

static void ctx_open(Ctx *c, int argc, char *const *argv) {
    char err[256];
    memset(c, 0, sizeof(*c));
    ck_assert_int_eq(ctl_args_parse(argc, argv, &c->args, err, sizeof(err)), 0);
    c->x.args = &c->args;
    c->x.out = stdout;
    c->x.err = open_memstream(&c->msg, &c->msg_len);
    ck_assert_ptr_nonnull(c->x.err);
}

/* the messages so far */
static const char *ctx_msg(Ctx *c) {
    fflush(c->x.err);
    return c->msg;
}

static void ctx_close(Ctx *c) {
    fclose(c->x.err);
    free(c->msg);
}

START_TEST(test_url_escape) {
    char out[64];
    ctl_url_escape("run a/b?c=d&e~f_g-h.i", out, sizeof(out));
    ck_assert_str_eq(out, "run%20a%2Fb%3Fc%3Dd%26e~f_g-h.i");
    ctl_url_escape("\xc3\xa9", out, sizeof(out));
    ck_assert_str_eq(out, "%C3%A9");
    /* a value that does not fit is cut before an escape, never inside one */
    ctl_url_escape("//////", out, 8);
    ck_assert_str_eq(out, "%2F%2F");
}
END_TEST

START_TEST(test_tags_text) {
    char out[16];
    json_t *tags = json_pack("[sss]", "a", "bb", "ccc");
    ctl_tags_text(tags, out, sizeof(out));
    ck_assert_str_eq(out, "a,bb,ccc");
    /* a list that does not fit is cut and stays terminated */
    ctl_tags_text(tags, out, 6);
    ck_assert_int_eq(strncmp(out, "a,bb", 4), 0);
    ck_assert_uint_lt(strlen(out), 6);
    json_decref(tags);
    ctl_tags_text(NULL, out, sizeof(out));
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_members_and_states) {
    json_t *o = json_pack("{s:s,s:i}", "name", "hopper", "id", 3);
    ck_assert_str_eq(ctl_jstr(o, "name"), "hopper");
    ck_assert_str_eq(ctl_jstr(o, "id"), "");
    ck_assert_str_eq(ctl_jstr(o, "absent"), "");
    ck_assert_str_eq(ctl_jstr(NULL, "name"), "");
    json_decref(o);
    ck_assert(ctl_state_final("succeeded"));
    ck_assert(ctl_state_final("failed"));
    ck_assert(ctl_state_final("cancelled"));
    ck_assert(!ctl_state_final("paused"));
    ck_assert(!ctl_state_final("running"));
    ck_assert(!ctl_state_final(""));
}
END_TEST

START_TEST(test_id_and_seconds) {
    char *const good[] = {"angoractl", "watch", "12", "--interval", "0.5"};
    char *const bad[] = {"angoractl", "watch", "x", "--interval", "-1"};
    int64_t id = 0;
    double s = 0;
    Ctx c;
    ctx_open(&c, 5, good);
    ck_assert_int_eq(ctl_id_arg(&c.x, &id), 0);
    ck_assert_int_eq(id, 12);
    ck_assert_int_eq(ctl_seconds_opt(&c.x, "interval", 1.0, 0.05, 3600, &s), 0);
    ck_assert(s == 0.5);
    ck_assert_int_eq(ctl_seconds_opt(&c.x, "timeout-run", 7.0, 0, 1e9, &s), 0);
    ck_assert(s == 7.0);
    ck_assert_str_eq(ctx_msg(&c), "");
    ctx_close(&c);

    ctx_open(&c, 5, bad);
    ck_assert_int_eq(ctl_id_arg(&c.x, &id), CTL_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(ctx_msg(&c), "angoractl: "));
    ck_assert_int_eq(ctl_seconds_opt(&c.x, "interval", 1.0, 0.05, 3600, &s), CTL_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(ctx_msg(&c), "--interval: expected seconds in [0.05, 3600]"));
    ctx_close(&c);
}
END_TEST

START_TEST(test_say) {
    char *const argv[] = {"angoractl", "ls"};
    Ctx c;
    ctx_open(&c, 2, argv);
    ck_assert_int_eq(ctl_say(&c.x, CTL_EXIT_OTHER, "no %s", "luck"), CTL_EXIT_OTHER);
    ck_assert_str_eq(ctx_msg(&c), "angoractl: no luck\n");
    ctx_close(&c);
}
END_TEST

/* with --json every message on stderr is one JSON object a script can parse */
START_TEST(test_say_json) {
    char *const argv[] = {"angoractl", "ls", "--json"};
    json_t *doc, *e;
    Ctx c;
    ctx_open(&c, 3, argv);
    ck_assert_int_eq(ctl_say(&c.x, CTL_EXIT_NOTFOUND, "no \"%s\"", "x"), CTL_EXIT_NOTFOUND);
    doc = json_loads(ctx_msg(&c), 0, NULL);
    ck_assert_ptr_nonnull(doc);
    e = json_object_get(doc, "error");
    ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "no \"x\"");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "exit_code")), CTL_EXIT_NOTFOUND);
    ck_assert_str_eq(json_string_value(json_object_get(e, "exit_name")), "not found");
    ck_assert(c.msg[strlen(c.msg) - 1] == '\n');
    json_decref(doc);
    ctx_close(&c);
    /* warnings and hints, one line each */
    ctx_open(&c, 3, argv);
    ctl_note(&c.x, "warning", "odd %d", 1);
    ctl_note(&c.x, "hint", "try %s", "this");
    ck_assert_str_eq(ctx_msg(&c), "{\"warning\":{\"message\":\"odd 1\"}}\n"
                                  "{\"hint\":{\"message\":\"try this\"}}\n");
    ctx_close(&c);
    /* the same as text without --json */
    {
        char *const plain[] = {"angoractl", "ls"};
        ctx_open(&c, 2, plain);
        ctl_note(&c.x, "warning", "odd %d", 1);
        ctl_note(&c.x, "hint", "try %s", "this");
        ck_assert_str_eq(ctx_msg(&c), "angoractl: warning: odd 1\nangoractl: try this\n");
        ctx_close(&c);
    }
}
END_TEST

/* an HTTP failure with --json: the message, exit code, status and the server's problem as sent */
START_TEST(test_answer_fail_json) {
    char *const argv[] = {"angoractl", "show", "9", "--json"};
    static const char body[] = "{\"title\":\"not found\",\"detail\":\"no experiment 9\"}";
    CtlResponse r = {0};
    json_t *doc, *e;
    Ctx c;
    ctx_open(&c, 4, argv);
    r.status = 404;
    r.body = strdup(body);
    r.len = strlen(body);
    r.json = json_loads(body, 0, NULL);
    ck_assert_int_eq(ctl_answer_fail(&c.x, &r), CTL_EXIT_NOTFOUND);
    doc = json_loads(ctx_msg(&c), 0, NULL);
    ck_assert_ptr_nonnull(doc);
    e = json_object_get(doc, "error");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 404);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "exit_code")), CTL_EXIT_NOTFOUND);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(e, "message")), "no experiment 9"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "problem"), "detail")),
                     "no experiment 9");
    json_decref(doc);
    ctx_close(&c);
}
END_TEST

/* the JSON printer writes reals in their shortest exact form */
START_TEST(test_json_print_shortest) {
    char *const argv[] = {"angoractl", "ls", "--json"};
    char *out = NULL;
    size_t len = 0;
    json_t *doc = json_pack("{s:f,s:f,s:i}", "lr", 0.0003, "sum", 0.1 + 0.2, "n", 3);
    Ctx c;
    ctx_open(&c, 3, argv);
    c.x.out = open_memstream(&out, &len);
    ctl_json_print(&c.x, doc);
    fclose(c.x.out);
    ck_assert_str_eq(out, "{\n  \"lr\": 0.0003,\n  \"sum\": 0.30000000000000004,\n  \"n\": 3\n}\n");
    free(out);
    json_decref(doc);
    ctx_close(&c);
}
END_TEST

START_TEST(test_suggest) {
    static const char *const words[] = {
        "submit", "ls", "show", "metrics", "CartPole", "CartPoleNoVel", "HandReach", "return_mean"};
    const size_t n = sizeof(words) / sizeof(words[0]);
    json_t *arr = json_pack("[sss]", "return_mean", "return_std", "success_rate");
    ck_assert_str_eq(ctl_suggest("sumbit", words, n), "submit");
    ck_assert_str_eq(ctl_suggest("sho", words, n), "show");
    ck_assert_str_eq(ctl_suggest("cartpole", words, n), "CartPole");
    ck_assert_str_eq(ctl_suggest("CartPol", words, n), "CartPole");
    ck_assert_str_eq(ctl_suggest("HandRaech", words, n), "HandReach");
    ck_assert_str_eq(ctl_suggest("retrun_mean", words, n), "return_mean");
    /* nothing close, the word itself, an empty list, a word too long to compare */
    ck_assert_ptr_null(ctl_suggest("frobnicate", words, n));
    ck_assert_ptr_null(ctl_suggest("ls", words, n));
    ck_assert_ptr_null(ctl_suggest("ls", NULL, 0));
    {
        char longword[200];
        memset(longword, 'a', sizeof(longword) - 1);
        longword[sizeof(longword) - 1] = '\0';
        ck_assert_ptr_null(ctl_suggest(longword, words, n));
    }
    ck_assert_str_eq(ctl_suggest_json("succes_rate", arr), "success_rate");
    ck_assert_str_eq(ctl_suggest_json("return_sd", arr), "return_std");
    ck_assert_ptr_null(ctl_suggest_json("x", NULL));
    json_decref(arr);
}
END_TEST

START_TEST(test_unreachable) {
    char *const argv[] = {"angoractl", "show", "1"};
    CtlResponse r;
    json_t *exp = NULL;
    Ctx c;
    ctx_open(&c, 3, argv);
    /* port 1 on loopback: nothing listens there */
    snprintf(c.x.cfg.url, sizeof(c.x.cfg.url), "http://127.0.0.1:1");
    c.x.cfg.timeout_s = 5;
    ck_assert_int_eq(ctl_api_call(&c.x, "GET", "/api/v1/info", NULL, &r), CTL_EXIT_UNREACHABLE);
    ck_assert_int_eq(ctl_exp_get(&c.x, 1, &exp), CTL_EXIT_UNREACHABLE);
    ck_assert_ptr_null(exp);
    ck_assert_ptr_nonnull(strstr(ctx_msg(&c), "angoractl: "));
    ctx_close(&c);
}
END_TEST

static Suite *util_suite(void) {
    Suite *s = suite_create("ctl_util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, test_url_escape);
    tcase_add_test(tc, test_tags_text);
    tcase_add_test(tc, test_members_and_states);
    tcase_add_test(tc, test_id_and_seconds);
    tcase_add_test(tc, test_say);
    tcase_add_test(tc, test_say_json);
    tcase_add_test(tc, test_answer_fail_json);
    tcase_add_test(tc, test_json_print_shortest);
    tcase_add_test(tc, test_suggest);
    tcase_add_test(tc, test_unreachable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(util_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

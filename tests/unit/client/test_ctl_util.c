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

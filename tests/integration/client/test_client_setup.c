/* End-to-end tests of angoractl's set-up against a running angorad: the client config file that
 * deploy/quickstart.sh writes ($XDG_CONFIG_HOME/angora/client.json, mode 0600) makes a plain
 * `angoractl ls` work; flags beat the environment, which beats the file; a config readable by
 * others, a malformed one and a missing one are refused with messages naming them; and the
 * words of bash completion (experiment ids, task names, checkpoints) come from the API, also
 * through the installed completion script. */
#include "ctl_itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static Daemon d;
static char config[512], url[64];

/* the daemon, and a client config with its address and token as quickstart writes it */
static void start(void) {
    char dir[400], text[512];
    ctl_itest_start(&d, NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.port);
    snprintf(dir, sizeof(dir), "%s/angora", getenv("XDG_CONFIG_HOME"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(config, sizeof(config), "%s/client.json", dir);
    snprintf(text, sizeof(text), "{\"url\": \"%s\", \"token\": \"%s\"}\n", url, d.token);
    ctl_itest_write(config, text);
    ck_assert_int_eq(chmod(config, 0600), 0);
}

static void stop(void) {
    itest_daemon_finish(&d);
}

START_TEST(test_config_file) {
    CtlRun r;
    start();
    /* no flag, no environment: the config file */
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "ID  NAME"));
    ctl_itest_free(&r);
    ctl_itest_run(&r, "version", NULL);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, url));
    ctl_itest_free(&r);
    /* the environment beats the file: a wrong token from ANGORA_TOKEN is refused (4) and the
     * message says where the token came from */
    setenv("ANGORA_TOKEN", "ang_0000000000000000000000000000000000000000000000000000000000000000",
           1);
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 4);
    ASSERT_ERR(&r, "the token came from ANGORA_TOKEN");
    ctl_itest_free(&r);
    /* a flag beats the environment */
    ctl_itest_run(&r, "--token", d.token, "ls", NULL);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    unsetenv("ANGORA_TOKEN");
    setenv("ANGORA_URL", "http://127.0.0.1:1", 1);
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 5);
    ctl_itest_free(&r);
    ctl_itest_run(&r, "--url", url, "ls", NULL);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    unsetenv("ANGORA_URL");
    /* readable by others: refused, naming the file, its mode and the fix */
    ck_assert_int_eq(chmod(config, 0644), 0);
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, config);
    ASSERT_ERR(&r, "other users can read it (mode 0644)");
    ASSERT_ERR(&r, "chmod 600");
    ctl_itest_free(&r);
    ck_assert_int_eq(chmod(config, 0600), 0);
    /* malformed: the file and the place */
    ctl_itest_write(config, "{\"url\": \"http://127.0.0.1:1\", \"token\": }");
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "config ");
    ASSERT_ERR(&r, config);
    ctl_itest_free(&r);
    ctl_itest_write(config, "{\"url\": \"http://127.0.0.1:1\", \"colour\": \"red\"}");
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "colour");
    ctl_itest_free(&r);
    /* a config named on the command line or in ANGORA_CONFIG must exist */
    ctl_itest_run(&r, "--config", "/nonexistent/client.json", "ls", NULL);
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "/nonexistent/client.json");
    ctl_itest_free(&r);
    setenv("ANGORA_CONFIG", "/nonexistent/other.json", 1);
    ctl_itest_run(&r, "ls", NULL);
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "/nonexistent/other.json");
    ctl_itest_free(&r);
    unsetenv("ANGORA_CONFIG");
    stop();
}
END_TEST

/* the candidates bash completion offers for a line of arguments (the word being completed last,
 * "" after a trailing space), space-separated (free()) */
static char *complete_line(const char *args) {
    char cmd[2048], *out = calloc(1, 8192);
    FILE *p;
    size_t n;
    snprintf(cmd, sizeof(cmd), "bash '%s' '%s' '%s %s'", getenv("ITEST_COMPLETE_LINE"),
             getenv("ITEST_COMPLETION"), getenv("ITEST_ANGORACTL"), args);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, 8191, p);
    ck_assert_int_eq(pclose(p), 0);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return out;
}

START_TEST(test_completion_words) {
    CtlRun r;
    char ids[32], *words;
    long long id;
    start();
    id = itest_submit(&d,
                      "{\"task\":\"CartPole\",\"budget\":{\"env_steps\":3000},"
                      "\"notes\":\"fake:iters=3,sleep=0.02\"}",
                      0);
    json_decref(itest_wait_state(&d, id, "succeeded", 60));
    snprintf(ids, sizeof(ids), "%lld", id);
    /* the words, straight from angoractl */
    ctl_itest_run(&r, "__complete", "ids", NULL);
    ASSERT_CODE(&r, 0);
    ck_assert_str_eq(strtok(r.out, "\n"), ids);
    ctl_itest_free(&r);
    ctl_itest_run(&r, "__complete", "tasks", NULL);
    ASSERT_CODE(&r, 0);
    ck_assert_str_eq(r.out, "CartPole\nPendulum\nHandReach\n");
    ctl_itest_free(&r);
    ctl_itest_run(&r, "__complete", "checkpoints", ids, NULL);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "last.ckpt\n"));
    ctl_itest_free(&r);
    ctl_itest_run(&r, "__complete", "takes-id", "show", NULL);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    ctl_itest_run(&r, "__complete", "takes-id", "submit", NULL);
    ASSERT_CODE(&r, 1);
    ctl_itest_free(&r);
    /* nothing reachable, or a bad config: no words and no message */
    ctl_itest_run(&r, "--url", "http://127.0.0.1:1", "__complete", "ids", NULL);
    ASSERT_CODE(&r, 0);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, "");
    ctl_itest_free(&r);
    ctl_itest_run(&r, "--url", "nonsense", "__complete", "ids", NULL);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, "");
    ctl_itest_free(&r);
    /* the same through the completion script, as bash would ask */
    words = complete_line("show ");
    ck_assert_str_eq(words, ids);
    free(words);
    words = complete_line("ls --task Ca");
    ck_assert_str_eq(words, "CartPole");
    free(words);
    words = complete_line("ls --state r");
    ck_assert_str_eq(words, "running");
    free(words);
    {
        char line[128], want[64];
        snprintf(line, sizeof(line), "download %s --checkpoint ", ids);
        words = complete_line(line);
        snprintf(want, sizeof(want), "last.ckpt");
        ck_assert_msg(strstr(words, want) != NULL, "%s", words);
        free(words);
    }
    /* an id already given: no second one */
    {
        char line[128];
        snprintf(line, sizeof(line), "show %s ", ids);
        words = complete_line(line);
        ck_assert_str_eq(words, "");
        free(words);
    }
    stop();
}
END_TEST

static Suite *setup_suite(void) {
    Suite *s = suite_create("client_setup");
    TCase *tc = tcase_create("setup");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_config_file);
    tcase_add_test(tc, test_completion_words);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return itest_run_suite(setup_suite());
}

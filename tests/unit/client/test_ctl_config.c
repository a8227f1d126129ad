/* Tests of angoractl's address and token discovery (client/ctl_config.c): the order flags,
 * environment, config file, local daemon data directory, default; the default paths; and clear
 * errors for a malformed or wrongly typed config file, a missing file, a bad URL or timeout. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char err[1024];

/* a file private to its owner (mode 0600), as quickstart writes the config */
static void write_file(const char *name, const char *text) {
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0600), 0);
}

static const char *in_dir(const char *name) {
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
    return path[k];
}

static void setup(void) {
    char sub[512];
    snprintf(dir, sizeof(dir), "/tmp/angoractl-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* a home with no config and a data dir nobody else uses */
    snprintf(sub, sizeof(sub), "%s/home", dir);
    mkdir(sub, 0700);
    setenv("HOME", sub, 1);
    snprintf(sub, sizeof(sub), "%s/xdgconfig", dir);
    mkdir(sub, 0700);
    setenv("XDG_CONFIG_HOME", sub, 1);
    snprintf(sub, sizeof(sub), "%s/xdgdata", dir);
    mkdir(sub, 0700);
    setenv("XDG_DATA_HOME", sub, 1);
    unsetenv("ANGORA_URL");
    unsetenv("ANGORA_TOKEN");
    unsetenv("ANGORA_CONFIG");
}

static void teardown(void) {
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_default_paths) {
    char out[512], expect[512];
    ck_assert_int_eq(ctl_config_default_path(out, sizeof(out)), 0);
    snprintf(expect, sizeof(expect), "%s/xdgconfig/angora/client.json", dir);
    ck_assert_str_eq(out, expect);
    unsetenv("XDG_CONFIG_HOME");
    ck_assert_int_eq(ctl_config_default_path(out, sizeof(out)), 0);
    snprintf(expect, sizeof(expect), "%s/home/.config/angora/client.json", dir);
    ck_assert_str_eq(out, expect);
    /* the daemon's default: $XDG_DATA_HOME/angora, else ~/.local/share/angora */
    ck_assert_int_eq(ctl_config_daemon_data_dir(out, sizeof(out)), 0);
    snprintf(expect, sizeof(expect), "%s/xdgdata/angora", dir);
    ck_assert_str_eq(out, expect);
    unsetenv("XDG_DATA_HOME");
    ck_assert_int_eq(ctl_config_daemon_data_dir(out, sizeof(out)), 0);
    snprintf(expect, sizeof(expect), "%s/home/.local/share/angora", dir);
    ck_assert_str_eq(out, expect);
    ck_assert_int_eq(ctl_config_daemon_data_dir(out, 8), AG_ETOOBIG);
}
END_TEST

START_TEST(test_defaults_without_anything) {
    CtlArgs a = {0};
    CtlConfig c;
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://127.0.0.1:7878");
    ck_assert_str_eq(c.token, "");
    ck_assert_str_eq(c.token_source, "");
    ck_assert(c.timeout_s == 30.0);
}
END_TEST

/* a local daemon's data directory gives both the port and the token */
START_TEST(test_data_dir_files) {
    CtlArgs a = {0};
    CtlConfig c;
    write_file("token", "ang_fromfile\n");
    write_file("port", "45678\n");
    a.data_dir = dir;
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://127.0.0.1:45678");
    ck_assert_str_eq(c.token, "ang_fromfile");
    ck_assert_str_eq(c.token_source, in_dir("token"));
    ck_assert_str_eq(c.data_dir, dir);
    /* a garbled port file falls back to the default port */
    write_file("port", "http\n");
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://127.0.0.1:7878");
}
END_TEST

/* the daemon's default data directory is looked at without --data-dir */
START_TEST(test_default_data_dir) {
    CtlArgs a = {0};
    CtlConfig c;
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/xdgdata/angora", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/xdgdata/angora/token", dir);
    f = fopen(path, "w");
    fputs("ang_default\n", f);
    fclose(f);
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.token, "ang_default");
    ck_assert_str_eq(c.token_source, path);
}
END_TEST

START_TEST(test_order) {
    CtlArgs a = {0};
    CtlConfig c;
    char cfg[512];
    write_file("token", "ang_datadir\n");
    write_file("tokfile", "ang_tokfile\n");
    snprintf(cfg, sizeof(cfg),
             "{\"url\": \"http://cfg:1/\", \"token\": \"ang_cfg\", \"timeout\": 5,"
             " \"data_dir\": \"%s\"}",
             dir);
    write_file("client.json", cfg);
    a.config = in_dir("client.json");
    /* the config file beats the data directory */
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://cfg:1");
    ck_assert_str_eq(c.token, "ang_cfg");
    ck_assert_str_eq(c.token_source, a.config);
    ck_assert(c.timeout_s == 5.0);
    /* the environment beats the config file */
    setenv("ANGORA_URL", "https://env:2", 1);
    setenv("ANGORA_TOKEN", "ang_env", 1);
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "https://env:2");
    ck_assert_str_eq(c.url_source, "ANGORA_URL");
    ck_assert_str_eq(c.token, "ang_env");
    ck_assert_str_eq(c.token_source, "ANGORA_TOKEN");
    /* a token file flag beats the environment and the config's token */
    a.token_file = in_dir("tokfile");
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.token, "ang_tokfile");
    ck_assert_str_eq(c.token_source, in_dir("tokfile"));
    /* flags beat everything */
    a.url = "http://flag:3///";
    a.token = "ang_flag";
    a.timeout = "0";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://flag:3");
    ck_assert_str_eq(c.token, "ang_flag");
    ck_assert(c.timeout_s == 0.0);
}
END_TEST

/* the default config file is read when present; ANGORA_CONFIG names another one */
START_TEST(test_config_file_discovery) {
    CtlArgs a = {0};
    CtlConfig c;
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/xdgconfig/angora", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/xdgconfig/angora/client.json", dir);
    f = fopen(path, "w");
    fputs("{\"url\": \"http://xdg:9\", \"token_file\": \"/nonexistent/token\"}", f);
    fclose(f);
    /* a token_file in the config that does not exist is an error naming it */
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/token"));
    write_file("other.json", "{\"url\": \"http://other:8\"}");
    setenv("ANGORA_CONFIG", in_dir("other.json"), 1);
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://other:8");
    ck_assert_str_eq(c.url_source, in_dir("other.json"));
}
END_TEST

static void expect_bad_config(const char *text, int code, const char *needle) {
    CtlArgs a = {0};
    CtlConfig c;
    write_file("bad.json", text);
    a.config = in_dir("bad.json");
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), code);
    ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" not in \"%s\"", needle, err);
}

START_TEST(test_bad_config) {
    CtlArgs a = {0};
    CtlConfig c;
    expect_bad_config("{\"url\": ", AG_EJSON, "bad.json");
    expect_bad_config("{\"url\": 5}", AG_EJSON, "url");
    expect_bad_config("{\"colour\": \"red\"}", AG_EJSON, "colour");
    expect_bad_config("[1, 2]", AG_EJSON, "bad.json");
    expect_bad_config("{\"timeout\": -1}", AG_EJSON, "timeout");
    expect_bad_config("{\"url\": \"ftp://x\"}", AG_EINVAL, "http:// or https://");
    /* an explicit config file must exist */
    a.config = "/nonexistent/client.json";
    ck_assert_int_ne(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/client.json"));
}
END_TEST

/* a config file holding a token is refused when group or others may read it, and the message
 * says which file, its mode and the fix; a config without a token is no secret */
START_TEST(test_config_mode) {
    CtlArgs a = {0};
    CtlConfig c;
    write_file("client.json", "{\"url\": \"http://cfg:1\", \"token\": \"ang_cfg\"}");
    a.config = in_dir("client.json");
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.token, "ang_cfg");
    ck_assert_int_eq(chmod(in_dir("client.json"), 0644), 0);
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EFORBIDDEN);
    ck_assert_ptr_nonnull(strstr(err, in_dir("client.json")));
    ck_assert_ptr_nonnull(strstr(err, "0644"));
    ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
    ck_assert_int_eq(chmod(in_dir("client.json"), 0640), 0);
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EFORBIDDEN);
    /* the default config file is held to the same rule */
    {
        char path[512];
        FILE *f;
        a.config = NULL;
        snprintf(path, sizeof(path), "%s/xdgconfig/angora", dir);
        mkdir(path, 0700);
        snprintf(path, sizeof(path), "%s/xdgconfig/angora/client.json", dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs("{\"token\": \"ang_x\"}", f);
        fclose(f);
        ck_assert_int_eq(chmod(path, 0604), 0);
        ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EFORBIDDEN);
        ck_assert_ptr_nonnull(strstr(err, path));
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
        ck_assert_str_eq(c.token, "ang_x");
        ck_assert_str_eq(c.token_source, path);
    }
    /* no token, no secret: a readable config of an address is fine */
    write_file("public.json", "{\"url\": \"http://pub:4\"}");
    ck_assert_int_eq(chmod(in_dir("public.json"), 0644), 0);
    a.config = in_dir("public.json");
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.url, "http://pub:4");
}
END_TEST

START_TEST(test_bad_flags) {
    CtlArgs a = {0};
    CtlConfig c;
    a.url = "localhost:7878";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "must start with http:// or https:// (from --url)"));
    a.url = "http://";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    a.url = "http://h:1/?x=1";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    a.url = NULL;
    a.timeout = "soon";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--timeout"));
    a.timeout = "-2";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    a.timeout = NULL;
    a.data_dir = "/nonexistent/angora";
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a directory"));
    a.data_dir = NULL;
    a.token_file = in_dir("missing-token");
    ck_assert_int_eq(ctl_config_resolve(&a, &c, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "missing-token"));
    write_file("empty-token", "\n");
    a.token_file = in_dir("empty-token");
    ck_assert_int_ne(ctl_config_resolve(&a, &c, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "expected one line"));
}
END_TEST

START_TEST(test_url_normalize) {
    char out[64];
    ck_assert_int_eq(ctl_url_normalize("https://a.b:443/", out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_str_eq(out, "https://a.b:443");
    ck_assert_int_eq(ctl_url_normalize("http://[::1]:7878", out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_str_eq(out, "http://[::1]:7878");
    ck_assert_int_eq(ctl_url_normalize("http://h x", out, sizeof(out), err, sizeof(err)),
                     AG_EINVAL);
    ck_assert_int_eq(ctl_url_normalize("http://a-very-long-host-name-that-does-not-fit.example:1",
                                       out, 16, err, sizeof(err)),
                     AG_ETOOBIG);
}
END_TEST

static Suite *config_suite(void) {
    Suite *s = suite_create("ctl_config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_default_paths);
    tcase_add_test(tc, test_defaults_without_anything);
    tcase_add_test(tc, test_data_dir_files);
    tcase_add_test(tc, test_default_data_dir);
    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_config_file_discovery);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_config_mode);
    tcase_add_test(tc, test_bad_flags);
    tcase_add_test(tc, test_url_normalize);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

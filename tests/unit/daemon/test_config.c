/* Tests of server/daemon/config.c: defaults, single settings with range checks, and the config
 * file with comments, quotes and errors that name file and line. */
#include "daemon.h"

#include "ag_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_defaults) {
    DaemonConfig c;
    setenv("XDG_DATA_HOME", "/xdg", 1);
    daemon_config_defaults(&c, "/usr/bin/angora-train");
    ck_assert_str_eq(c.data_dir, "/xdg/angora");
    ck_assert_str_eq(c.bind, "127.0.0.1");
    ck_assert_int_eq(c.port, 7878);
    ck_assert_str_eq(c.trainer, "/usr/bin/angora-train");
    ck_assert_int_ge(c.max_cores, 1);
    ck_assert_int_eq(c.max_attempts, 3);
    ck_assert_int_eq(c.shutdown, DAEMON_SHUTDOWN_LEAVE);
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    daemon_config_defaults(&c, NULL);
    ck_assert_str_eq(c.data_dir, "/home/u/.local/share/angora");
}
END_TEST

START_TEST(test_set) {
    DaemonConfig c;
    daemon_config_defaults(&c, NULL);
    ck_assert_int_eq(daemon_config_set(&c, "port", "0", err, sizeof(err)), 0);
    ck_assert_int_eq(c.port, 0);
    ck_assert_int_eq(daemon_config_set(&c, "port", "65536", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "port", "80x", err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "port"));
    ck_assert_int_eq(daemon_config_set(&c, "max_cores", "0", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "max_cores", "16", err, sizeof(err)), 0);
    ck_assert_int_eq(c.max_cores, 16);
    ck_assert_int_eq(daemon_config_set(&c, "grace_seconds", "2.5", err, sizeof(err)), 0);
    ck_assert_double_eq(c.grace_s, 2.5);
    ck_assert_int_eq(daemon_config_set(&c, "grace_seconds", "nan", err, sizeof(err)), AG_EINVAL);
    /* each periodic job of the daemon has its own period */
    ck_assert_double_eq(c.tick_s, 0.2);
    /* ingestion also wakes on inotify events unless told not to */
    ck_assert_int_eq(c.ingest_events, 1);
    ck_assert_int_eq(daemon_config_set(&c, "ingest_events", "no", err, sizeof(err)), 0);
    ck_assert_int_eq(c.ingest_events, 0);
    ck_assert_int_eq(daemon_config_set(&c, "ingest_events", "maybe", err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "ingest_events: yes or no"));
    ck_assert_int_eq(c.ingest_events, 0);
    ck_assert_int_eq(daemon_config_set(&c, "ingest_events", "yes", err, sizeof(err)), 0);
    ck_assert_int_eq(c.ingest_events, 1);
    ck_assert_int_eq(daemon_config_set(&c, "ingest_seconds", "0.05", err, sizeof(err)), 0);
    ck_assert_double_eq(c.ingest_s, 0.05);
    ck_assert_int_eq(daemon_config_set(&c, "queue_seconds", "2", err, sizeof(err)), 0);
    ck_assert_double_eq(c.queue_s, 2.0);
    ck_assert_double_eq(c.tick_s, 0.2);
    ck_assert_int_eq(daemon_config_set(&c, "ingest_seconds", "0", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "queue_seconds", "61", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "queue_seconds", "soon", err, sizeof(err)), AG_EINVAL);
    /* the response cache: 64 MiB unless told, 0 turns it off, at most 4 GiB */
    ck_assert_uint_eq(c.response_cache_mb, 64);
    ck_assert_int_eq(daemon_config_set(&c, "response_cache_mb", "0", err, sizeof(err)), 0);
    ck_assert_uint_eq(c.response_cache_mb, 0);
    ck_assert_int_eq(daemon_config_set(&c, "response_cache_mb", "4097", err, sizeof(err)),
                     AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "response_cache_mb: must be in [0, 4096]"));
    ck_assert_int_eq(daemon_config_set(&c, "response_cache_mb", "-1", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "response_cache_mb", "lots", err, sizeof(err)),
                     AG_EINVAL);
    ck_assert_int_eq(daemon_config_set(&c, "response_cache_mb", "256", err, sizeof(err)), 0);
    ck_assert_uint_eq(c.response_cache_mb, 256);
    /* the HTTP threads' nice: 10 unless told, 0 to 19 */
    ck_assert_int_eq(c.http_nice, 10);
    ck_assert_int_eq(daemon_config_set(&c, "http_nice", "0", err, sizeof(err)), 0);
    ck_assert_int_eq(c.http_nice, 0);
    ck_assert_int_eq(daemon_config_set(&c, "http_nice", "20", err, sizeof(err)), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "http_nice: must be in [0, 19]"));
    ck_assert_int_eq(daemon_config_set(&c, "http_nice", "-1", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "http_nice", "low", err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(c.http_nice, 0);
    ck_assert_int_eq(daemon_config_set(&c, "http_nice", "19", err, sizeof(err)), 0);
    ck_assert_int_eq(c.http_nice, 19);
    ck_assert_int_eq(daemon_config_set(&c, "on_shutdown", "checkpoint", err, sizeof(err)), 0);
    ck_assert_int_eq(c.shutdown, DAEMON_SHUTDOWN_CHECKPOINT);
    ck_assert_int_eq(daemon_config_set(&c, "on_shutdown", "explode", err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(daemon_config_set(&c, "log_level", "loud", err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(daemon_config_set(&c, "integrity_check", "no", err, sizeof(err)), 0);
    ck_assert_int_eq(c.integrity_check, 0);
    ck_assert_int_eq(daemon_config_set(&c, "nonsense", "1", err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown setting"));
    {
        char longv[5000];
        memset(longv, 'a', sizeof(longv) - 1);
        longv[sizeof(longv) - 1] = '\0';
        ck_assert_int_eq(daemon_config_set(&c, "trainer", longv, err, sizeof(err)), AG_ETOOBIG);
    }
}
END_TEST

START_TEST(test_slurm_settings) {
    DaemonConfig c;
    daemon_config_defaults(&c, NULL);
    ck_assert_int_eq(c.slurm_default, 0);
    ck_assert_str_eq(c.slurm_mpi, "pmix");
    ck_assert_int_eq(daemon_config_set(&c, "executor", "slurm", err, sizeof(err)), 0);
    ck_assert_int_eq(c.slurm_default, 1);
    ck_assert_int_eq(daemon_config_set(&c, "executor", "local", err, sizeof(err)), 0);
    ck_assert_int_eq(c.slurm_default, 0);
    ck_assert_int_eq(daemon_config_set(&c, "executor", "pbs", err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "local or slurm"));
    ck_assert_int_eq(daemon_config_set(&c, "slurm_partition", "gpu.long-1", err, sizeof(err)), 0);
    ck_assert_str_eq(c.slurm_partition, "gpu.long-1");
    ck_assert_int_eq(daemon_config_set(&c, "slurm_partition", "a;b", err, sizeof(err)), AG_EINVAL);
    ck_assert_str_eq(c.slurm_partition, "gpu.long-1");
    ck_assert_int_eq(daemon_config_set(&c, "slurm_account", "$(x)", err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(daemon_config_set(&c, "slurm_mpi", "pmi2", err, sizeof(err)), 0);
    ck_assert_str_eq(c.slurm_mpi, "pmi2");
    ck_assert_int_eq(daemon_config_set(&c, "slurm_time_limit", "2-00:00:00", err, sizeof(err)), 0);
    ck_assert_int_eq(daemon_config_set(&c, "slurm_time_limit", "2 days", err, sizeof(err)),
                     AG_EINVAL);
    ck_assert_int_eq(daemon_config_set(&c, "slurm_poll_seconds", "0", err, sizeof(err)), AG_ERANGE);
    ck_assert_int_eq(daemon_config_set(&c, "slurm_poll_seconds", "5", err, sizeof(err)), 0);
    ck_assert_double_eq(c.slurm_poll_s, 5.0);
    ck_assert_int_eq(daemon_config_set(&c, "run_root", "/shared/angora/runs", err, sizeof(err)), 0);
    ck_assert_str_eq(c.run_root, "/shared/angora/runs");
    ck_assert_int_eq(daemon_config_set(&c, "slurm_bin", "/opt/slurm/bin", err, sizeof(err)), 0);
    ck_assert_str_eq(c.slurm_bin, "/opt/slurm/bin");
}
END_TEST

START_TEST(test_file) {
    char path[] = "/tmp/angorad-conf-XXXXXX";
    int fd = mkstemp(path);
    DaemonConfig c;
    ck_assert_int_ge(fd, 0);
    close(fd);
    daemon_config_defaults(&c, NULL);
    write_file(path, "# angorad\n\ndata_dir = \"/srv/angora data\"\nport=9000\n  max_cores = 8  \n"
                     "hostfile = /etc/angora/hosts\n");
    ck_assert_int_eq(daemon_config_load(&c, path, err, sizeof(err)), 0);
    ck_assert_str_eq(c.data_dir, "/srv/angora data");
    ck_assert_int_eq(c.port, 9000);
    ck_assert_int_eq(c.max_cores, 8);
    ck_assert_str_eq(c.hostfile, "/etc/angora/hosts");
    write_file(path, "port = 1\nmax_attempts = 0\n");
    ck_assert_int_eq(daemon_config_load(&c, path, err, sizeof(err)), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, ":2: max_attempts"));
    write_file(path, "just words\n");
    ck_assert_int_eq(daemon_config_load(&c, path, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ":1: expected key = value"));
    unlink(path);
    ck_assert_int_eq(daemon_config_load(&c, "/nonexistent.conf", err, sizeof(err)), AG_EIO);
}
END_TEST

/* the example configuration the docs point to loads: every key it sets is one angorad knows,
 * with a value in its range, so the example cannot drift from the code unnoticed */
START_TEST(test_example_file_loads) {
    const char *example = getenv("ANGORA_CONF_EXAMPLE");
    DaemonConfig c;
    ck_assert_ptr_nonnull(example);
    daemon_config_defaults(&c, NULL);
    ck_assert_msg(daemon_config_load(&c, example, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(c.port, 7878);
    ck_assert_int_eq(c.http_nice, 10);
    ck_assert_uint_eq(c.http_threads, 4);
}
END_TEST

int main(void) {
    Suite *s = suite_create("daemon_config");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_example_file_loads);
    tcase_add_test(tc, test_slurm_settings);
    tcase_add_test(tc, test_file);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

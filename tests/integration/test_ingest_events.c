/* Integration: a metric line that a live run writes is ingested when inotify reports it, not at
 * the next ingestion tick. The tick is set to its longest (10 s), so that rows seen before it
 * came round can only have been read because of the event; with events turned off the same run's
 * rows wait for the tick. The HTTP threads run at a higher nice value than the thread that
 * ingests, so that busy cores serve ingestion first. */
#include "itest.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* a run that writes a row every 0.1 s for far longer than the test looks at it */
static const char *spec_slow = "{\"task\":\"CartPole\",\"name\":\"events\","
                               "\"notes\":\"fake:iters=400,sleep=0.1\"}";

#define INGEST_TICK_S "10"
/* the test must have seen rows this long after the daemon started, well before the second tick */
#define BEFORE_TICK_S 8.0

static long long rows_of(const Daemon *d, long long id) {
    json_t *o = itest_get(d, id);
    long long n = json_integer_value(json_object_get(o, "metric_rows"));
    json_decref(o);
    return n;
}

static void cancel(const Daemon *d, long long id) {
    char path[128];
    HttpResult r;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", id);
    itest_http(d, "POST", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == 200 || r.status == 202, "cancel: %ld", r.status);
    itest_http_free(&r);
    json_decref(itest_wait_state(d, id, "cancelled", 60));
}

START_TEST(test_rows_arrive_between_ticks) {
    Daemon d;
    const char *extra[] = {"--ingest-seconds", INGEST_TICK_S, NULL};
    itest_daemon_init(&d);
    /* the first tick runs as the loop starts, before anything is submitted; the next one only
     * 10 s later */
    double t0 = itest_now();
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    long long id = itest_submit(&d, spec_slow, 0);
    json_decref(itest_wait_state(&d, id, "running", 30));
    long long seen = 0, grew = 0, last = 0;
    while (itest_now() - t0 < BEFORE_TICK_S && grew < 3) {
        seen = rows_of(&d, id);
        grew += seen > last;
        last = seen;
        itest_sleep(0.05);
    }
    ck_assert_msg(grew >= 3, "rows grew %lld time(s) (%lld rows) in the %.0f s before the tick",
                  grew, seen, BEFORE_TICK_S);
    cancel(&d, id);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_without_events_rows_wait_for_the_tick) {
    Daemon d;
    const char *extra[] = {"--ingest-seconds", INGEST_TICK_S, "--ingest-events", "no", NULL};
    itest_daemon_init(&d);
    double t0 = itest_now();
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    long long id = itest_submit(&d, spec_slow, 0);
    json_decref(itest_wait_state(&d, id, "running", 30));
    /* rows are being written (the run directory says so) but none is read before the tick */
    itest_sleep(1.0);
    double looked_at = itest_now() - t0;
    long long n = rows_of(&d, id);
    if (looked_at < BEFORE_TICK_S) {
        ck_assert_msg(n == 0, "%lld row(s) read %.1f s after the start, before the tick", n,
                      looked_at);
    }
    /* the tick still reads them */
    itest_wait_rows(&d, id, 1, 30);
    cancel(&d, id);
    itest_daemon_finish(&d);
}
END_TEST

/* angorad started with a bad setting exits 2 before serving, saying words */
static void setting_refused(const char *option, const char *value, const char *words) {
    Daemon d;
    char cmd[1024], out[4096];
    itest_daemon_init(&d);
    snprintf(cmd, sizeof(cmd), "%s --data-dir %s --port 0 %s %s 2>&1", itest_angorad(), d.dir,
             option, value);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit status %d: %s", status, out);
    ck_assert_msg(strstr(out, words) != NULL, "%s", out);
    itest_daemon_cleanup(&d);
}

START_TEST(test_bad_setting_refused) {
    setting_refused("--ingest-events", "sometimes", "ingest_events: yes or no");
}
END_TEST

/* the nice value of one thread of pid from /proc (-100 when it cannot be read) */
static int thread_nice(pid_t pid, const char *tid) {
    char path[300], buf[1024];
    int nice = -100;
    snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return nice;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the fields after the command name, which may hold spaces, start at the state (field 3);
     * nice is field 19 */
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 19; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p) {
        nice = atoi(p + 1);
    }
    return nice;
}

/* 1 when the thread is the stream's backlog reader, which lowers its own priority */
static int is_backlog_reader(pid_t pid, const char *tid) {
    char path[300], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(comm, sizeof(comm), f)) {
            comm[0] = '\0';
        }
        fclose(f);
    }
    return strncmp(comm, "angora-backlog", 14) == 0;
}

/* how many of angorad's threads other than the backlog reader have the given nice value (-1:
 * how many there are) */
static int threads_at(pid_t pid, int nice) {
    char dir[64];
    int count = 0;
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] != '.' && !is_backlog_reader(pid, e->d_name) &&
            (nice == -1 || thread_nice(pid, e->d_name) == nice)) {
            count++;
        }
    }
    closedir(d);
    return count;
}

/* after requests, the HTTP threads that served them are at the daemon's nice + http_nice (at most
 * 19) and the main thread, which ingests, is still at the daemon's; with 0 every thread is */
static void check_http_nice(const char *setting, int delta) {
    Daemon d;
    const char *extra[] = {"--http-nice", setting, NULL};
    char self[32];
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    for (int i = 0; i < 20; i++) {
        HttpResult r;
        itest_http(&d, "GET", "/api/v1/experiments", d.token, NULL, 0, &r);
        ck_assert_int_eq(r.status, 200);
        itest_http_free(&r);
    }
    /* the main thread's id is the pid; it started at the nice this test runs at */
    snprintf(self, sizeof(self), "%d", (int)d.pid);
    int main_nice = thread_nice(d.pid, self);
    errno = 0;
    int started_at = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    ck_assert_int_eq(main_nice, started_at);
    int want = started_at + delta > 19 ? 19 : started_at + delta;
    int niced = threads_at(d.pid, want);
    if (delta == 0) {
        ck_assert_int_eq(niced, threads_at(d.pid, -1));
    } else if (want != started_at) {
        ck_assert_msg(niced >= 1, "no thread at nice %d (angorad at %d, --http-nice %s)", want,
                      started_at, setting);
    }
    itest_daemon_finish(&d);
}

START_TEST(test_http_threads_yield_to_ingestion) {
    check_http_nice("7", 7);
    check_http_nice("0", 0);
}
END_TEST

START_TEST(test_bad_http_nice_refused) {
    setting_refused("--http-nice", "20", "http_nice: must be in [0, 19]");
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_rows_arrive_between_ticks,
                            test_without_events_rows_wait_for_the_tick, test_bad_setting_refused,
                            test_http_threads_yield_to_ingestion, test_bad_http_nice_refused};
    return itest_run_tests("integration_ingest_events", 120, tests, ITEST_COUNT(tests));
}

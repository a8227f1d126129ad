/* Tests of the logger (common/ag_log.c): level names, filtering, the line format (UTC time with
 * milliseconds, level, optional tag, message), the stderr default and whole lines under
 * concurrent writers. */
#include "ag_log.h"

#include <check.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

static FILE *capture;

static void setup(void) {
    capture = tmpfile();
    ck_assert_ptr_nonnull(capture);
    ag_log_set_stream(capture);
    ag_log_set_level(AG_LOG_INFO);
    ag_log_set_tag(NULL);
}

static void teardown(void) {
    ag_log_set_stream(NULL);
    ag_log_set_tag(NULL);
    ag_log_set_level(AG_LOG_INFO);
    fclose(capture);
}

/* everything written so far (static buffer) */
static const char *captured(void) {
    static char text[1 << 16];
    fflush(capture);
    rewind(capture);
    size_t n = fread(text, 1, sizeof text - 1, capture);
    text[n] = '\0';
    return text;
}

static int matches(const char *pattern, const char *text) {
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    return rc == 0;
}

START_TEST(test_level_parse) {
    ck_assert_int_eq(ag_log_level_parse("debug"), AG_LOG_DEBUG);
    ck_assert_int_eq(ag_log_level_parse("info"), AG_LOG_INFO);
    ck_assert_int_eq(ag_log_level_parse("warn"), AG_LOG_WARN);
    ck_assert_int_eq(ag_log_level_parse("warning"), AG_LOG_WARN);
    ck_assert_int_eq(ag_log_level_parse("error"), AG_LOG_ERROR);
    ck_assert_int_eq(ag_log_level_parse("off"), AG_LOG_OFF);
    ck_assert_int_eq(ag_log_level_parse("DEBUG"), AG_LOG_DEBUG);
    ck_assert_int_eq(ag_log_level_parse("Error"), AG_LOG_ERROR);
    ck_assert_int_eq(ag_log_level_parse("verbose"), -1);
    ck_assert_int_eq(ag_log_level_parse(""), -1);
    ck_assert_int_eq(ag_log_level_parse("info "), -1);
    ck_assert_int_eq(ag_log_level_parse(NULL), -1);
}
END_TEST

START_TEST(test_set_get_level) {
    for (int l = AG_LOG_DEBUG; l <= AG_LOG_OFF; l++) {
        ag_log_set_level((AgLogLevel)l);
        ck_assert_int_eq(ag_log_get_level(), l);
    }
}
END_TEST

START_TEST(test_format) {
    ag_log_info("started %d ranks on %s", 2, "host");
    const char *text = captured();
    ck_assert_msg(matches(LINE_RE "INFO  started 2 ranks on host\n$", text), "got: %s", text);
    /* the time is now, in UTC */
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%dT", &tm);
    ck_assert_int_eq(strncmp(text, today, strlen(today)), 0);
}
END_TEST

START_TEST(test_levels_and_tag) {
    ag_log_set_level(AG_LOG_DEBUG);
    ag_log_set_tag("rank 1");
    ag_log_debug("d");
    ag_log_info("i");
    ag_log_warn("w");
    ag_log_error("e");
    const char *text = captured();
    ck_assert_msg(matches(LINE_RE "DEBUG \\[rank 1\\] d\n" LINE_RE "INFO  \\[rank 1\\] i\n" LINE_RE
                                  "WARN  \\[rank 1\\] w\n" LINE_RE "ERROR \\[rank 1\\] e\n$",
                          text),
                  "got: %s", text);
    /* an empty tag is no tag */
    ag_log_set_tag("");
    ag_log_error("plain");
    ck_assert(matches(LINE_RE "ERROR plain$", captured()));
}
END_TEST

START_TEST(test_filtering) {
    ag_log_set_level(AG_LOG_WARN);
    ag_log_debug("hidden debug");
    ag_log_info("hidden info");
    ag_log_warn("shown warn");
    ag_log_error("shown error");
    const char *text = captured();
    ck_assert_ptr_null(strstr(text, "hidden"));
    ck_assert_ptr_nonnull(strstr(text, "shown warn"));
    ck_assert_ptr_nonnull(strstr(text, "shown error"));
    ag_log_set_level(AG_LOG_OFF);
    ag_log_error("silenced");
    ck_assert_ptr_null(strstr(captured(), "silenced"));
    /* OFF is not a level to log at */
    ag_log_set_level(AG_LOG_DEBUG);
    ag_log(AG_LOG_OFF, "never");
    ck_assert_ptr_null(strstr(captured(), "never"));
}
END_TEST

START_TEST(test_long_message) {
    char big[5000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ag_log_info("%s", big);
    ag_log_info("after");
    const char *text = captured();
    /* cut to one line, never a broken one */
    const char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_int_lt(nl - text, 2048);
    ck_assert_int_gt(nl - text, 1000);
    ck_assert(matches(LINE_RE "INFO  after\n$", nl + 1));
}
END_TEST

START_TEST(test_stderr_default) {
    char path[] = "/tmp/ag_log_stderr.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    ag_log_set_stream(NULL);
    ag_log_warn("to stderr");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[256] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    ck_assert_int_gt(n, 0);
    text[n] = '\0';
    close(fd);
    unlink(path);
    ck_assert(matches(LINE_RE "WARN  to stderr\n$", text));
}
END_TEST

enum { WRITERS = 4, LINES_EACH = 250 };

static void *writer(void *arg) {
    int id = (int)(long)arg;
    for (int i = 0; i < LINES_EACH; i++) {
        ag_log_info("writer %d line %d %s", id, i, "payload-payload-payload-payload");
    }
    return NULL;
}

START_TEST(test_concurrent_lines_whole) {
    pthread_t t[WRITERS];
    for (long i = 0; i < WRITERS; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, writer, (void *)i), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
    }
    fflush(capture);
    rewind(capture);
    char line[512];
    int lines = 0, seen[WRITERS] = {0};
    regex_t re;
    ck_assert_int_eq(regcomp(&re,
                             LINE_RE "INFO  writer [0-9] line [0-9]+ payload-payload-payload-"
                                     "payload\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    while (fgets(line, sizeof line, capture)) {
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "broken line: %s", line);
        int id = -1, n = -1;
        ck_assert_int_eq(sscanf(strstr(line, "writer"), "writer %d line %d", &id, &n), 2);
        ck_assert_int_eq(n, seen[id]); /* each writer's lines in order */
        seen[id]++;
        lines++;
    }
    regfree(&re);
    ck_assert_int_eq(lines, WRITERS * LINES_EACH);
}
END_TEST

static atomic_int tagger_stop;

static void *tagger(void *arg) {
    (void)arg;
    for (int i = 0; !atomic_load(&tagger_stop); i++) {
        ag_log_set_tag(i % 2 ? "rank 1" : "worker 22");
        ag_log_set_level(AG_LOG_INFO);
    }
    return NULL;
}

/* changing the tag while others log never tears a line */
START_TEST(test_concurrent_tag) {
    pthread_t t[WRITERS], tag_thread;
    atomic_store(&tagger_stop, 0);
    ck_assert_int_eq(pthread_create(&tag_thread, NULL, tagger, NULL), 0);
    for (long i = 0; i < WRITERS; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, writer, (void *)i), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
    }
    atomic_store(&tagger_stop, 1);
    pthread_join(tag_thread, NULL);
    fflush(capture);
    rewind(capture);
    regex_t re;
    ck_assert_int_eq(regcomp(&re,
                             LINE_RE "INFO  (\\[rank 1\\] |\\[worker 22\\] )?writer [0-9] line "
                                     "[0-9]+ payload-payload-payload-payload\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, capture)) {
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "broken line: %s", line);
        lines++;
    }
    regfree(&re);
    ck_assert_int_eq(lines, WRITERS * LINES_EACH);
}
END_TEST

static Suite *log_suite(void) {
    Suite *s = suite_create("ag_log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_level_parse);
    tcase_add_test(tc, test_set_get_level);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_levels_and_tag);
    tcase_add_test(tc, test_filtering);
    tcase_add_test(tc, test_long_message);
    tcase_add_test(tc, test_stderr_default);
    tcase_add_test(tc, test_concurrent_lines_whole);
    tcase_add_test(tc, test_concurrent_tag);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Helpers of angoractl's end-to-end tests: run the angoractl program against a test daemon with
 * a clean environment and capture its exit code, standard output and standard error. */
#ifndef CTL_ITEST_H
#define CTL_ITEST_H

#include "itest.h"

#include <check.h>
#include <string.h>

typedef struct CtlRun {
    int code; /* exit status, or 128 + signal */
    char *out;
    char *err;
} CtlRun;

/* the exit code of a run, its output shown when it differs */
#define ASSERT_CODE(r, c)                                                                          \
    ck_assert_msg((r)->code == (c), "exit %d, expected %d; out: %s; err: %s", (r)->code, (c),      \
                  (r)->out, (r)->err)
/* a text in a run's standard error */
#define ASSERT_ERR(r, needle)                                                                      \
    ck_assert_msg(strstr((r)->err, needle) != NULL, "\"%s\" not in stderr: %s", needle, (r)->err)

/* a home and config directory of the test's own, and no ANGORA_* variables */
void ctl_itest_env_init(const Daemon *d);
/* a fresh daemon with the test double of angora-train and extra options (NULL-terminated, or
 * NULL), and the environment above */
void ctl_itest_start(Daemon *d, const char *const *extra);
/* runs angoractl with the arguments (NULL-terminated), stdin from /dev/null; the daemon is found
 * through --data-dir unless the arguments carry their own address options */
void ctl_itest_run(CtlRun *r, const char *first, ...) __attribute__((sentinel));
/* same with an explicit argument vector (argv[0] not included) */
void ctl_itest_runv(CtlRun *r, const char *const *args);
void ctl_itest_free(CtlRun *r);
/* the next run reads its standard input from path (once) */
void ctl_itest_stdin(const char *path);
/* writes text to path */
void ctl_itest_write(const char *path, const char *text);
/* the id printed by "submitted experiment N" */
long long ctl_itest_submitted_id(const CtlRun *r);
/* runs angoractl with the arguments (NULL-terminated, argv[0] not included) on an 80x30
 * pseudo-terminal; when prompt is not NULL, types answer once prompt has been shown. Returns
 * everything the terminal showed (free()) and sets *code to the exit status. */
char *ctl_itest_run_tty(const char *const *args, const char *prompt, const char *answer, int *code);
/* text parsed as one JSON document (a new reference); fails the test naming what (stdout,
 * stderr) when it is not */
json_t *ctl_itest_json(const char *text, const char *what);
/* counts occurrences of needle in text */
int ctl_itest_count(const char *text, const char *needle);

#endif

/* Helpers of angoractl's end-to-end tests: run the angoractl program against a test daemon with
 * a clean environment and capture its exit code, standard output and standard error. */
#ifndef CTL_ITEST_H
#define CTL_ITEST_H

#include "itest.h"

typedef struct CtlRun {
    int code; /* exit status, or 128 + signal */
    char *out;
    char *err;
} CtlRun;

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
/* counts occurrences of needle in text */
int ctl_itest_count(const char *text, const char *needle);

#endif

/* Helpers of angora-analyze's end-to-end tests: running a program with its output in files
 * (through ag_spawn) and reading a file whole. Recordings come from an_test_util.h. */
#ifndef AN_ITEST_H
#define AN_ITEST_H

#include <stddef.h>

typedef struct AnRun {
    int status; /* exit code, or 128 + signal */
    char *out, *err;
} AnRun;

/* runs argv (NULL-terminated; argv[0] a path) with stdout and stderr in files under dir */
void an_itest_run(AnRun *r, const char *dir, const char *const *argv);
void an_itest_run_free(AnRun *r);
/* a whole file as a NUL-terminated string (NULL when missing) */
char *an_itest_slurp(const char *path, size_t *len);

#endif

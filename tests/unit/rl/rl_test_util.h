/* Helpers shared by the trainer suites: specs built from JSON text, MPI set-up and tear-down. */
#ifndef RL_TEST_UTIL_H
#define RL_TEST_UTIL_H

#include "ag_spec.h"
#include "rl_ppo.h"

#include <check.h>
#include <mpi.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

static inline void rl_test_spec(AgSpec *spec, const char *text) {
    AgJsonErr je;
    int rc = ag_spec_parse_text(text, strlen(text), spec, &je);
    ck_assert_msg(rc == 0, "spec: %s: %s", je.path, je.reason);
}

/* one spec text through rl_trainer_check: its code, with the path and message */
static inline int rl_test_check_spec(const char *text, char *path, size_t path_sz, char *err,
                                     size_t err_sz) {
    AgSpec spec;
    rl_test_spec(&spec, text);
    int rc = rl_trainer_check(&spec, path, path_sz, err, err_sz);
    ag_spec_free(&spec);
    return rc;
}

static inline void rl_test_mpi_init(void) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        MPI_Init(NULL, NULL);
    }
}

/* leaks are checked while the MPI libraries are still loaded (their plugins are unloaded by
 * MPI_Finalize, which leaves their process-lifetime allocations unattributable) */
static inline void rl_test_mpi_finalize(void) {
#if defined(__SANITIZE_ADDRESS__)
    __lsan_do_leak_check();
#endif
    MPI_Finalize();
}

/* runs a suite in this process (MPI and fork() do not mix) between MPI_Init and MPI_Finalize;
 * the process exit status */
static inline int rl_test_run_suite(Suite *s) {
    rl_test_mpi_init();
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rl_test_mpi_finalize();
    return failed ? 1 : 0;
}

#endif

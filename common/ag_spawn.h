/* Starting a child program the way angorad starts every one (trainers, evaluations, the task
 * catalogue): with default signal handling and an empty signal mask, its own descriptors only,
 * and optionally its own session.
 *
 * DESIGN
 * - The environment is built before fork: the child of a threaded process may only exec.
 * - The parent blocks every signal across fork, and the child restores default dispositions and
 *   an empty mask before exec: a signal that arrives in between (a cancel) then reaches the
 *   program, not a copy of the daemon's handlers.
 * - Every descriptor from 3 up is closed in the child: the listening socket and the database
 *   must not live on in a worker.
 * - A new session (setsid) makes the child the leader of its own process group, so signals to
 *   the daemon, or its death, do not reach it; MPI ranks sit in process groups of their own, so
 *   a signal meant for every rank goes to the session (ag_spawn_signal_session).
 * - When exec fails, the child writes why to its stderr and exits with AG_SPAWN_EXEC_FAILED. */
#ifndef AG_SPAWN_H
#define AG_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* the exit code of a child whose program could not be started */
#define AG_SPAWN_EXEC_FAILED 127

typedef struct AgSpawn {
    const char *const *argv; /* NULL-terminated; argv[0] is searched in PATH */
    /* "NAME=value" settings over the current environment, NULL-terminated (NULL for none) */
    const char *const *env_set;
    const char *cwd; /* NULL: the parent's */
    int stdin_fd;    /* -1: /dev/null */
    int stdout_fd;   /* -1: /dev/null */
    int stderr_fd;   /* -1: /dev/null */
    int new_session; /* setsid in the child */
} AgSpawn;

/* starts the child; 0 and *pid, or an error code and a message (nothing was started) */
int ag_spawn(const AgSpawn *s, pid_t *pid, char *err, size_t err_sz);

/* sends sig to every process of session sid (read from /proc), except the process `except`
 * (0: none). MPI launchers put each rank in a process group of its own, so a signal to the
 * session leader's group does not reach the ranks; the session does. Returns how many processes
 * were signalled. */
int ag_spawn_signal_session(pid_t sid, int sig, pid_t except);

#endif

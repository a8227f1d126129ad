/* Starting child programs with a clean signal state and descriptor table (ag_spawn.h). */
#include "ag_spawn.h"

#include "ag_error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static void close_fds_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0u, 0) == 0) {
        return;
    }
#endif
    for (int fd = first; fd < 4096; fd++) {
        close(fd);
    }
}

/* the current environment with the settings of env_set over it (one allocation, borrowed
 * strings); NULL when out of memory */
static const char **env_build(const char *const *env_set) {
    size_t n = 0, extra = 0, k = 0;
    while (environ[n]) {
        n++;
    }
    while (env_set && env_set[extra]) {
        extra++;
    }
    const char **envp = calloc(n + extra + 1, sizeof(*envp));
    if (!envp) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int replaced = 0;
        for (size_t j = 0; j < extra && !replaced; j++) {
            const char *eq = strchr(env_set[j], '=');
            size_t len = eq ? (size_t)(eq - env_set[j]) + 1 : strlen(env_set[j]);
            replaced = strncmp(environ[i], env_set[j], len) == 0;
        }
        if (!replaced) {
            envp[k++] = environ[i];
        }
    }
    for (size_t j = 0; j < extra; j++) {
        envp[k++] = env_set[j];
    }
    envp[k] = NULL;
    return envp;
}

/* in the child: never returns */
static void child_exec(const AgSpawn *s, const char **envp) {
    static const int defaulted[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2};
    sigset_t none;
    if (s->new_session) {
        setsid();
    }
    for (size_t i = 0; i < sizeof defaulted / sizeof defaulted[0]; i++) {
        signal(defaulted[i], SIG_DFL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int nullfd = open("/dev/null", O_RDWR);
    int fds[3] = {s->stdin_fd, s->stdout_fd, s->stderr_fd};
    for (int i = 0; i < 3; i++) {
        int from = fds[i] >= 0 ? fds[i] : nullfd;
        if (from < 0 || dup2(from, i) < 0) {
            _exit(AG_SPAWN_EXEC_FAILED);
        }
    }
    close_fds_from(3);
    if (s->cwd && chdir(s->cwd) != 0) {
        dprintf(2, "cannot enter %s: %s\n", s->cwd, strerror(errno));
        _exit(AG_SPAWN_EXEC_FAILED);
    }
    execvpe(s->argv[0], (char *const *)s->argv, (char *const *)envp);
    dprintf(2, "cannot execute %s: %s\n", s->argv[0], strerror(errno));
    _exit(AG_SPAWN_EXEC_FAILED);
}

int ag_spawn(const AgSpawn *s, pid_t *pid, char *err, size_t err_sz) {
    sigset_t all, old_mask;
    *pid = -1;
    if (!s || !s->argv || !s->argv[0] || !s->argv[0][0]) {
        return ag_errorf(err, err_sz, AG_EINVAL, "no program to start");
    }
    const char **envp = env_build(s->env_set);
    if (!envp) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    pid_t child = fork();
    if (child == 0) {
        child_exec(s, envp);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    free(envp);
    if (child < 0) {
        return ag_errorf(err, err_sz, AG_ECHILD, "fork: %s", strerror(fork_errno));
    }
    *pid = child;
    return 0;
}

int ag_spawn_signal_session(pid_t sid, int sig, pid_t except) {
    DIR *proc = opendir("/proc");
    struct dirent *e;
    int n = 0;
    if (!proc || sid <= 1) {
        if (proc) {
            closedir(proc);
        }
        return 0;
    }
    while ((e = readdir(proc)) != NULL) {
        char path[64], text[512];
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || (pid_t)pid == except) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) {
            continue; /* gone meanwhile */
        }
        size_t len = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[len] = '\0';
        /* after the command name (which may hold spaces and parentheses): state ppid pgrp session
         */
        const char *close = strrchr(text, ')');
        char state;
        int ppid, pgrp, session;
        /* a zombie is past signals: counting it would report a process that is not there */
        if (close && sscanf(close + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) == 4 &&
            state != 'Z' && (pid_t)session == sid && kill((pid_t)pid, sig) == 0) {
            n++;
        }
    }
    closedir(proc);
    return n;
}

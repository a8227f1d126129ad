#include "run_watch.h"

#include "ag_error.h"
#include "ag_time.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define RUN_WATCH_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)

typedef struct WatchedDir {
    int wd;
    char *path;
} WatchedDir;

struct RunWatch {
    int fd;
    char file_name[NAME_MAX + 1];
    WatchedDir *dirs;
    int n, cap;
};

RunWatch *run_watch_create(const char *file_name, char *err, size_t err_sz) {
    RunWatch *w;
    if (!file_name || !file_name[0] || strlen(file_name) > NAME_MAX || strchr(file_name, '/')) {
        ag_errorf(err, err_sz, AG_EINVAL, "run watch: a file name is needed, not a path");
        return NULL;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        ag_errorf(err, err_sz, AG_ENOMEM, "run watch: out of memory");
        return NULL;
    }
    if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        ag_errorf(err, err_sz, AG_EIO, "run watch: inotify: %s", strerror(errno));
        free(w);
        return NULL;
    }
    snprintf(w->file_name, sizeof(w->file_name), "%s", file_name);
    return w;
}

void run_watch_destroy(RunWatch *w) {
    if (!w) {
        return;
    }
    for (int i = 0; i < w->n; i++) {
        free(w->dirs[i].path);
    }
    free(w->dirs);
    close(w->fd);
    free(w);
}

int run_watch_count(const RunWatch *w) {
    return w ? w->n : 0;
}

static void forget(RunWatch *w, int i) {
    free(w->dirs[i].path);
    w->dirs[i] = w->dirs[--w->n];
}

static int listed(const char *path, const char *const *dirs, int n) {
    for (int i = 0; i < n; i++) {
        if (dirs[i] && !strcmp(dirs[i], path)) {
            return 1;
        }
    }
    return 0;
}

static int find_path(const RunWatch *w, const char *path) {
    for (int i = 0; i < w->n; i++) {
        if (!strcmp(w->dirs[i].path, path)) {
            return i;
        }
    }
    return -1;
}

static int find_wd(const RunWatch *w, int wd) {
    for (int i = 0; i < w->n; i++) {
        if (w->dirs[i].wd == wd) {
            return i;
        }
    }
    return -1;
}

static void add(RunWatch *w, const char *path) {
    int wd = inotify_add_watch(w->fd, path, RUN_WATCH_MASK);
    if (wd < 0 || find_wd(w, wd) >= 0) {
        return; /* gone, or out of watches: the tick reads it; or another name of one watched */
    }
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        WatchedDir *grown = realloc(w->dirs, (size_t)cap * sizeof(*grown));
        if (!grown) {
            inotify_rm_watch(w->fd, wd);
            return;
        }
        w->dirs = grown;
        w->cap = cap;
    }
    if (!(w->dirs[w->n].path = strdup(path))) {
        inotify_rm_watch(w->fd, wd);
        return;
    }
    w->dirs[w->n++].wd = wd;
}

int run_watch_sync(RunWatch *w, const char *const *dirs, int n) {
    if (!w) {
        return 0;
    }
    for (int i = w->n - 1; i >= 0; i--) {
        if (!listed(w->dirs[i].path, dirs, n)) {
            inotify_rm_watch(w->fd, w->dirs[i].wd); /* EINVAL if the kernel dropped it: fine */
            forget(w, i);
        }
    }
    for (int i = 0; i < n; i++) {
        if (dirs[i] && dirs[i][0] && find_path(w, dirs[i]) < 0) {
            add(w, dirs[i]);
        }
    }
    return w->n;
}

/* reads every queued event; 1 if one of them is a write to the watched file name */
static int drain(RunWatch *w) {
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    int hit = 0;
    for (;;) {
        ssize_t len = read(w->fd, buf, sizeof(buf));
        if (len <= 0) {
            return hit; /* EAGAIN: nothing more */
        }
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW) {
                hit = 1; /* events were lost: some may have been ours */
            } else if (ev->mask & IN_IGNORED) {
                int i = find_wd(w, ev->wd); /* the directory went away */
                if (i >= 0) {
                    forget(w, i);
                }
            } else if (ev->len > 0 && !strcmp(ev->name, w->file_name)) {
                hit = 1;
            }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
}

int run_watch_wait(RunWatch *w, double timeout_s) {
    if (timeout_s < 0) {
        timeout_s = 0;
    }
    if (!w) {
        ag_time_sleep(timeout_s);
        return 0;
    }
    double until = ag_time_now() + timeout_s;
    for (;;) {
        double left = until - ag_time_now();
        struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
        int ms = left > 0 ? (int)(left * 1000.0 + 0.999) : 0;
        int rc = poll(&pfd, 1, ms);
        if (rc < 0) {
            return 0; /* a signal: the loop looks at its stop flag */
        }
        if (rc == 0) {
            return 0;
        }
        if (drain(w)) {
            return 1;
        }
        if (ag_time_now() >= until) {
            return 0; /* only other files changed */
        }
    }
}

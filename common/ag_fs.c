/* File helpers and data-directory lookup. */
#include "ag_fs.h"

#include "ag_error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ANGORA_FULL_DATADIR
#define ANGORA_FULL_DATADIR "/usr/local/share/angora"
#endif
#ifndef ANGORA_BUILD_DATADIR
#define ANGORA_BUILD_DATADIR "."
#endif

int ag_fs_read_file(const char *path, size_t max_bytes, char **data, size_t *len, char *err,
                    size_t err_sz) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ag_errorf(err, err_sz, errno == ENOENT ? AG_ENOTFOUND : AG_EIO, "%s: %s", path,
                         strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ag_errorf(err, err_sz, AG_EIO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > max_bytes) {
        close(fd);
        return ag_errorf(err, err_sz, AG_ETOOBIG, "%s: %lld bytes, more than the limit of %zu",
                         path, (long long)st.st_size, max_bytes);
    }
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            free(buf);
            close(fd);
            return ag_errorf(err, err_sz, AG_EIO, "%s: %s", path, strerror(saved));
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return AG_OK;
}

static int fsync_dir_of(const char *path) {
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int ag_fs_write_atomic(const char *path, const void *data, size_t len, char *err, size_t err_sz) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "%s: path too long", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return ag_errorf(err, err_sz, AG_EIO, "%s: %s", tmp, strerror(errno));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            close(fd);
            unlink(tmp);
            return ag_errorf(err, err_sz, AG_EIO, "%s: %s", tmp, strerror(saved));
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int saved = errno;
        unlink(tmp);
        return ag_errorf(err, err_sz, AG_EIO, "%s: %s", tmp, strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return ag_errorf(err, err_sz, AG_EIO, "%s: %s", path, strerror(saved));
    }
    fsync_dir_of(path);
    return AG_OK;
}

int ag_fs_mkdir_p(const char *path, int mode, char *err, size_t err_sz) {
    if (mode == 0) {
        mode = 0755;
    }
    if (!path || !path[0]) {
        return ag_errorf(err, err_sz, AG_EINVAL, "empty directory path");
    }
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "%s: path too long", path);
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
            return ag_errorf(err, err_sz, AG_EIO, "%s: %s", buf, strerror(errno));
        }
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
        return ag_errorf(err, err_sz, AG_EIO, "%s: %s", buf, strerror(errno));
    }
    if (!ag_fs_is_dir(buf)) {
        return ag_errorf(err, err_sz, AG_EIO, "%s: exists and is not a directory", buf);
    }
    return AG_OK;
}

int ag_fs_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int ag_fs_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char data_dir[PATH_MAX];
static pthread_once_t data_dir_once = PTHREAD_ONCE_INIT;

static void data_dir_find(void) {
    const char *env = getenv("ANGORA_DATA_DIR");
    if (env && env[0]) {
        snprintf(data_dir, sizeof data_dir, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char candidate[PATH_MAX + 32];
        snprintf(candidate, sizeof candidate, "%s/../share/angora", dirname(exe));
        char resolved[PATH_MAX];
        if (realpath(candidate, resolved) && ag_fs_is_dir(resolved)) {
            snprintf(data_dir, sizeof data_dir, "%s", resolved);
            return;
        }
    }
    if (ag_fs_is_dir(ANGORA_FULL_DATADIR)) {
        snprintf(data_dir, sizeof data_dir, "%s", ANGORA_FULL_DATADIR);
        return;
    }
    snprintf(data_dir, sizeof data_dir, "%s", ANGORA_BUILD_DATADIR);
}

const char *ag_fs_data_dir(void) {
    pthread_once(&data_dir_once, data_dir_find);
    return data_dir;
}

int ag_fs_data_path(const char *relative, char *out, size_t out_sz) {
    int n = snprintf(out, out_sz, "%s/%s", ag_fs_data_dir(), relative);
    return n < 0 || (size_t)n >= out_sz ? AG_ETOOBIG : AG_OK;
}

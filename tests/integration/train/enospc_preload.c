/* A full disk for one kind of file, for tests (LD_PRELOAD): writes to files whose name ends in
 * $ENOSPC_SUFFIX fail with ENOSPC ("No space left on device") once the file would grow past
 * $ENOSPC_LIMIT bytes. Every other write goes through. Used by train_activations.sh, where a
 * file size limit cannot be used (MPI's start-up writes files of its own). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*PwriteFn)(int, const void *, size_t, off_t);
typedef ssize_t (*WriteFn)(int, const void *, size_t);

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off);
ssize_t write(int fd, const void *buf, size_t n);

/* 1 when the write of n bytes at off to fd must fail */
static int enospc_due(int fd, off_t off, size_t n) {
    const char *suffix = getenv("ENOSPC_SUFFIX");
    const char *limit = getenv("ENOSPC_LIMIT");
    char link[64], name[4096];
    if (!suffix || !limit) {
        return 0;
    }
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, name, sizeof name - 1);
    if (len <= 0) {
        return 0;
    }
    name[len] = '\0';
    size_t sl = strlen(suffix);
    if ((size_t)len < sl || strcmp(name + len - sl, suffix) != 0) {
        return 0;
    }
    if (off < 0) {
        off = lseek(fd, 0, SEEK_CUR);
    }
    return (long long)off + (long long)n > atoll(limit);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    static PwriteFn real;
    if (!real) {
        real = (PwriteFn)dlsym(RTLD_NEXT, "pwrite");
    }
    if (enospc_due(fd, off, n)) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
    static PwriteFn real;
    if (!real) {
        real = (PwriteFn)dlsym(RTLD_NEXT, "pwrite64");
    }
    if (enospc_due(fd, off, n)) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n) {
    static WriteFn real;
    if (!real) {
        real = (WriteFn)dlsym(RTLD_NEXT, "write");
    }
    if (enospc_due(fd, -1, n)) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buf, n);
}

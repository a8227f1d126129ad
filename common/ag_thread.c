/* Per-thread nice values (Linux). */
#include "ag_thread.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static id_t this_thread(void) {
    return (id_t)syscall(SYS_gettid);
}

int ag_thread_nice(void) {
    return getpriority(PRIO_PROCESS, this_thread());
}

int ag_thread_nice_add(int delta) {
    id_t tid = this_thread();
    int now;
    if (delta <= 0) {
        return 0;
    }
    errno = 0;
    now = getpriority(PRIO_PROCESS, tid);
    if (now == -1 && errno) {
        return errno;
    }
    /* the kernel clamps to 19 itself; asking for more is not an error */
    return setpriority(PRIO_PROCESS, tid, now + delta) == 0 ? 0 : errno;
}

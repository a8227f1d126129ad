/* Time helpers over clock_gettime. */
#include "ag_time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

double ag_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t ag_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double ag_time_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *ag_time_iso8601(double unix_s, char *buf, int buf_sz) {
    if (buf_sz <= 0) {
        return buf;
    }
    if (!isfinite(unix_s) || fabs(unix_s) > 1e15) {
        buf[0] = '\0';
        return buf;
    }
    time_t t = (time_t)floor(unix_s);
    struct tm tm;
    /* strftime leaves the buffer undefined when the text does not fit: return "" instead */
    if (!gmtime_r(&t, &tm) || strftime(buf, (size_t)buf_sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        buf[0] = '\0';
    }
    return buf;
}

void ag_time_sleep(double seconds) {
    if (!(seconds > 0)) { /* also NaN */
        return;
    }
    if (seconds > 1e9) {
        seconds = 1e9; /* keeps the conversion to time_t defined */
    }
    double whole = floor(seconds);
    long nsec = (long)((seconds - whole) * 1e9);
    if (nsec > 999999999L) {
        nsec = 999999999L; /* nanosleep refuses 1e9 with EINVAL */
    }
    struct timespec ts = {(time_t)whole, nsec};
    /* resume only after a signal: retrying any other failure would spin for ever */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

double ag_time_cpu(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0.0;
    }
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Logging: one formatted line per call, written under a mutex so lines never interleave. */
#include "ag_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

/* read on every call from any thread, set rarely: atomic rather than under the mutex */
static atomic_int log_level = AG_LOG_INFO;
static FILE *log_stream;
static char log_tag[32];
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};

void ag_log_set_level(AgLogLevel level) {
    atomic_store(&log_level, (int)level);
}

AgLogLevel ag_log_get_level(void) {
    return (AgLogLevel)atomic_load(&log_level);
}

void ag_log_set_stream(FILE *stream) {
    pthread_mutex_lock(&log_mutex);
    log_stream = stream;
    pthread_mutex_unlock(&log_mutex);
}

void ag_log_set_tag(const char *tag) {
    pthread_mutex_lock(&log_mutex);
    snprintf(log_tag, sizeof log_tag, "%s", tag ? tag : "");
    pthread_mutex_unlock(&log_mutex);
}

int ag_log_level_parse(const char *name) {
    if (!name) {
        return -1;
    }
    for (int i = 0; i <= AG_LOG_OFF; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        return AG_LOG_WARN;
    }
    return -1;
}

void ag_log(AgLogLevel level, const char *fmt, ...) {
    if ((int)level < atomic_load(&log_level) || level >= AG_LOG_OFF) {
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    /* a copy, so that a concurrent ag_log_set_tag never tears it */
    char tag[sizeof log_tag];
    pthread_mutex_lock(&log_mutex);
    memcpy(tag, log_tag, sizeof tag);
    pthread_mutex_unlock(&log_mutex);

    char line[2048];
    int n;
    if (tag[0]) {
        n = snprintf(line, sizeof line, "%s.%03dZ %-5s [%s] ", stamp, (int)(tv.tv_usec / 1000),
                     level_names[level], tag);
    } else {
        n = snprintf(line, sizeof line, "%s.%03dZ %-5s ", stamp, (int)(tv.tv_usec / 1000),
                     level_names[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_mutex);
    FILE *out = log_stream ? log_stream : stderr;
    fputs(line, out);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&log_mutex);
}

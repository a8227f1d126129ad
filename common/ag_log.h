/* Logging with levels and UTC timestamps to a stream (stderr by default). Thread-safe. */
#ifndef AG_LOG_H
#define AG_LOG_H

#include <stdio.h>

typedef enum AgLogLevel {
    AG_LOG_DEBUG = 0,
    AG_LOG_INFO = 1,
    AG_LOG_WARN = 2,
    AG_LOG_ERROR = 3,
    AG_LOG_OFF = 4
} AgLogLevel;

void ag_log_set_level(AgLogLevel level);
AgLogLevel ag_log_get_level(void);
/* NULL restores stderr; the stream is not closed by the logger */
void ag_log_set_stream(FILE *stream);
/* prefix shown after the level, e.g. "rank 1"; NULL or "" for none */
void ag_log_set_tag(const char *tag);
/* parses "debug", "info", "warn", "error", "off"; returns -1 when unknown */
int ag_log_level_parse(const char *name);

void ag_log(AgLogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ag_log_debug(...) ag_log(AG_LOG_DEBUG, __VA_ARGS__)
#define ag_log_info(...)  ag_log(AG_LOG_INFO, __VA_ARGS__)
#define ag_log_warn(...)  ag_log(AG_LOG_WARN, __VA_ARGS__)
#define ag_log_error(...) ag_log(AG_LOG_ERROR, __VA_ARGS__)

#endif

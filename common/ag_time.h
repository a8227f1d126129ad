/* Monotonic and wall-clock time. */
#ifndef AG_TIME_H
#define AG_TIME_H

#include <stdint.h>

/* monotonic seconds since an arbitrary origin */
double ag_time_now(void);
/* monotonic nanoseconds since an arbitrary origin */
uint64_t ag_time_ns(void);
/* seconds since the Unix epoch */
double ag_time_wall(void);
/* formats a Unix time as ISO 8601 UTC ("2026-01-02T03:04:05Z"); returns buf */
char *ag_time_iso8601(double unix_s, char *buf, int buf_sz);
void ag_time_sleep(double seconds);
/* CPU seconds (user + system) this process has used, all its threads included */
double ag_time_cpu(void);

#endif

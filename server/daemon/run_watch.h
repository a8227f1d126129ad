/* Wake-ups when a live run writes a metric line, so that ingestion reads it at once instead of
 * at the next ingestion tick.
 *
 * DESIGN
 * One inotify descriptor watches the directory of every live run for writes to the file the
 * caller names (metrics.jsonl). The main loop waits on it in place of sleeping; a wake-up only
 * makes the ingestion job due now, so the tick stays the fallback wherever events do not come
 * (inotify unavailable or out of watches, a network file system that a Slurm node writes). */
#ifndef RUN_WATCH_H
#define RUN_WATCH_H

#include <stddef.h>

typedef struct RunWatch RunWatch;

/* a watcher of writes to files called `file_name` inside the watched directories; NULL (with the
 * reason in err) when inotify is not available, and then run_watch_wait only sleeps */
RunWatch *run_watch_create(const char *file_name, char *err, size_t err_sz);
void run_watch_destroy(RunWatch *w);

/* the watched set becomes exactly `dirs` (NULL or empty entries are skipped); directories that
 * cannot be watched (gone, limit reached) are left to the tick. Returns how many are watched. */
int run_watch_sync(RunWatch *w, const char *const *dirs, int n);

/* sleeps up to timeout_s or until a watched file was written to; 1 = written (the events are
 * consumed), 0 = timed out or interrupted by a signal. With w NULL it sleeps the whole time. */
int run_watch_wait(RunWatch *w, double timeout_s);

/* how many directories are watched now */
int run_watch_count(const RunWatch *w);

#endif

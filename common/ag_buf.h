/* Bounded growable byte buffer: created with a maximum size; appends past it fail cleanly with
 * AG_ETOOBIG and leave the buffer unchanged. Always NUL-terminated for text use. */
#ifndef AG_BUF_H
#define AG_BUF_H

#include <stddef.h>

typedef struct AgBuf {
    char *data; /* len bytes of content followed by a NUL */
    size_t len; /* bytes of content */
    size_t cap; /* allocated bytes, excluding the NUL */
    size_t max; /* appends beyond this many bytes fail */
} AgBuf;

/* initial_cap may be 0; returns AG_ENOMEM or AG_EINVAL (initial_cap > max) */
int ag_buf_init(AgBuf *buf, size_t initial_cap, size_t max);
void ag_buf_free(AgBuf *buf);
/* keeps the allocation */
void ag_buf_reset(AgBuf *buf);
int ag_buf_append(AgBuf *buf, const void *data, size_t n);
/* room for extra more bytes (and the NUL) after data + len, for a writer that fills them itself
 * and then advances len; AG_ETOOBIG past the maximum */
int ag_buf_reserve(AgBuf *buf, size_t extra);
int ag_buf_append_str(AgBuf *buf, const char *s);
int ag_buf_printf(AgBuf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* removes the first n bytes (consumed input) */
void ag_buf_consume(AgBuf *buf, size_t n);
/* hands the content to the caller (free() it) and leaves the buffer empty */
char *ag_buf_steal(AgBuf *buf);

#endif

/* Bounded growable buffer. */
#include "ag_buf.h"

#include "ag_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ag_buf_init(AgBuf *buf, size_t initial_cap, size_t max) {
    memset(buf, 0, sizeof *buf);
    if (initial_cap > max) {
        return AG_EINVAL;
    }
    buf->data = malloc(initial_cap + 1);
    if (!buf->data) {
        return AG_ENOMEM;
    }
    buf->data[0] = '\0';
    buf->cap = initial_cap;
    buf->max = max;
    return AG_OK;
}

void ag_buf_free(AgBuf *buf) {
    free(buf->data);
    memset(buf, 0, sizeof *buf);
}

void ag_buf_reset(AgBuf *buf) {
    buf->len = 0;
    if (buf->data) {
        buf->data[0] = '\0';
    }
}

static int buf_reserve(AgBuf *buf, size_t extra) {
    if (extra > buf->max - buf->len) {
        return AG_ETOOBIG;
    }
    size_t need = buf->len + extra;
    if (need <= buf->cap && buf->data) {
        return AG_OK;
    }
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need) {
        cap = cap > buf->max / 2 ? buf->max : cap * 2;
    }
    char *data = realloc(buf->data, cap + 1);
    if (!data) {
        return AG_ENOMEM;
    }
    buf->data = data;
    buf->cap = cap;
    return AG_OK;
}

int ag_buf_reserve(AgBuf *buf, size_t extra) {
    return buf_reserve(buf, extra);
}

int ag_buf_append(AgBuf *buf, const void *data, size_t n) {
    int rc = buf_reserve(buf, n);
    if (rc) {
        return rc;
    }
    if (n) {
        memcpy(buf->data + buf->len, data, n);
    }
    buf->len += n;
    buf->data[buf->len] = '\0';
    return AG_OK;
}

int ag_buf_append_str(AgBuf *buf, const char *s) {
    return ag_buf_append(buf, s, strlen(s));
}

int ag_buf_printf(AgBuf *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return AG_EINVAL;
    }
    int rc = buf_reserve(buf, (size_t)n);
    if (rc) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return AG_OK;
}

void ag_buf_consume(AgBuf *buf, size_t n) {
    if (n >= buf->len) {
        ag_buf_reset(buf);
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
    buf->data[buf->len] = '\0';
}

char *ag_buf_steal(AgBuf *buf) {
    char *data = buf->data;
    if (!data) {
        data = calloc(1, 1);
    }
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return data;
}

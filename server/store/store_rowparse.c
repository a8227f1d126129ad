/* Metric rows parsed without jansson's general lexer where they are what trainers write: one
 * flat object of plain keys and numbers (see store_row_parse in store_int.h). */
#include "store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the longest number the fast path reads; longer ones go to jansson */
#define NUMBER_MAX 40

static const char *skip_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* a JSON number at p as jansson reads it (an integer without '.', 'e' or 'E', else a real);
 * NULL when it is not one the fast path is sure of: bad grammar, an integer of more than 18
 * digits (jansson rejects those past int64), a real that overflows (jansson rejects those) */
static json_t *number_at(const char **pp, const char *end) {
    const char *p = *pp, *start = p;
    char tok[NUMBER_MAX + 1];
    int real = 0, ndigits = 0;
    size_t len;
    if (p < end && *p == '-') {
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        ndigits = 1;
    } else if (p < end && is_digit(*p)) {
        while (p < end && is_digit(*p)) {
            p++;
            ndigits++;
        }
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p == end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    len = (size_t)(p - start);
    if (len > NUMBER_MAX) {
        return NULL;
    }
    *pp = p;
    if (!real) {
        int64_t v = 0;
        const char *q = start + (*start == '-');
        if (ndigits > 18) {
            return NULL;
        }
        for (; q < p; q++) {
            v = v * 10 + (*q - '0');
        }
        return json_integer(*start == '-' ? -v : v);
    }
    memcpy(tok, start, len);
    tok[len] = '\0';
    {
        double d = strtod(tok, NULL);
        return isinf(d) ? NULL : json_real(d);
    }
}

/* the object, or NULL when the text is anything but a flat object of plain keys and numbers */
static json_t *flat_object(const char *text, size_t len) {
    const char *p = text, *end = text + len;
    json_t *obj;
    p = skip_space(p, end);
    if (p == end || *p != '{') {
        return NULL;
    }
    obj = json_object();
    if (!obj) {
        return NULL;
    }
    p++;
    for (;;) {
        const char *key;
        size_t klen, before;
        json_t *v;
        p = skip_space(p, end);
        if (p == end || *p != '"') {
            break;
        }
        key = ++p;
        /* printable ASCII without escapes: the bytes are the key */
        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x7f) {
            p++;
        }
        if (p == end || *p != '"') {
            break;
        }
        klen = (size_t)(p - key);
        p = skip_space(p + 1, end);
        if (p == end || *p != ':') {
            break;
        }
        p = skip_space(p + 1, end);
        v = number_at(&p, end);
        if (!v) {
            break;
        }
        before = json_object_size(obj);
        /* a repeated key: jansson's own rules decide where it stays */
        if (json_object_setn_new_nocheck(obj, key, klen, v) || json_object_size(obj) == before) {
            break;
        }
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}' && skip_space(p + 1, end) == end) {
            return obj;
        }
        break;
    }
    json_decref(obj);
    return NULL;
}

json_t *store_row_parse(const char *text, size_t len) {
    json_t *row = flat_object(text, len);
    json_error_t je;
    return row ? row : json_loadb(text, len, 0, &je);
}

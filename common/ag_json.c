/* JSON helpers that report the path of a bad value. */
#include "ag_json.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ag_json_fail(AgJsonErr *e, const char *path, const char *fmt, ...) {
    if (e) {
        snprintf(e->path, sizeof e->path, "%s", path ? path : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->reason, sizeof e->reason, fmt, ap);
        va_end(ap);
    }
    return AG_ESPEC;
}

void ag_json_err_format(const AgJsonErr *e, char *out, size_t out_sz) {
    if (e->path[0]) {
        snprintf(out, out_sz, "%s: %s", e->path, e->reason);
    } else {
        snprintf(out, out_sz, "%s", e->reason);
    }
}

void ag_json_path_key(char *dst, size_t dst_sz, const char *base, const char *key) {
    if (!base || !base[0]) {
        snprintf(dst, dst_sz, "%s", key);
    } else {
        snprintf(dst, dst_sz, "%s.%s", base, key);
    }
}

void ag_json_path_index(char *dst, size_t dst_sz, const char *base, size_t index) {
    snprintf(dst, dst_sz, "%s[%zu]", base ? base : "", index);
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* the member, or NULL when absent or null */
static const json_t *member(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

int ag_json_get_int(const json_t *obj, const char *base, const char *key, long long def,
                    long long min, long long max, long long *out, AgJsonErr *e) {
    const json_t *v = member(obj, key);
    char path[AG_JSON_PATH_MAX];
    ag_json_path_key(path, sizeof path, base, key);
    long long value;
    if (!v) {
        value = def;
    } else if (json_is_integer(v)) {
        value = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 9.0e15) {
            return ag_json_fail(e, path, "must be an integer, got %g", d);
        }
        value = (long long)d;
    } else {
        return ag_json_fail(e, path, "must be an integer, got %s", json_type_name(v));
    }
    if (value < min || value > max) {
        return ag_json_fail(e, path, "must be between %lld and %lld, got %lld", min, max, value);
    }
    *out = value;
    return AG_OK;
}

int ag_json_get_double(const json_t *obj, const char *base, const char *key, double def, double min,
                       double max, double *out, AgJsonErr *e) {
    const json_t *v = member(obj, key);
    char path[AG_JSON_PATH_MAX];
    ag_json_path_key(path, sizeof path, base, key);
    double value;
    if (!v) {
        value = def;
    } else if (json_is_number(v)) {
        value = json_number_value(v);
    } else {
        return ag_json_fail(e, path, "must be a number, got %s", json_type_name(v));
    }
    if (!isfinite(value) || value < min || value > max) {
        return ag_json_fail(e, path, "must be between %g and %g, got %g", min, max, value);
    }
    *out = value;
    return AG_OK;
}

int ag_json_get_bool(const json_t *obj, const char *base, const char *key, int def, int *out,
                     AgJsonErr *e) {
    const json_t *v = member(obj, key);
    if (!v) {
        *out = def;
        return AG_OK;
    }
    if (!json_is_boolean(v)) {
        char path[AG_JSON_PATH_MAX];
        ag_json_path_key(path, sizeof path, base, key);
        return ag_json_fail(e, path, "must be true or false, got %s", json_type_name(v));
    }
    *out = json_is_true(v);
    return AG_OK;
}

int ag_json_get_string(const json_t *obj, const char *base, const char *key, const char *def,
                       char *out, size_t out_sz, AgJsonErr *e) {
    const json_t *v = member(obj, key);
    char path[AG_JSON_PATH_MAX];
    ag_json_path_key(path, sizeof path, base, key);
    const char *s;
    if (!v) {
        s = def ? def : "";
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v)) {
            return ag_json_fail(e, path, "must not contain NUL characters");
        }
    } else {
        return ag_json_fail(e, path, "must be a string, got %s", json_type_name(v));
    }
    if (strlen(s) + 1 > out_sz) {
        return ag_json_fail(e, path, "is too long (at most %zu characters)", out_sz - 1);
    }
    memcpy(out, s, strlen(s) + 1);
    return AG_OK;
}

int ag_json_get_enum(const json_t *obj, const char *base, const char *key, const char *const *names,
                     int def, int *out, AgJsonErr *e) {
    const json_t *v = member(obj, key);
    if (!v) {
        *out = def;
        return AG_OK;
    }
    char path[AG_JSON_PATH_MAX];
    ag_json_path_key(path, sizeof path, base, key);
    char allowed[AG_JSON_REASON_MAX / 2] = "";
    size_t used = 0;
    for (int i = 0; names[i]; i++) {
        int n = snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= sizeof allowed - used) {
            break;
        }
        used += (size_t)n;
    }
    if (!json_is_string(v)) {
        return ag_json_fail(e, path, "must be one of %s, got %s", allowed, json_type_name(v));
    }
    const char *s = json_string_value(v);
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return AG_OK;
        }
    }
    return ag_json_fail(e, path, "must be one of %s, got \"%.64s\"", allowed, s);
}

int ag_json_check_keys(const json_t *obj, const char *base, const char *const *allowed,
                       AgJsonErr *e) {
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        (void)value;
        int known = 0;
        for (int i = 0; allowed[i]; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                known = 1;
                break;
            }
        }
        if (!known) {
            char path[AG_JSON_PATH_MAX];
            ag_json_path_key(path, sizeof path, base, key);
            return ag_json_fail(e, path, "unknown key");
        }
    }
    return AG_OK;
}

int ag_json_expect_object(const json_t *v, const char *path, AgJsonErr *e) {
    if (!json_is_object(v)) {
        return ag_json_fail(e, path, "must be an object, got %s",
                            v ? json_type_name(v) : "nothing");
    }
    return AG_OK;
}

/* the path of the first number in v beyond 64-bit integers (a document read with
 * JSON_DECODE_INT_AS_REAL, where -2^63 - 1 rounds to -2^63); 1 when found */
static int json_find_huge(const json_t *v, const char *base, char *out, size_t out_sz) {
    char path[AG_JSON_PATH_MAX];
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= 9223372036854775808.0 || d <= -9223372036854775808.0) {
            snprintf(out, out_sz, "%s", base);
            return 1;
        }
    }
    json_object_foreach((json_t *)v, key, child) {
        ag_json_path_key(path, sizeof path, base, key);
        if (json_find_huge(child, path, out, out_sz)) {
            return 1;
        }
    }
    json_array_foreach(v, i, child) {
        ag_json_path_index(path, sizeof path, base, i);
        if (json_find_huge(child, path, out, out_sz)) {
            return 1;
        }
    }
    return 0;
}

/* the path of the first string value holding a NUL character, as 1 and out; 0 if none */
static int json_find_nul(const json_t *v, const char *base, char *out, size_t out_sz) {
    char path[AG_JSON_PATH_MAX];
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(out, out_sz, "%s", base);
            return 1;
        }
        return 0;
    }
    json_object_foreach((json_t *)v, key, child) {
        ag_json_path_key(path, sizeof path, base, key);
        if (json_find_nul(child, path, out, out_sz)) {
            return 1;
        }
    }
    json_array_foreach(v, i, child) {
        ag_json_path_index(path, sizeof path, base, i);
        if (json_find_nul(child, path, out, out_sz)) {
            return 1;
        }
    }
    return 0;
}

json_t *ag_json_parse(const char *text, size_t len, AgJsonErr *e) {
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        /* an integer beyond 64 bits is well-formed JSON: name where it is, like any value out
         * of range */
        char path[AG_JSON_PATH_MAX] = "";
        json_t *reals =
            strstr(jerr.text, "too big")
                ? json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL)
                : NULL;
        /* so is an escaped NUL (\u0000) in a string value: say which value holds it */
        json_t *nuls = strstr(jerr.text, "\\u0000")
                           ? json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL)
                           : NULL;
        if (reals && json_find_huge(reals, "", path, sizeof path) && path[0]) {
            ag_json_fail(e, path, "must be an integer within 64 bits (-2^63 to 2^63 - 1)");
        } else if (nuls && json_find_nul(nuls, "", path, sizeof path) && path[0]) {
            ag_json_fail(e, path, "must not contain a NUL character (\\u0000)");
        } else {
            ag_json_fail(e, "", "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                         jerr.text);
        }
        json_decref(reals);
        json_decref(nuls);
    }
    return doc;
}

json_t *ag_json_load_file(const char *path, size_t max_bytes, char *err, size_t err_sz) {
    char *text = NULL;
    size_t len = 0;
    int rc = ag_fs_read_file(path, max_bytes, &text, &len, err, err_sz);
    if (rc) {
        return NULL;
    }
    AgJsonErr jerr;
    json_t *doc = ag_json_parse(text, len, &jerr);
    free(text);
    if (!doc) {
        ag_errorf(err, err_sz, AG_EJSON, "%s: %s", path, jerr.reason);
    }
    return doc;
}

int ag_json_strings_join(const json_t *arr, const char *sep, char *out, size_t out_sz) {
    size_t i, pos = 0;
    json_t *v;
    if (!out_sz) {
        return AG_ETOOBIG;
    }
    out[0] = '\0';
    json_array_foreach(arr, i, v) {
        int n = snprintf(out + pos, out_sz - pos, "%s%s", i ? sep : "",
                         json_string_value(v) ? json_string_value(v) : "");
        if (n < 0 || (size_t)n >= out_sz - pos) {
            return AG_ETOOBIG;
        }
        pos += (size_t)n;
    }
    return 0;
}

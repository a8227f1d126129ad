/* JSON helpers over jansson that validate as they read and name the JSON path of a bad value
 * ("ppo.lr", "model.layers[2].units"), so every message tells the user where to look. */
#ifndef AG_JSON_H
#define AG_JSON_H

#include <jansson.h>
#include <stddef.h>

#define AG_JSON_PATH_MAX   192
#define AG_JSON_REASON_MAX 256

typedef struct AgJsonErr {
    char path[AG_JSON_PATH_MAX];     /* "" for the document itself */
    char reason[AG_JSON_REASON_MAX]; /* what is wrong and what is allowed */
} AgJsonErr;

/* fills e (if non-NULL) and returns AG_ESPEC */
int ag_json_fail(AgJsonErr *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "path: reason" (or the reason alone for the root) */
void ag_json_err_format(const AgJsonErr *e, char *out, size_t out_sz);

/* path of a member: base "" gives "key", else "base.key" */
void ag_json_path_key(char *dst, size_t dst_sz, const char *base, const char *key);
/* path of an element: "base[index]" */
void ag_json_path_index(char *dst, size_t dst_sz, const char *base, size_t index);

/* Typed readers of obj[key]. An absent (or null) member yields the default; a present one of the
 * wrong type or outside [min, max] fails with its path. Integers given as reals with a
 * fractional part are refused. obj must be an object. */
int ag_json_get_int(const json_t *obj, const char *base, const char *key, long long def,
                    long long min, long long max, long long *out, AgJsonErr *e);
int ag_json_get_double(const json_t *obj, const char *base, const char *key, double def, double min,
                       double max, double *out, AgJsonErr *e);
int ag_json_get_bool(const json_t *obj, const char *base, const char *key, int def, int *out,
                     AgJsonErr *e);
/* copies into out; a string that does not fit out_sz - 1 bytes fails; def may be NULL for "" */
int ag_json_get_string(const json_t *obj, const char *base, const char *key, const char *def,
                       char *out, size_t out_sz, AgJsonErr *e);
/* a string that must be one of names (NULL-terminated list); out is its index */
int ag_json_get_enum(const json_t *obj, const char *base, const char *key, const char *const *names,
                     int def, int *out, AgJsonErr *e);
/* fails naming the first member of obj that is not in allowed (NULL-terminated) */
int ag_json_check_keys(const json_t *obj, const char *base, const char *const *allowed,
                       AgJsonErr *e);
/* fails unless v is an object (what names the expected thing in the message) */
int ag_json_expect_object(const json_t *v, const char *path, AgJsonErr *e);

/* the strings of arr joined by sep into out ("" for none or an empty array); AG_ETOOBIG when
 * they do not fit, out then holding as much as fits */
int ag_json_strings_join(const json_t *arr, const char *sep, char *out, size_t out_sz);

/* parses text; on failure e->path is "" and the reason has line and column, except for an
 * integer beyond 64 bits in a member or element: e->path is then its path */
json_t *ag_json_parse(const char *text, size_t len, AgJsonErr *e);
/* reads and parses a file of at most max_bytes */
json_t *ag_json_load_file(const char *path, size_t max_bytes, char *err, size_t err_sz);

#endif

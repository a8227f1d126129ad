/* Error code table: names and messages generated from AG_ERROR_MAP. */
#include "ag_error.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* every code with its name and message, one row per line */
typedef struct AgErrorInfo {
    int code;
    const char *name;
    const char *message;
} AgErrorInfo;

/* clang-format off */
static const AgErrorInfo ag_errors[] = {
    {AG_OK, "AG_OK", "success"},
#define AG_ERROR_INFO(name, value, msg) {value, "AG_E" #name, msg},
    AG_ERROR_MAP(AG_ERROR_INFO)
#undef AG_ERROR_INFO
};
/* clang-format on */

/* the row of code, NULL for a code not in the table */
static const AgErrorInfo *ag_error_info(int code) {
    for (size_t i = 0; i < sizeof ag_errors / sizeof ag_errors[0]; i++) {
        if (ag_errors[i].code == code) {
            return &ag_errors[i];
        }
    }
    return NULL;
}

const char *ag_error_name(int code) {
    const AgErrorInfo *e = ag_error_info(code);
    return e ? e->name : "AG_EUNKNOWN";
}

const char *ag_error_message(int code) {
    const AgErrorInfo *e = ag_error_info(code);
    return e ? e->message : "unknown error";
}

int ag_errorf(char *err, size_t err_sz, int code, const char *fmt, ...) {
    if (err && err_sz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_sz, fmt, ap);
        va_end(ap);
    }
    return code;
}

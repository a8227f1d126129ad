/* Error code table: names and messages generated from AG_ERROR_MAP. */
#include "ag_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *ag_error_name(int code) {
    switch (code) {
    case AG_OK:
        return "AG_OK";
#define AG_ERROR_NAME(name, value, msg)                                                            \
    case value:                                                                                    \
        return "AG_E" #name;
        AG_ERROR_MAP(AG_ERROR_NAME)
#undef AG_ERROR_NAME
    default:
        return "AG_EUNKNOWN";
    }
}

const char *ag_error_message(int code) {
    switch (code) {
    case AG_OK:
        return "success";
#define AG_ERROR_MSG(name, value, msg)                                                             \
    case value:                                                                                    \
        return msg;
        AG_ERROR_MAP(AG_ERROR_MSG)
#undef AG_ERROR_MSG
    default:
        return "unknown error";
    }
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

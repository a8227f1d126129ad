/* Error codes shared by every module: one X-macro table gives each code its name and message.
 * Functions return 0 on success or a negative AG_E* code; a caller-supplied text buffer carries
 * the details for people. */
#ifndef AG_ERROR_H
#define AG_ERROR_H

#include <stddef.h>

#define AG_ERROR_MAP(X)                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(JSON, -3, "malformed JSON")                                                                  \
    X(SPEC, -4, "invalid experiment spec")                                                         \
    X(IO, -5, "input/output error")                                                                \
    X(NOTFOUND, -6, "not found")                                                                   \
    X(EXISTS, -7, "already exists")                                                                \
    X(RANGE, -8, "value out of range")                                                             \
    X(TOOBIG, -9, "size limit exceeded")                                                           \
    X(FORMAT, -10, "bad file format")                                                              \
    X(CHECKSUM, -11, "checksum mismatch")                                                          \
    X(MISMATCH, -12, "made for another model")                                                     \
    X(TRUNCATED, -13, "truncated data")                                                            \
    X(VERSION, -14, "unsupported version")                                                         \
    X(UNSUPPORTED, -15, "not supported")                                                           \
    X(MPI, -16, "MPI failure")                                                                     \
    X(SIM, -17, "unstable simulation")                                                             \
    X(DB, -18, "database error")                                                                   \
    X(BUSY, -19, "resource busy")                                                                  \
    X(AUTH, -20, "authentication required")                                                        \
    X(FORBIDDEN, -21, "forbidden")                                                                 \
    X(STATE, -22, "operation not allowed in this state")                                           \
    X(TIMEOUT, -23, "timed out")                                                                   \
    X(INTERRUPTED, -24, "interrupted")                                                             \
    X(CHILD, -25, "child process failed")                                                          \
    X(PROTOCOL, -26, "protocol error")

typedef enum AgError {
    AG_OK = 0,
#define AG_ERROR_ENUM(name, value, msg) AG_E##name = value,
    AG_ERROR_MAP(AG_ERROR_ENUM)
#undef AG_ERROR_ENUM
} AgError;

/* "AG_EINVAL" style name of a code; "AG_OK" for 0; "AG_EUNKNOWN" for anything else */
const char *ag_error_name(int code);
/* short human message of a code */
const char *ag_error_message(int code);

/* formats into err (if non-NULL) and returns code, so that `return ag_errorf(...)` reads well */
int ag_errorf(char *err, size_t err_sz, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

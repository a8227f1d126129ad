/* Numbers typed as text: see ag_parse.h. */
#include "ag_parse.h"

#include "ag_error.h"

#include <errno.h>
#include <stdlib.h>

int ag_parse_int(const char *s, long long min, long long max, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno) {
        return AG_EINVAL;
    }
    *out = x;
    return x < min || x > max ? AG_ERANGE : AG_OK;
}

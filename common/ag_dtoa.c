/* The shortest round-trip text of a double, and JSON text written with it (see ag_dtoa.h). */
#include "ag_dtoa.h"

#include "ag_buf.h"
#include "ag_error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TEXT_MAX (1u << 30)

int ag_dtoa_format(double v, char *out, size_t out_sz) {
    int n = 0;
    if (out_sz < AG_DTOA_MAX) {
        return AG_ETOOBIG;
    }
    if (isnan(v)) {
        return snprintf(out, out_sz, "nan");
    }
    if (isinf(v)) {
        return snprintf(out, out_sz, v < 0 ? "-inf" : "inf");
    }
    /* the first precision whose text reads back as the same double; 17 digits always do */
    int digits, exponent;
    for (digits = 1; digits < 17; digits++) {
        snprintf(out, out_sz, "%.*e", digits - 1, v);
        if (strtod(out, NULL) == v) {
            break;
        }
    }
    /* plain notation wherever %.17g would use it: 100, not 1e+02 */
    exponent = atoi(strchr(out, 'e') + 1);
    if (exponent >= -5 && exponent < 17 && digits <= exponent) {
        digits = exponent + 1;
    }
    n = snprintf(out, out_sz, "%.*g", digits, v);
    return n;
}

static int newline(AgBuf *b, int indent, int depth) {
    int rc = ag_buf_append(b, "\n", 1);
    for (int i = 0; rc == 0 && i < indent * depth; i++) {
        rc = ag_buf_append(b, " ", 1);
    }
    return rc;
}

/* a scalar through jansson (strings keep its escaping), a real through ag_dtoa_format */
static int scalar_write(AgBuf *b, const json_t *v) {
    char num[AG_DTOA_MAX + 2], *text;
    int rc;
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x)) {
            return AG_EINVAL;
        }
        ag_dtoa_format(x, num, sizeof(num));
        /* "3" would read back as an integer */
        if (!strpbrk(num, ".e")) {
            strcat(num, ".0");
        }
        return ag_buf_append_str(b, num);
    }
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) {
        return AG_ENOMEM;
    }
    rc = ag_buf_append_str(b, text);
    free(text);
    return rc;
}

static int value_write(AgBuf *b, const json_t *v, int indent, int depth) {
    int rc = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        int first = 1;
        if (json_object_size(v) == 0) {
            return ag_buf_append_str(b, "{}");
        }
        rc = ag_buf_append(b, "{", 1);
        json_object_foreach((json_t *)v, key, member) {
            json_t *k = json_string(key);
            if (!first) {
                rc = rc ? rc : ag_buf_append(b, ",", 1);
            }
            first = 0;
            if (indent > 0) {
                rc = rc ? rc : newline(b, indent, depth + 1);
            }
            rc = rc ? rc : k ? scalar_write(b, k) : AG_ENOMEM;
            json_decref(k);
            rc = rc ? rc : ag_buf_append_str(b, indent > 0 ? ": " : ":");
            rc = rc ? rc : value_write(b, member, indent, depth + 1);
        }
        if (indent > 0) {
            rc = rc ? rc : newline(b, indent, depth);
        }
        return rc ? rc : ag_buf_append(b, "}", 1);
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        if (json_array_size(v) == 0) {
            return ag_buf_append_str(b, "[]");
        }
        rc = ag_buf_append(b, "[", 1);
        json_array_foreach(v, i, item) {
            if (i > 0) {
                rc = rc ? rc : ag_buf_append(b, ",", 1);
            }
            if (indent > 0) {
                rc = rc ? rc : newline(b, indent, depth + 1);
            }
            rc = rc ? rc : value_write(b, item, indent, depth + 1);
        }
        if (indent > 0) {
            rc = rc ? rc : newline(b, indent, depth);
        }
        return rc ? rc : ag_buf_append(b, "]", 1);
    }
    return scalar_write(b, v);
}

char *ag_dtoa_json_dumps(const json_t *doc, int indent) {
    AgBuf b;
    char *text;
    if (!doc || ag_buf_init(&b, 256, JSON_TEXT_MAX) != 0) {
        return NULL;
    }
    if (value_write(&b, doc, indent < 0 ? 0 : indent, 0) != 0) {
        ag_buf_free(&b);
        return NULL;
    }
    /* the buffer is always NUL-terminated */
    text = ag_buf_steal(&b);
    return text;
}

/* ---- %.17g ---- */

typedef unsigned __int128 U128;

/* floor(|v| * 10^p) for v = m * 2^e, and in *up whether printf's rounding (half to even) takes
 * it one higher; 0 when 128 bits do not hold the product. 10^p is 5^p * 2^p: one 64 x 64-bit
 * product and a shift. */
static int g17_digits(uint64_t m, int e, int p, U128 *q, int *up) {
    static const uint64_t pow5[23] = {1ULL,
                                      5ULL,
                                      25ULL,
                                      125ULL,
                                      625ULL,
                                      3125ULL,
                                      15625ULL,
                                      78125ULL,
                                      390625ULL,
                                      1953125ULL,
                                      9765625ULL,
                                      48828125ULL,
                                      244140625ULL,
                                      1220703125ULL,
                                      6103515625ULL,
                                      30517578125ULL,
                                      152587890625ULL,
                                      762939453125ULL,
                                      3814697265625ULL,
                                      19073486328125ULL,
                                      95367431640625ULL,
                                      476837158203125ULL,
                                      2384185791015625ULL};
    U128 a;
    int s;
    *up = 0;
    if (p < 0 || p > 22) {
        return 0;
    }
    a = (U128)m * pow5[p]; /* under 2^53 * 2^52 */
    s = -(e + p);          /* a * 2^-s */
    if (s <= 0) {
        if (s < -20) {
            return 0;
        }
        *q = a << -s;
        return 1;
    }
    if (s >= 127) {
        *q = 0;
        return 1;
    }
    {
        U128 rest = a & (((U128)1 << s) - 1), half = (U128)1 << (s - 1);
        *q = a >> s;
        *up = rest > half || (rest == half && (*q & 1));
    }
    return 1;
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* printf's %.17g text made into jansson's: ".0" when it reads as an integer, no '+' and no
 * leading zeros in the exponent; buf has room for the two bytes */
static int jansson_fixup(char *buf, int len) {
    char *e = NULL, *start, *end;
    int dot = 0;
    for (int i = 0; i < len; i++) {
        if (buf[i] == 'e') {
            e = buf + i;
            break;
        }
        dot |= buf[i] == '.';
    }
    if (!e && !dot) {
        memcpy(buf + len, ".0", 3);
        return len + 2;
    }
    if (!e) {
        return len;
    }
    start = e + 1;
    end = start + 1;
    if (*start == '-') {
        start++;
    }
    while (*end == '0') {
        end++;
    }
    if (end != start) {
        memmove(start, end, (size_t)(len + 1 - (int)(end - buf)));
        len -= (int)(end - start);
    }
    return len;
}

/* floor(x * log10(2)) for |x| < 1650, without a libm call */
static int floor_log10_pow2(int x) {
    return x >= 0 ? (x * 78913) >> 18 : -((-x * 78913 + (1 << 18) - 1) >> 18);
}

/* %.17g (json 0) or jansson's real text (json 1) */
static int g17_write(double v, char *out, int json) {
    static const uint64_t lo = 10000000000000000ULL, hi = 100000000000000000ULL;
    /* 10^(j - 7), the doubles nearest; the power just above |v| fixes the decimal exponent */
    static const double pow10_from_m7[25] = {1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1,
                                             1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9, 1e10,
                                             1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    uint64_t bits, m;
    int e, k, n = 0, exponent, up = 0;
    U128 q = 0;
    char digits[17];
    double mag = fabs(v);
    memcpy(&bits, &v, sizeof(bits));
    e = (int)((bits >> 52) & 0x7ff);
    if (e == 0 || e == 0x7ff || !(mag >= 1e-6 && mag < 1e17)) {
        n = snprintf(out, AG_DTOA_MAX, "%.17g", v);
        return json && e != 0x7ff ? jansson_fixup(out, n) : n;
    }
    m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    e -= 1075;
    /* floor(log10(2^b)) for v in [2^b, 2^(b+1)) is the decimal exponent or one under it; the
     * table decides, and the digits' count checks (a power of ten rounded as a double can sit
     * on either side of the true one) */
    k = floor_log10_pow2(e + 52);
    if (k + 8 < 25 && mag >= pow10_from_m7[k + 8]) {
        k++;
    }
    for (int tries = 0;; tries++) {
        if (tries == 3 || !g17_digits(m, e, 16 - k, &q, &up)) {
            n = snprintf(out, AG_DTOA_MAX, "%.17g", v);
            return json ? jansson_fixup(out, n) : n;
        }
        if (q < lo) {
            k--;
        } else if (q >= hi) {
            k++;
        } else {
            break;
        }
    }
    exponent = k;
    q += (U128)up;
    if (q == hi) {
        /* rounding carried into an 18th digit: 9.99...95 becomes 10.0... */
        q = lo;
        exponent++;
    }
    {
        /* two digits a step in 32-bit arithmetic: 10^16 <= q < 10^17 is 9 digits, then 8 */
        uint64_t d = (uint64_t)q;
        uint32_t top = (uint32_t)(d / 100000000u), low = (uint32_t)(d - (uint64_t)top * 100000000u);
        digits[0] = (char)('0' + top / 100000000u);
        top %= 100000000u;
        for (int i = 0; i < 4; i++) {
            memcpy(digits + 7 - 2 * i, digit_pairs + 2 * (top % 100), 2);
            memcpy(digits + 15 - 2 * i, digit_pairs + 2 * (low % 100), 2);
            top /= 100;
            low /= 100;
        }
    }
    {
        int last = 16; /* the last digit printed: %g drops trailing zeros */
        while (last > 0 && digits[last] == '0') {
            last--;
        }
        if (bits >> 63) {
            out[n++] = '-';
        }
        if (exponent < -4 || exponent >= 17) {
            int a = exponent < 0 ? -exponent : exponent;
            out[n++] = digits[0];
            if (last > 0) {
                out[n++] = '.';
                memcpy(out + n, digits + 1, (size_t)last);
                n += last;
            }
            out[n++] = 'e';
            if (exponent < 0) {
                out[n++] = '-';
            } else if (!json) {
                out[n++] = '+';
            }
            /* printf writes at least two digits, jansson drops the leading zero */
            if (a >= 10 || !json) {
                out[n++] = (char)('0' + a / 10);
            }
            out[n++] = (char)('0' + a % 10);
        } else if (exponent >= 0) {
            memcpy(out + n, digits, (size_t)exponent + 1);
            n += exponent + 1;
            if (last > exponent) {
                out[n++] = '.';
                memcpy(out + n, digits + exponent + 1, (size_t)(last - exponent));
                n += last - exponent;
            } else if (json) {
                out[n++] = '.';
                out[n++] = '0';
            }
        } else {
            out[n++] = '0';
            out[n++] = '.';
            for (int z = 0; z < -exponent - 1; z++) {
                out[n++] = '0';
            }
            memcpy(out + n, digits, (size_t)last + 1);
            n += last + 1;
        }
    }
    out[n] = '\0';
    return n;
}

int ag_dtoa_g17(double v, char *out) {
    return g17_write(v, out, 0);
}

int ag_dtoa_g17_json(double v, char *out) {
    return g17_write(v, out, 1);
}

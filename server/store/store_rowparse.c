/* Metric rows parsed without jansson's general lexer where they are what trainers write: one
 * flat object of plain keys and numbers (see store_row_parse in store_int.h). */
#include "store_int.h"

#include <math.h>
#include <stdint.h>
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

typedef unsigned __int128 U128;

static const uint64_t pow5[28] = {1ULL,
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
                                  2384185791015625ULL,
                                  11920928955078125ULL,
                                  59604644775390625ULL,
                                  298023223876953125ULL,
                                  1490116119384765625ULL,
                                  7450580596923828125ULL};

static int bit_length(U128 x) {
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? 128 - __builtin_clzll(hi) : (uint64_t)x ? 64 - __builtin_clzll((uint64_t)x) : 0;
}

/* (x + frac) * 2^e rounded to the nearest double, ties to even, where frac is a fraction of
 * one in [0, 1) that is 0 only when nonzero_frac is 0 and x has at least 54 bits or no
 * fraction; x > 0 and the result a normal double */
static double round_to_double(U128 x, int nonzero_frac, int e) {
    int len = bit_length(x), shift = len - 53;
    uint64_t mant;
    if (shift <= 0) {
        return ldexp((double)(uint64_t)x, e);
    }
    {
        U128 rest = x & (((U128)1 << shift) - 1), half = (U128)1 << (shift - 1);
        mant = (uint64_t)(x >> shift);
        if (rest > half || (rest == half && (nonzero_frac || (mant & 1)))) {
            mant++; /* 2^53 at most: still exact as a double */
        }
    }
    return ldexp((double)mant, e + shift);
}

/* the double nearest to the decimal digits[0..n) * 10^exp10 (n <= 19, digits not all zero),
 * correctly rounded with 128-bit integers: 1 when that is possible here (|exp10| <= 27),
 * else 0 for strtod to do it */
static int decimal_to_double(uint64_t d, int exp10, double *out) {
    if (exp10 >= 0) {
        if (exp10 > 27) {
            return 0;
        }
        /* d * 5^e * 2^e, exact in 128 bits */
        *out = round_to_double((U128)d * pow5[exp10], 0, exp10);
        return 1;
    }
    if (exp10 < -27) {
        return 0;
    }
    {
        /* d / 5^q * 2^-q: d shifted so the quotient has 64 bits or more, the remainder kept as
         * the sticky part */
        int q = -exp10, lz = __builtin_clzll(d);
        U128 x = (U128)(d << lz) << 64;
        U128 quot = x / pow5[q];
        int rem = (x % pow5[q]) != 0;
        *out = round_to_double(quot, rem, -(lz + 64) - q);
    }
    return 1;
}

/* a JSON number at p as jansson reads it (an integer without '.', 'e' or 'E', else a real);
 * NULL when it is not one the fast path is sure of: bad grammar, an integer of more than 18
 * digits (jansson rejects those past int64), a real that overflows (jansson rejects those) */
static json_t *number_at(const char **pp, const char *end) {
    const char *p = *pp, *start = p;
    char tok[NUMBER_MAX + 1];
    int real = 0, ndigits = 0, exp10 = 0, nsig = 0, exp_neg = 0, exp_val = 0;
    uint64_t sig = 0; /* the significant digits, leading zeros left out */
    size_t len;
    if (p < end && *p == '-') {
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        ndigits = 1;
    } else if (p < end && is_digit(*p)) {
        while (p < end && is_digit(*p)) {
            if (nsig < 19) {
                sig = sig * 10 + (uint64_t)(*p - '0');
                nsig++;
            } else {
                exp10++;
                nsig += *p != '0' ? 100 : 0; /* more than 19 digits: strtod's */
            }
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
            if (sig == 0 && *p == '0') {
                exp10--;
            } else if (nsig < 19) {
                sig = sig * 10 + (uint64_t)(*p - '0');
                nsig++;
                exp10--;
            } else {
                nsig += *p != '0' ? 100 : 0;
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            exp_neg = *p == '-';
            p++;
        }
        if (p == end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            exp_val = exp_val < 10000 ? exp_val * 10 + (*p - '0') : exp_val;
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
    {
        double d;
        exp10 += exp_neg ? -exp_val : exp_val;
        if (sig == 0) {
            d = *start == '-' ? -0.0 : 0.0;
        } else if (nsig <= 19 && decimal_to_double(sig, exp10, &d)) {
            d = *start == '-' ? -d : d;
        } else {
            memcpy(tok, start, len);
            tok[len] = '\0';
            d = strtod(tok, NULL);
        }
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

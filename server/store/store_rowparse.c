/* Metric rows parsed into flat arrays of (key, value) fields (StoreRow in store_int.h), without
 * jansson where they are what trainers write: one flat object of plain keys and numbers. Other
 * lines are read by jansson and copied into the same form. */
#include "store_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the longest number the fast path reads; longer ones go to jansson */
#define NUMBER_MAX 40
/* the most keys the fast path reads; lines of more go to jansson */
#define FLAT_FIELDS_MAX 128

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
    {
        /* the bits themselves: a call of ldexp cost as much as the rounding */
        int biased = e + shift + 52 + 1023;
        uint64_t bits;
        double out;
        if (mant == (1ULL << 53)) {
            mant >>= 1;
            biased++;
        }
        if (biased <= 0 || biased >= 2047) {
            return ldexp((double)mant, e + shift);
        }
        bits = ((uint64_t)biased << 52) | (mant & ((1ULL << 52) - 1));
        memcpy(&out, &bits, sizeof(out));
        return out;
    }
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

/* a JSON number at p as jansson reads it (an integer without '.', 'e' or 'E', else a real) into
 * cell; 0 when it is not one the fast path is sure of: bad grammar, an integer of more than 18
 * digits (jansson rejects those past int64), a real that overflows (jansson rejects those) */
static int number_at(const char **pp, const char *end, StoreCell *cell) {
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
        return 0;
    }
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p == end || !is_digit(*p)) {
            return 0;
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
            return 0;
        }
        while (p < end && is_digit(*p)) {
            exp_val = exp_val < 10000 ? exp_val * 10 + (*p - '0') : exp_val;
            p++;
        }
    }
    len = (size_t)(p - start);
    if (len > NUMBER_MAX) {
        return 0;
    }
    *pp = p;
    if (!real) {
        int64_t v = 0;
        const char *q = start + (*start == '-');
        if (ndigits > 18) {
            return 0;
        }
        for (; q < p; q++) {
            v = v * 10 + (*q - '0');
        }
        cell->kind = STORE_CELL_INT;
        cell->i = *start == '-' ? -v : v;
        return 1;
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
        if (isinf(d)) {
            return 0;
        }
        cell->kind = STORE_CELL_REAL;
        cell->d = d;
        return 1;
    }
}

/* a key of a flat line: where it starts in the line, its length and a hash of it; where its
 * value's text starts and its length */
typedef struct FlatKey {
    const char *at;
    size_t len;
    uint64_t hash;
    const char *value;
    size_t value_len;
} FlatKey;

/* a hash of a key from its length and its first and last 8 bytes */
static uint64_t key_hash(const char *key, size_t len) {
    uint64_t a, b;
    if (len >= 8) {
        memcpy(&a, key, 8);
        memcpy(&b, key + len - 8, 8);
    } else {
        a = b = 0;
        memcpy(&a, key, len);
    }
    return ((a * 0x9E3779B97F4A7C15ULL) ^ (b + len)) * 0xC2B2AE3D27D4EB4FULL;
}

/* the line as one allocation, or NULL when the text is anything but a flat object of at most
 * FLAT_FIELDS_MAX plain keys and numbers, each key once */
static StoreRow *flat_object(const char *text, size_t len) {
    const char *p = text, *end = text + len;
    FlatKey keys[FLAT_FIELDS_MAX];
    StoreCell cells[FLAT_FIELDS_MAX];
    uint64_t hash_bits[4] = {0}; /* a 256-bit filter of the keys' hashes: repeats are rare */
    size_t n = 0, key_bytes = 0, compact_len = 2;
    StoreRow *row;
    char *kp;
    p = skip_space(p, end);
    if (p == end || *p != '{') {
        return NULL;
    }
    p++;
    for (;;) {
        const char *key;
        uint64_t h;
        unsigned bit;
        if (n == FLAT_FIELDS_MAX) {
            return NULL;
        }
        p = skip_space(p, end);
        if (p == end || *p != '"') {
            return NULL;
        }
        key = ++p;
        /* printable ASCII without escapes: the bytes are the key */
        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x7f) {
            p++;
        }
        if (p == end || *p != '"') {
            return NULL;
        }
        h = key_hash(key, (size_t)(p - key));
        keys[n] = (FlatKey){.at = key, .len = (size_t)(p - key), .hash = h};
        /* a repeated key: jansson's own rules decide which value stays and where */
        bit = (unsigned)(h >> 56);
        if (hash_bits[bit >> 6] & (1ULL << (bit & 63))) {
            for (size_t j = 0; j < n; j++) {
                if (keys[j].hash == h && keys[j].len == keys[n].len &&
                    !memcmp(keys[j].at, key, keys[n].len)) {
                    return NULL;
                }
            }
        }
        hash_bits[bit >> 6] |= 1ULL << (bit & 63);
        p = skip_space(p + 1, end);
        if (p == end || *p != ':') {
            return NULL;
        }
        p = skip_space(p + 1, end);
        memset(&cells[n], 0, sizeof(cells[n]));
        keys[n].value = p;
        if (!number_at(&p, end, &cells[n])) {
            return NULL;
        }
        keys[n].value_len = (size_t)(p - keys[n].value);
        key_bytes += keys[n].len + 1;
        /* {"key":value} and a comma before each key but the first */
        compact_len += (n ? 1 : 0) + keys[n].len + 3 + keys[n].value_len;
        n++;
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}' && skip_space(p + 1, end) == end) {
            break;
        }
        return NULL;
    }
    row = malloc(sizeof(*row) + n * sizeof(row->fields[0]) + key_bytes);
    if (!row) {
        return NULL;
    }
    row->n = n;
    /* the same length as the keys and values with nothing between them: no whitespace */
    row->compact = compact_len == len && len <= UINT32_MAX;
    kp = (char *)&row->fields[n];
    for (size_t i = 0; i < n; i++) {
        memcpy(kp, keys[i].at, keys[i].len);
        kp[keys[i].len] = '\0';
        row->fields[i].key = kp;
        row->fields[i].cell = cells[i];
        row->fields[i].value_at = (uint32_t)(keys[i].value - text);
        row->fields[i].value_len = (uint32_t)keys[i].value_len;
        kp += keys[i].len + 1;
    }
    return row;
}

/* jansson's object as one allocation: keys and the texts of JSON cells copied in */
static StoreRow *row_from_json(json_t *obj) {
    size_t n = json_object_size(obj), bytes = 0, i = 0;
    StoreCell *cells = calloc(n + 1, sizeof(*cells));
    StoreRow *row = NULL;
    const char *key;
    json_t *v;
    char *p;
    if (!cells) {
        return NULL;
    }
    json_object_foreach(obj, key, v) {
        if (store_cell_from_json(v, &cells[i]) != 0) {
            goto out;
        }
        bytes += strlen(key) + 1 + (cells[i].kind == STORE_CELL_JSON ? cells[i].len + 1 : 0);
        i++;
    }
    row = malloc(sizeof(*row) + n * sizeof(row->fields[0]) + bytes);
    if (!row) {
        goto out;
    }
    row->n = n;
    row->compact = 0;
    p = (char *)&row->fields[n];
    i = 0;
    json_object_foreach(obj, key, v) {
        size_t klen = strlen(key);
        StoreField *f = &row->fields[i];
        memcpy(p, key, klen + 1);
        f->key = p;
        p += klen + 1;
        f->cell = cells[i];
        f->value_at = f->value_len = 0;
        if (cells[i].kind == STORE_CELL_JSON) {
            memcpy(p, cells[i].text, cells[i].len + 1);
            f->cell.text = p;
            p += cells[i].len + 1;
        }
        i++;
    }
out:
    for (size_t j = 0; j < n; j++) {
        if (cells[j].kind == STORE_CELL_JSON) {
            free((char *)cells[j].text);
        }
    }
    free(cells);
    return row;
}

StoreRow *store_row_parse(const char *text, size_t len) {
    StoreRow *row = flat_object(text, len);
    json_error_t je;
    json_t *obj;
    if (row) {
        return row;
    }
    obj = json_loadb(text, len, 0, &je);
    row = json_is_object(obj) ? row_from_json(obj) : NULL;
    json_decref(obj);
    return row;
}

void store_row_free(StoreRow *row) {
    free(row);
}

const StoreCell *store_row_get(const StoreRow *row, const char *key) {
    for (size_t i = 0; row && i < row->n; i++) {
        if (row->fields[i].key[0] == key[0] && !strcmp(row->fields[i].key, key)) {
            return &row->fields[i].cell;
        }
    }
    return NULL;
}

double store_cell_number(const StoreCell *cell) {
    return cell->kind == STORE_CELL_INT ? (double)cell->i : cell->d;
}

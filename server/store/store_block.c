/* Compact blocks of metric rows: the encoding of one key's cells and of a chunk's layout (see
 * store_block.h). */
#include "store_block.h"

#include "ag_dtoa.h"
#include "ag_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bits, most significant first ---- */

typedef struct BitWriter {
    AgBuf *out;
    uint64_t acc; /* bits not yet written, right-aligned */
    int nacc;
    int rc;
} BitWriter;

static void bits_put(BitWriter *w, uint64_t v, int n) {
    unsigned __int128 x;
    int total = w->nacc + n, nbytes = total / 8;
    /* the pending bits and v's n low bits make at most 71 bits: their whole bytes go out in one
     * big-endian 8-byte store into space reserved once (a byte at a time was a third of the
     * sealing's encoding), the rest stays pending */
    if (w->rc == 0 && (!w->out->data || w->out->cap - w->out->len < 8)) {
        w->rc = ag_buf_reserve(w->out, 8);
    }
    if (w->rc) {
        return;
    }
    v &= n >= 64 ? ~0ull : ((1ull << n) - 1);
    x = ((unsigned __int128)w->acc << n) | v;
    w->nacc = total - 8 * nbytes;
    w->acc = (uint64_t)x & ((1ull << w->nacc) - 1);
    if (nbytes > 0) {
        uint64_t out = (uint64_t)(x >> w->nacc) << (64 - 8 * nbytes);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        out = __builtin_bswap64(out);
        memcpy(w->out->data + w->out->len, &out, 8);
#else
        for (int i = 0; i < 8; i++) {
            w->out->data[w->out->len + (size_t)i] = (char)(out >> (56 - 8 * i));
        }
#endif
        w->out->len += (size_t)nbytes;
        w->out->data[w->out->len] = '\0';
    }
}

static int bits_flush(BitWriter *w) {
    if (w->nacc > 0) {
        bits_put(w, 0, 8 - w->nacc);
    }
    return w->rc;
}

typedef struct BitReader {
    const unsigned char *p;
    size_t nbits, pos;
    int bad;
} BitReader;

/* up to 57 bits from one big-endian load of the 8 bytes at pos (fewer at the blob's end), a
 * 64-bit read in two: a backlog decodes tens of millions of values, bit by bit was its main cost */
static uint64_t bits_peek(const BitReader *r, int n) {
    size_t byte = r->pos >> 3, have = (r->nbits >> 3) - byte;
    uint64_t w = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (have >= 8) {
        memcpy(&w, r->p + byte, 8);
        w = __builtin_bswap64(w);
        return (w << (r->pos & 7)) >> (64 - n);
    }
#endif
    for (size_t i = 0; i < 8; i++) {
        w = w << 8 | (i < have ? r->p[byte + i] : 0);
    }
    return (w << (r->pos & 7)) >> (64 - n);
}

static uint64_t bits_get(BitReader *r, int n) {
    uint64_t v;
    if (r->pos + (size_t)n > r->nbits) {
        r->bad = 1;
        return 0;
    }
    if (n == 0) {
        return 0;
    }
    if (n > 32) {
        v = bits_peek(r, 32);
        r->pos += 32;
        n -= 32;
        v = v << n | bits_peek(r, n);
    } else {
        v = bits_peek(r, n);
    }
    r->pos += (size_t)n;
    return v;
}

/* ---- varints ---- */

static int varint_put(AgBuf *out, uint64_t v) {
    unsigned char b[10];
    int n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) {
            b[n] |= 0x80;
        }
        n++;
    } while (v);
    return ag_buf_append(out, b, (size_t)n);
}

static int varint_get(const unsigned char *p, size_t len, size_t *pos, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len) {
            return AG_EFORMAT;
        }
        unsigned char b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return AG_EFORMAT;
}

/* ---- cells ---- */

int store_cell_from_json(const json_t *v, StoreCell *cell) {
    memset(cell, 0, sizeof(*cell));
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        cell->kind = STORE_CELL_INT;
        cell->i = json_integer_value(v);
        return 0;
    case JSON_REAL:
        cell->kind = STORE_CELL_REAL;
        cell->d = json_real_value(v);
        return 0;
    case JSON_NULL:
        cell->kind = STORE_CELL_NULL;
        return 0;
    case JSON_TRUE:
        cell->kind = STORE_CELL_TRUE;
        return 0;
    case JSON_FALSE:
        cell->kind = STORE_CELL_FALSE;
        return 0;
    default:
        cell->kind = STORE_CELL_JSON;
        cell->text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!cell->text) {
            return AG_ENOMEM;
        }
        cell->len = strlen(cell->text);
        return 0;
    }
}

static uint64_t zigzag(uint64_t d) {
    return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t unzigzag(uint64_t z) {
    return (z >> 1) ^ (0 - (z & 1));
}

/* the integer cells in order: the first as 64 bits, then each delta's change from the previous
 * delta in the shortest of five codes ('0' for none, the steady step of iteration counters) */
static void ints_encode(BitWriter *w, const StoreCell *cells, size_t n) {
    uint64_t prev = 0, prev_delta = 0;
    int first = 1;
    for (size_t k = 0; k < n; k++) {
        uint64_t v, delta, zz;
        if (cells[k].kind != STORE_CELL_INT) {
            continue;
        }
        v = (uint64_t)cells[k].i;
        if (first) {
            bits_put(w, v, 64);
            first = 0;
            prev = v;
            continue;
        }
        delta = v - prev;
        zz = zigzag(delta - prev_delta);
        if (zz == 0) {
            bits_put(w, 0, 1);
        } else if (zz < (1ull << 7)) {
            bits_put(w, 2, 2);
            bits_put(w, zz, 7);
        } else if (zz < (1ull << 12)) {
            bits_put(w, 6, 3);
            bits_put(w, zz, 12);
        } else if (zz < (1ull << 20)) {
            bits_put(w, 14, 4);
            bits_put(w, zz, 20);
        } else {
            bits_put(w, 15, 4);
            bits_put(w, zz, 64);
        }
        prev = v;
        prev_delta = delta;
    }
}

static void ints_decode(BitReader *r, StoreCell *cells, size_t n) {
    uint64_t prev = 0, prev_delta = 0;
    int first = 1;
    for (size_t k = 0; k < n && !r->bad; k++) {
        uint64_t v, zz;
        if (cells[k].kind != STORE_CELL_INT) {
            continue;
        }
        if (first) {
            v = bits_get(r, 64);
            first = 0;
        } else {
            if (bits_get(r, 1) == 0) {
                zz = 0;
            } else if (bits_get(r, 1) == 0) {
                zz = bits_get(r, 7);
            } else if (bits_get(r, 1) == 0) {
                zz = bits_get(r, 12);
            } else if (bits_get(r, 1) == 0) {
                zz = bits_get(r, 20);
            } else {
                zz = bits_get(r, 64);
            }
            prev_delta += unzigzag(zz);
            v = prev + prev_delta;
        }
        prev = v;
        cells[k].i = (int64_t)v;
    }
}

static int clz64(uint64_t x) {
    return __builtin_clzll(x);
}

static int ctz64(uint64_t x) {
    return __builtin_ctzll(x);
}

/* the real cells in order, each as the difference of its bits from the previous one's, read as
 * 64-bit integers (two doubles of one sign and binade differ by the number of doubles between
 * them, which is smaller than their XOR when a carry runs through the high bits): '0' when
 * equal, else '1', the sign of the difference, then '0' and the meaningful bits of its
 * magnitude when they fit the window of leading and trailing zeros, or '1', 6 bits of leading
 * zeros, 6 bits of length - 1 and the bits, starting a new window. A new window is also taken
 * when it costs fewer bits than the one in force (the Gorilla scheme keeps a window until a
 * value does not fit, and one wide window then costs every later value its width). */
static void reals_encode(BitWriter *w, const StoreCell *cells, size_t n) {
    uint64_t prev = 0;
    int first = 1, lead = -1, trail = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t v, d, mag;
        int lz, tz;
        if (cells[k].kind != STORE_CELL_REAL) {
            continue;
        }
        memcpy(&v, &cells[k].d, sizeof(v));
        if (first) {
            bits_put(w, v, 64);
            first = 0;
            prev = v;
            continue;
        }
        d = v - prev;
        prev = v;
        if (d == 0) {
            bits_put(w, 0, 1);
            continue;
        }
        mag = (d >> 63) ? (uint64_t)0 - d : d;
        bits_put(w, 2 | (d >> 63), 2);
        lz = clz64(mag);
        tz = ctz64(mag);
        if (lead >= 0 && lz >= lead && tz >= trail && 64 - lead - trail <= 12 + 64 - lz - tz) {
            bits_put(w, 0, 1);
            bits_put(w, mag >> trail, 64 - lead - trail);
        } else {
            bits_put(w, 1, 1);
            bits_put(w, (uint64_t)lz, 6);
            bits_put(w, (uint64_t)(64 - lz - tz - 1), 6);
            bits_put(w, mag >> tz, 64 - lz - tz);
            lead = lz;
            trail = tz;
        }
    }
}

/* reals of a blob written by reals_encode */
static void reals_decode(BitReader *r, StoreCell *cells, size_t n) {
    uint64_t prev = 0;
    int first = 1, lead = -1, trail = 0;
    for (size_t k = 0; k < n && !r->bad; k++) {
        uint64_t v, mag, neg;
        if (cells[k].kind != STORE_CELL_REAL) {
            continue;
        }
        if (first) {
            v = bits_get(r, 64);
            first = 0;
        } else if (bits_get(r, 1) == 0) {
            v = prev;
        } else {
            neg = bits_get(r, 1);
            if (bits_get(r, 1) == 0) {
                if (lead < 0) {
                    r->bad = 1;
                    return;
                }
                mag = bits_get(r, 64 - lead - trail) << trail;
            } else {
                int lz = (int)bits_get(r, 6), sig = (int)bits_get(r, 6) + 1;
                if (lz + sig > 64) {
                    r->bad = 1;
                    return;
                }
                lead = lz;
                trail = 64 - lz - sig;
                mag = bits_get(r, sig) << trail;
            }
            v = neg ? prev - mag : prev + mag;
        }
        prev = v;
        memcpy(&cells[k].d, &v, sizeof(v));
    }
}

/* reals of a blob of the first version (no mark): each XOR the previous one, '0' when equal,
 * '10' and the meaningful bits when they fit the previous window of leading and trailing zeros,
 * else '11', 6 bits of leading zeros, 6 bits of length - 1 and the bits */
static void reals_xor_decode(BitReader *r, StoreCell *cells, size_t n) {
    uint64_t prev = 0;
    int first = 1, lead = -1, trail = 0;
    for (size_t k = 0; k < n && !r->bad; k++) {
        uint64_t v;
        if (cells[k].kind != STORE_CELL_REAL) {
            continue;
        }
        if (first) {
            v = bits_get(r, 64);
            first = 0;
        } else if (bits_get(r, 1) == 0) {
            v = prev;
        } else if (bits_get(r, 1) == 0) {
            if (lead < 0) {
                r->bad = 1;
                return;
            }
            v = prev ^ (bits_get(r, 64 - lead - trail) << trail);
        } else {
            int lz = (int)bits_get(r, 6), sig = (int)bits_get(r, 6) + 1;
            if (lz + sig > 64) {
                r->bad = 1;
                return;
            }
            lead = lz;
            trail = 64 - lz - sig;
            v = prev ^ (bits_get(r, sig) << trail);
        }
        prev = v;
        memcpy(&cells[k].d, &v, sizeof(v));
    }
}

/* blob: the mark of the version (BLOB_MARK); varint runs; (kind byte, varint length) per run;
 * varint bytes of the integer bits and those bits; varint bytes of the real bits and those bits;
 * then varint length and text of each JSON cell. A blob of the first version has no mark and
 * its reals XOR-ed (reals_xor_decode); its first byte, the number of runs, is 0 only for a blob
 * of no cells, which the two zero lengths follow, so it never starts with the mark. */
static const unsigned char BLOB_MARK[2] = {0x00, 0x02};

int store_block_encode(const StoreCell *cells, size_t n, AgBuf *out) {
    size_t runs = 0;
    int rc = 0;
    AgBuf bits;
    BitWriter w;
    for (size_t k = 0; k < n; k++) {
        runs += k == 0 || cells[k].kind != cells[k - 1].kind;
    }
    rc = ag_buf_append(out, BLOB_MARK, sizeof(BLOB_MARK));
    rc = rc ? rc : varint_put(out, runs);
    for (size_t k = 0; rc == 0 && k < n;) {
        size_t j = k;
        while (j < n && cells[j].kind == cells[k].kind) {
            j++;
        }
        rc = ag_buf_append(out, &cells[k].kind, 1);
        rc = rc ? rc : varint_put(out, j - k);
        k = j;
    }
    if (rc || ag_buf_init(&bits, 256, 1u << 30) != 0) {
        return rc ? rc : AG_ENOMEM;
    }
    w = (BitWriter){.out = &bits};
    ints_encode(&w, cells, n);
    rc = bits_flush(&w);
    rc = rc ? rc : varint_put(out, bits.len);
    rc = rc ? rc : ag_buf_append(out, bits.data, bits.len);
    ag_buf_reset(&bits);
    w = (BitWriter){.out = &bits};
    reals_encode(&w, cells, n);
    rc = rc ? rc : bits_flush(&w);
    rc = rc ? rc : varint_put(out, bits.len);
    rc = rc ? rc : ag_buf_append(out, bits.data, bits.len);
    ag_buf_free(&bits);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (cells[k].kind == STORE_CELL_JSON) {
            rc = varint_put(out, cells[k].len);
            rc = rc ? rc : ag_buf_append(out, cells[k].text, cells[k].len);
        }
    }
    return rc;
}

int store_block_decode(const unsigned char *blob, size_t len, size_t n, StoreCell *cells) {
    size_t pos = 0, k = 0;
    uint64_t runs, nbytes;
    BitReader r;
    int marked = len >= sizeof(BLOB_MARK) && !memcmp(blob, BLOB_MARK, sizeof(BLOB_MARK));
    if (marked) {
        pos = sizeof(BLOB_MARK);
    }
    if (varint_get(blob, len, &pos, &runs)) {
        return AG_EFORMAT;
    }
    memset(cells, 0, n * sizeof(*cells));
    for (uint64_t i = 0; i < runs; i++) {
        uint64_t count;
        unsigned char kind;
        if (pos >= len) {
            return AG_EFORMAT;
        }
        kind = blob[pos++];
        if (kind >= STORE_CELL_KINDS || varint_get(blob, len, &pos, &count) || count > n - k) {
            return AG_EFORMAT;
        }
        for (uint64_t c = 0; c < count; c++) {
            cells[k++].kind = kind;
        }
    }
    if (k != n) {
        return AG_EFORMAT;
    }
    for (int part = 0; part < 2; part++) {
        if (varint_get(blob, len, &pos, &nbytes) || nbytes > len - pos) {
            return AG_EFORMAT;
        }
        r = (BitReader){.p = blob + pos, .nbits = (size_t)nbytes * 8};
        if (part == 0) {
            ints_decode(&r, cells, n);
        } else if (marked) {
            reals_decode(&r, cells, n);
        } else {
            reals_xor_decode(&r, cells, n);
        }
        if (r.bad) {
            return AG_EFORMAT;
        }
        pos += (size_t)nbytes;
    }
    for (k = 0; k < n; k++) {
        uint64_t tl;
        if (cells[k].kind != STORE_CELL_JSON) {
            continue;
        }
        if (varint_get(blob, len, &pos, &tl) || tl > len - pos) {
            return AG_EFORMAT;
        }
        cells[k].text = (const char *)blob + pos;
        cells[k].len = (size_t)tl;
        pos += (size_t)tl;
    }
    return pos == len ? 0 : AG_EFORMAT;
}

/* ---- layouts ---- */

/* layout: varint rows; varint first seq and a byte 1 when the seqs follow each other, else 0
 * and a varint gap - 1 per later row; varint lists, each a varint length and key ids; a varint
 * list index per row when there is more than one list */
int store_layout_encode(const StoreLayout *l, AgBuf *out) {
    int rc = varint_put(out, l->nrows);
    unsigned char contiguous = 1;
    for (size_t k = 1; k < l->nrows; k++) {
        contiguous &= l->seqs[k] == l->seqs[k - 1] + 1;
    }
    rc = rc ? rc : varint_put(out, l->nrows ? (uint64_t)l->seqs[0] : 0);
    rc = rc ? rc : ag_buf_append(out, &contiguous, 1);
    for (size_t k = 1; rc == 0 && !contiguous && k < l->nrows; k++) {
        rc = varint_put(out, (uint64_t)(l->seqs[k] - l->seqs[k - 1] - 1));
    }
    rc = rc ? rc : varint_put(out, l->nlists);
    for (size_t i = 0; rc == 0 && i < l->nlists; i++) {
        rc = varint_put(out, l->list_len[i]);
        for (size_t j = 0; rc == 0 && j < l->list_len[i]; j++) {
            rc = varint_put(out, (uint64_t)l->lists[i][j]);
        }
    }
    for (size_t k = 0; rc == 0 && l->nlists > 1 && k < l->nrows; k++) {
        rc = varint_put(out, l->row_list[k]);
    }
    return rc;
}

void store_layout_free(StoreLayout *l) {
    for (size_t i = 0; l->lists && i < l->nlists; i++) {
        free(l->lists[i]);
    }
    free(l->lists);
    free(l->list_len);
    free(l->seqs);
    free(l->row_list);
    memset(l, 0, sizeof(*l));
}

#define LAYOUT_ROWS_MAX  (1u << 20)
#define LAYOUT_LISTS_MAX (1u << 20)

int store_layout_decode(const unsigned char *blob, size_t len, StoreLayout *l) {
    size_t pos = 0;
    uint64_t v, first;
    memset(l, 0, sizeof(*l));
    if (varint_get(blob, len, &pos, &v) || v > LAYOUT_ROWS_MAX ||
        varint_get(blob, len, &pos, &first) || pos >= len) {
        return AG_EFORMAT;
    }
    l->nrows = (size_t)v;
    l->seqs = calloc(l->nrows + 1, sizeof(*l->seqs));
    l->row_list = calloc(l->nrows + 1, sizeof(*l->row_list));
    if (!l->seqs || !l->row_list) {
        goto nomem;
    }
    unsigned char contiguous = blob[pos++];
    for (size_t k = 0; k < l->nrows; k++) {
        uint64_t gap = 0;
        if (k > 0 && !contiguous && varint_get(blob, len, &pos, &gap)) {
            goto bad;
        }
        l->seqs[k] = k == 0 ? (int64_t)first : l->seqs[k - 1] + 1 + (int64_t)gap;
    }
    if (varint_get(blob, len, &pos, &v) || v > LAYOUT_LISTS_MAX || (v == 0 && l->nrows > 0)) {
        goto bad;
    }
    l->nlists = (size_t)v;
    l->lists = calloc(l->nlists + 1, sizeof(*l->lists));
    l->list_len = calloc(l->nlists + 1, sizeof(*l->list_len));
    if (!l->lists || !l->list_len) {
        goto nomem;
    }
    for (size_t i = 0; i < l->nlists; i++) {
        if (varint_get(blob, len, &pos, &v) || v > len) {
            goto bad;
        }
        l->list_len[i] = (size_t)v;
        l->lists[i] = calloc(l->list_len[i] + 1, sizeof(**l->lists));
        if (!l->lists[i]) {
            goto nomem;
        }
        for (size_t j = 0; j < l->list_len[i]; j++) {
            if (varint_get(blob, len, &pos, &v)) {
                goto bad;
            }
            l->lists[i][j] = (int64_t)v;
        }
    }
    for (size_t k = 0; l->nlists > 1 && k < l->nrows; k++) {
        if (varint_get(blob, len, &pos, &v) || v >= l->nlists) {
            goto bad;
        }
        l->row_list[k] = (size_t)v;
    }
    if (pos != len) {
        goto bad;
    }
    return 0;
nomem:
    store_layout_free(l);
    return AG_ENOMEM;
bad:
    store_layout_free(l);
    return AG_EFORMAT;
}

/* ---- text ---- */

/* a real as jansson writes it (%.17g, ".0" when it reads as an integer, a short exponent) */
static int real_text(double v, char *buf) {
    int n = ag_dtoa_g17_json(v, buf);
    return n <= 0 || n >= AG_DTOA_MAX ? -1 : n;
}

static int int_text(int64_t i, char *out) {
    char buf[24];
    int n = (int)sizeof(buf);
    /* in unsigned arithmetic so INT64_MIN needs no special case */
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    do {
        buf[--n] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (i < 0) {
        buf[--n] = '-';
    }
    memcpy(out, buf + n, sizeof(buf) - (size_t)n);
    return (int)sizeof(buf) - n;
}

int store_cell_number_text(const StoreCell *cell, char *out) {
    switch (cell->kind) {
    case STORE_CELL_INT:
        return int_text(cell->i, out);
    case STORE_CELL_REAL:
        return real_text(cell->d, out);
    default:
        return -1;
    }
}

int store_cell_write(AgBuf *b, const StoreCell *cell) {
    switch (cell->kind) {
    case STORE_CELL_INT:
    case STORE_CELL_REAL: {
        /* straight into the buffer: a backlog writes tens of millions of numbers */
        int n, rc = ag_buf_reserve(b, STORE_CELL_NUMBER_TEXT_MAX);
        if (rc) {
            return rc;
        }
        n = store_cell_number_text(cell, b->data + b->len);
        if (n < 0) {
            b->data[b->len] = '\0';
            return AG_EFORMAT;
        }
        b->len += (size_t)n;
        b->data[b->len] = '\0';
        return 0;
    }
    case STORE_CELL_NULL:
        return ag_buf_append_str(b, "null");
    case STORE_CELL_TRUE:
        return ag_buf_append_str(b, "true");
    case STORE_CELL_FALSE:
        return ag_buf_append_str(b, "false");
    case STORE_CELL_JSON:
        return ag_buf_append(b, cell->text, cell->len);
    default:
        return AG_EINVAL;
    }
}

/* JSON text into a buffer as jansson's compact dump writes it (see ag_json_text.h). */
#include "ag_json_text.h"

#include "ag_dtoa.h"

#include "ag_error.h"

#include <math.h>
#include <string.h>

/* bytes of the UTF-8 sequence at s (at most n bytes), 0 when it is not one jansson accepts */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    unsigned char u = s[0];
    size_t len;
    uint32_t value;
    if (u < 0x80) {
        return 1;
    }
    if (u >= 0xC2 && u <= 0xDF) {
        len = 2;
        value = u & 0x1Fu;
    } else if (u >= 0xE0 && u <= 0xEF) {
        len = 3;
        value = u & 0x0Fu;
    } else if (u >= 0xF0 && u <= 0xF4) {
        len = 4;
        value = u & 0x07u;
    } else {
        return 0; /* a continuation byte first, an overlong 0xC0/0xC1, or beyond U+10FFFF */
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
        value = (value << 6) + (s[i] & 0x3Fu);
    }
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF) || (len == 3 && value < 0x800) ||
        (len == 4 && value < 0x10000)) {
        return 0;
    }
    return len;
}

int ag_json_text_utf8_ok(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = u[i] < 0x80 ? 1 : utf8_sequence(u + i, n - i);
        if (len == 0) {
            return 0;
        }
        i += len;
    }
    return 1;
}

/* the escape jansson writes for an ASCII byte into seq, its length; 0 for one written as it is */
static size_t escape_of(unsigned char c, char seq[8]) {
    static const char hex[] = "0123456789ABCDEF";
    char e = 0;
    switch (c) {
    case '"':
        e = '"';
        break;
    case '\\':
        e = '\\';
        break;
    case '\b':
        e = 'b';
        break;
    case '\f':
        e = 'f';
        break;
    case '\n':
        e = 'n';
        break;
    case '\r':
        e = 'r';
        break;
    case '\t':
        e = 't';
        break;
    default:
        break;
    }
    if (e) {
        seq[0] = '\\';
        seq[1] = e;
        return 2;
    }
    if (c >= 0x20) {
        return 0;
    }
    memcpy(seq, "\\u00", 4);
    seq[4] = hex[c >> 4];
    seq[5] = hex[c & 15];
    return 6;
}

/* bytes that are escaped: '"', '\\' and the controls */
static int needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

int ag_json_text_string(AgBuf *out, const char *s, size_t n) {
    char *o;
    int rc;
    if (!ag_json_text_utf8_ok(s, n)) {
        return AG_EINVAL;
    }
    if (n > (SIZE_MAX - 2) / 6) {
        return AG_ETOOBIG;
    }
    rc = ag_buf_reserve(out, 6 * n + 2);
    if (rc) {
        return rc;
    }
    o = out->data + out->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (needs_escape(c)) {
            o += escape_of(c, o);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    out->len = (size_t)(o - out->data);
    return 0;
}

int ag_json_text_int(AgBuf *out, int64_t v) {
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        tmp[--i] = '-';
    }
    return ag_buf_append(out, tmp + i, sizeof(tmp) - i);
}

size_t ag_json_text_real_format(double v, char *buf) {
    int n;
    /* a whole number under 2^53 (a series' iterations and steps): %.17g writes its digits, all
     * of them exact, and jansson adds ".0" */
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v &&
        !(v == 0 && signbit(v))) {
        int64_t i = (int64_t)v;
        uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
        char tmp[24];
        size_t k = sizeof(tmp), len = 0;
        do {
            tmp[--k] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (i < 0) {
            buf[len++] = '-';
        }
        memcpy(buf + len, tmp + k, sizeof(tmp) - k);
        len += sizeof(tmp) - k;
        memcpy(buf + len, ".0", 3);
        return len + 2;
    }
    n = ag_dtoa_g17_json(v, buf);
    return n > 0 ? (size_t)n : 0;
}

int ag_json_text_real(AgBuf *out, double v) {
    int rc = ag_buf_reserve(out, AG_JSON_TEXT_REAL_MAX);
    if (rc == 0) {
        out->len += ag_json_text_real_format(v, out->data + out->len);
    }
    return rc;
}

/* the end of a string starting at s[i] == '"' in jansson's compact form, or 0 */
static size_t compact_string_end(const char *s, size_t n, size_t i) {
    const unsigned char *u = (const unsigned char *)s;
    for (i++; i < n; i++) {
        if (u[i] == '"') {
            return i + 1;
        }
        if (u[i] == '\\') {
            char seq[8];
            size_t len;
            unsigned char c;
            if (i + 1 >= n) {
                return 0;
            }
            /* the one byte this escape stands for, if jansson would write it this way */
            switch (u[i + 1]) {
            case '"':
            case '\\':
                c = u[i + 1];
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                if (i + 5 >= n || u[i + 2] != '0' || u[i + 3] != '0' || u[i + 4] > '1') {
                    return 0;
                }
                c = (unsigned char)((u[i + 4] - '0') * 16 + (u[i + 5] >= 'A' && u[i + 5] <= 'F'
                                                                 ? u[i + 5] - 'A' + 10
                                                                 : u[i + 5] - '0'));
                break;
            default:
                return 0;
            }
            len = escape_of(c, seq);
            if (c == 0 || len == 0 || i + len > n || memcmp(s + i, seq, len) != 0) {
                return 0;
            }
            i += len - 1;
            continue;
        }
        if (u[i] < 0x20) {
            return 0;
        }
        if (u[i] >= 0x80) {
            size_t len = utf8_sequence(u + i, n - i);
            if (len == 0) {
                return 0;
            }
            i += len - 1;
        }
    }
    return 0;
}

int ag_json_text_is_compact_strings(const char *s, size_t n) {
    size_t i = 1;
    if (n < 2 || s[0] != '[' || s[n - 1] != ']') {
        return 0;
    }
    if (n == 2) {
        return 1;
    }
    for (;;) {
        if (s[i] != '"' || (i = compact_string_end(s, n, i)) == 0) {
            return 0;
        }
        if (i == n - 1) {
            return 1;
        }
        if (s[i] != ',') {
            return 0;
        }
        i++;
    }
}

/* JSON text written straight into a buffer, byte for byte what jansson's json_dumps(...,
 * JSON_COMPACT) writes for the same value: for answers built from database columns without an
 * object tree in between (the experiment list).
 *
 * DESIGN
 * Strings are checked as jansson's json_string checks them (UTF-8, no overlong forms, no
 * surrogates) and escaped as its dump escapes them (\" \\ \b \f \n \r \t, other controls as
 * \u00XX in capitals, nothing else). Reals are %.17g with jansson's fix-ups (a ".0" when there is
 * neither '.' nor exponent, no '+' and no leading zeros in the exponent). JSON text kept in a
 * column (tags) is copied verbatim when it is already in that form, an array of strings, and
 * otherwise goes through jansson, so the answer is the same either way. */
#ifndef AG_JSON_TEXT_H
#define AG_JSON_TEXT_H

#include "ag_buf.h"

#include <stddef.h>
#include <stdint.h>

/* the longest text ag_json_text_real writes ("-2.2250738585072014e-308") */
#define AG_JSON_TEXT_REAL_MAX 32

/* 1 when s[0..n) is valid UTF-8 as jansson accepts it in a string */
int ag_json_text_utf8_ok(const char *s, size_t n);
/* s[0..n) as a quoted JSON string; AG_EINVAL (nothing appended) when it is not valid UTF-8 */
int ag_json_text_string(AgBuf *out, const char *s, size_t n);
int ag_json_text_int(AgBuf *out, int64_t v);
/* a finite real (the caller writes null for NaN and infinities, as jansson refuses them) */
int ag_json_text_real(AgBuf *out, double v);
/* v as jansson writes a real into buf (at least AG_JSON_TEXT_REAL_MAX bytes); its length */
size_t ag_json_text_real_format(double v, char *buf);
/* 1 when s[0..n) is a JSON array of strings exactly as json_dumps(JSON_COMPACT) writes it (so
 * it can be copied as it is) */
int ag_json_text_is_compact_strings(const char *s, size_t n);

#endif

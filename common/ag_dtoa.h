/* Numbers as people and parsers want them: the shortest decimal that reads back as the same
 * double (0.0003, not 0.00029999999999999997), and JSON text whose reals are written that way.
 *
 * DESIGN
 * jansson writes reals with %.17g, which round-trips but shows the binary approximation of most
 * decimal inputs. The shortest form is found by trying %.1g to %.17g and keeping the first that
 * strtod turns back into the same bits; 17 digits always do, so the search ends. */
#ifndef AG_DTOA_H
#define AG_DTOA_H

#include <jansson.h>
#include <stddef.h>

/* the longest text ag_dtoa_format writes, with its NUL ("-2.2250738585072014e-308") */
#define AG_DTOA_MAX 32

/* v as the shortest %g text that strtod reads back as v ("0.0003", "1e-07", "100",
 * "1.7976931348623157e+308"); "nan", "inf" or "-inf" for those. Returns the length, or
 * AG_ETOOBIG when out_sz is under AG_DTOA_MAX. */
int ag_dtoa_format(double v, char *out, size_t out_sz);

/* exactly what snprintf(out, AG_DTOA_MAX, "%.17g", v) writes (jansson's reals before its own
 * trimming), without printf's multi-precision arithmetic where 128-bit integers suffice
 * (1e-6 <= |v| < 1e17); elsewhere through snprintf itself. out holds AG_DTOA_MAX bytes.
 * Returns the length. */
int ag_dtoa_g17(double v, char *out);

/* v as jansson writes a real (JSON_REAL_PRECISION 17): the %.17g text, with ".0" when it would
 * read as an integer and the exponent without '+' or leading zeros ("1e-05" becomes "1e-5",
 * "100" becomes "100.0"); in one pass where ag_dtoa_g17 has its own arithmetic. Non-finite values
 * as ag_dtoa_g17 writes them (jansson refuses them). out holds AG_DTOA_MAX bytes. */
int ag_dtoa_g17_json(double v, char *out);

/* doc as JSON text (new string, free()), reals in their shortest form and always with a '.' or
 * an exponent so they read back as reals ("3.0"); indent 0 is compact, else that many spaces
 * per level with one member per line, like jansson's JSON_INDENT. Any JSON value may be given.
 * NULL when out of memory or when doc holds a non-finite real. */
char *ag_dtoa_json_dumps(const json_t *doc, int indent);

#endif

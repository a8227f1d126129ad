/* Numbers typed as text (command-line options, query arguments, config values): one reader of
 * a whole decimal integer with a range, so every front end accepts the same strings. Callers
 * word their own messages from the result code. */
#ifndef AG_PARSE_H
#define AG_PARSE_H

/* s as a decimal integer (strtoll: leading blanks and a sign allowed, nothing after it) in
 * [min, max] into *out. AG_OK; AG_EINVAL when s is empty, has anything after the number or
 * overflows (*out untouched); AG_ERANGE when the number lies outside [min, max] (*out holds
 * it, for the message). */
int ag_parse_int(const char *s, long long min, long long max, long long *out);

#endif

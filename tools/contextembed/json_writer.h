/* Compact JSON output for the contextembed program: one object per line.
 *
 * Strings are written from explicit lengths (texts and tokens may hold NUL),
 * and the output is valid JSON whatever the bytes: control characters are
 * escaped and invalid UTF-8 becomes U+FFFD. Floats use "%.9g", enough for a
 * float32 to round-trip; NaN and infinities, which JSON cannot express, are
 * written as null. */
#ifndef CLI_JSON_WRITER_H
#define CLI_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write ',' unless *first (then clear it), then "key": . */
void cli_json_key(FILE *f, const char *key, int *first);

void cli_json_string(FILE *f, const char *s, size_t len);
void cli_json_float(FILE *f, float v);
void cli_json_int_array(FILE *f, const int32_t *v, size_t n);
void cli_json_size_array(FILE *f, const size_t *v, size_t n);
void cli_json_float_array(FILE *f, const float *v, size_t n);

/* [[b0,e0],[b1,e1],...] from 2 * n_pairs values. */
void cli_json_pairs(FILE *f, const size_t *v, size_t n_pairs);

#endif

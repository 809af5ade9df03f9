/* NumPy .npy output (format version 1.0): one C-order little-endian float32
 * array, its header padded with spaces so that the data starts at a multiple
 * of 64 bytes, as numpy.save writes it. */
#ifndef CLI_NPY_WRITER_H
#define CLI_NPY_WRITER_H

#include <stddef.h>
#include <stdio.h>

/* Write the magic, version, header length and header dictionary for an array
 * of @p ndim (<= 8) dimensions into buf. Returns the byte count (a multiple
 * of 64), or 0 when @p cap is too small. */
size_t cli_npy_header(char *buf, size_t cap, const size_t *shape, size_t ndim);

/* Write a whole .npy file to @p f. 1 on success, 0 on a write error. */
int cli_npy_write(FILE *f, const float *data, const size_t *shape, size_t ndim);

/* Write floats as little-endian bytes whatever the host's byte order (the
 * data of an array whose header was written apart). 1 on success. */
int cli_npy_write_floats(FILE *f, const float *data, size_t n);

/* "out.npy" + 3 -> "out.3.npy"; without an extension in the last path
 * component, "out" -> "out.3". malloc'd (NULL when out of memory). */
char *cli_npy_indexed_path(const char *path, size_t index);

#endif

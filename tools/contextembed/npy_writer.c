/* NumPy .npy output: see npy_writer.h. */
#include "npy_writer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NPY_PREAMBLE 10 /* magic (6), version (2), header length (2) */
#define NPY_ALIGN 64

/* "(2, 3, 4)" or "(7,)" as Python prints a tuple. */
static size_t shape_tuple(char *buf, size_t cap, const size_t *shape, size_t ndim)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (size_t i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ", %zu" : "%zu", shape[i]);
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ndim == 1 ? ",)" : ")");
    return n;
}

size_t cli_npy_header(char *buf, size_t cap, const size_t *shape, size_t ndim)
{
    char tuple[256], dict[384];
    if (ndim > 8 || shape_tuple(tuple, sizeof tuple, shape, ndim) >= sizeof tuple)
        return 0;
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple);
    if (len < 0 || (size_t)len >= sizeof dict)
        return 0;
    /* Pad with spaces and end with '\n' so the data starts 64-byte aligned. */
    size_t total = (NPY_PREAMBLE + (size_t)len + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    size_t header_len = total - NPY_PREAMBLE;
    if (total > cap || header_len > UINT16_MAX)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(header_len & 0xFF);
    buf[9] = (char)(header_len >> 8);
    memcpy(buf + NPY_PREAMBLE, dict, (size_t)len);
    memset(buf + NPY_PREAMBLE + len, ' ', header_len - (size_t)len - 1);
    buf[total - 1] = '\n';
    return total;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

int cli_npy_write_floats(FILE *f, const float *data, size_t n)
{
    if (host_is_little_endian())
        return fwrite(data, sizeof *data, n, f) == n;
    for (size_t i = 0; i < n; i++) {
        unsigned char b[4], s[4];
        memcpy(b, &data[i], 4);
        s[0] = b[3]; s[1] = b[2]; s[2] = b[1]; s[3] = b[0];
        if (fwrite(s, 1, 4, f) != 4)
            return 0;
    }
    return 1;
}

int cli_npy_write(FILE *f, const float *data, const size_t *shape, size_t ndim)
{
    char header[512];
    size_t hlen = cli_npy_header(header, sizeof header, shape, ndim);
    if (!hlen || fwrite(header, 1, hlen, f) != hlen)
        return 0;
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++)
        count *= shape[i];
    return cli_npy_write_floats(f, data, count);
}

char *cli_npy_indexed_path(const char *path, size_t index)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (dot == base)
        dot = NULL; /* ".npy" alone is a hidden file's name, not an extension */
    size_t stem = dot ? (size_t)(dot - path) : strlen(path);
    const char *ext = dot ? dot : "";
    size_t cap = stem + strlen(ext) + 32;
    char *out = malloc(cap);
    if (out)
        snprintf(out, cap, "%.*s.%zu%s", (int)stem, path, index, ext);
    return out;
}

/* Read a whole file: one allocation of its size when stat knows it, else
 * growing the buffer as it goes (pipes, /proc); never past the cap. */
#include "io/read_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

ce_status ce_file_too_big(const char *path, size_t size, size_t max)
{
    return ce_error(CE_ERR_FORMAT,
                    "%s: %zu bytes or more, over the %zu MB a file of this kind may have "
                    "(not such a file, or corrupt)",
                    path, size, max >> 20);
}

/* Read f into a buffer of cap + 1 bytes, growing while the file goes on. */
static ce_status read_all(FILE *f, const char *path, size_t cap, size_t max, char **data,
                          size_t *len)
{
    size_t n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || ferror(f))
            break;
        if (cap > max) {
            free(buf);
            return ce_file_too_big(path, n, max);
        }
        size_t grown = cap < max / 2 ? 2 * cap : max + 1; /* one byte past the cap tells */
        char *nb = realloc(buf, grown + 1);
        if (!nb)
            free(buf);
        buf = nb;
        cap = grown;
    }
    if (!buf)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory reading the file", path);
    if (ferror(f)) {
        free(buf);
        return ce_error(CE_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CE_OK;
}

ce_status ce_read_file(const char *path, size_t max, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ce_error(CE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    size_t cap = 1 << 16;
    bool regular = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);
    ce_status st = CE_OK;
    if (regular && (uint64_t)sb.st_size > max)
        st = ce_file_too_big(path, (size_t)sb.st_size, max);
    else if (regular)
        cap = (size_t)sb.st_size + 1; /* + 1: the end is seen without growing */
    if (st == CE_OK)
        st = read_all(f, path, cap, max, data, len);
    fclose(f);
    return st;
}

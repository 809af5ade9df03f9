/* Read-only file mapping with a read() fallback. */
#include "io/mapped_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

/* read() may return short counts (signals, pipes, network file systems). */
static ce_status read_all(int fd, const char *path, size_t size, uint8_t **out)
{
    uint8_t *buf = malloc(size);
    if (!buf)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes to read the file",
                        path, size);
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            free(buf);
            if (err)
                return ce_error(CE_ERR_IO, "%s: read error: %s", path, strerror(err));
            return ce_error(CE_ERR_IO, "%s: file shrank while being read", path);
        }
        done += (size_t)n;
    }
    *out = buf;
    return CE_OK;
}

static ce_status check_regular(int fd, const char *path, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ce_error(CE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return ce_error(CE_ERR_IO, "%s: is a directory, expected a file", path);
    if (!S_ISREG(st.st_mode))
        return ce_error(CE_ERR_IO, "%s: not a regular file", path);
    if (st.st_size == 0)
        return ce_error(CE_ERR_IO, "%s: file is empty", path);
    if ((uintmax_t)st.st_size > SIZE_MAX)
        return ce_error(CE_ERR_IO, "%s: file too large to map", path);
    *size = (size_t)st.st_size;
    return CE_OK;
}

static ce_status map_fd(int fd, const char *path, unsigned flags, ce_mapped_file *f)
{
    ce_status st = check_regular(fd, path, &f->size);
    if (st != CE_OK)
        return st;
    if (!(flags & CE_MAPPED_FILE_NO_MMAP)) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            f->data = p;
            f->mapped = true;
            return CE_OK;
        }
    }
    uint8_t *buf = NULL;
    st = read_all(fd, path, f->size, &buf);
    if (st == CE_OK)
        f->data = buf;
    return st;
}

ce_status ce_mapped_file_open_ex(const char *path, unsigned flags, ce_mapped_file **out)
{
    if (!path || !out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_mapped_file_open: NULL argument");
    ce_mapped_file *f = calloc(1, sizeof *f);
    char *copy = strdup(path);
    if (!f || !copy) {
        free(f);
        free(copy);
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        free(f);
        free(copy);
        return ce_error(CE_ERR_IO, "%s: cannot open: %s", path, strerror(err));
    }
    ce_status st = map_fd(fd, path, flags, f);
    close(fd); /* a mapping outlives its descriptor */
    if (st != CE_OK) {
        free(f);
        free(copy);
        return st;
    }
    f->path = copy;
    *out = f;
    return CE_OK;
}

ce_status ce_mapped_file_open(const char *path, ce_mapped_file **out)
{
    return ce_mapped_file_open_ex(path, 0, out);
}

void ce_mapped_file_close(ce_mapped_file *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap((void *)f->data, f->size);
    else
        free((void *)f->data);
    free(f->path);
    free(f);
}

/* Internal: a whole file, read-only, memory-mapped when possible.
 *
 * Weights are mapped PROT_READ / MAP_PRIVATE so the kernel shares the pages
 * between processes and loads them lazily; when mmap itself fails (some FUSE
 * or network file systems) the file is read into a heap buffer instead. */
#ifndef CE_IO_MAPPED_FILE_H
#define CE_IO_MAPPED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contextembed/common.h"

typedef struct ce_mapped_file {
    const uint8_t *data; /* size bytes; page-aligned when mapped, malloc-aligned otherwise */
    size_t size;
    bool mapped; /* true: data is an mmap; false: a heap copy */
    char *path;  /* copy of the path it was opened with */
} ce_mapped_file;

/* Open flags for ce_mapped_file_open_ex. */
enum {
    CE_MAPPED_FILE_NO_MMAP = 1, /* skip mmap and read() into memory (tests the fallback) */
};

/* Map @p path. Empty files, directories and other non-regular files, and files
 * that cannot be opened or read give CE_ERR_IO naming the path. On success *out
 * is owned by the caller (ce_mapped_file_close); untouched on failure. */
ce_status ce_mapped_file_open(const char *path, ce_mapped_file **out);
ce_status ce_mapped_file_open_ex(const char *path, unsigned flags, ce_mapped_file **out);

/* Unmap or free. Accepts NULL. */
void ce_mapped_file_close(ce_mapped_file *f);

#endif

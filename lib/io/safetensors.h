/* Internal: one safetensors file, mapped and validated.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}, then the data; offsets are relative to
 * the first byte after the header. Every offset, shape and dtype is checked
 * against the file size before any tensor byte is looked at, so a truncated
 * or lying file is an error, never a crash. */
#ifndef CE_IO_SAFETENSORS_H
#define CE_IO_SAFETENSORS_H

#include <stddef.h>

#include "io/mapped_file.h"
#include "io/weights.h"

/* A header longer than this is refused as corrupt (real ones are well below 10 MB). */
#define CE_SAFETENSORS_MAX_HEADER (100u * 1024u * 1024u)

typedef struct ce_safetensors {
    ce_mapped_file *map;
    const char *path; /* map->path */
    size_t count;
    ce_tensor_info *tensors; /* in header order; names owned here, data inside map */
    char *names;             /* one block holding every name */
} ce_safetensors;

/* Map and validate @p path. Too-short files, bad header lengths, headers that
 * are not a JSON object, missing or ill-typed fields, out-of-range or
 * inconsistent offsets, overlapping tensors -> CE_ERR_FORMAT; dtypes other than
 * F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL -> CE_ERR_UNSUPPORTED; empty or
 * unreadable files and directories -> CE_ERR_IO. Messages start with the path
 * and name the tensor. On success *out is owned by the caller
 * (ce_safetensors_close); untouched on failure. */
ce_status ce_safetensors_open(const char *path, ce_safetensors **out);

/* As ce_safetensors_open, with ce_mapped_file_open_ex flags. */
ce_status ce_safetensors_open_ex(const char *path, unsigned map_flags, ce_safetensors **out);

/* Accepts NULL. */
void ce_safetensors_close(ce_safetensors *st);

#endif

/* Internal: a whole small file (configs, vocabularies) into memory. */
#ifndef CE_IO_READ_FILE_H
#define CE_IO_READ_FILE_H

#include <stddef.h>

#include "contextembed/common.h"

/* On success *data is a malloc'd, NUL-terminated copy of the file (the caller
 * frees it) and *len its byte length; on failure both are untouched and the
 * message names @p path. */
ce_status ce_read_file(const char *path, char **data, size_t *len);

#endif

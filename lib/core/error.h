/* Internal: thread-local error message and log dispatch. */
#ifndef CE_CORE_ERROR_H
#define CE_CORE_ERROR_H

#include "contextembed/common.h"

#if defined(__GNUC__)
#define CE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CE_PRINTF(a, b)
#endif

/* Store a formatted message for ce_last_error() and return @p code, so that
 * failure paths read `return ce_error(CE_ERR_FORMAT, "...", ...);`. */
ce_status ce_error(ce_status code, const char *fmt, ...) CE_PRINTF(2, 3);

/* Prefix the current message with context ("file.safetensors: " + message). */
ce_status ce_error_prefix(ce_status code, const char *fmt, ...) CE_PRINTF(2, 3);

/* Forget the last message (successful public calls leave it alone). */
void ce_error_clear(void);

/* Deliver a message to the installed log callback, if any. */
void ce_log(ce_log_level level, const char *fmt, ...) CE_PRINTF(2, 3);

#endif

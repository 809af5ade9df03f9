/* Thread-local last-error slot, status strings and the log callback. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>
#include <stdatomic.h>

#define CE_ERROR_CAPACITY 1024

static _Thread_local char last_error[CE_ERROR_CAPACITY];

const char *ce_status_str(ce_status status)
{
    switch (status) {
    case CE_OK: return "success";
    case CE_ERR_INVALID_ARGUMENT: return "invalid argument";
    case CE_ERR_OUT_OF_MEMORY: return "out of memory";
    case CE_ERR_IO: return "input/output error";
    case CE_ERR_FORMAT: return "corrupt or inconsistent file";
    case CE_ERR_UNSUPPORTED: return "unsupported";
    case CE_ERR_INVALID_UTF8: return "invalid UTF-8";
    case CE_ERR_TOO_LONG: return "sequence too long";
    case CE_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case CE_ERR_OUT_OF_RANGE: return "out of range";
    case CE_ERR_NOT_FOUND: return "not found";
    case CE_ERR_BACKEND: return "backend error";
    case CE_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

const char *ce_last_error(void)
{
    return last_error;
}

ce_status ce_error(ce_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

ce_status ce_error_prefix(ce_status code, const char *fmt, ...)
{
    char old[CE_ERROR_CAPACITY];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_error)
        snprintf(last_error + n, sizeof last_error - (size_t)n, "%s", old);
    return code;
}

void ce_error_clear(void)
{
    last_error[0] = '\0';
}

/* The one piece of process-wide mutable state besides the backend registry:
 * swapped under a mutex so a reader never sees a callback paired with another
 * callback's user data. */
static mtx_t log_lock;
static once_flag log_once = ONCE_FLAG_INIT;
static ce_log_fn log_callback;
static void *log_user;
static ce_log_level log_min = CE_LOG_WARNING;

static void log_init(void)
{
    mtx_init(&log_lock, mtx_plain);
}

void ce_set_log_callback(ce_log_fn callback, void *user_data, ce_log_level min_level)
{
    call_once(&log_once, log_init);
    mtx_lock(&log_lock);
    log_callback = callback;
    log_user = user_data;
    log_min = min_level;
    mtx_unlock(&log_lock);
}

void ce_log(ce_log_level level, const char *fmt, ...)
{
    call_once(&log_once, log_init);
    mtx_lock(&log_lock);
    ce_log_fn fn = log_callback;
    void *user = log_user;
    ce_log_level min = log_min;
    mtx_unlock(&log_lock);
    if (!fn || level < min)
        return;
    char msg[CE_ERROR_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(user, level, msg);
}

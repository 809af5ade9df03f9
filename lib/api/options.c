/* ce_options: enum-keyed settings with bounds, copied by the objects that use them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/options_internal.h"
#include "core/cpus.h"
#include "core/error.h"

#define CE_THREADS_MAX 256

ce_status ce_options_create(ce_options **out)
{
    if (!out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_create: out is NULL");
    ce_options *o = calloc(1, sizeof *o);
    if (!o)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_options_create: out of memory");
    strcpy(o->backend, "auto");
    o->sentence_modules = 1;
    *out = o;
    return CE_OK;
}

void ce_options_free(ce_options *opts)
{
    free(opts);
}

ce_status ce_option_bounds(ce_option key, int64_t *min, int64_t *max)
{
    int64_t lo = 0, hi = 0;
    switch (key) {
    case CE_OPT_THREADS: lo = 0; hi = CE_THREADS_MAX; break;
    case CE_OPT_TRUNCATE:
    case CE_OPT_CARRY_STATE:
    case CE_OPT_SENTENCE_MODULES: lo = 0; hi = 1; break;
    case CE_OPT_LONG_INPUT: lo = CE_LONG_ERROR; hi = CE_LONG_WINDOW; break;
    case CE_OPT_WINDOW_STRIDE: lo = 0; hi = 1 << 20; break;
    case CE_OPT_BACKEND:
    case CE_OPT_PRECISION:
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_option_bounds: option %d is a string option",
                        (int)key);
    default:
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_option_bounds: unknown option %d", (int)key);
    }
    if (!min || !max)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_option_bounds: min or max is NULL");
    *min = lo;
    *max = hi;
    return CE_OK;
}

ce_status ce_options_set_int(ce_options *opts, ce_option key, int64_t value)
{
    if (!opts)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_set_int: opts is NULL");
    int64_t lo = 0, hi = 0;
    ce_status st = ce_option_bounds(key, &lo, &hi);
    if (st != CE_OK)
        return st;
    if (value < lo || value > hi)
        return ce_error(CE_ERR_OUT_OF_RANGE, "option %d: value %lld outside [%lld, %lld]", (int)key,
                        (long long)value, (long long)lo, (long long)hi);
    switch (key) {
    case CE_OPT_THREADS:
        opts->threads = value;
        opts->set |= CE_OPTSET_THREADS;
        break;
    case CE_OPT_TRUNCATE:
        opts->truncate = value;
        opts->set |= CE_OPTSET_TRUNCATE;
        break;
    case CE_OPT_SENTENCE_MODULES:
        opts->sentence_modules = value;
        opts->set |= CE_OPTSET_SENTENCE_MODULES;
        break;
    case CE_OPT_LONG_INPUT:
        opts->long_input = value;
        opts->set |= CE_OPTSET_LONG_INPUT;
        break;
    case CE_OPT_WINDOW_STRIDE:
        opts->window_stride = value;
        opts->set |= CE_OPTSET_WINDOW_STRIDE;
        break;
    default:
        opts->carry_state = value;
        opts->set |= CE_OPTSET_CARRY_STATE;
        break;
    }
    return CE_OK;
}

ce_status ce_options_set_string(ce_options *opts, ce_option key, const char *value)
{
    if (!opts || !value)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_set_string: NULL argument");
    if (key == CE_OPT_PRECISION) {
        int p = ce_precision_from_name(value);
        if (p < 0)
            return ce_error(CE_ERR_INVALID_ARGUMENT,
                            "unknown precision \"%.64s\" (valid: f32, bf16, int8)", value);
        opts->precision = p;
        opts->set |= CE_OPTSET_PRECISION;
        return CE_OK;
    }
    if (key != CE_OPT_BACKEND)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_set_string: option %d is not a string option",
                        (int)key);
    size_t n = strlen(value);
    if (n == 0 || n >= sizeof opts->backend)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "backend name must have 1 to %zu characters",
                        sizeof opts->backend - 1);
    memcpy(opts->backend, value, n + 1);
    opts->set |= CE_OPTSET_BACKEND;
    return CE_OK;
}

ce_status ce_options_get_int(const ce_options *opts, ce_option key, int64_t *value)
{
    if (!opts || !value)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_get_int: NULL argument");
    switch (key) {
    case CE_OPT_THREADS: *value = opts->threads; return CE_OK;
    case CE_OPT_TRUNCATE: *value = opts->truncate; return CE_OK;
    case CE_OPT_CARRY_STATE: *value = opts->carry_state; return CE_OK;
    case CE_OPT_SENTENCE_MODULES: *value = opts->sentence_modules; return CE_OK;
    case CE_OPT_LONG_INPUT: *value = opts->long_input; return CE_OK;
    case CE_OPT_WINDOW_STRIDE: *value = opts->window_stride; return CE_OK;
    default:
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_get_int: option %d is not an integer option",
                        (int)key);
    }
}

ce_status ce_options_get_string(const ce_options *opts, ce_option key, const char **value)
{
    if (!opts || !value)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_options_get_string: NULL argument");
    if (key == CE_OPT_PRECISION) {
        *value = ce_precision_name((ce_precision)opts->precision);
        return CE_OK;
    }
    if (key != CE_OPT_BACKEND)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_options_get_string: option %d is not a string option", (int)key);
    *value = opts->backend;
    return CE_OK;
}

/* Threads are capped at the CPUs the process may run on: more would only
 * make them wait on each other. */
static int online_cpus(void)
{
    int n = ce_cpus_usable();
    return n > CE_THREADS_MAX ? CE_THREADS_MAX : n;
}

static int capped_threads(int64_t asked)
{
    int cpus = online_cpus();
    return asked > 0 && asked < cpus ? (int)asked : cpus;
}

void ce_settings_resolve(const ce_settings *base, const ce_options *opts, ce_settings *out)
{
    ce_settings s;
    if (base) {
        s = *base;
    } else {
        strcpy(s.backend, "auto");
        s.threads = online_cpus();
        s.truncate = 0;
        s.carry_state = 0;
        s.sentence_modules = 1;
        s.long_input = CE_LONG_ERROR;
        s.window_stride = 0;
        s.precision = CE_PRECISION_F32;
    }
    if (opts && (opts->set & CE_OPTSET_BACKEND))
        memcpy(s.backend, opts->backend, sizeof s.backend);
    if (opts && (opts->set & CE_OPTSET_THREADS))
        s.threads = capped_threads(opts->threads);
    if (opts && (opts->set & CE_OPTSET_TRUNCATE))
        s.truncate = (int)opts->truncate;
    if (opts && (opts->set & CE_OPTSET_CARRY_STATE))
        s.carry_state = (int)opts->carry_state;
    if (opts && (opts->set & CE_OPTSET_SENTENCE_MODULES))
        s.sentence_modules = (int)opts->sentence_modules;
    if (opts && (opts->set & CE_OPTSET_TRUNCATE) && !(opts->set & CE_OPTSET_LONG_INPUT))
        s.long_input = s.truncate ? CE_LONG_TRUNCATE : CE_LONG_ERROR;
    if (opts && (opts->set & CE_OPTSET_LONG_INPUT))
        s.long_input = (int)opts->long_input;
    if (opts && (opts->set & CE_OPTSET_WINDOW_STRIDE))
        s.window_stride = opts->window_stride;
    if (opts && (opts->set & CE_OPTSET_PRECISION))
        s.precision = opts->precision;
    *out = s;
}

int ce_precision_from_name(const char *name)
{
    for (int p = CE_PRECISION_F32; p <= CE_PRECISION_INT8; p++)
        if (name && !strcmp(name, ce_precision_name((ce_precision)p)))
            return p;
    return -1;
}

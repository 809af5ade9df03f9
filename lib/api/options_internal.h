/* Internal: the fields behind the opaque ce_options. */
#ifndef CE_API_OPTIONS_INTERNAL_H
#define CE_API_OPTIONS_INTERNAL_H

#include "contextembed/options.h"

/* Which fields were set explicitly, so session options can inherit the model's. */
enum {
    CE_OPTSET_BACKEND = 1u << 0,
    CE_OPTSET_THREADS = 1u << 1,
    CE_OPTSET_TRUNCATE = 1u << 2,
    CE_OPTSET_CARRY_STATE = 1u << 3,
    CE_OPTSET_SENTENCE_MODULES = 1u << 4,
    CE_OPTSET_LONG_INPUT = 1u << 5,
    CE_OPTSET_WINDOW_STRIDE = 1u << 6,
    CE_OPTSET_PRECISION = 1u << 7,
};

#define CE_BACKEND_NAME_MAX 64

struct ce_options {
    unsigned set;
    char backend[CE_BACKEND_NAME_MAX];
    int64_t threads;
    int64_t truncate;
    int64_t carry_state;
    int64_t sentence_modules;
    int64_t long_input;
    int64_t window_stride;
    int precision; /* a ce_precision */
};

/* Resolved settings a model or session keeps. */
typedef struct ce_settings {
    char backend[CE_BACKEND_NAME_MAX];
    int threads; /* >= 1 */
    int truncate;
    int carry_state;
    int sentence_modules; /* ce_model_open: read modules.json */
    int long_input;       /* a ce_long_input */
    int64_t window_stride; /* 0: a quarter of the model's maximum */
    int precision;         /* a ce_precision; a model's, which its sessions share */
} ce_settings;

/* The ce_precision spelled @p name ("f32", "bf16", "int8"); -1 when unknown. */
int ce_precision_from_name(const char *name);

/* Defaults, overridden by @p base (may be NULL), overridden by what @p opts set (may be NULL). */
void ce_settings_resolve(const ce_settings *base, const ce_options *opts, ce_settings *out);

#endif

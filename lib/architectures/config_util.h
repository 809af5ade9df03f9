/* Internal: checked reads of config.json values shared by the model families. */
#ifndef CE_ARCH_CONFIG_UTIL_H
#define CE_ARCH_CONFIG_UTIL_H

#include "io/json.h"

/* One integer key: its range, and a fallback when it may be absent (or null). */
typedef struct ce_int_field {
    const char *key;
    int64_t *dst;
    int64_t min, max;
    int required;
    int64_t fallback;
} ce_int_field;

/* Read every field; the first missing, non-integer or out-of-range one fails
 * with CE_ERR_FORMAT naming @p source and the key. */
ce_status ce_config_read_ints(const ce_json *config, const char *source, const ce_int_field *fields,
                              size_t n);

/* A positive float below 1 (layer norm epsilon) under @p key, else @p fallback. */
ce_status ce_config_read_eps(const ce_json *config, const char *source, const char *key,
                             double fallback, float *out);

/* An activation name under @p key (absent: @p fallback) mapped with ce_activation_from_name. */
ce_status ce_config_read_activation(const ce_json *config, const char *source, const char *key,
                                    int fallback, int *out);

#endif

/* Checked config.json reads: every size is validated before anything is allocated from it. */
#include "architectures/config_util.h"

#include "architectures/layers.h"
#include "core/error.h"

static ce_status read_int(const ce_json *config, const char *source, const ce_int_field *f)
{
    const ce_json *v = ce_json_get(config, f->key);
    if (!v || v->type == CE_JSON_NULL) {
        if (f->required)
            return ce_error(CE_ERR_FORMAT, "%s: missing \"%s\"", source, f->key);
        *f->dst = f->fallback;
        return CE_OK;
    }
    if (v->type != CE_JSON_NUMBER || !v->is_integer)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s\" must be an integer", source, f->key);
    if (v->integer < f->min || v->integer > f->max)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s\" = %lld is outside [%lld, %lld]", source, f->key,
                        (long long)v->integer, (long long)f->min, (long long)f->max);
    *f->dst = v->integer;
    return CE_OK;
}

ce_status ce_config_read_ints(const ce_json *config, const char *source, const ce_int_field *fields,
                              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ce_status st = read_int(config, source, &fields[i]);
        if (st != CE_OK)
            return st;
    }
    return CE_OK;
}

ce_status ce_config_read_eps(const ce_json *config, const char *source, const char *key,
                             double fallback, float *out)
{
    const ce_json *v = ce_json_get(config, key);
    double eps = fallback;
    if (v) {
        if (v->type != CE_JSON_NUMBER)
            return ce_error(CE_ERR_FORMAT, "%s: \"%s\" must be a number", source, key);
        eps = v->number;
    }
    if (!(eps > 0.0 && eps < 1.0))
        return ce_error(CE_ERR_FORMAT, "%s: \"%s\" = %g is outside (0, 1)", source, key, eps);
    *out = (float)eps;
    return CE_OK;
}

ce_status ce_config_read_activation(const ce_json *config, const char *source, const char *key,
                                    int fallback, int *out)
{
    const ce_json *v = ce_json_get(config, key);
    if (!v) {
        *out = fallback;
        return CE_OK;
    }
    int act = v->type == CE_JSON_STRING ? ce_activation_from_name(v->str) : -1;
    if (act < 0)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: \"%s\" %s is not supported (gelu, gelu_new, gelu_pytorch_tanh, "
                        "gelu_fast, relu)", source, key,
                        v->type == CE_JSON_STRING ? v->str : "(not a string)");
    *out = act;
    return CE_OK;
}

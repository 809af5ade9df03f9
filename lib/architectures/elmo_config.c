/* ELMo options.json: read and check every value before anything is sized from
 * it. Keys and defaults follow bilm-tf (n_layers 1, no highway, no clipping,
 * no skip connections when absent); training-only keys are ignored. */
#include <stdlib.h>
#include <string.h>

#include "architectures/elmo.h"
#include "core/error.h"
#include "tokenizers/elmo_chars.h"

#define BIG 65536

/* An integer member in [min, max]; absent (or null) gives @p fallback when
 * @p required is 0. */
static ce_status get_int(const ce_json *obj, const char *sect, const char *key, const char *src,
                         int64_t min, int64_t max, int required, int64_t fallback, int64_t *out)
{
    const ce_json *v = ce_json_get(obj, key);
    if (!v || v->type == CE_JSON_NULL) {
        if (required)
            return ce_error(CE_ERR_FORMAT, "%s: missing \"%s.%s\"", src, sect, key);
        *out = fallback;
        return CE_OK;
    }
    if (v->type != CE_JSON_NUMBER || !v->is_integer)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s.%s\" must be an integer", src, sect, key);
    if (v->integer < min || v->integer > max)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s.%s\" = %lld is outside [%lld, %lld]", src, sect,
                        key, (long long)v->integer, (long long)min, (long long)max);
    *out = v->integer;
    return CE_OK;
}

/* A clip value: absent or null means none; otherwise a positive number. */
static ce_status get_clip(const ce_json *lstm, const char *key, const char *src, float *out)
{
    const ce_json *v = ce_json_get(lstm, key);
    *out = 0.0f;
    if (!v || v->type == CE_JSON_NULL)
        return CE_OK;
    if (v->type != CE_JSON_NUMBER || !(v->number > 0.0 && v->number < 1e30))
        return ce_error(CE_ERR_FORMAT, "%s: \"lstm.%s\" must be a positive number or null", src,
                        key);
    *out = (float)v->number;
    return CE_OK;
}

static ce_status get_flag(const ce_json *obj, const char *sect, const char *key, const char *src,
                          int fallback, int *out)
{
    const ce_json *v = ce_json_get(obj, key);
    if (!v || v->type == CE_JSON_NULL) {
        *out = fallback;
        return CE_OK;
    }
    if (v->type != CE_JSON_BOOL)
        return ce_error(CE_ERR_FORMAT, "%s: \"%s.%s\" must be true or false", src, sect, key);
    *out = v->boolean;
    return CE_OK;
}

static ce_status read_filters(const ce_json *cnn, const char *src, elmo_config *c)
{
    const ce_json *f = ce_json_get(cnn, "filters");
    if (!f || f->type != CE_JSON_ARRAY || f->n == 0 || f->n > 256)
        return ce_error(CE_ERR_FORMAT,
                        "%s: \"char_cnn.filters\" must be a list of 1 to 256 "
                        "[width, count] pairs",
                        src);
    c->filters = calloc(f->n, sizeof *c->filters);
    if (!c->filters)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    c->n_filters = f->n;
    for (size_t i = 0; i < f->n; i++) {
        const ce_json *p = f->items[i];
        const ce_json *w = p->type == CE_JSON_ARRAY && p->n == 2 ? p->items[0] : NULL;
        const ce_json *n = w ? p->items[1] : NULL;
        if (!w || w->type != CE_JSON_NUMBER || !w->is_integer || n->type != CE_JSON_NUMBER ||
            !n->is_integer || w->integer < 1 || w->integer > c->max_chars || n->integer < 1 ||
            n->integer > BIG)
            return ce_error(CE_ERR_FORMAT,
                            "%s: \"char_cnn.filters\"[%zu] must be [width, count] with width in "
                            "[1, max_characters_per_token = %lld] and count in [1, %d]",
                            src, i, (long long)c->max_chars, BIG);
        c->filters[i] = (elmo_filter){w->integer, n->integer};
        c->cnn_width += n->integer;
        c->max_width = w->integer > c->max_width ? w->integer : c->max_width;
        c->max_num = n->integer > c->max_num ? n->integer : c->max_num;
    }
    if (c->cnn_width > 16 * BIG)
        return ce_error(CE_ERR_FORMAT, "%s: the char CNN has %lld filters; at most %d", src,
                        (long long)c->cnn_width, 16 * BIG);
    return CE_OK;
}

static ce_status read_activation(const ce_json *cnn, const char *src, elmo_config *c)
{
    const char *a = ce_json_get_string(cnn, "activation");
    if (!a)
        return ce_error(CE_ERR_FORMAT, "%s: missing \"char_cnn.activation\" (relu or tanh)", src);
    if (strcmp(a, "relu") && strcmp(a, "tanh"))
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: char_cnn activation \"%s\" is not supported "
                        "(relu or tanh)",
                        src, a);
    c->tanh = !strcmp(a, "tanh");
    return CE_OK;
}

/* n_characters counts 261 rows (training) or 262 (with the padding id 0). */
static ce_status read_cnn(const ce_json *cnn, const char *src, elmo_config *c)
{
    int64_t n_chars;
    ce_status st = get_int(cnn, "char_cnn", "n_characters", src, ELMO_CHAR_ROWS, CE_ELMO_CHAR_IDS,
                           0, CE_ELMO_CHAR_IDS, &n_chars);
    if (st == CE_OK)
        st = get_int(cnn, "char_cnn", "max_characters_per_token", src, CE_ELMO_MIN_CHARS, 1024, 1,
                     0, &c->max_chars);
    if (st == CE_OK)
        st = get_int(ce_json_get(cnn, "embedding"), "char_cnn.embedding", "dim", src, 1, 4096, 1, 0,
                     &c->char_dim);
    if (st == CE_OK)
        st = get_int(cnn, "char_cnn", "n_highway", src, 0, 64, 0, 0, &c->n_highway);
    if (st == CE_OK)
        st = read_activation(cnn, src, c);
    return st == CE_OK ? read_filters(cnn, src, c) : st;
}

static ce_status read_lstm(const ce_json *lstm, const char *src, elmo_config *c)
{
    ce_status st = get_int(lstm, "lstm", "dim", src, 1, BIG, 1, 0, &c->lstm_dim);
    if (st == CE_OK)
        st = get_int(lstm, "lstm", "projection_dim", src, 1, BIG, 1, 0, &c->proj_dim);
    if (st == CE_OK)
        st = get_int(lstm, "lstm", "n_layers", src, 1, 64, 0, 1, &c->n_layers);
    if (st == CE_OK)
        st = get_clip(lstm, "cell_clip", src, &c->cell_clip);
    if (st == CE_OK)
        st = get_clip(lstm, "proj_clip", src, &c->proj_clip);
    if (st == CE_OK)
        st = get_flag(lstm, "lstm", "use_skip_connections", src, 0, &c->skip);
    if (st != CE_OK)
        return st;
    /* bilm-tf projects only when projection_dim < dim; a wider "projection"
     * would give layers of different widths, which no released model has. */
    if (c->proj_dim > c->lstm_dim)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: lstm.projection_dim %lld > lstm.dim %lld is not "
                        "supported",
                        src, (long long)c->proj_dim, (long long)c->lstm_dim);
    c->lstm_proj = c->proj_dim < c->lstm_dim;
    return CE_OK;
}

static ce_status check_shape(const ce_json *config, const char *src)
{
    int bidi = 1;
    ce_status st = get_flag(config, "options", "bidirectional", src, 1, &bidi);
    if (st == CE_OK && !bidi)
        st = ce_error(CE_ERR_UNSUPPORTED,
                      "%s: unidirectional ELMo (bidirectional: false) is "
                      "not supported",
                      src);
    return st;
}

ce_status ce_elmo_parse_config(const ce_json *config, const char *source, elmo_config *cfg)
{
    if (!config || config->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: not a JSON object", source);
    const ce_json *cnn = ce_json_get(config, "char_cnn");
    const ce_json *lstm = ce_json_get(config, "lstm");
    if (!cnn || cnn->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_UNSUPPORTED,
                        "%s: no \"char_cnn\" object: ELMo models with a "
                        "token vocabulary instead of characters are not supported",
                        source);
    if (!lstm || lstm->type != CE_JSON_OBJECT)
        return ce_error(CE_ERR_FORMAT, "%s: no \"lstm\" object", source);
    elmo_config c = {0};
    ce_status st = check_shape(config, source);
    if (st == CE_OK)
        st = read_cnn(cnn, source, &c);
    if (st == CE_OK)
        st = read_lstm(lstm, source, &c);
    if (st != CE_OK) {
        ce_elmo_config_free(&c);
        return st;
    }
    c.cnn_proj = c.cnn_width != c.proj_dim;
    *cfg = c;
    return CE_OK;
}

void ce_elmo_config_free(elmo_config *cfg)
{
    free(cfg->filters);
    cfg->filters = NULL;
    cfg->n_filters = 0;
}

int64_t ce_elmo_parameter_count(const elmo_config *c)
{
    int64_t p = ELMO_CHAR_ROWS * c->char_dim, w = c->cnn_width;
    for (size_t i = 0; i < c->n_filters; i++)
        p += c->filters[i].width * c->char_dim * c->filters[i].num + c->filters[i].num;
    p += c->n_highway * 2 * (w * w + w);
    if (c->cnn_proj)
        p += w * c->proj_dim + c->proj_dim;
    int64_t cell = 2 * c->proj_dim * 4 * c->lstm_dim + 4 * c->lstm_dim;
    if (c->lstm_proj)
        cell += c->lstm_dim * c->proj_dim;
    return p + 2 * c->n_layers * cell;
}

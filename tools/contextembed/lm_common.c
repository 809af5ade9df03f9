/* The language-model commands' shared steps: see lm.h. */
#include "lm.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_writer.h"

int cli_lm_common_opt(lm_args *a, int id, const char *v, const cli_parser *p, const char *usage)
{
    switch (id) {
    case LM_OPT_MODEL: a->model = v; return CLI_EXIT_OK;
    case LM_OPT_BACKEND: a->backend = v; return CLI_EXIT_OK;
    case LM_OPT_PRECISION: a->precision = v; return CLI_EXIT_OK;
    case LM_OPT_THREADS:
        if (!cli_parse_long(v, 0, 1 << 16, &a->threads))
            return cli_usage(a->cmd, "bad --threads value '%s'", v);
        return CLI_EXIT_OK;
    case LM_OPT_IDS:
        free(a->ids);
        a->ids = NULL;
        if (!cli_parse_int_list(v, &a->ids, &a->n_ids))
            return cli_usage(a->cmd, "bad --ids value '%s' (comma-separated integers)", v);
        return CLI_EXIT_OK;
    case LM_OPT_HELP: fputs(usage, stdout); return -1;
    case CLI_ARG_POSITIONAL:
        if (a->text)
            return cli_usage(a->cmd, "one TEXT only (quote it): unexpected '%s'", v);
        a->text = v;
        return CLI_EXIT_OK;
    case CLI_ARG_ERROR: return cli_usage(a->cmd, "%s", p->error);
    default: return -2;
    }
}

int cli_lm_check_args(const lm_args *a)
{
    if (!a->model)
        return cli_usage(a->cmd, "missing -m MODEL");
    if (a->text && a->ids)
        return cli_usage(a->cmd, "give TEXT or --ids, not both");
    if (!a->text && !a->ids)
        return cli_usage(a->cmd, "missing TEXT (or --ids I,J,..)");
    return CLI_EXIT_OK;
}

void cli_lm_args_free(lm_args *a)
{
    free(a->ids);
    a->ids = NULL;
}

static int read_info(const ce_model *m, ce_model_info key, size_t *out)
{
    int64_t v;
    ce_status st = ce_model_get_info(m, key, &v);
    if (st != CE_OK)
        return cli_fail(st);
    *out = (size_t)v;
    return CLI_EXIT_OK;
}

int cli_lm_open(const lm_args *a, lm_ctx *c)
{
    memset(c, 0, sizeof *c);
    int rc = cli_options_make(a->cmd, a->backend, a->threads, 0, &c->opts);
    if (!rc)
        rc = cli_options_precision(a->cmd, c->opts, a->precision);
    if (!rc)
        rc = cli_model_open(a->model, c->opts, &c->model);
    if (!rc)
        rc = read_info(c->model, CE_INFO_VOCAB_SIZE, &c->vocab);
    if (!rc)
        rc = read_info(c->model, CE_INFO_MAX_POSITIONS, &c->max_positions);
    size_t caps = 0;
    if (!rc)
        rc = read_info(c->model, CE_INFO_CAPABILITIES, &caps);
    if (!rc && !(caps & CE_CAP_DECODER))
        rc = cli_failf("%s: %s models are not decoders: they have no next-token logits "
                       "('contextembed embed' gives their vectors)",
                       a->model, ce_model_architecture(c->model));
    if (!rc)
        rc = cli_session_create(c->model, c->opts, &c->session);
    if (rc)
        return rc;
    c->tok = ce_model_tokenizer(c->model);
    return CLI_EXIT_OK;
}

void cli_lm_close(lm_ctx *c)
{
    free(c->logits);
    ce_session_free(c->session);
    ce_model_free(c->model);
    ce_options_free(c->opts);
    memset(c, 0, sizeof *c);
}

/* All of standard input, kept byte for byte (a prompt may span lines). */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap)
            break;
        char *p = cap < SIZE_MAX / 2 ? realloc(buf, cap *= 2) : NULL;
        if (!p)
            free(buf);
        buf = p;
    }
    if (buf && ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int encode_text(const lm_args *a, const lm_ctx *c, int32_t **ids, size_t *n)
{
    if (!c->tok)
        return cli_failf("%s has no tokenizer files: give the prompt with --ids I,J,..", a->model);
    int from_stdin = !strcmp(a->text, "-");
    size_t len = strlen(a->text);
    char *text = from_stdin ? read_stdin(&len) : (char *)a->text;
    if (!text)
        return cli_failf("cannot read standard input: %s", strerror(errno));
    ce_encoding *e = NULL;
    ce_status st = ce_tokenizer_encode(c->tok, text, len, NULL, 0, 0, 0, &e);
    if (from_stdin)
        free(text);
    if (st != CE_OK)
        return cli_fail(st);
    *n = ce_encoding_length(e);
    *ids = malloc((*n ? *n : 1) * sizeof **ids);
    if (*ids)
        memcpy(*ids, ce_encoding_ids(e), *n * sizeof **ids);
    ce_encoding_free(e);
    return *ids ? CLI_EXIT_OK : cli_failf("out of memory");
}

int cli_lm_prompt(const lm_args *a, const lm_ctx *c, int32_t **ids, size_t *n)
{
    if (a->ids) {
        *ids = malloc(a->n_ids * sizeof **ids);
        if (!*ids)
            return cli_failf("out of memory");
        memcpy(*ids, a->ids, a->n_ids * sizeof **ids);
        *n = a->n_ids;
        return CLI_EXIT_OK;
    }
    int rc = encode_text(a, c, ids, n);
    if (rc || *n)
        return rc;
    free(*ids);
    *ids = NULL;
    /* A decoder predicts from what precedes: it needs at least one token. GPT-2
     * starts a text from its end-of-text token. */
    int32_t eos;
    if (c->tok && ce_tokenizer_special_id(c->tok, CE_SPECIAL_EOS, &eos) == CE_OK)
        return cli_usage(a->cmd, "empty prompt: the model needs at least one token; to start "
                                 "from nothing give the end-of-text token: --ids %d", (int)eos);
    return cli_usage(a->cmd, "empty prompt: the model needs at least one token (GPT-2 starts "
                             "from end-of-text: --ids 50256)");
}

int cli_lm_read_logits(lm_ctx *c, size_t *rows)
{
    size_t count = 0;
    ce_status st = ce_session_logits(c->session, c->logits, c->logits_cap, &count);
    if (st == CE_ERR_BUFFER_TOO_SMALL) {
        float *p = realloc(c->logits, count * sizeof *p);
        if (!p)
            return cli_failf("out of memory for %zu logits", count);
        c->logits = p;
        c->logits_cap = count;
        st = ce_session_logits(c->session, c->logits, c->logits_cap, &count);
    }
    if (st != CE_OK)
        return cli_fail(st);
    *rows = c->vocab ? count / c->vocab : 0;
    return CLI_EXIT_OK;
}

double cli_lm_logsumexp(const float *row, size_t n)
{
    double max = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++)
        max = row[i] > max ? row[i] : max;
    if (!isfinite(max))
        return max;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)row[i] - max);
    return max + log(sum);
}

char *cli_lm_token_text(const ce_tokenizer *tok, int32_t id, size_t *len)
{
    size_t need = 0;
    if (!tok)
        return NULL;
    ce_status st = ce_tokenizer_decode(tok, &id, 1, 0, NULL, 0, &need);
    if (st != CE_OK && st != CE_ERR_BUFFER_TOO_SMALL)
        return NULL;
    char *buf = malloc(need + 1);
    if (buf && ce_tokenizer_decode(tok, &id, 1, 0, buf, need, &need) != CE_OK) {
        free(buf);
        return NULL;
    }
    if (buf) {
        buf[need] = '\0';
        *len = need;
    }
    return buf;
}

void cli_lm_json_token(FILE *f, const ce_tokenizer *tok, int32_t id)
{
    size_t len = 0;
    char *s = cli_lm_token_text(tok, id, &len);
    if (s)
        cli_json_string(f, s, len);
    else
        fputs("null", f);
    free(s);
}

void cli_lm_json_double(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

int cli_lm_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/* The task-head commands' shared steps: options, opening, head choice, labels,
 * encodings and JSON bits (running sequences is heads_run.c). See heads.h. */
#include "heads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_writer.h"

/* Indexed by ce_head: the names `info`, the library and the binding use. */
static const char *const head_names[] = {"masked_lm", "next_sentence", "sequence_classification",
                                         "token_classification", "question_answering"};
#define N_HEADS (sizeof head_names / sizeof *head_names)

int cli_head_args_init(head_args *a, const char *cmd, int argc)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->threads = -1;
    if (!(a->texts = calloc((size_t)argc + 1, sizeof *a->texts)))
        return cli_failf("out of memory");
    return CLI_EXIT_OK;
}

void cli_head_args_free(head_args *a)
{
    free(a->ids);
    free(a->type_ids);
    free(a->texts);
    memset(a, 0, sizeof *a);
}

static int parse_ids(head_args *a, int types, const char *v)
{
    int32_t **dst = types ? &a->type_ids : &a->ids;
    size_t *n = types ? &a->n_type_ids : &a->n_ids;
    if (*dst || !cli_parse_int_list(v, dst, n))
        return cli_usage(a->cmd, "bad or repeated --%s '%s' (comma-separated integers)",
                         types ? "type-ids" : "ids", v);
    return CLI_EXIT_OK;
}

int cli_head_common_opt(head_args *a, int id, const char *v, const cli_parser *p,
                        const char *usage)
{
    switch (id) {
    case HEAD_OPT_MODEL: a->model = v; return CLI_EXIT_OK;
    case HEAD_OPT_BACKEND: a->backend = v; return CLI_EXIT_OK;
    case HEAD_OPT_JSONL: a->jsonl = 1; return CLI_EXIT_OK;
    case HEAD_OPT_THREADS:
        if (!cli_parse_long(v, 0, 1 << 16, &a->threads))
            return cli_usage(a->cmd, "bad --threads value '%s'", v);
        return CLI_EXIT_OK;
    case HEAD_OPT_FORMAT:
        return strcmp(v, "json") ? cli_usage(a->cmd, "bad --format '%s' (json only)", v)
                                 : CLI_EXIT_OK;
    case HEAD_OPT_IDS: return parse_ids(a, 0, v);
    case HEAD_OPT_TYPE_IDS: return parse_ids(a, 1, v);
    case HEAD_OPT_HELP: fputs(usage, stdout); return -1;
    case CLI_ARG_POSITIONAL: a->texts[a->n_texts++] = (char *)v; return CLI_EXIT_OK;
    case CLI_ARG_ERROR: return cli_usage(a->cmd, "%s", p->error);
    default: return -2;
    }
}

int cli_head_check_args(const head_args *a)
{
    if (!a->model)
        return cli_usage(a->cmd, "missing -m MODEL");
    if (a->type_ids && !a->ids)
        return cli_usage(a->cmd, "--type-ids needs --ids");
    if (a->ids && (a->n_texts || a->jsonl))
        return cli_usage(a->cmd, "--ids replaces the texts: give no text or --jsonl");
    if (a->type_ids && a->n_type_ids != a->n_ids)
        return cli_usage(a->cmd, "--type-ids has %zu values for %zu --ids", a->n_type_ids,
                         a->n_ids);
    return CLI_EXIT_OK;
}

/* "masked_lm, next_sentence": the names of the heads in @p mask, into buf. */
static void list_heads(int64_t mask, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_HEADS && used < cap; i++)
        if (mask & ((int64_t)1 << i))
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "",
                                     head_names[i]);
}

/* The first wanted head the model has, or a failure naming those it has. */
static int choose_head(head_ctx *c, const ce_head *want, size_t n_want)
{
    int64_t heads = 0;
    ce_status st = ce_model_get_info(c->model, CE_INFO_HEADS, &heads);
    if (st != CE_OK)
        return cli_fail(st);
    for (size_t i = 0; i < n_want; i++)
        if (heads & ((int64_t)1 << want[i])) {
            c->head = want[i];
            st = ce_model_head_size(c->model, c->head, &c->size);
            return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
        }
    char need[200] = "", have[200];
    for (size_t i = 0, used = 0; i < n_want && used < sizeof need; i++) /* in preference order */
        used += (size_t)snprintf(need + used, sizeof need - used, "%s%s", i ? " or " : "",
                                 head_names[want[i]]);
    list_heads(heads, have, sizeof have);
    return cli_failf("%s: %s needs a model with a %s head; %s%s", c->path, c->cmd, need,
                     heads ? "this one has: " : "this one has no task heads (a bare encoder)",
                     have);
}

int cli_head_open(const head_args *a, const ce_head *want, size_t n_want, head_ctx *c)
{
    char err[512];
    memset(c, 0, sizeof *c);
    c->cmd = a->cmd;
    c->path = a->model;
    if (!a->ids && !cli_texts_collect(&c->texts, a->texts, a->n_texts, a->jsonl, stdin, err,
                                      sizeof err))
        return cli_failf("%s", err);
    int rc = cli_options_make(a->cmd, a->backend, a->threads, 0, &c->opts);
    if (!rc)
        rc = cli_model_open(a->model, c->opts, &c->model);
    if (!rc)
        rc = choose_head(c, want, n_want);
    if (!rc)
        rc = cli_session_create(c->model, c->opts, &c->session);
    if (!rc)
        c->tok = ce_model_tokenizer(c->model);
    return rc;
}

void cli_head_close(head_ctx *c)
{
    free(c->logits);
    ce_session_free(c->session);
    ce_model_free(c->model);
    ce_options_free(c->opts);
    cli_texts_free(&c->texts);
    memset(c, 0, sizeof *c);
}

int cli_head_tokenizer(const head_ctx *c, const ce_tokenizer **tok)
{
    if (!c->tok)
        return cli_failf("%s: the model has no tokenizer; give --ids", c->path);
    *tok = c->tok;
    return CLI_EXIT_OK;
}

int cli_head_labels(const head_ctx *c, char ***names)
{
    char **v = calloc(c->size ? c->size : 1, sizeof *v);
    for (size_t i = 0; v && i < c->size; i++) {
        const char *label = ce_model_head_label(c->model, c->head, i);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "LABEL_%zu", i);
        if (!(v[i] = strdup(label ? label : fallback))) {
            cli_head_labels_free(v, i);
            v = NULL;
        }
    }
    if (!v)
        return cli_failf("out of memory");
    *names = v;
    return CLI_EXIT_OK;
}

void cli_head_labels_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

int cli_head_encode(const head_ctx *c, const char *pair, ce_encoding ***encs)
{
    const ce_tokenizer *tok = NULL;
    int rc = cli_head_tokenizer(c, &tok);
    if (rc)
        return rc;
    ce_encoding **e = calloc(c->texts.n ? c->texts.n : 1, sizeof *e);
    if (!e)
        return cli_failf("out of memory");
    size_t pair_len = pair ? strlen(pair) : 0;
    for (size_t i = 0; i < c->texts.n; i++) {
        const cli_text *t = &c->texts.items[i];
        ce_status st = ce_tokenizer_encode(tok, t->data, t->len, pair, pair_len,
                                           CE_ENCODE_ADD_SPECIAL, 0, &e[i]);
        if (st != CE_OK) {
            rc = cli_failf("%s (text %zu)", ce_last_error(), i);
            cli_head_encodings_free(e, i);
            return rc;
        }
    }
    *encs = e;
    return CLI_EXIT_OK;
}

void cli_head_encodings_free(ce_encoding **encs, size_t n)
{
    for (size_t i = 0; encs && i < n; i++)
        ce_encoding_free(encs[i]);
    free(encs);
}

void cli_head_json_strings(FILE *f, char *const *s, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        cli_json_string(f, s[i], strlen(s[i]));
    }
    fputc(']', f);
}

void cli_head_json_double(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

void cli_head_json_doubles(FILE *f, const double *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        cli_head_json_double(f, v[i]);
    }
    fputc(']', f);
}

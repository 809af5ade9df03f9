/* contextembed logits: the next-token distribution after a prompt. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_writer.h"
#include "lm.h"
#include "npy_writer.h"

static const char logits_usage[] =
    "Usage: contextembed logits -m MODEL [--top K] [--all-positions]\n"
    "                           [--format json|npy] [-o FILE] (TEXT | --ids I,J,..)\n"
    "\n"
    "Run a decoder model (GPT-2) on a prompt and print the K most likely next\n"
    "tokens as one JSON array, most likely first (equal logits: lower id first):\n"
    "  [{\"id\": 641, \"token\": \" fe\", \"logit\": 0.53, \"logprob\": -6.8}, ...]\n"
    "\"token\" is the id decoded to text (null when the model has no tokenizer),\n"
    "\"logprob\" the natural log-softmax over the whole vocabulary, computed in\n"
    "double precision. With --all-positions: one such array for every prompt\n"
    "position (what follows its first 1, 2, ... tokens), in one JSON array.\n"
    "With --format npy: all float32 logits as .npy, shape [V], or [T, V] with\n"
    "--all-positions. TEXT is encoded without added special tokens; \"-\" reads\n"
    "all of standard input, byte for byte (a final newline too).\n"
    "\n" LM_COMMON_HELP
    "      --top K            tokens per position (default 10)\n"
    "      --all-positions    every position, not only the last\n"
    "      --format F         json (default) or npy\n"
    "  -o, --output FILE      write there instead of standard output\n";

enum { OPT_TOP = LM_OPT_OWN, OPT_ALL, OPT_FORMAT, OPT_OUTPUT };

static const cli_opt logits_opts[] = {
    LM_COMMON_OPTS,
    {OPT_TOP, 0, "top", 1},
    {OPT_ALL, 0, "all-positions", 0},
    {OPT_FORMAT, 0, "format", 1},
    {OPT_OUTPUT, 'o', "output", 1},
    {0, 0, NULL, 0},
};

typedef struct logits_args {
    lm_args lm;
    long top;
    int all, npy;
    const char *output;
} logits_args;

static int parse_own(logits_args *a, int id, const char *v)
{
    switch (id) {
    case OPT_TOP:
        if (!cli_parse_long(v, 1, 1L << 30, &a->top))
            return cli_usage("logits", "bad --top value '%s' (a count >= 1)", v);
        return CLI_EXIT_OK;
    case OPT_ALL: a->all = 1; return CLI_EXIT_OK;
    case OPT_FORMAT:
        if (strcmp(v, "json") && strcmp(v, "npy"))
            return cli_usage("logits", "bad --format '%s' (json or npy)", v);
        a->npy = !strcmp(v, "npy");
        return CLI_EXIT_OK;
    default: a->output = v; return CLI_EXIT_OK;
    }
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, logits_args *a)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, logits_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        rc = cli_lm_common_opt(&a->lm, id, v, &p, logits_usage);
        if (rc == -2)
            rc = parse_own(a, id, v);
    }
    return rc ? rc : cli_lm_check_args(&a->lm);
}

typedef struct scored {
    float logit;
    size_t id;
} scored;

/* Larger logit first, then lower id; NaN last. */
static int compare_scored(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    if (a->logit > b->logit || (a->logit == a->logit && b->logit != b->logit))
        return -1;
    if (b->logit > a->logit || (b->logit == b->logit && a->logit != a->logit))
        return 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Ids of the k largest logits, in compare_scored() order. Small k (the usual
 * case) by insertion, O(n k); a large k sorts the whole row. 0 when out of memory. */
static int top_k(const float *row, size_t n, size_t k, size_t *best)
{
    if (k > 64) {
        scored *all = malloc(n * sizeof *all);
        if (!all)
            return 0;
        for (size_t i = 0; i < n; i++)
            all[i] = (scored){row[i], i};
        qsort(all, n, sizeof *all, compare_scored);
        for (size_t i = 0; i < k; i++)
            best[i] = all[i].id;
        free(all);
        return 1;
    }
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        scored x = {row[i], i};
        size_t j;
        if (have < k)
            j = have++;
        else if (compare_scored(&x, &(scored){row[best[k - 1]], best[k - 1]}) < 0)
            j = k - 1;
        else
            continue;
        while (j > 0 && compare_scored(&x, &(scored){row[best[j - 1]], best[j - 1]}) < 0) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = i;
    }
    return 1;
}

static int write_row(FILE *f, const lm_ctx *c, const float *row, size_t k, size_t *best)
{
    double lse = cli_lm_logsumexp(row, c->vocab);
    if (!top_k(row, c->vocab, k, best))
        return cli_failf("out of memory");
    fputc('[', f);
    for (size_t i = 0; i < k; i++) {
        int first = 1;
        fputs(i ? ",{" : "{", f);
        cli_json_key(f, "id", &first);
        fprintf(f, "%zu", best[i]);
        cli_json_key(f, "token", &first);
        cli_lm_json_token(f, c->tok, (int32_t)best[i]);
        cli_json_key(f, "logit", &first);
        cli_json_float(f, row[best[i]]);
        cli_json_key(f, "logprob", &first);
        cli_lm_json_double(f, (double)row[best[i]] - lse);
        fputc('}', f);
    }
    fputc(']', f);
    return CLI_EXIT_OK;
}

static int write_json(FILE *f, const lm_ctx *c, size_t rows, const logits_args *a)
{
    size_t k = (size_t)a->top < c->vocab ? (size_t)a->top : c->vocab;
    size_t *best = malloc(k * sizeof *best);
    if (!best)
        return cli_failf("out of memory");
    int rc = CLI_EXIT_OK;
    if (a->all)
        fputc('[', f);
    for (size_t r = 0; !rc && r < rows; r++) {
        if (r)
            fputc(',', f);
        rc = write_row(f, c, c->logits + r * c->vocab, k, best);
    }
    if (!rc)
        fputs(a->all ? "]\n" : "\n", f);
    free(best);
    return rc;
}

static int write_output(const lm_ctx *c, size_t rows, const logits_args *a)
{
    FILE *f = a->output ? fopen(a->output, a->npy ? "wb" : "w") : stdout;
    const char *name = a->output ? a->output : "standard output";
    if (!f)
        return cli_failf("cannot open %s: %s", a->output, strerror(errno));
    int rc;
    if (a->npy) {
        size_t shape[2] = {rows, c->vocab};
        rc = cli_npy_write(f, c->logits, a->all ? shape : shape + 1, a->all ? 2 : 1)
                 ? CLI_EXIT_OK
                 : cli_failf("cannot write %s: %s", name, strerror(errno));
    } else {
        rc = write_json(f, c, rows, a);
    }
    if (!rc)
        rc = cli_finish_output(f, name);
    if (a->output && fclose(f) != 0 && !rc)
        rc = cli_failf("cannot write %s: %s", name, strerror(errno));
    return rc;
}

static int run(const logits_args *a)
{
    lm_ctx c;
    int32_t *ids = NULL;
    size_t n = 0, rows = 0;
    int rc = cli_lm_open(&a->lm, &c);
    if (!rc)
        rc = cli_lm_prompt(&a->lm, &c, &ids, &n);
    if (!rc) {
        ce_status st = ce_session_append(c.session, ids, n, a->all ? CE_APPEND_ALL_LOGITS : 0);
        rc = st == CE_OK ? cli_lm_read_logits(&c, &rows) : cli_fail(st);
    }
    if (!rc)
        rc = write_output(&c, rows, a);
    free(ids);
    cli_lm_close(&c);
    return rc;
}

int cli_cmd_logits(int argc, char **argv)
{
    logits_args a = {.lm = {.cmd = "logits", .threads = -1}, .top = 10};
    int rc = parse(argc, argv, &a);
    if (!rc)
        rc = run(&a);
    cli_lm_args_free(&a.lm);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

/* contextembed score: how likely a decoder model finds a text, token by token. */
#include <math.h>
#include <stdlib.h>

#include "cli.h"
#include "json_writer.h"
#include "lm.h"

static const char score_usage[] =
    "Usage: contextembed score -m MODEL (TEXT | --ids I,J,..)\n"
    "\n"
    "Print one JSON object:\n"
    "  {\"ids\": [...], \"tokens\": [...], \"logprobs\": [...], \"perplexity\": P}\n"
    "\"tokens\" are the ids decoded one by one (null without a tokenizer);\n"
    "\"logprobs\" the natural log-probability of each token after the first given\n"
    "the ones before it (one fewer than the ids: nothing predicts the first);\n"
    "perplexity = exp(-mean(logprobs)). To score the first token too, start the\n"
    "ids with the end-of-text token (GPT-2: --ids 50256,...). At least two tokens\n"
    "are needed. TEXT is encoded without added special tokens; \"-\" reads all of\n"
    "standard input, byte for byte (a final newline too).\n"
    "\n" LM_COMMON_HELP;

static const cli_opt score_opts[] = {LM_COMMON_OPTS, {0, 0, NULL, 0}};

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, lm_args *a)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, score_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END)
        rc = cli_lm_common_opt(a, id, v, &p, score_usage);
    return rc ? rc : cli_lm_check_args(a);
}

/* logprobs[i - 1] = log p(ids[i] | ids[0..i)) from the logits of row i - 1. */
static void score_rows(const lm_ctx *c, const int32_t *ids, size_t n, double *logprobs)
{
    for (size_t i = 1; i < n; i++) {
        const float *row = c->logits + (i - 1) * c->vocab;
        logprobs[i - 1] = (double)row[ids[i]] - cli_lm_logsumexp(row, c->vocab);
    }
}

static void write_result(const lm_ctx *c, const int32_t *ids, size_t n, const double *logprobs)
{
    double sum = 0;
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "ids", &first);
    cli_json_int_array(stdout, ids, n);
    cli_json_key(stdout, "tokens", &first);
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', stdout);
        cli_lm_json_token(stdout, c->tok, ids[i]);
    }
    fputc(']', stdout);
    cli_json_key(stdout, "logprobs", &first);
    fputc('[', stdout);
    for (size_t i = 0; i + 1 < n; i++) {
        if (i)
            fputc(',', stdout);
        cli_lm_json_double(stdout, logprobs[i]);
        sum += logprobs[i];
    }
    fputc(']', stdout);
    cli_json_key(stdout, "perplexity", &first);
    cli_lm_json_double(stdout, exp(-sum / (double)(n - 1)));
    fputs("}\n", stdout);
}

static int score(const lm_args *a, lm_ctx *c, const int32_t *ids, size_t n)
{
    if (n < 2)
        return cli_usage("score", "one token only: nothing to score (start with the "
                                  "end-of-text token to score the first)");
    ce_status st = ce_session_append(c->session, ids, n, CE_APPEND_ALL_LOGITS);
    size_t rows = 0;
    int rc = st == CE_OK ? cli_lm_read_logits(c, &rows) : cli_fail(st);
    if (rc)
        return rc;
    if (rows != n)
        return cli_failf("%s: %zu rows of logits for %zu tokens", a->model, rows, n);
    double *logprobs = malloc((n - 1) * sizeof *logprobs);
    if (!logprobs)
        return cli_failf("out of memory");
    score_rows(c, ids, n, logprobs);
    write_result(c, ids, n, logprobs);
    free(logprobs);
    return cli_finish_output(stdout, "standard output");
}

int cli_cmd_score(int argc, char **argv)
{
    lm_args a = {.cmd = "score", .threads = -1};
    lm_ctx c = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = parse(argc, argv, &a);
    if (!rc && !(rc = cli_lm_open(&a, &c)) && !(rc = cli_lm_prompt(&a, &c, &ids, &n)))
        rc = score(&a, &c, ids, n);
    free(ids);
    cli_lm_close(&c);
    cli_lm_args_free(&a);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

/* contextembed score: how likely a decoder model finds a text, token by token. */
#include <math.h>
#include <stdlib.h>

#include "cli.h"
#include "json_writer.h"
#include "lm.h"

static const char score_usage[] =
    "Usage: contextembed score -m MODEL [--stride S] (TEXT | --ids I,J,..)\n"
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
    "\n"
    "A text longer than the model takes (n_positions) is an error, unless --stride\n"
    "scores it in sliding windows, as Hugging Face's \"perplexity of fixed-length\n"
    "models\": windows of the model's maximum length start every S tokens, and\n"
    "each token is scored once, in the first window that holds it, given the\n"
    "tokens of that window before it (so at least maximum - S of them). A text\n"
    "that fits is scored as without --stride.\n"
    "\n" LM_COMMON_HELP
    "      --stride S         windows start every S tokens (1 <= S < the maximum)\n";

enum { OPT_STRIDE = LM_OPT_OWN };

static const cli_opt score_opts[] = {LM_COMMON_OPTS, {OPT_STRIDE, 0, "stride", 1},
                                     {0, 0, NULL, 0}};

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, lm_args *a, long *stride)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, score_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        rc = cli_lm_common_opt(a, id, v, &p, score_usage);
        if (rc == -2 && !cli_parse_long(v, 1, 1L << 30, stride))
            rc = cli_usage("score", "bad --stride value '%s' (tokens, at least 1)", v);
        else if (rc == -2)
            rc = CLI_EXIT_OK;
    }
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

/* The whole text in one pass. */
static int score_whole(const lm_args *a, lm_ctx *c, const int32_t *ids, size_t n,
                       double *logprobs)
{
    ce_status st = ce_session_append(c->session, ids, n, CE_APPEND_ALL_LOGITS);
    if (st == CE_ERR_TOO_LONG)
        return cli_failf("%s; --stride S scores it in sliding windows", ce_last_error());
    size_t rows = 0;
    int rc = st == CE_OK ? cli_lm_read_logits(c, &rows) : cli_fail(st);
    if (rc)
        return rc;
    if (rows != n)
        return cli_failf("%s: %zu rows of logits for %zu tokens", a->model, rows, n);
    score_rows(c, ids, n, logprobs);
    return CLI_EXIT_OK;
}

/* Window [begin, end) scores tokens [from, end) (begin < from < end). The
 * tokens before from - 1 go in as context only, the rest with every row of
 * logits kept (row k predicting token from + k), so that the LM head, as
 * large as a few layers, runs only on the rows that are scored. */
static int score_window(const lm_args *a, lm_ctx *c, const int32_t *ids, size_t begin,
                        size_t from, size_t end, double *logprobs)
{
    ce_status st = ce_session_rewind(c->session, 0);
    if (st == CE_OK && from - 1 > begin)
        st = ce_session_append(c->session, ids + begin, from - 1 - begin, 0);
    if (st == CE_OK)
        st = ce_session_append(c->session, ids + from - 1, end - from + 1, CE_APPEND_ALL_LOGITS);
    size_t rows = 0;
    int rc = st == CE_OK ? cli_lm_read_logits(c, &rows) : cli_fail(st);
    if (rc)
        return rc;
    if (rows != end - from + 1)
        return cli_failf("%s: %zu rows of logits for %zu tokens", a->model, rows,
                         end - from + 1);
    for (size_t k = 0; from + k < end; k++) {
        const float *row = c->logits + k * c->vocab;
        logprobs[from + k - 1] = (double)row[ids[from + k]] - cli_lm_logsumexp(row, c->vocab);
    }
    return CLI_EXIT_OK;
}

/* Hugging Face's sliding-window perplexity: windows of the model's maximum
 * length start every @p stride tokens; each scores the tokens no earlier
 * window reached (trg_len = end - prev_end), so every token is scored once,
 * with at least max - stride tokens of context after the first window. */
static int score_windows(const lm_args *a, lm_ctx *c, const int32_t *ids, size_t n,
                         size_t stride, double *logprobs)
{
    size_t max = c->max_positions, prev_end = 0;
    for (size_t begin = 0;; begin += stride) {
        size_t end = begin + max < n ? begin + max : n;
        size_t from = prev_end > begin + 1 ? prev_end : begin + 1;
        int rc = score_window(a, c, ids, begin, from, end, logprobs);
        if (rc || end == n)
            return rc;
        prev_end = end;
    }
}

static int score(const lm_args *a, lm_ctx *c, const int32_t *ids, size_t n, long stride)
{
    if (n < 2)
        return cli_usage("score", "one token only: nothing to score (start with the "
                                  "end-of-text token to score the first)");
    if (stride && (size_t)stride >= c->max_positions)
        return cli_usage("score", "--stride %ld: windows must overlap; give less than the "
                         "model's maximum length (%zu)", stride, c->max_positions);
    double *logprobs = malloc((n - 1) * sizeof *logprobs);
    if (!logprobs)
        return cli_failf("out of memory");
    int rc = stride && n > c->max_positions
                 ? score_windows(a, c, ids, n, (size_t)stride, logprobs)
                 : score_whole(a, c, ids, n, logprobs);
    if (!rc)
        write_result(c, ids, n, logprobs);
    free(logprobs);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

int cli_cmd_score(int argc, char **argv)
{
    lm_args a = {.cmd = "score", .threads = -1};
    lm_ctx c = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    long stride = 0;
    int rc = parse(argc, argv, &a, &stride);
    if (!rc && !(rc = cli_lm_open(&a, &c)) && !(rc = cli_lm_prompt(&a, &c, &ids, &n)))
        rc = score(&a, &c, ids, n, stride);
    free(ids);
    cli_lm_close(&c);
    cli_lm_args_free(&a);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

/* contextembed bench --elmo: the original ELMo with random weights, one
 * 20-word sentence and a batch of 32, beside plain sgemm on the same shapes. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "bench.h"
#include "bench_elmo.h"
#include "cli.h"
#include "json_writer.h"

static const char elmo_usage[] =
    "Usage: contextembed bench --elmo [--threads N] [--runs R] [--backend NAME]\n"
    "                                 [--precision f32|bf16|int8]\n"
    "\n"
    "Build the original ELMo in memory with random weights (AllenNLP's\n"
    "elmo_2x4096_512_2048cnn_2xhighway: char CNN filters (1,32) (2,32) (3,64)\n"
    "(4,128) (5,256) (6,512) (7,1024), 2 highway layers, projection 512, 2\n"
    "biLSTM layers of cell 4096) and time ce_session_run_words on one sentence of\n"
    "20 words and on a batch of 32 such sentences, after one warm-up run, at 1\n"
    "and 2 threads (or --threads N). One JSON object per run: \"median_ms\",\n"
    "\"min_ms\", \"tokens_per_s\" (words per second), \"gflops\" (2*m*n*k of every\n"
    "matmul, sentence boundaries included, per second), \"sgemm_gflops\" (plain\n"
    "bli_sgemm on the same shapes and counts at the same thread count, each\n"
    "shape on the faster of BLIS's sup and packed paths; null without BLIS) and\n"
    "\"ratio\" (gflops / sgemm_gflops). With one sentence the per-step products\n"
    "have one row, which the library runs as a GEMV: sgemm is no ceiling there.\n"
    "\n"
    "      --threads N     thread count (default: 1 and 2)\n"
    "      --runs R        timed runs (default 3)\n"
    "      --backend NAME  ref, blis, onednn or auto (default)\n"
    "      --precision P   f32 (default), bf16 or int8; each JSON object says \"precision\"\n";

static const char elmo_config[] =
    "{\"model_type\": \"elmo\", \"lstm\": {\"use_skip_connections\": true, \"projection_dim\": "
    "512, \"cell_clip\": 3, \"proj_clip\": 3, \"dim\": 4096, \"n_layers\": 2}, \"char_cnn\": "
    "{\"activation\": \"relu\", \"filters\": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], "
    "[6, 512], [7, 1024]], \"n_highway\": 2, \"embedding\": {\"dim\": 16}, \"n_characters\": "
    "262, \"max_characters_per_token\": 50}}";

static const char *const sentence[] = {"The",   "committee",   "said",    "on",       "Tuesday",
                                       "that",  "its",         "members", "had",      "voted",
                                       "to",    "delay",       "the",     "decision", "until",
                                       "after", "independent", "experts", "report",   "."};
#define WORDS     (sizeof sentence / sizeof *sentence)
#define BIG_BATCH 32

enum { OPT_ELMO = 1, OPT_THREADS, OPT_RUNS, OPT_BACKEND, OPT_HELP, OPT_PRECISION };

static const cli_opt elmo_opts[] = {
    {OPT_ELMO, 0, "elmo", 0},       {OPT_THREADS, 0, "threads", 1}, {OPT_RUNS, 0, "runs", 1},
    {OPT_BACKEND, 0, "backend", 1}, {OPT_HELP, 'h', "help", 0},     {OPT_PRECISION, 0, "precision", 1},
    {0, 0, NULL, 0},
};

typedef struct elmo_args {
    const char *backend, *precision;
    long threads, runs;
} elmo_args;

int cli_bench_elmo_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--elmo"))
            return 1;
    return 0;
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, elmo_args *a)
{
    cli_parser p;
    const char *v;
    int id;
    cli_parser_init(&p, argc, argv, elmo_opts);
    while ((id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        switch (id) {
        case OPT_ELMO:
            break;
        case OPT_BACKEND:
            a->backend = v;
            break;
        case OPT_PRECISION:
            a->precision = v;
            break;
        case OPT_HELP:
            fputs(elmo_usage, stdout);
            return -1;
        case OPT_THREADS:
        case OPT_RUNS:
            if (!cli_parse_long(v, id == OPT_THREADS ? 0 : 1, 1 << 16,
                                id == OPT_THREADS ? &a->threads : &a->runs))
                return cli_usage("bench", "bad %s value '%s'",
                                 id == OPT_THREADS ? "--threads" : "--runs", v);
            break;
        case CLI_ARG_POSITIONAL:
            return cli_usage("bench", "unexpected argument '%s'", v);
        default:
            return cli_usage("bench", "%s", id == CLI_ARG_ERROR ? p.error : "bad option");
        }
    }
    return CLI_EXIT_OK;
}

/* @p batch copies of the sentence as one text with word offsets. */
typedef struct word_batch {
    char text[512];
    size_t len, n_words[BIG_BATCH], offsets[2 * WORDS * BIG_BATCH];
} word_batch;

static void make_batch(word_batch *w)
{
    w->len = 0;
    for (size_t i = 0; i < WORDS; i++) {
        size_t n = strlen(sentence[i]);
        w->offsets[2 * i] = w->len;
        memcpy(w->text + w->len, sentence[i], n);
        w->len += n;
        w->offsets[2 * i + 1] = w->len;
        w->text[w->len++] = ' ';
    }
    for (size_t s = 0; s < BIG_BATCH; s++) {
        w->n_words[s] = WORDS;
        memcpy(w->offsets + 2 * WORDS * s, w->offsets, 2 * WORDS * sizeof *w->offsets);
    }
}

/* Median and minimum milliseconds of a->runs runs after a warm-up. */
static int time_batch(ce_session *s, const word_batch *w, size_t batch, const elmo_args *a,
                      double *median, double *min)
{
    double *t = malloc((size_t)a->runs * sizeof *t);
    if (!t)
        return cli_failf("out of memory");
    for (long r = -1; r < a->runs; r++) {
        double t0 = cli_bench_now();
        ce_status st = ce_session_run_words(s, batch, w->n_words, w->text, w->len, w->offsets);
        if (st != CE_OK) {
            free(t);
            return cli_fail(st);
        }
        if (r >= 0)
            t[r] = (cli_bench_now() - t0) * 1e3;
    }
    *min = t[0];
    for (long r = 1; r < a->runs; r++)
        *min = t[r] < *min ? t[r] : *min;
    *median = cli_bench_median(t, (size_t)a->runs);
    free(t);
    return CLI_EXIT_OK;
}

static void report(const ce_model *m, const ce_session *s, size_t batch, const elmo_args *a,
                   double median, double min)
{
    elmo_gemm g[ELMO_BENCH_MAX_GEMMS];
    size_t n = cli_bench_elmo_gemms(batch, WORDS, g);
    double gflops = cli_bench_elmo_flops(g, n) / (median * 1e-3) * 1e-9;
    double sgemm = cli_bench_elmo_sgemm_gflops(g, n, ce_session_threads(s), 3);
    int first = 1;
    const char *backend = ce_session_backend(s);
    fputc('{', stdout);
    cli_json_key(stdout, "model", &first);
    cli_json_string(stdout, "random elmo 2x4096_512_2048cnn_2xhighway", 40);
    cli_json_key(stdout, "backend", &first);
    cli_json_string(stdout, backend, strlen(backend));
    int64_t p = 0;
    ce_model_get_info(m, CE_INFO_PRECISION, &p);
    const char *precision = ce_precision_name((ce_precision)p);
    cli_json_key(stdout, "precision", &first);
    cli_json_string(stdout, precision, strlen(precision));
    printf(",\"threads\":%d,\"batch\":%zu,\"words\":%zu,\"runs\":%ld,\"median_ms\":%.4g,"
           "\"min_ms\":%.4g,\"tokens_per_s\":%.4g,\"gflops\":%.4g",
           ce_session_threads(s), batch, (size_t)WORDS, a->runs, median, min,
           (double)(batch * WORDS) / (median * 1e-3), gflops);
    if (sgemm > 0)
        printf(",\"sgemm_gflops\":%.4g,\"ratio\":%.3g}\n", sgemm, gflops / sgemm);
    else
        fputs(",\"sgemm_gflops\":null,\"ratio\":null}\n", stdout);
    fflush(stdout);
}

static int bench_threads(const ce_model *m, const elmo_args *a, long threads, const word_batch *w)
{
    ce_options *opts = NULL;
    ce_session *s = NULL;
    int rc = cli_options_make("bench", a->backend, threads, 0, &opts);
    if (!rc)
        rc = cli_session_create(m, opts, &s);
    static const size_t batches[] = {1, BIG_BATCH};
    for (size_t i = 0; !rc && i < 2; i++) {
        double median = 0, min = 0;
        if (!(rc = time_batch(s, w, batches[i], a, &median, &min)))
            report(m, s, batches[i], a, median, min);
    }
    ce_session_free(s);
    ce_options_free(opts);
    return rc;
}

int cli_cmd_bench_elmo(int argc, char **argv)
{
    elmo_args a = {NULL, NULL, -1, 3};
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    ce_model *m = NULL;
    ce_options *opts = NULL; /* the model prepares its weights for --backend */
    if ((rc = cli_options_make("bench", a.backend, -1, 0, &opts)))
        return rc;
    if ((rc = cli_options_precision("bench", opts, a.precision))) {
        ce_options_free(opts);
        return rc;
    }
    ce_status st = ce_model_open_random(elmo_config, strlen(elmo_config), 42, opts, &m);
    ce_options_free(opts);
    if (st != CE_OK)
        return cli_fail(st);
    static word_batch w;
    make_batch(&w);
    long counts[2] = {a.threads < 0 ? 1 : a.threads, 2};
    for (size_t i = 0; !rc && i < (a.threads < 0 ? 2u : 1u); i++)
        rc = bench_threads(m, &a, counts[i], &w);
    ce_model_free(m);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

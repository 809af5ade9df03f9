/* contextembed bench: time the forward pass in-process, beside plain BLIS sgemm. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "bench.h"
#include "bench_elmo.h"
#include "bench_gpt2.h"
#include "bench_profile.h"
#include "cli.h"
#include "json_writer.h"

static const char bench_usage[] =
    "Usage: contextembed bench [-m MODEL] [--seq N] [--batch B] [--threads N]\n"
    "                          [--runs R] [--backend NAME] [--precision P] [--profile]\n"
    "       contextembed bench --elmo [--threads N] [--runs R] [--backend NAME]\n"
    "                          (the original ELMo: see bench --elmo --help)\n"
    "\n"
    "Time the forward pass on random token ids (fixed seed) after one warm-up run\n"
    "and print one JSON object per thread count with \"median_ms\", \"min_ms\",\n"
    "\"runs\", \"threads\", \"gflops\", \"seq\", \"batch\", \"backend\", \"precision\",\n"
    "and, when\n"
    "built with BLIS, \"sgemm_gflops\" (plain bli_sgemm on the model's Linear\n"
    "shapes, B transposed, at the same thread count; each shape on the faster of\n"
    "BLIS's sup and packed paths), \"ratio\" (gflops / sgemm_gflops) and\n"
    "\"peak_rss_bytes\" (the process's peak resident memory so far).\n"
    "FLOPs count 2*m*n*k for every matmul, attention included.\n"
    "\n"
    "  -m, --model DIR   model to time; without it, a BERT-base shaped model with\n"
    "                    random weights is built in memory and timed at 1 and 2\n"
    "                    threads\n"
    "      --seq N       tokens per sequence (default 128)\n"
    "      --batch B     sequences per run (default 1)\n"
    "      --threads N   thread count (default: 1 and 2 without -m, all CPUs with -m)\n"
    "      --runs R      timed runs (default 5)\n"
    "      --backend NAME  ref, blis, onednn or auto (default); the model is opened\n"
    "                    with it, so its weights are prepared for it\n"
    "      --precision P f32 (default), bf16 or int8: the precision the weights are\n"
    "                    prepared in (sgemm_gflops and ratio stay float32's)\n"
    "      --profile     after the timed runs, as many runs again with every kernel\n"
    "                    timed: one more JSON line per thread count, {\"profile\":\n"
    "                    \"forward\", \"ops\": [{\"op\", \"ms\" per run, \"share\",\n"
    "                    \"calls\"}, ...]}, linear layers by shape, largest first\n"
    "\n"
    "Decoder models: 'contextembed bench --gpt2' (a GPT-2-small shaped model) and\n"
    "'contextembed bench -m MODEL --decode' time prompts and per-token decoding;\n"
    "'contextembed bench --gpt2 --help' describes them.\n";

/* BERT-base's shape (bert-base-uncased's config.json, the fields the model reads). */
static const char bert_base_config[] =
    "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], \"hidden_size\": 768,"
    " \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"intermediate_size\": 3072,"
    " \"vocab_size\": 30522, \"max_position_embeddings\": 512, \"type_vocab_size\": 2,"
    " \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12, \"pad_token_id\": 0}";

enum {
    OPT_MODEL = 1,
    OPT_SEQ,
    OPT_BATCH,
    OPT_THREADS,
    OPT_RUNS,
    OPT_BACKEND,
    OPT_PROFILE,
    OPT_HELP,
    OPT_PRECISION
};

static const cli_opt bench_opts[] = {
    {OPT_MODEL, 'm', "model", 1},   {OPT_SEQ, 0, "seq", 1},         {OPT_BATCH, 0, "batch", 1},
    {OPT_THREADS, 0, "threads", 1}, {OPT_RUNS, 0, "runs", 1},       {OPT_BACKEND, 0, "backend", 1},
    {OPT_PROFILE, 0, "profile", 0}, {OPT_HELP, 'h', "help", 0},     {OPT_PRECISION, 0, "precision", 1},
    {0, 0, NULL, 0},
};

typedef struct bench_args {
    const char *model, *backend, *precision;
    long seq, batch, threads, runs;
    int profile;
} bench_args;

static int parse_number(int id, const char *v, bench_args *a)
{
    static const char *const names[] = {"", "", "--seq", "--batch", "--threads", "--runs"};
    long *slot = id == OPT_SEQ ? &a->seq : id == OPT_BATCH ? &a->batch
               : id == OPT_THREADS ? &a->threads : &a->runs;
    long min = id == OPT_THREADS ? 0 : 1, max = id == OPT_BATCH ? 4096 : 1L << 16;
    if (!cli_parse_long(v, min, max, slot))
        return cli_usage("bench", "bad %s value '%s'", names[id], v);
    return CLI_EXIT_OK;
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, bench_args *a)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, bench_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        switch (id) {
        case OPT_MODEL: a->model = v; break;
        case OPT_BACKEND: a->backend = v; break;
        case OPT_PRECISION: a->precision = v; break;
        case OPT_PROFILE: a->profile = 1; break;
        case OPT_HELP: fputs(bench_usage, stdout); return -1;
        case CLI_ARG_POSITIONAL: return cli_usage("bench", "unexpected argument '%s'", v);
        case CLI_ARG_ERROR: return cli_usage("bench", "%s", p.error);
        default: rc = parse_number(id, v, a);
        }
    }
    return rc;
}

static int open_model(const bench_args *a, ce_model **m)
{
    ce_options *opts = NULL;
    int rc = cli_options_make("bench", a->backend, -1, 0, &opts);
    if (!rc && (rc = cli_options_precision("bench", opts, a->precision)))
        ce_options_free(opts);
    if (rc)
        return rc;
    ce_status st = a->model ? ce_model_open(a->model, opts, m)
                            : ce_model_open_random(bert_base_config, strlen(bert_base_config),
                                                   42, opts, m);
    ce_options_free(opts);
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

/* The model's shape for the FLOP count; heads == 0 (no attention) makes it unknown. */
static int model_dims(const ce_model *m, const bench_args *a, bench_dims *d)
{
    int64_t v[4];
    static const ce_model_info keys[] = {CE_INFO_NUM_LAYERS, CE_INFO_HIDDEN_SIZE,
                                         CE_INFO_NUM_HEADS, CE_INFO_INTERMEDIATE_SIZE};
    for (size_t i = 0; i < 4; i++) {
        ce_status st = ce_model_get_info(m, keys[i], &v[i]);
        if (st != CE_OK)
            return cli_fail(st);
    }
    *d = (bench_dims){(size_t)v[0], (size_t)v[1], (size_t)v[2], (size_t)v[3],
                      (size_t)a->seq, (size_t)a->batch};
    return CLI_EXIT_OK;
}

/* Random ids within the vocabulary from a fixed seed (splitmix64). */
static int32_t *random_ids(const ce_model *m, size_t n)
{
    int64_t vocab = 0;
    if (ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &vocab) != CE_OK || vocab <= 0)
        return NULL;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    uint64_t state = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; ids && i < n; i++) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        ids[i] = (int32_t)((z ^ (z >> 31)) % (uint64_t)vocab);
    }
    return ids;
}

typedef struct bench_result {
    double median_ms, min_ms;
    int threads;
    const char *backend, *precision;
} bench_result;

/* One warm-up run, then a->runs timed runs, in milliseconds. */
static int time_runs(ce_session *s, const bench_args *a, const int32_t *ids, double *times)
{
    size_t *lengths = malloc((size_t)a->batch * sizeof *lengths);
    if (!lengths)
        return cli_failf("out of memory");
    for (long i = 0; i < a->batch; i++)
        lengths[i] = (size_t)a->seq;
    int rc = CLI_EXIT_OK;
    for (long r = -1; !rc && r < a->runs; r++) {
        double t0 = cli_bench_now();
        ce_status st = ce_session_run(s, (size_t)a->batch, lengths, ids, NULL);
        if (st != CE_OK)
            rc = cli_fail(st);
        else if (r >= 0)
            times[r] = (cli_bench_now() - t0) * 1e3;
    }
    free(lengths);
    return rc;
}

/* --profile: the runs again, every kernel timed (the warm-up run counts too). */
static int profile_runs(ce_session *s, const bench_args *a, const int32_t *ids, double *times)
{
    int rc = cli_bench_profile_start(s);
    if (!rc)
        rc = time_runs(s, a, ids, times);
    if (!rc)
        cli_bench_profile_write(s, "forward", a->runs + 1);
    return rc;
}

/* Time the forward pass in a session with @p threads (< 0: the default). */
static int time_session(const ce_model *m, const bench_args *a, long threads, const int32_t *ids,
                        bench_result *res)
{
    ce_options *opts = NULL;
    ce_session *s = NULL;
    double *times = malloc((size_t)a->runs * sizeof *times);
    int rc = times ? cli_options_make("bench", a->backend, threads, 0, &opts)
                   : cli_failf("out of memory");
    if (!rc && !(rc = cli_session_create(m, opts, &s)) && !(rc = time_runs(s, a, ids, times))) {
        res->min_ms = times[0];
        for (long r = 1; r < a->runs; r++)
            res->min_ms = times[r] < res->min_ms ? times[r] : res->min_ms;
        res->median_ms = cli_bench_median(times, (size_t)a->runs);
        res->threads = ce_session_threads(s);
        res->backend = ce_session_backend(s); /* a static string */
        int64_t p = 0;
        ce_model_get_info(m, CE_INFO_PRECISION, &p);
        res->precision = ce_precision_name((ce_precision)p);
        if (a->profile)
            rc = profile_runs(s, a, ids, times);
    }
    ce_session_free(s);
    ce_options_free(opts);
    free(times);
    return rc;
}

static void write_result(const bench_args *a, const bench_dims *d, const bench_result *r)
{
    double flops = d->heads ? cli_bench_forward_flops(d) : -1;
    double gflops = flops > 0 ? flops / (r->median_ms * 1e-3) * 1e-9 : -1;
    double sgemm = d->heads ? cli_bench_sgemm_gflops(d, r->threads, (int)a->runs) : -1;
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "model", &first);
    const char *name = a->model ? a->model : "random bert-base";
    cli_json_string(stdout, name, strlen(name));
    cli_json_key(stdout, "backend", &first);
    cli_json_string(stdout, r->backend ? r->backend : "?", r->backend ? strlen(r->backend) : 1);
    printf(",\"threads\":%d,\"seq\":%ld,\"batch\":%ld,\"runs\":%ld", r->threads, a->seq,
           a->batch, a->runs);
    cli_json_key(stdout, "precision", &first);
    cli_json_string(stdout, r->precision, strlen(r->precision));
    cli_bench_json_number("median_ms", r->median_ms, &first);
    cli_bench_json_number("min_ms", r->min_ms, &first);
    cli_bench_json_number("gflops", gflops, &first);
    cli_bench_json_number("sgemm_gflops", sgemm, &first);
    cli_bench_json_number("ratio", gflops > 0 && sgemm > 0 ? gflops / sgemm : -1, &first);
    printf(",\"peak_rss_bytes\":%lld", cli_bench_peak_rss());
    fputs("}\n", stdout);
    fflush(stdout);
}

static int bench_model(const ce_model *m, const bench_args *a)
{
    bench_dims d;
    int rc = model_dims(m, a, &d);
    int32_t *ids = rc ? NULL : random_ids(m, (size_t)(a->seq * a->batch));
    if (!rc && !ids)
        rc = cli_failf("cannot make random ids: %s", ce_last_error());
    /* Without -m and --threads: 1 and 2 threads; otherwise the one asked (or default). */
    long counts[2] = {a->threads, 2};
    size_t n_counts = !a->model && a->threads < 0 ? 2 : 1;
    if (n_counts == 2)
        counts[0] = 1;
    for (size_t i = 0; !rc && i < n_counts; i++) {
        bench_result res;
        if (!(rc = time_session(m, a, counts[i], ids, &res)))
            write_result(a, &d, &res);
    }
    free(ids);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

int cli_cmd_bench(int argc, char **argv)
{
    if (cli_bench_gpt2_wanted(argc, argv))
        return cli_cmd_bench_gpt2(argc, argv);
    if (cli_bench_elmo_wanted(argc, argv))
        return cli_cmd_bench_elmo(argc, argv);
    bench_args a = {.seq = 128, .batch = 1, .threads = -1, .runs = 5};
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    ce_model *m = NULL;
    if (!(rc = open_model(&a, &m)))
        rc = bench_model(m, &a);
    ce_model_free(m);
    return rc;
}

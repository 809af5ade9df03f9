/* contextembed bench --gpt2 / --decode: prompt and per-token decode timings of a
 * decoder model, beside the memory-bandwidth bound of decoding. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "bench.h"
#include "bench_gpt2.h"
#include "bench_profile.h"
#include "cli.h"
#include "json_writer.h"

static const char gpt2_usage[] =
    "Usage: contextembed bench --gpt2 [--ctx N] [--threads N] [--runs R] [--backend NAME]\n"
    "                          [--precision f32|bf16|int8] [--profile]\n"
    "       contextembed bench -m MODEL --decode [--ctx N] [--threads N] [--runs R]\n"
    "                          [--backend NAME] [--precision f32|bf16|int8] [--profile]\n"
    "\n"
    "Time a decoder model on random token ids (fixed seed), after one warm-up.\n"
    "\n"
    "--gpt2 builds a GPT-2-small shaped model with random weights in memory (12\n"
    "layers, n_embd 768, 12 heads, vocabulary 50257, 1024 positions) and prints\n"
    "one JSON object per thread count (1 and 2 unless --threads is given):\n"
    "\"prompt_median_ms\", \"prompt_min_ms\" and \"prompt_tokens_per_s\" for a prompt\n"
    "of N tokens appended at once with every position's logits\n"
    "(CE_APPEND_ALL_LOGITS, the work of a full-sequence ONNX graph);\n"
    "\"decode_median_ms\" and \"decode_min_ms\" for\n"
    "one token appended at context N (then rewound, and again); \"weight_bytes\"\n"
    "(float32 weights, all read for every decoded token); \"copy_gbps\", the memcpy\n"
    "bandwidth of this machine at that thread count (256 MB buffers, bytes read\n"
    "plus written, as STREAM counts); \"bound_ms\" = weight_bytes / copy bandwidth,\n"
    "the fastest a decoded token can be; and \"ratio\" = bound_ms /\n"
    "decode_median_ms, the fraction of that bound reached; \"peak_rss_bytes\";\n"
    "\"precision\". weight_bytes and bound_ms stay those of float32 weights at\n"
    "every precision, so that ratio compares with f32's.\n"
    "\n"
    "-m MODEL --decode times decoding on a model directory and prints one JSON\n"
    "object with \"median_ms\" and \"min_ms\" per decoded token, \"runs\",\n"
    "\"threads\", \"ctx\", \"weight_bytes\", \"backend\" and \"precision\".\n"
    "\n"
    "  -m, --model DIR   decoder model directory (with --decode)\n"
    "      --ctx N       prompt length and decoding context (default 128, or the\n"
    "                    model's maximum positions - 1 when that is less)\n"
    "      --threads N   thread count (default: 1 and 2 with --gpt2, all CPUs with -m)\n"
    "      --runs R      timed runs of each measurement (default 10)\n"
    "      --backend NAME  ref, blis, onednn or auto (default); the model is opened\n"
    "                    with it, so its weights are prepared for it\n"
    "      --precision P  f32 (default), bf16 or int8: the precision the model's\n"
    "                    weights are prepared in\n"
    "      --profile     after the timed runs, as many again with every kernel timed:\n"
    "                    a JSON line {\"profile\": \"prompt\" or \"decode\", \"ops\": [...]}\n"
    "                    per measurement (see bench --help)\n";

/* GPT-2 small (the "gpt2" checkpoint's config.json, the fields the model reads). */
static const char gpt2_small_config[] =
    "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"], \"n_layer\": 12,"
    " \"n_embd\": 768, \"n_head\": 12, \"vocab_size\": 50257, \"n_positions\": 1024,"
    " \"n_ctx\": 1024, \"n_inner\": null, \"activation_function\": \"gelu_new\","
    " \"layer_norm_epsilon\": 1e-05}";

#define COPY_BYTES ((size_t)256 << 20)

enum {
    OPT_GPT2 = 1,
    OPT_DECODE,
    OPT_MODEL,
    OPT_CTX,
    OPT_THREADS,
    OPT_RUNS,
    OPT_BACKEND,
    OPT_PROFILE,
    OPT_PRECISION,
    OPT_HELP
};

static const cli_opt gpt2_opts[] = {
    {OPT_GPT2, 0, "gpt2", 0},       {OPT_DECODE, 0, "decode", 0},   {OPT_MODEL, 'm', "model", 1},
    {OPT_CTX, 0, "ctx", 1},         {OPT_THREADS, 0, "threads", 1}, {OPT_RUNS, 0, "runs", 1},
    {OPT_BACKEND, 0, "backend", 1}, {OPT_PROFILE, 0, "profile", 0}, {OPT_HELP, 'h', "help", 0},
    {OPT_PRECISION, 0, "precision", 1}, {0, 0, NULL, 0},
};

typedef struct gpt2_args {
    const char *model, *backend, *precision;
    int gpt2, decode, profile;
    long ctx, threads, runs;
} gpt2_args;

int cli_bench_gpt2_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--gpt2") || !strcmp(argv[i], "--decode"))
            return 1;
    return 0;
}

static int parse_number(int id, const char *v, gpt2_args *a)
{
    const char *name = id == OPT_CTX ? "--ctx" : id == OPT_THREADS ? "--threads" : "--runs";
    long *slot = id == OPT_CTX ? &a->ctx : id == OPT_THREADS ? &a->threads : &a->runs;
    if (!cli_parse_long(v, id == OPT_THREADS ? 0 : 1, 1L << 20, slot))
        return cli_usage("bench", "bad %s value '%s'", name, v);
    return CLI_EXIT_OK;
}

static int check_mode(const gpt2_args *a)
{
    if (a->gpt2 && (a->decode || a->model))
        return cli_usage("bench", "--gpt2 times a built-in model: no -m or --decode with it");
    if (a->decode && !a->model)
        return cli_usage("bench", "--decode needs -m MODEL (or use --gpt2)");
    return CLI_EXIT_OK;
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, gpt2_args *a)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, gpt2_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        switch (id) {
        case OPT_GPT2: a->gpt2 = 1; break;
        case OPT_DECODE: a->decode = 1; break;
        case OPT_MODEL: a->model = v; break;
        case OPT_BACKEND: a->backend = v; break;
        case OPT_PRECISION: a->precision = v; break;
        case OPT_PROFILE: a->profile = 1; break;
        case OPT_HELP: fputs(gpt2_usage, stdout); return -1;
        case CLI_ARG_POSITIONAL: return cli_usage("bench", "unexpected argument '%s'", v);
        case CLI_ARG_ERROR: return cli_usage("bench", "%s", p.error);
        default: rc = parse_number(id, v, a);
        }
    }
    return rc ? rc : check_mode(a);
}

/* Random ids below @p vocab from a fixed seed (splitmix64). */
static int32_t *random_ids(size_t n, int64_t vocab)
{
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

typedef struct timing {
    double median_ms, min_ms;
} timing;

static timing summarize(double *ms, size_t n)
{
    timing t = {0, ms[0]};
    for (size_t i = 1; i < n; i++)
        t.min_ms = ms[i] < t.min_ms ? ms[i] : t.min_ms;
    t.median_ms = cli_bench_median(ms, n);
    return t;
}

/* The whole prompt at once from an empty context; warm-up first. */
static int time_prompt(ce_session *s, const int32_t *ids, size_t n, long runs, double *ms,
                       timing *out)
{
    for (long r = -1; r < runs; r++) {
        ce_status st = ce_session_rewind(s, 0);
        double t0 = cli_bench_now();
        if (st == CE_OK)
            st = ce_session_append(s, ids, n, CE_APPEND_ALL_LOGITS);
        if (st != CE_OK)
            return cli_fail(st);
        if (r >= 0)
            ms[r] = (cli_bench_now() - t0) * 1e3;
    }
    *out = summarize(ms, (size_t)runs);
    return CLI_EXIT_OK;
}

/* One token at context n (the prompt ids[0, n)), rewound after each; warm-up first. */
static int time_decode(ce_session *s, const int32_t *ids, size_t n, long runs, double *ms,
                       timing *out)
{
    ce_status st = ce_session_rewind(s, 0);
    if (st == CE_OK && n)
        st = ce_session_append(s, ids, n, 0);
    for (long r = -1; st == CE_OK && r < runs; r++) {
        double t0 = cli_bench_now();
        st = ce_session_append(s, ids + n, 1, 0);
        if (r >= 0)
            ms[r] = (cli_bench_now() - t0) * 1e3;
        if (st == CE_OK)
            st = ce_session_rewind(s, n);
    }
    if (st != CE_OK)
        return cli_fail(st);
    *out = summarize(ms, (size_t)runs);
    return CLI_EXIT_OK;
}

/* --profile: the measurements again with every kernel timed (warm-ups count). */
static int profile(ce_session *s, const int32_t *ids, const gpt2_args *a, int prompt, double *ms)
{
    timing t;
    /* prompt: the whole timed loop again; decode: one token at context ctx, a->runs times */
    int rc = cli_bench_profile_start(s);
    if (!rc && prompt && !(rc = time_prompt(s, ids, (size_t)a->ctx, a->runs, ms, &t)))
        cli_bench_profile_write(s, "prompt", a->runs + 1);
    size_t n = (size_t)a->ctx;
    ce_status st = ce_session_rewind(s, 0);
    if (!rc && st == CE_OK)
        st = ce_session_append(s, ids, n, 0);
    if (!rc && st == CE_OK) {
        cli_bench_profile_take_discard(s); /* the prompt that sets up the context */
        for (long r = 0; st == CE_OK && r < a->runs; r++)
            if ((st = ce_session_append(s, ids + n, 1, 0)) == CE_OK)
                st = ce_session_rewind(s, n);
        if (st == CE_OK)
            cli_bench_profile_write(s, "decode", a->runs);
    }
    return rc ? rc : st != CE_OK ? cli_fail(st) : CLI_EXIT_OK;
}

/* What one session at one thread count measured. */
typedef struct decode_result {
    timing prompt, decode;
    int threads;
    const char *backend, *precision;
} decode_result;

static int open_session(const ce_model *m, const gpt2_args *a, long threads, ce_session **s)
{
    ce_options *opts = NULL;
    int rc = cli_options_make("bench", a->backend, threads, 0, &opts);
    if (!rc)
        rc = cli_session_create(m, opts, s);
    ce_options_free(opts);
    return rc;
}

/* Prompt (when @p prompt) and decode timings at context a->ctx. */
static int measure(const ce_model *m, const gpt2_args *a, long threads, int prompt,
                   decode_result *res)
{
    int64_t vocab = 0;
    ce_session *s = NULL;
    ce_status st = ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &vocab);
    if (st != CE_OK)
        return cli_fail(st);
    int32_t *ids = random_ids((size_t)a->ctx + 1, vocab);
    double *ms = malloc((size_t)a->runs * sizeof *ms);
    int rc = ids && ms ? open_session(m, a, threads, &s) : cli_failf("out of memory");
    if (!rc && prompt)
        rc = time_prompt(s, ids, (size_t)a->ctx, a->runs, ms, &res->prompt);
    if (!rc)
        rc = time_decode(s, ids, (size_t)a->ctx, a->runs, ms, &res->decode);
    if (!rc && a->profile)
        rc = profile(s, ids, a, prompt, ms);
    if (!rc) {
        res->threads = ce_session_threads(s);
        res->backend = ce_session_backend(s); /* a static string */
        int64_t p = 0;
        ce_model_get_info(m, CE_INFO_PRECISION, &p);
        res->precision = ce_precision_name((ce_precision)p);
    }
    ce_session_free(s);
    free(ms);
    free(ids);
    return rc;
}

static void write_head(const char *model, const decode_result *r, long runs, long ctx,
                       int *first)
{
    fputc('{', stdout);
    cli_json_key(stdout, "model", first);
    cli_json_string(stdout, model, strlen(model));
    cli_json_key(stdout, "backend", first);
    cli_json_string(stdout, r->backend ? r->backend : "?", r->backend ? strlen(r->backend) : 1);
    printf(",\"threads\":%d,\"runs\":%ld,\"ctx\":%ld", r->threads, runs, ctx);
    cli_json_key(stdout, "precision", first);
    cli_json_string(stdout, r->precision, strlen(r->precision));
}

static void write_gpt2(const gpt2_args *a, const decode_result *r, int64_t weight_bytes,
                       double gbps)
{
    int first = 1;
    double bound = gbps > 0 ? (double)weight_bytes / (gbps * 1e9) * 1e3 : -1;
    write_head("random gpt2-small", r, a->runs, a->ctx, &first);
    cli_bench_json_number("prompt_median_ms", r->prompt.median_ms, &first);
    cli_bench_json_number("prompt_min_ms", r->prompt.min_ms, &first);
    cli_bench_json_number("prompt_tokens_per_s", (double)a->ctx / (r->prompt.median_ms * 1e-3), &first);
    cli_bench_json_number("decode_median_ms", r->decode.median_ms, &first);
    cli_bench_json_number("decode_min_ms", r->decode.min_ms, &first);
    printf(",\"weight_bytes\":%lld", (long long)weight_bytes);
    cli_bench_json_number("copy_gbps", gbps, &first);
    cli_bench_json_number("bound_ms", bound, &first);
    cli_bench_json_number("ratio", bound > 0 ? bound / r->decode.median_ms : -1, &first);
    printf(",\"peak_rss_bytes\":%lld", cli_bench_peak_rss());
    fputs("}\n", stdout);
    fflush(stdout);
}

/* --ctx against the model; without --ctx (0), 128 or what the model allows. */
static int check_ctx(const ce_model *m, gpt2_args *a, int64_t *weight_bytes)
{
    int64_t max_pos = 0;
    ce_status st = ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &max_pos);
    if (st == CE_OK)
        st = ce_model_get_info(m, CE_INFO_WEIGHT_BYTES, weight_bytes);
    if (st != CE_OK)
        return cli_fail(st);
    if (!a->ctx)
        a->ctx = max_pos > 128 ? 128 : max_pos - 1;
    if (a->ctx < 1 || a->ctx + 1 > max_pos)
        return cli_usage("bench", "--ctx %ld: the model has %lld positions, decoding needs "
                         "--ctx below that", a->ctx, (long long)max_pos);
    return CLI_EXIT_OK;
}

/* --gpt2: bandwidth first (its 512 MB freed before the model's weights exist). */
static int bench_gpt2(gpt2_args *a)
{
    long counts[2] = {1, 2};
    size_t n_counts = a->threads >= 0 ? 1 : 2;
    double gbps[2];
    if (a->threads >= 0) /* 0: all CPUs, as the library counts them */
        counts[0] = a->threads ? a->threads : sysconf(_SC_NPROCESSORS_ONLN);
    for (size_t i = 0; i < n_counts; i++)
        gbps[i] = cli_bench_copy_gbps(COPY_BYTES, (int)counts[i], 5);
    ce_model *m = NULL;
    int64_t weight_bytes = 0;
    ce_options *opts = NULL;
    int rc = cli_options_make("bench", a->backend, -1, 0, &opts);
    if (!rc && (rc = cli_options_precision("bench", opts, a->precision)))
        ce_options_free(opts), opts = NULL;
    ce_status st = rc ? CE_OK
                      : ce_model_open_random(gpt2_small_config, strlen(gpt2_small_config), 42,
                                             opts, &m);
    ce_options_free(opts);
    if (!rc)
        rc = st == CE_OK ? check_ctx(m, a, &weight_bytes) : cli_fail(st);
    for (size_t i = 0; !rc && i < n_counts; i++) {
        decode_result r;
        if (!(rc = measure(m, a, counts[i], 1, &r)))
            write_gpt2(a, &r, weight_bytes, gbps[i]);
    }
    ce_model_free(m);
    return rc;
}

/* -m MODEL --decode. */
static int bench_decode(gpt2_args *a)
{
    ce_model *m = NULL;
    int64_t weight_bytes = 0;
    decode_result r;
    ce_options *opts = NULL;
    int rc = cli_options_make("bench", a->backend, -1, 0, &opts);
    if (!rc)
        rc = cli_options_precision("bench", opts, a->precision);
    if (!rc)
        rc = cli_model_open(a->model, opts, &m);
    ce_options_free(opts);
    if (!rc)
        rc = check_ctx(m, a, &weight_bytes);
    if (!rc && !(rc = measure(m, a, a->threads, 0, &r))) {
        int first = 1;
        write_head(a->model, &r, a->runs, a->ctx, &first);
        cli_bench_json_number("median_ms", r.decode.median_ms, &first);
        cli_bench_json_number("min_ms", r.decode.min_ms, &first);
        printf(",\"weight_bytes\":%lld,\"peak_rss_bytes\":%lld}\n", (long long)weight_bytes,
               cli_bench_peak_rss());
    }
    ce_model_free(m);
    return rc;
}

int cli_cmd_bench_gpt2(int argc, char **argv)
{
    gpt2_args a = {.threads = -1, .runs = 10};
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    rc = a.gpt2 ? bench_gpt2(&a) : bench_decode(&a);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

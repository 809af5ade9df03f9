/* contextembed info: a model's shape and the backend a session would use, as JSON. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "json_writer.h"

static const char info_usage[] =
    "Usage: contextembed info -m MODEL [--backend NAME] [--threads N]\n"
    "                         [--precision f32|bf16|int8]\n"
    "\n"
    "Print one JSON object describing the model: \"architecture\", \"num_layers\",\n"
    "\"hidden_size\", \"num_heads\", \"vocab_size\", \"max_positions\",\n"
    "\"num_output_layers\", \"tokenizer\" (kind, or null), \"backend\", \"parameters\",\n"
    "and more (\"intermediate_size\", \"type_vocab_size\", \"weight_bytes\",\n"
    "\"threads\", \"version\"), \"max_seq_length\", \"capabilities\" (token_ids, words,\n"
    "decoder, bidirectional, token_types, carry_state, sentence_pooling),\n"
    "\"pooling\" (the model's own sentence pooling modes, [] when none),\n"
    "\"normalize\", \"heads\" (masked_lm, next_sentence, sequence_classification,\n"
    "token_classification, question_answering) and \"labels\" (of the classifier);\n"
    "\"precision\" (what the weight products run in) and \"cpu\" (what this CPU\n"
    "offers for it: avx2, avx512, avx512_bf16, amx_bf16, vnni, amx_int8 as booleans).\n"
    "\n"
    "  -m, --model DIR     model directory (Hugging Face layout)\n"
    "      --backend NAME  backend to report: ref, blis, onednn or auto (default)\n"
    "      --threads N     compute threads (0 = all CPUs, the default)\n"
    "      --precision P   open the model at f32 (default), bf16 or int8\n";

enum { OPT_MODEL = 1, OPT_BACKEND, OPT_THREADS, OPT_PRECISION, OPT_HELP };

static const cli_opt info_opts[] = {
    {OPT_MODEL, 'm', "model", 1},     {OPT_BACKEND, 0, "backend", 1},
    {OPT_THREADS, 0, "threads", 1},   {OPT_HELP, 'h', "help", 0},
    {OPT_PRECISION, 0, "precision", 1}, {0, 0, NULL, 0},
};

typedef struct info_args {
    const char *model, *backend, *precision;
    long threads;
} info_args;

static void print_help(void)
{
    fputs(info_usage, stdout);
    fputs("\nArchitectures (config.json model_type):", stdout);
    for (size_t i = 0; ce_architecture_name(i); i++)
        printf("%s %s", i ? "," : "", ce_architecture_name(i));
    fputc('\n', stdout);
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, info_args *a)
{
    cli_parser p;
    const char *v;
    int id;
    cli_parser_init(&p, argc, argv, info_opts);
    while ((id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        switch (id) {
        case OPT_MODEL: a->model = v; break;
        case OPT_BACKEND: a->backend = v; break;
        case OPT_PRECISION: a->precision = v; break;
        case OPT_THREADS:
            if (!cli_parse_long(v, 0, 1 << 16, &a->threads))
                return cli_usage("info", "bad --threads value '%s'", v);
            break;
        case OPT_HELP: print_help(); return -1;
        case CLI_ARG_POSITIONAL: return cli_usage("info", "unexpected argument '%s'", v);
        default: return cli_usage("info", "%s", p.error);
        }
    }
    if (!a->model)
        return cli_usage("info", "missing -m MODEL");
    return CLI_EXIT_OK;
}

typedef struct fact {
    const char *key;
    ce_model_info info;
} fact;

/* Printed in this order: the contract's keys first, then the extras. */
static const fact shape_facts[] = {
    {"num_layers", CE_INFO_NUM_LAYERS},       {"hidden_size", CE_INFO_HIDDEN_SIZE},
    {"num_heads", CE_INFO_NUM_HEADS},         {"vocab_size", CE_INFO_VOCAB_SIZE},
    {"max_positions", CE_INFO_MAX_POSITIONS}, {"num_output_layers", CE_INFO_NUM_OUTPUT_LAYERS},
};
static const fact more_facts[] = {
    {"parameters", CE_INFO_PARAMETERS},
    {"intermediate_size", CE_INFO_INTERMEDIATE_SIZE},
    {"type_vocab_size", CE_INFO_TYPE_VOCAB_SIZE},
    {"weight_bytes", CE_INFO_WEIGHT_BYTES},
    {"max_seq_length", CE_INFO_MAX_SEQ_LENGTH},
};

/* Names of bits, in bit order: capabilities, then pooling modes (bit = ce_pool). */
static const char *const cap_names[] = {"token_ids",   "words",       "decoder",
                                        "bidirectional", "token_types", "carry_state",
                                        "sentence_pooling"};
static const struct {
    const char *name;
    ce_pool pool;
} pool_names[] = { /* sentence-transformers' concatenation order */
    {"cls", CE_POOL_CLS},   {"max", CE_POOL_MAX},
    {"mean", CE_POOL_MEAN}, {"mean_sqrt_len", CE_POOL_MEAN_SQRT_LEN},
    {"weighted_mean", CE_POOL_WEIGHTED_MEAN}, {"last", CE_POOL_LAST},
};
#define N_SHAPE (sizeof shape_facts / sizeof *shape_facts)
#define N_MORE (sizeof more_facts / sizeof *more_facts)

/* Read every fact before printing anything, so a failure leaves no half object. */
static int read_facts(const ce_model *m, int64_t *shape, int64_t *more)
{
    ce_status st = CE_OK;
    for (size_t i = 0; st == CE_OK && i < N_SHAPE; i++)
        st = ce_model_get_info(m, shape_facts[i].info, &shape[i]);
    for (size_t i = 0; st == CE_OK && i < N_MORE; i++)
        st = ce_model_get_info(m, more_facts[i].info, &more[i]);
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

static void write_int(const char *key, int64_t value, int *first)
{
    cli_json_key(stdout, key, first);
    printf("%lld", (long long)value);
}

static void write_name(const char *key, const char *value, int *first)
{
    cli_json_key(stdout, key, first);
    if (value)
        cli_json_string(stdout, value, strlen(value));
    else
        fputs("null", stdout);
}

static const char *const head_names[] = {"masked_lm", "next_sentence",
                                         "sequence_classification", "token_classification",
                                         "question_answering"};

/* "heads": [...], "labels": [...] (those of the classifier, [] when none). */
static void write_heads(const ce_model *m, int64_t heads, int *first)
{
    cli_json_key(stdout, "heads", first);
    fputc('[', stdout);
    for (size_t i = 0, n = 0; i < sizeof head_names / sizeof *head_names; i++)
        if (heads & (1 << i))
            printf("%s\"%s\"", n++ ? "," : "", head_names[i]);
    fputc(']', stdout);
    ce_head cls = heads & (1 << CE_HEAD_SEQUENCE_CLASSIFICATION) ? CE_HEAD_SEQUENCE_CLASSIFICATION
                  : heads & (1 << CE_HEAD_TOKEN_CLASSIFICATION) ? CE_HEAD_TOKEN_CLASSIFICATION
                                                                : CE_HEAD_NEXT_SENTENCE;
    cli_json_key(stdout, "labels", first);
    fputc('[', stdout);
    for (size_t i = 0; ce_model_head_label(m, cls, i); i++) {
        const char *l = ce_model_head_label(m, cls, i);
        if (i)
            fputc(',', stdout);
        cli_json_string(stdout, l, strlen(l));
    }
    fputc(']', stdout);
}

static void write_names(const char *key, int64_t caps, int64_t pooling, int *first)
{
    cli_json_key(stdout, key, first);
    int n = 0;
    fputc('[', stdout);
    if (!strcmp(key, "capabilities")) {
        for (size_t i = 0; i < sizeof cap_names / sizeof *cap_names; i++)
            if (caps & (1 << i))
                printf("%s\"%s\"", n++ ? "," : "", cap_names[i]);
    } else {
        for (size_t i = 0; i < sizeof pool_names / sizeof *pool_names; i++)
            if (pooling & (1 << pool_names[i].pool))
                printf("%s\"%s\"", n++ ? "," : "", pool_names[i].name);
    }
    fputc(']', stdout);
}

/* "precision" of the model, and "cpu": what the CPU offers for the precisions. */
static void write_precision(const ce_model *m, int *first)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } feats[] = {{"avx2", CE_CPU_AVX2},         {"avx512", CE_CPU_AVX512},
                 {"avx512_bf16", CE_CPU_AVX512_BF16}, {"amx_bf16", CE_CPU_AMX_BF16},
                 {"vnni", CE_CPU_VNNI},         {"amx_int8", CE_CPU_AMX_INT8}};
    int64_t p = 0;
    ce_model_get_info(m, CE_INFO_PRECISION, &p);
    write_name("precision", ce_precision_name((ce_precision)p), first);
    cli_json_key(stdout, "cpu", first);
    uint32_t f = ce_cpu_features();
    fputc('{', stdout);
    for (size_t i = 0; i < sizeof feats / sizeof *feats; i++)
        printf("%s\"%s\":%s", i ? "," : "", feats[i].name, f & feats[i].bit ? "true" : "false");
    fputc('}', stdout);
}

static int write_info(const ce_model *m, const ce_session *s)
{
    int64_t shape[N_SHAPE], more[N_MORE], caps = 0, pooling = 0, normalize = 0, heads = 0;
    int rc = read_facts(m, shape, more), first = 1;
    if (rc)
        return rc;
    ce_status st = ce_model_get_info(m, CE_INFO_CAPABILITIES, &caps);
    if (st == CE_OK)
        st = ce_model_get_info(m, CE_INFO_POOLING, &pooling);
    if (st == CE_OK)
        st = ce_model_get_info(m, CE_INFO_NORMALIZE, &normalize);
    if (st == CE_OK)
        st = ce_model_get_info(m, CE_INFO_HEADS, &heads);
    if (st != CE_OK)
        return cli_fail(st);
    fputc('{', stdout);
    write_name("architecture", ce_model_architecture(m), &first);
    for (size_t i = 0; i < N_SHAPE; i++)
        write_int(shape_facts[i].key, shape[i], &first);
    write_name("tokenizer", ce_tokenizer_kind(ce_model_tokenizer(m)), &first);
    write_name("backend", ce_session_backend(s), &first);
    for (size_t i = 0; i < N_MORE; i++)
        write_int(more_facts[i].key, more[i], &first);
    write_int("threads", ce_session_threads(s), &first);
    write_name("version", ce_version(), &first);
    write_names("capabilities", caps, 0, &first);
    write_names("pooling", 0, pooling, &first);
    cli_json_key(stdout, "normalize", &first);
    fputs(normalize ? "true" : "false", stdout);
    write_heads(m, heads, &first);
    write_precision(m, &first);
    fputs("}\n", stdout);
    return CLI_EXIT_OK;
}

int cli_cmd_info(int argc, char **argv)
{
    info_args a = {.threads = -1};
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    ce_options *opts = NULL;
    ce_model *m = NULL;
    ce_session *s = NULL;
    if (!(rc = cli_options_make("info", a.backend, a.threads, 0, &opts)) &&
        !(rc = cli_options_precision("info", opts, a.precision)) &&
        !(rc = cli_model_open(a.model, opts, &m)) && !(rc = cli_session_create(m, opts, &s))) {
        rc = write_info(m, s);
        if (!rc)
            rc = cli_finish_output(stdout, "standard output");
    }
    ce_session_free(s);
    ce_model_free(m);
    ce_options_free(opts);
    return rc;
}

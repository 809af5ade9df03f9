/* contextembed generate: continue a prompt token by token, streaming the text. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gen_output.h"
#include "lm.h"

static const char generate_usage[] =
    "Usage: contextembed generate -m MODEL [-n N] [--temperature T] [--top-k K]\n"
    "                             [--top-p P] [--seed S] [--stop STR ...]\n"
    "                             (PROMPT | --ids I,J,..)\n"
    "\n"
    "Continue the prompt with a decoder model (GPT-2) and print the continuation\n"
    "(not the prompt) as it is produced, then a newline. Generation ends after N\n"
    "tokens, at the end-of-text token (not printed), or when the generated text\n"
    "contains a stop string (printed up to it, not including it). When the\n"
    "context reaches the model's maximum positions, generation ends there with a\n"
    "note on standard error and exit status 0. Without a tokenizer (a model\n"
    "directory without tokenizer files) the generated ids are printed instead,\n"
    "separated by spaces, and only N ends generation. PROMPT is encoded without\n"
    "added special tokens (\"-\" reads all of standard input, byte for byte); it\n"
    "must not be empty: to start from nothing, give the end-of-text token with\n"
    "--ids.\n"
    "\n" LM_COMMON_HELP
    "  -n, --max-tokens N     tokens to generate at most (default 32)\n"
    "      --temperature T    0 = greedy (always the most likely token); default 1\n"
    "      --top-k K          sample among the K most likely tokens (0 = all, default)\n"
    "      --top-p P          sample within the smallest set of probability >= P\n"
    "                         (nucleus sampling; 1 = no cut, the default)\n"
    "      --seed S           random seed, for reproducible sampling (default: a\n"
    "                         different one every run)\n"
    "      --stop STR         stop before STR; may be given several times\n";

enum { OPT_N = LM_OPT_OWN, OPT_TEMPERATURE, OPT_TOP_K, OPT_TOP_P, OPT_SEED, OPT_STOP };

static const cli_opt generate_opts[] = {
    LM_COMMON_OPTS,
    {OPT_N, 'n', "max-tokens", 1},
    {OPT_TEMPERATURE, 0, "temperature", 1},
    {OPT_TOP_K, 0, "top-k", 1},
    {OPT_TOP_P, 0, "top-p", 1},
    {OPT_SEED, 0, "seed", 1},
    {OPT_STOP, 0, "stop", 1},
    {0, 0, NULL, 0},
};

typedef struct generate_args {
    lm_args lm;
    long n, top_k, seed; /* seed < 0: none given */
    double temperature, top_p;
    char **stops; /* room for argc */
    size_t n_stops;
} generate_args;

static int parse_own(generate_args *a, int id, const char *v)
{
    switch (id) {
    case OPT_N:
        if (!cli_parse_long(v, 0, 1L << 30, &a->n))
            return cli_usage("generate", "bad -n value '%s' (a count >= 0)", v);
        break;
    case OPT_TEMPERATURE:
        if (!cli_lm_parse_double(v, 0, 1e30, &a->temperature))
            return cli_usage("generate", "bad --temperature '%s' (a number >= 0)", v);
        break;
    case OPT_TOP_K:
        if (!cli_parse_long(v, 0, INT32_MAX, &a->top_k))
            return cli_usage("generate", "bad --top-k '%s' (a count >= 0)", v);
        break;
    case OPT_TOP_P:
        if (!cli_lm_parse_double(v, 0, 1, &a->top_p) || a->top_p == 0)
            return cli_usage("generate", "bad --top-p '%s' (a number in (0, 1])", v);
        break;
    case OPT_SEED:
        if (!cli_parse_long(v, 0, INT64_MAX, &a->seed))
            return cli_usage("generate", "bad --seed '%s' (an integer >= 0)", v);
        break;
    default:
        if (!*v)
            return cli_usage("generate", "--stop needs a non-empty string");
        a->stops[a->n_stops++] = (char *)v;
    }
    return CLI_EXIT_OK;
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, generate_args *a)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, generate_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        rc = cli_lm_common_opt(&a->lm, id, v, &p, generate_usage);
        if (rc == -2)
            rc = parse_own(a, id, v);
    }
    return rc ? rc : cli_lm_check_args(&a->lm);
}

static int make_sampler(const generate_args *a, ce_sampler **out)
{
    uint64_t seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    if (a->seed >= 0)
        seed = (uint64_t)a->seed;
    ce_status st = ce_sampler_create(seed, out);
    if (st != CE_OK)
        return cli_fail(st);
    st = ce_sampler_configure(*out, (float)a->temperature, (int32_t)a->top_k, (float)a->top_p);
    return st == CE_OK ? CLI_EXIT_OK : cli_usage("generate", "%s", ce_last_error());
}

/* The end-of-text id, or -1 when the model has no tokenizer or no such token. */
static int32_t eos_id(const ce_tokenizer *tok)
{
    int32_t id;
    return tok && ce_tokenizer_special_id(tok, CE_SPECIAL_EOS, &id) == CE_OK ? id : -1;
}

/* Sample, print and feed back one token at a time. */
static int loop(const generate_args *a, lm_ctx *c, ce_sampler *smp, gen_output *out)
{
    int32_t eos = eos_id(c->tok);
    int stopped = 0, rc = CLI_EXIT_OK;
    for (long i = 0; !rc && !stopped && i < a->n; i++) {
        size_t rows;
        int32_t id;
        if ((rc = cli_lm_read_logits(c, &rows)))
            break;
        ce_status st = ce_sampler_sample(smp, c->logits + (rows - 1) * c->vocab, c->vocab, &id);
        if (st != CE_OK)
            return cli_fail(st);
        if (id == eos)
            break;
        if ((rc = cli_gen_output_push(out, id, &stopped)) || stopped || i + 1 == a->n)
            break;
        if (ce_session_context_length(c->session) >= c->max_positions) {
            rc = cli_gen_output_finish(out);
            fprintf(stderr, "contextembed: generate: the context is full (%zu tokens, the "
                    "model's maximum): stopped after %ld generated tokens\n",
                    c->max_positions, i + 1);
            return rc;
        }
        if ((st = ce_session_append(c->session, &id, 1, 0)) != CE_OK)
            rc = cli_fail(st);
    }
    return rc ? rc : cli_gen_output_finish(out);
}

static int generate(const generate_args *a, lm_ctx *c)
{
    if (a->n_stops && !c->tok)
        return cli_usage("generate", "--stop needs a model with a tokenizer");
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = cli_lm_prompt(&a->lm, c, &ids, &n);
    ce_sampler *smp = NULL;
    gen_output out;
    if (!rc)
        rc = make_sampler(a, &smp);
    if (!rc) {
        ce_status st = ce_session_append(c->session, ids, n, 0);
        rc = st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
    }
    if (!rc && !(rc = cli_gen_output_open(&out, stdout, c->tok, a->stops, a->n_stops))) {
        rc = loop(a, c, smp, &out);
        cli_gen_output_close(&out);
    }
    if (!rc)
        rc = cli_finish_output(stdout, "standard output");
    ce_sampler_free(smp);
    free(ids);
    return rc;
}

int cli_cmd_generate(int argc, char **argv)
{
    generate_args a = {.lm = {.cmd = "generate", .threads = -1}, .n = 32, .seed = -1,
                       .temperature = 1.0, .top_p = 1.0,
                       .stops = calloc((size_t)argc + 1, sizeof(char *))};
    if (!a.stops)
        return cli_failf("out of memory");
    lm_ctx c = {0};
    int rc = parse(argc, argv, &a);
    if (!rc && !(rc = cli_lm_open(&a.lm, &c)))
        rc = generate(&a, &c);
    cli_lm_close(&c);
    cli_lm_args_free(&a.lm);
    free(a.stops);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

/* contextembed embed: the command line and the layer selection it asks for. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "embed.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const char embed_usage[] =
    "Usage: contextembed embed -m MODEL [--layer N | --layers all | --layers I,J,..\n"
    "                          | --mix W0,W1,..[:GAMMA]] [--pool MODE]\n"
    "                          [--normalize | --no-normalize] [--ids I,J,K [--type-ids T,T,..]]\n"
    "                          [--pair TEXT_B] [--add-special | --no-special]\n"
    "                          [--special-as-text] [--format json|npy] [-o FILE]\n"
    "                          [--backend ref|blis|auto] [--threads N] [--precision P]\n"
    "                          [--truncate | --no-truncate | --windows [--stride S]]\n"
    "                          [--input FILE] [--jsonl] [--batch-tokens N] [--stack]\n"
    "                          [--progress | --no-progress] [--skip-bad]\n"
    "                          [--carry-state] [--] [TEXT ...]\n"
    "\n"
    "Layers: 0 is the embedding output, i the output of layer i, negative indices\n"
    "count from the end; the default is the last layer. --mix weights (one per\n"
    "output layer) are softmax-normalised and the sum scaled by GAMMA (default 1).\n"
    "\n"
    "JSON (the default): one object per text, one per line, with \"ids\",\n"
    "\"offsets\" (UTF-8 byte offsets, [] with --ids), \"type_ids\" (with --pair or\n"
    "--type-ids), \"shape\" ([L, T, D]; pooled: [D] for one layer or a mix, [L, D]\n"
    "for several) and \"data\" (the row-major floats, 9 significant digits).\n"
    "npy: one float32 array of that shape per text. To standard output only for\n"
    "one text; with -o FILE and several texts, text i goes to FILE with \".i\"\n"
    "before the extension (out.npy -> out.0.npy, out.1.npy, ...). With --stack\n"
    "and a pooled output: one float32 array [N, D] ([N, L, D] for several layers)\n"
    "of the N texts in input order, written row by row as results come.\n"
    "Files named by -o are written as FILE.partial and renamed when complete: a\n"
    "failed or interrupted run (SIGINT: exit status 130; SIGTERM: 143) leaves no\n"
    "FILE behind.\n"
    "\n"
    "Long texts: a text longer than the model takes (max_position_embeddings) is\n"
    "an error unless --truncate cuts it or --windows runs it as windows of that\n"
    "length (each with the special tokens), consecutive windows sharing S tokens\n"
    "(--stride; default a quarter of the maximum); every token gets its vector\n"
    "from the window where it has the most context on both sides. The result reads\n"
    "as one text: every token, offsets into the whole text, pooling over all\n"
    "tokens. A text that fits is computed exactly as without --windows.\n"
    "\n"
    "Corpora: --input FILE reads the texts from FILE. Consecutive texts run\n"
    "together, up to --batch-tokens tokens (default " STR(EMBED_BATCH_TOKENS) ") and a quarter as\n"
    "many texts per run; a longer text runs alone. --progress prints a progress\n"
    "line on standard error (texts done/total, tokens/s, ETA): on a terminal one\n"
    "line rewritten in place, else a line every 5 seconds; a summary line at the\n"
    "end. It is on by default with --input when standard error is a terminal.\n"
    "\n"
    "Bad texts (a --jsonl line that is not a JSON string, a text that is not\n"
    "valid UTF-8, empty or only white space) end the run with a message naming\n"
    "the line (or the text). With --skip-bad each is reported on standard error\n"
    "and left out, and results record their input position INDEX (0-based: the\n"
    "line number - 1 of the input; every line counts, skipped and blank ones\n"
    "too, and each TEXT argument counts one): JSON objects get \"index\": INDEX,\n"
    "per-text .npy files are named out.INDEX.npy, and with --stack -o FILE the\n"
    "rows' positions go to FILE.index.json as a JSON array.\n"
    "\n"
    "A sentence-transformers directory (modules.json) gives by default the\n"
    "sentence embedding sentence-transformers computes: its pooling (--pool\n"
    "default), its normalisation, texts cut to its max_seq_length. An explicit\n"
    "--pool, --normalize / --no-normalize or --no-truncate overrides each; with an\n"
    "explicit --pool, a directory whose modules the library lacks (a Dense layer)\n"
    "opens as its Transformer alone.\n"
    "\n"
    "ELMo models (a directory with options.json) read words: each text is split\n"
    "on white space, \"ids\" are -1 and the vectors are the words' (no sentence\n"
    "boundaries); --ids and --pair do not apply.\n"
    "\n"
    "  -m, --model DIR         model directory (Hugging Face layout)\n"
    "      --layer N           one layer\n"
    "      --layers all|I,J,.. several layers\n"
    "      --mix W0,..[:GAMMA] scalar mix of all output layers\n"
    "      --pool MODE         none, cls, mean, max, mean_sqrt_len, weighted_mean,\n"
    "                          last, or default (the model's own sentence pooling;\n"
    "                          the default for sentence-transformers directories,\n"
    "                          none otherwise)\n"
    "      --normalize         scale each output vector to unit L2 norm\n"
    "      --no-normalize      do not, even where the model's pooling would\n"
    "      --ids I,J,K         embed these token ids as given (no tokenizer, no\n"
    "                          special tokens added); replaces the texts\n"
    "      --type-ids T,T,..   token types of --ids (default all 0)\n"
    "      --pair TEXT_B       encode each text as a pair with TEXT_B\n"
    "      --add-special       add the special tokens (default)\n"
    "      --no-special        do not add them\n"
    "      --special-as-text   treat \"[MASK]\" etc. in the text as plain text\n"
    "      --format FORMAT     json (default) or npy\n"
    "  -o, --output FILE       write to FILE instead of standard output\n"
    "      --backend NAME      ref, blis, onednn or auto (default)\n"
    "      --threads N         compute threads (0 = all CPUs, the default)\n"
    "      --precision P       f32 (default), bf16 or int8 (weight-only int8)\n"
    "      --truncate          cut texts longer than the model's maximum\n"
    "                          (max_seq_length) instead of failing\n"
    "      --no-truncate       do not (the default but for sentence-transformers)\n"
    "      --windows           run long texts as sliding windows (see above); not\n"
    "                          with --truncate; sentence-transformers directories\n"
    "                          then do not cut texts either\n"
    "      --stride S          tokens shared by consecutive windows (S >= 1)\n"
    "      --input FILE        read the texts from FILE, one per line\n"
    "      --jsonl             the input holds one JSON string per line\n"
    "      --batch-tokens N    tokens per run of the model (default " STR(EMBED_BATCH_TOKENS) ")\n"
    "      --stack             with --format npy: one array of all the texts\n"
    "      --progress          print a progress line on standard error\n"
    "      --no-progress       never (not even on a terminal)\n"
    "      --skip-bad          report bad texts and leave them out (see above)\n"
    "      --carry-state       ELMo: run the texts in order, each starting from the\n"
    "                          LSTM state the previous one left (default: each\n"
    "                          text starts from zero state)\n"
    "\n"
    "Texts come from the arguments (after \"--\" they may begin with '-'), or from\n"
    "standard input, one per line, when there are none or an argument is \"-\".\n"
    "All texts run in one session.\n";

enum {
    OPT_MODEL = 1, OPT_LAYER, OPT_LAYERS, OPT_MIX, OPT_POOL, OPT_NORMALIZE, OPT_IDS,
    OPT_TYPE_IDS, OPT_PAIR, OPT_ADD_SPECIAL, OPT_NO_SPECIAL, OPT_AS_TEXT, OPT_FORMAT,
    OPT_OUTPUT, OPT_BACKEND, OPT_THREADS, OPT_TRUNCATE, OPT_JSONL, OPT_CARRY, OPT_HELP,
    OPT_NO_NORMALIZE, OPT_NO_TRUNCATE, OPT_WINDOWS, OPT_STRIDE, OPT_INPUT, OPT_BATCH_TOKENS,
    OPT_STACK, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_SKIP_BAD, OPT_PRECISION,
};

static const cli_opt embed_opts[] = {
    {OPT_MODEL, 'm', "model", 1},         {OPT_LAYER, 0, "layer", 1},
    {OPT_LAYERS, 0, "layers", 1},         {OPT_MIX, 0, "mix", 1},
    {OPT_POOL, 0, "pool", 1},             {OPT_NORMALIZE, 0, "normalize", 0},
    {OPT_IDS, 0, "ids", 1},               {OPT_TYPE_IDS, 0, "type-ids", 1},
    {OPT_PAIR, 0, "pair", 1},             {OPT_ADD_SPECIAL, 0, "add-special", 0},
    {OPT_NO_SPECIAL, 0, "no-special", 0}, {OPT_AS_TEXT, 0, "special-as-text", 0},
    {OPT_FORMAT, 0, "format", 1},         {OPT_OUTPUT, 'o', "output", 1},
    {OPT_BACKEND, 0, "backend", 1},       {OPT_THREADS, 0, "threads", 1},
    {OPT_PRECISION, 0, "precision", 1},
    {OPT_TRUNCATE, 0, "truncate", 0},     {OPT_JSONL, 0, "jsonl", 0},
    {OPT_CARRY, 0, "carry-state", 0},     {OPT_HELP, 'h', "help", 0},
    {OPT_NO_NORMALIZE, 0, "no-normalize", 0}, {OPT_NO_TRUNCATE, 0, "no-truncate", 0},
    {OPT_WINDOWS, 0, "windows", 0},       {OPT_STRIDE, 0, "stride", 1},
    {OPT_INPUT, 0, "input", 1},           {OPT_BATCH_TOKENS, 0, "batch-tokens", 1},
    {OPT_STACK, 0, "stack", 0},           {OPT_PROGRESS, 0, "progress", 0},
    {OPT_NO_PROGRESS, 0, "no-progress", 0}, {OPT_SKIP_BAD, 0, "skip-bad", 0},
    {0, 0, NULL, 0},
};

static int set_layer_mode(embed_args *a, embed_layers mode, const char *flag)
{
    if (a->layer_mode != EMBED_LAYERS_DEFAULT)
        return cli_usage("embed", "give only one of --layer, --layers and --mix");
    a->layer_mode = mode;
    a->layer_flag = flag;
    return CLI_EXIT_OK;
}

static int parse_layers(embed_args *a, int id, const char *v)
{
    const char *flag = id == OPT_LAYER ? "--layer" : id == OPT_LAYERS ? "--layers" : "--mix";
    int all = id == OPT_LAYERS && !strcmp(v, "all");
    int rc = set_layer_mode(a, id == OPT_MIX ? EMBED_LAYERS_MIX
                               : all ? EMBED_LAYERS_ALL : EMBED_LAYERS_LIST, flag);
    if (rc || all)
        return rc;
    if (id == OPT_MIX) {
        if (!cli_parse_mix(v, &a->mix, &a->n_mix, &a->gamma))
            return cli_usage("embed", "bad --mix value '%s': expected W0,W1,...[:GAMMA]", v);
        return CLI_EXIT_OK;
    }
    if (!cli_parse_int_list(v, &a->layers, &a->n_layers) || (id == OPT_LAYER && a->n_layers != 1))
        return cli_usage("embed", "bad %s value '%s'", flag, v);
    return CLI_EXIT_OK;
}

static int parse_pool(embed_args *a, const char *v)
{
    /* indexed by ce_pool */
    static const char *const names[] = {"none", "cls",          "mean", "max",
                                        "mean_sqrt_len", "weighted_mean", "last", "default"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(v, names[i])) {
            a->pool = (int)i;
            return CLI_EXIT_OK;
        }
    return cli_usage("embed", "bad --pool value '%s': expected none, cls, mean, max, "
                     "mean_sqrt_len, weighted_mean, last or default", v);
}

static int parse_value(embed_args *a, int id, const char *v)
{
    switch (id) {
    case OPT_POOL: return parse_pool(a, v);
    case OPT_IDS:
        if (a->ids || !cli_parse_int_list(v, &a->ids, &a->n_ids))
            return cli_usage("embed", "bad or repeated --ids '%s'", v);
        return CLI_EXIT_OK;
    case OPT_TYPE_IDS:
        if (a->type_ids || !cli_parse_int_list(v, &a->type_ids, &a->n_type_ids))
            return cli_usage("embed", "bad or repeated --type-ids '%s'", v);
        return CLI_EXIT_OK;
    case OPT_FORMAT:
        if (strcmp(v, "json") && strcmp(v, "npy"))
            return cli_usage("embed", "bad --format '%s': expected json or npy", v);
        a->npy = !strcmp(v, "npy");
        return CLI_EXIT_OK;
    case OPT_THREADS:
        if (!cli_parse_long(v, 0, 1 << 16, &a->threads))
            return cli_usage("embed", "bad --threads value '%s'", v);
        return CLI_EXIT_OK;
    case OPT_STRIDE:
        if (!cli_parse_long(v, 1, 1 << 20, &a->stride))
            return cli_usage("embed", "bad --stride value '%s' (tokens, at least 1)", v);
        return CLI_EXIT_OK;
    case OPT_BATCH_TOKENS:
        if (!cli_parse_long(v, 1, 1 << 24, &a->batch_tokens))
            return cli_usage("embed", "bad --batch-tokens value '%s'", v);
        return CLI_EXIT_OK;
    default: return parse_layers(a, id, v);
    }
}

static int parse_one(embed_args *a, int id, const char *v, const cli_parser *p)
{
    switch (id) {
    case OPT_MODEL: a->model = v; break;
    case OPT_PAIR: a->pair = v; break;
    case OPT_OUTPUT: a->output = v; break;
    case OPT_BACKEND: a->backend = v; break;
    case OPT_PRECISION: a->precision = v; break;
    case OPT_NORMALIZE: a->normalize = 1; break;
    case OPT_NO_NORMALIZE: a->normalize = 0; break;
    case OPT_NO_TRUNCATE: a->truncate = 0; break;
    case OPT_ADD_SPECIAL: a->add_special = 1; break;
    case OPT_NO_SPECIAL: a->add_special = 0; break;
    case OPT_AS_TEXT: a->special_as_text = 1; break;
    case OPT_TRUNCATE: a->truncate = 1; break;
    case OPT_JSONL: a->jsonl = 1; break;
    case OPT_CARRY: a->carry_state = 1; break;
    case OPT_INPUT: a->input = v; break;
    case OPT_WINDOWS: a->windows = 1; break;
    case OPT_STACK: a->stack = 1; break;
    case OPT_PROGRESS: a->progress = 1; break;
    case OPT_NO_PROGRESS: a->progress = 0; break;
    case OPT_SKIP_BAD: a->skip_bad = 1; break;
    case OPT_HELP:
        fputs(embed_usage, stdout);
        return -1;
    case CLI_ARG_POSITIONAL: a->texts[a->n_texts++] = (char *)v; break;
    case CLI_ARG_ERROR: return cli_usage("embed", "%s", p->error);
    default: return parse_value(a, id, v);
    }
    return CLI_EXIT_OK;
}

/* Combinations that cannot work, found before anything is opened. */
static int check_combination(const embed_args *a)
{
    if (!a->model)
        return cli_usage("embed", "missing -m MODEL");
    if (a->type_ids && !a->ids)
        return cli_usage("embed", "--type-ids needs --ids");
    if (a->ids && (a->n_texts || a->pair || a->jsonl))
        return cli_usage("embed", "--ids replaces the texts: give no text, --pair or --jsonl");
    if (a->type_ids && a->n_type_ids != a->n_ids)
        return cli_usage("embed", "--type-ids has %zu values for %zu --ids", a->n_type_ids,
                         a->n_ids);
    if (a->input && (a->n_texts || a->ids))
        return cli_usage("embed", "--input replaces the texts: give no TEXT or --ids");
    if (a->skip_bad && a->ids)
        return cli_usage("embed", "--skip-bad is for texts, not --ids");
    if (a->stride && !a->windows)
        return cli_usage("embed", "--stride needs --windows");
    if (a->windows && a->truncate == 1)
        return cli_usage("embed", "give --windows or --truncate, not both");
    if (a->stack && !a->npy)
        return cli_usage("embed", "--stack needs --format npy");
    return CLI_EXIT_OK;
}

int cli_embed_parse(int argc, char **argv, embed_args *a)
{
    memset(a, 0, sizeof *a);
    a->threads = -1;
    a->add_special = 1;
    a->pool = -1;
    a->normalize = -1;
    a->truncate = -1;
    a->progress = -1;
    a->gamma = 1.0f;
    if (!(a->texts = calloc((size_t)argc + 1, sizeof *a->texts)))
        return cli_failf("out of memory");
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, embed_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END)
        rc = parse_one(a, id, v, &p);
    if (!rc && !(rc = check_combination(a)) && a->windows)
        a->truncate = 0; /* windows replace the cut a sentence-transformers model makes */
    return rc;
}

void cli_embed_args_free(embed_args *a)
{
    free(a->layers);
    free(a->mix);
    free(a->ids);
    free(a->type_ids);
    free(a->texts);
    memset(a, 0, sizeof *a);
}

static int check_layers(const embed_args *a, int64_t n_out)
{
    if (a->layer_mode == EMBED_LAYERS_MIX && (int64_t)a->n_mix != n_out)
        return cli_usage("embed", "--mix has %zu weights; the model has %lld output layers",
                         a->n_mix, (long long)n_out);
    for (size_t i = 0; a->layer_mode == EMBED_LAYERS_LIST && i < a->n_layers; i++)
        if (a->layers[i] < -n_out || a->layers[i] >= n_out)
            return cli_usage("embed",
                             "%s %ld is out of range: the model has %lld output layers "
                             "(0 = embeddings .. %lld; negative counts from the end)",
                             a->layer_flag, (long)a->layers[i], (long long)n_out,
                             (long long)n_out - 1);
    return CLI_EXIT_OK;
}

static ce_status apply(const embed_args *a, ce_select *sel)
{
    ce_status st = CE_OK;
    int32_t none = 0; /* n == 0 means all layers; the pointer is not read */
    if (a->layer_mode == EMBED_LAYERS_LIST)
        st = ce_select_layers(sel, a->layers, a->n_layers);
    else if (a->layer_mode == EMBED_LAYERS_ALL)
        st = ce_select_layers(sel, &none, 0);
    else if (a->layer_mode == EMBED_LAYERS_MIX)
        st = ce_select_mix(sel, a->mix, a->n_mix, a->gamma);
    if (st == CE_OK)
        st = ce_select_pool(sel, (ce_pool)a->pool);
    if (st == CE_OK && a->normalize >= 0)
        st = ce_select_normalize(sel, a->normalize);
    return st;
}

int cli_embed_select(const embed_args *a, const ce_model *m, ce_select **out)
{
    int64_t n_out;
    ce_status st = ce_model_get_info(m, CE_INFO_NUM_OUTPUT_LAYERS, &n_out);
    if (st != CE_OK)
        return cli_fail(st);
    int rc = check_layers(a, n_out);
    if (rc)
        return rc;
    ce_select *sel;
    if ((st = ce_select_create(&sel)) != CE_OK)
        return cli_fail(st);
    if ((st = apply(a, sel)) != CE_OK) {
        ce_select_free(sel);
        return cli_fail(st);
    }
    *out = sel;
    return CLI_EXIT_OK;
}

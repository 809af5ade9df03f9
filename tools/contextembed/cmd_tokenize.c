/* contextembed tokenize: ids, token strings and byte offsets, one JSON object per text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "json_writer.h"
#include "text_input.h"

static const char tokenize_usage[] =
    "Usage: contextembed tokenize (-m MODEL | -t TOKENIZER) [--add-special]\n"
    "                             [--special-as-text] [--pair TEXT_B] [--jsonl]\n"
    "                             [--] [TEXT ...]\n"
    "\n"
    "Print one JSON object per text, one per line:\n"
    "  {\"ids\": [...], \"tokens\": [...], \"offsets\": [[begin, end], ...],\n"
    "   \"word_ids\": [...]}\n"
    "with UTF-8 byte offsets into the text the token came from ([0, 0] for added\n"
    "special tokens), the word of its text each token belongs to (null for added\n"
    "special tokens; Hugging Face's word_ids), and \"type_ids\" when --pair is given.\n"
    "\n"
    "  -m, --model DIR           use the tokenizer of a model directory\n"
    "  -t, --tokenizer PATH      tokenizer.json, vocab.txt or a directory holding one\n"
    "      --add-special         add the model's special tokens ([CLS] ... [SEP])\n"
    "      --special-as-text     treat \"[MASK]\" etc. in the text as plain text\n"
    "      --pair TEXT_B         encode each text as a pair with TEXT_B\n"
    "      --jsonl               standard input holds one JSON string per line\n"
    "\n"
    "Texts come from the arguments (after \"--\" they may begin with '-'), or from\n"
    "standard input, one per line, when there are none or an argument is \"-\".\n";

enum { OPT_MODEL = 1, OPT_TOKENIZER, OPT_ADD_SPECIAL, OPT_AS_TEXT, OPT_PAIR, OPT_JSONL, OPT_HELP };

static const cli_opt tokenize_opts[] = {
    {OPT_MODEL, 'm', "model", 1},           {OPT_TOKENIZER, 't', "tokenizer", 1},
    {OPT_ADD_SPECIAL, 0, "add-special", 0}, {OPT_AS_TEXT, 0, "special-as-text", 0},
    {OPT_PAIR, 0, "pair", 1},               {OPT_JSONL, 0, "jsonl", 0},
    {OPT_HELP, 'h', "help", 0},             {0, 0, NULL, 0},
};

typedef struct tokenize_args {
    const char *model, *tokenizer, *pair;
    uint32_t flags;
    int jsonl;
    char **texts; /* positional arguments */
    size_t n_texts;
} tokenize_args;

static int parse_one(tokenize_args *a, int id, const char *v, const cli_parser *p)
{
    switch (id) {
    case OPT_MODEL: a->model = v; break;
    case OPT_TOKENIZER: a->tokenizer = v; break;
    case OPT_ADD_SPECIAL: a->flags |= CE_ENCODE_ADD_SPECIAL; break;
    case OPT_AS_TEXT: a->flags |= CE_ENCODE_SPECIAL_AS_TEXT; break;
    case OPT_PAIR: a->pair = v; break;
    case OPT_JSONL: a->jsonl = 1; break;
    case OPT_HELP: fputs(tokenize_usage, stdout); return -1;
    case CLI_ARG_POSITIONAL: a->texts[a->n_texts++] = (char *)v; break;
    default: return cli_usage("tokenize", "%s", p->error);
    }
    return CLI_EXIT_OK;
}

/* -1: --help printed; otherwise an exit code (0 = go on). a->texts has room for argc. */
static int parse(int argc, char **argv, tokenize_args *a)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, tokenize_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END)
        rc = parse_one(a, id, v, &p);
    if (rc)
        return rc;
    if (!a->model == !a->tokenizer)
        return cli_usage("tokenize", a->model ? "give -m MODEL or -t TOKENIZER, not both"
                                              : "missing -m MODEL or -t TOKENIZER");
    return CLI_EXIT_OK;
}

/* The text a token covers, for tokenizers without a vocabulary (ELMo's words, id -1). */
typedef struct source_texts {
    const char *text, *pair;
    size_t text_len, pair_len;
} source_texts;

static void write_token(const ce_tokenizer *tok, const ce_encoding *e, size_t i,
                        const source_texts *src)
{
    const char *s;
    size_t len;
    int32_t id = ce_encoding_ids(e)[i];
    if (id >= 0 && ce_tokenizer_id_to_token(tok, id, &s, &len) == CE_OK) {
        cli_json_string(stdout, s, len);
        return;
    }
    const size_t *off = ce_encoding_offsets(e) + 2 * i;
    int seq = ce_encoding_sequence_ids(e)[i];
    const char *base = seq == 1 ? src->pair : src->text;
    size_t cap = seq == 1 ? src->pair_len : src->text_len;
    if (id < 0 && seq >= 0 && base && off[1] <= cap && off[0] <= off[1])
        cli_json_string(stdout, base + off[0], off[1] - off[0]);
    else
        fputs("null", stdout);
}

static void write_encoding(const ce_tokenizer *tok, const ce_encoding *e, int with_types,
                           const source_texts *src)
{
    size_t n = ce_encoding_length(e);
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "ids", &first);
    cli_json_int_array(stdout, ce_encoding_ids(e), n);
    cli_json_key(stdout, "tokens", &first);
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', stdout);
        write_token(tok, e, i, src);
    }
    fputc(']', stdout);
    cli_json_key(stdout, "offsets", &first);
    cli_json_pairs(stdout, ce_encoding_offsets(e), n);
    cli_json_key(stdout, "word_ids", &first);
    const int32_t *words = ce_encoding_word_ids(e);
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++)
        printf(words[i] < 0 ? "%snull" : "%s%d", i ? "," : "", (int)words[i]);
    fputc(']', stdout);
    if (with_types) {
        cli_json_key(stdout, "type_ids", &first);
        cli_json_int_array(stdout, ce_encoding_type_ids(e), n);
    }
    fputs("}\n", stdout);
}

static int tokenize_all(const ce_tokenizer *tok, const tokenize_args *a, const cli_texts *t)
{
    size_t pair_len = a->pair ? strlen(a->pair) : 0;
    for (size_t i = 0; i < t->n; i++) {
        ce_encoding *e;
        ce_status st = ce_tokenizer_encode(tok, t->items[i].data, t->items[i].len, a->pair,
                                           pair_len, a->flags, 0, &e);
        if (st != CE_OK) {
            fflush(stdout);
            return cli_failf("%s (text %zu)", ce_last_error(), i);
        }
        source_texts src = {t->items[i].data, a->pair, t->items[i].len, pair_len};
        write_encoding(tok, e, a->pair != NULL, &src);
        ce_encoding_free(e);
    }
    return cli_finish_output(stdout, "standard output");
}

/* The tokenizer: from the model (with its contextembed.yaml flags) or a file. */
static int open_tokenizer(const tokenize_args *a, ce_model **m, ce_tokenizer **own,
                          const ce_tokenizer **tok)
{
    ce_status st;
    if (a->tokenizer) {
        if ((st = ce_tokenizer_open(a->tokenizer, own)) != CE_OK)
            return cli_fail(st);
        *tok = *own;
        return CLI_EXIT_OK;
    }
    if ((st = ce_model_open(a->model, NULL, m)) != CE_OK)
        return cli_fail(st);
    if (!(*tok = ce_model_tokenizer(*m)))
        return cli_failf("%s: the model has no tokenizer", a->model);
    return CLI_EXIT_OK;
}

int cli_cmd_tokenize(int argc, char **argv)
{
    tokenize_args a = {.texts = calloc((size_t)argc + 1, sizeof(char *))};
    if (!a.texts)
        return cli_failf("out of memory");
    cli_texts texts = {0};
    ce_model *m = NULL;
    ce_tokenizer *own = NULL;
    const ce_tokenizer *tok = NULL;
    char err[512];
    int rc = parse(argc, argv, &a);
    if (rc < 0) {
        rc = CLI_EXIT_OK;
    } else if (!rc && !cli_texts_collect(&texts, a.texts, a.n_texts, a.jsonl, stdin, err,
                                         sizeof err)) {
        rc = cli_failf("%s", err);
    } else if (!rc && !(rc = open_tokenizer(&a, &m, &own, &tok))) {
        rc = tokenize_all(tok, &a, &texts);
    }
    ce_tokenizer_free(own);
    ce_model_free(m);
    cli_texts_free(&texts);
    free(a.texts);
    return rc;
}

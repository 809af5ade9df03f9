/* contextembed fill-mask: the likeliest tokens behind each mask token, from a
 * masked-language-model head, as Hugging Face's fill-mask pipeline ranks them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "heads.h"
#include "json_writer.h"
#include "lm.h"
#include "pipelines.h"

static const char fill_mask_usage[] =
    "Usage: contextembed fill-mask -m MODEL [--top K] [--logits] [--] [TEXT ...]\n"
    "       contextembed fill-mask -m MODEL [--top K] [--logits] --ids I,J,..\n"
    "\n"
    "Predict the tokens behind the mask tokens of each text (\"[MASK]\" for BERT,\n"
    "\"<mask>\" for RoBERTa) with the model's masked-language-model head\n"
    "(*ForMaskedLM, BertForPreTraining). One JSON object per text, one per line:\n"
    "  {\"ids\": [...], \"masks\": [{\"index\": I, \"top\": [{\"id\": N, \"token\": \"...\",\n"
    "   \"prob\": P}, ...]}, ...]}\n"
    "one entry of \"masks\" per mask token, in order; \"index\" is its position in\n"
    "\"ids\"; \"prob\" the softmax over the whole vocabulary (as Hugging Face's\n"
    "fill-mask pipeline computes it; equal probabilities: lower id first);\n"
    "\"token\" the id decoded to text. With --logits each entry also holds\n"
    "\"logits\", the mask position's row over the vocabulary. A text without a\n"
    "mask token is an error.\n"
    "\n" HEAD_COMMON_HELP HEAD_IDS_HELP
    "      --top K            predictions per mask (default 5)\n"
    "      --logits           add each mask position's logits\n"
    "\n" HEAD_TEXTS_HELP;

enum { OPT_TOP = HEAD_OPT_OWN, OPT_LOGITS };

static const cli_opt fill_mask_opts[] = {
    HEAD_COMMON_OPTS, HEAD_IDS_OPTS, {OPT_TOP, 0, "top", 1}, {OPT_LOGITS, 0, "logits", 0},
    {0, 0, NULL, 0},
};

typedef struct fill_run {
    head_args a;
    long top;
    int logits;
    head_ctx c;
    ce_encoding **encs;
    head_seq *seqs;
    size_t n;
    int32_t mask_id;
    double *probs; /* one vocabulary row */
    size_t *best;  /* top */
} fill_run;

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, fill_run *r)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, fill_mask_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        rc = cli_head_common_opt(&r->a, id, v, &p, fill_mask_usage);
        if (rc != -2)
            continue;
        rc = CLI_EXIT_OK;
        if (id == OPT_LOGITS)
            r->logits = 1;
        else if (!cli_parse_long(v, 1, 1L << 30, &r->top))
            rc = cli_usage("fill-mask", "bad --top value '%s' (a count >= 1)", v);
    }
    return rc ? rc : cli_head_check_args(&r->a);
}

/* The sequences: --ids, or each text's encoding. */
static int make_seqs(fill_run *r)
{
    r->n = r->a.ids ? 1 : r->c.texts.n;
    if (!(r->seqs = calloc(r->n ? r->n : 1, sizeof *r->seqs)))
        return cli_failf("out of memory");
    if (r->a.ids) {
        r->seqs[0] = (head_seq){r->a.ids, r->a.type_ids, r->a.n_ids};
        return CLI_EXIT_OK;
    }
    int rc = cli_head_encode(&r->c, NULL, &r->encs);
    for (size_t i = 0; !rc && i < r->n; i++)
        r->seqs[i] = (head_seq){ce_encoding_ids(r->encs[i]), NULL,
                                ce_encoding_length(r->encs[i])};
    return rc;
}

/* Every sequence must hold a mask token: checked before anything runs. */
static int check_masks(fill_run *r)
{
    const ce_tokenizer *tok = r->c.tok;
    if (!tok)
        return cli_failf("%s: the model has no tokenizer, so no mask token to fill", r->a.model);
    if (ce_tokenizer_special_id(tok, CE_SPECIAL_MASK, &r->mask_id) != CE_OK)
        return cli_failf("%s: the tokenizer has no mask token", r->a.model);
    for (size_t i = 0; i < r->n; i++) {
        size_t found = 0;
        for (size_t t = 0; t < r->seqs[i].n; t++)
            found += r->seqs[i].ids[t] == r->mask_id;
        if (found)
            continue;
        const char *mask = "";
        size_t len = 0;
        ce_tokenizer_id_to_token(tok, r->mask_id, &mask, &len);
        return cli_failf("%s %zu has no mask token (%.*s, id %ld) to fill",
                         r->a.ids ? "--ids" : "text", i, (int)len, mask, (long)r->mask_id);
    }
    return CLI_EXIT_OK;
}

static int write_mask(fill_run *r, size_t t, const float *row, size_t vocab)
{
    size_t k = pipe_top_k(r->probs, vocab, (size_t)r->top, r->best);
    if (!k)
        return cli_failf("out of memory");
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "index", &first);
    printf("%zu", t);
    cli_json_key(stdout, "top", &first);
    fputc('[', stdout);
    for (size_t j = 0; j < k; j++) {
        int f = 1;
        fputs(j ? ",{" : "{", stdout);
        cli_json_key(stdout, "id", &f);
        printf("%zu", r->best[j]);
        cli_json_key(stdout, "token", &f);
        cli_lm_json_token(stdout, r->c.tok, (int32_t)r->best[j]);
        cli_json_key(stdout, "prob", &f);
        cli_head_json_double(stdout, r->probs[r->best[j]]);
        fputc('}', stdout);
    }
    fputc(']', stdout);
    if (r->logits) {
        cli_json_key(stdout, "logits", &first);
        cli_json_float_array(stdout, row, vocab);
    }
    fputc('}', stdout);
    return CLI_EXIT_OK;
}

static int emit(void *user, size_t index, const size_t *shape, size_t ndim)
{
    fill_run *r = user;
    const head_seq *s = &r->seqs[index];
    if (ndim != 2 || shape[0] != s->n || shape[1] != r->c.size)
        return cli_failf("%s: unexpected masked-LM output shape", r->a.model);
    int first = 1, any = 0, rc = CLI_EXIT_OK;
    fputc('{', stdout);
    cli_json_key(stdout, "ids", &first);
    cli_json_int_array(stdout, s->ids, s->n);
    cli_json_key(stdout, "masks", &first);
    fputc('[', stdout);
    for (size_t t = 0; !rc && t < s->n; t++) {
        if (s->ids[t] != r->mask_id)
            continue;
        const float *row = r->c.logits + t * shape[1];
        pipe_softmax(row, shape[1], r->probs);
        if (any++)
            fputc(',', stdout);
        rc = write_mask(r, t, row, shape[1]);
    }
    fputs("]}\n", stdout);
    if (rc)
        return rc;
    return ferror(stdout) ? cli_finish_output(stdout, "standard output") : CLI_EXIT_OK;
}

static int run(fill_run *r)
{
    static const ce_head want[] = {CE_HEAD_MASKED_LM};
    int rc = cli_head_open(&r->a, want, 1, &r->c);
    if (!rc)
        rc = make_seqs(r);
    if (!rc)
        rc = check_masks(r);
    if (rc)
        return rc;
    if ((size_t)r->top > r->c.size)
        r->top = (long)r->c.size; /* no more predictions than the vocabulary has */
    r->probs = malloc((r->c.size ? r->c.size : 1) * sizeof *r->probs);
    r->best = malloc((r->top ? (size_t)r->top : 1) * sizeof *r->best);
    if (!r->probs || !r->best)
        return cli_failf("out of memory");
    rc = cli_head_run(&r->c, r->seqs, r->n, r->a.ids ? "--ids" : "text", emit, r);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

int cli_cmd_fill_mask(int argc, char **argv)
{
    fill_run r;
    memset(&r, 0, sizeof r);
    r.top = 5;
    int rc = cli_head_args_init(&r.a, "fill-mask", argc);
    if (!rc && !(rc = parse(argc, argv, &r)))
        rc = run(&r);
    free(r.probs);
    free(r.best);
    free(r.seqs);
    cli_head_encodings_free(r.encs, r.encs ? r.n : 0);
    cli_head_close(&r.c);
    cli_head_args_free(&r.a);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

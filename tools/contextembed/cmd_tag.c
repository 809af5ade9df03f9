/* contextembed tag: a label per token from a token-classification head, and
 * the entities Hugging Face's token-classification pipeline makes of them
 * with aggregation_strategy="simple". */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "heads.h"
#include "json_writer.h"
#include "pipelines.h"

static const char tag_usage[] =
    "Usage: contextembed tag -m MODEL [--] [TEXT ...]\n"
    "\n"
    "Label every token of each text with the model's token-classification head\n"
    "(*ForTokenClassification: named entities, parts of speech) and group the\n"
    "labels into entities. One JSON object per text, one per line:\n"
    "  {\"ids\": [...], \"offsets\": [[b, e], ...], \"labels\": [...],\n"
    "   \"token_labels\": [...], \"logits\": {\"shape\": [T, C], \"data\": [...]},\n"
    "   \"entities\": [{\"label\": \"...\", \"start\": b, \"end\": e, \"text\": \"...\",\n"
    "   \"score\": S}, ...]}\n"
    "\"offsets\", \"start\" and \"end\" are UTF-8 byte offsets into the text;\n"
    "\"labels\" names the C outputs (id2label); \"token_labels\" is each token's most\n"
    "probable label (special tokens too). Entities are grouped as Hugging Face's\n"
    "token-classification pipeline does with aggregation_strategy=\"simple\": a\n"
    "softmax per token, special tokens skipped, each token takes its most\n"
    "probable label; a token continues the current entity when its label, less a\n"
    "B-/I- prefix, is the entity's and it is not a B- label; \"label\" is the\n"
    "entity's first label after its first '-', \"score\" the mean probability of\n"
    "its tokens, \"text\" the text from start to end; entities labelled O are left\n"
    "out.\n"
    "\n" HEAD_COMMON_HELP "\n" HEAD_TEXTS_HELP;

static const cli_opt tag_opts[] = {HEAD_COMMON_OPTS, {0, 0, NULL, 0}};

typedef struct tag_run {
    head_args a;
    head_ctx c;
    ce_encoding **encs;
    head_seq *seqs;
    size_t n;
    char **labels;
} tag_run;

/* Working arrays of one text. */
typedef struct tag_work {
    double *probs;        /* [T][C] */
    size_t *token_label;  /* T */
    unsigned char *skip;  /* T */
    pipe_entity *entities; /* T */
} tag_work;

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, tag_run *r)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, tag_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END)
        if ((rc = cli_head_common_opt(&r->a, id, v, &p, tag_usage)) == -2)
            rc = cli_usage("tag", "unexpected option");
    return rc ? rc : cli_head_check_args(&r->a);
}

static int make_seqs(tag_run *r)
{
    r->n = r->c.texts.n;
    if (!(r->seqs = calloc(r->n ? r->n : 1, sizeof *r->seqs)))
        return cli_failf("out of memory");
    int rc = cli_head_encode(&r->c, NULL, &r->encs);
    for (size_t i = 0; !rc && i < r->n; i++)
        r->seqs[i] = (head_seq){ce_encoding_ids(r->encs[i]), NULL,
                                ce_encoding_length(r->encs[i])};
    return rc;
}

static void write_entities(const tag_work *w, size_t n, const cli_text *text)
{
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        const pipe_entity *e = &w->entities[i];
        int first = 1;
        fputs(i ? ",{" : "{", stdout);
        cli_json_key(stdout, "label", &first);
        cli_json_string(stdout, e->type, e->type_len);
        cli_json_key(stdout, "start", &first);
        printf("%zu", e->start);
        cli_json_key(stdout, "end", &first);
        printf("%zu", e->end);
        cli_json_key(stdout, "text", &first);
        size_t end = e->end <= text->len ? e->end : text->len;
        cli_json_string(stdout, text->data + e->start, end > e->start ? end - e->start : 0);
        cli_json_key(stdout, "score", &first);
        cli_head_json_double(stdout, e->score);
        fputc('}', stdout);
    }
    fputc(']', stdout);
}

static void write_result(const tag_run *r, size_t index, const tag_work *w, size_t n_entities)
{
    const head_seq *s = &r->seqs[index];
    const ce_encoding *enc = r->encs[index];
    size_t C = r->c.size, shape[2] = {s->n, C};
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "ids", &first);
    cli_json_int_array(stdout, s->ids, s->n);
    cli_json_key(stdout, "offsets", &first);
    cli_json_pairs(stdout, ce_encoding_offsets(enc), s->n);
    cli_json_key(stdout, "labels", &first);
    cli_head_json_strings(stdout, r->labels, C);
    cli_json_key(stdout, "token_labels", &first);
    fputc('[', stdout);
    for (size_t t = 0; t < s->n; t++) {
        const char *label = r->labels[w->token_label[t]];
        if (t)
            fputc(',', stdout);
        cli_json_string(stdout, label, strlen(label));
    }
    fputc(']', stdout);
    cli_json_key(stdout, "logits", &first);
    fputs("{\"shape\":", stdout);
    cli_json_size_array(stdout, shape, 2);
    fputs(",\"data\":", stdout);
    cli_json_float_array(stdout, r->c.logits, s->n * C);
    fputc('}', stdout);
    cli_json_key(stdout, "entities", &first);
    write_entities(w, n_entities, &r->c.texts.items[index]);
    fputs("}\n", stdout);
}

static int emit(void *user, size_t index, const size_t *shape, size_t ndim)
{
    tag_run *r = user;
    size_t T = r->seqs[index].n, C = r->c.size;
    if (ndim != 2 || shape[0] != T || shape[1] != C)
        return cli_failf("%s: unexpected token-classification output shape", r->a.model);
    size_t rows = T ? T : 1; /* malloc(0) may give NULL */
    tag_work w = {malloc(rows * C * sizeof *w.probs), malloc(rows * sizeof *w.token_label),
                  malloc(rows), malloc(rows * sizeof *w.entities)};
    int rc = w.probs && w.token_label && w.skip && w.entities ? CLI_EXIT_OK
                                                              : cli_failf("out of memory");
    if (!rc) {
        const int32_t *seq_ids = ce_encoding_sequence_ids(r->encs[index]);
        for (size_t t = 0; t < T; t++) {
            pipe_softmax(r->c.logits + t * C, C, w.probs + t * C);
            w.skip[t] = seq_ids[t] < 0; /* the special tokens mask */
        }
        pipe_token_labels(w.probs, T, C, w.token_label);
        size_t n = pipe_group_entities(w.probs, T, C, w.skip, ce_encoding_offsets(r->encs[index]),
                                       (const char *const *)r->labels, w.entities);
        write_result(r, index, &w, n);
        rc = ferror(stdout) ? cli_finish_output(stdout, "standard output") : CLI_EXIT_OK;
    }
    free(w.probs);
    free(w.token_label);
    free(w.skip);
    free(w.entities);
    return rc;
}

static int run(tag_run *r)
{
    static const ce_head want[] = {CE_HEAD_TOKEN_CLASSIFICATION};
    int rc = cli_head_open(&r->a, want, 1, &r->c);
    if (!rc)
        rc = make_seqs(r);
    if (!rc)
        rc = cli_head_labels(&r->c, &r->labels);
    if (!rc && !r->c.size)
        rc = cli_failf("%s: the token classifier has no outputs", r->a.model);
    if (!rc)
        rc = cli_head_run(&r->c, r->seqs, r->n, "text", emit, r);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

int cli_cmd_tag(int argc, char **argv)
{
    tag_run r;
    memset(&r, 0, sizeof r);
    int rc = cli_head_args_init(&r.a, "tag", argc);
    if (!rc && !(rc = parse(argc, argv, &r)))
        rc = run(&r);
    free(r.seqs);
    cli_head_labels_free(r.labels, r.c.size);
    cli_head_encodings_free(r.encs, r.encs ? r.n : 0);
    cli_head_close(&r.c);
    cli_head_args_free(&r.a);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

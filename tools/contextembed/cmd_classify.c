/* contextembed classify: a label for each text (or text pair), from a
 * sequence-classification head, else a next-sentence head, scored as Hugging
 * Face's text-classification pipeline scores them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "heads.h"
#include "json_writer.h"
#include "pipelines.h"

static const char classify_usage[] =
    "Usage: contextembed classify -m MODEL [--pair TEXT_B] [--] [TEXT ...]\n"
    "       contextembed classify -m MODEL --ids I,J,.. [--type-ids T,T,..]\n"
    "\n"
    "Classify each text, or each pair (TEXT, TEXT_B), with the model's\n"
    "sequence-classification head (*ForSequenceClassification, cross-encoders);\n"
    "a model without one but with a next-sentence head (BertForPreTraining,\n"
    "BertForNextSentencePrediction) tells whether TEXT_B follows TEXT. One JSON\n"
    "object per text, one per line:\n"
    "  {\"ids\": [...], \"labels\": [...], \"logits\": [...], \"probs\": [...],\n"
    "   \"label\": \"...\"}\n"
    "\"labels\" names the outputs: the config's id2label (else LABEL_0, LABEL_1,\n"
    "...); next-sentence: index 0 \"is_next\" (TEXT_B follows), 1 \"not_next\".\n"
    "\"probs\" is the softmax of the logits, or each logit's sigmoid when the\n"
    "model is multi-label (config problem_type multi_label_classification) or has\n"
    "a single output, as Hugging Face's text-classification pipeline computes\n"
    "them; \"label\" is the most probable (equal: the first).\n"
    "\n" HEAD_COMMON_HELP HEAD_IDS_HELP
    "      --pair TEXT_B      classify each text as a pair with TEXT_B\n"
    "\n" HEAD_TEXTS_HELP;

enum { OPT_PAIR = HEAD_OPT_OWN };

static const cli_opt classify_opts[] = {
    HEAD_COMMON_OPTS, HEAD_IDS_OPTS, {OPT_PAIR, 0, "pair", 1}, {0, 0, NULL, 0},
};

typedef struct classify_run {
    head_args a;
    const char *pair;
    head_ctx c;
    ce_encoding **encs;
    head_seq *seqs;
    size_t n;
    char **labels;
    int sigmoid;
    double *probs;
} classify_run;

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, classify_run *r)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, classify_opts);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END) {
        rc = cli_head_common_opt(&r->a, id, v, &p, classify_usage);
        if (rc == -2) {
            r->pair = v;
            rc = CLI_EXIT_OK;
        }
    }
    if (!rc && r->a.ids && r->pair)
        return cli_usage("classify", "--ids replaces the texts: no --pair (use --type-ids)");
    return rc ? rc : cli_head_check_args(&r->a);
}

static int make_seqs(classify_run *r)
{
    r->n = r->a.ids ? 1 : r->c.texts.n;
    if (!(r->seqs = calloc(r->n ? r->n : 1, sizeof *r->seqs)))
        return cli_failf("out of memory");
    if (r->a.ids) {
        r->seqs[0] = (head_seq){r->a.ids, r->a.type_ids, r->a.n_ids};
        return CLI_EXIT_OK;
    }
    int rc = cli_head_encode(&r->c, r->pair, &r->encs);
    for (size_t i = 0; !rc && i < r->n; i++)
        r->seqs[i] = (head_seq){ce_encoding_ids(r->encs[i]), ce_encoding_type_ids(r->encs[i]),
                                ce_encoding_length(r->encs[i])};
    return rc;
}

/* Sigmoid for multi-label models and for a single output (Hugging Face's
 * text-classification default); softmax otherwise, and always for next-sentence. */
static int choose_function(classify_run *r)
{
    int64_t multi = 0;
    if (r->c.head != CE_HEAD_SEQUENCE_CLASSIFICATION)
        return CLI_EXIT_OK;
    ce_status st = ce_model_get_info(r->c.model, CE_INFO_MULTI_LABEL, &multi);
    if (st != CE_OK)
        return cli_fail(st);
    r->sigmoid = multi || r->c.size == 1;
    return CLI_EXIT_OK;
}

static int emit(void *user, size_t index, const size_t *shape, size_t ndim)
{
    classify_run *r = user;
    const head_seq *s = &r->seqs[index];
    size_t n = r->c.size;
    if (ndim != 1 || shape[0] != n)
        return cli_failf("%s: unexpected classifier output shape", r->a.model);
    (r->sigmoid ? pipe_sigmoid : pipe_softmax)(r->c.logits, n, r->probs);
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "ids", &first);
    cli_json_int_array(stdout, s->ids, s->n);
    cli_json_key(stdout, "labels", &first);
    cli_head_json_strings(stdout, r->labels, n);
    cli_json_key(stdout, "logits", &first);
    cli_json_float_array(stdout, r->c.logits, n);
    cli_json_key(stdout, "probs", &first);
    cli_head_json_doubles(stdout, r->probs, n);
    cli_json_key(stdout, "label", &first);
    const char *best = r->labels[pipe_argmax(r->probs, n)];
    cli_json_string(stdout, best, strlen(best));
    fputs("}\n", stdout);
    return ferror(stdout) ? cli_finish_output(stdout, "standard output") : CLI_EXIT_OK;
}

static int run(classify_run *r)
{
    /* Sequence classification wins: a model with both is a classifier first. */
    static const ce_head want[] = {CE_HEAD_SEQUENCE_CLASSIFICATION, CE_HEAD_NEXT_SENTENCE};
    int rc = cli_head_open(&r->a, want, 2, &r->c);
    if (!rc)
        rc = make_seqs(r);
    if (!rc)
        rc = choose_function(r);
    if (!rc)
        rc = cli_head_labels(&r->c, &r->labels);
    if (rc)
        return rc;
    if (!r->c.size)
        return cli_failf("%s: the classifier has no outputs", r->a.model);
    if (!(r->probs = malloc(r->c.size * sizeof *r->probs)))
        return cli_failf("out of memory");
    rc = cli_head_run(&r->c, r->seqs, r->n, r->a.ids ? "--ids" : "text", emit, r);
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

int cli_cmd_classify(int argc, char **argv)
{
    classify_run r;
    memset(&r, 0, sizeof r);
    int rc = cli_head_args_init(&r.a, "classify", argc);
    if (!rc && !(rc = parse(argc, argv, &r)))
        rc = run(&r);
    free(r.probs);
    free(r.seqs);
    cli_head_labels_free(r.labels, r.c.size);
    cli_head_encodings_free(r.encs, r.encs ? r.n : 0);
    cli_head_close(&r.c);
    cli_head_args_free(&r.a);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

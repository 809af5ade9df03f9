/* contextembed answer: extractive question answering with a
 * question-answering head, the answer span chosen as Hugging Face's
 * question-answering pipeline chooses it (answer_context.c does the work). */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "cli.h"
#include "json_writer.h"

static const char answer_usage[] =
    "Usage: contextembed answer -m MODEL --question Q [--top K]\n"
    "                           [--max-answer-tokens N] [--doc-stride S]\n"
    "                           [--max-seq-len L] [--] [CONTEXT ...]\n"
    "\n"
    "Find the answer to question Q in each CONTEXT with the model's\n"
    "question-answering head (*ForQuestionAnswering). One JSON object per\n"
    "context, one per line:\n"
    "  {\"answer\": \"...\", \"start\": b, \"end\": e, \"score\": S,\n"
    "   \"start_logits\": [...], \"end_logits\": [...]}\n"
    "\"start\" and \"end\" are UTF-8 byte offsets into CONTEXT (\"answer\" is the text\n"
    "between them). With --top K > 1, \"answers\" adds the K best as\n"
    "[{\"answer\", \"start\", \"end\", \"score\"}, ...], best first.\n"
    "\n"
    "The span is chosen as Hugging Face's question-answering pipeline chooses it:\n"
    "(Q, CONTEXT) is encoded once; a context too long for L tokens is split into\n"
    "windows, each the pair template around Q and a slice of the context tokens,\n"
    "consecutive windows sharing S context tokens. In each window, start and end\n"
    "probabilities are softmaxes over the window in which only context tokens and\n"
    "[CLS] count (others get logit -10000; [CLS] then gets probability 0); a span\n"
    "of context tokens from start to end, end - start < N, scores\n"
    "p_start * p_end; the best over all windows wins (equal scores: the earlier\n"
    "window, then the earlier span). The answer's offsets are those of the words\n"
    "holding its first and last tokens (whole words, as the pipeline's\n"
    "align_to_words). \"start_logits\" and \"end_logits\" are the raw logits of the\n"
    "window holding the best answer (its tokens: the template, the question and\n"
    "its slice of the context).\n"
    "\n" HEAD_COMMON_HELP
    "      --question Q       the question (required)\n"
    "      --top K            answers to give (default 1)\n"
    "      --max-answer-tokens N  longest answer in tokens (default 15)\n"
    "      --doc-stride S     context tokens shared by consecutive windows\n"
    "                         (default min(128, L / 2))\n"
    "      --max-seq-len L    tokens per window, special tokens included (default\n"
    "                         min(384, the model's maximum positions))\n"
    "\n"
    "Contexts come from the arguments (after \"--\" they may begin with '-'), or\n"
    "from standard input, one per line, when there are none or an argument is \"-\".\n";

enum { OPT_QUESTION = HEAD_OPT_OWN, OPT_TOP, OPT_MAX_ANSWER, OPT_STRIDE, OPT_MAX_SEQ };

static const cli_opt answer_opts_table[] = {
    HEAD_COMMON_OPTS,
    {OPT_QUESTION, 0, "question", 1},
    {OPT_TOP, 0, "top", 1},
    {OPT_MAX_ANSWER, 0, "max-answer-tokens", 1},
    {OPT_STRIDE, 0, "doc-stride", 1},
    {OPT_MAX_SEQ, 0, "max-seq-len", 1},
    {0, 0, NULL, 0},
};

typedef struct answer_run {
    head_args a;
    answer_opts o;
    long stride, max_seq_len; /* < 0: not given */
    head_ctx c;
} answer_run;

static int parse_own(answer_run *r, int id, const char *v)
{
    static const char *const names[] = {"--top", "--max-answer-tokens", "--doc-stride",
                                        "--max-seq-len"};
    long value;
    if (id == OPT_QUESTION) {
        r->o.question = v;
        return CLI_EXIT_OK;
    }
    long min = id == OPT_STRIDE ? 0 : 1;
    if (!cli_parse_long(v, min, 1L << 30, &value))
        return cli_usage("answer", "bad %s value '%s' (a count >= %ld)", names[id - OPT_TOP], v,
                         min);
    if (id == OPT_TOP)
        r->o.top = (size_t)value;
    else if (id == OPT_MAX_ANSWER)
        r->o.max_answer = (size_t)value;
    else if (id == OPT_STRIDE)
        r->stride = value;
    else
        r->max_seq_len = value;
    return CLI_EXIT_OK;
}

/* -1: --help printed; otherwise an exit code (0 = go on). */
static int parse(int argc, char **argv, answer_run *r)
{
    cli_parser p;
    const char *v;
    int id, rc = CLI_EXIT_OK;
    cli_parser_init(&p, argc, argv, answer_opts_table);
    while (!rc && (id = cli_parser_next(&p, &v)) != CLI_ARG_END)
        if ((rc = cli_head_common_opt(&r->a, id, v, &p, answer_usage)) == -2)
            rc = parse_own(r, id, v);
    if (!rc && !r->o.question)
        return cli_usage("answer", "missing --question Q");
    return rc ? rc : cli_head_check_args(&r->a);
}

/* Hugging Face's defaults: max_seq_len min(384, the model's), doc_stride min(128, half). */
static int resolve(answer_run *r)
{
    int64_t positions = 0;
    ce_status st = ce_model_get_info(r->c.model, CE_INFO_MAX_POSITIONS, &positions);
    if (st != CE_OK)
        return cli_fail(st);
    if (r->max_seq_len > positions)
        return cli_usage("answer", "--max-seq-len %ld exceeds the model's %lld positions",
                         r->max_seq_len, (long long)positions);
    r->o.max_seq_len = r->max_seq_len > 0 ? (size_t)r->max_seq_len
                                          : (size_t)(positions < 384 ? positions : 384);
    r->o.stride = r->stride >= 0 ? (size_t)r->stride
                                 : (r->o.max_seq_len / 2 < 128 ? r->o.max_seq_len / 2 : 128);
    if (r->o.stride > r->o.max_seq_len)
        return cli_usage("answer", "--doc-stride %zu is larger than --max-seq-len %zu",
                         r->o.stride, r->o.max_seq_len);
    r->o.cls_id = -1;
    const ce_tokenizer *tok;
    int rc = cli_head_tokenizer(&r->c, &tok);
    if (!rc && ce_tokenizer_special_id(tok, CE_SPECIAL_CLS, &r->o.cls_id) != CE_OK)
        r->o.cls_id = -1;
    return rc;
}

/* One span's fields: "answer", "start", "end", "score"; the span widened to
 * whole words. */
static void write_span(const answer_result *res, const pipe_span *s, const cli_text *context,
                       int *first)
{
    const size_t *offsets = ce_encoding_offsets(res->enc);
    const size_t *index = res->index[s->window];
    size_t from = s->start, to = s->end;
    pipe_qa_word_span(ce_encoding_word_ids(res->enc), ce_encoding_sequence_ids(res->enc), index,
                      res->lengths[s->window], &from, &to);
    size_t b = offsets[2 * index[from]];
    size_t e = offsets[2 * index[to] + 1];
    e = e < context->len ? e : context->len;
    b = b < e ? b : e;
    cli_json_key(stdout, "answer", first);
    cli_json_string(stdout, context->data + b, e - b);
    cli_json_key(stdout, "start", first);
    printf("%zu", b);
    cli_json_key(stdout, "end", first);
    printf("%zu", e);
    cli_json_key(stdout, "score", first);
    cli_head_json_double(stdout, s->score);
}

static void write_result(const answer_run *r, const answer_result *res, const cli_text *context)
{
    const pipe_span *best = &res->best[0];
    size_t len = res->lengths[best->window];
    int first = 1;
    fputc('{', stdout);
    write_span(res, best, context, &first);
    cli_json_key(stdout, "start_logits", &first);
    cli_json_float_array(stdout, res->start[best->window], len);
    cli_json_key(stdout, "end_logits", &first);
    cli_json_float_array(stdout, res->end[best->window], len);
    if (r->o.top > 1) {
        cli_json_key(stdout, "answers", &first);
        fputc('[', stdout);
        for (size_t i = 0; i < res->n_best; i++) {
            int f = 1;
            fputs(i ? ",{" : "{", stdout);
            write_span(res, &res->best[i], context, &f);
            fputc('}', stdout);
        }
        fputc(']', stdout);
    }
    fputs("}\n", stdout);
}

static int run(answer_run *r)
{
    static const ce_head want[] = {CE_HEAD_QUESTION_ANSWERING};
    int rc = cli_head_open(&r->a, want, 1, &r->c);
    if (!rc)
        rc = resolve(r);
    for (size_t i = 0; !rc && i < r->c.texts.n; i++) {
        answer_result res;
        char what[48];
        memset(&res, 0, sizeof res);
        snprintf(what, sizeof what, "context %zu", i);
        rc = cli_answer_context(&r->c, &r->o, &r->c.texts.items[i], what, &res);
        if (!rc)
            write_result(r, &res, &r->c.texts.items[i]);
        cli_answer_result_free(&res);
        if (!rc && ferror(stdout))
            rc = cli_finish_output(stdout, "standard output");
    }
    return rc ? rc : cli_finish_output(stdout, "standard output");
}

int cli_cmd_answer(int argc, char **argv)
{
    answer_run r;
    memset(&r, 0, sizeof r);
    r.o.top = 1;
    r.o.max_answer = 15;
    r.stride = r.max_seq_len = -1;
    int rc = cli_head_args_init(&r.a, "answer", argc);
    if (!rc && !(rc = parse(argc, argv, &r)))
        rc = run(&r);
    cli_head_close(&r.c);
    cli_head_args_free(&r.a);
    return rc < 0 ? CLI_EXIT_OK : rc;
}

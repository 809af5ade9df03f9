/* contextembed embed: texts in, contextual embeddings out (see embed_args.c for
 * the command line). Every text runs in one session; the sequences go to
 * ce_session_run() in chunks of bounded size so that the session's scratch
 * and hidden states stay bounded however many lines standard input holds
 * (only the texts and their token ids are kept whole). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embed.h"

/* Bounds of one ce_session_run() call (a sequence longer than this runs alone). */
#define CHUNK_TOKENS 2048
#define CHUNK_SEQS 64

typedef struct embed_run {
    embed_args a;
    cli_texts texts;
    embed_seqs seqs;
    embed_sink sink;
    ce_options *opts;
    ce_model *model;
    ce_select *sel;
    ce_session *session;
    float *buf;
    size_t cap;
    int words; /* the model reads words (ELMo): ce_session_run_words */
} embed_run;

static int read_texts(embed_run *r)
{
    char err[512];
    if (r->a.ids)
        return CLI_EXIT_OK;
    if (!cli_texts_collect(&r->texts, r->a.texts, r->a.n_texts, r->a.jsonl, stdin, err,
                           sizeof err))
        return cli_failf("%s", err);
    return CLI_EXIT_OK;
}

static int make_seqs(embed_run *r)
{
    if (r->a.ids)
        return cli_seqs_from_ids(&r->seqs, r->a.ids, r->a.type_ids, r->a.n_ids);
    const ce_tokenizer *tok = ce_model_tokenizer(r->model);
    if (!tok)
        return cli_failf("%s: the model has no tokenizer; give --ids", r->a.model);
    int64_t max_len = 0;
    ce_status st = r->a.truncate == 1
                       ? ce_model_get_info(r->model, CE_INFO_MAX_SEQ_LENGTH, &max_len)
                       : CE_OK;
    if (st != CE_OK)
        return cli_fail(st);
    uint32_t flags = (r->a.add_special ? CE_ENCODE_ADD_SPECIAL : 0) |
                     (r->a.special_as_text ? CE_ENCODE_SPECIAL_AS_TEXT : 0);
    return cli_seqs_from_texts(&r->seqs, tok, &r->texts, r->a.pair, flags, (size_t)max_len);
}

/* Models that read words (ELMo) take whitespace-split texts: no ids, no pairs;
 * --carry-state is for models with recurrent state. Pooling, normalisation and
 * truncation not given follow the model's own pipeline (sentence-transformers). */
static int check_model(embed_run *r)
{
    int64_t caps = 0;
    ce_status st = ce_model_get_info(r->model, CE_INFO_CAPABILITIES, &caps);
    if (st != CE_OK)
        return cli_fail(st);
    int sentence = (caps & CE_CAP_SENTENCE_POOLING) != 0;
    if (r->a.pool < 0)
        r->a.pool = sentence ? CE_POOL_DEFAULT : CE_POOL_NONE;
    if (r->a.truncate < 0)
        r->a.truncate = sentence;
    if (r->a.carry_state && !(caps & CE_CAP_CARRY_STATE))
        return cli_usage("embed", "--carry-state is for models with recurrent state (ELMo)");
    r->words = (caps & CE_CAP_WORDS) != 0;
    if (!r->words)
        return CLI_EXIT_OK;
    if (r->a.ids || r->a.pair)
        return cli_usage("embed", "%s: ELMo models read words, not token ids or pairs; give "
                         "texts", r->a.ids ? "--ids" : "--pair");
    st = ce_options_set_int(r->opts, CE_OPT_CARRY_STATE, r->a.carry_state);
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

/* With an explicit pooling, a sentence-transformers directory whose modules the
 * library lacks (a Dense layer) opens as its Transformer alone. */
static int open_model(embed_run *r)
{
    ce_status st = ce_model_open(r->a.model, r->opts, &r->model);
    int explicit_pool = r->a.pool >= 0 && r->a.pool != CE_POOL_DEFAULT;
    if (st == CE_ERR_UNSUPPORTED && explicit_pool) {
        ce_options *o = NULL;
        st = ce_options_create(&o);
        if (st == CE_OK)
            st = ce_options_set_int(o, CE_OPT_SENTENCE_MODULES, 0);
        if (st == CE_OK && r->a.backend)
            st = ce_options_set_string(o, CE_OPT_BACKEND, r->a.backend);
        if (st == CE_OK && r->a.threads >= 0)
            st = ce_options_set_int(o, CE_OPT_THREADS, r->a.threads);
        if (st == CE_OK)
            st = ce_model_open(r->a.model, o, &r->model);
        ce_options_free(o);
    }
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

/* Open everything; stops at the first failure (the caller frees what was made). */
static int prepare(embed_run *r)
{
    int rc;
    size_t n_items = r->a.ids ? 1 : r->texts.n;
    if ((rc = cli_sink_open(&r->sink, &r->a, n_items)) ||
        (rc = cli_options_make("embed", r->a.backend, r->a.threads, r->a.truncate == 1,
                               &r->opts)) ||
        (rc = open_model(r)) || (rc = check_model(r)) ||
        (rc = cli_embed_select(&r->a, r->model, &r->sel)) || (rc = make_seqs(r)))
        return rc;
    return cli_session_create(r->model, r->opts, &r->session);
}

/* Sequence @p seq of the last run as result @p index. */
static int write_result(embed_run *r, size_t seq, size_t index)
{
    embed_item it = {0};
    size_t count;
    ce_status st = ce_session_output_shape(r->session, seq, r->sel, it.shape, &it.ndim);
    if (st == CE_OK)
        st = ce_session_sequence_length(r->session, seq, &it.n_tokens);
    if (st == CE_OK)
        st = ce_session_output(r->session, seq, r->sel, r->buf, r->cap, &count);
    if (st == CE_ERR_BUFFER_TOO_SMALL) {
        float *grown = realloc(r->buf, count * sizeof *grown);
        if (!grown)
            return cli_failf("out of memory");
        r->buf = grown;
        r->cap = count;
        st = ce_session_output(r->session, seq, r->sel, r->buf, r->cap, &count);
    }
    if (st != CE_OK)
        return cli_fail(st);
    size_t at = r->seqs.starts[index];
    it.ids = r->seqs.ids + at;
    it.type_ids = r->seqs.type_ids ? r->seqs.type_ids + at : NULL;
    it.offsets = r->seqs.offsets ? r->seqs.offsets + 2 * at : NULL;
    it.data = r->buf;
    return cli_sink_write(&r->sink, index, &it);
}

/* With carried state each text runs alone, in batch row 0, after the previous one. */
static size_t chunk_end(const embed_seqs *s, size_t first, int alone)
{
    size_t end = first + 1;
    while (!alone && end < s->n && end - first < CHUNK_SEQS &&
           s->starts[end + 1] - s->starts[first] <= CHUNK_TOKENS)
        end++;
    return end;
}

static ce_status run_range(embed_run *r, size_t first, size_t end)
{
    const embed_seqs *s = &r->seqs;
    if (r->words)
        return cli_run_words(r->session, s, &r->texts, first, end);
    size_t at = s->starts[first];
    return ce_session_run(r->session, end - first, s->lengths + first, s->ids + at,
                          s->type_ids ? s->type_ids + at : NULL);
}

/* Report a failed run of sequences [first, end): run them one by one to name
 * the text at fault, since the library's message counts within the run. */
static int run_failed(embed_run *r, ce_status st, size_t first, size_t end)
{
    for (size_t i = first; i < end && end - first > 1; i++) {
        st = run_range(r, i, i + 1);
        if (st != CE_OK) {
            first = i;
            break;
        }
    }
    fflush(stdout);
    return cli_failf("%s (text %zu)%s", ce_last_error(), first,
                     st == CE_ERR_TOO_LONG ? "; --truncate cuts long texts" : "");
}

static int run_chunks(embed_run *r)
{
    const embed_seqs *s = &r->seqs;
    for (size_t first = 0; first < s->n;) {
        size_t end = chunk_end(s, first, r->a.carry_state);
        ce_status st = run_range(r, first, end);
        if (st != CE_OK)
            return run_failed(r, st, first, end);
        for (size_t i = first; i < end; i++) {
            int rc = write_result(r, i - first, i);
            if (rc)
                return rc;
        }
        first = end;
    }
    return CLI_EXIT_OK;
}

static void release(embed_run *r)
{
    free(r->buf);
    ce_session_free(r->session);
    ce_select_free(r->sel);
    ce_model_free(r->model);
    ce_options_free(r->opts);
    cli_seqs_free(&r->seqs);
    cli_texts_free(&r->texts);
    cli_embed_args_free(&r->a);
}

int cli_cmd_embed(int argc, char **argv)
{
    embed_run r;
    memset(&r, 0, sizeof r);
    int rc = cli_embed_parse(argc, argv, &r.a);
    if (rc < 0)
        rc = CLI_EXIT_OK;
    else if (!rc && !(rc = read_texts(&r)) && !(rc = prepare(&r)))
        rc = run_chunks(&r);
    if (r.sink.json || r.sink.npy) {
        int close_rc = cli_sink_close(&r.sink);
        rc = rc ? rc : close_rc;
    }
    release(&r);
    return rc;
}

/* contextembed embed: texts in, contextual embeddings out (see embed_args.c for
 * the command line). Every text runs in one session. The texts are read
 * whole (checked as they come), then tokenized a block at a time and run in
 * chunks under a token budget, so that token ids, the session's scratch and
 * its hidden states stay bounded however large the input; results are
 * written in input order as each chunk finishes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "embed.h"
#include "interrupt.h"
#include "progress.h"

/* Texts tokenized at a time: bounds the token ids and offsets kept. */
#define BLOCK_BYTES (1u << 20)
#define BLOCK_TEXTS 16384

typedef struct embed_run {
    embed_args a;
    cli_texts texts;
    cli_texts block;  /* a view of the texts of seqs: [base, base + block.n) */
    size_t base;
    embed_seqs seqs;
    embed_sink sink;
    cli_progress progress;
    ce_options *opts;
    ce_model *model;
    ce_select *sel;
    ce_session *session;
    float *buf;
    size_t cap;
    size_t budget, max_seqs; /* bounds of one ce_session_run() */
    int words; /* the model reads words (ELMo): ce_session_run_words */
} embed_run;

static int read_texts(embed_run *r)
{
    char err[512];
    if (r->a.ids)
        return CLI_EXIT_OK;
    FILE *in = r->a.input ? fopen(r->a.input, "r") : stdin;
    if (!in)
        return cli_failf("cannot open %s: %s", r->a.input, strerror(errno));
    cli_read_opts o = {r->a.jsonl, 1, r->a.skip_bad, r->a.input};
    int ok = cli_texts_gather(&r->texts, r->a.texts, r->a.n_texts, in, &o, err, sizeof err);
    if (in != stdin)
        fclose(in);
    return ok ? CLI_EXIT_OK : cli_failf("%s", err);
}

/* How messages name text @p i: its line in an --input file, else its number. */
static const char *text_name(const embed_run *r, size_t i, char *buf, size_t cap)
{
    if (r->a.ids)
        snprintf(buf, cap, "--ids");
    else if (r->a.input)
        snprintf(buf, cap, "%s line %zu", r->a.input, r->texts.pos[i] + 1);
    else
        snprintf(buf, cap, "text %zu", r->a.skip_bad ? r->texts.pos[i] : i);
    return buf;
}

/* Tokenize texts [first, end) into r->seqs. */
static int make_seqs(embed_run *r, size_t first, size_t end)
{
    cli_seqs_free(&r->seqs);
    r->base = first;
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
    r->block = (cli_texts){.items = r->texts.items + first, .pos = r->texts.pos + first,
                           .n = end - first, .cap = end - first, .seen = end - first};
    size_t failed = SIZE_MAX;
    int rc = cli_seqs_from_texts(&r->seqs, tok, &r->block, r->a.pair, flags, (size_t)max_len,
                                 &failed);
    char name[320];
    if (rc && failed != SIZE_MAX)
        return cli_failf("%s (%s)", ce_last_error(), text_name(r, first + failed, name,
                                                              sizeof name));
    return rc;
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
    if (r->a.stack && r->a.pool == CE_POOL_NONE)
        return cli_usage("embed", "--stack needs a pooled output: give --pool MODE");
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

/* --windows: long texts run as windows, --stride tokens shared (0: the library's default). */
static int set_windows(embed_run *r)
{
    ce_status st = CE_OK;
    if (r->a.windows)
        st = ce_options_set_int(r->opts, CE_OPT_LONG_INPUT, CE_LONG_WINDOW);
    if (st == CE_OK && r->a.stride)
        st = ce_options_set_int(r->opts, CE_OPT_WINDOW_STRIDE, r->a.stride);
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
    r->budget = r->a.batch_tokens ? (size_t)r->a.batch_tokens : EMBED_BATCH_TOKENS;
    /* A sequence holds at least a few tokens (its special ones): a cap at a
     * quarter of the budget never starves short texts of batch mates. */
    r->max_seqs = r->budget / 4 ? r->budget / 4 : 1;
    if ((rc = cli_options_make("embed", r->a.backend, r->a.threads, r->a.truncate == 1,
                               &r->opts)) ||
        (rc = cli_options_precision("embed", r->opts, r->a.precision)) ||
        (rc = set_windows(r)) || (rc = open_model(r)) || (rc = check_model(r)) ||
        (rc = cli_embed_select(&r->a, r->model, &r->sel)) ||
        (rc = cli_session_create(r->model, r->opts, &r->session)))
        return rc;
    return cli_sink_open(&r->sink, &r->a, n_items, r->a.skip_bad ? r->texts.pos : NULL);
}

/* Sequence @p seq of the last run as result @p index (of the block). */
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
    return cli_sink_write(&r->sink, r->base + index, &it);
}

/* Consecutive sequences from @p first under the budget; a longer one runs
 * alone, and so does each one with carried state (in batch row 0, after the
 * previous one). */
static size_t chunk_end(const embed_run *r, size_t first)
{
    const embed_seqs *s = &r->seqs;
    size_t end = first + 1;
    while (!r->a.carry_state && end < s->n && end - first < r->max_seqs &&
           s->starts[end + 1] - s->starts[first] <= r->budget)
        end++;
    return end;
}

static ce_status run_range(embed_run *r, size_t first, size_t end)
{
    const embed_seqs *s = &r->seqs;
    if (r->words)
        return cli_run_words(r->session, s, &r->block, first, end);
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
    char name[320];
    return cli_failf("%s (%s)%s", ce_last_error(), text_name(r, r->base + first, name, sizeof name),
                     st == CE_ERR_TOO_LONG ? "; --truncate cuts long texts, --windows runs "
                                             "them as windows" : "");
}

static void count_done(embed_run *r, size_t first, size_t end)
{
    size_t bytes = 0;
    for (size_t i = first; i < end && !r->a.ids; i++)
        bytes += r->block.items[i].len;
    cli_progress_add(&r->progress, end - first, bytes,
                     r->seqs.starts[end] - r->seqs.starts[first]);
}

/* Run the sequences of the current block; 128 + the signal when interrupted. */
static int run_block(embed_run *r)
{
    const embed_seqs *s = &r->seqs;
    for (size_t first = 0; first < s->n;) {
        int sig = cli_interrupted();
        if (sig)
            return 128 + sig;
        size_t end = chunk_end(r, first);
        ce_status st = run_range(r, first, end);
        if (st != CE_OK)
            return run_failed(r, st, first, end);
        for (size_t i = first; i < end; i++) {
            int rc = write_result(r, i - first, i);
            if (rc)
                return rc;
        }
        count_done(r, first, end);
        first = end;
    }
    return CLI_EXIT_OK;
}

/* Texts from @p first up to a block's worth of bytes or texts (at least one). */
static size_t block_end(const cli_texts *t, size_t first)
{
    size_t end = first, bytes = 0;
    while (end < t->n && end - first < BLOCK_TEXTS && (end == first || bytes < BLOCK_BYTES))
        bytes += t->items[end++].len;
    return end;
}

static int run_all(embed_run *r)
{
    size_t n = r->a.ids ? 1 : r->texts.n, bytes = 0;
    for (size_t i = 0; i < r->texts.n; i++)
        bytes += r->texts.items[i].len;
    int on = r->a.progress > 0 || (r->a.progress < 0 && r->a.input && isatty(STDERR_FILENO));
    cli_progress_start(&r->progress, "embed", on, n, bytes);
    int rc = CLI_EXIT_OK;
    for (size_t first = 0; !rc && first < n;) {
        size_t end = r->a.ids ? 1 : block_end(&r->texts, first);
        if (!(rc = make_seqs(r, first, end)))
            rc = run_block(r);
        first = end;
    }
    cli_progress_end(&r->progress, rc == CLI_EXIT_OK);
    return rc;
}

/* The shape of one row of a stack of no texts (no result tells it): [D], or
 * [L, D] for several layers. */
static size_t empty_row(const embed_run *r, size_t *row)
{
    int64_t d = 0, n_out = 0;
    ce_model_get_info(r->model, CE_INFO_HIDDEN_SIZE, &d);
    ce_model_get_info(r->model, CE_INFO_NUM_OUTPUT_LAYERS, &n_out);
    size_t layers = r->a.layer_mode == EMBED_LAYERS_ALL    ? (size_t)n_out
                    : r->a.layer_mode == EMBED_LAYERS_LIST ? r->a.n_layers
                                                           : 1;
    if (layers == 1) {
        row[0] = (size_t)d;
        return 1;
    }
    row[0] = layers;
    row[1] = (size_t)d;
    return 2;
}

/* Close the output: complete it on success, else remove what is unfinished. */
static int finish(embed_run *r, int rc)
{
    if (!rc && r->model) {
        size_t row[2], ndim = empty_row(r, row);
        return cli_sink_close(&r->sink, row, ndim);
    }
    int removed = cli_sink_abort(&r->sink);
    if (rc > 128) {
        fflush(stdout);
        if (removed)
            cli_failf("interrupted: %s not written (its partial file is removed)", r->a.output);
        else
            cli_failf("interrupted");
    }
    return rc;
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
    if (rc < 0) {
        rc = CLI_EXIT_OK;
    } else if (!rc && !(rc = read_texts(&r))) {
        /* After reading: a Ctrl-C while texts are typed ends the program at once. */
        cli_interrupt_install();
        if (!(rc = prepare(&r)))
            rc = run_all(&r);
        rc = finish(&r, rc);
    }
    release(&r);
    return rc;
}

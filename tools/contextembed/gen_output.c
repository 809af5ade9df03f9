/* Generated tokens to text on a stream: see gen_output.h. */
#include "gen_output.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int grow(gen_output *o, size_t need)
{
    char *p = realloc(o->buf, need);
    if (!p)
        return cli_failf("out of memory");
    o->buf = p;
    o->cap = need;
    return CLI_EXIT_OK;
}

int cli_gen_output_open(gen_output *o, FILE *f, const ce_tokenizer *tok, char *const *stops,
                        size_t n_stops)
{
    memset(o, 0, sizeof *o);
    o->f = f;
    o->tok = tok;
    cli_stop_init(&o->stop, stops, n_stops);
    if (!tok)
        return CLI_EXIT_OK;
    ce_status st = ce_decoder_create(tok, 0, &o->dec);
    /* Usually enough for any token ("16 bytes plus the longest token"); grown on demand. */
    return st == CE_OK ? grow(o, 256) : cli_fail(st);
}


/* Decode @p id (or flush the decoder when @p flush) into o->buf; *len bytes. */
static int decode(gen_output *o, int32_t id, int flush, size_t *len)
{
    for (;;) {
        ce_status st = flush ? ce_decoder_flush(o->dec, o->buf, o->cap, len)
                             : ce_decoder_push(o->dec, id, o->buf, o->cap, len);
        if (st == CE_OK)
            return CLI_EXIT_OK;
        /* The decoder is unchanged then and says how much room it needs. */
        if (st != CE_ERR_BUFFER_TOO_SMALL || *len <= o->cap)
            return cli_fail(st);
        int rc = grow(o, *len);
        if (rc)
            return rc;
    }
}

static int pass_on(gen_output *o, size_t len, int *stopped)
{
    int r = cli_stop_feed(&o->stop, o->buf, len, o->f);
    if (r < 0)
        return cli_failf("out of memory");
    *stopped = r;
    fflush(o->f);
    return CLI_EXIT_OK;
}

int cli_gen_output_push(gen_output *o, int32_t id, int *stopped)
{
    *stopped = 0;
    if (!o->tok) {
        fprintf(o->f, o->n_ids++ ? " %d" : "%d", (int)id);
        fflush(o->f);
        return CLI_EXIT_OK;
    }
    size_t len = 0;
    int rc = decode(o, id, 0, &len);
    return rc ? rc : pass_on(o, len, stopped);
}

int cli_gen_output_finish(gen_output *o)
{
    int stopped = o->stop.matched;
    size_t len = 0;
    if (o->tok && !stopped) {
        int rc = decode(o, 0, 1, &len);
        if (!rc)
            rc = pass_on(o, len, &stopped);
        if (rc)
            return rc;
    }
    cli_stop_finish(&o->stop, o->f);
    fputc('\n', o->f);
    fflush(o->f);
    return CLI_EXIT_OK;
}

void cli_gen_output_close(gen_output *o)
{
    ce_decoder_free(o->dec);
    cli_stop_free(&o->stop);
    free(o->buf);
    memset(o, 0, sizeof *o);
}

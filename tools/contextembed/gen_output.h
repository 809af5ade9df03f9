/* Where generated tokens go: through the streaming decoder (so a UTF-8
 * character split across tokens is printed whole, once complete) and the stop
 * strings (stop_filter.h) to a stream, flushed after every piece. Without a
 * tokenizer the ids themselves are printed, separated by spaces. */
#ifndef CLI_GEN_OUTPUT_H
#define CLI_GEN_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "contextembed/contextembed.h"
#include "stop_filter.h"

typedef struct gen_output {
    FILE *f;
    const ce_tokenizer *tok; /* NULL: print ids */
    ce_decoder *dec;
    cli_stop stop;
    char *buf;
    size_t cap, n_ids;
} gen_output;

/* @p stops (borrowed) are the stop strings; they need a tokenizer. */
int cli_gen_output_open(gen_output *o, FILE *f, const ce_tokenizer *tok, char *const *stops,
                        size_t n_stops);

/* Print what token @p id completes; *stopped becomes 1 when a stop string
 * appeared (the text before it is printed, nothing more will be). */
int cli_gen_output_push(gen_output *o, int32_t id, int *stopped);

/* End of generation: what the decoder and the stop filter held back (an
 * incomplete character comes out as U+FFFD), then a newline. */
int cli_gen_output_finish(gen_output *o);

void cli_gen_output_close(gen_output *o);

#endif

/* Stop strings for streamed generation: text goes through the filter on its
 * way out, and whatever could still turn out to be the start of a stop string
 * is held back until the next piece decides it. When a stop string appears,
 * the text before it is written and nothing from it on.
 *
 * Pieces are UTF-8 made of whole characters and stop strings are valid UTF-8,
 * so what is held back always starts at a character boundary: the filter
 * never splits a character. */
#ifndef CLI_STOP_FILTER_H
#define CLI_STOP_FILTER_H

#include <stddef.h>
#include <stdio.h>

typedef struct cli_stop {
    char *const *stops; /* borrowed, non-empty NUL-terminated strings */
    size_t n_stops;
    char *held; /* text not yet written */
    size_t held_len, held_cap;
    int matched;
} cli_stop;

/* @p stops must outlive the filter; n_stops 0 passes everything through. */
void cli_stop_init(cli_stop *s, char *const *stops, size_t n_stops);

/* Pass @p len bytes on towards @p out. Returns 1 when a stop string has
 * appeared (now or before: then nothing is written), 0 otherwise, -1 when out
 * of memory. */
int cli_stop_feed(cli_stop *s, const char *text, size_t len, FILE *out);

/* End of the text: write what is held back (unless a stop string matched). */
void cli_stop_finish(cli_stop *s, FILE *out);

void cli_stop_free(cli_stop *s);

#endif

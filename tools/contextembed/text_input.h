/* The texts of one invocation: from the arguments, or from standard input.
 *
 * Every text is kept with its byte length, so a text may hold NUL bytes.
 * Standard input is read when there are no text arguments, or where an
 * argument is "-": one text per line (the '\n' or "\r\n" ending is dropped),
 * or with jsonl one JSON string per line, so that any text (newlines, NUL,
 * any Unicode) passes exactly; blank lines are skipped in that mode. */
#ifndef CLI_TEXT_INPUT_H
#define CLI_TEXT_INPUT_H

#include <stddef.h>
#include <stdio.h>

typedef struct cli_text {
    char *data; /* NUL-terminated for convenience; use len */
    size_t len;
} cli_text;

typedef struct cli_texts {
    cli_text *items;
    size_t n, cap;
} cli_texts;

/* Append a copy of @p len bytes. 1 on success, 0 when out of memory. */
int cli_texts_add(cli_texts *t, const char *data, size_t len);

/* Append one text per line of @p in. 1 on success; 0 with a message in err. */
int cli_texts_read_lines(cli_texts *t, FILE *in, char *err, size_t err_cap);

/* Append one text per JSON-string line of @p in. 1 on success; 0 with a message in err. */
int cli_texts_read_jsonl(cli_texts *t, FILE *in, char *err, size_t err_cap);

/* The arguments in order, "-" (or no argument at all) reading @p in (only once). */
int cli_texts_collect(cli_texts *t, char *const *args, size_t n_args, int jsonl, FILE *in,
                      char *err, size_t err_cap);

void cli_texts_free(cli_texts *t);

#endif

/* The texts of one invocation: from the arguments, standard input or a file.
 *
 * Every text is kept with its byte length, so a text may hold NUL bytes.
 * Standard input is read when there are no text arguments, or where an
 * argument is "-": one text per line (the '\n' or "\r\n" ending is dropped),
 * or with jsonl one JSON string per line, so that any text (newlines, NUL,
 * any Unicode) passes exactly; blank lines are skipped in that mode.
 *
 * Each text also keeps its input position: every argument and every line
 * read counts one, blank and bad lines too, so a text read from a file came
 * from line pos + 1 whatever was left out before it. */
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
    size_t *pos;  /* n: the input position of each text (see above) */
    size_t n, cap;
    size_t seen;  /* input positions read so far */
} cli_texts;

/* How a reader treats its input; {0} is cli_texts_collect's way. */
typedef struct cli_read_opts {
    int jsonl;
    int check;    /* refuse texts that are not valid UTF-8, empty or only white space */
    int skip_bad; /* report a bad line or text on stderr ("...; skipped") and leave it out */
    const char *name; /* the line input in messages; NULL: "standard input" */
} cli_read_opts;

/* Append a copy of @p len bytes at the next input position. 1 on success,
 * 0 when out of memory. */
int cli_texts_add(cli_texts *t, const char *data, size_t len);

/* Append one text per line of @p in. 1 on success; 0 with a message in err. */
int cli_texts_read_lines(cli_texts *t, FILE *in, char *err, size_t err_cap);

/* Append one text per JSON-string line of @p in. 1 on success; 0 with a message in err. */
int cli_texts_read_jsonl(cli_texts *t, FILE *in, char *err, size_t err_cap);

/* The arguments in order, "-" (or no argument at all) reading @p in (only once). */
int cli_texts_collect(cli_texts *t, char *const *args, size_t n_args, int jsonl, FILE *in,
                      char *err, size_t err_cap);

/* cli_texts_collect with the checks of @p o; a bad argument is named
 * "text I" (its position), a bad line "NAME line N". */
int cli_texts_gather(cli_texts *t, char *const *args, size_t n_args, FILE *in,
                     const cli_read_opts *o, char *err, size_t err_cap);

void cli_texts_free(cli_texts *t);

#endif

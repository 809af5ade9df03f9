/* A progress line on standard error for long runs: texts done of the total,
 * tokens per second and the time left (estimated from the input bytes done,
 * which are known before any text is tokenized). On a terminal one line is
 * rewritten in place (at most a few times a second); elsewhere a line is
 * printed every few seconds. A summary line ends a completed run. */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stddef.h>

typedef struct cli_progress {
    int on, tty;
    const char *what;            /* "embed" */
    size_t total_texts, total_bytes;
    size_t texts, bytes, tokens; /* done so far */
    double start, last;          /* seconds (monotonic clock) */
    size_t width;                /* characters of the line on the terminal */
} cli_progress;

/* Begin; nothing is ever printed unless @p on. */
void cli_progress_start(cli_progress *p, const char *what, int on, size_t total_texts,
                        size_t total_bytes);

/* Count finished work; prints when it is time to. */
void cli_progress_add(cli_progress *p, size_t texts, size_t bytes, size_t tokens);

/* The summary line when @p completed; otherwise only end the terminal line,
 * so that a message can follow. */
void cli_progress_end(cli_progress *p, int completed);

#endif

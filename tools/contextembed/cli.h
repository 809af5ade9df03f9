/* Shared pieces of the contextembed program: commands, exit codes, messages.
 *
 * Messages go to standard error as "contextembed: <message>"; a library
 * failure's message is ce_last_error(). Exit codes: 0 success, 1 failure,
 * 2 usage error. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdio.h>

#include "contextembed/contextembed.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* Each command gets its own name in argv[0]. */
int cli_cmd_info(int argc, char **argv);
int cli_cmd_tokenize(int argc, char **argv);
int cli_cmd_embed(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_logits(int argc, char **argv);
int cli_cmd_score(int argc, char **argv);
int cli_cmd_generate(int argc, char **argv);
int cli_cmd_fill_mask(int argc, char **argv);
int cli_cmd_classify(int argc, char **argv);
int cli_cmd_tag(int argc, char **argv);
int cli_cmd_answer(int argc, char **argv);

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Print the library's message for a failed call (ce_last_error(), else the
 * status string) and return CLI_EXIT_FAILURE. */
int cli_fail(ce_status status);

/* Print a failure message of the program's own and return CLI_EXIT_FAILURE. */
int cli_failf(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Print "contextembed: CMD: message" and a hint to --help; return CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Options from the command line: NULL backend, threads < 0 and truncate 0
 * keep the library's defaults. A refused value is a usage error (returns 2);
 * 1 when out of memory; 0 on success. */
int cli_options_make(const char *cmd, const char *backend, long threads, int truncate,
                     ce_options **out);

/* Set --precision VALUE (NULL: keep the default, f32) on @p opts; a refused
 * value is a usage error (returns 2), else 0. */
int cli_options_precision(const char *cmd, ce_options *opts, const char *precision);

/* Open the model (1 with the message printed on failure). */
int cli_model_open(const char *path, const ce_options *opts, ce_model **out);

/* Create a session (1 with the message printed on failure). */
int cli_session_create(const ce_model *model, const ce_options *opts, ce_session **out);

/* Flush and check a stream we wrote to; 1 with a message on error, else 0. */
int cli_finish_output(FILE *f, const char *name);

#endif

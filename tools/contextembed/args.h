/* Command-line parsing for the contextembed program.
 *
 * Options may appear anywhere among positional arguments; "--" ends the
 * options (so a text may begin with '-'), and "-" alone is positional (it
 * stands for standard input). Values are taken as "--name VALUE",
 * "--name=VALUE", "-n VALUE" or "-nVALUE", so a value may begin with '-'
 * ("--layer -1"). */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_opt {
    int id;                /* > 0; the table ends with an entry whose id is 0 */
    char short_name;       /* 'm' for -m, or 0 */
    const char *long_name; /* "model" for --model, or NULL */
    int has_value;         /* non-zero: the option takes a value */
} cli_opt;

/* Results of cli_parser_next() besides an option id. */
enum {
    CLI_ARG_END = 0,         /* no more arguments */
    CLI_ARG_POSITIONAL = -1, /* *value is a positional argument */
    CLI_ARG_ERROR = -2,      /* p->error says what is wrong */
};

typedef struct cli_parser {
    int argc;
    char **argv;
    int index;        /* next argv element to read */
    int options_done; /* "--" seen */
    const cli_opt *opts;
    char error[256];
} cli_parser;

/* argv[0] is skipped (it names the command). */
void cli_parser_init(cli_parser *p, int argc, char **argv, const cli_opt *opts);

/* Next option id (with its value in *value, NULL for a flag), or one of the
 * CLI_ARG_ values. */
int cli_parser_next(cli_parser *p, const char **value);

/* Strict number parsing: the whole string, within [min, max]. 1 on success. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* "1,-2,3" into a malloc'd array (caller frees). 1 on success; on failure
 * *out is untouched. An empty list is refused. */
int cli_parse_int_list(const char *s, int32_t **out, size_t *n);

/* "0.5,1,-2e-1" into a malloc'd array of finite floats. 1 on success. */
int cli_parse_float_list(const char *s, float **out, size_t *n);

/* "W0,W1,...[:GAMMA]" (GAMMA defaults to 1). 1 on success. */
int cli_parse_mix(const char *s, float **weights, size_t *n, float *gamma);

#endif

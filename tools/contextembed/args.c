/* Command-line parsing: see args.h. */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_parser_init(cli_parser *p, int argc, char **argv, const cli_opt *opts)
{
    memset(p, 0, sizeof *p);
    p->argc = argc;
    p->argv = argv;
    p->index = 1;
    p->opts = opts;
}

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
    for (; opts->id; opts++)
        if (opts->long_name && strlen(opts->long_name) == len && !memcmp(opts->long_name, name, len))
            return opts;
    return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c)
{
    for (; opts->id; opts++)
        if (opts->short_name && opts->short_name == c)
            return opts;
    return NULL;
}

/* The value of option @p o: inline (after '=' or the short letter) or the next argument. */
static int take_value(cli_parser *p, const cli_opt *o, const char *inline_value, const char *arg,
                      const char **value)
{
    if (!o->has_value) {
        if (inline_value) {
            snprintf(p->error, sizeof p->error, "option '%s' takes no value", arg);
            return CLI_ARG_ERROR;
        }
        *value = NULL;
        return o->id;
    }
    if (inline_value) {
        *value = inline_value;
        return o->id;
    }
    if (p->index >= p->argc) {
        snprintf(p->error, sizeof p->error, "option '%s' needs a value", arg);
        return CLI_ARG_ERROR;
    }
    *value = p->argv[p->index++];
    return o->id;
}

static int parse_long_option(cli_parser *p, const char *arg, const char **value)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const cli_opt *o = find_long(p->opts, name, len);
    if (!o) {
        snprintf(p->error, sizeof p->error, "unknown option '--%.*s'", (int)len, name);
        return CLI_ARG_ERROR;
    }
    return take_value(p, o, eq ? eq + 1 : NULL, arg, value);
}

static int parse_short_option(cli_parser *p, const char *arg, const char **value)
{
    const cli_opt *o = find_short(p->opts, arg[1]);
    if (!o) {
        snprintf(p->error, sizeof p->error, "unknown option '%s'", arg);
        return CLI_ARG_ERROR;
    }
    /* "-mPATH": the rest of a short option that takes a value is its value. */
    const char *rest = arg[2] ? arg + 2 : NULL;
    if (rest && !o->has_value) {
        snprintf(p->error, sizeof p->error, "unknown option '%s'", arg);
        return CLI_ARG_ERROR;
    }
    return take_value(p, o, rest, arg, value);
}

int cli_parser_next(cli_parser *p, const char **value)
{
    while (p->index < p->argc) {
        const char *arg = p->argv[p->index++];
        if (p->options_done || arg[0] != '-' || arg[1] == '\0') {
            *value = arg;
            return CLI_ARG_POSITIONAL;
        }
        if (!strcmp(arg, "--")) {
            p->options_done = 1;
            continue;
        }
        if (arg[1] == '-')
            return parse_long_option(p, arg, value);
        return parse_short_option(p, arg, value);
    }
    return CLI_ARG_END;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/* Count the comma-separated items of @p s (0 for an empty string). */
static size_t count_items(const char *s)
{
    if (!*s)
        return 0;
    size_t n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

int cli_parse_int_list(const char *s, int32_t **out, size_t *n)
{
    size_t count = s ? count_items(s) : 0;
    if (!count)
        return 0;
    int32_t *v = malloc(count * sizeof *v);
    if (!v)
        return 0;
    const char *p = s;
    for (size_t i = 0; i < count; i++) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < INT32_MIN || x > INT32_MAX || (*end != ',' && *end)) {
            free(v);
            return 0;
        }
        v[i] = (int32_t)x;
        p = end + (*end == ',');
    }
    *out = v;
    *n = count;
    return 1;
}

int cli_parse_float_list(const char *s, float **out, size_t *n)
{
    size_t count = s ? count_items(s) : 0;
    if (!count)
        return 0;
    float *v = malloc(count * sizeof *v);
    if (!v)
        return 0;
    const char *p = s;
    for (size_t i = 0; i < count; i++) {
        char *end;
        errno = 0;
        float x = strtof(p, &end);
        if (end == p || errno || !isfinite(x) || (*end != ',' && *end)) {
            free(v);
            return 0;
        }
        v[i] = x;
        p = end + (*end == ',');
    }
    *out = v;
    *n = count;
    return 1;
}

int cli_parse_mix(const char *s, float **weights, size_t *n, float *gamma)
{
    if (!s)
        return 0;
    const char *colon = strchr(s, ':');
    float g = 1.0f;
    if (colon) {
        char *end;
        errno = 0;
        g = strtof(colon + 1, &end);
        if (end == colon + 1 || *end || errno || !isfinite(g))
            return 0;
    }
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    char *list = malloc(len + 1);
    if (!list)
        return 0;
    memcpy(list, s, len);
    list[len] = '\0';
    int ok = cli_parse_float_list(list, weights, n);
    free(list);
    if (ok)
        *gamma = g;
    return ok;
}

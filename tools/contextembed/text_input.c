/* Texts from the arguments or standard input: see text_input.h. */
#include "text_input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

int cli_texts_add(cli_texts *t, const char *data, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        cli_text *items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return 0;
        t->items = items;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    t->items[t->n].data = copy;
    t->items[t->n].len = len;
    t->n++;
    return 1;
}

void cli_texts_free(cli_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].data);
    free(t->items);
    memset(t, 0, sizeof *t);
}

static int read_error(FILE *in, char *err, size_t err_cap)
{
    if (ferror(in))
        snprintf(err, err_cap, "cannot read standard input: %s", strerror(errno));
    else
        snprintf(err, err_cap, "out of memory reading standard input");
    return 0;
}

int cli_texts_read_lines(cli_texts *t, FILE *in, char *err, size_t err_cap)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int ok = 1;
    while (ok && (n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        ok = cli_texts_add(t, line, len);
    }
    free(line);
    if (!ok || ferror(in))
        return read_error(in, err, err_cap);
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse one JSON-string line; 1 and the text appended, or 0 with err set. */
static int add_json_line(cli_texts *t, const char *line, size_t len, size_t lineno, char *err,
                         size_t err_cap)
{
    while (len && is_blank(line[len - 1]))
        len--;
    while (len && is_blank(*line)) {
        line++;
        len--;
    }
    if (!len)
        return 1;
    /* The parser reads YAML too, where a bare word is a string: insist on JSON's quotes. */
    if (len < 2 || line[0] != '"' || line[len - 1] != '"') {
        snprintf(err, err_cap, "standard input line %zu: not a JSON string", lineno);
        return 0;
    }
    char source[64];
    snprintf(source, sizeof source, "standard input line %zu", lineno);
    ce_json *j;
    if (ce_json_parse(line, len, source, &j) != CE_OK) {
        snprintf(err, err_cap, "%s", ce_last_error());
        return 0;
    }
    int ok = j->type == CE_JSON_STRING;
    if (!ok)
        snprintf(err, err_cap, "%s: not a JSON string", source);
    else if (!(ok = cli_texts_add(t, j->str, j->len)))
        snprintf(err, err_cap, "out of memory reading standard input");
    ce_json_free(j);
    return ok;
}

int cli_texts_read_jsonl(cli_texts *t, FILE *in, char *err, size_t err_cap)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int ok = 1;
    while (ok && (n = getline(&line, &cap, in)) >= 0)
        ok = add_json_line(t, line, (size_t)n, ++lineno, err, err_cap);
    free(line);
    if (ok && ferror(in))
        return read_error(in, err, err_cap);
    return ok;
}

int cli_texts_collect(cli_texts *t, char *const *args, size_t n_args, int jsonl, FILE *in,
                      char *err, size_t err_cap)
{
    int stdin_done = 0;
    for (size_t i = 0; i < n_args || (n_args == 0 && !stdin_done); i++) {
        int from_stdin = n_args == 0 || !strcmp(args[i], "-");
        if (!from_stdin) {
            if (!cli_texts_add(t, args[i], strlen(args[i]))) {
                snprintf(err, err_cap, "out of memory");
                return 0;
            }
            continue;
        }
        if (stdin_done)
            continue;
        stdin_done = 1;
        int ok = jsonl ? cli_texts_read_jsonl(t, in, err, err_cap)
                       : cli_texts_read_lines(t, in, err, err_cap);
        if (!ok)
            return 0;
    }
    return 1;
}

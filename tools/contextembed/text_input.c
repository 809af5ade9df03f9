/* Texts from the arguments, standard input or a file: see text_input.h. */
#include "text_input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "tokenizers/unicode.h"

int cli_texts_add(cli_texts *t, const char *data, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        cli_text *items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return 0;
        t->items = items;
        size_t *pos = realloc(t->pos, cap * sizeof *pos);
        if (!pos)
            return 0;
        t->pos = pos;
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
    t->pos[t->n] = t->seen++;
    t->n++;
    return 1;
}

void cli_texts_free(cli_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].data);
    free(t->items);
    free(t->pos);
    memset(t, 0, sizeof *t);
}

/* One reading: where texts go, how they are checked, where messages go. */
typedef struct reader {
    cli_texts *t;
    const cli_read_opts *o;
    const char *name;
    char *err;
    size_t err_cap;
} reader;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Why a checked text is refused (into why), or 0 when it is fine. */
static int text_problem(const char *s, size_t len, char *why, size_t cap)
{
    size_t valid = ce_utf8_valid_prefix(s, len);
    if (valid < len) {
        snprintf(why, cap, "not valid UTF-8 (byte %zu)", valid);
        return 1;
    }
    for (size_t i = 0; i < len; i++)
        if (!is_blank(s[i]))
            return 0;
    snprintf(why, cap, len ? "the text has no words (only white space)" : "the text is empty");
    return 1;
}

/* A bad line or text: an error, or with skip_bad reported and left out
 * (its input position still counts). 1 to go on. */
static int bad(reader *r, const char *msg)
{
    if (!r->o->skip_bad) {
        snprintf(r->err, r->err_cap, "%s", msg);
        return 0;
    }
    fprintf(stderr, "contextembed: %s; skipped\n", msg);
    r->t->seen++;
    return 1;
}

/* Add a text at the next input position, checked as asked; @p where names it. */
static int accept(reader *r, const char *s, size_t len, const char *where)
{
    char why[96], msg[256];
    if (r->o->check && text_problem(s, len, why, sizeof why)) {
        snprintf(msg, sizeof msg, "%s: %s", where, why);
        return bad(r, msg);
    }
    if (cli_texts_add(r->t, s, len))
        return 1;
    snprintf(r->err, r->err_cap, "out of memory reading %s", r->name);
    return 0;
}

/* getline failed before the end: a read error, or no memory for the line. */
static int read_error(reader *r, FILE *in)
{
    if (ferror(in))
        snprintf(r->err, r->err_cap, "cannot read %s: %s", r->name, strerror(errno));
    else
        snprintf(r->err, r->err_cap, "out of memory reading %s", r->name);
    return 0;
}

static int read_lines(reader *r, FILE *in)
{
    char *line = NULL, where[160];
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int ok = 1;
    while (ok && (n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        snprintf(where, sizeof where, "%s line %zu", r->name, ++lineno);
        ok = accept(r, line, len, where);
    }
    free(line);
    if (!ok)
        return 0;
    return ferror(in) || !feof(in) ? read_error(r, in) : 1;
}

/* Parse one JSON-string line; 1 to go on (the text appended, or a blank or
 * skipped line), 0 with err set. */
static int add_json_line(reader *r, const char *line, size_t len, size_t lineno)
{
    while (len && is_blank(line[len - 1]))
        len--;
    while (len && is_blank(*line)) {
        line++;
        len--;
    }
    if (!len) {
        r->t->seen++; /* a blank line is no text but still a line */
        return 1;
    }
    char where[160], msg[320];
    snprintf(where, sizeof where, "%s line %zu", r->name, lineno);
    /* The parser reads YAML too, where a bare word is a string: insist on JSON's quotes. */
    if (len < 2 || line[0] != '"' || line[len - 1] != '"') {
        snprintf(msg, sizeof msg, "%s: not a JSON string", where);
        return bad(r, msg);
    }
    ce_json *j;
    if (ce_json_parse(line, len, where, &j) != CE_OK)
        return bad(r, ce_last_error());
    int ok;
    if (j->type != CE_JSON_STRING) {
        snprintf(msg, sizeof msg, "%s: not a JSON string", where);
        ok = bad(r, msg);
    } else {
        ok = accept(r, j->str, j->len, where);
    }
    ce_json_free(j);
    return ok;
}

static int read_jsonl(reader *r, FILE *in)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int ok = 1;
    while (ok && (n = getline(&line, &cap, in)) >= 0)
        ok = add_json_line(r, line, (size_t)n, ++lineno);
    free(line);
    if (!ok)
        return 0;
    return ferror(in) || !feof(in) ? read_error(r, in) : 1;
}

static reader reader_of(cli_texts *t, const cli_read_opts *o, char *err, size_t err_cap)
{
    err[0] = '\0';
    return (reader){t, o, o->name ? o->name : "standard input", err, err_cap};
}

int cli_texts_read_lines(cli_texts *t, FILE *in, char *err, size_t err_cap)
{
    static const cli_read_opts plain = {0};
    reader r = reader_of(t, &plain, err, err_cap);
    return read_lines(&r, in);
}

int cli_texts_read_jsonl(cli_texts *t, FILE *in, char *err, size_t err_cap)
{
    static const cli_read_opts jsonl = {.jsonl = 1};
    reader r = reader_of(t, &jsonl, err, err_cap);
    return read_jsonl(&r, in);
}

int cli_texts_gather(cli_texts *t, char *const *args, size_t n_args, FILE *in,
                     const cli_read_opts *o, char *err, size_t err_cap)
{
    reader r = reader_of(t, o, err, err_cap);
    int stdin_done = 0;
    for (size_t i = 0; i < n_args || (n_args == 0 && !stdin_done); i++) {
        if (n_args != 0 && strcmp(args[i], "-")) {
            char where[48];
            snprintf(where, sizeof where, "text %zu", t->seen);
            if (!accept(&r, args[i], strlen(args[i]), where))
                return 0;
            continue;
        }
        if (stdin_done)
            continue;
        stdin_done = 1;
        if (!(o->jsonl ? read_jsonl(&r, in) : read_lines(&r, in)))
            return 0;
    }
    return 1;
}

int cli_texts_collect(cli_texts *t, char *const *args, size_t n_args, int jsonl, FILE *in,
                      char *err, size_t err_cap)
{
    cli_read_opts o = {.jsonl = jsonl};
    return cli_texts_gather(t, args, n_args, in, &o, err, err_cap);
}

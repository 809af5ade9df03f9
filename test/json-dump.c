/* The JSON reader's trees, printed for test-json-reference.py to compare
 * with Python's json module: documents separated by NUL bytes on standard
 * input, one line each on standard output. Numbers are "i<int64>" when
 * exact integers, else "f<%.17g>"; strings quoted with every byte outside
 * printable ASCII (and '"', '\') as \xHH; object members in document order;
 * a document the reader refuses prints "ERROR <message>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

static void put_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('"');
}

static void put_node(const ce_json *j)
{
    switch (j->type) {
    case CE_JSON_NULL: printf("null"); break;
    case CE_JSON_BOOL: printf(j->boolean ? "true" : "false"); break;
    case CE_JSON_NUMBER:
        if (j->is_integer)
            printf("i%lld", (long long)j->integer);
        else
            printf("f%.17g", j->number);
        break;
    case CE_JSON_STRING: put_string(j->str, j->len); break;
    case CE_JSON_ARRAY:
    case CE_JSON_OBJECT:
        putchar(j->type == CE_JSON_ARRAY ? '[' : '{');
        for (size_t i = 0; i < j->n; i++) {
            if (i)
                putchar(',');
            if (j->type == CE_JSON_OBJECT) {
                put_string(j->keys[i], j->key_lens[i]);
                putchar(':');
            }
            put_node(j->items[i]);
        }
        putchar(j->type == CE_JSON_ARRAY ? ']' : '}');
        break;
    }
}

int main(void)
{
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += got;
        char *grown = len == cap ? realloc(buf, cap *= 2) : buf;
        if (!grown)
            free(buf);
        buf = grown;
    }
    if (!buf)
        return 2;
    for (char *p = buf, *end = buf + len; p < end;) {
        char *z = memchr(p, '\0', (size_t)(end - p));
        z = z ? z : end;
        ce_json *j = NULL;
        if (ce_json_parse(p, (size_t)(z - p), "doc", &j) == CE_OK) {
            put_node(j);
            ce_json_free(j);
        } else {
            printf("ERROR %s", ce_last_error());
        }
        putchar('\n');
        p = z + 1;
    }
    free(buf);
    return 0;
}

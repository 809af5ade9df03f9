/* The JSON/YAML reader every loader goes through (lib/io/json.c): parse,
 * then visit every node the way loaders read them. */
#include <string.h>

#include "fuzz.h"
#include "io/json.h"

static size_t visit(const ce_json *j, int depth)
{
    size_t n = 1;
    if (j->type == CE_JSON_STRING)
        n += j->len && j->str[j->len - 1] == 'x';
    for (size_t i = 0; i < j->n && depth < 300; i++) {
        n += visit(j->items[i], depth + 1);
        if (j->type == CE_JSON_OBJECT)
            n += j->key_lens[i] == strlen(j->keys[i]) && ce_json_get(j, j->keys[i]) != NULL;
    }
    return n;
}

static volatile size_t fuzz_nodes; /* so the visit is not optimised away */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ce_json *j;
    if (fuzz_note(ce_json_parse((const char *)data, size, "fuzz.json", &j), "json") != CE_OK)
        return 0;
    fuzz_nodes = visit(j, 0);
    int64_t i;
    double d;
    bool b;
    ce_json_get_int(j, "a", &i);
    ce_json_get_number(j, "a", &d);
    ce_json_get_bool(j, "a", &b);
    ce_json_get_string(j, "a");
    ce_json_free(j);
    return 0;
}

/* Internal: string storage and a string -> id hash table for vocabularies. */
#ifndef CE_TOKENIZERS_STRMAP_H
#define CE_TOKENIZERS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contextembed/common.h"

/* An append-only store of NUL-terminated strings whose addresses never move,
 * so hash tables and id tables can point into it. */
typedef struct ce_pool_chunk ce_pool_chunk;
typedef struct ce_pool {
    ce_pool_chunk *head;
} ce_pool;

/* Copy len bytes (NUL added) into the pool; NULL when out of memory. */
const char *ce_pool_dup(ce_pool *pool, const char *s, size_t len);
void ce_pool_free(ce_pool *pool);

/* Open addressing, linear probing; keys are borrowed (typically from a
 * ce_pool) and must outlive the map. Read-only use is thread-safe. */
typedef struct ce_strmap_slot {
    const char *key; /* NULL: empty slot */
    uint32_t len;
    int32_t value;
} ce_strmap_slot;

typedef struct ce_strmap {
    ce_strmap_slot *slots;
    size_t mask; /* capacity - 1, capacity a power of two */
    size_t n;
} ce_strmap;

/* Room for about @p expected keys without growing. */
ce_status ce_strmap_init(ce_strmap *m, size_t expected);
/* Insert, or replace the value of an existing key (later duplicates win,
 * as in a Python dict built line by line). */
ce_status ce_strmap_put(ce_strmap *m, const char *key, size_t len, int32_t value);
bool ce_strmap_get(const ce_strmap *m, const char *key, size_t len, int32_t *value);
void ce_strmap_free(ce_strmap *m);

#endif

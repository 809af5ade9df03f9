/* String pool and string -> id hash table. */
#include "tokenizers/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define POOL_CHUNK (64 * 1024)

struct ce_pool_chunk {
    ce_pool_chunk *next;
    size_t used, cap;
    char data[];
};

const char *ce_pool_dup(ce_pool *pool, const char *s, size_t len)
{
    ce_pool_chunk *c = pool->head;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > POOL_CHUNK ? len + 1 : POOL_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        /* a big string gets its own chunk behind the current one, so the
         * current chunk's free space is not wasted */
        if (pool->head && cap > POOL_CHUNK) {
            c->next = pool->head->next;
            pool->head->next = c;
        } else {
            c->next = pool->head;
            pool->head = c;
        }
    }
    char *dst = c->data + c->used;
    if (len)
        memcpy(dst, s, len);
    dst[len] = '\0';
    c->used += len + 1;
    return dst;
}

void ce_pool_free(ce_pool *pool)
{
    ce_pool_chunk *c = pool->head;
    while (c) {
        ce_pool_chunk *next = c->next;
        free(c);
        c = next;
    }
    pool->head = NULL;
}

/* FNV-1a: short keys, few collisions, no seed needed (inputs are not adversarial
 * to the table's correctness, only to its speed). */
static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static ce_status alloc_slots(ce_strmap *m, size_t cap)
{
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for a vocabulary table");
    m->mask = cap - 1;
    m->n = 0;
    return CE_OK;
}

ce_status ce_strmap_init(ce_strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 && cap < ((size_t)1 << 40))
        cap <<= 1;
    return alloc_slots(m, cap);
}

static ce_strmap_slot *find(const ce_strmap *m, const char *key, size_t len)
{
    size_t i = (size_t)hash_bytes(key, len) & m->mask;
    for (;;) {
        ce_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->len == len && memcmp(s->key, key, len) == 0))
            return s;
        i = (i + 1) & m->mask;
    }
}

static ce_status grow(ce_strmap *m)
{
    ce_strmap old = *m;
    ce_status st = alloc_slots(m, (old.mask + 1) * 2);
    if (st != CE_OK) {
        *m = old;
        return st;
    }
    for (size_t i = 0; i <= old.mask; i++) {
        if (old.slots[i].key) {
            *find(m, old.slots[i].key, old.slots[i].len) = old.slots[i];
            m->n++;
        }
    }
    free(old.slots);
    return CE_OK;
}

ce_status ce_strmap_put(ce_strmap *m, const char *key, size_t len, int32_t value)
{
    if (len > UINT32_MAX)
        return ce_error(CE_ERR_FORMAT, "vocabulary entry of %zu bytes", len);
    if ((m->n + 1) * 2 > m->mask + 1) {
        ce_status st = grow(m);
        if (st != CE_OK)
            return st;
    }
    ce_strmap_slot *s = find(m, key, len);
    if (!s->key) {
        s->key = key;
        s->len = (uint32_t)len;
        m->n++;
    }
    s->value = value;
    return CE_OK;
}

bool ce_strmap_get(const ce_strmap *m, const char *key, size_t len, int32_t *value)
{
    if (!m->slots)
        return false;
    const ce_strmap_slot *s = find(m, key, len);
    if (!s->key)
        return false;
    *value = s->value;
    return true;
}

void ce_strmap_free(ce_strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->n = 0;
}

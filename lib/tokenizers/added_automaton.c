/* Where added tokens start in a text: an Aho-Corasick automaton over the
 * tokens' reversed bytes.
 *
 * Hugging Face matches added tokens leftmost-longest. Read from the end of
 * the text backwards, an automaton of the reversed patterns reaches, at each
 * position, the longest pattern that starts there (a reversed pattern that
 * ends there); its output link gives it in constant time. One pass costs a
 * step per byte, whatever the number of tokens (100,000 in some files) and
 * their length, where comparing every position with every token sharing its
 * first byte cost their number. The trie is built breadth-first from the
 * patterns sorted by reversed content, so each node's children get
 * consecutive ids and one offset per node finds them. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizers/tokenizer.h"

typedef struct rev_item {
    const char *s;
    size_t len;
    uint32_t idx; /* into set->pats */
} rev_item;

static unsigned rbyte(const rev_item *it, size_t d)
{
    return (unsigned char)it->s[it->len - 1 - d];
}

/* By reversed content, then as given: of equal contents the first given
 * comes first, and keeps the node (Hugging Face's automaton reports the
 * lowest pattern id). */
static int cmp_reversed(const void *pa, const void *pb)
{
    const rev_item *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t d = 0; d < n; d++) {
        unsigned ca = rbyte(a, d), cb = rbyte(b, d);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Nodes of the trie: the root plus every distinct non-empty reversed prefix. */
static size_t count_nodes(const rev_item *items, size_t m)
{
    size_t nodes = 1;
    for (size_t i = 0; i < m; i++) {
        size_t common = 0;
        if (i > 0)
            while (common < items[i - 1].len && common < items[i].len &&
                   rbyte(&items[i - 1], common) == rbyte(&items[i], common))
                common++;
        nodes += items[i].len - common;
    }
    return nodes;
}

static uint32_t child(const ce_added_set *set, uint32_t v, unsigned c)
{
    if (v == 0)
        return set->root[c];
    uint32_t a = set->nodes[v].first, b = set->nodes[v + 1].first, end = b;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (set->byte[mid] < c)
            a = mid + 1;
        else
            b = mid;
    }
    return a < end && set->byte[a] == c ? a : 0;
}

/* Breadth first: node v holds items[lo[v], hi[v]), the patterns whose
 * reversal starts with v's depth[v] bytes; those that end at v come first.
 * out[v] gets the node's own pattern. */
static void build_trie(ce_added_set *set, const rev_item *items, size_t m, uint32_t *lo,
                       uint32_t *hi, uint32_t *depth)
{
    uint32_t next = 1;
    lo[0] = 0;
    hi[0] = (uint32_t)m;
    depth[0] = 0;
    for (uint32_t v = 0; v < next; v++) {
        uint32_t a = lo[v], b = hi[v], d = depth[v];
        set->nodes[v].first = next;
        set->nodes[v].out = a < b && items[a].len == d ? items[a].idx + 1 : 0;
        while (a < b && items[a].len == d)
            a++;
        while (a < b) {
            unsigned c = rbyte(&items[a], d);
            uint32_t e = a + 1;
            while (e < b && rbyte(&items[e], d) == c)
                e++;
            set->byte[next] = (uint8_t)c;
            if (v == 0)
                set->root[c] = next;
            lo[next] = a;
            hi[next] = e;
            depth[next] = d + 1;
            next++;
            a = e;
        }
    }
    set->nodes[next].first = next;
}

/* Failure and output links, breadth first so a node's suffix is done before it. */
static void link_trie(ce_added_set *set)
{
    for (uint32_t v = 0; v < set->n_nodes; v++) {
        for (uint32_t u = set->nodes[v].first; u < set->nodes[v + 1].first; u++) {
            uint32_t f = 0;
            if (v != 0) {
                unsigned c = set->byte[u];
                f = set->nodes[v].fail;
                uint32_t g;
                while (!(g = child(set, f, c)) && f)
                    f = set->nodes[f].fail;
                f = g;
            }
            set->nodes[u].fail = f;
            if (!set->nodes[u].out)
                set->nodes[u].out = set->nodes[f].out;
        }
    }
}

static ce_status build_automaton(ce_added_set *set, rev_item *items, size_t m)
{
    qsort(items, m, sizeof *items, cmp_reversed);
    size_t nodes = count_nodes(items, m);
    if (nodes >= UINT32_MAX)
        return ce_error(CE_ERR_TOO_LONG, "added tokens of %zu bytes in all are too many", nodes);
    set->n_nodes = (uint32_t)nodes;
    set->nodes = malloc((nodes + 1) * sizeof *set->nodes);
    set->byte = malloc(nodes);
    uint32_t *lo = malloc(nodes * sizeof *lo), *hi = malloc(nodes * sizeof *hi);
    uint32_t *depth = malloc(nodes * sizeof *depth);
    ce_status st = CE_OK;
    if (!set->nodes || !set->byte || !lo || !hi || !depth) {
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for %zu added-token nodes", nodes);
    } else {
        build_trie(set, items, m, lo, hi, depth);
        link_trie(set);
    }
    free(lo);
    free(hi);
    free(depth);
    return st;
}

ce_status ce_added_set_build(ce_added_set *set, const ce_added_pattern *pats, size_t n)
{
    memset(set, 0, sizeof *set);
    if (n >= UINT32_MAX)
        return ce_error(CE_ERR_TOO_LONG, "%zu added tokens are too many", n);
    set->pats = malloc((n ? n : 1) * sizeof *set->pats);
    rev_item *items = malloc((n ? n : 1) * sizeof *items);
    ce_status st = CE_OK;
    if (!set->pats || !items) {
        st = ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory for added tokens");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (pats[i].len == 0) /* HF ignores empty tokens */
                continue;
            items[set->n] = (rev_item){pats[i].s, pats[i].len, (uint32_t)set->n};
            set->pats[set->n++] = pats[i];
        }
        st = set->n ? build_automaton(set, items, set->n) : CE_OK;
    }
    free(items);
    if (st != CE_OK)
        ce_added_set_free(set);
    return st;
}

void ce_added_set_free(ce_added_set *set)
{
    free(set->pats);
    free(set->nodes);
    free(set->byte);
    memset(set, 0, sizeof *set);
}

static ce_status push_hit(ce_added_scan *scan, size_t at, uint32_t pat)
{
    if (scan->n_hits == scan->cap_hits) {
        size_t cap = scan->cap_hits ? 2 * scan->cap_hits : 16;
        ce_added_hit *h = realloc(scan->hits, cap * sizeof *h);
        if (!h)
            return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory matching added tokens");
        scan->hits = h;
        scan->cap_hits = cap;
    }
    scan->hits[scan->n_hits++] = (ce_added_hit){at, pat};
    return CE_OK;
}

ce_status ce_added_scan_start(ce_added_scan *scan, const ce_added_set *set, const char *s,
                              size_t len)
{
    *scan = (ce_added_scan){.set = set, .s = s, .len = len};
    if (!set->n)
        return CE_OK;
    uint32_t v = 0;
    for (size_t p = len; p-- > 0;) {
        unsigned c = (unsigned char)s[p];
        uint32_t u;
        while (!(u = child(set, v, c)) && v)
            v = set->nodes[v].fail;
        v = u;
        uint32_t out = set->nodes[v].out;
        ce_status st = out ? push_hit(scan, p, out - 1) : CE_OK;
        if (st != CE_OK) {
            ce_added_scan_free(scan);
            return st;
        }
    }
    return CE_OK;
}

void ce_added_scan_free(ce_added_scan *scan)
{
    free(scan->hits);
    scan->hits = NULL;
    scan->n_hits = scan->cap_hits = 0;
}

/* Lookups in the generated tables of bert_chars_tables.h: an ASCII table,
 * then binary searches over sorted runs. */
#include "tokenizers/bert_chars.h"

typedef struct bert_range {
    uint32_t lo, hi;
    uint8_t value;
} bert_range;

typedef struct bert_lower_run {
    uint32_t lo, hi;
    int32_t delta;
    uint8_t step; /* 1: every code point of [lo, hi]; 2: every other one from lo */
} bert_lower_run;

#include "tokenizers/bert_chars_tables.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The run of r[0, n) holding cp, or NULL. */
static const bert_range *find_range(const bert_range *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return &r[mid];
    }
    return NULL;
}

unsigned ce_bert_class(uint32_t cp)
{
    if (cp < 0x80)
        return bert_ascii_class[cp];
    const bert_range *r = find_range(bert_class_runs, COUNT(bert_class_runs), cp);
    return r ? r->value : 0;
}

int ce_bert_ccc(uint32_t cp)
{
    if (cp < 0x300)
        return 0;
    const bert_range *r = find_range(bert_ccc_runs, COUNT(bert_ccc_runs), cp);
    return r ? r->value : 0;
}

enum {
    S_BASE = 0xAC00,
    L_BASE = 0x1100,
    V_BASE = 0x1161,
    T_BASE = 0x11A7,
    T_COUNT = 28,
    N_COUNT = 588,
    S_COUNT = 11172
};

size_t ce_bert_nfd(uint32_t cp, uint32_t out[CE_BERT_MAX_NFD])
{
    out[0] = cp;
    if (cp < 0xC0)
        return 1;
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t s = cp - S_BASE, t = s % T_COUNT;
        out[0] = L_BASE + s / N_COUNT;
        out[1] = V_BASE + (s % N_COUNT) / T_COUNT;
        out[2] = T_BASE + t;
        return t ? 3 : 2;
    }
    size_t lo = 0, hi = COUNT(bert_nfd_key);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < bert_nfd_key[mid]) {
            hi = mid;
        } else if (cp > bert_nfd_key[mid]) {
            lo = mid + 1;
        } else {
            size_t n = (size_t)(bert_nfd_at[mid + 1] - bert_nfd_at[mid]);
            for (size_t i = 0; i < n; i++)
                out[i] = bert_nfd_part[bert_nfd_at[mid] + i];
            return n;
        }
    }
    return 1;
}

size_t ce_bert_lower(uint32_t cp, uint32_t out[CE_BERT_MAX_LOWER])
{
    out[0] = cp;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            out[0] = cp + 32;
        return 1;
    }
    for (size_t i = 0; i < COUNT(bert_lower_multi); i++) {
        if (bert_lower_multi[i][0] == cp) {
            size_t n = bert_lower_multi[i][1];
            for (size_t k = 0; k < n; k++)
                out[k] = bert_lower_multi[i][2 + k];
            return n;
        }
    }
    size_t lo = 0, hi = COUNT(bert_lower_runs);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bert_lower_run *r = &bert_lower_runs[mid];
        if (cp < r->lo) {
            hi = mid;
        } else if (cp > r->hi) {
            lo = mid + 1;
        } else {
            if ((cp - r->lo) % r->step == 0)
                out[0] = (uint32_t)((int32_t)cp + r->delta);
            return 1;
        }
    }
    return 1;
}

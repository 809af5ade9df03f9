/* Stop strings for streamed generation: see stop_filter.h. */
#include "stop_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cli_stop_init(cli_stop *s, char *const *stops, size_t n_stops)
{
    memset(s, 0, sizeof *s);
    s->stops = stops;
    s->n_stops = n_stops;
}

static int reserve(cli_stop *s, size_t need)
{
    if (need <= s->held_cap)
        return 1;
    size_t cap = s->held_cap ? s->held_cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(s->held, cap);
    if (!p)
        return 0;
    s->held = p;
    s->held_cap = cap;
    return 1;
}

/* Where the earliest stop string begins in t[0, len), or SIZE_MAX. */
static size_t first_match(const cli_stop *s, const char *t, size_t len)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < s->n_stops; i++) {
        const char *p = memmem(t, len, s->stops[i], strlen(s->stops[i]));
        if (p && (size_t)(p - t) < best)
            best = (size_t)(p - t);
    }
    return best;
}

/* Length of the longest end of t[0, len) that begins some stop string. */
static size_t partial_match(const cli_stop *s, const char *t, size_t len)
{
    size_t best = 0;
    for (size_t i = 0; i < s->n_stops; i++) {
        size_t n = strlen(s->stops[i]);
        for (size_t k = (n - 1 < len ? n - 1 : len); k > best; k--)
            if (!memcmp(t + len - k, s->stops[i], k)) {
                best = k;
                break;
            }
    }
    return best;
}

int cli_stop_feed(cli_stop *s, const char *text, size_t len, FILE *out)
{
    if (s->matched)
        return 1;
    if (!len)
        return 0;
    if (!s->n_stops) {
        fwrite(text, 1, len, out);
        return 0;
    }
    if (!reserve(s, s->held_len + len))
        return -1;
    memcpy(s->held + s->held_len, text, len);
    size_t total = s->held_len + len;
    size_t at = first_match(s, s->held, total);
    if (at != SIZE_MAX) {
        fwrite(s->held, 1, at, out);
        s->held_len = 0;
        s->matched = 1;
        return 1;
    }
    /* Text before the kept end can no longer be part of a match: a match
     * starting there would make a longer end begin a stop string. */
    size_t keep = partial_match(s, s->held, total);
    fwrite(s->held, 1, total - keep, out);
    memmove(s->held, s->held + total - keep, keep);
    s->held_len = keep;
    return 0;
}

void cli_stop_finish(cli_stop *s, FILE *out)
{
    if (!s->matched && s->held_len)
        fwrite(s->held, 1, s->held_len, out);
    s->held_len = 0;
}

void cli_stop_free(cli_stop *s)
{
    free(s->held);
    memset(s, 0, sizeof *s);
}

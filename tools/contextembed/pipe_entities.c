/* Entities from per-token label probabilities, grouped as Hugging Face's
 * token-classification pipeline does with aggregation_strategy="simple"
 * (TokenClassificationPipeline.group_entities): see pipelines.h. */
#include <string.h>

#include "pipelines.h"

void pipe_token_labels(const double *probs, size_t n_tokens, size_t n_labels, size_t *label)
{
    for (size_t t = 0; t < n_tokens; t++)
        label[t] = pipe_argmax(probs + t * n_labels, n_labels);
}

/* get_tag(): "B-X" and "I-X" have tag X; any other label is its own tag and
 * counts as an I- (a continuation). */
typedef struct tag {
    const char *s;
    size_t len;
    int begins; /* a B- label */
} tag;

static tag tag_of(const char *label)
{
    int prefixed = (label[0] == 'B' || label[0] == 'I') && label[1] == '-';
    tag t = {prefixed ? label + 2 : label, 0, prefixed && label[0] == 'B'};
    t.len = strlen(t.s);
    return t;
}

/* The group's name: its first label split once at '-', the last part
 * (label.split("-", 1)[-1]: "B-PER" -> "PER", "O" -> "O"). */
static const char *type_of(const char *label)
{
    const char *dash = strchr(label, '-');
    return dash ? dash + 1 : label;
}

/* A group being built: tokens first..last (skipped tokens between do not count). */
typedef struct group {
    size_t first, last, count, first_label, last_label;
    double sum;
} group;

/* Write the group as out[n] unless its type is "O" (ignore_labels); the new count. */
static size_t flush(const group *g, const size_t *offsets, const char *const *labels,
                    pipe_entity *out, size_t n)
{
    const char *type = type_of(labels[g->first_label]);
    if (!strcmp(type, "O"))
        return n;
    out[n] = (pipe_entity){type,
                           strlen(type),
                           g->first,
                           g->last,
                           offsets[2 * g->first],
                           offsets[2 * g->last + 1],
                           g->sum / (double)g->count};
    return n + 1;
}

static int continues(const group *g, const char *const *labels, size_t label)
{
    tag now = tag_of(labels[label]), prev = tag_of(labels[g->last_label]);
    return !now.begins && now.len == prev.len && !memcmp(now.s, prev.s, now.len);
}

size_t pipe_group_entities(const double *probs, size_t n_tokens, size_t n_labels,
                           const unsigned char *skip, const size_t *offsets,
                           const char *const *labels, pipe_entity *out)
{
    group g = {0};
    size_t n = 0;
    for (size_t t = 0; t < n_tokens; t++) {
        if (skip[t])
            continue;
        const double *row = probs + t * n_labels;
        size_t label = pipe_argmax(row, n_labels);
        if (g.count && continues(&g, labels, label)) {
            g.last = t;
            g.last_label = label;
            g.sum += row[label];
            g.count++;
            continue;
        }
        if (g.count)
            n = flush(&g, offsets, labels, out, n);
        g = (group){t, t, 1, label, label, row[label]};
    }
    return g.count ? flush(&g, offsets, labels, out, n) : n;
}

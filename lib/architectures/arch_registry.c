/* Model families: the one table that lists them. */
#include <stdio.h>
#include <string.h>

#include "architectures/arch.h"
#include "architectures/elmo.h"

static const ce_arch_ops *const families[] = {
    &ce_arch_bert, &ce_arch_roberta, &ce_arch_distilbert, &ce_arch_gpt2, &ce_arch_elmo,
};

#define N_FAMILIES (sizeof families / sizeof *families)

const ce_arch_ops *ce_arch_at(size_t i)
{
    return i < N_FAMILIES ? families[i] : NULL;
}

const ce_arch_ops *ce_arch_find(const char *model_type)
{
    if (!model_type)
        return NULL;
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(families[i]->name, model_type))
            return families[i];
    return NULL;
}

const ce_arch_ops *ce_arch_find_class(const char *class_name)
{
    const ce_arch_ops *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; class_name && i < N_FAMILIES; i++) {
        const char *p = families[i]->class_prefix;
        size_t n = p ? strlen(p) : 0;
        if (n > best_len && !strncmp(class_name, p, n)) {
            best = families[i];
            best_len = n;
        }
    }
    return best;
}

void ce_arch_list(char *buf, size_t size)
{
    size_t used = 0;
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < N_FAMILIES && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", families[i]->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

unsigned ce_arch_caps(const ce_arch_ops *arch, const ce_model_dims *dims)
{
    unsigned caps = arch->caps;
    if (arch->forward)
        caps |= CE_CAP_TOKEN_IDS;
    if (arch->forward_words)
        caps |= CE_CAP_WORDS;
    if (arch->append)
        caps |= CE_CAP_DECODER;
    if (arch->reset_state)
        caps |= CE_CAP_CARRY_STATE;
    if (dims->type_vocab_size > 1)
        caps |= CE_CAP_TOKEN_TYPES;
    return caps;
}

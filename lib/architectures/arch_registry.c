/* Model families by config.json model_type. */
#include <string.h>

#include "architectures/arch.h"
#include "architectures/elmo.h"

static const ce_arch_ops *const families[] = {
    &ce_arch_bert,
    &ce_arch_gpt2,
    &ce_arch_elmo,
};

const ce_arch_ops *ce_arch_find(const char *model_type)
{
    if (!model_type)
        return NULL;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (!strcmp(families[i]->name, model_type))
            return families[i];
    return NULL;
}

/* Version queries. */
#include "contextembed/common.h"

#define CE_STR2(x) #x
#define CE_STR(x) CE_STR2(x)

const char *ce_version(void)
{
    return CE_STR(CE_VERSION_MAJOR) "." CE_STR(CE_VERSION_MINOR) "." CE_STR(CE_VERSION_PATCH);
}

uint32_t ce_abi_version(void)
{
    return CE_ABI_VERSION;
}

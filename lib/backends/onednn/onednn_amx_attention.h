/* Internal: the onednn backend's bf16 attention on AMX tiles
 * (onednn_amx_attention.c). */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_AMX_ATTENTION_H
#define CE_BACKENDS_ONEDNN_ONEDNN_AMX_ATTENTION_H

#include <stddef.h>

/* Whether ce_dnnl_amx_attention can run here: AMX-BF16 and AVX512-BF16,
 * and the process's permission to use the tile data. Thread-safe. */
int ce_dnnl_amx_attention_usable(void);

/* The attention slot's contract (backend.h) with the products in bf16: Q,
 * K and V rounded to bf16 (to nearest even), the scores summed in float32,
 * the masked softmax of the scaled scores in float32, each probability
 * rounded to bf16, the weighted sums of V in float32. @p ctx starts with a
 * ce_cpu_ctx; its threads split the heads (and blocks of query rows), using
 * its per-thread scratch. Returns 1 when done; 0, writing nothing, when the
 * CPU cannot (ce_dnnl_amx_attention_usable) or the scratch cannot be had:
 * the caller then computes it another way. */
int ce_dnnl_amx_attention(void *ctx, size_t heads, size_t hd, size_t tq, size_t tk,
                          const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                          size_t ldv, float scale, int causal, size_t q_offset, float *out,
                          size_t ldo);

#endif

/* Internal: the "blis" backend. GEMM through BLIS on the raw weights (BLIS
 * has no pack-once interface, so it does not prepare them); the other kernels
 * are the shared CPU kernels (backends/cpu), split over OpenMP threads when
 * large, so BLIS and they share libgomp's one thread pool. Built only when
 * BLIS is found (ce_config.h: CE_HAVE_BLIS). */
#ifndef CE_BACKENDS_BLIS_BLIS_BACKEND_H
#define CE_BACKENDS_BLIS_BLIS_BACKEND_H

#include "backends/cpu/cpu_kernels.h"
#include "contextembed/backend.h"

/* The table: gemm and every element-wise and row kernel filled. */
const ce_backend_ops *ce_backend_blis_ops(void);

/* Context (blis_gemm.c): a BLIS rntm_t carrying the session's thread count. */
ce_status ce_blis_create(int n_threads, void **ctx);
void ce_blis_destroy(void *ctx);

void ce_blis_gemm(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
                  size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                  float beta, float *c, size_t ldc, const float *bias);

/* The shared vector kernels' approximations under the names the accuracy
 * tests used before they moved to backends/cpu. */
#define ce_blis_vexp ce_cpu_vexp
#define ce_blis_verf ce_cpu_verf

#endif

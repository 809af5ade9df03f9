/* Internal: the "blis" backend. GEMM through BLIS; the other kernels are
 * vectorisable C (vec_math.h) split over OpenMP threads when large, so BLIS
 * and these kernels share libgomp's one thread pool. Built only when BLIS is
 * found (ce_config.h: CE_HAVE_BLIS). */
#ifndef CE_BACKENDS_BLIS_BLIS_BACKEND_H
#define CE_BACKENDS_BLIS_BLIS_BACKEND_H

#include "contextembed/backend.h"

/* The table: gemm and every element-wise and row kernel filled. */
const ce_backend_ops *ce_backend_blis_ops(void);

/* Context (blis_gemm.c): a BLIS rntm_t carrying the session's thread count. */
ce_status ce_blis_create(int n_threads, void **ctx);
void ce_blis_destroy(void *ctx);
int ce_blis_threads(const void *ctx);

void ce_blis_gemm(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
                  size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                  float beta, float *c, size_t ldc, const float *bias);

/* blis_rows.c */
void ce_blis_layer_norm(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                        const float *gamma, const float *beta, float eps, float *y, size_t ldy);
void ce_blis_softmax(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                     size_t n_valid, int causal, size_t q_offset);
void ce_blis_lstm_cell(void *ctx, size_t batch, size_t cell, const float *gates, size_t ld_gates,
                       float forget_bias, float cell_clip, float *c, size_t ldc, float *h,
                       size_t ldh);

/* blis_elementwise.c */
void ce_blis_gelu_erf(void *ctx, size_t n, float *x);
void ce_blis_gelu_tanh(void *ctx, size_t n, float *x);
void ce_blis_add(void *ctx, size_t n, const float *a, const float *b, float *y);
void ce_blis_scale(void *ctx, size_t n, float alpha, float *x);
void ce_blis_relu(void *ctx, size_t n, float *x);
void ce_blis_sigmoid(void *ctx, size_t n, float *x);
void ce_blis_tanh(void *ctx, size_t n, float *x);

/* The approximations alone, as compiled into the kernels, for the accuracy
 * tests: y[i] = exp(x[i]) and y[i] = erf(x[i]). */
void ce_blis_vexp(size_t n, const float *x, float *y);
void ce_blis_verf(size_t n, const float *x, float *y);

#endif

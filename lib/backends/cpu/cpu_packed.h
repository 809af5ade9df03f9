/* Internal: the library's own prepared linear layers (cpu_packed.c), for CPU
 * backends whose GEMM cannot keep a weight packed between calls. */
#ifndef CE_BACKENDS_CPU_CPU_PACKED_H
#define CE_BACKENDS_CPU_CPU_PACKED_H

#include "contextembed/backend.h"

typedef struct ce_packed_weight ce_packed_weight;

/* Whether this CPU runs the packed kernel (x86-64 with AVX2 and FMA). */
int ce_cpu_packed_supported(void);

/* Pack @p d's weight and copy its bias; on success *out is the caller's
 * (ce_cpu_packed_release). Only when ce_cpu_packed_supported(). */
ce_status ce_cpu_packed_prepare(const ce_linear_desc *d, ce_packed_weight **out);
void ce_cpu_packed_release(ce_packed_weight *w);

/* y = x W^T + bias + beta y (beta 0 or 1) for @p rows rows on the context's
 * threads; the activation is not applied (ce_cpu_linear does that). */
void ce_cpu_packed_linear(void *ctx, const ce_packed_weight *w, size_t rows, const float *x,
                          size_t ldx, float beta, float *y, size_t ldy);

/* One panel of floats b (in x 16, a panel's layout) times every row of x,
 * into y's columns [0, nc) (y points at the panel's first column), starting
 * from bias (16 values, or NULL) and y when @p accumulate. AVX2+FMA only;
 * the AVX-512 kernel when @p avx512 (the CPU must have it). */
void ce_cpu_packed_panel(int avx512, const float *b, size_t in, size_t nc, const float *bias,
                         size_t rows, const float *x, size_t ldx, float *y, size_t ldy,
                         int accumulate);

/* Kernel levels, for the parity test: CE_CPU_ISA_C the plain C kernels
 * whatever the CPU, CE_CPU_ISA_AVX2 no AVX-512 kernel, CE_CPU_ISA_BEST what
 * the CPU runs best. */
enum { CE_CPU_ISA_C, CE_CPU_ISA_AVX2, CE_CPU_ISA_BEST };

/* Weights packed from now on run kernels of at most @p isa (CE_CPU_ISA_AVX2
 * or _BEST; the packed kernel has no plain C form); returns the previous
 * setting. For tests: process-wide. */
int ce_cpu_packed_force_isa(int isa);

/* Weight-only int8 (cpu_int8.c): quantised as the reference does, packed in
 * panels of 16 outputs; AVX2+FMA kernels where the CPU has them, else plain C. */
typedef struct ce_int8_weight ce_int8_weight;
ce_status ce_cpu_int8_prepare(const ce_linear_desc *d, ce_int8_weight **out);
/* The same, run by the kernels of at most @p max_isa (CE_CPU_ISA_*). */
ce_status ce_cpu_int8_prepare_isa(const ce_linear_desc *d, int max_isa, ce_int8_weight **out);
void ce_cpu_int8_release(ce_int8_weight *w);
/* y = act(x W^T + bias + beta y), the activation included. */
void ce_cpu_int8_linear(void *ctx, const ce_int8_weight *w, size_t rows, const float *x,
                        size_t ldx, float beta, float *y, size_t ldy);

/* The linear_prepare / linear_release / linear slots on top of the above,
 * with the activation by the shared kernels: f32 (packed, where
 * ce_cpu_packed_supported()) and int8 weights, as the descriptor asks;
 * ce_cpu_linear_precisions() gives the `precisions` bits they take. */
uint32_t ce_cpu_linear_precisions(void);
ce_status ce_cpu_linear_prepare(void *model_state, const ce_linear_desc *desc, void **prepared);
void ce_cpu_linear_release(void *model_state, void *prepared);
void ce_cpu_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                   float beta, float *y, size_t ldy);

#endif

/* Internal: the vector kernels the CPU backends ("blis", "onednn") share.
 *
 * Plain C written for the vectoriser (vec_math.h), compiled for AVX-512 and
 * AVX2 as well as the baseline and picked at load time (CE_VEC_CLONES), split
 * over OpenMP threads when large: the same libgomp pool BLIS and oneDNN use,
 * so one pool owns the cores. Every such backend's context starts with a
 * ce_cpu_ctx, which is all these kernels read of it. */
#ifndef CE_BACKENDS_CPU_CPU_KERNELS_H
#define CE_BACKENDS_CPU_CPU_KERNELS_H

#include "contextembed/backend.h"

#define CE_CPU_MAX_THREADS 256

typedef struct ce_cpu_ctx {
    int n_threads;   /* threads a kernel may use now (set_threads lowers it) */
    int max_threads; /* as created */
    /* per-thread scratch of the packed kernel, grown on first use */
    float *scratch[CE_CPU_MAX_THREADS];
    size_t scratch_floats[CE_CPU_MAX_THREADS];
    /* x rounded to bf16 for bf16 weights (ce_cpu_bf16_x), grown on first use */
    uint16_t *xbf16;
    size_t xbf16_len;
    /* x rounded to bf16, kept as floats (ce_cpu_bf16_round_x), grown on first use */
    float *xround;
    size_t xround_len;
} ce_cpu_ctx;

int ce_cpu_threads(const void *ctx);
/* Thread @p thread's scratch of at least @p floats floats, or NULL when it
 * cannot be had (the caller then does without). */
float *ce_cpu_scratch(void *ctx, int thread, size_t floats);
/* Free the scratch; the backends' destroy calls it. */
void ce_cpu_ctx_release(void *ctx);
/* The set_threads slot: 1 <= n <= max_threads. */
void ce_cpu_set_threads(void *ctx, int n_threads);

/* cpu_rows.c */
void ce_cpu_layer_norm(void *ctx, size_t rows, size_t dim, const float *x, size_t ldx,
                       const float *gamma, const float *beta, float eps, float *y, size_t ldy);
void ce_cpu_softmax(void *ctx, size_t rows, size_t cols, float *x, size_t ldx, float scale,
                    size_t n_valid, int causal, size_t q_offset);
void ce_cpu_lstm_cell(void *ctx, size_t batch, size_t cell, const float *gates, size_t ld_gates,
                      float forget_bias, float cell_clip, float *c, size_t ldc, float *h,
                      size_t ldh);
/* One softmax row in place: the first @p valid of @p cols values, scaled; the rest zeroed. */
void ce_cpu_softmax_row(float *x, size_t valid, size_t cols, float scale);

/* cpu_elementwise.c */
void ce_cpu_gelu_erf(void *ctx, size_t n, float *x);
void ce_cpu_gelu_tanh(void *ctx, size_t n, float *x);
void ce_cpu_add(void *ctx, size_t n, const float *a, const float *b, float *y);
void ce_cpu_scale(void *ctx, size_t n, float alpha, float *x);
void ce_cpu_relu(void *ctx, size_t n, float *x);
void ce_cpu_sigmoid(void *ctx, size_t n, float *x);
void ce_cpu_tanh(void *ctx, size_t n, float *x);
void ce_cpu_max_rows(void *ctx, size_t groups, size_t rows, size_t cols, const float *x, float *y,
                     size_t ldy);
void ce_cpu_gate_mix(void *ctx, size_t n, const float *g, const float *t, float *x);
void ce_cpu_clip(void *ctx, size_t n, float limit, float *x);

/* A panel's starting sums for one row (cpu_mix.c): t[j] = bias[j] (0 without
 * a bias or past the nc valid columns), plus y_row[j] when @p accumulate;
 * nr values in all. */
void ce_cpu_start_values(const float *bias, const float *y_row, int accumulate, size_t nc,
                         size_t nr, float *t);

/* y's @p rows rows of @p cols values NaN: what a prepared product gives when
 * it cannot be had at run time (out of memory), rather than another
 * precision's result. */
void ce_cpu_nan_rows(size_t rows, size_t cols, float *y, size_t ldy);

/* The activation over @p rows rows of @p cols values (row stride ldy). */
void ce_cpu_activate_rows(void *ctx, ce_backend_activation act, size_t rows, size_t cols, float *y,
                          size_t ldy);

/* cpu_attention.c: the attention slot, heads (and blocks of query rows) split
 * over the threads. */
void ce_cpu_attention(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                      const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                      size_t ldv, float scale, int causal, size_t q_offset, float *out,
                      size_t ldo);
/* cpu_attention.c: scores s [heads][rows][tk] (dense) into probabilities p
 * (same shape) rounded to bf16: per row, the masked softmax of the scaled
 * scores (row r of each head masked as query row q_offset + r is by
 * ce_softmax_row_valid; masked keys 0), computed in float32 in s. */
void ce_cpu_attention_probs(void *ctx, size_t heads, size_t rows, size_t tk, float *s,
                            float scale, int causal, size_t q_offset, uint16_t *p);

/* cpu_bf16.c: @p rows rows of @p cols floats (row stride ldx) rounded to
 * bf16 (to nearest even) into @p dst, row stride @p ldd >= cols, the values
 * between cols and ldd zero. */
void ce_cpu_to_bf16_rows(void *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                         uint16_t *dst, size_t ldd);
/* One row of @p n floats rounded as ce_cpu_to_bf16_rows does. */
void ce_cpu_bf16_row(const float *x, uint16_t *dst, size_t n);
/* @p rows rows of @p heads * @p hd floats (row stride ldx) rounded to bf16
 * per head: dst [heads][rows][hd], each head's rows dense. */
void ce_cpu_to_bf16_heads(void *ctx, size_t rows, size_t heads, size_t hd, const float *x,
                          size_t ldx, uint16_t *dst);
/* The same into the context's own buffer (grown as needed), returned; NULL
 * when it cannot grow (out of memory). Valid until the next call. */
const uint16_t *ce_cpu_bf16_x(void *ctx, size_t rows, size_t cols, const float *x, size_t ldx,
                              size_t ldd);

/* @p rows rows of @p cols floats (row stride ldx) rounded to bf16 as
 * ce_cpu_to_bf16_rows does but kept as floats (their low 16 bits zero) in
 * @p dst (row stride ldd), on the calling thread: x as the float32
 * multiply-add kernels of bf16 products read it. */
void ce_cpu_bf16_round_rows(size_t rows, size_t cols, const float *x, size_t ldx, float *dst,
                            size_t ldd);

/* The same for @p rows rows, dense (row stride cols), into the context's
 * own buffer (grown as needed) on its threads, returned; NULL when it cannot
 * grow (out of memory). Valid until the next call. */
const float *ce_cpu_bf16_round_x(void *ctx, size_t rows, size_t cols, const float *x,
                                 size_t ldx);

/* cpu_bf16_rate.c: whether bf16 products run faster as float32 FMAs on
 * widened values than on VDPBF16PS on this CPU (measured once per process;
 * 0 without AVX-512 and AVX512-BF16). CE_BF16_FMA=1 or 0 in the environment
 * says so instead (tests cover both kernels on any CPU). Thread-safe. */
int ce_cpu_bf16_fma_faster(void);

/* Tests: run attention with vectors of 8 floats (the AVX2 / baseline code)
 * even where AVX-512's 16 are there; 0 restores the CPU's best. Returns the
 * previous setting. Process-wide: not while a kernel runs. */
int ce_cpu_attention_force_width(int floats);

/* The slots above, as designated initialisers of a ce_backend_ops. */
#define CE_CPU_KERNEL_SLOTS                                                              \
    .layer_norm = ce_cpu_layer_norm, .softmax = ce_cpu_softmax, .gelu_erf = ce_cpu_gelu_erf, \
    .gelu_tanh = ce_cpu_gelu_tanh, .add = ce_cpu_add, .scale = ce_cpu_scale,                \
    .relu = ce_cpu_relu, .sigmoid = ce_cpu_sigmoid, .tanh = ce_cpu_tanh,                    \
    .lstm_cell = ce_cpu_lstm_cell, .attention = ce_cpu_attention,                           \
    .set_threads = ce_cpu_set_threads, .max_rows = ce_cpu_max_rows,                         \
    .gate_mix = ce_cpu_gate_mix, .clip = ce_cpu_clip

/* The approximations alone, as compiled into the kernels, for the accuracy
 * tests: y[i] = exp(x[i]) and y[i] = erf(x[i]). */
void ce_cpu_vexp(size_t n, const float *x, float *y);
void ce_cpu_verf(size_t n, const float *x, float *y);

#endif

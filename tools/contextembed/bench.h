/* contextembed bench: FLOP counts, timing, and the BLIS sgemm baseline. */
#ifndef CLI_BENCH_H
#define CLI_BENCH_H

#include <stddef.h>

/* A transformer encoder's shape and the batch it runs. */
typedef struct bench_dims {
    size_t layers, hidden, heads, ffn, seq, batch;
} bench_dims;

/* One matmul shape (C[m,n] = A[m,k] W[n,k]^T) and how often a layer runs it. */
typedef struct bench_gemm {
    size_t m, n, k, count;
} bench_gemm;

/* The Linear layers of one encoder layer: Q/K/V, attention output, FFN up, FFN down. */
#define BENCH_LAYER_GEMMS 4
void cli_bench_layer_gemms(const bench_dims *d, bench_gemm out[BENCH_LAYER_GEMMS]);

/* FLOPs of one forward pass, 2*m*n*k for every matmul, attention scores and
 * context included. */
double cli_bench_forward_flops(const bench_dims *d);

/* Seconds on a monotonic clock. */
double cli_bench_now(void);

/* Median of @p n values (sorts them). */
double cli_bench_median(double *v, size_t n);

/* Write `"key":` and @p v with 4 significant digits to stdout, or null when v < 0 (not measured). */
void cli_bench_json_number(const char *key, double v, int *first);

/* GFLOP/s of plain BLIS sgemm on one layer's Linear shapes with @p threads
 * threads: each shape timed 3 * runs times (median) on BLIS's sup and packed
 * paths, the faster counting; < 0 when the program was built without BLIS
 * or memory ran out. */
double cli_bench_sgemm_gflops(const bench_dims *d, int threads, int runs);

#endif

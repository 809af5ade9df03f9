/* contextembed bench --elmo: the original ELMo (2x4096_512_2048cnn_2xhighway)
 * with random weights, its matmul shapes, and the BLIS sgemm baseline. */
#ifndef CLI_BENCH_ELMO_H
#define CLI_BENCH_ELMO_H

#include <stddef.h>

/* One matmul C[m,n] = A[m,k] B[k,n] of the forward pass and how often it runs. */
typedef struct elmo_gemm {
    size_t m, n, k, count;
} elmo_gemm;

#define ELMO_BENCH_MAX_GEMMS 32

/* The matmuls of one forward pass over @p batch sentences of @p words words
 * (boundaries added), as the library runs them; returns how many (at most
 * ELMO_BENCH_MAX_GEMMS). */
size_t cli_bench_elmo_gemms(size_t batch, size_t words, elmo_gemm *out);

/* 2 m n k summed over @p g. */
double cli_bench_elmo_flops(const elmo_gemm *g, size_t n);

/* GFLOP/s of plain bli_sgemm on the same shapes at @p threads threads, each
 * shape on the faster of BLIS's sup and packed paths (median of @p samples
 * calls after a warm-up); < 0 without BLIS or memory. */
double cli_bench_elmo_sgemm_gflops(const elmo_gemm *g, size_t n, int threads, int samples);

/* Whether the bench arguments ask for it (--elmo before any "--"). */
int cli_bench_elmo_wanted(int argc, char **argv);

/* contextembed bench --elmo [--threads N] [--runs R] [--backend NAME] */
int cli_cmd_bench_elmo(int argc, char **argv);

#endif

/* contextembed bench for decoder models (GPT-2): prompt and per-token decode
 * timings, and the memory-bandwidth bound they are compared with. */
#ifndef CLI_BENCH_GPT2_H
#define CLI_BENCH_GPT2_H

#include <stddef.h>

/* Whether the bench arguments ask for the decoder benchmark (--gpt2 or --decode). */
int cli_bench_gpt2_wanted(int argc, char **argv);

/* contextembed bench --gpt2 | -m MODEL --decode ... */
int cli_cmd_bench_gpt2(int argc, char **argv);

/* Copy bandwidth of this machine in GB/s: memcpy of a @p bytes buffer split
 * among @p threads threads (plain pthreads), best of @p reps passes, counting
 * bytes read plus bytes written as STREAM's "copy" does. < 0 when out of
 * memory or a thread cannot start. */
double cli_bench_copy_gbps(size_t bytes, int threads, int reps);

#endif

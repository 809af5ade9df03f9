/* contextembed bench --profile: where a session's time goes, kernel by kernel. */
#ifndef CLI_BENCH_PROFILE_H
#define CLI_BENCH_PROFILE_H

#include <contextembed/contextembed.h>

/* Time every kernel the session calls from now on; an exit code. */
int cli_bench_profile_start(ce_session *s);

/* Print one JSON line {"profile": PHASE, "runs": R, "total_ms": T, "ops": [...]}
 * with the time per run of each kind of kernel (linear layers by shape),
 * largest first, and start counting again. */
void cli_bench_profile_write(ce_session *s, const char *phase, long runs);

/* Forget what was timed so far. */
void cli_bench_profile_take_discard(ce_session *s);

/* Peak resident memory of this process so far, in bytes (getrusage). */
long long cli_bench_peak_rss(void);

#endif

/* Internal: how many CPUs the process may use, and how many are free now. */
#ifndef CE_CORE_CPUS_H
#define CE_CORE_CPUS_H

#include <sched.h>

/* CPUs in the process's affinity mask (sched_getaffinity), else the online
 * count; at least 1. When libgomp binds threads to places (OMP_PROC_BIND,
 * OMP_PLACES, GOMP_CPU_AFFINITY), the CPUs of the places a team may use: the
 * mask then names only the place libgomp pinned the first thread to. At
 * most the cgroup's CPU quota (ce_cpu_quota) and OMP_THREAD_LIMIT. */
int ce_cpus_usable(void);

/* How many of @p wanted threads (>= 1) to run a computation on now: at most
 * the process's CPUs less those threads of other processes keep busy, never
 * less than 1. The busy ones: the runnable tasks of the system
 * (/proc/loadavg) less this process's own running ones; when the process may
 * use only some of the machine's CPUs (a taskset, a container's cpuset), what
 * others took of those over the last 100 ms or more (ce_cpus_others_busy).
 * Compute threads that wait on each other lose badly when one of them shares
 * its core with another program (a barrier waits for the slowest), so while
 * the machine is busy, fewer threads finish sooner. Costs a few file reads;
 * cheap beside a forward pass. */
int ce_cpus_free_for(int wanted);

/* CPUs the CPU time of the process's cgroup amounts to: the CFS quota over
 * its period, rounded up (cgroup v2's cpu.max, v1's cpu.cfs_quota_us and
 * cpu.cfs_period_us), the least of the cgroup's and its ancestors'; 0 when no
 * quota is set or none can be read. Read once per process; thread-safe. */
int ce_cpu_quota(void);
/* The same, uncached, from the files under @p root ("" for the system's):
 * <root>/proc/self/cgroup, <root>/proc/self/mountinfo and the mount points
 * it names, below <root>. */
int ce_cpu_quota_at(const char *root);

/* cpu_busy.c: what other processes took of some CPUs, from /proc/stat. */
typedef struct ce_busy_sample {
    double t;                /* seconds, any fixed origin */
    unsigned long long busy; /* the CPUs' busy time, in clock ticks */
    unsigned long long own;  /* this process's CPU time, in clock ticks */
} ce_busy_sample;
/* A sample at time @p t of the CPUs in @p cpus, from <root>/proc/stat and
 * <root>/proc/self/stat ("" for the system's); 0 when unreadable or none of
 * the CPUs is listed. */
int ce_busy_sample_at(const char *root, const cpu_set_t *cpus, double t, ce_busy_sample *s);
/* How many CPUs, on average between two samples, were busy with work not
 * this process's (at least 0); -1 when they do not make a stretch of time. */
double ce_busy_between(const ce_busy_sample *a, const ce_busy_sample *b, double ticks_per_s);
/* The same for the system's CPUs in @p cpus, over the last stretch of at
 * least 100 ms between calls; -1 until one has passed (or the set changed)
 * or when /proc cannot be read. Thread-safe. */
double ce_cpus_others_busy(const cpu_set_t *cpus);

#endif

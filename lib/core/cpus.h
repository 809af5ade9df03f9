/* Internal: how many CPUs the process may use, and how many are free now. */
#ifndef CE_CORE_CPUS_H
#define CE_CORE_CPUS_H

/* CPUs in the process's affinity mask (sched_getaffinity), else the online
 * count; at least 1. When libgomp binds threads to places (OMP_PROC_BIND,
 * OMP_PLACES, GOMP_CPU_AFFINITY), the CPUs of the places a team may use: the
 * mask then names only the place libgomp pinned the first thread to. At
 * most the cgroup's CPU quota (ce_cpu_quota) and OMP_THREAD_LIMIT. */
int ce_cpus_usable(void);

/* How many of @p wanted threads (>= 1) to run a computation on now: @p wanted
 * less the CPUs that threads of other processes are keeping busy (runnable
 * tasks of the system, /proc/loadavg, minus this process's own running ones),
 * never less than 1. Compute threads that wait on each other lose badly when
 * one of them shares its core with another program (a barrier waits for the
 * slowest), so while the machine is busy, fewer threads finish sooner. Costs a
 * few file reads; cheap beside a forward pass. */
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

#endif

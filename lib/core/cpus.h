/* Internal: how many CPUs the process may use, and how many are free now. */
#ifndef CE_CORE_CPUS_H
#define CE_CORE_CPUS_H

/* CPUs in the process's affinity mask (sched_getaffinity), else the online
 * count; at least 1. When libgomp binds threads to places (OMP_PROC_BIND,
 * OMP_PLACES, GOMP_CPU_AFFINITY), the CPUs of the places a team may use: the
 * mask then names only the place libgomp pinned the first thread to. At
 * most OMP_THREAD_LIMIT. */
int ce_cpus_usable(void);

/* How many of @p wanted threads (>= 1) to run a computation on now: @p wanted
 * less the CPUs that threads of other processes are keeping busy (runnable
 * tasks of the system, /proc/loadavg, minus this process's own running ones),
 * never less than 1. Compute threads that wait on each other lose badly when
 * one of them shares its core with another program (a barrier waits for the
 * slowest), so while the machine is busy, fewer threads finish sooner. Costs a
 * few file reads; cheap beside a forward pass. */
int ce_cpus_free_for(int wanted);

#endif

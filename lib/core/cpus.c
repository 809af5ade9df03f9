/* CPU counts from the affinity mask, OpenMP's places, the cgroup's quota
 * (cpu_quota.c) and the kernel's run queue. */
#include "core/cpus.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* CPUs of the places libgomp binds its threads to (OMP_PROC_BIND, OMP_PLACES,
 * GOMP_CPU_AFFINITY), or 0 when it binds none. Binding pins the process's
 * first thread to the first place as libgomp loads, so the affinity mask then
 * names that place's CPUs alone (one, by default), while a team still goes to
 * every place (close, spread) or to the calling thread's only (primary):
 * counted from the mask, OMP_PROC_BIND=close ran BERT-base on 1 thread of 2. */
static int bound_cpus(cpu_set_t *set)
{
#if defined(_OPENMP) && defined(CPU_COUNT)
    omp_proc_bind_t bind = omp_get_proc_bind();
    int places = omp_get_num_places();
    if (bind == omp_proc_bind_false || places <= 0)
        return 0;
    int first = 0, last = places;
    if ((int)bind == 2) { /* primary: "master" before OpenMP 5.1, headers name one or the other */
        first = omp_get_place_num();
        if (first < 0)
            return 0;
        last = first + 1;
    }
    int ids[CPU_SETSIZE];
    CPU_ZERO(set);
    for (int p = first; p < last; p++) {
        int n = omp_get_place_num_procs(p);
        if (n <= 0 || n > CPU_SETSIZE)
            continue;
        omp_get_place_proc_ids(p, ids);
        for (int i = 0; i < n; i++)
            if (ids[i] >= 0 && ids[i] < CPU_SETSIZE)
                CPU_SET(ids[i], set);
    }
    return CPU_COUNT(set);
#else
    (void)set;
    return 0;
#endif
}

/* The CPUs the process's threads may run on, into @p set: the bound places',
 * else the affinity mask; 0 when neither can be had. */
static int process_cpus(cpu_set_t *set)
{
    int bound = bound_cpus(set);
    if (bound >= 1)
        return bound;
    if (sched_getaffinity(0, sizeof *set, set) == 0) {
        int n = CPU_COUNT(set);
        if (n >= 1)
            return n;
    }
    return 0;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

static int cpus_of_process(void)
{
    cpu_set_t set;
    int n = process_cpus(&set);
    return n >= 1 ? n : online_cpus();
}

int ce_cpus_usable(void)
{
    int n = cpus_of_process(), quota = ce_cpu_quota();
    if (quota >= 1 && n > quota)
        n = quota;
#ifdef _OPENMP
    /* OMP_THREAD_LIMIT: libgomp starts no more whatever a region asks (a
     * session counting 2 then ran its halves one after the other) */
    int limit = omp_get_thread_limit();
    if (limit >= 1 && n > limit)
        n = limit;
#endif
    return n;
}

/* Runnable tasks of the whole system, from the 4th field of /proc/loadavg
 * ("running/total"); -1 when unknown. */
static int system_running(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return -1;
    double a, b, c;
    int running = -1, total;
    if (fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total) != 5)
        running = -1;
    fclose(f);
    return running;
}

/* Threads of this process in state R (running or runnable). */
static int own_running(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
        if (paren && paren[1] == ' ' && paren[2] == 'R')
            n++;
    }
    closedir(d);
    return n;
}

/* Of @p cpus CPUs, a subset of the machine's, how many others keep busy:
 * measured on those CPUs (cpu_busy.c), the system's run queue counting every
 * CPU's tasks; -1 while unknown. */
static int others_on(const cpu_set_t *set)
{
    double busy = ce_cpus_others_busy(set);
    return busy < 0 ? -1 : (int)(busy + 0.5);
}

int ce_cpus_free_for(int wanted)
{
    if (wanted <= 1)
        return 1;
    cpu_set_t set;
    int mine = process_cpus(&set), others;
    if (mine >= 1 && mine < online_cpus()) {
        others = others_on(&set);
    } else {
        int all = system_running(), own = own_running();
        others = all < 0 || own < 0 ? -1 : all - own;
        mine = mine >= 1 ? mine : online_cpus();
    }
    if (others < 0)
        return wanted;
    /* the CPUs the threads may land on less those others keep busy; not the
     * quota (wanted is within it): on a busy 64-CPU host a container's quota
     * of 2 CPUs still finds 2 idle ones */
    int free_cpus = mine - (others > 0 ? others : 0);
    if (free_cpus < 1)
        free_cpus = 1;
    return wanted < free_cpus ? wanted : free_cpus;
}

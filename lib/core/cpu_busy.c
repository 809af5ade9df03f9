/* How much of its own CPUs other processes took lately, for a process that
 * may use only some of the machine's (cpus.h).
 *
 * The system's run queue (/proc/loadavg) counts tasks on every CPU: in a
 * container pinned to 4 CPUs of a busy 64-CPU host it would count the host's
 * other work and leave every run one thread, though the container's CPUs sit
 * idle. /proc/stat keeps each CPU's busy time: the busy time of the CPUs the
 * process may use, less the process's own CPU time, over a stretch of time,
 * is what others took of them. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cpus.h"

#define WINDOW_S 0.1 /* the shortest stretch measured: /proc/stat counts in ticks of 4-10 ms */

int ce_busy_sample_at(const char *root, const cpu_set_t *cpus, double t, ce_busy_sample *s)
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/proc/stat", root);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long busy = 0;
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        int cpu;
        unsigned long long v[8] = {0};
        /* cpuN user nice system idle iowait irq softirq steal (guest is in user) */
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') /* not "cpu " */
            continue;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
            continue;
        if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, cpus))
            continue;
        busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        seen++;
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/proc/self/stat", root);
    f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *paren = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    unsigned long long utime, stime;
    /* after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime */
    if (!seen || !paren ||
        sscanf(paren + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return 0;
    s->t = t;
    s->busy = busy;
    s->own = utime + stime;
    return 1;
}

double ce_busy_between(const ce_busy_sample *a, const ce_busy_sample *b, double ticks_per_s)
{
    double dt = b->t - a->t;
    if (dt <= 0 || ticks_per_s <= 0 || b->busy < a->busy)
        return -1;
    double others = ((double)(b->busy - a->busy) - ((double)b->own - (double)a->own)) / ticks_per_s;
    return others > 0 ? others / dt : 0;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static ce_busy_sample last;
static cpu_set_t last_cpus; /* the CPUs last's busy time sums */
static int have_last;
static double last_busy = -1;

double ce_cpus_others_busy(const cpu_set_t *cpus)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = ts.tv_sec + ts.tv_nsec * 1e-9;
    long hz = sysconf(_SC_CLK_TCK);
    pthread_mutex_lock(&lock);
    int fresh = !have_last || !CPU_EQUAL(&last_cpus, cpus); /* first, or the set changed */
    ce_busy_sample now;
    /* /proc read once a stretch, not per run (its "intr" line alone is KBs) */
    if ((fresh || t - last.t >= WINDOW_S) && hz > 0 && ce_busy_sample_at("", cpus, t, &now)) {
        if (fresh) {
            last_cpus = *cpus;
            have_last = 1;
            last_busy = -1;
        } else {
            last_busy = ce_busy_between(&last, &now, (double)hz);
        }
        last = now;
    } else if (fresh) {
        last_busy = -1; /* unreadable */
    }
    double busy = last_busy;
    pthread_mutex_unlock(&lock);
    return busy;
}

/* CPU counts from the affinity mask and the kernel's run queue. */
#include "core/cpus.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int ce_cpus_usable(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1)
            return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
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

int ce_cpus_free_for(int wanted)
{
    if (wanted <= 1)
        return 1;
    int all = system_running(), own = own_running();
    if (all < 0 || own < 0)
        return wanted;
    int others = all - own;
    int free_cpus = ce_cpus_usable() - (others > 0 ? others : 0);
    if (free_cpus < 1)
        free_cpus = 1;
    return wanted < free_cpus ? wanted : free_cpus;
}

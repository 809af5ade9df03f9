/* The CPU time a process's cgroup grants it, as a count of CPUs (cpus.h).
 *
 * A container started with `docker run --cpus=1` on a 2-CPU machine has both
 * CPUs in its affinity mask but one CPU's worth of time per period: two
 * compute threads then spend their turns waiting for each other at every
 * barrier while the kernel throttles the group (BERT-base b1x128 on the
 * 2-core Xeon VM in a cgroup of 1 CPU: 1 thread 144 ms, 2 threads 183). */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpus.h"

#define PATH_CHARS 1024 /* the sscanf widths below: 1023; some 16 KB of stack at most */

/* A mount of a cgroup hierarchy: where it is and which cgroup is its root. */
typedef struct cg_mount {
    char root[PATH_CHARS], point[PATH_CHARS];
} cg_mount;

/* mountinfo's octal escapes (\040 for a space, ...) decoded in place. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Whether the comma-separated @p list holds @p word. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* <root><rel> opened for reading, or NULL. */
static FILE *open_at(const char *root, const char *rel, const char *name)
{
    char path[4 * PATH_CHARS];
    int n = snprintf(path, sizeof path, "%s%s%s", root, rel, name);
    return n > 0 && (size_t)n < sizeof path ? fopen(path, "r") : NULL;
}

/* The mount of cgroup v2 (@p v2) or of v1's cpu controller, from
 * <root>/proc/self/mountinfo: "id parent dev ROOT POINT opts... - TYPE src
 * SUPEROPTS". */
static int find_mount(const char *root, int v2, cg_mount *m)
{
    char line[3 * PATH_CHARS];
    FILE *f = open_at(root, "/proc/self/mountinfo", "");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - ");
        if (!dash)
            continue;
        char type[64], src[PATH_CHARS], opts[PATH_CHARS];
        if (sscanf(dash + 3, "%63s %1023s %1023s", type, src, opts) != 3)
            continue;
        if (v2 ? strcmp(type, "cgroup2") != 0
               : strcmp(type, "cgroup") != 0 || !has_word(opts, "cpu"))
            continue;
        if (sscanf(line, "%*s %*s %*s %1023s %1023s", m->root, m->point) != 2)
            continue;
        unescape(m->root);
        unescape(m->point);
        found = 1;
    }
    fclose(f);
    return found;
}

/* The process's cgroup in v2's hierarchy ("0::PATH") or in the v1 hierarchy
 * of the cpu controller ("ID:cpu,cpuacct:PATH"), from <root>/proc/self/cgroup. */
static int find_cgroup(const char *root, int v2, char *out, size_t size)
{
    char line[2 * PATH_CHARS];
    FILE *f = open_at(root, "/proc/self/cgroup", "");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1;
        int match =
            v2 ? strcmp(line, "0:") == 0 && *controllers == '\0' : has_word(controllers, "cpu");
        if (match && strlen(c2 + 1) < size) {
            strcpy(out, c2 + 1);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* CPUs a quota over a period makes, rounded up; 0 for none. */
static int cpus_of(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    long long n = (quota + period - 1) / period;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* The integer a v1 file of @p dir holds. */
static int read_ll(const char *dir, const char *name, long long *v)
{
    FILE *f = open_at(dir, "/", name);
    if (!f)
        return 0;
    int ok = fscanf(f, "%lld", v) == 1;
    fclose(f);
    return ok;
}

/* The limit one cgroup directory sets: v2's cpu.max ("max PERIOD" or "QUOTA
 * PERIOD"), v1's cpu.cfs_quota_us (-1 for none) and cpu.cfs_period_us. */
static int dir_limit(const char *dir, int v2)
{
    long long quota = 0, period = 0;
    if (!v2)
        return read_ll(dir, "cpu.cfs_quota_us", &quota) &&
                       read_ll(dir, "cpu.cfs_period_us", &period)
                   ? cpus_of(quota, period)
                   : 0;
    FILE *f = open_at(dir, "/", "cpu.max");
    if (!f)
        return 0;
    char q[32];
    int ok = fscanf(f, "%31s %lld", q, &period) == 2;
    fclose(f);
    if (!ok || strcmp(q, "max") == 0)
        return 0;
    return cpus_of(strtoll(q, NULL, 10), period);
}

/* The least limit of the cgroup and its ancestors up to the mount's root, in
 * one hierarchy; 0 for none. */
static int hierarchy_limit(const char *root, int v2)
{
    cg_mount m;
    char group[PATH_CHARS], dir[3 * PATH_CHARS];
    if (!find_mount(root, v2, &m) || !find_cgroup(root, v2, group, sizeof group))
        return 0;
    /* the cgroup below the mount's root (a container sees its own as "/") */
    size_t rl = strcmp(m.root, "/") == 0 ? 0 : strlen(m.root);
    const char *rel =
        strncmp(group, m.root, rl) == 0 && (group[rl] == '/' || !group[rl]) ? group + rl : "";
    int n = snprintf(dir, sizeof dir, "%s%s%s", root, m.point, rel);
    if (n < 0 || (size_t)n >= sizeof dir)
        return 0;
    size_t base = strlen(root) + strlen(m.point);
    int best = 0;
    for (;;) {
        int lim = dir_limit(dir, v2);
        if (lim > 0 && (best == 0 || lim < best))
            best = lim;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < base)
            break;
        *slash = '\0';
    }
    return best;
}

int ce_cpu_quota_at(const char *root)
{
    int v2 = hierarchy_limit(root, 1), v1 = hierarchy_limit(root, 0);
    if (v2 > 0 && v1 > 0)
        return v2 < v1 ? v2 : v1;
    return v2 > 0 ? v2 : v1;
}

static pthread_once_t quota_once = PTHREAD_ONCE_INIT;
static int quota_cpus;

static void read_quota(void)
{
    quota_cpus = ce_cpu_quota_at("");
}

int ce_cpu_quota(void)
{
    pthread_once(&quota_once, read_quota);
    return quota_cpus;
}

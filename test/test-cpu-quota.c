/* The CPUs a cgroup's CPU quota amounts to (core/cpus.h, cpu_quota.c), read
 * from made-up /proc/self and cgroup trees under a temporary directory:
 * cgroup v2 and v1 (with the cpu controller alone or beside cpuacct), limits
 * on ancestors, a container's view of its own cgroup as the mount's root,
 * escaped mount points, no quota, and unreadable or malformed files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpus.h"
#include "test-util.h"

static char root[256];

static void put(const char *rel, const char *text)
{
    ce_test_tree_put(root, rel, text);
}

static void fresh_root(void)
{
    ce_test_tree_remove(root);
    ce_test_tree_new(root, sizeof root, "ce-cpu-quota");
}

static void teardown(void)
{
    ce_test_tree_remove(root);
    root[0] = '\0';
}

#define V2_MOUNT "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
#define V1_MOUNTS                                                                                  \
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                          \
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"         \
    "33 31 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"

START_TEST(test_v2_quota_and_ancestors)
{
    fresh_root();
    put("proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" V2_MOUNT);
    put("proc/self/cgroup", "0::/app/worker\n");
    put("sys/fs/cgroup/app/worker/cpu.max", "max 100000\n");
    put("sys/fs/cgroup/app/cpu.max", "150000 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 2); /* 1.5 CPUs: 2 threads may run */
    put("sys/fs/cgroup/app/worker/cpu.max", "300000 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 2); /* the parent's is tighter */
    put("sys/fs/cgroup/app/worker/cpu.max", "50000 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 1); /* the tighter of the two */
    put("sys/fs/cgroup/app/worker/cpu.max", "max 100000\n");
    put("sys/fs/cgroup/app/cpu.max", "max 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 0);
    put("sys/fs/cgroup/cpu.max", "400000 100000\n"); /* the mount's root counts too */
    ck_assert_int_eq(ce_cpu_quota_at(root), 4);
}
END_TEST

START_TEST(test_v1_cpu_controller)
{
    fresh_root();
    put("proc/self/mountinfo", V1_MOUNTS);
    put("proc/self/cgroup", "5:cpuset:/\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 3);
    put("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 0);
    put("sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us", "100000\n");
    put("sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 1);
}
END_TEST

/* Inside a container the mount's root is the container's cgroup and
 * /proc/self/cgroup may name it in full; a hybrid system mounts v2 beside v1
 * without the cpu controller, and the tighter limit wins when both have one. */
START_TEST(test_container_view_and_hybrid)
{
    fresh_root();
    put("proc/self/mountinfo",
        "40 30 0:29 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
        "41 30 0:35 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    put("proc/self/cgroup", "3:cpu:/docker/abc\n0::/\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "200000\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 2);
    put("sys/fs/cgroup/unified/cpu.max", "100000 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 1);
    put("proc/self/cgroup", "3:cpu:/\n0::/\n"); /* a cgroup namespace: "/" */
    ck_assert_int_eq(ce_cpu_quota_at(root), 1);
}
END_TEST

START_TEST(test_escaped_mount_point)
{
    fresh_root();
    put("proc/self/mountinfo", "30 23 0:27 / /srv/my\\040cgroups rw - cgroup2 none rw\n");
    put("proc/self/cgroup", "0::/job\n");
    put("srv/my cgroups/job/cpu.max", "300000 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 3);
}
END_TEST

START_TEST(test_nothing_readable_or_malformed)
{
    fresh_root();
    ck_assert_int_eq(ce_cpu_quota_at(root), 0); /* no /proc at all */
    put("proc/self/mountinfo", V2_MOUNT);
    ck_assert_int_eq(ce_cpu_quota_at(root), 0); /* no /proc/self/cgroup */
    put("proc/self/cgroup", "garbage without colons\n0::/g\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 0); /* no cpu.max */
    static const char *bad[] = {"",           "max",         "abc 100000\n",
                                "100000 0\n", "-5 100000\n", "100000 -100000\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        put("sys/fs/cgroup/g/cpu.max", bad[i]);
        ck_assert_msg(ce_cpu_quota_at(root) == 0, "cpu.max %s", bad[i]);
    }
    put("proc/self/mountinfo", "30 23 0:27 / /sys/fs/cgroup rw - cgroup2\n"); /* cut short */
    put("sys/fs/cgroup/g/cpu.max", "100000 100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 0);
    put("proc/self/mountinfo", V1_MOUNTS); /* v1 files half there */
    put("proc/self/cgroup", "4:cpu,cpuacct:/x\n");
    put("sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_quota_us", "100000\n");
    ck_assert_int_eq(ce_cpu_quota_at(root), 0);
}
END_TEST

/* The process's own: whatever the machine's cgroups say, a count of CPUs or
 * 0, the same every time; and the thread cap never above it. */
START_TEST(test_this_process)
{
    int q = ce_cpu_quota();
    ck_assert_int_ge(q, 0);
    ck_assert_int_eq(ce_cpu_quota(), q);
    ck_assert_int_eq(ce_cpu_quota_at(""), q);
    if (q > 0)
        ck_assert_int_le(ce_cpus_usable(), q);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cpu-quota");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_v2_quota_and_ancestors);
    tcase_add_test(tc, test_v1_cpu_controller);
    tcase_add_test(tc, test_container_view_and_hybrid);
    tcase_add_test(tc, test_escaped_mount_point);
    tcase_add_test(tc, test_nothing_readable_or_malformed);
    tcase_add_test(tc, test_this_process);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}

/*
 * csvmeta.c - see csvmeta.h.
 */
#include "csvmeta.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* First line of /proc/cpuinfo starting with key, its value into out. */
static void csvmeta_cpuinfo(const char *key, char *out, size_t len)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(out, len, "unknown");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, key, strlen(key)) == 0 && colon != NULL) {
            colon += 1 + (colon[1] == ' ');
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, len, "%s", colon);
            break;
        }
    }
    fclose(f);
}

static void csvmeta_read_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");

    out[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(out, (int)len, f) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

/* "ext4 on /dev/vda mounted at /" for the file system holding dir. */
static void csvmeta_fs_of(const char *dir, char *out, size_t len)
{
    char real[PATH_MAX], dev[512], mnt[512], type[64], line[2048];
    size_t best = 0;
    FILE *f;

    snprintf(out, len, "unknown");
    if (realpath(dir, real) == NULL || (f = fopen("/proc/mounts", "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t m;
        if (sscanf(line, "%511s %511s %63s", dev, mnt, type) != 3)
            continue;
        m = strlen(mnt);
        if (strncmp(real, mnt, m) == 0 &&
            (real[m] == '/' || real[m] == '\0' || m == 1) && m >= best) {
            best = m;
            snprintf(out, len, "%s on %s mounted at %s (%s)", type, dev, mnt,
                     real);
        }
    }
    fclose(f);
}

/* The hypervisor's name from its CPUID signature ("KVMKVMKVM" is KVM;
 * an unknown signature is given as it is), or "" on bare metal or another
 * architecture. */
static void csvmeta_hypervisor(char *out, size_t len)
{
    static const char *const names[][2] = {
        {"KVMKVMKVM", "KVM"},       {"Microsoft Hv", "Hyper-V"},
        {"VMwareVMware", "VMware"}, {"XenVMMXenVMM", "Xen"},
        {"TCGTCGTCGTCG", "QEMU"},   {" lrpepyh  vr", "Parallels"},
        {"ACRNACRNACRN", "ACRN"},   {"bhyve bhyve ", "bhyve"},
    };

    out[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    char sig[13];

    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 31)))
        return;
    __cpuid(0x40000000, a, b, c, d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    sig[12] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(sig, names[i][0]) == 0) {
            snprintf(out, len, "%s", names[i][1]);
            return;
        }
    snprintf(out, len, "%s", sig);
#else
    (void)len;
#endif
}

void csvmeta_write(FILE *f, const char *lead, const char *dir,
                   const char *commit, const char *command)
{
    struct utsname u;
    char cpu[256], vendor[128], product[128], fs[PATH_MAX + 1200], date[64];
    char flags[4096], hv[16];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double ram =
        (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    time_t now = time(NULL);

    uname(&u);
    csvmeta_cpuinfo("model name", cpu, sizeof(cpu));
    csvmeta_cpuinfo("flags", flags, sizeof(flags));
    csvmeta_read_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
    csvmeta_read_line("/sys/class/dmi/id/product_name", product,
                      sizeof(product));
    csvmeta_fs_of(dir != NULL ? dir : ".", fs, sizeof(fs));
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    csvmeta_hypervisor(hv, sizeof(hv));
    fprintf(f, "%smachine: %s%s%s%s%s, %.1f GiB RAM%s%s%s%s\n", lead, u.machine,
            vendor[0] ? " " : "", vendor, product[0] ? " " : "", product,
            ram / (1024.0 * 1024 * 1024),
            hv[0] || strstr(flags, " hypervisor") ? ", virtual machine" : "",
            hv[0] ? " (hypervisor " : "", hv, hv[0] ? ")" : "");
    fprintf(f, "%sCPU: %s\n", lead, cpu);
    fprintf(f, "%scores: %ld\n", lead, cores);
    fprintf(f, "%skernel: %s %s\n", lead, u.sysname, u.release);
    fprintf(f, "%sfile system: %s\n", lead, fs);
    fprintf(f, "%sdate: %s\n", lead, date);
    fprintf(f, "%scommit: %s\n", lead,
            commit != NULL && commit[0] ? commit : "unknown");
    fprintf(f, "%scommand: %s\n", lead, command != NULL ? command : "");
}

/*
 * interpose_preload.c - the constructor of build/libcrashlab-preload.so:
 * start the interposer from the area file CRASHLAB_INTERPOSE names
 * (interpose.h).  The process the area names starts tracking; any other
 * (a child that ran exec, a helper program) only has its changes under the
 * root refused.  Without the variable the object does nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interpose_int.h"

void ip_preload_start(void)
{
    const char *path = getenv("CRASHLAB_INTERPOSE");
    struct stat st;
    interpose_area *a;
    int fd;

    if (path == NULL || *path == '\0')
        return;
    /* the program's forked processes inherit the lookups */
    interpose_bind_now();
    if ((fd = ipr_openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC, 0)) < 0)
        return;
    if (ipr_fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(*a)) {
        ipr_close(fd);
        return;
    }
    a = ipr_mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                 fd, 0);
    ipr_close(fd);
    if (a == MAP_FAILED)
        return;
    if (a->magic != IP_AREA_MAGIC ||
        (size_t)st.st_size < interpose_area_size(a->trace_cap)) {
        munmap(a, (size_t)st.st_size);
        return;
    }
    int64_t none = 0, me = (int64_t)getpid();
    if (a->pid == me ||
        __atomic_compare_exchange_n(&a->pid, &none, me, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
        int rc = interpose_start(&a->cfg, &a->res, interpose_area_shared(a));
        if (rc != 0) {
            /* Untracked, the run would prove nothing: a set-up error. */
            a->res.refused = 1;
            snprintf(a->res.refused_call, sizeof(a->res.refused_call), "start");
            snprintf(a->res.refused_path, sizeof(a->res.refused_path), "%s",
                     a->cfg.shadow_path);
            snprintf(a->res.refused_why, sizeof(a->res.refused_why),
                     "the interposer could not start: %s", strerror(rc));
            _exit(2);
        }
    } else
        ip_start_foreign(&a->cfg);
}

__attribute__((constructor)) static void ip_preload_ctor(void)
{
    ip_preload_start();
}

/*
 * interpose_spawn.c - start a program under the preload object
 * (interpose.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "interpose.h"

int interpose_spawn(const interpose_spawn_opts *o, pid_t *pid)
{
    pid_t p;

    if (o->preload == NULL || o->area_path == NULL || o->area == NULL ||
        o->argv == NULL || o->argv[0] == NULL)
        return EINVAL;
    p = fork();
    if (p < 0)
        return errno;
    if (p == 0) {
        o->area->pid = (int64_t)getpid();
        if (o->fd3 >= 0 && o->fd3 != 3) {
            if (dup2(o->fd3, 3) < 0)
                _exit(127);
            close(o->fd3);
        }
        if (o->out_fd >= 0 &&
            (dup2(o->out_fd, 1) < 0 || dup2(o->out_fd, 2) < 0))
            _exit(127);
        if (setenv("LD_PRELOAD", o->preload, 1) != 0 ||
            setenv("CRASHLAB_INTERPOSE", o->area_path, 1) != 0)
            _exit(127);
        execvp(o->argv[0], o->argv);
        _exit(127);
    }
    *pid = p;
    return 0;
}

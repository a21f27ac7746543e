/*
 * interpose_spawn.c - start a program under the preload object
 * (interpose.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
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
        if (o->new_group &&
            (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0))
            _exit(127);
        /* Standard output and error first: out_fd may be descriptor 3,
         * which the pipe then takes over (the other order sent the
         * program's messages down its fd 3). */
        if (o->out_fd >= 0 &&
            (dup2(o->out_fd, 1) < 0 || dup2(o->out_fd, 2) < 0))
            _exit(127);
        if (o->fd3 >= 0 && o->fd3 != 3) {
            if (dup2(o->fd3, 3) < 0)
                _exit(127);
            close(o->fd3);
        } else if (o->fd3 == 3 && fcntl(3, F_SETFD, 0) != 0) {
            _exit(127); /* already there: only its close-on-exec goes */
        }
        if (setenv("LD_PRELOAD", o->preload, 1) != 0 ||
            setenv("CRASHLAB_INTERPOSE", o->area_path, 1) != 0)
            _exit(127);
        execvp(o->argv[0], o->argv);
        _exit(127);
    }
    /* The parent sets the group too, so that a kill of the group right
     * after this returns cannot miss a child that has not run yet. */
    if (o->new_group)
        (void)setpgid(p, p);
    *pid = p;
    return 0;
}

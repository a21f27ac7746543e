/*
 * trial_fault.c - the error modes: one I/O call of the writer fails, the
 * workload goes on as far as the engine lets it, then a crash.
 *
 * Which call fails.  eio, enospc and short-write fail, through libfiu, the
 * n-th evaluation of one engine/io/<call> point by the writer's thread
 * (fiu_ctl.h), n drawn uniformly over the evaluations of the eligible
 * points that the profile's counting run recorded.  That run is made with
 * a shadow log and a graveyard, exactly as an error trial's writer runs:
 * crashio's own bookkeeping goes through the same table (reading the old
 * bytes of a write, moving an unlinked file into the graveyard), so only
 * under the same configuration does the n-th evaluation land on the same
 * call.  A failure there (of a bookkeeping read, say) fails the engine's
 * call that caused it, with no effect, which is what the engine sees of
 * any failed call.  fsync-fail is driven by crashio instead (fail_at with
 * fsync_loses_data): its point numbers and kinds are in the profile's
 * trace, so the trial picks among the run's syncs directly, and crashio is
 * the layer that writes the shadow log, so the failure and the record of
 * which writes it loses are made at one place, under one lock.  It needs
 * no libfiu and runs in every build.  So does write-fail, which crashio
 * drives the same way: one pwrite or ftruncate of the run fails with
 * ENOSPC (three times in four) or EIO, with no effect.
 *
 * What follows.  The writer is killed at an I/O point drawn after the
 * fault's, or after its last transaction; half the libfiu and write-fail
 * trials and every fsync-fail trial then get a power-cut image (in which, for
 * fsync-fail, the writes the failed sync covered never reach the disk:
 * powerloss.c M2).
 *
 * What is expected (checked here, by the writer and by the verifier):
 *   - the error reaches the workload: the commit (or checkpoint, or open)
 *     that met it returns an error, and is not acknowledged;
 *   - if the engine then takes more writes (a full disk on a log append),
 *     the failed transaction was not committed: the oracle's model skips
 *     it, so a partial record that became visible is a violation;
 *   - if it refuses them, the workload stops there (the failed commit may
 *     or may not have happened: it is the last issued);
 *   - after a failed sync (fsync, fdatasync, directory sync) no commit is
 *     acknowledged any more (error-handling violation);
 *   - what the workload was promised survives, after a kill or a power
 *     cut alike (oracle.h): a sync call that failed promises nothing, and
 *     a commit whose own sync failed never returned 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "trial_int.h"

/* The libfiu points each libfiu mode may fail. */
static int trial_fault_eligible(trial_mode m, int p)
{
    switch (m) {
    case MODE_EIO:
        return p != FIUCTL_PWRITE_SHORT;
    case MODE_ENOSPC: /* the calls that can find a device full */
        return p == FIUCTL_PWRITE || p == FIUCTL_FTRUNCATE ||
               p == FIUCTL_FSYNC || p == FIUCTL_FDATASYNC || p == FIUCTL_MKDIR;
    case MODE_SHORT_WRITE:
        return p == FIUCTL_PWRITE_SHORT;
    default:
        return 0;
    }
}

static int trial_kind_is_write(int kind)
{
    return kind == CRASHIO_PWRITE || kind == CRASHIO_FTRUNCATE;
}

/* The modes whose fault crashio injects (fail_at) rather than libfiu. */
static int trial_fault_by_crashio(trial_mode m)
{
    return m == MODE_FSYNC_FAIL || m == MODE_WRITE_FAIL;
}

void trial_fault_pick(const trial_profile *p, trial_mode m, rng *r,
                      plimg_model persist, uint32_t sector, trial_spec *s)
{
    uint64_t after = 0, n = 0, pick;

    s->fault_point = -1;
    s->action = CRASHIO_KILL;
    if (trial_fault_by_crashio(m)) {
        int (*eligible)(int) =
            m == MODE_FSYNC_FAIL ? crashio_kind_is_sync : trial_kind_is_write;
        for (uint64_t k = 1; k <= p->points; k++)
            n += eligible(p->kinds[k - 1]);
        if (n > 0) {
            pick = rng_below(r, n);
            for (uint64_t k = 1; k <= p->points; k++)
                if (eligible(p->kinds[k - 1]) && pick-- == 0) {
                    s->fail_at = k;
                    break;
                }
            after = s->fail_at;
        }
        s->fault_errno = EIO;
        s->powerloss = 1;
        if (m == MODE_WRITE_FAIL) {
            /* a full disk three times in four, else EIO; then a kill or a
             * power cut */
            s->fault_errno = rng_below(r, 4) != 0 ? ENOSPC : EIO;
            s->powerloss = (int)rng_below(r, 2);
        }
    } else {
        uint64_t seen[FIUCTL_POINTS] = {0};
        for (uint64_t i = 0; i < p->nevals; i++)
            n += trial_fault_eligible(m, p->evals[i].point);
        if (n > 0) {
            pick = rng_below(r, n);
            for (uint64_t i = 0; i < p->nevals; i++) {
                int pt = p->evals[i].point;
                seen[pt]++;
                if (trial_fault_eligible(m, pt) && pick-- == 0) {
                    s->fault_point = pt;
                    s->fault_nth = seen[pt];
                    s->fault_clock = p->evals[i].clock;
                    break;
                }
            }
            s->fault_errno = m == MODE_EIO ? EIO : ENOSPC;
            after = s->fault_clock;
        }
        s->powerloss = (int)rng_below(r, 2);
    }
    s->crash_point = rng_range(r, after + 1, p->points + 1);
    if (s->powerloss) {
        s->pl.model = persist;
        s->pl.sector = sector;
        s->pl.seed = rng_next(r);
    }
}

/* Which sync call of the counting run s's fail_at is (1 for the first). */
static uint64_t trial_fault_sync_nth(const trial_spec *s)
{
    uint64_t n = 0;

    for (uint64_t k = 1; k <= s->fail_at && k <= s->prof->points; k++)
        n += crashio_kind_is_sync(s->prof->kinds[k - 1]);
    return n;
}

void trial_fault_config(const trial_spec *s, const trial_paths *p, int racing,
                        crashio_config *cc)
{
    cc->shadow_path = p->shadow;
    cc->graveyard_dir = p->grave;
    if (trial_fault_by_crashio(s->mode) && s->fail_at != 0) {
        cc->fail_at = s->fail_at;
        cc->fail_errno = s->fault_errno;
        cc->fsync_loses_data = s->mode == MODE_FSYNC_FAIL;
    }
    if (racing && s->mode == MODE_FSYNC_FAIL && s->fail_at != 0) {
        cc->fail_at = 0;
        cc->fail_sync = trial_fault_sync_nth(s);
    }
}

int trial_fault_arm(trial_env *env, const trial_spec *s,
                    const crashio_config *cc)
{
    if (trial_fault_by_crashio(s->mode) || s->fault_point < 0)
        return 0;
    return fiuctl_fail_nth(s->seed, s->fault_point, s->fault_nth,
                           s->fault_errno, env->shm->fiu, &cc->shared->points);
}

int trial_fault_fired(const trial_env *env, const trial_spec *s)
{
    if (trial_fault_by_crashio(s->mode))
        return atomic_load(&env->shm->cio->failed_point) != 0;
    return atomic_load(&env->shm->fiu->fired) != 0;
}

/* Is s's fault a failed sync, after which nothing may be acknowledged? */
static int trial_fault_is_sync(const trial_spec *s)
{
    if (s->mode == MODE_FSYNC_FAIL)
        return 1;
    return s->fault_point == FIUCTL_FSYNC ||
           s->fault_point == FIUCTL_FDATASYNC ||
           s->fault_point == FIUCTL_DIRSYNC;
}

int trial_fault_on_error(trial_env *env, const trial_spec *s, void *h,
                         uint32_t i, int where, int rc)
{
    trial_progress *pg = env->shm->prog;

    /* One fault per trial: an error before it fired, or a second one,
     * is the target failing on a healthy disk. */
    if (!trial_fault_fired(env, s) || pg->err_where != 0)
        return -1;
    pg->err_where = where;
    pg->err_rc = rc;
    pg->err_txn = where == TRIAL_ERR_OPEN ? 0 : i + 1;
    if (where == TRIAL_ERR_OPEN || where == TRIAL_ERR_CLOSE ||
        env->target->fatal(h) != 0) {
        pg->err_fatal = 1;
        return 1;
    }
    if (where == TRIAL_ERR_COMMIT)
        pg->skipped = i + 1;
    return 0;
}

void trial_fault_on_ack(trial_env *env, const trial_spec *s, uint32_t i,
                        int synced, int fired_before)
{
    trial_progress *pg = env->shm->prog;

    /* A target that goes on after a failed sync owes the error only to
     * the call that met it. */
    if (env->target->sync_error_goes_on && fired_before)
        return;
    if (synced && !env->target->sync_error_goes_on)
        return;

    /* A libfiu fault fires only in the writer's own thread, so it was
     * returned to the engine before this commit returned.  crashio's
     * fail_at may be met by the periodic sync thread while a commit runs
     * (and such a commit promised nothing), or by the target's own
     * threads (a background flush), which tell the writer's commits of
     * the failure only once they have recorded it: no check there; the
     * power cut that follows still judges what was acknowledged. */
    if (pg->ack_after != 0 || !trial_fault_is_sync(s) ||
        !trial_fault_fired(env, s) ||
        (s->mode == MODE_FSYNC_FAIL && (!trial_eng_repeats(&s->prof->eng) ||
                                        target_is_background(env->target))))
        return;
    pg->ack_after = i + 1;
}

/* "EIO", "ENOSPC", or the engine's text. */
static const char *trial_errname(int rc)
{
    switch (rc) {
    case EIO:
        return "EIO";
    case ENOSPC:
        return "ENOSPC";
    case EDQUOT:
        return "EDQUOT";
    }
    return cl_strerror(rc);
}

void trial_fault_describe(const trial_env *env, const trial_spec *s, char *out,
                          size_t len)
{
    const trial_progress *pg = env->shm->prog;
    const trial_profile *pr = s->prof;
    size_t n;

    if (s->mode == MODE_FSYNC_FAIL && s->fail_at != 0 &&
        target_is_background(env->target))
        /* Threads move the point numbers: the n-th sync call failed,
         * wherever it came in this run. */
        snprintf(out, len,
                 "fault: sync call %llu of the run (point %llu) failed with "
                 "EIO, losing what it covered",
                 (unsigned long long)trial_fault_sync_nth(s),
                 (unsigned long long)atomic_load(&env->shm->cio->failed_point));
    else if (s->mode == MODE_FSYNC_FAIL && s->fail_at != 0)
        snprintf(out, len, "fault: %s at point %llu failed with EIO, %s",
                 crashio_kind_name(pr->kinds[s->fail_at - 1]),
                 (unsigned long long)s->fail_at,
                 pr->kinds[s->fail_at - 1] == CRASHIO_DIRSYNC
                     ? "the directory's entries staying unsynced"
                     : "losing the file's unsynced writes");
    else if (s->mode == MODE_WRITE_FAIL && s->fail_at != 0)
        snprintf(out, len, "fault: %s at point %llu failed with %s, no effect",
                 crashio_kind_name(pr->kinds[s->fail_at - 1]),
                 (unsigned long long)s->fail_at, trial_errname(s->fault_errno));
    else if (s->fault_point >= 0)
        snprintf(out, len, "fault: %s call %llu failed with %s%s",
                 fiuctl_point_short(s->fault_point),
                 (unsigned long long)s->fault_nth,
                 trial_errname(s->fault_errno),
                 s->fault_point == FIUCTL_PWRITE_SHORT ? " after half its bytes"
                                                       : "");
    else
        snprintf(out, len, "fault: none (the workload makes no such call)");
    n = strlen(out);
    if (s->fault_point < 0 && s->fail_at == 0)
        return;
    if (!trial_fault_fired(env, s)) {
        snprintf(out + n, len - n, ", not reached");
        return;
    }
    if (pg->err_where == TRIAL_ERR_OPEN)
        snprintf(out + n, len - n, "; the open returned %s",
                 trial_errname(pg->err_rc));
    else if (pg->err_where != 0)
        snprintf(out + n, len - n, "; %s%u returned %s, %s",
                 pg->err_where == TRIAL_ERR_COMMIT ? "commit of transaction "
                 : pg->err_where == TRIAL_ERR_SYNC ? "sync after transaction "
                 : pg->err_where == TRIAL_ERR_CLOSE
                     ? "close after transaction "
                     : "checkpoint after transaction ",
                 pg->err_txn - 1, trial_errname(pg->err_rc),
                 pg->err_where == TRIAL_ERR_CLOSE ? "the handle closed"
                 : pg->err_fatal                  ? "then writes were refused"
                                 : "the engine went on without it");
    else
        snprintf(out + n, len - n, "; no error reached the workload");
    n = strlen(out);
    if (pg->ack_after != 0)
        snprintf(out + n, len - n, "; transaction %u acknowledged after it",
                 pg->ack_after - 1);
}

size_t trial_fault_then(const trial_env *env, const trial_spec *s, char *out,
                        size_t len)
{
    size_t n;

    if (!trial_mode_is_error(s->mode))
        return 0;
    trial_fault_describe(env, s, out, len);
    n = strlen(out);
    snprintf(out + n, len - n, "; then ");
    return strlen(out);
}

void trial_fault_judge(const trial_env *env, const trial_spec *s,
                       trial_result *res)
{
    const trial_progress *pg = env->shm->prog;

    (void)s;
    if (res->verdict != ORACLE_OK || pg->ack_after == 0)
        return;
    res->verdict = ORACLE_ERROR_HANDLING;
    if (env->target->sync_error_goes_on)
        snprintf(res->detail, sizeof(res->detail),
                 "the commit of transaction %u, or the sync call after it, "
                 "returned 0 though a sync it made had failed",
                 pg->ack_after - 1);
    else
        snprintf(res->detail, sizeof(res->detail),
                 "transaction %u was acknowledged after a failed sync had "
                 "been returned to the engine (it must refuse writes until "
                 "reopened)",
                 pg->ack_after - 1);
}

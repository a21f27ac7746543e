/*
 * trial_repair.c - the second stage of a trial whose verifying open
 * failed: the target's own repair (LevelDB's and RocksDB's RepairDB) on a
 * copy of the crash state, the repaired database opened and read back,
 * and what it holds judged against the trial's window by the oracle.
 * The first stage's verdict (recovery: the database as the crash left it
 * is unavailable) stands whatever this finds; the outcome is reported
 * beside it (trial_result.repair, the CSV's repair column).
 */
#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "trial.h"
#include "trial_int.h"

static const char *const trial_repair_names[TRIAL_REPAIR_COUNT] = {
    "none", "ok", "lost", "no-prefix", "failed"};

const char *trial_repair_name(trial_repair r)
{
    return r < TRIAL_REPAIR_COUNT ? trial_repair_names[r] : "?";
}

int trial_repair_parse(const char *s, trial_repair *out)
{
    for (int i = 0; i < TRIAL_REPAIR_COUNT; i++)
        if (strcmp(s, trial_repair_names[i]) == 0) {
            *out = (trial_repair)i;
            return 0;
        }
    return -1;
}

/* The outcome of the oracle's kind k on the repaired state, judged from
 * no transaction promised on (trial_repair_settle compares the state's
 * transactions with the trial's promise once that is final). */
static trial_repair trial_repair_of(oracle_kind k)
{
    switch (k) {
    case ORACLE_OK:
        return TRIAL_REPAIR_OK;
    case ORACLE_CLAIMED:
        return TRIAL_REPAIR_LOST;
    default: /* atomicity, prefix */
        return TRIAL_REPAIR_NO_PREFIX;
    }
}

trial_repair trial_second_stage(const trial_env *env, const trial_spec *s,
                                const char *dir, uint32_t claimed, uint32_t hi,
                                uint32_t skip, uint32_t *k)
{
    const target_ops *t = env->target;
    cl_options o = s->prof->eng;
    oracle_prefix local;
    const oracle_prefix *pre;
    wl_params wl;
    oracle_map *m = NULL;
    trial_repair out = TRIAL_REPAIR_FAILED;
    char copy[4300], d[480];
    void *h = NULL;

    *k = 0;
    /* The kept failure artifacts are the state as the open refused it:
     * the repair rewrites its files, so it works on a copy. */
    snprintf(copy, sizeof(copy), "%s.repair", dir);
    fs_rmrf(copy);
    if (fs_copy_tree(dir, copy) != 0 || t->repair(copy) != 0)
        goto out;
    o.io = cl_io_posix();
    o.create_salt = s->prof->salt;
    if (t->open(copy, &o, &h) != 0 || (m = oracle_map_new()) == NULL ||
        t->read_all(h, m) != 0)
        goto out;
    if (trial_prefix_of(s, skip, &wl, &local, &pre) != 0)
        goto out;
    /* Any prefix up to hi will do here: what the trial promised may yet
     * be lowered (a power cut of a crashed recovery, say) after the open
     * that failed. */
    out = trial_repair_of(
        oracle_judge_claim(&wl, pre, m, 0, claimed, hi, skip, k, d, sizeof(d)));
    if (out != TRIAL_REPAIR_OK)
        *k = 0;
    if (pre == &local)
        oracle_prefix_free(&local);
out:
    oracle_map_free(m);
    if (h != NULL)
        t->close(h);
    fs_rmrf(copy);
    return out;
}

void trial_repair_settle(trial_result *res)
{
    if (res->repair == TRIAL_REPAIR_OK && res->repair_k < res->durable)
        res->repair = TRIAL_REPAIR_LOST; /* repair_k says how far it got */
}

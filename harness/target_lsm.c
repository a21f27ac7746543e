/*
 * target_lsm.c - what the targets of LevelDB and RocksDB share: the
 * configuration of their writes' sync option and what each promises,
 * the Status their C APIs hand back only as text, and the backward walk
 * whose keys must strictly descend.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

static const char *const target_sync_names[] = {"true", "false", "mixed"};

int target_sync_parse(const char *name, target_sync *out)
{
    for (int i = 0;
         i < (int)(sizeof(target_sync_names) / sizeof(target_sync_names[0]));
         i++)
        if (strcmp(target_sync_names[i], name) == 0) {
            *out = (target_sync)i;
            return 0;
        }
    return -1;
}

const char *target_sync_name(target_sync s)
{
    return target_sync_names[s];
}

int target_sync_write(target_sync s, const wl_txn *t)
{
    return s == TARGET_SYNC_TRUE ||
           (s == TARGET_SYNC_MIXED && (t->sync_after || t->checkpoint_after));
}

oracle_promise target_sync_promise(target_sync s)
{
    return s == TARGET_SYNC_TRUE    ? ORACLE_PROMISE_ACK
           : s == TARGET_SYNC_FALSE ? ORACLE_PROMISE_PROCESS
                                    : ORACLE_PROMISE_PROCESS_SYNC;
}

int target_status_code(const char *status)
{
    if (status == NULL)
        return 0;
    target_detail_set(status);
    if (strncmp(status, "Corruption: ", 12) == 0)
        return CL_ECORRUPT;
    if (strncmp(status, "IO error: ", 10) == 0)
        return EIO;
    return CL_EINVAL;
}

/* Why the first error stands for the state of the database (DESIGN
 * rule 6, the "fsyncgate" lesson, kept by the libraries themselves):
 *   LevelDB  DBImpl::Write: when the sync of the log fails, "the log
 *            record we just added may or may not show up when the DB is
 *            re-opened", so it records the error as the background error
 *            and every later write returns it (MakeRoomForWrite); a
 *            failed sync of a compaction's table or manifest is recorded
 *            the same way (db/db_impl.cc, RecordBackgroundError);
 *   RocksDB  a failed sync of the WAL, or of a flush's table or
 *            manifest, goes to the ErrorHandler as a background error of
 *            hard or fatal severity, under which writes fail until
 *            Resume() or a reopen (db/error_handler.cc; the wiki's
 *            "Background Error Handling"); an I/O error that is not
 *            marked retryable is not recovered from automatically.
 * crashtest injects only failed syncs into them (fsync-fail), so any
 * error a write returned is of that kind. */
int target_refusal_note(target_refusal *f, int rc)
{
    if (rc != 0 && f->rc == 0)
        f->rc = rc;
    return rc;
}

int target_refusal_fatal(void *h)
{
    return ((const target_refusal *)h)->rc;
}

int target_keyorder_next(target_keyorder *o, const char *k, size_t kl)
{
    if (o->any) {
        size_t m = kl < o->plen ? kl : o->plen;
        int c = memcmp(k, o->prev, m);
        if (c > 0 || (c == 0 && kl >= o->plen))
            return 1;
    }
    if (kl > o->cap) {
        char *copy = realloc(o->prev, kl);
        if (copy == NULL)
            return CL_ENOMEM;
        o->prev = copy;
        o->cap = kl;
    }
    if (kl > 0)
        memcpy(o->prev, k, kl);
    o->plen = kl;
    o->any = 1;
    return 0;
}

void target_keyorder_free(target_keyorder *o)
{
    free(o->prev);
    memset(o, 0, sizeof(*o));
}

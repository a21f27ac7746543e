/*
 * mutants.c - the catalogue of planted bugs (see mutants.h).  Each entry's
 * campaigns are the modes whose damage can reach its bug, with the engine
 * settings and workload that make the bug's code run: a checkpoint
 * workload for bugs in checkpoints, sync off and a small pool for page
 * write-back between checkpoints, and so on.
 */
#include "mutants.h"

#include <stddef.h>
#include <string.h>

/* A checkpoint after every commit (each record, holding full-page images,
 * is over 4 KiB): checkpoints, and the page writes they make, are then a
 * large share of every workload's I/O points. */
#define CKPT "--checkpoint-bytes 4096"

static const mutant_info mutant_table[] = {
    {"skip-wal-fsync",
     "acknowledges a commit without syncing the log (rule 2)",
     {{"powerloss", ""}, {"recovery-crash", ""}}},
    {"ack-before-wal-write",
     "acknowledges a commit before its log record is written (rule 2)",
     {{"kill-io", ""}, {"powerloss", ""}}},
    {"page-before-wal",
     "writes a page back before the log is durable up to its LSN (rule 1)",
     {{"powerloss", "--sync off --pool-bytes 262144 --workload large-values"}}},
    {"skip-wal-crc",
     "replays log records without checking their CRC (rule R5)",
     {{"torn", ""}, {"powerloss", "--sync off"}}},
    {"skip-page-crc",
     "reads pages without checking their CRC (rule P2)",
     {{"torn", "--torn-protection none " CKPT},
      {"powerloss", "--torn-protection none " CKPT}}},
    {"drop-segments-early",
     "drops old log segments before the checkpoint's superblock is durable "
     "(rule 4)",
     {{"kill-io", CKPT}, {"powerloss", CKPT}}},
    {"no-segment-dirsync",
     "creates a log segment without syncing the directory (rule 4)",
     {{"powerloss", CKPT}}},
    {"replay-torn-record",
     "replays the page entries of a torn log record that still parse "
     "(atomicity)",
     {{"torn", "--workload txn"}, {"powerloss", "--sync off --workload txn"}}},
    {"sb-slot0-only",
     "writes every superblock in place in slot 0 (rule 5)",
     {{"torn", CKPT}}},
    {"no-tail-cut",
     "recovery leaves the torn tail in place and appends after it (rule 5)",
     {{"torn", ""}, {"powerloss", "--sync off"}}},
    {"fsync-error-ignored",
     "retries a failed log fsync and carries on (rule 6, fsyncgate)",
     {{"fsync-fail", ""}, {"eio", ""}}},
    {"no-fpw",
     "skips full-page images while fpw is claimed (rule 3)",
     {{"torn", CKPT}, {"powerloss", CKPT}}},
    {"tail-skip-bad",
     "the log reader skips an invalid record to the next valid one "
     "(rules R7/R8)",
     /* Sync off buffers the log and writes it out in large writes at
      * checkpoints (or when the buffer fills): the checkpoint workload is
      * the one that leaves unsynced records in the file for a power cut to
      * tear in the middle. */
     {{"powerloss", "--sync off --workload checkpoint"}}},
    {"enospc-advance",
     "after a full disk on a log append, the log goes on past the partial "
     "record",
     {{"enospc", ""}, {"short-write", ""}}},
    {"skip-dwb-sync",
     "writes pages in place before their doublewrite copy is synced "
     "(rule 3)",
     {{"powerloss", "--torn-protection dwb " CKPT}}},
    {"replay-ignores-lsn",
     "replay applies a page change whatever the page's LSN (rule 5)",
     {{"recovery-crash", "--sync off --pool-bytes 262144"}, {"kill-io", CKPT}},
     "replay always runs every record from the checkpoint to the end of the "
     "log, in order, and each record holds the bytes a commit changed "
     "relative to the page it found; redoing the older records over a "
     "newer page is undone by the newer ones, so the page-LSN test only "
     "saves work here"},
    {"ckpt-sb-first",
     "a checkpoint writes the superblock before flushing the pages "
     "(rule 4)",
     {{"kill-io", CKPT}, {"powerloss", CKPT}}},
    {NULL, NULL, {{NULL, NULL}}, NULL},
};

const mutant_info *mutant_all(void)
{
    return mutant_table;
}

const mutant_info *mutant_find(const char *name)
{
    for (const mutant_info *m = mutant_table; m->name != NULL; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

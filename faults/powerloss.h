/*
 * powerloss.h - build the image a power cut could have left.
 *
 * After a writer process that used crashio with a shadow log has died, its
 * database directory holds what the page cache held: every write it made.
 * plimg_apply rewrites that directory in place into one state a disk could
 * hold if the power had failed at the same moment, chosen under a named
 * device model and a seed: durable data and directory entries stay,
 * unsynced ones reach the disk or not as the model allows.  The device
 * models are specified in the comment at the top of powerloss.c.
 */
#ifndef CL_POWERLOSS_H
#define CL_POWERLOSS_H

#include <stddef.h>
#include <stdint.h>

typedef enum plimg_model {
    PLIMG_RANDOM = 0,          /* one of the next three, drawn from the seed;
                                  any-subset where a file holds an unsynced
                                  truncate and then an unsynced write into
                                  what it cut (see powerloss.c) */
    PLIMG_ANY_SUBSET,          /* each unsynced sector independently, in any
                                  order; each unsynced directory operation
                                  independently */
    PLIMG_PER_FILE_PREFIX,     /* per file, a prefix of its unsynced writes in
                                  issue order, the next one torn */
    PLIMG_ORDERED,             /* a prefix of all unsynced operations in issue
                                  order across files, the next one torn */
    PLIMG_DROP_UNSYNCED_DATA,  /* no random choice: every unsynced write
                                  and truncate is lost; directory
                                  operations all persisted */
    PLIMG_DROP_UNSYNCED_FILES, /* no random choice: everything unsynced is
                                  lost, data and directory operations
                                  (files created since the last dirsync
                                  vanish, renames and unlinks are undone) */
} plimg_model;

/* What the file system promises about directory entries and the data of
 * renamed files, beside the device model (rules in powerloss.c, sources
 * in docs/FAULTS.md). */
typedef enum plimg_fs {
    PLIMG_FS_POSIX_STRICT = 0, /* a file's data and its directory entry
                                  need their own fsyncs; rename promises
                                  nothing about the data (the default) */
    PLIMG_FS_EXT4_ORDERED,     /* ext4, data=ordered, auto_da_alloc (its
                                  defaults): E1 and E2 of powerloss.c */
} plimg_fs;

typedef struct plimg_config {
    plimg_model model; /* default (0) PLIMG_RANDOM */
    plimg_fs fs;       /* default (0) PLIMG_FS_POSIX_STRICT */
    uint32_t sector;   /* atomic unit in bytes, 512 or 4096; 0: drawn from
                          the seed */
    uint64_t seed;     /* every random choice */
    int garbage;       /* nonzero, random models only: sectors written by
                          unsynced writes that did not reach the disk hold
                          garbage instead of their durable bytes (a device
                          that scribbles).  Durable bytes that share such a
                          sector are destroyed too: the risk an engine takes
                          by appending in place to a partly synced sector */
} plimg_config;

/* What plimg_apply did: the damage summary. */
typedef struct plimg_summary {
    plimg_model model;           /* the model used (never PLIMG_RANDOM) */
    plimg_fs fs;                 /* the file-system model used */
    uint32_t sector;             /* the unit used, bytes */
    uint64_t records;            /* shadow records read */
    uint64_t torn_tail_bytes;    /* bytes of a torn last record ignored */
    uint64_t writes_unsynced;    /* writes no successful sync covered */
    uint64_t writes_lost_fsync;  /* of which lost to a failed fsync */
    uint64_t sectors_unsynced;   /* distinct sectors written by unsynced
                                    writes, in files that are in the image */
    uint64_t sectors_kept;       /* of which hold an unsynced version */
    uint64_t sectors_dropped;    /* of which hold the durable bytes (or
                                    garbage) */
    uint64_t sectors_garbage;    /* of the dropped ones, filled with garbage
                                    (those wholly past the end of the file
                                    are not) */
    uint64_t truncates_unsynced; /* truncates no sync covered, in files that
                                    are in the image */
    uint64_t truncates_undone;   /* of which did not happen in the image */
    uint64_t reorders;           /* any-subset: files whose image kept the
                                    writes made after an unsynced truncate
                                    into the range it cut, and not the
                                    truncate (see powerloss.c) */
    uint64_t meta_unsynced;      /* create/mkdir/rename/unlink no dirsync
                                    covered */
    uint64_t creates_lost;       /* files whose create did not persist */
    uint64_t mkdirs_lost;        /* directories whose mkdir did not persist */
    uint64_t renames_undone;     /* renames that did not persist */
    uint64_t unlinks_undone;     /* unlinks that did not persist (file back) */
    uint64_t meta_forced;        /* unsynced operations that had to persist
                                    because they could not be undone (no
                                    graveyard kept the file, or a mkdir of
                                    the directory itself) */
    char error[200];             /* why plimg_apply failed, when it did */
} plimg_summary;

/*
 * Rewrite dir in place into a power-cut image, from the shadow log at
 * shadow_path written while the writer ran on dir.  The state of dir when
 * the log was created counts as durable.  Every path in the log must be
 * dir, below dir, below the log's graveyard, or (for dirsync) an ancestor of
 * dir, spelled as the writer spelled them (compared after normalisation,
 * not resolved).  Graveyard files the log knows of are restored or deleted;
 * the graveyard directory itself stays.  The writer must be dead.
 *
 * Returns 0, a positive errno from the file system, CL_ECORRUPT (a damaged
 * or inconsistent shadow log), or CL_EINVAL (bad cfg, a path outside dir);
 * sum->error says why.  On failure dir may be partly rewritten.  sum may be
 * NULL.
 */
int plimg_apply(const char *dir, const char *shadow_path,
                const plimg_config *cfg, plimg_summary *sum);

/* A one-line description of sum, e.g. "any-subset/512: 12 unsynced writes
 * (0 lost to fsync), sectors 40 unsynced 17 kept 23 dropped, ..."; the
 * file-system model follows the unit when it is not posix-strict
 * ("any-subset/512/ext4-ordered: ...").  Returns what snprintf returns. */
int plimg_describe(const plimg_summary *sum, char *buf, size_t len);

/* "random", "any-subset", "per-file-prefix", "ordered",
 * "drop-unsynced-data", "drop-unsynced-files". */
const char *plimg_model_name(plimg_model m);

/* Parse a model name as printed by plimg_model_name.  Returns 0 or
 * CL_EINVAL.  OUT: *m. */
int plimg_model_parse(const char *name, plimg_model *m);

/* "posix-strict", "ext4-ordered". */
const char *plimg_fs_name(plimg_fs fs);

/* Parse a file-system model name as printed by plimg_fs_name.  Returns 0
 * or CL_EINVAL.  OUT: *fs. */
int plimg_fs_parse(const char *name, plimg_fs *fs);

#endif

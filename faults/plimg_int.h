/*
 * plimg_int.h - what the files of the power-loss image builder share
 * (powerloss.c: the device model, reading and replaying the log, the
 * decisions, plimg_apply; plimg_files.c: the bytes of each file;
 * plimg_entries.c: directory entries).  Not part of the faults API.
 */
#ifndef CL_PLIMG_INT_H
#define CL_PLIMG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "powerloss.h"
#include "shadow.h"

/* rng_stream tags: one stream per kind of decision. */
enum {
    PLIMG_TAG_MODEL = 1,
    PLIMG_TAG_SECTOR,
    PLIMG_TAG_META,
    PLIMG_TAG_PREFIX,
    PLIMG_TAG_SECTORS,
    PLIMG_TAG_TORN,
    PLIMG_TAG_GARBAGE,
    PLIMG_TAG_ORDERED,
    PLIMG_TAG_REORDER,
};

/* State of an operation. */
enum { PLIMG_PEND = 0, PLIMG_DURABLE, PLIMG_LOST };

typedef struct plimg_op {
    shadow_rec r; /* points into the reader */
    int failed;   /* a FAILED record names it: it never happened */
    int ino;      /* the inode it acts on (RENAME: the moved one), or -1 */
    int ino2;     /* RENAME: the inode it replaced, or -1 */
    int state;    /* PLIMG_PEND / DURABLE / LOST */
    int need;     /* directory ops: bit 0 parent, bit 1 target's parent:
                     dirsyncs still needed */
    int forced;   /* directory ops: must persist (M3, M4) */
    int keep;     /* decided: happened / persisted */
    int torn;     /* a write torn at sector granularity (prefix models) */
    char *parent, *parent2; /* directory ops: parent of path (and of to) */
} plimg_op;

typedef struct plimg_ino {
    int is_dir;
    int created;      /* its CREATE/MKDIR is in the log */
    int create_op;    /* that op's index, or -1 */
    const char *orig; /* pre-existing: its path when the log began */
    const char *cur;  /* where it is now, NULL if nowhere */
    const char *img;  /* where it is in the image, NULL if absent */
    int *dops;        /* its data ops (WRITE, TRUNCATE), in issue order */
    size_t ndops, capdops;
    int staged; /* moved into the staging directory */
} plimg_ino;

typedef struct plimg_name {
    const char *path; /* owned by the ctx string pool */
    int ino;          /* -1: known absent */
} plimg_name;

typedef struct plimg_ctx {
    const char *dir;   /* normalised */
    const char *grave; /* normalised graveyard, "" if none */
    plimg_config cfg;
    plimg_summary *sum;
    shadow_reader *rd;
    plimg_op *ops;
    size_t nops, capops;
    plimg_ino *inos;
    size_t ninos, capinos;
    plimg_name *names;
    size_t nnames, capnames, last_name; /* names[last_name]: the last one
                                           plimg_name_find found */
    char **pool;                        /* strings to free */
    size_t npool, cappool;
    /* the directory operations of ops[0, pend_from) that may still wait
     * for a sync of their parent (plimg_dirsync) */
    size_t *pend;
    size_t npend, cappend, pend_from;
} plimg_ctx;

/* Set sum->error from fmt and return rc. */
int plimg_fail(plimg_ctx *x, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 if normalised path p is a, or below a. */
int plimg_under(const char *p, const char *a);

/* 1 for CREATE, MKDIR, RENAME, UNLINK. */
int plimg_is_meta(shadow_type t);

/* 1 for a directory operation that happened and changed something. */
int plimg_meta_live(const plimg_op *o);

/* 1 for an unsynced data operation that the model decides about. */
int plimg_data_pending(const plimg_op *o);

/* plimg_files.c: 1 if path exists; rebuild the bytes of inode ino in place
 * at its current path under model m. */
int plimg_exists(const char *path);
int plimg_build(plimg_ctx *x, size_t ino, plimg_model m);

/* plimg_files.c: the index in n->dops of the first unsynced truncate that
 * shrank the file and that an unsynced write into the range it cut
 * follows (the any-subset reordering draw's pair), or n->ndops. */
size_t plimg_reorder_find(const plimg_ctx *x, const plimg_ino *n);

/* plimg_entries.c: complete a directory operation the writer died inside;
 * where each inode is in the image; the directory-operation counts of the
 * summary; move files to their image names. */
int plimg_roll_forward(plimg_ctx *x);
void plimg_image_names(plimg_ctx *x);
void plimg_count_meta(plimg_ctx *x);
int plimg_relocate(plimg_ctx *x);

#endif

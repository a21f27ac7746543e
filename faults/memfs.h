/*
 * memfs.h - an I/O table whose files live in the process's memory.
 *
 * The verifier loads a crash state's directory into one (memfs_load) and
 * runs the recoveries, read-backs and probes of its verification on it,
 * and the crashed recoveries and chain links that sample a state of
 * their own (memfs_copy keeps it): the same calls the engine would make
 * on the directory, without a system call or a page of the page cache
 * each.  Nothing goes back to disk unless memfs_store_at writes it
 * there: what a verification leaves is dropped with the next
 * memfs_load or memfs_reset.
 *
 * It keeps the semantics the engine relies on from a POSIX file system:
 * a removed or replaced file lives on for its open descriptors, a write
 * past the end fills the gap with zeros, an exclusive create of an
 * existing name fails, a file is created only in an existing directory,
 * and a lock is held by one descriptor at a time.  Syncs do nothing (a
 * verification is not crashed) but fail on a descriptor or directory
 * that does not exist, as the system's do.  One lock serializes the
 * calls, for the engine's threads of one handle (a checkpointer, a sync
 * thread).  The fuzz drivers run the engine's parts on one too, filled
 * with memfs_put.
 */
#ifndef MEMFS_H
#define MEMFS_H

#include <stdint.h>

#include "cl_io.h"

typedef struct memfs memfs;

/* A new, empty file system (no directory) whose files may not grow past
 * max_file bytes (EFBIG); NULL when out of memory. */
memfs *memfs_new(uint64_t max_file);
void memfs_free(memfs *m);

/* Drop every file, directory and descriptor. */
void memfs_reset(memfs *m);

/* Reset, then make dir (a directory with no subdirectories of its own)
 * and copy in every regular file of the directory dir on disk, under the
 * same path, and the directories above it that exist; a dir that does
 * not exist is not made, as the engine would find it.  0, or an errno
 * value (the file system is then empty): EFBIG when the files hold more
 * than max_bytes. */
int memfs_load(memfs *m, const char *dir, uint64_t max_bytes);

/* Make the directories above path that are directories on disk and that
 * the file system lacks (the engine then finds path's surroundings as on
 * disk).  0, or an errno value. */
int memfs_make_parents(memfs *m, const char *path);

/* Write each file the file system has directly under dir to the same
 * name under the directory dest on disk (made if missing), replacing what
 * was there, in the order of their names (as fs_copy_tree makes a copy,
 * so that the directory lists them as it lists a copy); dest's other
 * files stay.  Nothing when the file system has no directory dir.  0, or
 * the first errno value. */
int memfs_store_at(memfs *m, const char *dir, const char *dest);

/* Make dst (reset first) a copy of src: its directories and the files it
 * names, none of its descriptors.  0, or an errno value (dst is then
 * empty).  src's lock is held meanwhile, so that no thread of its engine
 * changes it halfway. */
int memfs_copy(memfs *dst, memfs *src);

/* Make path a file of len bytes from buf (replacing what it held),
 * making the directories above it as needed.  0, or an errno value. */
int memfs_put(memfs *m, const char *path, const void *buf, size_t len);

/* The bytes of the file path (*len of them), valid until the file next
 * changes; NULL when path names no file. */
const uint8_t *memfs_get(memfs *m, const char *path, size_t *len);

/* Number the descriptors the table hands out as the process's own: each
 * holds a descriptor of /dev/null, open for reading and writing, under its
 * number (closed with it), so that the process can later put a file of
 * the system's under the same number (crashio_branch does, for a branch
 * that goes on on disk) without taking one another descriptor holds.
 * Only before the first descriptor.  0, EBUSY, or an errno value. */
int memfs_real_fds(memfs *m);

/* The table to hand the engine (valid until memfs_free). */
const cl_io *memfs_table(memfs *m);

#endif

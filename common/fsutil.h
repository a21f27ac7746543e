/*
 * fsutil.h - file-tree helpers for the programs above the engine (the
 * harness, the tools, the tests and fuzz drivers), which, unlike the
 * engine, may use the file system directly: mkdir -p, rm -rf, copy a file
 * or a tree, the bytes of a tree, reopening a descriptor, and joining path
 * names.
 */
#ifndef CL_COMMON_FSUTIL_H
#define CL_COMMON_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p.  Returns 0 or an errno. */
int fs_mkdirs(const char *path);
/* rm -rf (missing is fine).  Returns 0 or an errno. */
int fs_rmrf(const char *path);
/* Copy the regular file src to dst.  Returns 0 or an errno. */
int fs_copy_file(const char *src, const char *dst);
/* Copy the tree src into dst (created; a missing src leaves dst missing):
 * directories and regular files, nothing else.  Each directory's entries
 * are made in name order (strcmp), so that the order in which readdir
 * lists a copy depends on its names (and the file system) only, never on
 * the history of the tree copied: tmpfs lists entries by when they were
 * made, and a program that acts on files in the order it lists them (as
 * LevelDB removes obsolete files) would otherwise number its I/O
 * differently in a copy and in the original.  Returns 0 or an errno. */
int fs_copy_tree(const char *src, const char *dst);
/* fs_copy_tree, but each regular file that this process does not hold
 * open is linked (a hard link, the same inode) instead of copied where the
 * file system allows it: for trees whose files nobody writes in place
 * again, such as a graveyard of removed files.  A program about to write
 * a file of such a tree, or to move one where others will, breaks the
 * sharing first (fs_unshare).  Returns 0 or an errno. */
int fs_share_tree(const char *src, const char *dst);
/* If the regular file at path has other links, make path a copy of its
 * own (a new inode, through path.unshare), so that writing it changes no
 * other name's file.  Returns 0 (also for a missing path) or an errno. */
int fs_unshare(const char *path);
/* A lazy copy of a tree: made like fs_copy_tree's, but with its regular
 * files linked to the tree's (the same inodes), for a process that goes
 * on changing the tree and wants it kept as it was now (a crash state
 * sampled while a recovery runs), and changes the tree's files in place
 * only through descriptors, each of which it hands to fs_lazy_write before
 * the change: the copy's name of that file then gets a file of its own,
 * as it was.  Names may change meanwhile (renames and removals change no
 * linked file). */
typedef struct fs_lazy fs_lazy;
/* A lazy copy keeper, or NULL when out of memory. */
fs_lazy *fs_lazy_new(void);
/* Make dst (which must not exist) the lazy copy of src; the files of an
 * earlier copy are copies of their own from now on.  Returns 0 or an
 * errno. */
int fs_lazy_take(fs_lazy *z, const char *src, const char *dst);
/* fs_lazy_take of one more tree into the same copy (the earlier ones
 * stay lazy). */
int fs_lazy_add(fs_lazy *z, const char *src, const char *dst);
/* The process is about to change the file open on fd.  tag, unless 0,
 * names that file for the caller (the same tag on the same descriptor,
 * with no fs_lazy_moved between, must be the same file): a descriptor
 * handed over with the same tag since the last fs_lazy_take or
 * fs_lazy_moved is not looked at again.  Returns 0 or an errno (the copy
 * may then no longer be as it was). */
int fs_lazy_write(fs_lazy *z, int fd, unsigned tag);
/* Names changed, or descriptors were opened again: forget the tags. */
void fs_lazy_moved(fs_lazy *z);
/* Free z (NULL is nothing); its copy stays. */
void fs_lazy_free(fs_lazy *z);
/* Make the tree at path the copy fs_copy_tree makes of it (through tmp,
 * which is removed first): its directories then list their entries as any
 * copy of it does.  Returns 0 or an errno. */
int fs_renew_tree(const char *path, const char *tmp);
/* Make the tree dst hold what the tree src holds, in place: each regular
 * file of src is written over the file of that name in dst (truncated,
 * so that a file that exists keeps its inode and the descriptors open on
 * it), a missing one or directory is made, and whatever dst holds that src
 * does not is removed.  For a process that goes on with descriptors open
 * on dst's files (and may check that a path still names the file it
 * opened).  Returns 0 or an errno. */
int fs_restore_tree(const char *dst, const char *src);
/* Total bytes of regular files in a tree. */
uint64_t fs_tree_bytes(const char *path);
/* Make descriptor fd refer to a new open of path, with the access mode,
 * the flags open(2) takes (O_APPEND, O_DIRECT, O_SYNC, O_DSYNC,
 * O_NOATIME), the close-on-exec flag and the offset it has now: the number
 * stays and the file changes (a process forked from another goes on with its
 * descriptors on copies of its files put at their paths).  Returns 0 or an
 * errno. */
int fs_reopen(int fd, const char *path);
/* Write to dst the first alen bytes of the file a, then the whole file b.
 * Returns 0 or an errno (ENODATA: a is shorter than alen). */
int fs_copy_joined(const char *a, uint64_t alen, const char *b,
                   const char *dst);
/* buf = dir "/" name.  Returns 0, or ENAMETOOLONG if it does not fit
 * (then buf holds a truncated name that must not be used). */
int fs_join(char *buf, size_t len, const char *dir, const char *name);

#endif

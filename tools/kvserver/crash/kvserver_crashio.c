/*
 * kvserver_crashio.c - the crash-testing hooks of kvserver's test-only
 * build, build/kvserver-crash (see ../crash_hooks.h and docs/KVSERVER.md,
 * "Crash testing").
 *
 * KVSERVER_CRASHIO holds space-separated name=value words:
 *   shm=FD        required: an open file descriptor of a shared-memory
 *                 file (a memfd) holding a crashio_shared area, initialised
 *                 by the parent with crashio_shared_init; kvserver maps it
 *                 and crashio reports there (I/O points, the crash point,
 *                 what a torn write did), so the parent can read it after
 *                 the server is dead;
 *   seed=N        crashio's seed (torn sectors and their garbage);
 *   crash_at=K    kill the process at I/O point K (0 or absent: never);
 *   action=kill|tear   at K: a plain SIGKILL, or tear a pwrite first;
 *   sector=512|4096    torn writes' sector;
 *   fill=old|zero|garbage|seed   what torn-away sectors hold.
 * KVSERVER_CRASHIO_SHADOW and KVSERVER_CRASHIO_GRAVEYARD name crashio's
 * shadow log and graveyard (power-cut images); they are separate
 * variables so that paths need no quoting.
 *
 * KVSERVER_BROKEN=ack-before-commit answers a write's OK before its commit
 * is durable; KVSERVER_BROKEN=skip-10th-set acknowledges every tenth SET
 * without writing it.
 *
 * Nothing here runs unless a variable is set, and crashio's table is then
 * the only difference: the server, the engine and their threads are the
 * same sources as the shipped kvserver's.
 */
#include "crash_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "crashio.h"
#include "num.h"

static crashio *kvcrash_io;
static void *kvcrash_map;
static size_t kvcrash_map_len;

/* Map the shared area of fd.  Returns 0 or -1 (err filled). */
static int kvcrash_map_shared(uint64_t fd, crashio_shared **sh, char *err,
                              size_t errlen)
{
    struct stat st;
    void *p;

    if (fd > 1024 || fstat((int)fd, &st) != 0 ||
        (size_t)st.st_size < crashio_shared_size(0)) {
        snprintf(err, errlen, "KVSERVER_CRASHIO: shm=%llu is not a shared area",
                 (unsigned long long)fd);
        return -1;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
             (int)fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "KVSERVER_CRASHIO: mmap of shm=%llu: %s",
                 (unsigned long long)fd, strerror(errno));
        return -1;
    }
    *sh = p;
    if (crashio_shared_size((*sh)->trace_cap) > (size_t)st.st_size) {
        munmap(p, (size_t)st.st_size);
        snprintf(err, errlen,
                 "KVSERVER_CRASHIO: the shared area is smaller than its "
                 "trace");
        return -1;
    }
    kvcrash_map = p;
    kvcrash_map_len = (size_t)st.st_size;
    return 0;
}

/* One word name=v of KVSERVER_CRASHIO into cc (or *shm).  Returns 0 or
 * -1 (not a known name with a valid value). */
static int kvcrash_word(const char *name, const char *v, crashio_config *cc,
                        uint64_t *shm)
{
    uint64_t n = 0;
    int num = num_parse_u64(v, 10, &n) == 0;

    if (strcmp(name, "shm") == 0 && num)
        *shm = n;
    else if (strcmp(name, "seed") == 0 && num)
        cc->seed = n;
    else if (strcmp(name, "crash_at") == 0 && num)
        cc->crash_at = n;
    else if (strcmp(name, "sector") == 0 && num && (n == 512 || n == 4096))
        cc->sector = (uint32_t)n;
    else if (strcmp(name, "action") == 0 && strcmp(v, "kill") == 0)
        cc->crash_action = CRASHIO_KILL;
    else if (strcmp(name, "action") == 0 && strcmp(v, "tear") == 0)
        cc->crash_action = CRASHIO_TEAR;
    else if (strcmp(name, "fill") == 0) {
        int f;
        for (f = CRASHIO_FILL_OLD; f <= CRASHIO_FILL_SEED; f++)
            if (strcmp(v, crashio_fill_name(f)) == 0)
                break;
        if (f > CRASHIO_FILL_SEED)
            return -1;
        cc->fill = (crashio_fill)f;
    } else {
        return -1;
    }
    return 0;
}

/* Parse the words of KVSERVER_CRASHIO into cc.  Returns 0 or -1. */
static int kvcrash_parse(char *words, crashio_config *cc, uint64_t *shm,
                         char *err, size_t errlen)
{
    char *save = NULL;

    *shm = UINT64_MAX;
    for (char *w = strtok_r(words, " ", &save); w != NULL;
         w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        if (eq != NULL)
            *eq = '\0';
        if (eq == NULL || kvcrash_word(w, eq + 1, cc, shm) != 0) {
            snprintf(err, errlen, "KVSERVER_CRASHIO: bad word '%.40s%s%.40s'",
                     w, eq ? "=" : "", eq ? eq + 1 : "");
            return -1;
        }
    }
    if (*shm == UINT64_MAX) {
        snprintf(err, errlen, "KVSERVER_CRASHIO: shm=FD is required");
        return -1;
    }
    return 0;
}

int kvcrash_setup(const char *dir, cl_options *o, srv_config *cfg, char *err,
                  size_t errlen)
{
    const char *env = getenv("KVSERVER_CRASHIO");
    const char *broken = getenv("KVSERVER_BROKEN");
    crashio_config cc;
    char *words;
    uint64_t shm;
    int rc;

    if (broken != NULL) {
        if (strcmp(broken, "ack-before-commit") == 0)
            cfg->broken = SRV_BROKEN_ACK_EARLY;
        else if (strcmp(broken, "skip-10th-set") == 0)
            cfg->broken = SRV_BROKEN_SKIP_SET;
        else {
            snprintf(err, errlen,
                     "KVSERVER_BROKEN: ack-before-commit or skip-10th-set");
            return -1;
        }
    }
    if (env == NULL)
        return 0;
    memset(&cc, 0, sizeof(cc));
    if ((words = strdup(env)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = kvcrash_parse(words, &cc, &shm, err, errlen);
    free(words);
    if (rc != 0 || kvcrash_map_shared(shm, &cc.shared, err, errlen) != 0)
        return -1;
    cc.inner = o->io != NULL ? o->io : cl_io_posix();
    cc.root = dir;
    cc.shadow_path = getenv("KVSERVER_CRASHIO_SHADOW");
    cc.graveyard_dir = getenv("KVSERVER_CRASHIO_GRAVEYARD");
    if ((rc = crashio_new(&cc, &kvcrash_io)) != 0) {
        snprintf(err, errlen, "KVSERVER_CRASHIO: crashio: %s", strerror(rc));
        kvcrash_done();
        return -1;
    }
    o->io = crashio_table(kvcrash_io);
    return 0;
}

void kvcrash_done(void)
{
    crashio_free(kvcrash_io);
    kvcrash_io = NULL;
    if (kvcrash_map != NULL)
        munmap(kvcrash_map, kvcrash_map_len);
    kvcrash_map = NULL;
}

/*
 * test_shadow.c - the shadow log: every record type round-trips, a torn
 * last record is ignored, damage before the end is corruption, and a log
 * whose writer is killed at a random moment always reads back cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "shadow.h"
#include "shadow_format.h"
#include "testutil.h"

typedef struct fx {
    char *dir;
    char log[4096];
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    f->dir = tu_tmpdir("shadow");
    snprintf(f->log, sizeof(f->log), "%s/shadow.log", f->dir);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    fs_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A write record of 10 old bytes ('o'), which old[10] holds. */
static shadow_rec write_rec(uint8_t old[10])
{
    memset(old, 'o', 10);
    return (shadow_rec){.type = SHADOW_WRITE,
                        .path = "/d/f",
                        .off = 5,
                        .len = 20,
                        .old_size = 15,
                        .old_len = 10,
                        .old_bytes = old};
}

/* Append three records (a write, a sync, a rename) and return the file
 * offsets where records 2 and 3 start and where the log ends. */
static void write_three(const char *log, int64_t ends[3])
{
    shadow_writer *w;
    uint8_t old[10];
    shadow_rec r;

    assert_int_equal(shadow_writer_open(log, "/g", &w), 0);
    r = write_rec(old);
    assert_int_equal(shadow_append(w, &r), 0);
    ends[0] = tu_file_size(log);
    r = (shadow_rec){.type = SHADOW_SYNC, .path = "/d/f", .covers = 2};
    assert_int_equal(shadow_append(w, &r), 0);
    ends[1] = tu_file_size(log);
    r = (shadow_rec){.type = SHADOW_RENAME,
                     .path = "/d/a",
                     .to = "/d/b",
                     .grave = "/g/x",
                     .to_existed = 1};
    assert_int_equal(shadow_append(w, &r), 0);
    ends[2] = tu_file_size(log);
    shadow_writer_close(w);
}

/* Read every record, the file read into a buffer (mapped 0) or its pages
 * mapped; returns how many, and the final result in *last. */
static int count_records_how(const char *log, int mapped, int *last,
                             uint64_t *torn)
{
    shadow_reader *r;
    shadow_rec rec;
    int n = 0, rc;

    assert_int_equal(mapped ? shadow_reader_open_mapped(log, &r)
                            : shadow_reader_open(log, &r),
                     0);
    while ((rc = shadow_next(r, &rec)) == SHADOW_OK) {
        assert_int_equal(rec.seq, (uint64_t)n + 1);
        n++;
    }
    *last = rc;
    if (torn)
        *torn = shadow_reader_torn_bytes(r);
    /* Once at the end or corrupt, it stays there. */
    assert_int_equal(shadow_next(r, &rec), rc);
    shadow_reader_close(r);
    return n;
}

/* count_records_how, which must find the same both ways. */
static int count_records(const char *log, int *last, uint64_t *torn)
{
    uint64_t t0 = 0, t1 = 0;
    int l1, n = count_records_how(log, 0, last, &t0);

    assert_int_equal(count_records_how(log, 1, &l1, &t1), n);
    assert_int_equal(l1, *last);
    assert_true(t0 == t1);
    if (torn)
        *torn = t0;
    return n;
}

static void test_shadow_every_type_round_trips(void **state)
{
    fx *f = *state;
    shadow_writer *w;
    shadow_reader *rd;
    shadow_rec in[10], out;
    uint8_t old[7] = "abcdefg", cut[3] = "xyz";
    int n = 0;

    in[n++] = (shadow_rec){.type = SHADOW_WRITE,
                           .point = 7,
                           .path = "/db//f/",
                           .off = 3,
                           .len = 9,
                           .old_size = 10,
                           .old_len = 7,
                           .old_bytes = old};
    in[n++] = (shadow_rec){.type = SHADOW_TRUNCATE,
                           .path = "/db/f",
                           .old_size = 12,
                           .new_size = 9,
                           .old_len = 3,
                           .old_bytes = cut};
    in[n++] = (shadow_rec){
        .type = SHADOW_SYNC, .path = "/db/f", .covers = 3, .datasync = 1};
    in[n++] = (shadow_rec){
        .type = SHADOW_FSYNC_FAILED, .path = "/db/f", .covers = 4, .err = EIO};
    in[n++] = (shadow_rec){.type = SHADOW_CREATE, .path = "/db/n"};
    in[n++] = (shadow_rec){.type = SHADOW_MKDIR, .path = "/db/sub"};
    in[n++] = (shadow_rec){.type = SHADOW_RENAME,
                           .path = "/db/n",
                           .to = "/db/m",
                           .grave = "/g/1-m",
                           .to_existed = 1};
    in[n++] = (shadow_rec){.type = SHADOW_UNLINK, .path = "/db/m"};
    in[n++] = (shadow_rec){.type = SHADOW_DIRSYNC, .path = "/db", .covers = 9};
    in[n++] = (shadow_rec){.type = SHADOW_FAILED, .ref = 8, .err = ENOENT};

    assert_int_equal(shadow_writer_open(f->log, "/g/", &w), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(shadow_next_seq(w), (uint64_t)i + 1);
        assert_int_equal(shadow_append(w, &in[i]), 0);
        assert_int_equal(in[i].seq, (uint64_t)i + 1);
    }
    shadow_writer_close(w);

    assert_int_equal(shadow_reader_open(f->log, &rd), 0);
    assert_string_equal(shadow_reader_graveyard(rd), "/g");
    for (int i = 0; i < n; i++) {
        const shadow_rec *e = &in[i];
        assert_int_equal(shadow_next(rd, &out), SHADOW_OK);
        assert_int_equal(out.type, e->type);
        assert_int_equal(out.seq, (uint64_t)i + 1);
        assert_int_equal(out.point, e->point);
        if (e->type != SHADOW_FAILED)
            assert_non_null(out.path);
        assert_int_equal(out.off, e->off);
        assert_int_equal(out.len, e->len);
        assert_int_equal(out.old_size, e->old_size);
        assert_int_equal(out.new_size, e->new_size);
        assert_int_equal(out.covers, e->covers);
        assert_int_equal(out.ref, e->ref);
        assert_int_equal(out.err, e->err);
        assert_int_equal(out.old_len, e->old_len);
        assert_int_equal(out.datasync, e->datasync);
        assert_int_equal(out.to_existed, e->to_existed);
        if (e->old_len)
            assert_memory_equal(out.old_bytes, e->old_bytes, e->old_len);
    }
    assert_int_equal(shadow_next(rd, &out), SHADOW_END);
    assert_int_equal(shadow_reader_torn_bytes(rd), 0);
    shadow_reader_close(rd);

    /* Paths come back normalised; a missing grave reads as NULL. */
    assert_int_equal(shadow_reader_open(f->log, &rd), 0);
    assert_int_equal(shadow_next(rd, &out), SHADOW_OK);
    assert_string_equal(out.path, "/db/f");
    for (int i = 1; i < 7; i++)
        assert_int_equal(shadow_next(rd, &out), SHADOW_OK);
    assert_string_equal(out.to, "/db/m");
    assert_string_equal(out.grave, "/g/1-m");
    assert_int_equal(shadow_next(rd, &out), SHADOW_OK);
    assert_null(out.grave);
    shadow_reader_close(rd);
}

static void test_shadow_writer_rejects_inconsistent_records(void **state)
{
    fx *f = *state;
    shadow_writer *w;
    uint8_t b[8] = {0};
    shadow_rec r;

    assert_int_equal(shadow_writer_open(f->log, NULL, &w), 0);
    /* old_len must be min(len, old_size - off). */
    r = (shadow_rec){.type = SHADOW_WRITE,
                     .path = "/f",
                     .off = 0,
                     .len = 8,
                     .old_size = 4,
                     .old_len = 8,
                     .old_bytes = b};
    assert_int_equal(shadow_append(&*w, &r), EINVAL);
    /* A sync cannot cover records after itself. */
    r = (shadow_rec){.type = SHADOW_SYNC, .path = "/f", .covers = 5};
    assert_int_equal(shadow_append(w, &r), EINVAL);
    /* FAILED must name an earlier record. */
    r = (shadow_rec){.type = SHADOW_FAILED, .ref = 1};
    assert_int_equal(shadow_append(w, &r), EINVAL);
    /* No path. */
    r = (shadow_rec){.type = SHADOW_CREATE};
    assert_int_equal(shadow_append(w, &r), EINVAL);
    /* Nothing was written, so the next record is still number 1. */
    assert_int_equal(shadow_next_seq(w), 1);
    shadow_writer_close(w);
}

static void test_shadow_truncated_last_record_is_ignored(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    int last;
    uint64_t torn;

    write_three(f->log, ends);
    for (int64_t cut = ends[1]; cut <= ends[2]; cut++) {
        assert_int_equal(tu_truncate(f->log, (uint64_t)cut), 0);
        int n = count_records(f->log, &last, &torn);
        assert_int_equal(last, SHADOW_END);
        assert_int_equal(n, cut == ends[2] ? 3 : 2);
        assert_int_equal(torn, cut == ends[2] ? 0 : (uint64_t)(cut - ends[1]));
        write_three(f->log, ends);
    }
}

static void test_shadow_garbled_last_record_is_ignored(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    int last;

    write_three(f->log, ends);
    /* Damage inside the last record, in its header and in its payload. */
    assert_int_equal(tu_flip_byte(f->log, (uint64_t)ends[1] + 9), 0);
    assert_int_equal(count_records(f->log, &last, NULL), 2);
    assert_int_equal(last, SHADOW_END);
    write_three(f->log, ends);
    assert_int_equal(tu_flip_byte(f->log, (uint64_t)ends[2] - 1), 0);
    assert_int_equal(count_records(f->log, &last, NULL), 2);
    assert_int_equal(last, SHADOW_END);
}

static void test_shadow_bad_record_then_more_is_corrupt(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    int last;

    write_three(f->log, ends);
    assert_int_equal(tu_flip_byte(f->log, (uint64_t)ends[0] + 40), 0);
    assert_int_equal(count_records(f->log, &last, NULL), 1);
    assert_int_equal(last, SHADOW_CORRUPT);

    /* An impossible length is corruption, not a tear. */
    write_three(f->log, ends);
    uint8_t big[4];
    put_le32(big, SHADOW_PAYLOAD_MAX + 1);
    assert_int_equal(tu_write_at(f->log, (uint64_t)ends[1] + 4, big, 4), 0);
    assert_int_equal(count_records(f->log, &last, NULL), 2);
    assert_int_equal(last, SHADOW_CORRUPT);
}

/* Rewrite the record at off with a new seq and a valid CRC. */
static void reseal_with_seq(const char *log, uint64_t off, uint64_t rec_len,
                            uint64_t seq)
{
    uint8_t salt[4], *rec = malloc(rec_len);
    uint32_t crc;

    assert_int_equal(tu_read_at(log, SHADOW_HDR_OFF_SALT, salt, 4), 0);
    assert_int_equal(tu_read_at(log, off, rec, rec_len), 0);
    put_le64(rec + SHADOW_REC_OFF_SEQ, seq);
    crc = crc32c_extend(crc32c(salt, 4), rec + 4, rec_len - 4);
    put_le32(rec, crc);
    assert_int_equal(tu_write_at(log, off, rec, rec_len), 0);
    free(rec);
}

static void test_shadow_sequence_gap_is_corrupt(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    int last;

    write_three(f->log, ends);
    reseal_with_seq(f->log, (uint64_t)ends[0], (uint64_t)(ends[1] - ends[0]),
                    5);
    assert_int_equal(count_records(f->log, &last, NULL), 1);
    assert_int_equal(last, SHADOW_CORRUPT);
    /* The reseal helper itself keeps a valid record valid. */
    write_three(f->log, ends);
    reseal_with_seq(f->log, (uint64_t)ends[0], (uint64_t)(ends[1] - ends[0]),
                    2);
    assert_int_equal(count_records(f->log, &last, NULL), 3);
    assert_int_equal(last, SHADOW_END);
}

static void test_shadow_header_cases(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    int last;
    uint64_t torn;

    /* Cut inside the header: the writer died creating the log. */
    write_three(f->log, ends);
    assert_int_equal(tu_truncate(f->log, 10), 0);
    assert_int_equal(count_records(f->log, &last, &torn), 0);
    assert_int_equal(last, SHADOW_END);
    assert_int_equal(torn, 10);
    /* A damaged complete header is corruption. */
    write_three(f->log, ends);
    assert_int_equal(tu_flip_byte(f->log, 2), 0);
    assert_int_equal(count_records(f->log, &last, NULL), 0);
    assert_int_equal(last, SHADOW_CORRUPT);
    write_three(f->log, ends);
    assert_int_equal(tu_flip_byte(f->log, SHADOW_HDR_FIXED), 0);
    assert_int_equal(count_records(f->log, &last, NULL), 0);
    assert_int_equal(last, SHADOW_CORRUPT);
    /* A missing log is an errno. */
    shadow_reader *r;
    assert_int_equal(shadow_reader_open("/nonexistent/x", &r), ENOENT);
}

static void test_shadow_survives_sigkill_mid_run(void **state)
{
    fx *f = *state;
    rng gen = {7};

    for (int round = 0; round < 20; round++) {
        pid_t pid = tu_fork();
        if (pid == 0) {
            shadow_writer *w;
            static uint8_t buf[300000];
            uint64_t i = 0;
            if (shadow_writer_open(f->log, NULL, &w) != 0)
                _exit(2);
            memset(buf, 'x', sizeof(buf));
            for (;;) {
                /* Big records make a kill inside write(2) likely. */
                size_t len = (size_t)(i * 7919 % sizeof(buf)) + 1;
                /* the old bytes of an overwrite make it big */
                shadow_rec r = {.type = SHADOW_WRITE,
                                .path = "/d/f",
                                .off = i,
                                .len = len,
                                .old_size = i + len,
                                .old_len = len,
                                .old_bytes = buf};
                if (shadow_append(w, &r) != 0)
                    _exit(3);
                i++;
            }
        }
        /* The kill is meant to land among the appends: on a loaded
         * machine the child may not even have created the log 1 ms after
         * the fork, so the clock starts once it has (at most 10 s). */
        for (int wait = 0; wait < 100000 && !tu_exists(f->log); wait++) {
            struct timespec tick = {0, 100000};
            nanosleep(&tick, NULL);
        }
        struct timespec ts = {0, (long)(1000000 + rng_below(&gen, 20000000))};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st = tu_wait(pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);

        int last;
        count_records(f->log, &last, NULL);
        assert_int_equal(last, SHADOW_END);
        shadow_reader *rd;
        shadow_rec rec;
        assert_int_equal(shadow_reader_open(f->log, &rd), 0);
        for (uint64_t i = 0; shadow_next(rd, &rec) == SHADOW_OK; i++) {
            assert_int_equal(rec.off, i);
            assert_int_equal(rec.len, i * 7919 % 300000 + 1);
            assert_int_equal(rec.old_len, rec.len);
            assert_int_equal(rec.old_bytes[rec.old_len - 1], 'x');
        }
        shadow_reader_close(rd);
    }
}

/* A writer that goes on with a dead writer's log: its records follow the
 * old ones in one sequence under the old salt, a torn last record of the
 * old writer is cut off first, and a log naming another graveyard, or a
 * corrupt one, is refused. */
static void test_shadow_continue_goes_on_in_one_sequence(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    shadow_writer *w;
    shadow_rec r = {.type = SHADOW_SYNC, .path = "/d/f", .covers = 4};
    int last;
    uint64_t torn;

    write_three(f->log, ends);
    assert_int_equal(tu_truncate(f->log, (uint64_t)ends[2] - 3), 0);
    assert_int_equal(shadow_writer_continue(f->log, "/g/", &w), 0);
    assert_int_equal(shadow_next_seq(w), 3);
    r.covers = 3;
    assert_int_equal(shadow_append(w, &r), 0);
    assert_int_equal(r.seq, 3);
    shadow_writer_close(w);
    assert_int_equal(tu_file_size(f->log), ends[1] + (ends[1] - ends[0]));
    assert_int_equal(count_records(f->log, &last, &torn), 3);
    assert_int_equal(last, SHADOW_END);
    assert_int_equal(torn, 0);

    /* and again, from a clean end */
    assert_int_equal(shadow_writer_continue(f->log, "/g", &w), 0);
    r.covers = 4;
    assert_int_equal(shadow_append(w, &r), 0);
    assert_int_equal(r.seq, 4);
    shadow_writer_close(w);
    assert_int_equal(count_records(f->log, &last, NULL), 4);
    assert_int_equal(last, SHADOW_END);

    assert_int_equal(shadow_writer_continue(f->log, "/other", &w), EINVAL);
    assert_int_equal(shadow_writer_continue(f->log, NULL, &w), EINVAL);
    write_three(f->log, ends);
    reseal_with_seq(f->log, (uint64_t)ends[0], (uint64_t)(ends[1] - ends[0]),
                    7);
    assert_int_equal(shadow_writer_continue(f->log, "/g", &w), EINVAL);

    /* a log cut inside its header holds nothing: made afresh */
    assert_int_equal(tu_truncate(f->log, 10), 0);
    assert_int_equal(shadow_writer_continue(f->log, "/g", &w), 0);
    assert_int_equal(shadow_next_seq(w), 1);
    shadow_writer_close(w);
    assert_int_equal(count_records(f->log, &last, NULL), 0);
    assert_int_equal(last, SHADOW_END);
    assert_int_equal(shadow_writer_continue("/nonexistent/log", "/g", &w),
                     ENOENT);
}

/* A held log: the records count in its length and sequence at once and
 * reach the file only when flushed, up to the length asked for; a close
 * drops what is still held. */
static void test_shadow_held_records_reach_the_file_when_flushed(void **state)
{
    fx *f = *state;
    int64_t ends[3];
    shadow_writer *w;
    uint8_t old[10];
    shadow_rec r;
    uint64_t at1, at2, at3;
    int last;

    /* the same three records as write_three, for their lengths */
    write_three(f->log, ends);
    assert_int_equal(shadow_writer_continue(f->log, "/g", &w), 0);
    assert_int_equal(shadow_writer_length(w), (uint64_t)ends[2]);
    shadow_writer_hold(w);
    r = write_rec(old);
    assert_int_equal(shadow_append(w, &r), 0);
    assert_int_equal(r.seq, 4);
    at1 = shadow_writer_length(w);
    assert_true(at1 > (uint64_t)ends[2]);
    r = (shadow_rec){.type = SHADOW_SYNC, .path = "/d/f", .covers = 4};
    assert_int_equal(shadow_append(w, &r), 0);
    at2 = shadow_writer_length(w);
    assert_int_equal(at2 - at1, (uint64_t)(ends[1] - ends[0]));
    assert_int_equal(shadow_append(w, &r), 0);
    at3 = shadow_writer_length(w);
    assert_int_equal(at3 - at2, (uint64_t)(ends[1] - ends[0]));
    assert_int_equal(shadow_next_seq(w), 7);
    /* nothing held is in the file yet */
    assert_int_equal(tu_file_size(f->log), ends[2]);

    assert_int_equal(shadow_writer_flush(w, at1), 0);
    assert_int_equal(tu_file_size(f->log), (int64_t)at1);
    assert_int_equal(count_records(f->log, &last, NULL), 4);
    assert_int_equal(last, SHADOW_END);
    assert_int_equal(shadow_writer_length(w), at3);
    assert_int_equal(shadow_writer_flush(w, at1), 0); /* nothing more */
    assert_int_equal(shadow_writer_flush(w, at2), 0);
    assert_int_equal(tu_file_size(f->log), (int64_t)at2);
    assert_int_equal(count_records(f->log, &last, NULL), 5);
    assert_int_equal(last, SHADOW_END);

    /* the sixth record is dropped with the writer */
    shadow_writer_close(w);
    assert_int_equal(tu_file_size(f->log), (int64_t)at2);
    assert_int_equal(count_records(f->log, &last, NULL), 5);

    /* flushed whole, the log reads as one written record by record */
    assert_int_equal(shadow_writer_continue(f->log, "/g", &w), 0);
    shadow_writer_hold(w);
    r.covers = 5;
    assert_int_equal(shadow_append(w, &r), 0);
    assert_int_equal(shadow_append(w, &r), 0);
    assert_int_equal(shadow_writer_flush(w, UINT64_MAX), 0);
    assert_int_equal(tu_file_size(f->log), (int64_t)shadow_writer_length(w));
    shadow_writer_close(w);
    assert_int_equal(count_records(f->log, &last, NULL), 7);
    assert_int_equal(last, SHADOW_END);
}

static void test_shadow_path_norm(void **state)
{
    static const char *cases[][2] = {
        {"/a/b", "/a/b"}, {"/a//b/", "/a/b"}, {"a/./b", "a/b"},
        {"./a", "a"},     {"/", "/"},         {"//", "/"},
        {".", "."},       {"", "."},          {"/a/../b", "/a/../b"},
        {"/a/.", "/a"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *n = shadow_path_norm(cases[i][0]);
        assert_string_equal(n, cases[i][1]);
        free(n);
    }
    char *p = shadow_path_parent("/a/b");
    assert_string_equal(p, "/a");
    free(p);
    p = shadow_path_parent("/a");
    assert_string_equal(p, "/");
    free(p);
    p = shadow_path_parent("a");
    assert_string_equal(p, ".");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shadow_every_type_round_trips,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_shadow_writer_rejects_inconsistent_records, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_shadow_truncated_last_record_is_ignored, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_shadow_garbled_last_record_is_ignored, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_shadow_bad_record_then_more_is_corrupt, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_shadow_sequence_gap_is_corrupt,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_shadow_header_cases, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_shadow_survives_sigkill_mid_run,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_shadow_continue_goes_on_in_one_sequence, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_shadow_held_records_reach_the_file_when_flushed, fx_setup,
            fx_teardown),
        cmocka_unit_test(test_shadow_path_norm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

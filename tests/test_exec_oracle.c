/*
 * test_exec_oracle.c - the --exec protocol's parsers and oracle
 * (harness/exec_oracle.c): the fd-3 lines, the verify program's lines, the
 * escapes, every malformed input refused with a reason, and the verdicts:
 * a prefix no shorter than the acknowledged one passes, a shorter one is
 * lost-acknowledged, a state after no prefix (a half-done transaction) is
 * not-a-prefix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crashlab_ack.h"
#include "exec.h"

static const char decl_text[] = "txn\t1\ta\t1\n"
                                "ack\t1\n"
                                "txn\t2\ta\t2\n"
                                "txn\t2\tb\tx\\ty\\\\z\\n\n"
                                "ack\t2\n"
                                "del\t3\ta\n"
                                "txn\t4\tc\t4\n"
                                "txn\t5\tc\t5"; /* cut short: never issued */

static ex_verdict judge(const char *out, int64_t *match)
{
    ex_decl d;
    ex_state s;
    char err[300];
    ex_verdict v;

    assert_int_equal(
        ex_decl_parse(decl_text, strlen(decl_text), &d, err, sizeof(err)), 0);
    assert_int_equal(d.ntxns, 4);
    assert_int_equal(d.acked, 2);
    assert_int_equal(ex_state_parse(out, strlen(out), &s, err, sizeof(err)), 0);
    v = ex_check(&d, &s, 1, match);
    ex_state_free(&s);
    ex_decl_free(&d);
    return v;
}

static void prefixes_from_the_acknowledged_one_pass(void **state)
{
    int64_t m;

    (void)state;
    assert_int_equal(judge("a\t2\nb\tx\\ty\\\\z\\n\n", &m), EX_OK);
    assert_int_equal(m, 2);
    assert_int_equal(judge("b\tx\\ty\\\\z\\n\n", &m), EX_OK); /* after 3 */
    assert_int_equal(m, 3);
    assert_int_equal(judge("c\t4\nb\tx\\ty\\\\z\\n", &m), EX_OK);
    assert_int_equal(m, 4);
}

static void a_shorter_prefix_is_lost_acknowledged(void **state)
{
    int64_t m;

    (void)state;
    assert_int_equal(judge("a\t1\n", &m), EX_LOST_ACK);
    assert_int_equal(m, 1);
    assert_int_equal(judge("", &m), EX_LOST_ACK);
    assert_int_equal(m, 0);
}

static void half_a_transaction_is_not_a_prefix(void **state)
{
    int64_t m;

    (void)state;
    assert_int_equal(judge("a\t2\n", &m), EX_NOT_PREFIX); /* b missing */
    assert_int_equal(m, -1);
    assert_int_equal(judge("a\t2\nb\twrong\n", &m), EX_NOT_PREFIX);
    assert_int_equal(judge("c\t5\nb\tx\\ty\\\\z\\n\n", &m), EX_NOT_PREFIX);
}

/* ackp promises a transaction against a crash of the program only: a
 * kill must keep it, a power cut may take it (an expected loss, never a
 * pass), but never what an ack promised. */
static void ackp_is_kept_by_a_kill_and_may_go_in_a_power_cut(void **state)
{
    static const char text[] = "txn\t1\ta\t1\n"
                               "ack\t1\n"
                               "txn\t2\ta\t2\n"
                               "txn\t3\ta\t3\n"
                               "ackp\t3\n"
                               "ackp\t2\n"; /* older: says nothing new */
    static const struct {
        const char *out;
        int power;
        ex_verdict v;
    } cases[] = {
        {"a\t3\n", 0, EX_OK},
        {"a\t3\n", 1, EX_OK},
        {"a\t2\n", 0, EX_LOST_ACK},
        {"a\t2\n", 1, EX_EXPECTED_LOSS},
        {"a\t1\n", 1, EX_EXPECTED_LOSS},
        {"", 1, EX_LOST_ACK},
        {"", 0, EX_LOST_ACK},
    };
    char err[300];
    ex_decl d;

    (void)state;
    assert_int_equal(ex_decl_parse(text, strlen(text), &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.acked, 1);
    assert_int_equal(d.acked_process, 3);
    assert_int_equal(ex_decl_kept(&d, 1), 1);
    assert_int_equal(ex_decl_kept(&d, 0), 3);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ex_state s;
        int64_t m;
        assert_int_equal(ex_state_parse(cases[i].out, strlen(cases[i].out), &s,
                                        err, sizeof(err)),
                         0);
        assert_int_equal(ex_check(&d, &s, cases[i].power, &m), cases[i].v);
        ex_state_free(&s);
    }
    ex_decl_free(&d);
}

static void malformed_fd3_lines_are_refused(void **state)
{
    static const char *const bad[] = {
        "txn\t1\ta\n",                  /* no value */
        "txn\tx\ta\tb\n",               /* not a number */
        "txn\t0\ta\tb\n",               /* IDs are positive */
        "put\t1\ta\tb\n",               /* unknown word */
        "txn\t2\ta\tb\ntxn\t1\ta\tb\n", /* decreasing */
        "txn\t1\ta\\q\tb\n",            /* bad escape */
        "ack\t3\n",                     /* never declared */
        "ackp\t3\n",                    /* never declared */
        "toolong\t1\n",                 /* crashlab_ack.h's overflow line */
    };
    char err[300];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ex_decl d;
        err[0] = '\0';
        assert_int_equal(
            ex_decl_parse(bad[i], strlen(bad[i]), &d, err, sizeof(err)), -1);
        assert_true(strlen(err) > 10);
        ex_decl_free(&d);
    }
}

static void malformed_verify_lines_are_refused(void **state)
{
    static const char *const bad[] = {"novalue\n", "a\tb\tc\n", "a\tb\na\tc\n",
                                      "a\t\\x\n", "\n"};
    char err[300];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ex_state s;
        err[0] = '\0';
        assert_int_equal(
            ex_state_parse(bad[i], strlen(bad[i]), &s, err, sizeof(err)), -1);
        assert_true(strlen(err) > 10);
        ex_state_free(&s);
    }
}

/* What crashlab_ack.h writes is what the parser reads. */
static void the_header_writes_what_the_parser_reads(void **state)
{
    int p[2], saved = dup(3);
    char buf[4096];
    ssize_t n;
    ex_decl d;
    char err[300];

    (void)state;
    assert_int_equal(pipe(p), 0);
    for (int i = 0; i < 2; i++) { /* clear of fd 3 */
        int hi = fcntl(p[i], F_DUPFD, 10);
        assert_true(hi >= 10);
        close(p[i]);
        p[i] = hi;
    }
    assert_int_equal(dup2(p[1], 3), 3);
    crashlab_txn(7, "k\tey", "va\\l\nue");
    crashlab_txn(7, "gone", NULL);
    crashlab_ack_process(7);
    crashlab_ack(7);
    close(3);
    if (saved >= 0)
        dup2(saved, 3);
    close(p[1]);
    n = read(p[0], buf, sizeof(buf));
    close(p[0]);
    assert_true(n > 0);
    assert_int_equal(ex_decl_parse(buf, (size_t)n, &d, err, sizeof(err)), 0);
    assert_int_equal(d.ntxns, 1);
    assert_int_equal(d.acked, 1);
    assert_int_equal(d.acked_process, 1);
    assert_int_equal(d.txns[0].nops, 2);
    assert_string_equal(d.txns[0].ops[0].key, "k\tey");
    assert_string_equal(d.txns[0].ops[0].value, "va\\l\nue");
    assert_null(d.txns[0].ops[1].value);
    ex_decl_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefixes_from_the_acknowledged_one_pass),
        cmocka_unit_test(a_shorter_prefix_is_lost_acknowledged),
        cmocka_unit_test(half_a_transaction_is_not_a_prefix),
        cmocka_unit_test(ackp_is_kept_by_a_kill_and_may_go_in_a_power_cut),
        cmocka_unit_test(malformed_fd3_lines_are_refused),
        cmocka_unit_test(malformed_verify_lines_are_refused),
        cmocka_unit_test(the_header_writes_what_the_parser_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

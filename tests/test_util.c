/*
 * test_util.c - the harness's small helpers (harness/util.c): a message
 * naming a trial's files reads the same whichever scratch directory the
 * trial ran in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util.h"

static void test_util_strip_dir_removes_every_occurrence(void **state)
{
    char s[256];

    (void)state;
    strcpy(s, "open failed: /t/w1/db/wal-3: record at 64: /t/w1/db/pages: "
              "page 5 is torn");
    util_strip_dir(s, "/t/w1/db");
    assert_string_equal(s, "open failed: wal-3: record at 64: pages: page 5 "
                           "is torn");
    strcpy(s, "/t/w1/db");
    util_strip_dir(s, "/t/w1/db");
    assert_string_equal(s, "");
    strcpy(s, "nothing to strip");
    util_strip_dir(s, "/t/w1/db");
    assert_string_equal(s, "nothing to strip");
    util_strip_dir(s, "");
    assert_string_equal(s, "nothing to strip");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_strip_dir_removes_every_occurrence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

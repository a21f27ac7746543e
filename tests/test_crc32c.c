/*
 * test_crc32c.c - CRC-32C against its check value and a bitwise reference.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "crc32c.h"
#include "testutil.h"

static void test_crc32c_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c("", 0), 0);
}

static void test_crc32c_matches_bitwise_reference(void **state)
{
    rng r = {42};
    static uint8_t buf[70000];

    (void)state;
    rng_fill(&r, buf, sizeof(buf));
    for (int i = 0; i < 200; i++) {
        size_t off = rng_below(&r, 1000), len = rng_below(&r, 69000);
        assert_int_equal(crc32c(buf + off, len), crc32c_sw(0, buf + off, len));
    }
}

static void test_crc32c_extend_is_concatenation(void **state)
{
    const char *a = "hello, ", *b = "world";

    (void)state;
    assert_int_equal(crc32c_extend(crc32c(a, strlen(a)), b, strlen(b)),
                     crc32c("hello, world", 12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_crc32c_matches_bitwise_reference),
        cmocka_unit_test(test_crc32c_extend_is_concatenation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_crc32c.c - CRC-32C against its check value and a bitwise reference,
 * and crc32c_combine against checksumming the concatenation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
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

/* combine(crc(A), crc(B), |B|) == crc(A || B) for random splits of random
 * bytes, from random starting CRCs, including empty A or B. */
static void test_crc32c_combine_is_concatenation(void **state)
{
    rng r = {7};
    static uint8_t buf[70000];

    (void)state;
    rng_fill(&r, buf, sizeof(buf));
    for (int i = 0; i < 400; i++) {
        size_t len = i < 4 ? (size_t)i : rng_below(&r, sizeof(buf) + 1);
        size_t cut = i < 4 ? 0 : rng_below(&r, len + 1);
        uint32_t c = (uint32_t)rng_next(&r);
        uint32_t a = crc32c_extend(c, buf, cut);
        uint32_t b = crc32c(buf + cut, len - cut);
        assert_int_equal(crc32c_combine(a, b, len - cut),
                         crc32c_extend(c, buf, len));
    }
}

/* Every byte position of the length has its own powers: a run of zeros
 * longer than 2^24 checks the fourth, and shifting by n1 then n2 equals
 * shifting by n1 + n2 for lengths up to 2^63 (the polynomial 1, shifted,
 * is the power itself, so this compares the powers exactly). */
static void test_crc32c_combine_long_lengths(void **state)
{
    const size_t big = ((size_t)1 << 24) + 3;
    uint8_t *zeros = calloc(1, big);
    rng r = {11};

    (void)state;
    assert_non_null(zeros);
    assert_int_equal(crc32c_combine(0x12345678u, crc32c(zeros, big), big),
                     crc32c_extend(0x12345678u, zeros, big));
    free(zeros);
    for (int i = 0; i < 2000; i++) {
        uint64_t n1 = rng_next(&r) >> (1 + rng_below(&r, 63));
        uint64_t n2 = rng_next(&r) >> (1 + rng_below(&r, 63));
        uint32_t c = i == 0 ? 0x80000000u : (uint32_t)rng_next(&r);
        assert_int_equal(crc32c_combine(crc32c_combine(c, 0, n1), 0, n2),
                         crc32c_combine(c, 0, n1 + n2));
    }
}

/* What the log reader relies on: with prefix CRCs C(i) = crc32c(buf[0, i)),
 * the CRC of buf[a, b) seeded with s is combine(s ^ C(a), C(b), b - a). */
static void test_crc32c_span_from_prefix_crcs(void **state)
{
    rng r = {13};
    static uint8_t buf[5000];

    (void)state;
    rng_fill(&r, buf, sizeof(buf));
    for (int i = 0; i < 400; i++) {
        size_t a = rng_below(&r, sizeof(buf) + 1);
        size_t b = a + rng_below(&r, sizeof(buf) - a + 1);
        uint32_t s = (uint32_t)rng_next(&r);
        assert_int_equal(
            crc32c_combine(s ^ crc32c(buf, a), crc32c(buf, b), b - a),
            crc32c_extend(s, buf + a, b - a));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_crc32c_matches_bitwise_reference),
        cmocka_unit_test(test_crc32c_extend_is_concatenation),
        cmocka_unit_test(test_crc32c_combine_is_concatenation),
        cmocka_unit_test(test_crc32c_combine_long_lengths),
        cmocka_unit_test(test_crc32c_span_from_prefix_crcs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

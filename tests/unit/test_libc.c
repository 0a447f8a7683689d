/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsqnup's own snprintf / vsnprintf / strtol / strtoul (sqn_libc.h), the
 * ones a freestanding build links instead of the C library's: same output
 * and return value as glibc for every form the library's format strings
 * use, truncation, and the parsers' end pointers, signs and overflow.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"

/* The library's functions under their own names (no macro mapping). */
int sqn_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
long sqn_strtol(const char *s, char **end, int base);
unsigned long sqn_strtoul(const char *s, char **end, int base);

#define SAME(...)                                                            \
  do {                                                                       \
    char a_[96], b_[96];                                                     \
    int x_ = sqn_snprintf(a_, sizeof a_, __VA_ARGS__);                       \
    int y_ = snprintf(b_, sizeof b_, __VA_ARGS__);                           \
    ck_assert_msg(x_ == y_ && strcmp(a_, b_) == 0,                           \
                  "%s: '%s' (%d), libc '%s' (%d)", #__VA_ARGS__, a_, x_, b_, \
                  y_);                                                       \
  } while (0)

START_TEST(test_libc_snprintf_matches_libc) {
  SAME("%s=%s", "key", "value");
  SAME("%d %d %d %d", 0, 7, -5, INT_MIN);
  SAME("%u %u", 0u, UINT_MAX);
  SAME("%llu %llu", 0ull, ULLONG_MAX);
  SAME("%lld", LLONG_MIN);
  SAME("%lu %ld", ULONG_MAX, -7L);
  SAME("%02x %02x %08X %x", 5u, 0xabu, 0xdeadbeefu, 0u);
  SAME("%5d|%-5d|%05d|%5s|%-5s|", 42, 42, -42, "ab", "ab");
  SAME("%.3s|%.*s|%.0s|", "abcdef", 2, "xyz", "abc");
  SAME("%%|%c|%zu", 'z', (size_t)99);
  SAME("no conversion at all");
}
END_TEST

START_TEST(test_libc_snprintf_truncates_and_counts) {
  char s[4];
  ck_assert_int_eq(sqn_snprintf(s, sizeof s, "%s", "abcdef"), 6);
  ck_assert_str_eq(s, "abc");
  ck_assert_int_eq(sqn_snprintf(NULL, 0, "%d", 12345), 5);
  memset(s, 'x', sizeof s);
  ck_assert_int_eq(sqn_snprintf(s, 1, "%u", 99u), 2);
  ck_assert_int_eq(s[0], 0);
}
END_TEST

START_TEST(test_libc_strtol_matches_libc) {
  static const char *const in[] = {
      "123", "-45x", " +7", "0x1f", "", "abc", "12 ", "007",
      "99999999999999999999999", "-9223372036854775808",
      "-9223372036854775809", "-18446744073709551615", "ffz", NULL};
  static const int bases[] = {0, 10, 16};
  for (int i = 0; in[i]; i++)
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
      char *e1, *e2;
      long x = sqn_strtol(in[i], &e1, bases[b]);
      long y = strtol(in[i], &e2, bases[b]);
      ck_assert_msg(x == y && e1 == e2, "strtol('%s', %d): %ld, libc %ld",
                    in[i], bases[b], x, y);
      unsigned long u = sqn_strtoul(in[i], &e1, bases[b]);
      unsigned long v = strtoul(in[i], &e2, bases[b]);
      ck_assert_msg(u == v && e1 == e2, "strtoul('%s', %d): %lu, libc %lu",
                    in[i], bases[b], u, v);
    }
}
END_TEST

int main(void) {
  Suite *s = suite_create("libc");
  TCase *tc = tcase_create("libc");
  tcase_add_test(tc, test_libc_snprintf_matches_libc);
  tcase_add_test(tc, test_libc_snprintf_truncates_and_counts);
  tcase_add_test(tc, test_libc_strtol_matches_libc);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error table: every row has a unique name and value, text, advice and
 * an exit class; 0 and codes outside the table get defined answers.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/err.h"

static const int sqn_test_errs[] = {
#define XX(name, val, exit, safe, next, text, advice) val,
    SQN_ERR_MAP(XX)
#undef XX
};
#define N_ERRS (sizeof sqn_test_errs / sizeof sqn_test_errs[0])

START_TEST(test_err_every_row_is_complete_and_unique) {
  for (size_t i = 0; i < N_ERRS; i++) {
    int e = sqn_test_errs[i];
    ck_assert_int_lt(e, 0);
    ck_assert_msg(strncmp(sqn_err_name(e), "E_", 2) == 0, "%d", e);
    ck_assert_str_ne(sqn_strerror(e), "unknown error");
    ck_assert_str_ne(sqn_err_name(e), "E_UNKNOWN");
    ck_assert_uint_gt(strlen(sqn_err_advice(e)), 0);
    ck_assert_str_ne(sqn_next_text(sqn_err_next(e)), "?");
    ck_assert_int_ne(sqn_err_exit(e), SQN_EXIT_OK);
    ck_assert_str_ne(sqn_exit_text(sqn_err_exit(e)), "?");
    for (size_t j = 0; j < i; j++) {
      ck_assert_int_ne(sqn_test_errs[j], e);
      ck_assert_str_ne(sqn_err_name(sqn_test_errs[j]), sqn_err_name(e));
    }
  }
}
END_TEST

START_TEST(test_err_zero_and_unknown_codes_have_defined_answers) {
  ck_assert_str_eq(sqn_err_name(0), "OK");
  ck_assert_str_eq(sqn_strerror(0), "success");
  ck_assert_str_eq(sqn_err_advice(0), "nothing to do");
  ck_assert_int_eq(sqn_err_next(0), SQN_NEXT_NONE);
  ck_assert_int_eq(sqn_err_exit(0), SQN_EXIT_OK);
  ck_assert(sqn_err_power_safe(0));
  ck_assert_str_eq(sqn_err_name(-99999), "E_UNKNOWN");
  ck_assert_str_eq(sqn_strerror(-99999), "unknown error");
  ck_assert_str_eq(sqn_err_advice(-99999), "report this as a bug");
  ck_assert_int_eq(sqn_err_next(-99999), SQN_NEXT_RERUN);
  ck_assert_int_eq(sqn_err_exit(-99999), SQN_EXIT_INTERNAL);
  ck_assert_str_eq(sqn_next_text((enum sqn_next)999), "?");
  ck_assert_str_eq(sqn_exit_text((enum sqn_exit)999), "?");
}
END_TEST

START_TEST(test_err_commit_timeout_is_the_one_unsafe_to_power_off) {
  ck_assert(!sqn_err_power_safe(SQN_E_COMMIT_TIMEOUT));
  ck_assert_int_eq(sqn_err_exit(SQN_E_COMMIT_TIMEOUT), SQN_EXIT_COMMIT);
  ck_assert(sqn_err_power_safe(SQN_E_MODEM_NOT_DETECTED));
  ck_assert_int_eq(sqn_err_next(SQN_E_MODEM_NOT_DETECTED), SQN_NEXT_POWER_CYCLE);
}
END_TEST

static Suite *err_suite(void) {
  Suite *s = suite_create("err");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_err_every_row_is_complete_and_unique);
  tcase_add_test(tc, test_err_zero_and_unknown_codes_have_defined_answers);
  tcase_add_test(tc, test_err_commit_timeout_is_the_one_unsafe_to_power_off);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(err_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

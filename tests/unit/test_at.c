/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AT client: replies parsed to their final result, fed whole, bytewise and
 * in random chunks.
 */
#include <check.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/at.h"

/* ---- instances and fixtures ---------------------------------------------- */

struct ctx {
  struct sqn_at_client at;
  size_t fed, consumed;  /* bytes offered / taken before the final */
  bool stopped;
  unsigned urcs[SQN_AT_URC_OTHER + 1];
  char last_urc[SQN_AT_LINE_MAX + 1];
  uint8_t rest[256];     /* bytes after the final result */
  size_t rest_len;
};

/* ---- recording callbacks ------------------------------------------------- */

static void on_urc(void *user, enum sqn_at_urc urc, const char *line) {
  struct ctx *c = user;
  c->urcs[urc]++;
  strncpy(c->last_urc, line, sizeof c->last_urc - 1);
}

static void feed_fn(void *user, const uint8_t *buf, size_t len) {
  struct ctx *c = user;
  c->fed += len;
  if (c->stopped) {
    memcpy(c->rest + c->rest_len, buf, len);
    c->rest_len += len;
    return;
  }
  size_t n = sqn_at_feed(&c->at, buf, len);
  ck_assert_uint_le(n, len);
  c->consumed += n;
  if (n < len || sqn_at_done(&c->at)) {
    c->stopped = sqn_at_done(&c->at);
    memcpy(c->rest + c->rest_len, buf + n, len - n);
    c->rest_len += len - n;
  }
}

static void run(struct ctx *c, const char *cmd, const void *bytes, size_t len,
                enum sqn_feed_mode mode, uint64_t seed) {
  memset(c, 0, sizeof *c);
  sqn_at_init(&c->at, on_urc, c);
  sqn_at_expect(&c->at, cmd);
  sqn_feed(mode, seed, bytes, len, feed_fn, c);
}

#define S(x) (x), (sizeof(x) - 1)

/* ---- tests (each in three feed modes: _i selects) ------------------------ */

START_TEST(test_at_app_reply_ok_with_value) {
  struct ctx c;
  run(&c, "AT+SMOD?", S("\r\n4\r\n\r\nOK\r\n"), (enum sqn_feed_mode)_i, 7);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert_uint_eq(c.at.n_info, 1);
  ck_assert_str_eq(c.at.info[0], "4");
  /* Consumption stops at the CR of "OK\r"; the LF is left over. */
  ck_assert_uint_eq(c.rest_len, 1);
}
END_TEST

START_TEST(test_at_bootloader_reply_ok_without_leading_crlf) {
  struct ctx c;
  run(&c, "AT+SMOD?", S("0\r\nOK\r\n"), (enum sqn_feed_mode)_i, 8);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert_str_eq(sqn_at_info(&c.at, ""), "0");
}
END_TEST

START_TEST(test_at_echo_on_skips_command_echo) {
  struct ctx c;
  run(&c, "ATI1", S("ATI1\r\r\nUE5.0.0.0c\r\nLR5.1.1.0-33988\r\n\r\nOK\r\n"),
      (enum sqn_feed_mode)_i, 9);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert(c.at.echo_seen);
  ck_assert_uint_eq(c.at.n_info, 2);
  ck_assert_str_eq(sqn_at_info(&c.at, "LR"), "LR5.1.1.0-33988");
  ck_assert_str_eq(sqn_at_info(&c.at, "UE"), "UE5.0.0.0c");
}
END_TEST

START_TEST(test_at_urc_inside_reply_set_aside) {
  struct ctx c;
  run(&c, "AT+SMSWBOOT=3,1",
      S("\r\n+CPSMS: 1,,,\"10000110\",\"00011110\"\r\n\r\nOK\r\n"),
      (enum sqn_feed_mode)_i, 10);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert_uint_eq(c.at.n_info, 0);
  ck_assert_uint_eq(c.urcs[SQN_AT_URC_CPSMS], 1);
}
END_TEST

START_TEST(test_at_sysstart_and_exit_reported_as_urcs) {
  struct ctx c;
  run(&c, "AT", S("\r\n^EXIT: exception: 7\r\n\r\n+SYSSTART\r\n\r\nOK\r\n"),
      (enum sqn_feed_mode)_i, 11);
  ck_assert_uint_eq(c.urcs[SQN_AT_URC_EXIT], 1);
  ck_assert_uint_eq(c.urcs[SQN_AT_URC_SYSSTART], 1);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
}
END_TEST

START_TEST(test_at_garbage_before_reply_ignored) {
  struct ctx c;
  run(&c, "AT", S("\xfe\xfd\x00\xfe\xfd\r\n\x00\x00\xfe\xfdOK\r\n"),
      (enum sqn_feed_mode)_i, 12);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert_uint_gt(c.at.garbage, 0);
}
END_TEST

START_TEST(test_at_garbage_inside_line_never_ok) {
  struct ctx c;
  run(&c, "AT", S("O\xfeK\r\nOK\xfd\r\n\xfe\xfd\xfe"), (enum sqn_feed_mode)_i,
      13);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_NONE);
  ck_assert(c.at.pending);
}
END_TEST

START_TEST(test_at_cme_error_carries_code) {
  struct ctx c;
  run(&c, "AT+SMSTPU", S("\r\n+CME ERROR: 4\r\n"), (enum sqn_feed_mode)_i, 14);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_CME_ERROR);
  ck_assert_int_eq(c.at.cme, 4);
}
END_TEST

START_TEST(test_at_error_reply_is_final) {
  struct ctx c;
  run(&c, "ATI1", S("\r\nERROR\r\n"), (enum sqn_feed_mode)_i, 15);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_ERROR);
}
END_TEST

START_TEST(test_at_binary_after_ok_left_to_caller) {
  struct ctx c;
  static const uint8_t in[] = "\r\nOK\r\nfast\x00\x00\x00\x00";
  run(&c, "AT+SMSTPU=\"ON_THE_FLY\"", in, sizeof in - 1,
      (enum sqn_feed_mode)_i, 16);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert_uint_eq(c.consumed, 5);
  ck_assert_mem_hex_eq(c.rest, c.rest_len, in + 5, sizeof in - 1 - 5);
}
END_TEST

START_TEST(test_at_ok_inside_text_not_final) {
  struct ctx c;
  run(&c, "AT+FSRDFILE", S("\r\nxxOKxx\r\n OK and more\r\n\r\nOK\r\n"),
      (enum sqn_feed_mode)_i, 17);
  ck_assert_int_eq(c.at.result, SQN_AT_RES_OK);
  ck_assert_uint_eq(c.at.n_info, 2);
}
END_TEST

START_TEST(test_at_unsolicited_final_not_attributed) {
  struct sqn_at_client at;
  sqn_at_init(&at, NULL, NULL);
  ck_assert_uint_eq(sqn_at_feed(&at, (const uint8_t *)"\r\nOK\r\n", 6), 6);
  ck_assert_int_eq(at.result, SQN_AT_RES_NONE);
  ck_assert_uint_eq(at.unsolicited, 1);
  sqn_at_expect(&at, "AT");
  ck_assert_uint_eq(sqn_at_feed(&at, (const uint8_t *)"\r\nERROR\r\n", 9), 8);
  ck_assert_int_eq(at.result, SQN_AT_RES_ERROR);
}
END_TEST

START_TEST(test_at_long_line_cut_and_classified) {
  struct sqn_at_client at;
  uint8_t buf[600];
  memset(buf, 'x', sizeof buf);
  sqn_at_init(&at, NULL, NULL);
  sqn_at_expect(&at, "AT");
  sqn_at_feed(&at, buf, sizeof buf);
  sqn_at_feed(&at, (const uint8_t *)"\r\nOK\r\n", 6);
  ck_assert_int_eq(at.result, SQN_AT_RES_OK);
  ck_assert_uint_eq(strlen(at.info[0]), SQN_AT_INFO_LEN - 1);
}
END_TEST

START_TEST(test_at_classify_names) {
  int urc, cme;
  ck_assert_int_eq(sqn_at_classify("OK", &urc, &cme), SQN_AT_RES_OK);
  ck_assert_int_eq(sqn_at_classify("NO CARRIER", &urc, &cme),
                   SQN_AT_RES_NO_CARRIER);
  ck_assert_int_eq(sqn_at_classify("+SHUTDOWN", &urc, &cme), SQN_AT_RES_NONE);
  ck_assert_int_eq(urc, SQN_AT_URC_SHUTDOWN);
  ck_assert_int_eq(sqn_at_classify("+SMUPGRADE: success", &urc, &cme),
                   SQN_AT_RES_NONE);
  ck_assert_int_eq(urc, -1);
  ck_assert_str_eq(sqn_at_result_name(SQN_AT_RES_CME_ERROR), "CME_ERROR");
  ck_assert_str_eq(sqn_at_urc_name(SQN_AT_URC_SYSSTART), "SYSSTART");
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static Suite *at_suite(void) {
  Suite *s = suite_create("at");
  TCase *tc = tcase_create("reply");
  /* _i = SQN_FEED_WHOLE, SQN_FEED_BYTEWISE, SQN_FEED_RANDOM */
  tcase_add_loop_test(tc, test_at_app_reply_ok_with_value, 0, 3);
  tcase_add_loop_test(tc, test_at_bootloader_reply_ok_without_leading_crlf, 0, 3);
  tcase_add_loop_test(tc, test_at_echo_on_skips_command_echo, 0, 3);
  tcase_add_loop_test(tc, test_at_urc_inside_reply_set_aside, 0, 3);
  tcase_add_loop_test(tc, test_at_sysstart_and_exit_reported_as_urcs, 0, 3);
  tcase_add_loop_test(tc, test_at_garbage_before_reply_ignored, 0, 3);
  tcase_add_loop_test(tc, test_at_garbage_inside_line_never_ok, 0, 3);
  tcase_add_loop_test(tc, test_at_cme_error_carries_code, 0, 3);
  tcase_add_loop_test(tc, test_at_error_reply_is_final, 0, 3);
  tcase_add_loop_test(tc, test_at_binary_after_ok_left_to_caller, 0, 3);
  tcase_add_loop_test(tc, test_at_ok_inside_text_not_final, 0, 3);
  tcase_add_test(tc, test_at_unsolicited_final_not_attributed);
  tcase_add_test(tc, test_at_long_line_cut_and_classified);
  tcase_add_test(tc, test_at_classify_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(at_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

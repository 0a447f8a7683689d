/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of sim/tracefile.h: the stream splitter (whole, bytewise and
 * random chunking give the same units), and the three trace formats with
 * their error messages (file:line).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_ext.h"
#include "sim/tracefile.h"
#include "sqnup/stp.h"

struct units {
  enum sim_trec_proto proto[16];
  uint8_t data[16][128];
  size_t len[16];
  size_t n;
};

static void collect(void *user, enum sim_trec_proto pr, const uint8_t *p,
                    size_t n) {
  struct units *u = user;
  ck_assert_uint_lt(u->n, 16);
  ck_assert_uint_le(n, sizeof u->data[0]);
  u->proto[u->n] = pr;
  memcpy(u->data[u->n], p, n);
  u->len[u->n++] = n;
}

static void feed(void *ctx, const uint8_t *buf, size_t len) {
  sim_splitter_feed(ctx, buf, len);
}

START_TEST(test_splitter_lines_and_frames_any_chunking) {
  uint8_t in[256], frame[64];
  size_t fl = sqn_stp_encode(frame, sizeof frame, SQN_STP_MAGIC_REQ,
                             SQN_STP_OP_BLOCK_CMD, 1, 2,
                             (const uint8_t *)"\x1f\xf0", 2, 0);
  ck_assert_uint_eq(fl, 18);
  size_t n = 0;
  memcpy(in + n, "ATE0\r\n", 6), n += 6;
  memcpy(in + n, frame, fl), n += fl;
  memcpy(in + n, "fab\rAT\r", 7), n += 7;
  for (int mode = SQN_FEED_WHOLE; mode <= SQN_FEED_RANDOM; mode++) {
    struct units u = {0};
    struct sim_splitter *s = malloc(sizeof *s);
    sim_splitter_init(s, SIM_TREC_HOST, collect, &u);
    sqn_feed((enum sqn_feed_mode)mode, 7, in, n, feed, s);
    ck_assert(!sim_splitter_busy(s));
    free(s);
    ck_assert_uint_eq(u.n, 4);
    ck_assert_int_eq(u.proto[0], SIM_TREC_AT);
    ck_assert_mem_hex_eq(u.data[0], u.len[0], "ATE0", 4);
    ck_assert_int_eq(u.proto[1], SIM_TREC_STP);
    ck_assert_mem_hex_eq(u.data[1], u.len[1], frame, fl);
    /* "fa..." starts like the request magic, but is a line */
    ck_assert_int_eq(u.proto[2], SIM_TREC_AT);
    ck_assert_mem_hex_eq(u.data[2], u.len[2], "fab", 3);
    ck_assert_mem_hex_eq(u.data[3], u.len[3], "AT", 2);
  }
}
END_TEST

START_TEST(test_splitter_modem_side_and_flush) {
  uint8_t rsp[32];
  size_t rl = sqn_stp_encode(rsp, sizeof rsp, SQN_STP_MAGIC_RSP, 0x82, 1, 2,
                             NULL, 0, SQN_STP_ENC_ZERO_HCRC);
  struct units u = {0};
  struct sim_splitter *s = malloc(sizeof *s);
  sim_splitter_init(s, SIM_TREC_MODEM, collect, &u);
  sim_splitter_feed(s, (const uint8_t *)"\r\nOK\r\n", 6);
  sim_splitter_feed(s, rsp, rl);
  /* a request magic on the modem side is no frame */
  sim_splitter_feed(s, (const uint8_t *)"fast", 4);
  sim_splitter_feed(s, rsp, 10); /* a cut frame ... */
  ck_assert_uint_eq(u.n, 2);
  sim_splitter_flush(s);        /* ... at the end of the recording */
  free(s);
  ck_assert_uint_eq(u.n, 3);
  ck_assert_mem_hex_eq(u.data[0], u.len[0], "OK", 2);
  ck_assert_int_eq(u.proto[1], SIM_TREC_STP);
  ck_assert_mem_hex_eq(u.data[1], u.len[1], rsp, rl);
  /* "fast" then the cut frame's bytes: one unterminated line */
  ck_assert_int_eq(u.proto[2], SIM_TREC_AT);
  ck_assert_uint_eq(u.len[2], 14);
}
END_TEST

static char *write_tmp(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/test_tracefile_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

START_TEST(test_json_trace_header_only_block) {
  char *p = write_tmp(
      "{\"t\":5,\"kind\":\"mode\",\"text\":\"up: SMOD 2 FFF\"}\n"
      "{\"t\":7,\"kind\":\"at<\",\"text\":\"AT\",\"raw\":\"4154\"}\n"
      "{\"t\":8,\"kind\":\"at>\",\"text\":\"OK\"}\n"
      "{\"t\":9,\"kind\":\"stp<\",\"text\":\"op 3 sid 1 tid 3 plen 8176 hcrc ok "
      "pcrc ok\",\"raw\":\"6661737403011ff0000000034b91cf13\"}\n");
  struct sim_tracefile tf;
  char err[256];
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), 0);
  unlink(p);
  ck_assert_int_eq(tf.fmt, SIM_TRACEFMT_JSON);
  ck_assert_uint_eq(tf.n, 4);
  ck_assert_int_eq(tf.rec[0].proto, SIM_TREC_TEXT);
  ck_assert_str_eq(tf.rec[0].kind, "mode");
  ck_assert_int_eq(tf.rec[1].dir, SIM_TREC_HOST);
  ck_assert_str_eq((char *)tf.rec[1].data, "AT");
  ck_assert_int_eq(tf.rec[2].dir, SIM_TREC_MODEM);
  ck_assert_str_eq((char *)tf.rec[2].data, "OK");
  ck_assert_int_eq(tf.rec[3].proto, SIM_TREC_STP);
  ck_assert_uint_eq(tf.rec[3].len, 16);
  ck_assert_uint_eq(tf.rec[3].orig_len, 16 + 8176);
  ck_assert_uint_eq(tf.rec[3].flags, SIM_TREC_F_PCRC_OK);
  ck_assert_uint_eq(tf.rec[3].t_us, 9);
  sim_tracefile_free(&tf);
}
END_TEST

START_TEST(test_json_trace_errors_name_the_line) {
  char *p = write_tmp("{\"t\":1,\"kind\":\"at<\",\"text\":\"AT\"}\n"
                      "{\"t\":2,\"kind\":\"stp<\",\"raw\":\"6x\"}\n");
  struct sim_tracefile tf;
  char err[256];
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), -1);
  ck_assert_msg(strstr(err, p) && strstr(err, ":2: bad hex digit"), "%s", err);
  ck_assert_uint_eq(tf.n, 0);
  unlink(p);
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "No such file"), "%s", err);
}
END_TEST

START_TEST(test_update_log_lines) {
  char *p = write_tmp(
      "       0.000 PHASE    IDLE         checking the package\n"
      "       0.035 LOG      PROBE        at> AT+SMOD?\n"
      "       0.036 LOG      PROBE        at< OK (1 lines) for AT+SMOD?\n"
      "       0.037 LOG      ESC_GUARD    urc +SYSSTART\n"
      "       1.500 PROGRESS 10/20\n");
  struct sim_tracefile tf;
  char err[256];
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), 0);
  ck_assert_int_eq(tf.fmt, SIM_TRACEFMT_LOG);
  ck_assert_uint_eq(tf.n, 5);
  ck_assert_int_eq(tf.rec[0].proto, SIM_TREC_TEXT);
  ck_assert_str_eq(tf.rec[0].kind, "phase");
  ck_assert_int_eq(tf.rec[1].dir, SIM_TREC_HOST);
  ck_assert_str_eq((char *)tf.rec[1].data, "AT+SMOD?");
  ck_assert_uint_eq(tf.rec[1].t_us, 35000);
  ck_assert_int_eq(tf.rec[2].dir, SIM_TREC_MODEM);
  ck_assert_str_eq((char *)tf.rec[2].data, "OK");
  ck_assert_str_eq((char *)tf.rec[3].data, "+SYSSTART");
  ck_assert_str_eq(tf.rec[4].kind, "PROGRESS");
  sim_tracefile_free(&tf);
  /* garbage after a good line: named */
  FILE *f = fopen(p, "a");
  fputs("not a log line\n", f);
  fclose(f);
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), -1);
  ck_assert_msg(strstr(err, ":6: not an sqn-update --log line"), "%s", err);
  unlink(p);
}
END_TEST

START_TEST(test_socat_dump_units_and_reads) {
  char *p = write_tmp(
      "> 2026/12/06 15:17:21.000573121  length=3 from=0 to=2\n"
      " 2b 2b 2b \n"
      "--\n"
      "> 2026/12/06 15:17:21.000598768  length=4 from=3 to=6\n"
      " 41 54 0d 0a \n"
      "--\n"
      "< 2026/12/06 15:17:21.001598  length=6 from=0 to=5\n"
      " 0d 0a 4f 4b 0d\n"
      " 0a\n"
      "--\n");
  struct sim_tracefile tf;
  char err[256];
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), 0);
  ck_assert_int_eq(tf.fmt, SIM_TRACEFMT_SOCAT);
  ck_assert_uint_eq(tf.n, 2);
  ck_assert_str_eq((char *)tf.rec[0].data, "+++AT");
  ck_assert_int_eq(tf.rec[0].dir, SIM_TREC_HOST);
  ck_assert_str_eq((char *)tf.rec[1].data, "OK");
  ck_assert_int_eq(tf.rec[1].dir, SIM_TREC_MODEM);
  /* nanoseconds and microseconds both read as microseconds */
  ck_assert_uint_eq(tf.rec[1].t_us, 1598 - 573);
  sim_tracefile_free(&tf);
  ck_assert_int_eq(
      sim_tracefile_load_ex(p, &tf, SIM_TRACEFILE_READS, err, sizeof err), 0);
  ck_assert_uint_eq(tf.n, 3);
  ck_assert_int_eq(tf.rec[2].proto, SIM_TREC_RAW);
  ck_assert_mem_hex_eq(tf.rec[2].data, tf.rec[2].len, "\r\nOK\r\n", 6);
  sim_tracefile_free(&tf);
  FILE *f = fopen(p, "a");
  fputs("> 2026/12/06 15:17:22.0  length=1 from=0 to=0\n zz\n", f);
  fclose(f);
  ck_assert_int_eq(sim_tracefile_load(p, &tf, err, sizeof err), -1);
  ck_assert_msg(strstr(err, ":12: no hex bytes"), "%s", err);
  unlink(p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tracefile");
  TCase *tc = tcase_create("tracefile");
  tcase_add_test(tc, test_splitter_lines_and_frames_any_chunking);
  tcase_add_test(tc, test_splitter_modem_side_and_flush);
  tcase_add_test(tc, test_json_trace_header_only_block);
  tcase_add_test(tc, test_json_trace_errors_name_the_line);
  tcase_add_test(tc, test_update_log_lines);
  tcase_add_test(tc, test_socat_dump_units_and_reads);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

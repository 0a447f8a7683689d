/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX termios transport: clear errors for a missing port or a non-tty,
 * raw bytes both ways over a pty, rate changes. Exits 77 (skip) when no
 * pty can be opened. Waits are bounded polls on the real event.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "check_ext.h"
#include "sqnup/err.h"
#include "memport.h"
#include "sqnup/transport.h"

/* ---- instances and fixtures ---------------------------------------------- */

static int master_fd = -1;
static char slave_path[256];

static void pty_setup(void) {
  int s;
  ck_assert_int_eq(openpty(&master_fd, &s, slave_path, NULL, NULL), 0);
  close(s); /* the transport opens it by path */
}

static void pty_teardown(void) {
  if (master_fd >= 0)
    close(master_fd);
  master_fd = -1;
}

/* Read from fd until `want` bytes or 5 s (bounded wait on the event). */
static size_t read_some(int fd, uint8_t *buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0)
      break;
    ssize_t n = read(fd, buf + got, want - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  return got;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_update_posix_missing_port_named_in_error) {
  struct sqn_posix_tty t;
  ck_assert_int_eq(sqn_posix_tty_open(&t, "/nonexistent/ttyUSB9", 921600, false),
                   SQN_E_PORT);
  ck_assert(strstr(t.err, "/nonexistent/ttyUSB9") != NULL);
  ck_assert_int_eq(t.fd, -1);
}
END_TEST

START_TEST(test_update_posix_regular_file_not_a_tty) {
  struct sqn_posix_tty t;
  char path[] = "/tmp/sqn_posix_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(sqn_posix_tty_open(&t, path, 115200, false), SQN_E_PORT);
  ck_assert(strstr(t.err, "not a") != NULL);
  unlink(path);
  ck_assert_int_eq(sqn_posix_tty_open(&t, "/dev/null", 115200, false),
                   SQN_E_PORT);
  ck_assert(strstr(t.err, "not a tty") != NULL);
}
END_TEST

START_TEST(test_update_posix_pty_bytes_both_ways) {
  struct sqn_posix_tty t;
  uint8_t buf[64];
  ck_assert_int_eq(sqn_posix_tty_open(&t, slave_path, 921600, false), 0);
  struct sqn_transport tp = {&sqn_posix_tty_ops, &t};
  ck_assert_int_eq(tp.ops->open(tp.impl), 0);
  /* Nothing there yet: 0, not an error. */
  ck_assert_int_eq(tp.ops->read(tp.impl, buf, sizeof buf), 0);
  ck_assert_int_eq(sqn_posix_tty_write_all(&t, (const uint8_t *)"AT\r\n", 4, 1000),
                   4);
  ck_assert_uint_eq(read_some(master_fd, buf, 4), 4);
  ck_assert_mem_hex_eq(buf, 4, "AT\r\n", 4);
  /* Raw: CR, LF, NUL and 0xFF arrive untouched. */
  static const uint8_t bin[] = {'\r', '\n', 0, 0xff, 0x11, 0x13, 0x7f};
  ck_assert_int_eq(write(master_fd, bin, sizeof bin), (int)sizeof bin);
  size_t got = 0;
  for (int i = 0; i < 100 && got < sizeof bin; i++) {
    struct pollfd p = {t.fd, POLLIN, 0};
    poll(&p, 1, 50);
    int n = tp.ops->read(tp.impl, buf + got, sizeof buf - got);
    ck_assert_int_ge(n, 0);
    got += (size_t)n;
  }
  ck_assert_mem_hex_eq(buf, got, bin, sizeof bin);
  ck_assert_int_eq(tp.ops->close(tp.impl), 0);
}
END_TEST

START_TEST(test_update_posix_set_baud_changes_line_rate) {
  struct sqn_posix_tty t;
  struct termios tio;
  ck_assert_int_eq(sqn_posix_tty_open(&t, slave_path, 921600, true), 0);
  ck_assert_int_eq(tcgetattr(t.fd, &tio), 0);
  ck_assert_uint_eq(cfgetospeed(&tio), B921600);
  ck_assert_int_eq(sqn_posix_tty_set_baud(&t, 115200), 0);
  ck_assert_int_eq(tcgetattr(t.fd, &tio), 0);
  ck_assert_uint_eq(cfgetospeed(&tio), B115200);
  ck_assert_uint_eq(t.baud, 115200);
  ck_assert_int_eq(sqn_posix_tty_set_baud(&t, 12345), SQN_E_PORT);
  ck_assert(strstr(t.err, "12345") != NULL);
  ck_assert_int_eq(sqn_posix_tty_close(&t), 0);
}
END_TEST

START_TEST(test_update_posix_memport_limit_caps_io) {
  struct sqn_memport p;
  uint8_t a[16], b[16], out[16];
  sqn_memport_init(&p, a, sizeof a, b, sizeof b);
  struct sqn_transport tp = {&sqn_memport_ops, &p};
  ck_assert_int_eq(tp.ops->write(tp.impl, (const uint8_t *)"x", 1),
                   SQN_E_PORT); /* not open */
  ck_assert_int_eq(tp.ops->open(tp.impl), 0);
  p.limit = 3;
  ck_assert_int_eq(tp.ops->write(tp.impl, (const uint8_t *)"ABCDEF", 6), 3);
  ck_assert_uint_eq(sqn_memport_drain(&p, out, sizeof out), 3);
  ck_assert_mem_hex_eq(out, 3, "ABC", 3);
  ck_assert_uint_eq(sqn_memport_inject(&p, (const uint8_t *)"0123456789", 10),
                    10);
  ck_assert_int_eq(tp.ops->read(tp.impl, out, sizeof out), 3);
  ck_assert_int_eq(tp.ops->read(tp.impl, out + 3, sizeof out), 3);
  ck_assert_mem_hex_eq(out, 6, "012345", 6);
  ck_assert_int_eq(tp.ops->set_baud(tp.impl, 115200), 0);
  ck_assert_uint_eq(p.baud, 115200);
  /* The ring wraps. */
  p.limit = 0;
  ck_assert_uint_eq(sqn_memport_inject(&p, (const uint8_t *)"abcdefghij", 10),
                    10);
  ck_assert_int_eq(tp.ops->read(tp.impl, out, sizeof out), 14);
  ck_assert_mem_hex_eq(out, 14, "6789abcdefghij", 14);
  ck_assert_int_eq(tp.ops->read(tp.impl, out, sizeof out), 0);
  ck_assert_int_eq(tp.ops->close(tp.impl), 0);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

int main(void) {
  int m, s;
  if (openpty(&m, &s, NULL, NULL, NULL) != 0) {
    fprintf(stderr, "openpty failed: skipping\n");
    return 77;
  }
  close(m);
  close(s);
  Suite *su = suite_create("update_posix");
  TCase *tc = tcase_create("tty");
  tcase_add_checked_fixture(tc, pty_setup, pty_teardown);
  tcase_add_test(tc, test_update_posix_missing_port_named_in_error);
  tcase_add_test(tc, test_update_posix_regular_file_not_a_tty);
  tcase_add_test(tc, test_update_posix_pty_bytes_both_ways);
  tcase_add_test(tc, test_update_posix_set_baud_changes_line_rate);
  tcase_add_test(tc, test_update_posix_memport_limit_caps_io);
  suite_add_tcase(su, tc);
  SRunner *sr = srunner_create(su);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

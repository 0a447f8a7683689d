/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POSIX termios port's error paths: no port, a write that stalls (no
 * reader, bounded by its timeout), calls on a closed port, and a pty whose
 * other side went away; and the two descriptions of one port (writes never
 * block, the waits do, and neither flips the other's flags). Exits 77
 * (skip) when no pty can be opened.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_ext.h"
#include "sqnup/err.h"
#include "sqnup/transport.h"

/* ---- instances and fixtures ---------------------------------------------- */

static int master_fd = -1;
static char slave_path[256];

static void pty_setup(void) {
  int s;
  ck_assert_int_eq(openpty(&master_fd, &s, slave_path, NULL, NULL), 0);
  close(s); /* the port opens it by path */
}

static void pty_teardown(void) {
  if (master_fd >= 0)
    close(master_fd);
  master_fd = -1;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_posix_port_no_path_is_refused) {
  struct sqn_posix_tty t;
  ck_assert_int_eq(sqn_posix_tty_open(&t, NULL, 921600, false), SQN_E_PORT);
  ck_assert_str_eq(t.err, "no port given");
  ck_assert_int_eq(sqn_posix_tty_open(&t, "", 921600, false), SQN_E_PORT);
  ck_assert_str_eq(t.err, "no port given");
}
END_TEST

START_TEST(test_posix_port_write_without_reader_stalls_with_error) {
  struct sqn_posix_tty t;
  ck_assert_int_eq(sqn_posix_tty_open(&t, slave_path, 921600, false), 0);
  /* Nobody reads the master: the pty's buffer fills, then the bounded
   * wait for it to drain runs out. */
  size_t len = 4u << 20;
  uint8_t *big = calloc(1, len);
  ck_assert_ptr_nonnull(big);
  ck_assert_int_eq(sqn_posix_tty_write_all(&t, big, len, 50), SQN_E_IO);
  ck_assert_msg(strstr(t.err, "write stalled for 50 ms") != NULL, "%s", t.err);
  ck_assert_msg(strstr(t.err, slave_path) != NULL, "%s", t.err);
  /* The non-blocking op reports "nothing accepted now", not an error. */
  ck_assert_int_eq(sqn_posix_tty_ops.write(&t, big, len), 0);
  free(big);
  ck_assert_int_eq(sqn_posix_tty_close(&t), 0);
}
END_TEST

START_TEST(test_posix_port_closed_port_calls_fail_cleanly) {
  struct sqn_posix_tty t;
  ck_assert_int_eq(sqn_posix_tty_open(&t, slave_path, 115200, false), 0);
  ck_assert_int_eq(sqn_posix_tty_ops.open(&t), 0);
  ck_assert_int_eq(sqn_posix_tty_set_baud(&t, 115200), 0); /* same rate */
  ck_assert_int_eq(sqn_posix_tty_ops.set_baud(&t, 921600), 0);
  ck_assert_uint_eq(t.baud, 921600);
  ck_assert_int_eq(sqn_posix_tty_ops.close(&t), 0);
  ck_assert_int_eq(sqn_posix_tty_close(&t), SQN_E_STATE);
  ck_assert_int_eq(sqn_posix_tty_set_baud(&t, 115200), SQN_E_PORT);
  ck_assert_int_eq(sqn_posix_tty_ops.open(&t), SQN_E_PORT);
}
END_TEST

START_TEST(test_posix_port_peer_gone_reads_nothing_writes_fail) {
  struct sqn_posix_tty t;
  uint8_t buf[16];
  ck_assert_int_eq(sqn_posix_tty_open(&t, slave_path, 921600, false), 0);
  ck_assert_int_eq(sqn_posix_tty_ops.read(&t, buf, sizeof buf), 0);
  pty_teardown(); /* the modem side goes away */
  /* EIO on read means "nothing now": the update's timeouts decide. */
  ck_assert_int_eq(sqn_posix_tty_ops.read(&t, buf, sizeof buf), 0);
  int n = sqn_posix_tty_ops.write(&t, (const uint8_t *)"AT\r", 3);
  ck_assert_msg(n == SQN_E_IO || n == 3, "write after hangup: %d", n);
  ck_assert_int_eq(sqn_posix_tty_close(&t), 0);
}
END_TEST

START_TEST(test_posix_port_waits_block_writes_never) {
  struct sqn_posix_tty t;
  struct stat a, b;
  ck_assert_int_eq(sqn_posix_tty_open(&t, slave_path, 921600, false), 0);
  ck_assert_int_ge(t.rfd, 0);
  ck_assert_int_ne(t.rfd, t.fd);
  ck_assert_int_eq(fstat(t.fd, &a), 0);
  ck_assert_int_eq(fstat(t.rfd, &b), 0);
  ck_assert_msg(a.st_rdev == b.st_rdev, "rfd is another device");
  /* Two open file descriptions: each keeps its own O_NONBLOCK. */
  ck_assert_int_ne(fcntl(t.fd, F_GETFL) & O_NONBLOCK, 0);
  ck_assert_int_eq(fcntl(t.rfd, F_GETFL) & O_NONBLOCK, 0);
  /* What the modem sends reaches either one. */
  ck_assert_int_eq(write(master_fd, "OK", 2), 2);
  uint8_t buf[8];
  ck_assert_int_eq(read(t.rfd, buf, sizeof buf), 2); /* VTIME-bounded */
  ck_assert_int_eq(memcmp(buf, "OK", 2), 0);
  /* The port is still ours alone after open: another open is refused. */
  struct sqn_posix_tty u;
  int rc = sqn_posix_tty_open(&u, slave_path, 921600, false);
  ck_assert_msg(rc == SQN_E_PORT_BUSY, "second open: %d (%s)", rc, u.err);
  ck_assert_int_eq(sqn_posix_tty_close(&t), 0);
  ck_assert_int_eq(t.rfd, -1);
  ck_assert_int_eq(t.fd, -1);
}
END_TEST

/* ---- suite factory ------------------------------------------------------- */

static Suite *posix_port_suite(void) {
  Suite *s = suite_create("posix_port");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_posix_port_no_path_is_refused);
  suite_add_tcase(s, tc);
  TCase *pty = tcase_create("pty");
  tcase_add_checked_fixture(pty, pty_setup, pty_teardown);
  tcase_add_test(pty, test_posix_port_write_without_reader_stalls_with_error);
  tcase_add_test(pty, test_posix_port_closed_port_calls_fail_cleanly);
  tcase_add_test(pty, test_posix_port_peer_gone_reads_nothing_writes_fail);
  tcase_add_test(pty, test_posix_port_waits_block_writes_never);
  suite_add_tcase(s, pty);
  return s;
}

int main(void) {
  int m, s;
  if (openpty(&m, &s, NULL, NULL, NULL) != 0)
    return 77; /* no pty here: skip, do not fail */
  close(m);
  close(s);
  SRunner *sr = srunner_create(posix_port_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

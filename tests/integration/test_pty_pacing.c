/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Line pacing at --time-scale 1 (label "slow": takes real time). A host
 * pushing N bytes at 921600 baud must need about N * 10 / 921600 s, since
 * sqn-sim consumes input at the line rate (10 bits per byte, 8N1); at
 * 3686400 after AT+IPR, N * 10 / 3686400 s. The figures are printed.
 */
#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_ext.h"
#include "pty_util.h"

static double pacing_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `needle` (n2 bytes) in the first `n` bytes of `b`. */
static bool pacing_has(const char *b, size_t n, const char *needle,
                       size_t n2) {
  for (size_t i = 0; i + n2 <= n; i++)
    if (memcmp(b + i, needle, n2) == 0)
      return true;
  return false;
}

/* Push one second of line time at `baud` (after AT+IPR when it is not the
 * modem's 921600) and return the seconds it took. */
static double pacing_push(unsigned baud) {
  struct pty_sim s;
  char buf[256];
  pty_sim_start(&s, "interrupted-upgrade.json",
                (const char *const[]){"--time-scale", "1", NULL});
  int fd = pty_open_port(s.pty, 921600);
  /* RECOVERY takes 1.5 s to boot at time scale 1; AT until it answers. */
  double up = pacing_now() + 20;
  size_t n = 0;
  while (!pacing_has(buf, n, "OK", 2)) {
    ck_assert_msg(pacing_now() < up, "sqn-sim did not answer AT");
    n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  }
  if (baud != 921600) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "AT+IPR=%u\r\n", baud);
    n = pty_xchg(fd, cmd, buf, sizeof buf, 100);
    ck_assert_msg(pacing_has(buf, n, "OK", 2), "AT+IPR: %s", buf);
    pty_set_rate(fd, baud, baud);
  }
  size_t len = baud / 10; /* 1 s of line time */
  char *data = malloc(len);
  ck_assert_ptr_nonnull(data);
  for (size_t i = 0; i < len; i++)
    data[i] = (i % 64 == 63) ? '\n' : 'A';
  size_t off = 0;
  double t0 = pacing_now(), deadline = t0 + 10;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w > 0) {
      off += (size_t)w;
      continue;
    }
    ck_assert_msg(pacing_now() < deadline, "push stuck");
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    poll(&p, 1, 50);
    char sink[4096]; /* drain ERROR replies so the modem never blocks */
    while (read(fd, sink, sizeof sink) > 0)
      ;
  }
  /* Timed to the modem's answer to a last AT: every byte went through its
   * UART, none is still in the pty's buffer. Lines of 'A' answer ERROR. */
  static const char at[] = "\r\nAT\r\n";
  ck_assert_int_eq(write(fd, at, sizeof at - 1), (ssize_t)(sizeof at - 1));
  char tail[64];
  size_t tl = 0;
  while (!pacing_has(tail, tl, "\r\nOK\r\n", 6)) {
    ck_assert_msg(pacing_now() < deadline, "no OK after the push");
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, 50);
    char in[4096];
    ssize_t r;
    while ((r = read(fd, in, sizeof in)) > 0) {
      /* keep the last bytes, so an OK across two reads is seen */
      size_t k = (size_t)r < sizeof tail ? (size_t)r : sizeof tail;
      if (tl + k > sizeof tail) {
        memmove(tail, tail + tl + k - sizeof tail, sizeof tail - k);
        tl = sizeof tail - k;
      }
      memcpy(tail + tl, in + r - (ssize_t)k, k);
      tl += k;
    }
  }
  double took = pacing_now() - t0;
  fprintf(stderr, "pacing: %zu bytes at %u baud: %.4f s, line time %.4f s, "
          "ratio %.3f\n", len + sizeof at - 1, baud, took,
          (double)(len + sizeof at - 1) * 10 / baud,
          took / ((double)(len + sizeof at - 1) * 10 / baud));
  free(data);
  close(fd);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  return took;
}

START_TEST(test_pty_pacing_push_takes_line_time) {
  double took = pacing_push(921600);
  /* Generous: a loaded machine may run the host late (behaviour, not a
   * benchmark: bench_pingpong --line-baud measures). */
  ck_assert_msg(took > 0.75 && took < 1.25,
                "1 s of line time at 921600 took %.3f s", took);
}
END_TEST

/* The exact rate after AT+IPR, a non-standard one too: 3686400 baud is
 * 368,640 bytes per second at 10 bits per byte. */
START_TEST(test_pty_pacing_at_3686400_after_ipr) {
  double took = pacing_push(3686400);
  ck_assert_msg(took > 0.75 && took < 1.25,
                "1 s of line time at 3686400 took %.3f s", took);
}
END_TEST

int main(void) {
  pty_require_openpty();
  pty_session_begin();
  Suite *su = suite_create("pty-pacing");
  TCase *tc = tcase_create("pacing");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_pty_pacing_push_takes_line_time);
  tcase_add_test(tc, test_pty_pacing_at_3686400_after_ipr);
  suite_add_tcase(su, tc);
  SRunner *sr = srunner_create(su);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

/*
 * Line pacing at --time-scale 1 (label "slow": takes real time). A host
 * pushing N bytes at 921600 baud must need about N * 10 / 921600 s, since
 * sqn-sim consumes input at the line rate (10 bits per byte, 8N1).
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
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

START_TEST(test_pty_pacing_push_takes_line_time) {
  struct pty_sim s;
  pty_sim_start(&s, "healthy.json",
                (const char *const[]){"--time-scale", "1", NULL});
  int fd = pty_open_port(s.pty, 921600);
  static char data[92160]; /* 1 s at 921600 baud */
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (i % 64 == 63) ? '\n' : 'A';
  size_t off = 0;
  double t0 = pacing_now(), deadline = t0 + 10;
  while (off < sizeof data) {
    ssize_t w = write(fd, data + off, sizeof data - off);
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
  double took = pacing_now() - t0;
  double want = sizeof data * 10.0 / 921600.0;
  close(fd);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  /* The pty buffers a few KiB that count as written before the modem
   * reads them: allow 25 %. */
  ck_assert_msg(took > want * 0.75 && took < want * 1.25,
                "pushing %zu bytes took %.3f s, line time %.3f s",
                sizeof data, took, want);
}
END_TEST

int main(void) {
  pty_require_openpty();
  pty_session_begin();
  Suite *su = suite_create("pty-pacing");
  TCase *tc = tcase_create("pacing");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_pty_pacing_push_takes_line_time);
  suite_add_tcase(su, tc);
  SRunner *sr = srunner_create(su);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

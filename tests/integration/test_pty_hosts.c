/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pty integration tests: sqn-sim on a real pseudo-terminal, driven by the
 * third-party host sequences of protocol.md section 6 (sqn-chat scripts in
 * fixtures/hosts/) and by raw bytes. Outcomes are checked in the modem's
 * state file (sqn-sim --show --json), not in the host's word.
 *
 * sqn-sim runs at --time-scale 0.02 (an 8 s FFF boot takes 160 ms, so the
 * hosts' 50 ms read windows still see +SHUTDOWN and +SYSSTART apart) and the
 * hosts' sleeps are scaled by 0.05.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check_ext.h"
#include "pty_util.h"
#include "sim/state_file.h"

#define PKG(name) SQN_FIXTURES "/packages/" name
static const char *const sim_fast[] = {"--time-scale", "0.02", NULL};
static char out[65536];

#define ASSERT_SHOW(st, key, want)                                           \
  do {                                                                       \
    char v_[128];                                                            \
    ck_assert_msg(pty_show_get((st), (key), v_, sizeof v_) == 0,             \
                  "--show --json has no %s", (key));                         \
    ck_assert_str_eq(v_, (want));                                            \
  } while (0)

/* ---- the incident (incident.md) ---- */

START_TEST(test_pty_incident_three_runs_reproduce_the_report) {
  struct pty_sim s;
  const char *vars[] = {"PACKAGE=" PKG("lr5-5.2.0.0-48829.dup"), NULL};
  pty_sim_start(&s, "interrupted-upgrade.json", sim_fast);

  int rc = pty_chat(&s, "pycom-2018", vars, out, sizeof out);
  ck_assert_msg(rc == 1, "2018 run: rc %d\n%s", rc, out);
  ck_assert_msg(strstr(out, "OSError: AT+SMSWBOOT=3,0 failed!") != NULL, "%s",
                out);

  rc = pty_chat(&s, "pycom-2018-stripped", vars, out, sizeof out);
  ck_assert_msg(rc == 0, "stripped run: rc %d\n%s", rc, out);
  ck_assert_msg(strstr(out, "Session opened: version 1, max transfer 8192 "
                            "bytes") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "\nLR5.") != NULL, "no version read:\n%s", out);

  rc = pty_chat(&s, "pycom-2018", vars, out, sizeof out);
  ck_assert_msg(rc == 0, "second 2018 run: rc %d\n%s", rc, out);
  ck_assert_msg(strstr(out, "LR5.2.0.0-48829") != NULL, "%s", out);

  ck_assert_int_eq(pty_sim_stop(&s), 0);
  ASSERT_SHOW(s.state, "fff.valid", "true");
  ASSERT_SHOW(s.state, "fff.version", "5.2.0.0");
  ASSERT_SHOW(s.state, "fff.build", "48829");
  ASSERT_SHOW(s.state, "boot_select", "FFF");
  ASSERT_SHOW(s.state, "upgrade_status", "success");
}
END_TEST

START_TEST(test_pty_flipped_byte_package_is_refused) {
  struct pty_sim s;
  size_t len;
  pty_sim_start(&s, "healthy.json", sim_fast);
  uint8_t *pkg = sqn_read_file(PKG("lr5-5.2.0.0-48829.dup"), &len);
  ck_assert_ptr_nonnull(pkg);
  pkg[len / 2] ^= 0x01;
  char path[600], var[640];
  snprintf(path, sizeof path, "%s/flipped.dup", s.dir);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(pkg, 1, len, f), len);
  fclose(f);
  free(pkg);
  snprintf(var, sizeof var, "PACKAGE=%s", path);
  const char *vars[] = {var, "METHOD=ON_THE_FLY", NULL};
  int rc = pty_chat(&s, "sqnsupgrade-1.2-desktop", vars, out, sizeof out);
  ck_assert_msg(rc == 1, "rc %d\n%s", rc, out);
  ck_assert_msg(strstr(out, "+SMUPGRADE: fail") != NULL, "%s", out);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  ASSERT_SHOW(s.state, "upgrade_status", "fail");
}
END_TEST

/* ---- each host of protocol.md section 6 ---- */

static void pty_host_case(const char *state, const char *const *simargs,
                          const char *script, const char *const *vars,
                          const char *want_out, const char *want_version) {
  struct pty_sim s;
  pty_sim_start(&s, state, simargs);
  int rc = pty_chat(&s, script, vars, out, sizeof out);
  ck_assert_msg(rc == 0, "%s: rc %d\n%s", script, rc, out);
  if (want_out)
    ck_assert_msg(strstr(out, want_out) != NULL, "%s: no '%s' in\n%s", script,
                  want_out, out);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  if (want_version) {
    ASSERT_SHOW(s.state, "fff.valid", "true");
    ASSERT_SHOW(s.state, "fff.version", want_version);
    ASSERT_SHOW(s.state, "upgrade_status", "success");
  }
}

START_TEST(test_pty_desktop_fff_store_upgrades) {
  const char *vars[] = {"PACKAGE=" PKG("lr5-5.2.0.0-48829.dup"), NULL};
  pty_host_case("healthy.json", sim_fast, "sqnsupgrade-1.2-desktop", vars,
                "LR5.2.0.0-48829", "5.2.0.0");
}
END_TEST

START_TEST(test_pty_desktop_on_the_fly_upgrades) {
  const char *vars[] = {"PACKAGE=" PKG("lr5-5.2.0.0-48829.dup"),
                        "METHOD=ON_THE_FLY", NULL};
  pty_host_case("healthy.json", sim_fast, "sqnsupgrade-1.2-desktop", vars,
                "LR5.2.0.0-48829", "5.2.0.0");
}
END_TEST

START_TEST(test_pty_detect_fff_reports_application_mode) {
  pty_host_case("healthy.json", sim_fast, "sqnsupgrade-device-detect", NULL,
                "application mode (SMOD 2)", NULL);
}
END_TEST

START_TEST(test_pty_detect_ffh_falls_back_to_115200) {
  pty_host_case("ffh-only.json", sim_fast, "sqnsupgrade-device-detect", NULL,
                "recovery mode (SMOD 0)", NULL);
}
END_TEST

START_TEST(test_pty_updater_elf_then_package_upgrades) {
  const char *vars[] = {"UPDATER=" PKG("updater.elf"),
                        "PACKAGE=" PKG("lr5-5.2.0.0-48829.dup"), NULL};
  pty_host_case("ffh-only.json", sim_fast, "sqnsupgrade-updater-elf", vars,
                "max transfer 2048 bytes", "5.2.0.0");
}
END_TEST

/* Issue 16: Pycom's updater asked for a rate other than 921600 loads the
 * updater and the firmware at that rate, then waits for FFF's +SYSSTART at
 * it while FFF comes up at 921600: garbage and a timeout, as on hardware.
 * At 921600 the same sequence completes. */
static void pty_rate_case(const char *rate, bool works) {
  struct pty_sim s;
  char trace[600], var[32], needle[160];
  char dir[256];
  pty_tmpdir(dir, sizeof dir);
  snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
  snprintf(var, sizeof var, "RATE=%s", rate);
  const char *args[] = {"--time-scale", "0.02", "--trace", trace, NULL};
  const char *vars[] = {"UPDATER=" PKG("updater.elf"),
                        "PACKAGE=" PKG("lr5-5.2.0.0-48829.dup"), var, NULL};
  pty_sim_start(&s, "ffh-only.json", args);
  int rc = pty_chat(&s, "sqnsupgrade-updater-elf-rate", vars, out, sizeof out);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  /* The upgrade itself went through at RATE either way. */
  ASSERT_SHOW(s.state, "fff.version", "5.2.0.0");
  ASSERT_SHOW(s.state, "upgrade_status", "success");
  if (works) {
    ck_assert_msg(rc == 0, "RATE %s: rc %d\n%s", rate, rc, out);
    ck_assert_msg(strstr(out, "Upgrade completed") != NULL, "%s", out);
    snprintf(needle, sizeof needle,
             "boot: host at %s baud, modem at 921600: clean", rate);
  } else {
    ck_assert_msg(rc == 1, "RATE %s: rc %d\n%s", rate, rc, out);
    ck_assert_msg(strstr(out, "+SYSSTART") != NULL, "RATE %s:\n%s", rate,
                  out);
    snprintf(needle, sizeof needle,
             "boot: host at %s baud, modem at 921600: garbled both ways",
             rate);
  }
  ck_assert_msg(pty_file_wait(trace, needle, 5), "trace lacks '%s'", needle);
}

START_TEST(test_pty_updater_at_3686400_fails_at_fff_boot) {
  pty_rate_case("3686400", false);
}
END_TEST

START_TEST(test_pty_updater_at_460800_fails_at_fff_boot) {
  pty_rate_case("460800", false);
}
END_TEST

START_TEST(test_pty_updater_at_921600_completes) {
  pty_rate_case("921600", true);
}
END_TEST

START_TEST(test_pty_walter_mota_upgrades_gm02s) {
  const char *vars[] = {"PACKAGE=" PKG("lr8-8.2.1.0-61488.dup"), NULL};
  const char *args[] = {"--time-scale", "0.02", "--profile", "gm02s", NULL};
  pty_host_case(NULL, args, "walter-mota", vars, "+SMUPGRADE: success",
                "8.2.1.0");
}
END_TEST

START_TEST(test_pty_walter_espidf_recovers_gm02s) {
  const char *vars[] = {"PACKAGE=" PKG("lr8-8.2.1.0-61488.dup"), NULL};
  pty_host_case("gm02s-recovery.json", sim_fast, "walter-espidf", vars,
                "up to date", "8.2.1.0");
}
END_TEST

START_TEST(test_pty_microchip_upgrades_gm02s) {
  const char *vars[] = {"PACKAGE=" PKG("lr8-8.2.1.0-61488.dup"), NULL};
  const char *args[] = {"--time-scale", "0.02", "--profile", "gm02s", NULL};
  pty_host_case(NULL, args, "microchip-pysequans", vars, "LR8.2.1.0-61488",
                "8.2.1.0");
}
END_TEST

/* ---- the line ---- */

START_TEST(test_pty_node_is_owner_only_and_link_follows_lifetime) {
  struct pty_sim s;
  char link[600];
  struct stat st;
  pty_tmpdir(link, sizeof link - 16);
  strcat(link, "/modem");
  const char *args[] = {"--time-scale", "0", "--link", link, NULL};
  pty_sim_start(&s, NULL, args);
  ck_assert_int_eq(stat(s.pty, &st), 0);
  ck_assert_uint_eq(st.st_mode & 0777, 0600);
  char target[256];
  ssize_t n = readlink(link, target, sizeof target - 1);
  ck_assert_int_gt(n, 0);
  target[n] = 0;
  ck_assert_str_eq(target, s.pty);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  ck_assert_int_ne(lstat(link, &st), 0);
  /* A missing state file was created factory-new. */
  ASSERT_SHOW(s.state, "profile", "monarch1");
  ASSERT_SHOW(s.state, "fff.valid", "true");
}
END_TEST

START_TEST(test_pty_link_over_regular_file_is_refused) {
  char dir[256], file[300], state[300];
  pty_tmpdir(dir, sizeof dir);
  snprintf(file, sizeof file, "%s/precious", dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  FILE *f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fputs("keep me\n", f);
  fclose(f);
  const char *argv[] = {SQN_SIM_BIN, "--state", state, "--link", file,
                        "--time-scale", "0", NULL};
  int rc = pty_run(argv, out, sizeof out, 10);
  ck_assert_int_ne(rc, 0);
  ck_assert_msg(strstr(out, "not a symlink") != NULL, "%s", out);
  struct stat st;
  ck_assert_int_eq(lstat(file, &st), 0);
  ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(test_pty_reopen_keeps_the_modem) {
  struct pty_sim s;
  char buf[512];
  pty_sim_start(&s, "healthy.json", (const char *const[]){"--time-scale", "0",
                                                          NULL});
  int fd = pty_open_port(s.pty, 921600);
  pty_xchg(fd, "ATE1\r\n", buf, sizeof buf, 200);
  ck_assert_msg(strstr(buf, "OK") != NULL, "%s", buf);
  close(fd);
  fd = pty_open_port(s.pty, 921600);
  pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  /* Echo is volatile: still on means the same modem kept running. */
  ck_assert_msg(strstr(buf, "AT\r") != NULL && strstr(buf, "OK"), "%s", buf);
  close(fd);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
}
END_TEST

START_TEST(test_pty_wrong_baud_sees_garbage_and_ipr_switches) {
  struct pty_sim s;
  char buf[512];
  pty_sim_start(&s, "healthy.json", (const char *const[]){"--time-scale", "0",
                                                          NULL});
  int fd = pty_open_port(s.pty, 115200);
  size_t n = pty_xchg(fd, "AT+SMSWBOOT=0,0\r\n", buf, sizeof buf, 200);
  ck_assert_msg(strstr(buf, "OK") == NULL, "modem understood a 115200 host");
  (void)n;
  close(fd);
  fd = pty_open_port(s.pty, 921600);
  pty_xchg(fd, "AT+SMSWBOOT?\r\n", buf, sizeof buf, 200);
  ck_assert_msg(strstr(buf, "OK") != NULL, "%s", buf);
  pty_xchg(fd, "AT+IPR=115200\r\n", buf, sizeof buf, 200);
  ck_assert_msg(strstr(buf, "OK") != NULL, "%s", buf);
  close(fd);
  fd = pty_open_port(s.pty, 115200);
  pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(strstr(buf, "OK") != NULL, "after IPR: '%s'", buf);
  close(fd);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  /* The garbled command never reached the flash. */
  ASSERT_SHOW(s.state, "boot_select", "FFF");
}
END_TEST

/* Read from `fd` until `want` bytes came or `timeout_s` passed (a bound on
 * a real event, the modem's output). */
static size_t line_read(int fd, uint8_t *buf, size_t want, double timeout_s) {
  size_t got = 0;
  double end = pty_now() + timeout_s;
  while (got < want) {
    int left = (int)((end - pty_now()) * 1000);
    if (left <= 0)
      break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, left) <= 0)
      continue;
    ssize_t r = read(fd, buf + got, want - got);
    if (r > 0)
      got += (size_t)r;
  }
  return got;
}

/* `needle` in the first `n` bytes of `b`, NULs (garbage) included. */
static bool line_has(const char *b, size_t n, const char *needle) {
  size_t l = strlen(needle);
  for (size_t i = 0; i + l <= n; i++)
    if (memcmp(b + i, needle, l) == 0)
      return true;
  return false;
}

static bool line_all_garbage(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0xFE && b[i] != 0xFD && b[i] != 0x00 && b[i] != 0xF8)
      return false;
  return n > 0;
}

#define LINE_TRACE_HAS(trace, ...)                                           \
  do {                                                                       \
    char needle_[200];                                                       \
    snprintf(needle_, sizeof needle_, __VA_ARGS__);                          \
    ck_assert_msg(pty_file_wait(trace, needle_, 5), "trace lacks '%s'",      \
                  needle_);                                                  \
  } while (0)

/* Issue 16: a host at any rate other than the modem's (standard, BOTHER,
 * split input/output) sees only garbage and is not heard; AT+IPR moves the
 * modem to exactly the rate asked; the trace names both rates each time. */
START_TEST(test_pty_every_rate_mismatch_garbles_and_ipr_follows) {
  static const unsigned wrong[] = {3686400, 1000000, 230400};
  struct pty_sim s;
  char trace[600], dir[256], buf[512];
  uint8_t got[64];
  pty_tmpdir(dir, sizeof dir);
  snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
  const char *args[] = {"--time-scale", "0.05", "--trace", trace, NULL};
  pty_sim_start(&s, "healthy.json", args);
  ck_assert_msg(pty_file_wait(trace, "\"up: SMOD 2", 10), "no FFF boot");
  int fd = pty_open_port(s.pty, 921600);
  tcflush(fd, TCIFLUSH); /* +SYSSTART, garbled for the slave's 115200 */
  size_t n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(line_has(buf, n, "OK"), "at 921600: '%s'", buf);

  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    unsigned r = wrong[i];
    /* Reset at the right rate; the host is at `r` when FFF comes up. */
    pty_set_rate(fd, 921600, 921600);
    ck_assert_int_eq(write(fd, "AT^RESET\r\n", 10), 10);
    size_t k = 0;
    while (k < sizeof buf && !line_has(buf, k, "SHUTDOWN\r\n")) {
      size_t m = line_read(fd, (uint8_t *)buf + k, 1, 5);
      ck_assert_msg(m == 1, "no +SHUTDOWN after AT^RESET");
      k += m;
    }
    pty_set_rate(fd, r, r);
    n = line_read(fd, got, 13, 10); /* \r\n+SYSSTART\r\n, garbled */
    ck_assert_msg(n == 13 && line_all_garbage(got, n),
                  "host at %u: %zu bytes of +SYSSTART, not all garbage", r,
                  n);
    LINE_TRACE_HAS(trace, "host at %u baud, modem at 921600: garbled both "
                   "ways", r);
    LINE_TRACE_HAS(trace, "13 bytes at 921600 baud, host receives at %u: "
                   "garbage", r);
    /* The modem hears noise: no reply, and the trace says at which rates. */
    n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
    ck_assert_msg(!line_has(buf, n, "OK"), "host at %u was heard", r);
    LINE_TRACE_HAS(trace, "4 bytes at %u baud, modem at 921600: noise", r);
  }

  /* Split rates: the direction that matches is clean, the other garbled. */
  pty_set_rate(fd, 3686400, 921600); /* receives wrong, sends right */
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 300);
  ck_assert_msg(line_all_garbage((uint8_t *)buf, n), "split: %zu bytes", n);
  LINE_TRACE_HAS(trace, "host receives at 3686400 baud and sends at 921600, "
                 "modem at 921600: modem->host garbled, host->modem clean");
  pty_set_rate(fd, 921600, 3686400); /* receives right, sends wrong */
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(n == 0, "split: the modem heard a host sending at 3686400");

  /* Within the UART tolerance (2 %) is equal; beyond it is not. */
  pty_set_rate(fd, 935000, 935000); /* +1.5 % */
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(line_has(buf, n, "OK"), "+1.5 %%: '%s'", buf);
  pty_set_rate(fd, 945000, 945000); /* +2.5 % */
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(!line_has(buf, n, "OK"), "+2.5 %% was heard");

  /* AT+IPR=3686400 at 921600: OK at the old rate, then the modem runs at
   * exactly 3686400; a host that follows gets clean text. */
  pty_set_rate(fd, 921600, 921600);
  n = pty_xchg(fd, "AT+IPR=3686400\r\n", buf, sizeof buf, 200);
  ck_assert_msg(line_has(buf, n, "OK"), "AT+IPR: '%s'", buf);
  LINE_TRACE_HAS(trace, "AT+IPR: host at 921600 baud, modem at 3686400: "
                 "garbled both ways");
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(!line_has(buf, n, "OK"), "921600 heard after AT+IPR");
  pty_set_rate(fd, 3686400, 3686400);
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(line_has(buf, n, "OK"), "at 3686400 after IPR: '%s'", buf);
  LINE_TRACE_HAS(trace, "host at 3686400 baud, modem at 3686400: clean");
  close(fd);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
}
END_TEST

/* A host that asks for canonical mode: EXTPROC would bypass its line
 * discipline, so sqn-sim takes it off again and reads the rate before every
 * read from then on; the line model still follows the host's rate. */
START_TEST(test_pty_cooked_host_is_left_its_line_discipline) {
  struct pty_sim s;
  char buf[512];
  pty_sim_start(&s, "healthy.json", (const char *const[]){"--time-scale", "0",
                                                          NULL});
  int fd = pty_open_port(s.pty, 921600);
  struct termios t;
  ck_assert_int_eq(tcgetattr(fd, &t), 0);
  ck_assert_msg(t.c_lflag & EXTPROC, "the slave starts with EXTPROC");
  t.c_lflag |= ICANON;
  ck_assert_int_eq(tcsetattr(fd, TCSANOW, &t), 0);
  double end = pty_now() + 5;
  do { /* bounded: sqn-sim reacts to the change report */
    ck_assert_msg(pty_now() < end, "EXTPROC still set under ICANON");
    poll(NULL, 0, 5);
    ck_assert_int_eq(tcgetattr(fd, &t), 0);
  } while (t.c_lflag & EXTPROC);
  ck_assert_msg(t.c_lflag & ICANON, "the host's ICANON was kept");
  pty_set_rate(fd, 3686400, 3686400);
  size_t n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(!line_has(buf, n, "OK"), "host at 3686400 was heard");
  pty_set_rate(fd, 921600, 921600);
  n = pty_xchg(fd, "AT\r\n", buf, sizeof buf, 200);
  ck_assert_msg(line_has(buf, n, "OK"), "back at 921600: '%s'", buf);
  close(fd);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
}
END_TEST

/* ---- robustness ---- */

START_TEST(test_pty_random_bytes_and_vanishing_host_never_crash) {
  struct pty_sim s;
  struct sqn_rng rng;
  char buf[8192];
  pty_sim_start(&s, "healthy.json", (const char *const[]){"--time-scale", "0",
                                                          NULL});
  sqn_rng_seed(&rng, 0x5eed);
  for (int round = 0; round < 5; round++) {
    int fd = pty_open_port(s.pty, 921600);
    char junk[3000];
    for (size_t i = 0; i < sizeof junk - 1; i++)
      junk[i] = (char)(1 + sqn_rng_below(&rng, 255));
    junk[sizeof junk - 1] = 0;
    pty_xchg(fd, junk, buf, sizeof buf, 20); /* random bytes, overlong line */
    pty_xchg(fd, "\r\nAT+SMSTPU=\"ON_THE_FLY\"\r\n", buf, sizeof buf, 50);
    pty_xchg(fd, "fast\x01\x01\x10", buf, sizeof buf, 20); /* truncated */
    close(fd); /* the host vanishes mid-session */
  }
  int fd = pty_open_port(s.pty, 921600);
  /* Leave STP with a RESET inside a session; then AT must answer. */
  for (int i = 0; i < 3; i++)
    pty_xchg(fd, "\r\nAT\r\n", buf, sizeof buf, 50);
  close(fd);
  ck_assert_int_eq(kill(s.pid, 0), 0);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
}
END_TEST

/* The issue asks for kill -9 at random moments during an upgrade, 100
 * times, loading the state each time. An upgrade here is the flash-changing
 * part of a rescue from RECOVERY: AT+SMSTPU="ON_THE_FLY", the STP push, and
 * AT+SMSWBOOT=1,0 (written to a temp script so no fixed wait pads it).
 * Uninterrupted runs measure its length T on this machine at this load
 * (median of three); each of the 100 runs then kills sqn-sim at a seeded
 * uniform moment in [0, 1.25 T) after the host starts. sqn-sim runs at --time-scale 0.02 so the
 * boot before each run is short, and the package is large enough (built
 * with sqn-dup where available) that the push, where the flash is written,
 * takes a good share of T. */
#define KILL9_RUNS 100

static void kill9_script(const char *dir, char *path, size_t cap) {
  snprintf(path, cap, "%s/kill9.chat", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  /* "read 6": the "\r\nOK\r\n" reply (echo is off after boot), without
   * read-until's 50 ms windows. */
  fputs("open 921600\n"
        "send \"AT+SMSTPU=\\\"ON_THE_FLY\\\"\\r\\n\"\n"
        "read 6 timeout 5\n"
        "expect-contains \"OK\"\n"
        "stp-push ${PACKAGE} pycom2018\n"
        "send \"AT+SMSWBOOT=1,0\\r\\n\"\n"
        "read 6 timeout 5\n"
        "expect-contains \"OK\"\n",
        f);
  ck_assert_int_eq(fclose(f), 0);
}

static void kill9_package(const char *dir, char *path, size_t cap) {
#ifdef SQN_DUP_BIN
  snprintf(path, cap, "%s/big.dup", dir);
  const char *argv[] = {SQN_DUP_BIN, "build", "--version", "5.2.0.0",
                        "--build", "48829", "--size", "262144", "-o", path,
                        NULL};
  ck_assert_msg(pty_run(argv, out, sizeof out, 20) == 0, "sqn-dup: %s", out);
#else
  (void)dir;
  snprintf(path, cap, "%s", PKG("lr5-5.2.0.0-48829.dup"));
#endif
}

/* Start sqn-sim on a fresh copy of interrupted-upgrade (it boots RECOVERY)
 * with a trace, and wait (bounded) until it is up: bytes sent while it
 * boots are lost, and the kill must land in the host's upgrade. */
static void kill9_sim(struct pty_sim *s) {
  char trace[600];
  char dir[256];
  pty_tmpdir(dir, sizeof dir);
  snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
  const char *args[] = {"--time-scale", "0.02", "--trace", trace, NULL};
  pty_sim_start(s, "interrupted-upgrade.json", args);
  ck_assert_msg(pty_file_wait(trace, "\"event\":\"up\"", 30),
                "sqn-sim did not come up within 30 s");
}

static pid_t kill9_host(const struct pty_sim *s, const char *script,
                        const char *var) {
  pid_t chat = fork();
  ck_assert_int_ge(chat, 0);
  if (chat == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    /* Bounds scaled down so a stuck host ends on its own soon, but not so
     * far that a starved process on a loaded machine misses a reply (0.1
     * failed the calibration under two CPU hogs). */
    execl(SQN_CHAT_BIN, SQN_CHAT_BIN, "--timeout-scale", "0.5", "--var", var,
          script, s->pty, (char *)NULL);
    _exit(127);
  }
  return chat;
}

START_TEST(test_pty_kill9_during_upgrade_never_tears_state) {
  struct sqn_rng rng;
  char dir[256], script[512], pkg[512], var[600];
  pty_tmpdir(dir, sizeof dir);
  kill9_script(dir, script, sizeof script);
  kill9_package(dir, pkg, sizeof pkg);
  snprintf(var, sizeof var, "PACKAGE=%s", pkg);

  /* Calibration: the same host, not killed, upgrades the modem; the
   * median of three runs, so one load spike does not stretch the window. */
  struct pty_sim s;
  double spans[3];
  for (int i = 0; i < 3; i++) {
    kill9_sim(&s);
    double t0 = pty_now();
    pid_t chat = kill9_host(&s, script, var);
    int st = 0;
    while (waitpid(chat, &st, WNOHANG) == 0) {
      ck_assert_msg(pty_now() - t0 < 20, "calibration host still running");
      struct timespec ts = {0, 1000000}; /* reap poll, not an event wait */
      nanosleep(&ts, NULL);
    }
    spans[i] = pty_now() - t0;
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "calibration host failed (status %d)", st);
    ck_assert_int_eq(pty_sim_stop(&s), 0);
    ASSERT_SHOW(s.state, "fff.version", "5.2.0.0");
    ASSERT_SHOW(s.state, "upgrade_status", "success");
    ASSERT_SHOW(s.state, "boot_select", "FFF");
  }
  double lo = spans[0] < spans[1] ? spans[0] : spans[1];
  double hi = spans[0] < spans[1] ? spans[1] : spans[0];
  double span = spans[2] < lo ? lo : spans[2] > hi ? hi : spans[2];
  /* A quarter more, so some kills land just after the last write too. */
  span *= 1.25;

  sqn_rng_seed(&rng, 1234);
  int loads = 0, untouched = 0, midway = 0, done = 0;
  for (int run = 0; run < KILL9_RUNS; run++) {
    kill9_sim(&s);
    pid_t chat = kill9_host(&s, script, var);
    long us = (long)sqn_rng_below(&rng, (uint32_t)(span * 1e6) + 1);
    struct timespec d = {us / 1000000L, (us % 1000000L) * 1000L};
    nanosleep(&d, NULL); /* the random moment of the power cut */
    pty_sim_kill9(&s);
    kill(chat, SIGKILL);
    waitpid(chat, NULL, 0);

    struct sim_state ss;
    char err[256];
    memset(&ss, 0, sizeof ss);
    ck_assert_msg(sim_state_load(s.state, &ss, err, sizeof err) == 0,
                  "run %d (kill at %ld us): torn state: %s", run, us, err);
    loads++;
    /* Whatever the moment, the flash tells a consistent story. */
    bool success = strcmp(ss.upgrade_status, "success") == 0;
    ck_assert_msg(!success || (ss.fff.valid && ss.updater.valid),
                  "run %d: status success with an invalid slot", run);
    if (ss.fff.valid)
      ck_assert_msg(strcmp(ss.fff.version, "5.2.0.0") == 0 ||
                        strcmp(ss.fff.version, "5.1.1.0") == 0,
                    "run %d: fff %s", run, ss.fff.version);
    if (ss.writes == 0)
      untouched++;
    else if (success && ss.boot_select == SIM_BOOT_FFF)
      done++;
    else
      midway++;
    sim_state_release(&ss);
  }
  fprintf(stderr,
          "kill9: upgrade span %.0f ms; %d kills: %d before the first flash "
          "write, %d midway, %d after the upgrade\n",
          span * 1e3, KILL9_RUNS, untouched, midway, done);
  ck_assert_int_eq(loads, KILL9_RUNS);
  /* The kills really landed while the flash was being written. */
  ck_assert_msg(midway >= 5, "only %d of %d kills hit the flash writes",
                midway, KILL9_RUNS);
}
END_TEST

START_TEST(test_pty_show_and_decode_report_bad_input) {
  char dir[256], bad[300];
  pty_tmpdir(dir, sizeof dir);
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  FILE *f = fopen(bad, "w");
  ck_assert_ptr_nonnull(f);
  fputs("{\"profile\": 12\n", f);
  fclose(f);
  const char *a1[] = {SQN_SIM_BIN, "--state", bad, "--show", NULL};
  ck_assert_int_eq(pty_run(a1, out, sizeof out, 10), 3);
  ck_assert_msg(strstr(out, bad) != NULL, "%s", out);
  const char *a2[] = {SQN_SIM_BIN, "--decode", bad, NULL};
  ck_assert_int_eq(pty_run(a2, out, sizeof out, 10), 3);
  ck_assert_msg(strstr(out, ":1:") != NULL, "%s", out);
  const char *a3[] = {SQN_SIM_BIN, "--bogus", NULL};
  ck_assert_int_eq(pty_run(a3, out, sizeof out, 10), 2);
}
END_TEST

START_TEST(test_pty_trace_decodes_stp_frames) {
  struct pty_sim s;
  char trace[600];
  char tmp[256];
  pty_tmpdir(tmp, sizeof tmp);
  snprintf(trace, sizeof trace, "%s/trace.jsonl", tmp);
  const char *args[] = {"--time-scale", "0.02", "--trace", trace, NULL};
  pty_sim_start(&s, "interrupted-upgrade.json", args);
  const char *vars[] = {"PACKAGE=" PKG("lr5-5.2.0.0-48829.dup"), NULL};
  ck_assert_int_eq(pty_chat(&s, "pycom-2018-stripped", vars, out, sizeof out),
                   0);
  ck_assert_int_eq(pty_sim_stop(&s), 0);
  const char *a[] = {SQN_SIM_BIN, "--decode", trace, NULL};
  ck_assert_int_eq(pty_run(a, out, sizeof out, 10), 0);
  ck_assert_msg(strstr(out, "host -> modem") != NULL, "%.2000s", out);
  ck_assert_msg(strstr(out, "BLOCK_CMD sid 1 tid 2 plen 2 hcrc ok pcrc ok "
                            "len 1536") != NULL, "%.4000s", out);
  ck_assert_msg(strstr(out, "SESSION_OPEN|ACK") != NULL, "%.4000s", out);
}
END_TEST

/* ---- startup errors and stop signals ---- */

START_TEST(test_pty_startup_errors_name_the_cause_once) {
  char dir[256], state[300], link[300], faults[300], bad[300];
  struct stat st;
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  snprintf(link, sizeof link, "%s/nodir/lnk", dir);
  /* A --link that cannot be made: exit 1 and no state file left behind. */
  const char *a1[] = {SQN_SIM_BIN, "--state", state, "--link", link, NULL};
  ck_assert_int_eq(pty_run(a1, out, sizeof out, 10), 1);
  ck_assert_msg(strstr(out, "nodir") != NULL, "%s", out);
  ck_assert_msg(lstat(state, &st) != 0, "state file created: %s", out);
  /* A --trace that cannot be written: the new state file is taken back. */
  const char *a2[] = {SQN_SIM_BIN, "--state", state, "--trace", link, NULL};
  ck_assert_int_ne(pty_run(a2, out, sizeof out, 10), 0);
  ck_assert_msg(lstat(state, &st) != 0, "state file created: %s", out);
  /* A bad state file is named once. */
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  FILE *f = fopen(bad, "w");
  ck_assert_ptr_nonnull(f);
  fputs("# not json\n", f);
  fclose(f);
  const char *a3[] = {SQN_SIM_BIN, "--state", bad, "--time-scale", "0", NULL};
  ck_assert_int_eq(pty_run(a3, out, sizeof out, 10), 3);
  char *first = strstr(out, bad);
  ck_assert_msg(first && !strstr(first + strlen(bad), bad), "%s", out);
  const char *a4[] = {SQN_SIM_BIN, "--state", bad, "--show", NULL};
  ck_assert_int_eq(pty_run(a4, out, sizeof out, 10), 3);
  first = strstr(out, bad);
  ck_assert_msg(first && !strstr(first + strlen(bad), bad), "%s", out);
  /* A fault file with an unknown key: FILE:LINE and the valid keys. */
  snprintf(faults, sizeof faults, "%s/f.yaml", dir);
  f = fopen(faults, "w");
  ck_assert_ptr_nonnull(f);
  fputs("- name: x\n  kind: crash\n", f);
  fclose(f);
  const char *a5[] = {SQN_SIM_BIN, "--state", state, "--faults", faults,
                      NULL};
  ck_assert_int_eq(pty_run(a5, out, sizeof out, 10), 3);
  char want[400];
  snprintf(want, sizeof want, "%s:2: unknown key \"kind\" (valid keys: name, "
           "when, match,", faults);
  ck_assert_msg(strstr(out, want) != NULL, "%s", out);
  ck_assert_msg(strstr(out, "Backtrace") == NULL, "%s", out);
  ck_assert_msg(lstat(state, &st) != 0, "state file created: %s", out);
  /* --help points at the fault documentation by its real paths. */
  const char *a6[] = {SQN_SIM_BIN, "--help", NULL};
  ck_assert_int_eq(pty_run(a6, out, sizeof out, 10), 0);
  ck_assert_msg(strstr(out, "sim/include/sim/fault.h") &&
                    strstr(out, "docs/emulator.md"),
                "%s", out);
}
END_TEST

START_TEST(test_pty_chat_blames_the_port_not_the_script) {
  char dir[256], port[300];
  pty_tmpdir(dir, sizeof dir);
  snprintf(port, sizeof port, "%s/nope", dir);
  const char *argv[] = {SQN_CHAT_BIN, SQN_FIXTURES "/hosts/pycom-2018.chat",
                        port, NULL};
  ck_assert_int_eq(pty_run(argv, out, sizeof out, 10), 3);
  char want[400];
  snprintf(want, sizeof want,
           "sqn-chat: %s: No such file or directory (opening the port at "
           "step ", port);
  ck_assert_msg(strstr(out, want) != NULL, "%s", out);
}
END_TEST

/* Start sqn-sim with our own pipe, `ignore_int` mimicking a background job
 * of a non-interactive shell (SIGINT inherited as SIG_IGN); read the pty
 * line (bounded). Returns the pid, or -1 with no pty. */
static pid_t stop_sim_start(const char *state, bool ignore_int) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2(devnull, 2);
    signal(SIGINT, ignore_int ? SIG_IGN : SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execl(SQN_SIM_BIN, SQN_SIM_BIN, "--state", state, "--time-scale", "0",
          (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char line[512] = "";
  size_t got = 0;
  double end = pty_now() + 10;
  while (!strchr(line, '\n') && got < sizeof line - 1 && pty_now() < end) {
    struct pollfd pf = {p[0], POLLIN, 0};
    if (poll(&pf, 1, 10000) <= 0)
      break;
    ssize_t n = read(p[0], line + got, sizeof line - 1 - got);
    if (n <= 0)
      break;
    got += (size_t)n;
    line[got] = '\0';
  }
  close(p[0]);
  ck_assert_msg(strncmp(line, "pty: ", 5) == 0, "no pty line: '%s'", line);
  return pid;
}

/* Wait up to `bound_s` for `pid`; its wait status, or -1 (then killed). */
static int stop_sim_wait(pid_t pid, double bound_s) {
  double end = pty_now() + bound_s;
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return st;
    if (pty_now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

/* A stop signal at any moment after the "pty:" line (at once, or while the
 * serving loop is being set up) ends the emulator cleanly with exit 0 and
 * a saved state, also when SIGINT was inherited as ignored. */
START_TEST(test_pty_stop_signal_right_after_pty_line_exits_0) {
  static const long delays_us[] = {0, 0, 20, 100, 300, 1000, 3000, 10000};
  char dir[256], state[300];
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  for (int i = 0; i < 24; i++) {
    bool ignore_int = (i / 2) % 2;
    int sig = i % 2 ? SIGTERM : SIGINT;
    long us = delays_us[i % (int)(sizeof delays_us / sizeof delays_us[0])];
    pid_t pid = stop_sim_start(state, ignore_int);
    if (us) {
      struct timespec ts = {0, us * 1000};
      nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(kill(pid, sig), 0);
    int st = stop_sim_wait(pid, 5);
    ck_assert_msg(st != -1,
                  "run %d: sqn-sim still running 5 s after %s sent %ld us "
                  "after the pty line (SIGINT %s)",
                  i, sig == SIGINT ? "SIGINT" : "SIGTERM", us,
                  ignore_int ? "inherited ignored" : "default");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "run %d: %s after %ld us: status 0x%x", i,
                  sig == SIGINT ? "SIGINT" : "SIGTERM", us, st);
  }
  ASSERT_SHOW(state, "fff.valid", "true");
}
END_TEST

static Suite *pty_suite(void) {
  Suite *s = suite_create("pty");
  TCase *tc = tcase_create("hosts");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_pty_incident_three_runs_reproduce_the_report);
  tcase_add_test(tc, test_pty_flipped_byte_package_is_refused);
  tcase_add_test(tc, test_pty_desktop_fff_store_upgrades);
  tcase_add_test(tc, test_pty_desktop_on_the_fly_upgrades);
  tcase_add_test(tc, test_pty_detect_fff_reports_application_mode);
  tcase_add_test(tc, test_pty_detect_ffh_falls_back_to_115200);
  tcase_add_test(tc, test_pty_updater_elf_then_package_upgrades);
  tcase_add_test(tc, test_pty_walter_mota_upgrades_gm02s);
  tcase_add_test(tc, test_pty_walter_espidf_recovers_gm02s);
  tcase_add_test(tc, test_pty_microchip_upgrades_gm02s);
  suite_add_tcase(s, tc);
  TCase *line = tcase_create("line");
  tcase_set_timeout(line, 120); /* kill9 runs 103 sims: slow under ASan on a loaded machine */
  tcase_add_test(line, test_pty_node_is_owner_only_and_link_follows_lifetime);
  tcase_add_test(line, test_pty_link_over_regular_file_is_refused);
  tcase_add_test(line, test_pty_reopen_keeps_the_modem);
  tcase_add_test(line, test_pty_wrong_baud_sees_garbage_and_ipr_switches);
  tcase_add_test(line, test_pty_random_bytes_and_vanishing_host_never_crash);
  tcase_add_test(line, test_pty_kill9_during_upgrade_never_tears_state);
  tcase_add_test(line, test_pty_show_and_decode_report_bad_input);
  tcase_add_test(line, test_pty_trace_decodes_stp_frames);
  tcase_add_test(line, test_pty_startup_errors_name_the_cause_once);
  tcase_add_test(line, test_pty_chat_blames_the_port_not_the_script);
  tcase_add_test(line, test_pty_stop_signal_right_after_pty_line_exits_0);
  suite_add_tcase(s, line);
  /* Issue 16, run by ctest as test_pty_rates (tag "rates": the ctest
   * entries include and exclude it with CK_INCLUDE_TAGS / CK_EXCLUDE_TAGS). */
  TCase *rates = tcase_create("rates");
  tcase_set_tags(rates, "rates");
  tcase_set_timeout(rates, 60);
  tcase_add_test(rates, test_pty_every_rate_mismatch_garbles_and_ipr_follows);
  tcase_add_test(rates, test_pty_cooked_host_is_left_its_line_discipline);
  tcase_add_test(rates, test_pty_updater_at_3686400_fails_at_fff_boot);
  tcase_add_test(rates, test_pty_updater_at_460800_fails_at_fff_boot);
  tcase_add_test(rates, test_pty_updater_at_921600_completes);
  suite_add_tcase(s, rates);
  return s;
}

int main(void) {
  pty_require_openpty();
  pty_session_begin();
  SRunner *sr = srunner_create(pty_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

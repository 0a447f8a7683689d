/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-update as a program: bad input is refused with the right exit code and
 * a message naming the file / port before any byte is sent, and (when
 * sqn-sim is built and a pty can be opened) a real upgrade over a pty
 * against the emulator, checked in the emulator's saved state file.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_ext.h"

#ifndef SQN_UPDATE_BIN
#error "SQN_UPDATE_BIN must name the sqn-update binary"
#endif

/* ---- instances and fixtures ---------------------------------------------- */

static char tmpdir[] = "/tmp/sqn_cli_XXXXXX";
static char out[16384];

/* Run argv; capture stdout+stderr into `out`; return the exit status. The
 * child's own timeouts bound it; a 60 s alarm guards against a hang. */
static int run(const char *const *argv) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[0]);
    alarm(60);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  size_t len = 0;
  ssize_t n;
  while ((n = read(p[0], out + len, sizeof out - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = '\0';
  close(p[0]);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st), "sqn-update died: %s", out);
  return WEXITSTATUS(st);
}

static void write_file(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
  fclose(f);
}

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(tmpdir)); }

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  strcpy(tmpdir, "/tmp/sqn_cli_XXXXXX");
}

#define PKG SQN_FIXTURES "/packages/lr5-5.2.0.0-48829.dup"

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_update_cli_help_lists_exit_codes) {
  const char *argv[] = {SQN_UPDATE_BIN, "--help", NULL};
  ck_assert_int_eq(run(argv), 0);
  ck_assert(strstr(out, "Exit codes:") != NULL);
  ck_assert(strstr(out, "10  modem did not finish applying") != NULL);
}
END_TEST

START_TEST(test_update_cli_missing_file_exit_3) {
  const char *argv[] = {SQN_UPDATE_BIN, "--port", "/dev/null",
                        "/nonexistent/x.dup", NULL};
  ck_assert_int_eq(run(argv), 3);
  ck_assert(strstr(out, "E_IMAGE_NOT_FOUND") != NULL);
  ck_assert(strstr(out, "/nonexistent/x.dup") != NULL);
}
END_TEST

START_TEST(test_update_cli_small_file_exit_3) {
  char path[256];
  snprintf(path, sizeof path, "%s/small.dup", tmpdir);
  write_file(path, "CABA", 4);
  const char *argv[] = {SQN_UPDATE_BIN, "--port", "/dev/null", path, NULL};
  ck_assert_int_eq(run(argv), 3);
  ck_assert(strstr(out, "E_IMAGE_TRUNCATED") != NULL);
}
END_TEST

START_TEST(test_update_cli_corrupt_package_names_record_exit_3) {
  char path[256];
  size_t len;
  uint8_t *b = sqn_read_file(PKG, &len);
  ck_assert_ptr_nonnull(b);
  b[5000] ^= 0x01;
  snprintf(path, sizeof path, "%s/bad.dup", tmpdir);
  write_file(path, b, len);
  free(b);
  /* The port is bogus too: the package is checked first. */
  const char *argv[] = {SQN_UPDATE_BIN, "--port", "/nonexistent/tty", path,
                        NULL};
  ck_assert_int_eq(run(argv), 3);
  ck_assert(strstr(out, "E_IMAGE_INVALID") != NULL);
  ck_assert(strstr(out, "record 'UPGR' at offset") != NULL);
}
END_TEST

START_TEST(test_update_cli_bad_port_exit_4) {
  const char *argv[] = {SQN_UPDATE_BIN, "--port", "/nonexistent/tty", PKG,
                        NULL};
  ck_assert_int_eq(run(argv), 4);
  /* The cause is in the FAILED line itself, not only in a line before. */
  ck_assert_msg(strstr(out, "FAILED: E_PORT: ") &&
                    strstr(strstr(out, "FAILED: E_PORT: "),
                           "/nonexistent/tty: No such file or directory"),
                "%s", out);
  const char *argv2[] = {SQN_UPDATE_BIN, "--port", "/dev/null", PKG, NULL};
  ck_assert_int_eq(run(argv2), 4);
  ck_assert_msg(strstr(out, "FAILED: E_PORT: ") &&
                    strstr(strstr(out, "FAILED: E_PORT: "),
                           "/dev/null: not a tty"),
                "%s", out);
  /* --json: the DONE event's text names the cause too. */
  const char *argv3[] = {SQN_UPDATE_BIN, "--json", "--port",
                         "/nonexistent/tty", PKG, NULL};
  ck_assert_int_eq(run(argv3), 4);
  const char *done = strstr(out, "\"event\":\"DONE\"");
  ck_assert_msg(done && strstr(done, "/nonexistent/tty: No such file"), "%s",
                out);
}
END_TEST

START_TEST(test_update_cli_legacy_positional_exit_2) {
  const char *argv[] = {SQN_UPDATE_BIN, PKG, "921600", NULL};
  ck_assert_int_eq(run(argv), 2);
  ck_assert(strstr(out, "E_BAD_ARGUMENTS") != NULL);
  const char *argv2[] = {SQN_UPDATE_BIN, "--port", "/dev/null",
                         "--timeout-scale", "abc", PKG, NULL};
  ck_assert_int_eq(run(argv2), 2);
  /* File names (PART1 PART2, then an extra one) are not a rate: no --baud
   * hint for them. */
  const char *argv3[] = {SQN_UPDATE_BIN, "--port", "/dev/null", PKG,
                         "b.dup", "c.dup", NULL};
  ck_assert_int_eq(run(argv3), 2);
  ck_assert_msg(strstr(out, "'c.dup'") && !strstr(out, "--baud"), "%s", out);
  const char *argv4[] = {SQN_UPDATE_BIN, "--port", "/dev/null", PKG,
                         "b.dup", NULL};
  run(argv4);
  ck_assert_msg(!strstr(out, "--baud"), "%s", out);
}
END_TEST

START_TEST(test_update_cli_bad_option_logs_done_exit_2) {
  /* The --log file gets the final report even when the command line is
   * wrong, wherever --log stands (a harness reads only that file). */
  char log[256], *text;
  size_t len;
  snprintf(log, sizeof log, "%s/run.log", tmpdir);
  const char *argv[] = {SQN_UPDATE_BIN, "--port", "/dev/null",
                        "--no-such-option", "--log", log, PKG, NULL};
  ck_assert_int_eq(run(argv), 2);
  text = (char *)sqn_read_file(log, &len);
  ck_assert_ptr_nonnull(text);
  ck_assert_msg(strstr(text, " DONE ") && strstr(text, "E_BAD_ARGUMENTS"),
                "log: %s", text);
  free(text);
  const char *argv2[] = {SQN_UPDATE_BIN, "--port", "/dev/null", "--method",
                         "carrier-pigeon", PKG, NULL};
  ck_assert_int_eq(run(argv2), 2);
  ck_assert(strstr(out, "--method") != NULL);
  const char *argv3[] = {SQN_UPDATE_BIN, "--help", NULL};
  ck_assert_int_eq(run(argv3), 0);
  ck_assert(strstr(out, "--method M") != NULL);
}
END_TEST

#ifdef SQN_SIM_BIN
/* Start sqn-sim on `state_fixture` (copied to tmpdir); its pty path goes to
 * `pty`. False (skip) when no pty can be had. */
static const char *sim_trace; /* --trace FILE for the next start_sim */

static bool start_sim(const char *state_fixture, char *pty, size_t cap,
                      pid_t *pid, int *fd) {
  char state[256], line[512] = "";
  size_t len;
  snprintf(state, sizeof state, "%s/modem.json", tmpdir);
  uint8_t *b = sqn_read_file(state_fixture, &len);
  ck_assert_ptr_nonnull(b);
  write_file(state, b, len);
  free(b);
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t sim = fork();
  ck_assert_int_ge(sim, 0);
  if (sim == 0) {
    dup2(p[1], 1);
    close(p[0]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    if (sim_trace)
      execl(SQN_SIM_BIN, SQN_SIM_BIN, "--state", state, "--time-scale",
            "0.01", "--trace", sim_trace, (char *)NULL);
    else
      execl(SQN_SIM_BIN, SQN_SIM_BIN, "--state", state, "--time-scale", "0.01",
            (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  size_t got = 0;
  while (!strchr(line, '\n') && got < sizeof line - 1) {
    struct pollfd pf = {p[0], POLLIN, 0};
    if (poll(&pf, 1, 10000) <= 0)
      break;
    ssize_t n = read(p[0], line + got, sizeof line - 1 - got);
    if (n <= 0)
      break;
    got += (size_t)n;
    line[got] = '\0';
  }
  char *nl = strchr(line, '\n');
  if (!nl || strncmp(line, "pty: ", 5) != 0) {
    kill(sim, SIGTERM);
    waitpid(sim, NULL, 0);
    close(p[0]);
    fprintf(stderr, "sqn-sim gave no pty (%s): skipping\n", line);
    return false;
  }
  *nl = '\0';
  ck_assert_uint_lt(strlen(line + 5), cap);
  memcpy(pty, line + 5, strlen(line + 5) + 1);
  *pid = sim;
  *fd = p[0];
  return true;
}

START_TEST(test_update_cli_info_reads_sqn_sim_over_pty) {
  char pty[512];
  pid_t sim;
  int fd;
  if (!start_sim(SQN_FIXTURES "/states/healthy.json", pty, sizeof pty, &sim,
                 &fd))
    return; /* no pty on this machine */
  const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                        "0.05", "--info", NULL};
  int rc = run(argv);
  kill(sim, SIGTERM);
  waitpid(sim, NULL, 0);
  close(fd);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
  ck_assert_msg(strstr(out, "mode=FFF") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "LR5.1.1.0-33988") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "33080") != NULL, "no bootloader: %s", out);
}
END_TEST

START_TEST(test_update_cli_upgrades_sqn_sim_over_pty) {
  char state[256], pty[512];
  pid_t sim;
  int fd;
  size_t len;
  uint8_t *b;
  snprintf(state, sizeof state, "%s/modem.json", tmpdir);
  if (!start_sim(SQN_FIXTURES "/states/interrupted-upgrade.json", pty,
                 sizeof pty, &sim, &fd))
    return; /* no pty on this machine */
  const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                        "0.05", PKG, NULL};
  int rc = run(argv);
  kill(sim, SIGTERM);
  waitpid(sim, NULL, 0);
  close(fd);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
  ck_assert(strstr(out, "upgrade verified: modem runs LR5.2.0.0-48829") != NULL);
  /* The transfer is announced as not power-safe, and no line of it says
   * otherwise without a power-safety change line first. */
  ck_assert_msg(strstr(out, "== transferring the package (DO NOT remove "
                            "power)") != NULL, "%s", out);
  ck_assert_msg(!strstr(out, "transferring the package (power may be removed)"),
                "%s", out);
  /* The emulator's own flash says so too. */
  b = sqn_read_file(state, &len);
  ck_assert_ptr_nonnull(b);
  ck_assert(strstr((char *)b, "\"5.2.0.0\"") != NULL);
  ck_assert(strstr((char *)b, "48829") != NULL);
  free(b);
}
END_TEST

START_TEST(test_update_cli_json_transfer_phase_is_not_power_safe) {
  char pty[512];
  pid_t sim;
  int fd;
  if (!start_sim(SQN_FIXTURES "/states/interrupted-upgrade.json", pty,
                 sizeof pty, &sim, &fd))
    return; /* no pty on this machine */
  const char *argv[] = {SQN_UPDATE_BIN, "--json", "--port", pty,
                        "--timeout-scale", "0.05", PKG, NULL};
  int rc = run(argv);
  kill(sim, SIGTERM);
  waitpid(sim, NULL, 0);
  close(fd);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
  /* The PHASE event carries the safety of the phase: the transfer is not
   * power-safe, and no event of it contradicts that in this run. */
  int phase_events = 0, transfer_events = 0;
  for (char *l = out; l && *l;) {
    char *nl = strchr(l, '\n');
    if (nl)
      *nl = '\0';
    if (strstr(l, "\"phase\":\"TRANSFER\"")) {
      transfer_events++;
      if (strstr(l, "\"event\":\"PHASE\""))
        phase_events++;
      ck_assert_msg(strstr(l, "\"power_safe\":false") != NULL, "%s", l);
    }
    l = nl ? nl + 1 : NULL;
  }
  ck_assert_int_eq(phase_events, 1);
  ck_assert_int_gt(transfer_events, 1);
}
END_TEST

static void stop_sim(pid_t sim, int fd) {
  kill(sim, SIGTERM);
  waitpid(sim, NULL, 0);
  close(fd);
}

/* A terminal (or any program) holding the port with flock, as picocom and
 * ModemManager do: sqn-update exits with the busy code, names the holder,
 * and the emulator never sees a byte. */
START_TEST(test_update_cli_locked_port_busy_exit_13_nothing_sent) {
  char pty[512], trace[300], who[64];
  pid_t sim;
  int fd, hold;
  size_t len;
  snprintf(trace, sizeof trace, "%s/trace.jsonl", tmpdir);
  sim_trace = trace;
  bool ok = start_sim(SQN_FIXTURES "/states/healthy.json", pty, sizeof pty,
                      &sim, &fd);
  sim_trace = NULL;
  if (!ok)
    return;
  hold = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK);
  ck_assert_int_ge(hold, 0);
  ck_assert_int_eq(flock(hold, LOCK_EX | LOCK_NB), 0);
  const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                        "0.05", PKG, NULL};
  int rc = run(argv);
  close(hold);
  stop_sim(sim, fd);
  ck_assert_msg(rc == 13, "exit %d: %s", rc, out);
  ck_assert_msg(strstr(out, "E_PORT_BUSY") && strstr(out, "nothing was sent"),
                "%s", out);
  snprintf(who, sizeof who, "pid %ld", (long)getpid());
  ck_assert_msg(strstr(out, who), "holder not named: %s", out);
  char *t = (char *)sqn_read_file(trace, &len);
  ck_assert_ptr_nonnull(t);
  ck_assert_msg(!strstr(t, "\"kind\":\"at<\""), "bytes reached the modem: %s",
                t);
  free(t);
}
END_TEST

/* Two sqn-update at once on one port: exactly one runs (and succeeds), the
 * other exits 13 before sending a byte. */
START_TEST(test_update_cli_two_updaters_one_runs) {
  char pty[512];
  pid_t sim, first;
  int fd, probe, st;
  if (!start_sim(SQN_FIXTURES "/states/healthy.json", pty, sizeof pty, &sim,
                 &fd))
    return;
  first = fork();
  ck_assert_int_ge(first, 0);
  if (first == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    alarm(60);
    execl(SQN_UPDATE_BIN, SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
          "0.05", PKG, (char *)NULL);
    _exit(127);
  }
  /* Wait (bounded: 10 s) until the first one holds the port. */
  probe = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK);
  ck_assert_int_ge(probe, 0);
  bool held = false;
  for (int i = 0; i < 2000 && !held; i++) {
    if (flock(probe, LOCK_EX | LOCK_NB) == 0) {
      flock(probe, LOCK_UN);
      struct timespec ts = {0, 5 * 1000000L};
      nanosleep(&ts, NULL);
    } else {
      held = true;
    }
  }
  close(probe);
  ck_assert_msg(held, "the first sqn-update never took the port");
  const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                        "0.05", PKG, NULL};
  int rc = run(argv);
  ck_assert_int_eq(waitpid(first, &st, 0), first);
  stop_sim(sim, fd);
  ck_assert_msg(rc == 13, "second: exit %d: %s", rc, out);
  ck_assert(WIFEXITED(st));
  ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* --skip-if-current: a modem that already runs the package's version and
 * build is left alone (exit 0, the emulator's trace shows no STP session),
 * and every output path says so; without the flag the same-version reflash
 * is announced. */
START_TEST(test_update_cli_skip_if_current_writes_nothing) {
  char state[256], current[256], pty[512], trace[300];
  pid_t sim;
  int fd, rc;
  size_t len;
  uint8_t *b;
  snprintf(state, sizeof state, "%s/modem.json", tmpdir);
  snprintf(current, sizeof current, "%s/current.json", tmpdir);
  snprintf(trace, sizeof trace, "%s/trace.jsonl", tmpdir);
  /* A modem on the package's version: upgrade one first. */
  if (!start_sim(SQN_FIXTURES "/states/healthy.json", pty, sizeof pty, &sim,
                 &fd))
    return;
  const char *up[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                      "0.05", PKG, NULL};
  rc = run(up);
  stop_sim(sim, fd);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
  b = sqn_read_file(state, &len);
  ck_assert_ptr_nonnull(b);
  write_file(current, b, len);
  free(b);
  /* plain and --json, each against a fresh emulator with a trace */
  for (int json = 0; json < 2; json++) {
    unlink(trace);
    sim_trace = trace;
    bool ok = start_sim(current, pty, sizeof pty, &sim, &fd);
    sim_trace = NULL;
    ck_assert(ok);
    const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                          "0.05", "--skip-if-current",
                          json ? "--json" : PKG, json ? PKG : NULL, NULL};
    rc = run(argv);
    stop_sim(sim, fd);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_msg(strstr(out, "already runs LR5.2.0.0-48829") &&
                      strstr(out, "nothing written"),
                  "%s", out);
    if (json)
      ck_assert_msg(strstr(out, "\"event\":\"DONE\",\"phase\"") ||
                        strstr(out, "\"event\":\"DONE\""),
                    "%s", out);
    char *t = (char *)sqn_read_file(trace, &len);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(strstr(t, "\"kind\":\"at<\""), "no AT at all: %s", t);
    ck_assert_msg(!strstr(t, "\"kind\":\"stp<\""),
                  "an STP session was opened: %s", t);
    ck_assert_msg(!strstr(t, "SMSWBOOT") && !strstr(t, "SMSTPU"),
                  "the modem was switched or armed: %s", t);
    free(t);
  }
  /* Without the flag: reflashed, and announced. */
  ck_assert(start_sim(current, pty, sizeof pty, &sim, &fd));
  rc = run(up);
  stop_sim(sim, fd);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
  ck_assert_msg(strstr(out, "already runs LR5.2.0.0-48829") &&
                    strstr(out, "reflashing it"),
                "%s", out);
}
END_TEST

/* --log of an upgrade is a full trace a reader can follow: every line the
 * emulator sent (its trace's "at>" records) is in it as text, every STP
 * frame both ways is one decoded line (op, sid, tid, length, CRC verdicts),
 * binary payloads are in hex, and the file itself is plain text. */
START_TEST(test_update_cli_log_decodes_stp_and_every_at_reply) {
  char pty[512], trace[300], logp[300];
  pid_t sim;
  int fd, rc;
  size_t len, llen;
  snprintf(trace, sizeof trace, "%s/trace.jsonl", tmpdir);
  snprintf(logp, sizeof logp, "%s/run.log", tmpdir);
  sim_trace = trace;
  bool ok = start_sim(SQN_FIXTURES "/states/interrupted-upgrade.json", pty,
                      sizeof pty, &sim, &fd);
  sim_trace = NULL;
  if (!ok)
    return;
  const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                        "0.05", "--log", logp, PKG, NULL};
  rc = run(argv);
  stop_sim(sim, fd);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
  char *log = (char *)sqn_read_file(logp, &llen);
  char *t = (char *)sqn_read_file(trace, &len);
  ck_assert_ptr_nonnull(log);
  ck_assert_ptr_nonnull(t);
  for (size_t i = 0; i < llen; i++)
    ck_assert_msg((log[i] >= 0x20 && log[i] < 0x7f) || log[i] == '\n' ||
                      (unsigned char)log[i] >= 0x80 /* UTF-8 arrows */,
                  "byte 0x%02x at %zu of the log is not text", log[i], i);
  static const char *const frames[] = {
      "STP> OPEN sid 1 tid ", "STP< OPEN|ACK sid 1 tid ",
      "STP> BLOCK sid 1 tid ", "STP< BLOCK|ACK sid 1 tid ",
      "STP> RESET sid 1 tid ", "STP< RESET|ACK sid 1 tid "};
  for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
    ck_assert_msg(strstr(log, frames[i]), "no '%s' in\n%s", frames[i], log);
  ck_assert_msg(strstr(log, "pcrc ") && strstr(log, " ok") &&
                    strstr(log, "len 4 hcrc ") && strstr(log, "payload 01 01"),
                "%s", log);
  unsigned replies = 0;
  for (char *l = t; l && *l;) {
    char *nl = strchr(l, '\n');
    if (nl)
      *nl = '\0';
    char *k = strstr(l, "\"kind\":\"at>\",\"text\":\"");
    if (k) {
      char text[256], n1[300], n2[300], n3[300];
      k += strlen("\"kind\":\"at>\",\"text\":\"");
      size_t n = strcspn(k, "\"");
      ck_assert_uint_lt(n, sizeof text);
      memcpy(text, k, n);
      text[n] = '\0';
      snprintf(n1, sizeof n1, "at< %s\n", text);
      snprintf(n2, sizeof n2, "at< %s (", text);
      snprintf(n3, sizeof n3, "urc %s\n", text);
      ck_assert_msg(strstr(log, n1) || strstr(log, n2) || strstr(log, n3),
                    "the modem's '%s' is not in the log:\n%s", text, log);
      replies++;
    }
    l = nl ? nl + 1 : NULL;
  }
  ck_assert_uint_gt(replies, 5);
  free(t);
  free(log);
}
END_TEST

/* Start sqn-sim on a copy of `state_fixture` with --link `link`; wait
 * (bounded) for its pty line. */
static bool start_sim_link(const char *state_fixture, const char *profile,
                           const char *link, pid_t *pid, int *fd) {
  char state[256], line[512] = "";
  size_t len, got = 0;
  snprintf(state, sizeof state, "%s/modem-link.json", tmpdir);
  unlink(state);
  if (state_fixture) {
    uint8_t *b = sqn_read_file(state_fixture, &len);
    ck_assert_ptr_nonnull(b);
    write_file(state, b, len);
    free(b);
  }
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t sim = fork();
  ck_assert_int_ge(sim, 0);
  if (sim == 0) {
    dup2(p[1], 1);
    close(p[0]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execl(SQN_SIM_BIN, SQN_SIM_BIN, "--state", state, "--profile", profile,
          "--link", link, "--time-scale", "0.01", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  while (!strchr(line, '\n') && got < sizeof line - 1) {
    struct pollfd pf = {p[0], POLLIN, 0};
    if (poll(&pf, 1, 10000) <= 0)
      break;
    ssize_t n = read(p[0], line + got, sizeof line - 1 - got);
    if (n <= 0)
      break;
    got += (size_t)n;
    line[got] = '\0';
  }
  if (strncmp(line, "pty: ", 5) != 0) {
    kill(sim, SIGTERM);
    waitpid(sim, NULL, 0);
    close(p[0]);
    return false;
  }
  *pid = sim;
  *fd = p[0];
  return true;
}

/* The per-port journal: a GM02S seen running LR8 on a port (here the
 * emulator's --link name) is known to be a Monarch 2 when it is later
 * found in RECOVERY, where ATI1 answers ERROR: an LR5 (Monarch 1) package
 * is refused before any write. The state folder starts out missing, parents
 * and all, as on a fresh account without ~/.local. */
START_TEST(test_update_cli_journal_refuses_chip_mismatch_in_recovery) {
  char link[300], env[320], jdir[300];
  pid_t sim;
  int fd;
  snprintf(link, sizeof link, "%s/ttyMODEM", tmpdir);
  snprintf(jdir, sizeof jdir, "%s/fresh-home/.local/state", tmpdir);
  snprintf(env, sizeof env, "XDG_STATE_HOME=%s", jdir);
  putenv(env);
  if (!start_sim_link(NULL, "gm02s", link, &sim, &fd))
    return;
  const char *info[] = {SQN_UPDATE_BIN, "--port", link, "--timeout-scale",
                        "0.05", "--info", NULL};
  int rc = run(info);
  stop_sim(sim, fd);
  ck_assert_msg(rc == 0, "info: exit %d: %s", rc, out);
  ck_assert_msg(strstr(out, "LR8"), "%s", out);
  ck_assert(start_sim_link(SQN_FIXTURES "/states/gm02s-recovery.json", "gm02s",
                           link, &sim, &fd));
  const char *up[] = {SQN_UPDATE_BIN, "--port", link, "--timeout-scale", "0.05",
                      PKG, NULL};
  rc = run(up);
  stop_sim(sim, fd);
  unsetenv("XDG_STATE_HOME");
  ck_assert_msg(rc == 6, "exit %d: %s", rc, out);
  ck_assert_msg(strstr(out, "E_CHIP_MISMATCH") && strstr(out, "from the journal"),
                "%s", out);
}
END_TEST

#ifdef SQN_DUP_BIN
/* Run sqn-update --json on `pty` and kill -9 it once its package progress
 * reaches `at` bytes (mid-push); returns the bytes it had reported. */
static unsigned long long kill_mid_push(const char *pty, const char *pkg,
                                        unsigned long long at) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(p[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(p[0]);
    alarm(60);
    execl(SQN_UPDATE_BIN, SQN_UPDATE_BIN, "--port", pty, "--json",
          "--timeout-scale", "0.05", pkg, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char buf[8192];
  size_t len = 0;
  unsigned long long done = 0;
  bool killed = false;
  for (;;) {
    ssize_t n = read(p[0], buf + len, sizeof buf - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    char *nl, *line = buf;
    while ((nl = strchr(line, '\n'))) {
      *nl = '\0';
      const char *d = strstr(line, "\"done\":");
      if (d && !strstr(line, "\"updater\":true"))
        done = strtoull(d + 7, NULL, 10);
      line = nl + 1;
      if (!killed && done >= at) {
        kill(pid, SIGKILL);
        killed = true;
      }
    }
    memmove(buf, line, strlen(line) + 1);
    len = strlen(buf);
    if (len >= sizeof buf - 1)
      len = 0;
  }
  close(p[0]);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(killed, "the run ended before %llu bytes (at %llu)", at, done);
  return done;
}

/* After kill -9 of sqn-update mid-push (20 seeded points), a rerun
 * recovers the modem without a power cycle every time: the rerun finds the
 * modem silent in STP and sends the STP RESET sequence (protocol.md 4). */
START_TEST(test_update_cli_kill9_mid_push_rerun_recovers) {
  char pty[512], pkg[300], state[300];
  pid_t sim;
  int fd;
  const unsigned long long size = 262144;
  snprintf(pkg, sizeof pkg, "%s/big.dup", tmpdir);
  const char *mk[] = {SQN_DUP_BIN, "build", "--version", "5.2.0.0", "--build",
                      "48829", "--size", "262144", "-o", pkg, NULL};
  ck_assert_int_eq(run(mk), 0);
  snprintf(state, sizeof state, "%s/modem.json", tmpdir);
  uint64_t seed = 0x10u;
  for (int k = 0; k < 20; k++) {
    if (!start_sim(SQN_FIXTURES "/states/healthy.json", pty, sizeof pty, &sim,
                   &fd))
      return;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    unsigned long long at = 8192 + (seed >> 33) % (size - 16384);
    unsigned long long got = kill_mid_push(pty, pkg, at);
    const char *argv[] = {SQN_UPDATE_BIN, "--port", pty, "--timeout-scale",
                          "0.05", pkg, NULL};
    int rc = run(argv);
    stop_sim(sim, fd);
    ck_assert_msg(rc == 0, "point %d (killed at %llu of %llu bytes): exit %d: %s",
                  k, got, size, rc, out);
    ck_assert_msg(strstr(out, "upgrade verified: modem runs LR5.2.0.0-48829"),
                  "point %d: %s", k, out);
  }
}
END_TEST
#endif
#endif

/* --log onto the package (the log name forgotten) is refused and the
 * package stays intact; a FIFO package and an empty updater are refused up
 * front; a --port symlink to a non-tty is refused. */
START_TEST(test_update_cli_inputs_never_damaged) {
  char pkg[300], fifo[300], elf[300], link[300];
  size_t len0, len1;
  uint8_t *b0 = sqn_read_file(PKG, &len0), *b1;
  ck_assert_ptr_nonnull(b0);
  snprintf(pkg, sizeof pkg, "%s/fw.dup", tmpdir);
  write_file(pkg, b0, len0);
  const char *a1[] = {SQN_UPDATE_BIN, "--port", "/dev/null", "--log", pkg,
                      pkg, NULL};
  ck_assert_int_eq(run(a1), 2);
  ck_assert_msg(strstr(out, "refusing to overwrite"), "%s", out);
  b1 = sqn_read_file(pkg, &len1);
  ck_assert_ptr_nonnull(b1);
  ck_assert_uint_eq(len0, len1);
  ck_assert(memcmp(b0, b1, len0) == 0);
  free(b1);
  free(b0);
  snprintf(fifo, sizeof fifo, "%s/fifo.dup", tmpdir);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  const char *a2[] = {SQN_UPDATE_BIN, "--port", "/dev/null", fifo, NULL};
  ck_assert_int_eq(run(a2), 3);
  ck_assert_msg(strstr(out, "a FIFO"), "%s", out);
  snprintf(elf, sizeof elf, "%s/empty.elf", tmpdir);
  write_file(elf, "", 0);
  const char *a3[] = {SQN_UPDATE_BIN, "--port", "/dev/null", "--updater", elf,
                      PKG, NULL};
  ck_assert_int_eq(run(a3), 3);
  ck_assert_msg(strstr(out, "E_UPDATER_INVALID") && strstr(out, "0 bytes"),
                "%s", out);
  snprintf(link, sizeof link, "%s/ttyFAKE", tmpdir);
  ck_assert_int_eq(symlink(pkg, link), 0);
  const char *a4[] = {SQN_UPDATE_BIN, "--port", link, PKG, NULL};
  ck_assert_int_eq(run(a4), 4);
  ck_assert_msg(strstr(out, "which is not a tty"), "%s", out);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

int main(void) {
  Suite *s = suite_create("update_cli");
  TCase *tc = tcase_create("cli");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_update_cli_help_lists_exit_codes);
  tcase_add_test(tc, test_update_cli_missing_file_exit_3);
  tcase_add_test(tc, test_update_cli_small_file_exit_3);
  tcase_add_test(tc, test_update_cli_corrupt_package_names_record_exit_3);
  tcase_add_test(tc, test_update_cli_bad_port_exit_4);
  tcase_add_test(tc, test_update_cli_legacy_positional_exit_2);
  tcase_add_test(tc, test_update_cli_bad_option_logs_done_exit_2);
  tcase_add_test(tc, test_update_cli_inputs_never_damaged);
#ifdef SQN_SIM_BIN
  tcase_add_test(tc, test_update_cli_upgrades_sqn_sim_over_pty);
  tcase_add_test(tc, test_update_cli_info_reads_sqn_sim_over_pty);
  tcase_add_test(tc, test_update_cli_json_transfer_phase_is_not_power_safe);
  tcase_add_test(tc, test_update_cli_locked_port_busy_exit_13_nothing_sent);
  tcase_add_test(tc, test_update_cli_two_updaters_one_runs);
  tcase_add_test(tc, test_update_cli_skip_if_current_writes_nothing);
  tcase_add_test(tc, test_update_cli_log_decodes_stp_and_every_at_reply);
  tcase_add_test(tc, test_update_cli_journal_refuses_chip_mismatch_in_recovery);
#ifdef SQN_DUP_BIN
  {
    /* 20 kill -9 points, each with a rerun: its own, longer bound */
    TCase *tk = tcase_create("kill9");
    tcase_set_timeout(tk, 200);
    tcase_add_checked_fixture(tk, setup, teardown);
    tcase_add_test(tk, test_update_cli_kill9_mid_push_rerun_recovers);
    suite_add_tcase(s, tk);
  }
#endif
#endif
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

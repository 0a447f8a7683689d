/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsqnup on a microcontroller: the example firmware (examples/mcu),
 * cross-built for Cortex-M3, runs in QEMU's mps2-an385 and upgrades
 * sqn-sim over a pseudo-terminal, invoked exactly as documented:
 *
 *   qemu-system-arm -M mps2-an385 -nographic -monitor none
 *     -semihosting-config enable=on,target=native,arg=sqnup-mcu,arg=PKG...
 *     -kernel sqnup-mcu.elf -chardev serial,id=m,path=PTY -serial chardev:m
 *
 * Evidence is the modem's own: `sqn-sim --show --json` on its state file
 * after it exited, and its trace (the rate the host set, what crossed the
 * line). Skips (77) when the cross build or QEMU is missing.
 *
 * Time: sqn-sim at --time-scale 0.02, the firmware at --timeout-scale 0.2,
 * as test_pty_update does with sqn-update.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_ext.h"
#include "pty_util.h"
#include "sqnup/err.h"

#define SIM_SCALE "0.02"
#define FW_SCALE "0.2"

static char pkgdir[256];
static char pkg_lr5[512], pkg_lr8[512], pkg_big[512], pkg_corrupt[512];
static char pkg_old[512];
static char out[65536];

#define ASSERT_SHOW(st, key, want)                                           \
  do {                                                                       \
    char v_[128];                                                            \
    ck_assert_msg(pty_show_get((st), (key), v_, sizeof v_) == 0,             \
                  "--show --json has no %s", (key));                         \
    ck_assert_msg(strcmp(v_, (want)) == 0, "%s is '%s', want '%s'", (key),   \
                  v_, (want));                                               \
  } while (0)

/* ---- packages (built once, in the parent) ---- */

static void mcu_dup(const char *version, const char *build, const char *size,
                    char *path, size_t cap, const char *name) {
  snprintf(path, cap, "%s/%s", pkgdir, name);
  const char *argv[] = {SQN_DUP_BIN, "build", "--version", version, "--build",
                        build, size ? "--size" : "-o", size ? size : path,
                        size ? "-o" : NULL, path, NULL};
  int rc = pty_run(argv, out, sizeof out, 20);
  ck_assert_msg(rc == 0, "sqn-dup build %s: rc %d\n%s", version, rc, out);
}

static void mcu_packages(void) {
  size_t len;
  if (pkgdir[0])
    return;
  pty_tmpdir(pkgdir, sizeof pkgdir);
  mcu_dup("5.2.0.0", "48829", NULL, pkg_lr5, sizeof pkg_lr5, "lr5.dup");
  mcu_dup("8.2.1.0", "61488", NULL, pkg_lr8, sizeof pkg_lr8, "lr8.dup");
  /* Older than healthy's 5.1.1.0 [33988]: a downgrade. */
  mcu_dup("5.1.0.0", "30000", NULL, pkg_old, sizeof pkg_old, "old.dup");
  /* 25 STP blocks: a power cut at 40 % falls inside the push. */
  mcu_dup("5.2.0.0", "48829", "200000", pkg_big, sizeof pkg_big, "big.dup");
  uint8_t *pkg = sqn_read_file(pkg_lr5, &len);
  ck_assert_ptr_nonnull(pkg);
  pkg[len / 2] ^= 0x01; /* one bit inside the fff image */
  snprintf(pkg_corrupt, sizeof pkg_corrupt, "%s/corrupt.dup", pkgdir);
  FILE *f = fopen(pkg_corrupt, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(pkg, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
  free(pkg);
}

/* ---- the modem ---- */

struct mcu_modem {
  struct pty_sim sim;
  char dir[256], trace[512];
};

static void mcu_modem_start(struct mcu_modem *m, const char *state,
                            const char *faults) {
  pty_tmpdir(m->dir, sizeof m->dir);
  snprintf(m->trace, sizeof m->trace, "%s/trace.jsonl", m->dir);
  const char *args[] = {"--time-scale", SIM_SCALE, "--trace", m->trace,
                        faults ? "--faults" : NULL, faults, NULL};
  pty_sim_start(&m->sim, state, args);
  ck_assert_msg(pty_file_wait(m->trace, "\"up: SMOD", 10),
                "sqn-sim did not finish booting within 10 s");
}

struct mcu_trace {
  int at_rx, stp_rx, drops, flash, faults;
  char rates[256]; /* the host's rate each time it spoke at a new one */
  char last_up[128];
};

/* The host's rate after a "line" event that names it, or NULL. sqn-sim
 * reports every termios change exactly, QEMU's own setting when it opens
 * the pty included; what the firmware's divisor set shows when it sends. */
static const char *mcu_trace_host_rate(const char *txt) {
  if (!strncmp(txt, "initial: ", 9))
    txt += 9;
  return strncmp(txt, "host at ", 8) ? NULL : txt + 8;
}

static void mcu_trace_read(const char *path, struct mcu_trace *t) {
  size_t len;
  memset(t, 0, sizeof *t);
  char *text = (char *)sqn_read_file(path, &len);
  ck_assert_msg(text != NULL, "%s: cannot read the trace", path);
  char cur[16] = "", last[16] = "";
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_error_t e;
    const char *kind = NULL, *txt = NULL;
    json_t *o = json_loads(line, 0, &e);
    ck_assert_msg(o != NULL, "%s: %s", path, e.text);
    ck_assert_int_eq(
        json_unpack(o, "{s:s,s:s}", "kind", &kind, "text", &txt), 0);
    if (!strcmp(kind, "at<"))
      t->at_rx++;
    else if (!strcmp(kind, "stp<"))
      t->stp_rx++;
    else if (!strcmp(kind, "drop"))
      t->drops++;
    else if (!strcmp(kind, "flash"))
      t->flash++;
    else if (!strcmp(kind, "fault"))
      t->faults++;
    else if (!strcmp(kind, "mode") && !strncmp(txt, "up: ", 4))
      snprintf(t->last_up, sizeof t->last_up, "%s", txt);
    else if (!strcmp(kind, "line") && mcu_trace_host_rate(txt)) {
      const char *r = mcu_trace_host_rate(txt);
      snprintf(cur, sizeof cur, "%.*s", (int)strcspn(r, " "), r);
    }
    /* Host bytes arrived: a command, a frame, or noise at a wrong rate. */
    bool spoke = !strcmp(kind, "at<") || !strcmp(kind, "stp<") ||
                 (!strcmp(kind, "line") && strstr(txt, ": noise, ignored"));
    if (spoke && *cur && strcmp(cur, last) != 0) {
      size_t n = strlen(t->rates);
      snprintf(t->rates + n, sizeof t->rates - n, "%s%s", n ? "," : "", cur);
      snprintf(last, sizeof last, "%s", cur);
    }
    json_decref(o);
  }
  free(text);
}

/* ---- the emulated MCU ---- */

static void mcu_argv(const char **argv, char *semi, size_t semi_cap,
                     char *chardev, size_t chardev_cap, const char *pty,
                     const char *pkg, const char *const *opts) {
  int n = 0;
  size_t len = (size_t)snprintf(
      semi, semi_cap, "enable=on,target=native,arg=sqnup-mcu,arg=%s", pkg);
  for (; opts && *opts; opts++)
    len += (size_t)snprintf(semi + len, semi_cap - len, ",arg=%s", *opts);
  ck_assert_uint_lt(len, semi_cap);
  snprintf(chardev, chardev_cap, "serial,id=m,path=%s", pty);
  argv[n++] = SQN_QEMU_BIN;
  argv[n++] = "-M";
  argv[n++] = "mps2-an385";
  argv[n++] = "-nographic";
  argv[n++] = "-monitor";
  argv[n++] = "none";
  argv[n++] = "-semihosting-config";
  argv[n++] = semi;
  argv[n++] = "-kernel";
  argv[n++] = SQN_MCU_ELF;
  argv[n++] = "-chardev";
  argv[n++] = chardev;
  argv[n++] = "-serial";
  argv[n++] = "chardev:m";
  argv[n] = NULL;
}

static int mcu_run(const char *pty, const char *pkg,
                   const char *const *opts) {
  const char *argv[20];
  char semi[2048], chardev[512];
  mcu_argv(argv, semi, sizeof semi, chardev, sizeof chardev, pty, pkg, opts);
  return pty_run(argv, out, sizeof out, 90);
}

/* ---- upgrades ---- */

static const char *const default_opts[] = {"--timeout-scale", FW_SCALE, NULL};

/* One run from `state`; the modem ends in FFF on the package's version,
 * and the rates it saw the host set are exactly `want_rates` ("a,b"). */
static void mcu_upgrade_case(const char *state, const char *pkg,
                             const char *const *opts,
                             const char *want_profile,
                             const char *want_version, const char *want_build,
                             const char *want_rates, const char *save_log) {
  struct mcu_modem m;
  struct mcu_trace t;
  mcu_modem_start(&m, state, NULL);
  int rc = mcu_run(m.sim.pty, pkg, opts);
  ck_assert_int_eq(pty_sim_stop(&m.sim), 0);
  ck_assert_msg(rc == 0, "sqnup-mcu from %s: exit %d\n%s", state, rc, out);
  ck_assert_msg(strstr(out, "sqnup-mcu: result OK") != NULL, "%s", out);
  if (save_log) { /* the stack high-water mark for the footprint table */
    FILE *f = fopen(save_log, "w");
    if (f) {
      fputs(out, f);
      fclose(f);
    }
  }
  ASSERT_SHOW(m.sim.state, "profile", want_profile);
  ASSERT_SHOW(m.sim.state, "fff.valid", "true");
  ASSERT_SHOW(m.sim.state, "fff.version", want_version);
  ASSERT_SHOW(m.sim.state, "fff.build", want_build);
  ASSERT_SHOW(m.sim.state, "boot_select", "FFF");
  ASSERT_SHOW(m.sim.state, "upgrade_status", "success");
  mcu_trace_read(m.trace, &t);
  ck_assert_msg(strncmp(t.last_up, "up: SMOD 2 FFF", 14) == 0,
                "last boot: '%s'", t.last_up);
  ck_assert_int_gt(t.stp_rx, 0);
  /* The modem saw the rates the firmware's baud divisor set. QEMU opens
   * the pty at 115200 before the firmware programs its divisor; whether
   * the modem samples that opening rate depends on which of the two
   * processes runs first, so it may or may not lead the list. */
  const char *seen = t.rates;
  if (strcmp(seen, want_rates) != 0 && strncmp(seen, "115200,", 7) == 0)
    seen += 7;
  ck_assert_msg(strcmp(seen, want_rates) == 0,
                "the modem saw the host at %s baud, want %s (after QEMU's "
                "opening 115200, if seen)", t.rates, want_rates);
}

/* Rates: every rate in `want_rates` is one the firmware's divisor set;
 * QEMU's opening 115200 is skipped if the modem saw it. */
START_TEST(test_mcu_upgrades_healthy) {
  mcu_upgrade_case("healthy.json", pkg_lr5, default_opts, "monarch1",
                   "5.2.0.0", "48829", "921600",
                   SQN_MCU_DIR "/upgrade.log");
}
END_TEST

START_TEST(test_mcu_recovers_interrupted_upgrade) {
  /* The incident's modem: nothing beyond the package. */
  mcu_upgrade_case("interrupted-upgrade.json", pkg_lr5, default_opts,
                   "monarch1", "5.2.0.0", "48829", "921600", NULL);
}
END_TEST

START_TEST(test_mcu_recovers_gm02s) {
  /* A GM02S answers at 115200: the firmware tries 921600 first (the
   * modem hears noise), then finds it there. */
  mcu_upgrade_case("gm02s-recovery.json", pkg_lr8, default_opts, "gm02s",
                   "8.2.1.0", "61488", "921600,115200", NULL);
}
END_TEST

START_TEST(test_mcu_baud_option_sets_first_rate) {
  /* --baud 115200: the line never runs at another rate. */
  static const char *const opts[] = {"--baud", "115200", "--timeout-scale",
                                     FW_SCALE, NULL};
  mcu_upgrade_case("gm02s-recovery.json", pkg_lr8, opts, "gm02s", "8.2.1.0",
                   "61488", "115200", NULL);
}
END_TEST

START_TEST(test_mcu_ffh_with_updater_recovers) {
  /* FFH (SMOD 0) answers at 115200 only: updater.elf goes first, then
   * AT+IPR=921600 and the package at the new rate (the OK leaves at the
   * old one: set_baud waits for it). */
  static const char *const opts[] = {"--updater",
                                     SQN_FIXTURES "/packages/updater.elf",
                                     "--timeout-scale", FW_SCALE, NULL};
  mcu_upgrade_case("ffh-only.json", pkg_lr5, opts, "monarch1", "5.2.0.0",
                   "48829", "921600,115200,921600", NULL);
}
END_TEST

START_TEST(test_mcu_force_allows_downgrade) {
  struct mcu_modem m;
  static const char *const forced[] = {"--force", "--timeout-scale", FW_SCALE,
                                       NULL};
  mcu_modem_start(&m, "healthy.json", NULL);
  int rc = mcu_run(m.sim.pty, pkg_old, default_opts);
  ck_assert_msg(rc == SQN_EXIT_REFUSED, "without --force: exit %d\n%s", rc,
                out);
  ck_assert_msg(strstr(out, "E_DOWNGRADE_REFUSED") != NULL, "%s", out);
  /* The same modem, the firmware booted again with --force. */
  rc = mcu_run(m.sim.pty, pkg_old, forced);
  ck_assert_int_eq(pty_sim_stop(&m.sim), 0);
  ck_assert_msg(rc == 0, "with --force: exit %d\n%s", rc, out);
  ASSERT_SHOW(m.sim.state, "fff.version", "5.1.0.0");
  ASSERT_SHOW(m.sim.state, "fff.build", "30000");
}
END_TEST

/* Power cut at 40 % of the push: the modem and the MCU lose power
 * together (sqn-sim's power-cut fault, QEMU killed). When it returns, the
 * firmware boots again and recovers the modem. */
START_TEST(test_mcu_second_boot_recovers_power_cut) {
  struct mcu_modem m;
  struct mcu_trace t;
  char faults[512], state1[512];
  const char *const *opts = default_opts;
  char dir[256];
  pty_tmpdir(dir, sizeof dir);
  snprintf(faults, sizeof faults, "%s/cut.yaml", dir);
  FILE *f = fopen(faults, "w");
  ck_assert_ptr_nonnull(f);
  fputs("- name: \"cut\"\n  when: \"stp-percent\"\n  percent: 40\n"
        "  first: 1\n  last: 1\n  do: \"power-cut\"\n",
        f);
  ck_assert_int_eq(fclose(f), 0);

  mcu_modem_start(&m, "healthy.json", faults);
  const char *argv[20];
  char semi[2048], chardev[512], log[512];
  mcu_argv(argv, semi, sizeof semi, chardev, sizeof chardev, m.sim.pty,
           pkg_big, opts);
  snprintf(log, sizeof log, "%s/boot1.log", dir);
  pid_t qemu = fork();
  ck_assert_int_ge(qemu, 0);
  if (qemu == 0) {
    FILE *o = freopen(log, "w", stdout);
    (void)o;
    dup2(1, 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  bool cut = pty_file_wait(m.trace, "\"kind\":\"fault\"", 60);
  kill(qemu, SIGKILL); /* the MCU shares the modem's supply */
  waitpid(qemu, NULL, 0);
  ck_assert_int_eq(pty_sim_stop(&m.sim), 0);
  ck_assert_msg(cut, "the power cut never fired");
  mcu_trace_read(m.trace, &t);
  ck_assert_int_gt(t.stp_rx, 0);
  ck_assert_msg(pty_show_get(m.sim.state, "fff.version", log, sizeof log) !=
                        0 ||
                    strcmp(log, "5.2.0.0") != 0,
                "the package was already in place before the cut");

  /* Power returns: the modem's flash as the cut left it, no fault. */
  snprintf(state1, sizeof state1, "%s", m.sim.state);
  struct mcu_modem m2;
  mcu_modem_start(&m2, state1, NULL);
  int rc = mcu_run(m2.sim.pty, pkg_big, default_opts);
  ck_assert_int_eq(pty_sim_stop(&m2.sim), 0);
  ck_assert_msg(rc == 0, "second boot: exit %d\n%s", rc, out);
  ASSERT_SHOW(m2.sim.state, "fff.valid", "true");
  ASSERT_SHOW(m2.sim.state, "fff.version", "5.2.0.0");
  ASSERT_SHOW(m2.sim.state, "boot_select", "FFF");
  mcu_trace_read(m2.trace, &t);
  ck_assert_msg(strncmp(t.last_up, "up: SMOD 2 FFF", 14) == 0,
                "last boot: '%s'", t.last_up);
}
END_TEST

/* ---- refusals: nothing reaches the modem ---- */

static void mcu_refused_case(const char *pkg, const char *const *opts,
                             int want_exit, const char *const *want) {
  struct mcu_modem m;
  struct mcu_trace t;
  mcu_modem_start(&m, "healthy.json", NULL);
  int rc = mcu_run(m.sim.pty, pkg, opts);
  ck_assert_int_eq(pty_sim_stop(&m.sim), 0);
  ck_assert_msg(rc == want_exit, "exit %d, want %d\n%s", rc, want_exit, out);
  for (; *want; want++)
    ck_assert_msg(strstr(out, *want) != NULL, "no '%s' in:\n%s", *want, out);
  mcu_trace_read(m.trace, &t);
  ck_assert_msg(t.at_rx == 0 && t.stp_rx == 0 && t.drops == 0,
                "the modem heard %d AT lines, %d STP frames, %d drops",
                t.at_rx, t.stp_rx, t.drops);
  ck_assert_int_eq(t.flash, 0);
  ASSERT_SHOW(m.sim.state, "fff.version", "5.1.1.0");
  ASSERT_SHOW(m.sim.state, "writes", "0");
}

START_TEST(test_mcu_corrupt_package_sends_nothing) {
  const char *want[] = {"E_IMAGE_INVALID", "at byte", NULL};
  mcu_refused_case(pkg_corrupt, default_opts, SQN_EXIT_INPUT, want);
}
END_TEST

START_TEST(test_mcu_missing_package_sends_nothing) {
  char path[600];
  snprintf(path, sizeof path, "%s/no-such.dup", pkgdir);
  const char *want[] = {"E_IMAGE_NOT_FOUND", path, NULL};
  mcu_refused_case(path, NULL, SQN_EXIT_INPUT, want);
}
END_TEST

START_TEST(test_mcu_bad_option_sends_nothing) {
  static const char *const opts[] = {"--baud", "fast", NULL};
  const char *want[] = {"E_BAD_ARGUMENTS", "--baud", "fast", NULL};
  mcu_refused_case(pkg_lr5, opts, SQN_EXIT_USAGE, want);
}
END_TEST

static Suite *mcu_suite(void) {
  Suite *s = suite_create("mcu");
  TCase *up = tcase_create("upgrade");
  tcase_set_timeout(up, 120);
  tcase_add_unchecked_fixture(up, mcu_packages, NULL);
  tcase_add_test(up, test_mcu_upgrades_healthy);
  tcase_add_test(up, test_mcu_recovers_interrupted_upgrade);
  tcase_add_test(up, test_mcu_recovers_gm02s);
  tcase_add_test(up, test_mcu_baud_option_sets_first_rate);
  tcase_add_test(up, test_mcu_ffh_with_updater_recovers);
  tcase_add_test(up, test_mcu_force_allows_downgrade);
  tcase_add_test(up, test_mcu_second_boot_recovers_power_cut);
  suite_add_tcase(s, up);
  TCase *bad = tcase_create("refusal");
  tcase_set_timeout(bad, 60);
  tcase_add_unchecked_fixture(bad, mcu_packages, NULL);
  tcase_add_test(bad, test_mcu_corrupt_package_sends_nothing);
  tcase_add_test(bad, test_mcu_missing_package_sends_nothing);
  tcase_add_test(bad, test_mcu_bad_option_sends_nothing);
  suite_add_tcase(s, bad);
  return s;
}

int main(void) {
  if (access(SQN_MCU_ELF, R_OK) != 0) {
    fprintf(stderr, "%s: not built (no arm-none-eabi-gcc?); skipping\n",
            SQN_MCU_ELF);
    return 77;
  }
  if (!SQN_QEMU_BIN[0] || access(SQN_QEMU_BIN, X_OK) != 0) {
    fprintf(stderr, "qemu-system-arm not found; skipping\n");
    return 77;
  }
  pty_require_openpty();
  pty_session_begin();
  SRunner *sr = srunner_create(mcu_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

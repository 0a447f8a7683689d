/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Acceptance of the issue "libsqnup and sqn-update": the real sqn-update
 * against the real sqn-sim over a pseudo-terminal.
 *
 * Upgrades: from each named state in fixtures/states and from a factory-new
 * modem of each profile, ONE run of
 *   sqn-update --port PTY [--updater F] --timeout-scale S PACKAGE
 * exits 0, and the modem's own record says it ends in FFF running the
 * package's version: `sqn-sim --state F --show --json` after sqn-sim has
 * exited, and the last boot in sqn-sim's trace. The updater's own word is
 * not evidence. Packages are built at test time by sqn-dup (synthetic).
 *
 * Bad input: a clear error naming the file, byte or port, and no harm to
 * the modem, checked in sqn-sim's trace (JSON lines): a missing, short or
 * corrupt file sends nothing at all (no "at<" line); a wrong family or FFH
 * without --updater may ask the modem who it is but sends no STP frame, no
 * command that writes or resets, and causes no flash write.
 *
 * Time: sqn-sim runs at --time-scale 0.02 (the 8 s FFF boot takes 160 ms,
 * RECOVERY 30 ms); sqn-update at --timeout-scale 0.2 keeps every bound well
 * above those delays (its 12 s +SYSSTART wait becomes 2.4 s, its 1 s probe
 * 200 ms) while a probe at the wrong rate costs little. Each upgrade takes
 * about a second.
 */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_ext.h"
#include "pty_util.h"
#include "sqnup/err.h"

#define SIM_SCALE "0.02"
#define UPD_SCALE "0.2"
#define UPDATER_ELF SQN_FIXTURES "/packages/updater.elf"

/* Built once by the unchecked fixture, in the parent process; the tests
 * (forked children) only read them. */
static char pkgdir[256];
static char pkg_lr5[512], pkg_lr6[512], pkg_lr8[512];
static char pkg_short[512], pkg_corrupt[512];
static char out[65536];

#define ASSERT_SHOW(st, key, want)                                           \
  do {                                                                       \
    char v_[128];                                                            \
    ck_assert_msg(pty_show_get((st), (key), v_, sizeof v_) == 0,             \
                  "--show --json has no %s", (key));                         \
    ck_assert_msg(strcmp(v_, (want)) == 0, "%s is '%s', want '%s'", (key),   \
                  v_, (want));                                               \
  } while (0)

/* ---- packages ---- */

static void upd_dup_build(const char *version, const char *build,
                          char *path, size_t cap, const char *name) {
  snprintf(path, cap, "%s/%s", pkgdir, name);
  const char *argv[] = {SQN_DUP_BIN, "build", "--version", version, "--build",
                        build, "-o", path, NULL};
  int rc = pty_run(argv, out, sizeof out, 20);
  ck_assert_msg(rc == 0, "sqn-dup build %s: rc %d\n%s", version, rc, out);
}

static void upd_write(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static void upd_packages(void) {
  size_t len;
  if (pkgdir[0])
    return; /* both test cases share one set */
  pty_tmpdir(pkgdir, sizeof pkgdir);
  upd_dup_build("5.2.0.0", "48829", pkg_lr5, sizeof pkg_lr5, "lr5.dup");
  upd_dup_build("6.1.0.0", "50123", pkg_lr6, sizeof pkg_lr6, "lr6.dup");
  /* Newer than gm02s's 8.2.0.3 [60186] (factory and gm02s-recovery). */
  upd_dup_build("8.2.1.0", "61488", pkg_lr8, sizeof pkg_lr8, "lr8.dup");
  uint8_t *pkg = sqn_read_file(pkg_lr5, &len);
  ck_assert_ptr_nonnull(pkg);
  ck_assert_uint_gt(len, 1024);
  snprintf(pkg_short, sizeof pkg_short, "%s/short.dup", pkgdir);
  upd_write(pkg_short, pkg, 100); /* a download cut short */
  /* One flipped bit inside the fff image: only its checksum can tell. */
  pkg[len / 2] ^= 0x01;
  snprintf(pkg_corrupt, sizeof pkg_corrupt, "%s/corrupt.dup", pkgdir);
  upd_write(pkg_corrupt, pkg, len);
  free(pkg);
}

/* ---- the emulator and its trace ---- */

struct upd_modem {
  struct pty_sim sim;
  char tracedir[256];
  char trace[512];
};

/* sqn-sim on a copy of `state` (NULL: a missing state file, i.e. a factory
 * modem of `profile`), traced, and up: bytes sent while a modem boots are
 * lost, so the "sent nothing" checks wait until it listens. */
static void upd_modem_start(struct upd_modem *m, const char *state,
                            const char *profile) {
  pty_tmpdir(m->tracedir, sizeof m->tracedir);
  snprintf(m->trace, sizeof m->trace, "%s/trace.jsonl", m->tracedir);
  const char *args[] = {"--time-scale", SIM_SCALE, "--trace", m->trace,
                        profile ? "--profile" : NULL, profile, NULL};
  pty_sim_start(&m->sim, state, args);
  ck_assert_msg(pty_file_wait(m->trace, "\"event\":\"up\"", 30),
                "sqn-sim did not finish booting within 10 s");
}

static void upd_modem_stop(struct upd_modem *m) {
  ck_assert_int_eq(pty_sim_stop(&m->sim), 0);
}

/* What crossed the line, from the trace. */
struct upd_trace {
  int at_rx;          /* command lines the modem received */
  int stp_rx;         /* STP request frames */
  int drops;          /* bytes the STP decoder dropped */
  int flash;          /* persistent-state writes */
  int writes_cmd;     /* commands that write, reset or switch */
  char bad_cmd[128];  /* the first such command */
  char last_up[128];  /* the last "up: ..." mode line */
};

/* Commands that change the modem: boot selection, resets, transfer modes,
 * deploying, the UART rate. Detection (AT, ATI1, AT+SMOD?, ...) is allowed
 * where the modem must be asked. */
static bool upd_is_write_cmd(const char *line) {
  static const char *const deny[] = {"AT+SMSWBOOT=", "AT+SMSTPU", "AT+STP",
                                     "AT^RESET",     "AT+IPR=",   "AT+CFUN=",
                                     "AT+SMUPGRADE"};
  for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++) {
    size_t n = strlen(deny[i]);
    if (strncmp(line, deny[i], n) != 0)
      continue;
    if (strcmp(deny[i], "AT+SMUPGRADE") == 0 && strcmp(line + n, "?") == 0)
      continue; /* the status query */
    return true;
  }
  return false;
}

static void upd_trace_read(const char *path, struct upd_trace *t) {
  size_t len;
  memset(t, 0, sizeof *t);
  char *text = (char *)sqn_read_file(path, &len);
  ck_assert_msg(text != NULL, "%s: cannot read the trace", path);
  int lineno = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_error_t e;
    const char *kind = NULL, *txt = NULL;
    lineno++;
    json_t *o = json_loads(line, 0, &e);
    ck_assert_msg(o != NULL, "%s:%d: %s", path, lineno, e.text);
    ck_assert_msg(json_unpack(o, "{s:s,s:s}", "kind", &kind, "text", &txt) ==
                      0,
                  "%s:%d: no kind/text", path, lineno);
    if (!strcmp(kind, "at<")) {
      t->at_rx++;
      if (upd_is_write_cmd(txt) && t->writes_cmd++ == 0)
        snprintf(t->bad_cmd, sizeof t->bad_cmd, "%s", txt);
    } else if (!strcmp(kind, "stp<")) {
      t->stp_rx++;
    } else if (!strcmp(kind, "drop")) {
      t->drops++;
    } else if (!strcmp(kind, "flash")) {
      t->flash++;
    } else if (!strcmp(kind, "mode") && !strncmp(txt, "up: ", 4)) {
      snprintf(t->last_up, sizeof t->last_up, "%s", txt);
    }
    json_decref(o);
  }
  free(text);
}

/* ---- sqn-update ---- */

static int upd_run(const char *port, const char *updater, const char *pkg) {
  const char *argv[12];
  int n = 0;
  argv[n++] = SQN_UPDATE_BIN;
  argv[n++] = "--port";
  argv[n++] = port;
  if (updater) {
    argv[n++] = "--updater";
    argv[n++] = updater;
  }
  argv[n++] = "--timeout-scale";
  argv[n++] = UPD_SCALE;
  argv[n++] = pkg;
  argv[n] = NULL;
  return pty_run(argv, out, sizeof out, 30);
}

/* ---- upgrades ---- */

static void upd_upgrade_case(const char *state, const char *profile,
                             const char *updater, const char *pkg,
                             const char *want_profile,
                             const char *want_version,
                             const char *want_build) {
  struct upd_modem m;
  struct upd_trace t;
  upd_modem_start(&m, state, profile);
  int rc = upd_run(m.sim.pty, updater, pkg);
  ck_assert_msg(rc == 0, "sqn-update from %s: rc %d\n%s",
                state ? state : "a new modem", rc, out);
  upd_modem_stop(&m);

  /* The modem's flash, read by sqn-sim itself. */
  ASSERT_SHOW(m.sim.state, "profile", want_profile);
  ASSERT_SHOW(m.sim.state, "fff.valid", "true");
  ASSERT_SHOW(m.sim.state, "fff.version", want_version);
  ASSERT_SHOW(m.sim.state, "fff.build", want_build);
  ASSERT_SHOW(m.sim.state, "boot_select", "FFF");
  ASSERT_SHOW(m.sim.state, "upgrade_status", "success");
  /* And what it was running when sqn-update left: its last boot. */
  upd_trace_read(m.trace, &t);
  ck_assert_msg(strncmp(t.last_up, "up: SMOD 2 FFF", 14) == 0,
                "last boot: '%s'", t.last_up);
  ck_assert_int_gt(t.stp_rx, 0); /* the package went over STP */
}

START_TEST(test_pty_update_healthy_upgrades_to_package_version) {
  upd_upgrade_case("healthy.json", NULL, NULL, pkg_lr5, "monarch1", "5.2.0.0",
                   "48829");
}
END_TEST

START_TEST(test_pty_update_factory_33080_upgrades_to_package_version) {
  upd_upgrade_case("factory-33080.json", NULL, NULL, pkg_lr5, "monarch1",
                   "5.2.0.0", "48829");
}
END_TEST

START_TEST(test_pty_update_interrupted_upgrade_recovers_with_port_only) {
  /* The incident's modem: nothing beyond --port and the package. */
  upd_upgrade_case("interrupted-upgrade.json", NULL, NULL, pkg_lr5,
                   "monarch1", "5.2.0.0", "48829");
}
END_TEST

START_TEST(test_pty_update_ffh_only_with_updater_recovers) {
  upd_upgrade_case("ffh-only.json", NULL, UPDATER_ELF, pkg_lr5, "monarch1",
                   "5.2.0.0", "48829");
}
END_TEST

START_TEST(test_pty_update_new_monarch1_upgrades_to_package_version) {
  upd_upgrade_case(NULL, "monarch1", NULL, pkg_lr5, "monarch1", "5.2.0.0",
                   "48829");
}
END_TEST

START_TEST(test_pty_update_gm02s_recovery_recovers_to_lr8) {
  upd_upgrade_case("gm02s-recovery.json", NULL, NULL, pkg_lr8, "gm02s",
                   "8.2.1.0", "61488");
}
END_TEST

START_TEST(test_pty_update_new_gm02s_upgrades_to_lr8) {
  upd_upgrade_case(NULL, "gm02s", NULL, pkg_lr8, "gm02s", "8.2.1.0", "61488");
}
END_TEST

/* --json: one JSON object per line that other programs can follow: phases
 * with their power safety, progress to the full size, a final DONE. */
/* --method store: the stored copy lives in its own file beside the state,
 * named by it, not inside it. A power cut at AT+SMUPGRADE leaves the state
 * naming a complete store file; the apply afterwards removes it. */
static size_t upd_file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (size_t)sb.st_size : (size_t)-1;
}

static int upd_store_files(const char *dir, char *name, size_t cap) {
  DIR *d = opendir(dir);
  int n = 0;
  ck_assert_ptr_nonnull(d);
  for (struct dirent *e; (e = readdir(d));)
    if (strstr(e->d_name, ".store")) {
      n++;
      snprintf(name, cap, "%s", e->d_name);
    }
  closedir(d);
  return n;
}

START_TEST(test_pty_update_store_method_keeps_the_store_in_its_own_file) {
  struct upd_modem m;
  char faults[600], name[256], path[1024], v[128];
  pty_tmpdir(m.tracedir, sizeof m.tracedir);
  snprintf(faults, sizeof faults, "%s/faults.yaml", m.tracedir);
  FILE *f = fopen(faults, "w");
  ck_assert_ptr_nonnull(f);
  fputs("- {name: cut, when: at, match: \"AT+SMUPGRADE\", first: 1, last: 1, "
        "do: power-cut}\n", f);
  fclose(f);
  snprintf(m.trace, sizeof m.trace, "%s/trace.jsonl", m.tracedir);
  const char *args[] = {"--time-scale", SIM_SCALE, "--trace", m.trace,
                        "--faults", faults, NULL};
  pty_sim_start(&m.sim, "healthy.json", args);
  ck_assert(pty_file_wait(m.trace, "\"up: SMOD", 10));
  const char *argv[] = {SQN_UPDATE_BIN, "--port", m.sim.pty, "--method",
                        "store", "--timeout-scale", "0.01", pkg_lr5, NULL};
  int rc = pty_run(argv, out, sizeof out, 60);
  ck_assert_msg(rc != 0, "the modem lost power at AT+SMUPGRADE: %s", out);
  upd_modem_stop(&m);

  size_t pkg_len = upd_file_size(pkg_lr5);
  ck_assert_int_eq(upd_store_files(m.sim.dir, name, sizeof name), 1);
  ck_assert_msg(strstr(name, "state.json.store-") == name, "%s", name);
  snprintf(path, sizeof path, "%s/%s", m.sim.dir, name);
  ck_assert_uint_eq(upd_file_size(path), pkg_len);
  ck_assert_uint_lt(upd_file_size(m.sim.state), 2048); /* no base64 inside */
  ck_assert_int_eq(pty_show_get(m.sim.state, "fs_store.file", v, sizeof v), 0);
  ck_assert_str_eq(v, name);
  ck_assert_int_eq(pty_show_get(m.sim.state, "fs_store.length", v, sizeof v),
                   0);
  ck_assert_uint_eq(strtoull(v, NULL, 10), pkg_len);

  /* Power back on (a new sqn-sim on the same files): the stored copy is
   * applied from the file, which then goes. */
  const char *args2[] = {"--time-scale", SIM_SCALE, NULL};
  struct pty_sim again = m.sim;
  pty_sim_restart(&again, args2);
  const char *argv2[] = {SQN_UPDATE_BIN, "--port", again.pty, "--method",
                         "store", "--timeout-scale", UPD_SCALE, pkg_lr5, NULL};
  rc = pty_run(argv2, out, sizeof out, 60);
  ck_assert_msg(rc == 0, "rerun: rc %d\n%s", rc, out);
  ck_assert_int_eq(pty_sim_stop(&again), 0);
  ASSERT_SHOW(again.state, "fff.version", "5.2.0.0");
  ck_assert_int_eq(upd_store_files(again.dir, name, sizeof name), 0);
}
END_TEST

START_TEST(test_pty_update_json_events_follow_the_run) {
  struct upd_modem m;
  upd_modem_start(&m, "healthy.json", NULL);
  const char *argv[] = {SQN_UPDATE_BIN, "--port", m.sim.pty, "--json",
                        "--timeout-scale", UPD_SCALE, pkg_lr5, NULL};
  int rc = pty_run(argv, out, sizeof out, 30);
  upd_modem_stop(&m);
  ck_assert_msg(rc == 0, "rc %d\n%s", rc, out);

  int objects = 0, unsafe_transfer = 0, full_progress = 0, done_ok = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] != '{')
      continue;
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    ck_assert_msg(o != NULL, "not JSON (%s): %s", jerr.text, line);
    objects++;
    const char *ev = json_string_value(json_object_get(o, "event"));
    const char *phase = json_string_value(json_object_get(o, "phase"));
    ck_assert_ptr_nonnull(ev);
    if (!strcmp(ev, "PHASE") && phase && !strcmp(phase, "TRANSFER") &&
        json_is_false(json_object_get(o, "power_safe")))
      unsafe_transfer++;
    if (!strcmp(ev, "PROGRESS") &&
        json_integer_value(json_object_get(o, "done")) ==
            json_integer_value(json_object_get(o, "total")))
      full_progress++;
    if (!strcmp(ev, "DONE") &&
        !strcmp(json_string_value(json_object_get(o, "err")), "OK") &&
        json_integer_value(json_object_get(o, "exit")) == 0)
      done_ok++;
    json_decref(o);
  }
  ck_assert_int_gt(objects, 10);
  ck_assert_int_gt(full_progress, 0);
  ck_assert_int_eq(done_ok, 1);
  ck_assert_int_gt(unsafe_transfer, 0); /* the transfer is never power-safe */
}
END_TEST

/* ---- bad input: files (nothing may reach the modem) ---- */

/* sqn-update with a bad file against a live, listening modem: refused
 * with `want_exit` and a message containing each of `want` (NULL-ended),
 * and the modem received not one byte of a command. */
static void upd_bad_file_case(const char *updater, const char *pkg,
                              int want_exit, const char *const *want) {
  struct upd_modem m;
  struct upd_trace t;
  upd_modem_start(&m, "healthy.json", NULL);
  int rc = upd_run(m.sim.pty, updater, pkg);
  upd_modem_stop(&m);
  ck_assert_msg(rc == want_exit, "rc %d, want %d\n%s", rc, want_exit, out);
  for (; *want; want++)
    ck_assert_msg(strstr(out, *want) != NULL, "no '%s' in:\n%s", *want, out);
  upd_trace_read(m.trace, &t);
  ck_assert_msg(t.at_rx == 0 && t.stp_rx == 0 && t.drops == 0,
                "the modem heard %d AT lines, %d STP frames, %d drops",
                t.at_rx, t.stp_rx, t.drops);
  ck_assert_int_eq(t.flash, 0);
  ASSERT_SHOW(m.sim.state, "fff.version", "5.1.1.0");
  ASSERT_SHOW(m.sim.state, "writes", "0");
}

START_TEST(test_pty_update_missing_package_sends_nothing) {
  char path[600];
  snprintf(path, sizeof path, "%s/no-such.dup", pkgdir);
  const char *want[] = {path, "No such file", NULL};
  upd_bad_file_case(NULL, path, SQN_EXIT_INPUT, want);
}
END_TEST

START_TEST(test_pty_update_short_package_sends_nothing) {
  const char *want[] = {pkg_short, "100 bytes", "128", NULL};
  upd_bad_file_case(NULL, pkg_short, SQN_EXIT_INPUT, want);
}
END_TEST

START_TEST(test_pty_update_corrupt_package_sends_nothing) {
  /* The error names where the damage is. */
  const char *want[] = {"E_IMAGE_INVALID", "at byte", NULL};
  upd_bad_file_case(NULL, pkg_corrupt, SQN_EXIT_INPUT, want);
}
END_TEST

START_TEST(test_pty_update_missing_updater_sends_nothing) {
  char path[600];
  snprintf(path, sizeof path, "%s/no-such.elf", pkgdir);
  const char *want[] = {path, NULL};
  upd_bad_file_case(path, pkg_lr5, SQN_EXIT_INPUT, want);
}
END_TEST

START_TEST(test_pty_update_directory_as_package_sends_nothing) {
  const char *want[] = {pkgdir, "not a regular file", NULL};
  upd_bad_file_case(NULL, pkgdir, SQN_EXIT_INPUT, want);
}
END_TEST

/* ---- bad input: the modem must be asked, but nothing written ---- */

static void upd_refused_case(const char *state, const char *pkg,
                             int want_exit, const char *const *want,
                             const char *want_version) {
  struct upd_modem m;
  struct upd_trace t;
  upd_modem_start(&m, state, NULL);
  int rc = upd_run(m.sim.pty, NULL, pkg);
  upd_modem_stop(&m);
  ck_assert_msg(rc == want_exit, "rc %d, want %d\n%s", rc, want_exit, out);
  for (; *want; want++)
    ck_assert_msg(strstr(out, *want) != NULL, "no '%s' in:\n%s", *want, out);
  upd_trace_read(m.trace, &t);
  ck_assert_msg(t.at_rx > 0, "the modem was never asked");
  ck_assert_msg(t.writes_cmd == 0, "%d changing commands reached the modem, "
                "the first '%s'", t.writes_cmd, t.bad_cmd);
  ck_assert_msg(t.stp_rx == 0 && t.drops == 0,
                "%d STP frames, %d drops reached the modem", t.stp_rx,
                t.drops);
  ck_assert_int_eq(t.flash, 0);
  ASSERT_SHOW(m.sim.state, "fff.version", want_version);
  ASSERT_SHOW(m.sim.state, "writes", "0");
}

START_TEST(test_pty_update_wrong_family_writes_nothing) {
  /* An LR6 (NB-IoT) package on an LR5 (Cat-M1) modem. */
  const char *want[] = {"E_IMAGE_FAMILY_MISMATCH", "LR5", "LR6", NULL};
  upd_refused_case("healthy.json", pkg_lr6, SQN_EXIT_REFUSED, want,
                   "5.1.1.0");
}
END_TEST

START_TEST(test_pty_update_lr5_on_gm02s_writes_nothing) {
  /* LR5 is built for Monarch 1; a GM02S is a Monarch 2 (modem-model.md 6):
   * a chip mismatch, refused before any write. */
  const char *want[] = {"E_CHIP_MISMATCH", "Monarch 2 (LR8)", "for Monarch 1",
                        NULL};
  struct upd_modem m;
  struct upd_trace t;
  upd_modem_start(&m, NULL, "gm02s");
  int rc = upd_run(m.sim.pty, NULL, pkg_lr5);
  upd_modem_stop(&m);
  ck_assert_msg(rc == SQN_EXIT_REFUSED, "rc %d\n%s", rc, out);
  for (const char *const *w = want; *w; w++)
    ck_assert_msg(strstr(out, *w) != NULL, "no '%s' in:\n%s", *w, out);
  upd_trace_read(m.trace, &t);
  ck_assert_msg(t.writes_cmd == 0 && t.stp_rx == 0 && t.flash == 0,
                "'%s' and %d STP frames, %d flash writes", t.bad_cmd,
                t.stp_rx, t.flash);
  ASSERT_SHOW(m.sim.state, "fff.version", "8.2.0.3");
}
END_TEST

START_TEST(test_pty_update_ffh_without_updater_writes_nothing) {
  const char *want[] = {"SMOD 0", "--updater", NULL};
  upd_refused_case("ffh-only.json", pkg_lr5, SQN_EXIT_REFUSED, want,
                   "5.1.1.0");
}
END_TEST

/* ---- bad input: ports ---- */

static void upd_bad_port_case(const char *port, const char *why) {
  int rc = upd_run(port, NULL, pkg_lr5);
  ck_assert_msg(rc == SQN_EXIT_PORT, "rc %d\n%s", rc, out);
  ck_assert_msg(strstr(out, port) != NULL, "the port is not named:\n%s", out);
  ck_assert_msg(strstr(out, why) != NULL, "no '%s' in:\n%s", why, out);
}

START_TEST(test_pty_update_missing_port_is_refused) {
  char port[600];
  snprintf(port, sizeof port, "%s/ttyNOPE0", pkgdir);
  upd_bad_port_case(port, "No such file");
}
END_TEST

START_TEST(test_pty_update_dev_null_port_is_refused) {
  upd_bad_port_case("/dev/null", "not a tty");
}
END_TEST

START_TEST(test_pty_update_regular_file_port_is_refused) {
  /* A typo that names a file must not be written to. */
  char port[600];
  snprintf(port, sizeof port, "%s/ttyUSB0", pkgdir);
  static const uint8_t keep[] = "keep me\n";
  upd_write(port, keep, sizeof keep - 1);
  upd_bad_port_case(port, "not a");
  size_t len;
  uint8_t *after = sqn_read_file(port, &len);
  ck_assert_ptr_nonnull(after);
  ck_assert_mem_hex_eq(after, len, keep, sizeof keep - 1);
  free(after);
}
END_TEST


/* ---- detection on a terminal ---- */

/*
 * A port where nothing answers (a pty whose other end we hold and never
 * read), and sqn-update's stderr on a terminal: the live line names every
 * attempt with its rate and what was sent, so that detection is never a
 * silent minute. Exit 5 (not detected) at the end of the bounded probing.
 */
START_TEST(test_pty_update_terminal_shows_each_detection_attempt) {
  int port_m, port_s, term_m, term_s;
  ck_assert_int_eq(openpty(&port_m, &port_s, NULL, NULL, NULL), 0);
  ck_assert_int_eq(openpty(&term_m, &term_s, NULL, NULL, NULL), 0);
  char port[128];
  snprintf(port, sizeof port, "%s", ttyname(port_s));
  close(port_s); /* the master stays open: the port exists, nobody talks */
  /* Drained without ever blocking, the terminal read with poll(): every
   * wait below is bounded. */
  ck_assert_int_eq(fcntl(port_m, F_SETFL, O_NONBLOCK), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(term_s, 1);
    dup2(term_s, 2);
    close(term_m);
    close(port_m);
    execl(SQN_UPDATE_BIN, "sqn-update", "--port", port, "--info",
          "--timeout-scale", "0.05", (char *)NULL);
    _exit(127);
  }
  close(term_s);
  size_t have = 0;
  int status = -1;
  bool exited = false;
  double end = pty_now() + 30;
  /* Until it exits (bounded), then until the terminal holds nothing more. */
  while (pty_now() < end) {
    struct pollfd pf = {term_m, POLLIN, 0};
    ssize_t n = 0;
    if (poll(&pf, 1, exited ? 0 : 100) > 0)
      n = read(term_m, out + have, sizeof out - 1 - have);
    if (n > 0)
      have += (size_t)n;
    else if (exited)
      break;
    /* Drain what the port received, so that writes never block. */
    char junk[256];
    while (read(port_m, junk, sizeof junk) > 0)
      ;
    if (!exited)
      exited = waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  out[have] = '\0';
  close(term_m);
  close(port_m);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == SQN_EXIT_NOT_DETECTED,
                "status %d\n%s", status, out);
  ck_assert_msg(strstr(out, "detecting: attempt 1 at 921600 baud: at> AT"),
                "attempt 1 not shown:\n%s", out);
  ck_assert_msg(strstr(out, "detecting: attempt 2 at 115200 baud: at> AT"),
                "attempt 2 not shown:\n%s", out);
  ck_assert_msg(strstr(out, "E_MODEM_NOT_DETECTED"), "no error:\n%s", out);
}
END_TEST

static Suite *upd_suite(void) {
  Suite *s = suite_create("pty-update");
  TCase *up = tcase_create("upgrade");
  tcase_set_timeout(up, 45);
  tcase_add_unchecked_fixture(up, upd_packages, NULL);
  tcase_add_test(up, test_pty_update_healthy_upgrades_to_package_version);
  tcase_add_test(up,
                 test_pty_update_factory_33080_upgrades_to_package_version);
  tcase_add_test(up,
                 test_pty_update_interrupted_upgrade_recovers_with_port_only);
  tcase_add_test(up, test_pty_update_ffh_only_with_updater_recovers);
  tcase_add_test(up, test_pty_update_new_monarch1_upgrades_to_package_version);
  tcase_add_test(up, test_pty_update_gm02s_recovery_recovers_to_lr8);
  tcase_add_test(up, test_pty_update_new_gm02s_upgrades_to_lr8);
  tcase_add_test(up, test_pty_update_json_events_follow_the_run);
  tcase_add_test(up,
                 test_pty_update_store_method_keeps_the_store_in_its_own_file);
  suite_add_tcase(s, up);

  TCase *bad = tcase_create("bad-input");
  tcase_set_timeout(bad, 45);
  tcase_add_unchecked_fixture(bad, upd_packages, NULL);
  tcase_add_test(bad, test_pty_update_missing_package_sends_nothing);
  tcase_add_test(bad, test_pty_update_short_package_sends_nothing);
  tcase_add_test(bad, test_pty_update_corrupt_package_sends_nothing);
  tcase_add_test(bad, test_pty_update_missing_updater_sends_nothing);
  tcase_add_test(bad, test_pty_update_directory_as_package_sends_nothing);
  tcase_add_test(bad, test_pty_update_wrong_family_writes_nothing);
  tcase_add_test(bad, test_pty_update_lr5_on_gm02s_writes_nothing);
  tcase_add_test(bad, test_pty_update_ffh_without_updater_writes_nothing);
  tcase_add_test(bad, test_pty_update_missing_port_is_refused);
  tcase_add_test(bad, test_pty_update_dev_null_port_is_refused);
  tcase_add_test(bad, test_pty_update_regular_file_port_is_refused);
  tcase_add_test(bad, test_pty_update_terminal_shows_each_detection_attempt);
  suite_add_tcase(s, bad);
  return s;
}

int main(void) {
  pty_require_openpty();
  pty_session_begin();
  SRunner *sr = srunner_create(upd_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

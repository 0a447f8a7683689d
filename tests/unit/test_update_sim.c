/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The update procedure in-process against the emulator model (sim_model),
 * on a virtual clock: from each starting situation the run must end with
 * the MODEL in FFF running the package's version (sim_modem_state(), not
 * the updater's word).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "check_ext.h"
#include "sim/fault.h"
#include "sim/modem.h"
#include "sim/state_file.h"
#include "sqnup/pkg.h"
#include "sqnup/update.h"

/* ---- instances and fixtures ---------------------------------------------- */

/* One updater and one model on the harness's bridge (bridge.h). */
struct rig {
  struct sim_modem *m;
  struct sqn_update u;
  struct harness_bridge hb; /* the clock (hb.now_us) and the queues */
  const uint8_t *pkg;
  size_t pkg_len;
  const uint8_t *elf;
  size_t elf_len;
  const uint8_t *pkg2; /* part 2 of a two-part package, or NULL */
  size_t pkg2_len;
  uint8_t tx[8192];
  uint8_t rx[256];
  unsigned smswboot1x, smswboot3x, smstpu, at_stp; /* commands seen */
  unsigned log_lines;
  bool echo_log;
  enum sqn_update_method method; /* passed by rig_start */
  unsigned wait_logs;            /* "still waiting" progress lines */
  char sent[4096];  /* AT commands the updater sent, in order */
  size_t sent_len;
};

static uint8_t *load(const char *rel, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SQN_FIXTURES, rel);
  uint8_t *b = sqn_read_file(path, len);
  ck_assert_msg(b != NULL, "cannot read %s", path);
  return b;
}

static void modem_tx(void *user, const uint8_t *buf, size_t len) {
  struct rig *br = user;
  harness_bridge_to_host(&br->hb, buf, len);
}

static int host_write(void *user, const uint8_t *buf, size_t len) {
  struct rig *br = user;
  ck_assert_int_eq(harness_bridge_to_modem(&br->hb, buf, len), 0);
  if (len > 2 && buf[0] == 'A' && buf[1] == 'T' && br->sent_len + len < sizeof br->sent) {
    memcpy(br->sent + br->sent_len, buf, len);
    br->sent_len += len;
    br->sent[br->sent_len] = '\0';
  }
  return (int)len;
}

static int host_set_baud(void *user, uint32_t baud) {
  struct rig *br = user;
  sim_modem_set_host_baud(br->m, baud);
  return 0;
}

static int host_read_pkg(void *user, enum sqn_update_src src, uint64_t off,
                         uint8_t *buf, size_t len) {
  struct rig *br = user;
  const uint8_t *p = src == SQN_UPDATE_SRC_PACKAGE    ? br->pkg
                     : src == SQN_UPDATE_SRC_PACKAGE2 ? br->pkg2
                                                      : br->elf;
  size_t n = src == SQN_UPDATE_SRC_PACKAGE    ? br->pkg_len
             : src == SQN_UPDATE_SRC_PACKAGE2 ? br->pkg2_len
                                              : br->elf_len;
  if (!p || off > n || len > n - off)
    return -1;
  memcpy(buf, p + off, len);
  return (int)len;
}

static void host_event(void *user, const struct sqn_update_event *ev) {
  struct rig *br = user;
  br->log_lines++;
  if (ev->kind == SQN_UPDATE_EV_LOG && ev->text &&
      strstr(ev->text, "still waiting"))
    br->wait_logs++;
  if (br->echo_log || getenv("UPD_TEST_TRACE")) {
    if (ev->kind != SQN_UPDATE_EV_PROGRESS)
      fprintf(stderr, "%8llu %-8s %-12s %s\n", (unsigned long long)ev->now_ms,
              sqn_update_event_name(ev->kind),
              sqn_update_state_name(ev->state), ev->text ? ev->text : "");
  }
}

static void trace(void *user, const struct sim_trace_event *ev) {
  (void)user;
  if (getenv("SIM_TEST_TRACE"))
    fprintf(stderr, "  sim %10llu %-7s %s\n", (unsigned long long)ev->t_us,
            sim_trace_kind_name(ev->kind), ev->text);
}

static void rig_init(struct rig *br, const char *state, double scale,
                        uint32_t host_baud) {
  struct sim_state st;
  char path[512], err[256];
  memset(br, 0, sizeof *br);
  snprintf(path, sizeof path, "%s/states/%s.json", SQN_FIXTURES, state);
  if (sim_state_load(path, &st, err, sizeof err))
    ck_abort_msg("%s", err);
  struct sim_modem_config mc = {
      .profile = st.profile,
      .state = &st,
      .time_scale = scale,
      .tx = modem_tx,
      .trace = trace,
      .user = br,
  };
  br->m = sim_modem_new(&mc, 1000000);
  ck_assert_ptr_nonnull(br->m);
  harness_bridge_init(&br->hb, br->m, 1000000);
  sim_state_release(&st);
  sim_modem_set_host_baud(br->m, host_baud);
}

static void rig_free(struct rig *br) {
  sim_modem_free(br->m);
  harness_bridge_free(&br->hb);
}

static int rig_start(struct rig *br, enum sqn_update_mode mode,
                        bool force, uint32_t baud) {
  struct sqn_update_config c = {
      .mode = mode,
      .tx_buf = br->tx,
      .tx_cap = sizeof br->tx,
      .rx_buf = br->rx,
      .rx_cap = sizeof br->rx,
      .pkg_size = br->pkg_len,
      .pkg2_size = br->pkg2_len,
      .updater_size = br->elf_len,
      .baud = baud,
      .force = force,
      .method = br->method,
      .timeout_scale = 1.0,
      .write = host_write,
      .set_baud = host_set_baud,
      .read_pkg = host_read_pkg,
      .event = host_event,
      .user = br,
  };
  ck_assert_int_eq(sqn_update_init(&br->u, &c), 0);
  return sqn_update_start(&br->u, br->hb.now_us / 1000);
}

/* Run both state machines on the bridge until the updater is done or
 * `limit_us` of virtual time passed. */
static void rig_run(struct rig *br, uint64_t limit_us) {
  br->hb.host = &harness_bridge_sqn_update;
  br->hb.h = &br->u;
  enum harness_bridge_end e = harness_bridge_run(&br->hb, limit_us);
  ck_assert_msg(e != HARNESS_BRIDGE_STUCK, "deadlock: nobody has a deadline");
  ck_assert_msg(e != HARNESS_BRIDGE_OOM, "out of memory");
}

static void assert_model_runs(struct rig *br, const char *version,
                              uint32_t build) {
  const struct sim_state *st = sim_modem_state(br->m);
  ck_assert_int_eq(sim_modem_smod(br->m), SIM_SMOD_FFF);
  ck_assert(st->fff.valid);
  ck_assert_str_eq(st->fff.version, version);
  ck_assert_uint_eq(st->fff.build, build);
}

static bool sent(const struct rig *br, const char *cmd) {
  return strstr(br->sent, cmd) != NULL;
}


static void fault(struct rig *br, enum sim_fault_trigger when,
                  const char *match, uint32_t first, uint32_t last,
                  enum sim_fault_action act, const char *text,
                  uint64_t delay_us, uint32_t count) {
  struct sim_fault f;
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "t%d", (int)act);
  f.when = when;
  if (match)
    snprintf(f.match, sizeof f.match, "%s", match);
  f.first = first;
  f.last = last;
  f.action = act;
  if (text)
    snprintf(f.text, sizeof f.text, "%s", text);
  f.delay_us = delay_us;
  f.count = count;
  ck_assert_int_eq(sim_modem_add_fault(br->m, &f), 0);
}

static void fault_op(struct rig *br, int op, uint32_t first, uint32_t last,
                     enum sim_fault_action act, uint64_t delay_us,
                     uint32_t count) {
  struct sim_fault f;
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "op%d-%d", op, (int)act);
  f.when = SIM_FAULT_ON_STP_OP;
  f.op = op;
  f.first = first;
  f.last = last;
  f.action = act;
  f.delay_us = delay_us;
  f.count = count;
  ck_assert_int_eq(sim_modem_add_fault(br->m, &f), 0);
}

/* Start from `state` with `pkg` and run to the end (at most 2 virtual h). */
/* Upgrade with fixtures/packages/<pkgname>, within `bound_s` virtual
 * seconds; returns the result. */
static int run_case_within(struct rig *br, const char *pkgname,
                           uint8_t **pkg, uint64_t bound_s) {
  char rel[128];
  snprintf(rel, sizeof rel, "packages/%s", pkgname);
  *pkg = load(rel, &br->pkg_len);
  br->pkg = *pkg;
  ck_assert_int_eq(rig_start(br, SQN_UPDATE_MODE_UPGRADE, false, 0), 0);
  rig_run(br, bound_s * 1000000);
  ck_assert_msg(sqn_update_done(&br->u), "not done after %llu s (state %s)",
                (unsigned long long)bound_s,
                sqn_update_state_name(br->u.state));
  return sqn_update_result(&br->u);
}

static int run_case(struct rig *br, const char *pkgname, uint8_t **pkg) {
  return run_case_within(br, pkgname, pkg, 7200);
}

#define EXPECT_OK(br, rc)                                                      \
  ck_assert_msg((rc) == 0, "%s: %s", sqn_err_name(rc), (br).u.detail)

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_update_sim_fff_healthy_upgrades_and_verifies) {
  struct rig br;
  rig_init(&br, "healthy", 1.0, 921600);
  uint8_t *pkg;
  int rc = run_case_within(&br, "lr5-5.2.0.0-48829.dup", &pkg, 3600);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  ck_assert(sent(&br, "AT+SMSWBOOT=3,1"));
  ck_assert(sent(&br, "AT+SMSTPU=\"ON_THE_FLY\""));
  ck_assert(sent(&br, "AT+SMSWBOOT=1,1"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_recovery_pushes_without_switching) {
  /* The incident: interrupted upgrade, modem in RECOVERY (SMOD 4). */
  struct rig br;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  uint8_t *pkg;
  int rc = run_case_within(&br, "lr5-5.1.1.0-38638.dup", &pkg, 3600);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  /* Never SMSWBOOT=3,x in the recovery chain, and SMSTPU before 1,1. */
  ck_assert(!sent(&br, "AT+SMSWBOOT=3"));
  ck_assert(strstr(br.sent, "AT+SMSTPU") != NULL);
  ck_assert(strstr(br.sent, "AT+SMSWBOOT=1") != NULL);
  ck_assert(strstr(br.sent, "AT+SMSTPU") < strstr(br.sent, "AT+SMSWBOOT=1"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_gm02s_recovery_recovers_at_115200) {
  struct rig br;
  rig_init(&br, "gm02s-recovery", 1.0, 921600);
  uint8_t *pkg;
  int rc = run_case_within(&br, "lr8-8.2.1.0-61488.dup", &pkg, 3600);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "8.2.1.0", 61488);
  ck_assert_uint_eq(sim_modem_uart_baud(br.m), 115200);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_ffh_with_updater_recovers) {
  struct rig br;
  rig_init(&br, "ffh-only", 1.0, 921600);
  uint8_t *pkg = load("packages/lr5-5.1.1.0-38638.dup", &br.pkg_len);
  uint8_t *elf = load("packages/updater.elf", &br.elf_len);
  br.pkg = pkg;
  br.elf = elf;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0), 0);
  rig_run(&br, 3600ull * 1000000);
  ck_assert_msg(sqn_update_result(&br.u) == 0, "%s: %s",
                sqn_err_name(sqn_update_result(&br.u)), br.u.detail);
  assert_model_runs(&br, "5.1.1.0", 38638);
  ck_assert(sent(&br, "AT+IPR=921600"));
  ck_assert(sent(&br, "AT+STP"));
  rig_free(&br);
  free(pkg);
  free(elf);
}
END_TEST

START_TEST(test_update_sim_ffh_without_updater_refused_before_stp) {
  struct rig br;
  rig_init(&br, "ffh-only", 1.0, 921600);
  uint8_t *pkg;
  ck_assert_int_eq(run_case_within(&br, "lr5-5.1.1.0-38638.dup", &pkg, 3600),
                   SQN_E_RECOVERY_NEEDS_UPDATER_AND_FULL_IMAGE);
  ck_assert(!br.u.stp_sent);
  ck_assert(!sent(&br, "AT+STP"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_family_mismatch_refused_before_any_write) {
  struct rig br;
  rig_init(&br, "healthy", 1.0, 921600);
  /* healthy runs LR5 5.1.1.0-33988; an LR6 package is refused (S19). */
  uint8_t *pkg = load("packages/lr6-6.0.0.0-41019.dup", &br.pkg_len);
  br.pkg = pkg;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0), 0);
  rig_run(&br, 600ull * 1000000);
  ck_assert_int_eq(sqn_update_result(&br.u), SQN_E_IMAGE_FAMILY_MISMATCH);
  ck_assert(!br.u.stp_sent);
  ck_assert(!sent(&br, "AT+SMSWBOOT"));
  ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_FFF);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_downgrade_needs_force) {
  /* S21: healthy runs 5.1.1.0-33988; 5.1.0.0-30000 is older. _i = force. */
  struct rig br;
  struct sqn_pkg_opts o;
  static uint8_t pkg[65536];
  size_t len = 0;
  ck_assert_int_eq(sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5), 0);
  o.version.v[2] = 0;
  o.version.build = 30000;
  ck_assert_int_eq(sqn_pkg_build_buf(&o, pkg, sizeof pkg, &len), 0);
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = pkg;
  br.pkg_len = len;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, _i != 0, 0), 0);
  rig_run(&br, 3600ull * 1000000);
  if (_i == 0) {
    ck_assert_int_eq(sqn_update_result(&br.u), SQN_E_DOWNGRADE_REFUSED);
    ck_assert(!sent(&br, "AT+SMSWBOOT"));
    ck_assert(strstr(br.u.detail, "5.1.0.0-30000") != NULL);
  } else {
    EXPECT_OK(br, sqn_update_result(&br.u));
    assert_model_runs(&br, "5.1.0.0", 30000);
  }
  rig_free(&br);
}
END_TEST

START_TEST(test_update_sim_info_reads_mode_and_version) {
  struct rig br;
  rig_init(&br, "healthy", 1.0, 921600);
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_INFO, false, 0), 0);
  rig_run(&br, 600ull * 1000000);
  ck_assert_int_eq(sqn_update_result(&br.u), 0);
  ck_assert_int_eq(br.u.modem.smod, 2);
  ck_assert_str_eq(br.u.modem.lr, "LR5.1.1.0-33988");
  ck_assert_int_eq(br.u.modem.family, 5);
  ck_assert(!sent(&br, "AT+SMSWBOOT"));
  rig_free(&br);
}
END_TEST

START_TEST(test_update_sim_big_push_from_recovery_completes) {
  /* 5,665,583 bytes from RECOVERY through the model: the whole run
   * (detection, STP push, apply, reboot, verify) ends with the package
   * running and every byte acked. How fast is bench_inproc's business
   * (docs/benchmarks.md): a unit test asserts no timing. */
  struct sqn_pkg_opts o;
  size_t cap = 5665583, len = 0;
  uint8_t *pkg = malloc(cap);
  ck_assert_ptr_nonnull(pkg);
  ck_assert_int_eq(sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5), 0);
  o.version.v[1] = 2; /* 5.2.1.0 > 5.1.1.0 */
  o.size = cap;
  ck_assert_int_eq(sqn_pkg_build_buf(&o, pkg, cap, &len), 0);
  ck_assert_uint_eq(len, cap);
  struct rig br;
  rig_init(&br, "interrupted-upgrade", 0.0, 921600);
  br.pkg = pkg;
  br.pkg_len = len;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0), 0);
  rig_run(&br, 3600ull * 1000000);
  EXPECT_OK(br, sqn_update_result(&br.u));
  assert_model_runs(&br, "5.2.1.0", o.version.build);
  ck_assert_uint_eq(br.u.stpm.acked, len);
  rig_free(&br);
  free(pkg);
}
END_TEST


START_TEST(test_update_sim_swboot3_error_once_falls_back) {
  /* S01a: first AT+SMSWBOOT=3,1 answers ERROR. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSWBOOT=3,1", 1, 1, SIM_FAULT_DO_ERROR,
        NULL, 0, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  ck_assert(sent(&br, "AT+SMSWBOOT=3,0"));
  ck_assert(sent(&br, "AT^RESET"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_swboot3_always_error_refused_no_stp) {
  /* S01b */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSWBOOT=3,*", 1, 0, SIM_FAULT_DO_ERROR,
        NULL, 0, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_ENTER_UPGRADE_REFUSED);
  ck_assert(!br.u.stp_sent);
  ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_FFF);
  ck_assert(sqn_err_power_safe(rc));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_urc_and_split_reply_parsed) {
  /* S01c: URC before the answer, answer split in 3 chunks 300 ms apart. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSWBOOT=3,1", 1, 1, SIM_FAULT_DO_URC,
        "+CPSMS: 1,,,\"10000110\",\"00011110\"", 0, 0);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSWBOOT=3,1", 1, 1, SIM_FAULT_DO_SPLIT,
        NULL, 300000, 3);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  ck_assert(!sent(&br, "AT+SMSWBOOT=3,0"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_nul_only_modem_not_detected_bounded) {
  /* S07a: NUL bytes instead of every answer. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "*", 1, 0, SIM_FAULT_DO_NUL, NULL, 0, 2);
  uint64_t t0 = br.hb.now_us;
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_MODEM_NOT_DETECTED);
  ck_assert_int_eq(sqn_err_next(rc), SQN_NEXT_POWER_CYCLE);
  ck_assert_uint_lt(br.hb.now_us - t0, 120ull * 1000000);
  ck_assert(strstr(sqn_err_advice(rc), "power cycle") != NULL);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_first_at_error_is_sync) {
  /* S08b */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT", 1, 1, SIM_FAULT_DO_ERROR, NULL, 0, 0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_data_mode_left_with_escape) {
  /* S09a */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_POWER_ON, NULL, 1, 1, SIM_FAULT_DO_DATA_MODE, NULL,
        0, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_reboot_at_final_reset_repushes) {
  /* The modem reboots on the final RESET (before ending the session) and
   * stays silent for 9 min (S11a timing): it then reports "on-going" in
   * RECOVERY, and the package must be sent again. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault_op(&br, 0, 2, 2, SIM_FAULT_DO_REBOOT, 540ull * 1000000, 0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_never_back_after_push_commit_timeout) {
  /* S11c: silent forever after the push. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMUPGRADE?", 1, 1, SIM_FAULT_DO_SILENT,
        NULL, 0, 0);
  uint64_t t0 = br.hb.now_us;
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_COMMIT_TIMEOUT);
  ck_assert(!sqn_err_power_safe(rc));
  ck_assert(!sqn_update_power_safe(&br.u));
  ck_assert_uint_ge(br.hb.now_us - t0, 600ull * 1000000);  /* >= 10 min */
  ck_assert_uint_le(br.hb.now_us - t0, 1200ull * 1000000); /* bounded */
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_delayed_acks_tolerated) {
  /* S12: BLOCK acks delayed 75 s. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault_op(&br, 3, 1, 1, SIM_FAULT_DO_DELAY, 75ull * 1000000, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  ck_assert_uint_eq(br.u.stpm.resends, 0);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_upgrade_failure_reported_verbatim) {
  /* S14 */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_STP_FRAME, NULL, 3, 3, SIM_FAULT_DO_FAIL_UPGRADE,
        "failure[diffUpgrade,239] Patch didn't apply!", 0, 0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_UPGRADE_REJECTED);
  ck_assert(strstr(br.u.detail, "Patch didn't apply!") != NULL);
  ck_assert(!sent(&br, "AT+SMSWBOOT=1"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_smstpu_error_names_mode) {
  /* S15 */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSTPU*", 1, 0, SIM_FAULT_DO_ERROR, NULL, 0,
        0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_STP_START_REFUSED);
  ck_assert(strstr(br.u.detail, "SMOD 4") != NULL);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_corrupt_responses_recovered) {
  /* S24a/b: magic, hcrc, tid corrupted once each. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_STP_FRAME, NULL, 4, 4, SIM_FAULT_DO_CORRUPT_MAGIC,
        NULL, 0, 0);
  fault(&br, SIM_FAULT_ON_STP_FRAME, NULL, 7, 7, SIM_FAULT_DO_CORRUPT_HCRC,
        NULL, 0, 0);
  fault(&br, SIM_FAULT_ON_STP_FRAME, NULL, 9, 9, SIM_FAULT_DO_CORRUPT_TID,
        NULL, 0, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_every_response_corrupt_reports_protocol) {
  /* S24c: the modem must stay in SMOD 4 for a rerun. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault_op(&br, 3, 1, 0, SIM_FAULT_DO_CORRUPT_OP, 0, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_STP_PROTOCOL);
  rig_run(&br, 60ull * 1000000); /* no-op: done */
  ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_RECOVERY);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_residue_tail_resent) {
  /* S25 */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault_op(&br, 3, 1, 1, SIM_FAULT_DO_RESIDUE, 0, 100);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  ck_assert_uint_ge(br.u.stpm.residues, 1);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_crash_mid_stp_restarts_transfer) {
  /* S29b */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_STP_FRAME, NULL, 5, 5, SIM_FAULT_DO_CRASH, NULL,
        7ull * 1000000, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_crash_in_preamble_redetects) {
  /* S29a: crash on the SMSWBOOT request, +SYSSTART 7 s later. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSWBOOT=3,1", 1, 1, SIM_FAULT_DO_CRASH,
        NULL, 7ull * 1000000, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_rebooting_modem_reported_unstable) {
  /* S29c: every command from the 2nd on crashes the modem. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMOD?", 1, 0, SIM_FAULT_DO_CRASH, NULL,
        2ull * 1000000, 0);
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  ck_assert_msg(rc == SQN_E_MODEM_UNSTABLE, "%s: %s", sqn_err_name(rc),
                br.u.detail);
  ck_assert(!br.u.stp_sent);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_corrupted_package_refused_before_any_byte) {
  struct rig br;
  size_t len;
  uint8_t *pkg = load("packages/lr5-5.2.0.0-48829.dup", &len);
  pkg[5000] ^= 0xff;
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = pkg;
  br.pkg_len = len;
  int rc = rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0);
  ck_assert_int_eq(rc, SQN_E_IMAGE_INVALID);
  ck_assert(sqn_update_done(&br.u));
  ck_assert(!br.u.wrote);
  ck_assert_uint_eq(harness_bridge_pending_to_modem(&br.hb), 0);
  ck_assert(strstr(br.u.detail, "offset") != NULL);
  pkg[5000] ^= 0xff; /* intact again */
  br.pkg_len = 100;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0),
                   SQN_E_IMAGE_TRUNCATED);
  br.pkg_len = len - 10;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0),
                   SQN_E_IMAGE_TRUNCATED);
  ck_assert(!br.u.wrote);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_silent_after_mode_switch_reported) {
  /* S03b: silent forever once in RECOVERY. */
  struct rig br;
  uint8_t *pkg;
  struct sim_fault f;
  rig_init(&br, "healthy", 1.0, 921600);
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "s03b");
  f.when = SIM_FAULT_ON_MODE;
  f.mode = SIM_FAULT_MODE_RECOVERY;
  f.action = SIM_FAULT_DO_SILENT;
  ck_assert_int_eq(sim_modem_add_fault(br.m, &f), 0);
  uint64_t t0 = br.hb.now_us;
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH);
  ck_assert(!br.u.stp_sent);
  ck_assert_uint_le(br.hb.now_us - t0, 300ull * 1000000);
  ck_assert(strstr(sqn_err_advice(rc), "power-cycle") != NULL);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_first_block_never_acked_stalls) {
  /* S13: the first BLOCK is never answered. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  fault_op(&br, 3, 1, 0, SIM_FAULT_DO_NO_REPLY, 0, 0);
  uint64_t t0 = br.hb.now_us;
  int rc = run_case(&br, "lr5-5.2.0.0-48829.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_TRANSFER_STALLED);
  ck_assert_uint_le(br.hb.now_us - t0, 10ull * 60 * 1000000);
  ck_assert_int_eq(br.u.stpm.acked, 0);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_commit_9_minutes_waits_with_progress) {
  /* S11a: the first boot of the new firmware is 9 silent minutes (power
   * gone, then back); the updater keeps waiting, says so, and succeeds. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  struct sim_fault f;
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "s11a");
  f.when = SIM_FAULT_ON_MODE;
  f.mode = SIM_FAULT_MODE_FFF;
  f.first = 2;
  f.last = 2;
  f.action = SIM_FAULT_DO_POWER_CUT;
  f.delay_us = 540ull * 1000000;
  ck_assert_int_eq(sim_modem_add_fault(br.m, &f), 0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  ck_assert_uint_ge(br.wait_logs, 10); /* every 30 s of 9 min */
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_default_bounds_cover_10_minute_commit) {
  struct sqn_update_timeouts t;
  sqn_update_default_timeouts(&t);
  ck_assert_uint_ge(t.commit_ms, 600000);
  ck_assert_uint_ge(t.boot_ms, 600000);
}
END_TEST

START_TEST(test_update_sim_store_method_upgrades_without_recovery) {
  /* F23 path, no fault: AT+SMSTPU, AT+SMUPGRADE, no SMSWBOOT at all. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  br.method = SQN_UPDATE_METHOD_STORE;
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  ck_assert(sent(&br, "AT+SMSTPU\r"));
  ck_assert(sent(&br, "AT+SMUPGRADE\r"));
  ck_assert(!sent(&br, "AT+SMSWBOOT"));
  ck_assert(!sent(&br, "ON_THE_FLY"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_store_crc_once_retried_from_clean_copy) {
  /* S23: one bit of the stored copy flips before the first apply. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  br.method = SQN_UPDATE_METHOD_STORE;
  fault(&br, SIM_FAULT_ON_AT, "AT+SMUPGRADE", 1, 1, SIM_FAULT_DO_FLIP_STORE,
        NULL, 0, 1000);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  ck_assert_uint_eq(br.u.push_attempts, 2);
  ck_assert_uint_eq(br.u.crc_retries, 1);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_store_crc_twice_reports_image_crc) {
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  br.method = SQN_UPDATE_METHOD_STORE;
  fault(&br, SIM_FAULT_ON_AT, "AT+SMUPGRADE", 1, 0, SIM_FAULT_DO_FLIP_STORE,
        NULL, 0, 1000);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_IMAGE_CRC);
  ck_assert(sqn_err_power_safe(rc));
  ck_assert_int_eq(sqn_err_exit(rc), SQN_EXIT_TRANSFER);
  ck_assert_uint_eq(br.u.push_attempts, 2);
  /* The old image stays: the modem is fine for a rerun. */
  assert_model_runs(&br, "5.1.1.0", 33988);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_store_from_recovery_falls_back_to_otf) {
  /* AT+SMSTPU (store) is an application command: in SMOD 4 the package
   * goes on the fly, with a notice. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "interrupted-upgrade", 1.0, 921600);
  br.method = SQN_UPDATE_METHOD_STORE;
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  ck_assert(sent(&br, "AT+SMSTPU=\"ON_THE_FLY\""));
  ck_assert(!sent(&br, "AT+SMUPGRADE\r"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_old_bootrom_without_record_refused) {
  /* F18: Bootloader0 [33080] and a package with no bootrom record. */
  struct rig br;
  struct sqn_pkg_opts o;
  size_t cap = 65536, len = 0;
  uint8_t *pkg = malloc(cap);
  ck_assert_ptr_nonnull(pkg);
  ck_assert_int_eq(sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5), 0);
  o.records = SQN_PKG_REC_BIT(SQN_PKG_REC_UPDATER) |
              SQN_PKG_REC_BIT(SQN_PKG_REC_FFF) |
              SQN_PKG_REC_BIT(SQN_PKG_REC_FS);
  ck_assert_int_eq(sqn_pkg_build_buf(&o, pkg, cap, &len), 0);
  rig_init(&br, "factory-33080", 1.0, 921600);
  br.pkg = pkg;
  br.pkg_len = len;
  ck_assert_int_eq(rig_start(&br, SQN_UPDATE_MODE_UPGRADE, false, 0), 0);
  rig_run(&br, 3600ull * 1000000);
  ck_assert_int_eq(sqn_update_result(&br.u), SQN_E_BOOTROM_TOO_OLD);
  ck_assert_uint_eq(br.u.modem.bootrom_build, 33080);
  ck_assert(!br.u.stp_sent);
  ck_assert(!sent(&br, "AT+SMSWBOOT"));
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_old_bootrom_with_record_proceeds) {
  /* S18: the package's bootrom record refreshes the factory bootrom. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "factory-33080", 1.0, 921600);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  ck_assert_uint_eq(br.u.modem.bootrom_build, 33080);
  ck_assert_uint_eq(sim_modem_state(br.m)->bootrom.build, 38638);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_data_mode_stuck_with_ppp_reported) {
  /* S09b: +++ ignored; the modem's PPP peer answers each line with an LCP
   * frame, which tells a stuck data mode from a dead modem (S07). */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_POWER_ON, NULL, 1, 1, SIM_FAULT_DO_DATA_MODE_STUCK,
        NULL, 0, 0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  ck_assert_int_eq(rc, SQN_E_DATA_MODE_STUCK);
  ck_assert(!br.u.stp_sent);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_uart_reset_after_upgrade_reprobed) {
  /* S22: the new firmware comes up at 115200. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSTPU*", 1, 1, SIM_FAULT_DO_UART_RESET,
        NULL, 0, 0);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  ck_assert_uint_eq(br.u.modem.baud, 115200);
  rig_free(&br);
  free(pkg);
}
END_TEST

START_TEST(test_update_sim_quiet_boot_polled) {
  /* S11b: no +SHUTDOWN / +SYSSTART after AT+SMSWBOOT=1,1. */
  struct rig br;
  uint8_t *pkg;
  rig_init(&br, "healthy", 1.0, 921600);
  fault(&br, SIM_FAULT_ON_AT, "AT+SMSWBOOT=1,*", 1, 1, SIM_FAULT_DO_QUIET_BOOT,
        NULL, 0, 1);
  int rc = run_case(&br, "lr5-5.1.1.0-38638.dup", &pkg);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.1.1.0", 38638);
  rig_free(&br);
  free(pkg);
}
END_TEST

/* ---- two-part packages (faults.md F20, S20) ------------------------------ */

#define PART1 "packages/lr5-5.1.1.0-39529-part1.dup"
#define PART2 "packages/lr5-5.2.0.0-48829-part2.dup"

static unsigned count_sent(const struct rig *br, const char *cmd) {
  unsigned n = 0;
  for (const char *p = br->sent; (p = strstr(p, cmd)) != NULL; p++)
    n++;
  return n;
}

/* One run of the updater on the bridge's packages; its result. */
static int parts_run(struct rig *br, bool force) {
  br->sent_len = 0;
  br->sent[0] = '\0';
  int rc = rig_start(br, SQN_UPDATE_MODE_UPGRADE, force, 0);
  if (rc)
    return rc;
  rig_run(br, 7200ull * 1000000);
  ck_assert(sqn_update_done(&br->u));
  return sqn_update_result(&br->u);
}

START_TEST(test_update_sim_two_parts_in_one_session) {
  /* S20: part 2 follows part 1 in the same recovery session: one switch to
   * recovery, two pushes, and the only AT+SMSWBOOT=1,x after the second. */
  struct rig br;
  size_t l1, l2;
  uint8_t *p1 = load(PART1, &l1), *p2 = load(PART2, &l2);
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p1, br.pkg_len = l1, br.pkg2 = p2, br.pkg2_len = l2;
  int rc = parts_run(&br, false);
  EXPECT_OK(br, rc);
  assert_model_runs(&br, "5.2.0.0", 48829);
  ck_assert(!sim_modem_state(br.m)->part2_pending);
  ck_assert_uint_eq(count_sent(&br, "AT+SMSWBOOT=3"), 1);
  ck_assert_uint_eq(count_sent(&br, "AT+SMSTPU=\"ON_THE_FLY\""), 2);
  ck_assert_uint_eq(count_sent(&br, "AT+SMSWBOOT=1"), 1);
  const char *second_push = strstr(strstr(br.sent, "AT+SMSTPU") + 1,
                                   "AT+SMSTPU");
  ck_assert_ptr_nonnull(second_push);
  ck_assert_ptr_nonnull(strstr(second_push, "AT+SMSWBOOT=1"));
  ck_assert_uint_eq(br.u.part1.fff_version.build, 39529);
  ck_assert_uint_eq(br.u.pkg.part, 2);
  rig_free(&br);
  free(p1);
  free(p2);
}
END_TEST

START_TEST(test_update_sim_part1_alone_refused_before_any_write) {
  struct rig br;
  size_t l1;
  uint8_t *p1 = load(PART1, &l1);
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p1, br.pkg_len = l1;
  ck_assert_int_eq(parts_run(&br, false), SQN_E_PART2_MISSING);
  ck_assert(!br.u.wrote);
  ck_assert_ptr_nonnull(strstr(sqn_err_advice(SQN_E_PART2_MISSING),
                               "PART1 PART2"));
  ck_assert_str_eq(sim_modem_state(br.m)->fff.version, "5.1.1.0");
  ck_assert_uint_eq(sim_modem_state(br.m)->fff.build, 33988);
  rig_free(&br);
  free(p1);
}
END_TEST

START_TEST(test_update_sim_parts_swapped_refused_before_any_write) {
  struct rig br;
  size_t l1, l2;
  uint8_t *p1 = load(PART1, &l1), *p2 = load(PART2, &l2);
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p2, br.pkg_len = l2, br.pkg2 = p1, br.pkg2_len = l1;
  ck_assert_int_eq(parts_run(&br, false), SQN_E_PARTS_MISMATCH);
  ck_assert(!br.u.wrote);
  /* A one-part package as "part 2" is no pair either. */
  size_t l3;
  uint8_t *p3 = load("packages/lr5-5.2.0.0-48829.dup", &l3);
  br.pkg = p1, br.pkg_len = l1, br.pkg2 = p3, br.pkg2_len = l3;
  ck_assert_int_eq(parts_run(&br, true), SQN_E_PARTS_MISMATCH);
  ck_assert(!br.u.wrote);
  rig_free(&br);
  free(p1);
  free(p2);
  free(p3);
}
END_TEST

START_TEST(test_update_sim_part2_alone_needs_intermediate_version) {
  /* A healthy modem shows LR5.1.1.0-33988, not part 1's -39529. */
  struct rig br;
  size_t l2;
  uint8_t *p2 = load(PART2, &l2);
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p2, br.pkg_len = l2;
  ck_assert_int_eq(parts_run(&br, false), SQN_E_PART1_MISSING);
  ck_assert(!br.u.stp_sent);
  ck_assert(!sent(&br, "AT+SMSWBOOT"));
  /* Forced anyway: the modem itself refuses part 2 before the fff slot is
   * touched, and the application stays as it was. */
  ck_assert_int_eq(parts_run(&br, true), SQN_E_UPGRADE_REJECTED);
  ck_assert_ptr_nonnull(strstr(br.u.modem.upgrade_status, "intermediate"));
  ck_assert(sim_modem_state(br.m)->fff.valid);
  ck_assert_uint_eq(sim_modem_state(br.m)->fff.build, 33988);
  rig_free(&br);
  free(p2);
}
END_TEST

START_TEST(test_update_sim_part1_forced_then_part2_same_session) {
  /* --force part 1 alone: applied, no reboot, E_PART2_PENDING; the modem
   * stays in the recovery chain. Part 2 alone then cannot see a version
   * (RECOVERY) and needs --force; applied, the modem runs part 2. */
  struct rig br;
  size_t l1, l2;
  uint8_t *p1 = load(PART1, &l1), *p2 = load(PART2, &l2);
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p1, br.pkg_len = l1;
  ck_assert_int_eq(parts_run(&br, true), SQN_E_PART2_PENDING);
  ck_assert(!sqn_err_power_safe(SQN_E_PART2_PENDING));
  ck_assert(!sent(&br, "AT+SMSWBOOT=1"));
  ck_assert(sim_modem_state(br.m)->part2_pending);
  ck_assert_uint_eq(sim_modem_state(br.m)->fff.build, 39529);
  ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_RECOVERY);
  br.pkg = p2, br.pkg_len = l2;
  ck_assert_int_eq(parts_run(&br, false), SQN_E_PART1_MISSING);
  ck_assert(!br.u.stp_sent);
  ck_assert_int_eq(parts_run(&br, true), 0);
  assert_model_runs(&br, "5.2.0.0", 48829);
  ck_assert(!sim_modem_state(br.m)->part2_pending);
  rig_free(&br);
  free(p1);
  free(p2);
}
END_TEST

START_TEST(test_update_sim_intermediate_image_dies_at_power_cycle) {
  /* F20 in the model: after part 1 the intermediate image boots (and shows
   * LR5.1.1.0-39529) in the same power session; a power cycle before part
   * 2 leaves the modem silent, at every later power-on too. Part 2 alone
   * on the intermediate image (same session) is accepted without --force. */
  struct rig br;
  size_t l1, l2;
  uint8_t *p1 = load(PART1, &l1), *p2 = load(PART2, &l2);
  static const uint8_t sw1[] = "AT+SMSWBOOT=1,1\r";
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p1, br.pkg_len = l1;
  ck_assert_int_eq(parts_run(&br, true), SQN_E_PART2_PENDING);
  /* A host that reboots into the application, as Pycom's tool did. */
  sim_modem_feed(br.m, br.hb.now_us, sw1, sizeof sw1 - 1);
  br.hb.now_us += 30ull * 1000000;
  sim_modem_tick(br.m, br.hb.now_us);
  ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_FFF);
  harness_bridge_drop_to_host(&br.hb);
  /* Part 2 alone, same power session: the modem shows part 1's version. */
  br.pkg = p2, br.pkg_len = l2;
  ck_assert_int_eq(parts_run(&br, false), 0);
  assert_model_runs(&br, "5.2.0.0", 48829);
  rig_free(&br);

  /* Same again, but a power cycle before part 2. */
  rig_init(&br, "healthy", 1.0, 921600);
  br.pkg = p1, br.pkg_len = l1;
  ck_assert_int_eq(parts_run(&br, true), SQN_E_PART2_PENDING);
  sim_modem_feed(br.m, br.hb.now_us, sw1, sizeof sw1 - 1);
  br.hb.now_us += 30ull * 1000000;
  sim_modem_tick(br.m, br.hb.now_us);
  ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_FFF);
  char *json = sim_state_to_json(sim_modem_state(br.m));
  ck_assert_ptr_nonnull(strstr(json, "\"part2_pending\": true"));
  free(json);
  for (int cycle = 0; cycle < 2; cycle++) {
    sim_modem_power_cut(br.m, br.hb.now_us);
    br.hb.now_us += 1000000;
    sim_modem_power_on(br.m, br.hb.now_us);
    br.hb.now_us += 120ull * 1000000;
    sim_modem_tick(br.m, br.hb.now_us);
    ck_assert_int_eq(sim_modem_smod(br.m), SIM_SMOD_NONE);
  }
  harness_bridge_drop_to_host(&br.hb);
  br.pkg = p2, br.pkg_len = l2;
  ck_assert_int_eq(parts_run(&br, true), SQN_E_MODEM_NOT_DETECTED);
  rig_free(&br);
  free(p1);
  free(p2);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

/* UPD_ONLY=<substring> runs only the matching tests (debugging aid). */
#define ADD(tc, fn)                                                            \
  do {                                                                         \
    const char *only = getenv("UPD_ONLY");                                     \
    if (!only || strstr(#fn, only))                                            \
      tcase_add_test(tc, fn);                                                  \
  } while (0)

static Suite *update_sim_suite(void) {
  Suite *s = suite_create("update_sim");
  TCase *tc = tcase_create("model");
  tcase_set_timeout(tc, 60);
  ADD(tc, test_update_sim_fff_healthy_upgrades_and_verifies);
  ADD(tc, test_update_sim_recovery_pushes_without_switching);
  ADD(tc, test_update_sim_gm02s_recovery_recovers_at_115200);
  ADD(tc, test_update_sim_ffh_with_updater_recovers);
  ADD(tc, test_update_sim_ffh_without_updater_refused_before_stp);
  ADD(tc, test_update_sim_family_mismatch_refused_before_any_write);
  tcase_add_loop_test(tc, test_update_sim_downgrade_needs_force, 0, 2);
  ADD(tc, test_update_sim_info_reads_mode_and_version);
  ADD(tc, test_update_sim_big_push_from_recovery_completes);
  ADD(tc, test_update_sim_two_parts_in_one_session);
  ADD(tc, test_update_sim_part1_alone_refused_before_any_write);
  ADD(tc, test_update_sim_parts_swapped_refused_before_any_write);
  ADD(tc, test_update_sim_part2_alone_needs_intermediate_version);
  ADD(tc, test_update_sim_part1_forced_then_part2_same_session);
  ADD(tc, test_update_sim_intermediate_image_dies_at_power_cycle);
  suite_add_tcase(s, tc);
  TCase *tf = tcase_create("faults");
  tcase_set_timeout(tf, 60);
  ADD(tf, test_update_sim_swboot3_error_once_falls_back);
  ADD(tf, test_update_sim_swboot3_always_error_refused_no_stp);
  ADD(tf, test_update_sim_urc_and_split_reply_parsed);
  ADD(tf, test_update_sim_nul_only_modem_not_detected_bounded);
  ADD(tf, test_update_sim_first_at_error_is_sync);
  ADD(tf, test_update_sim_data_mode_left_with_escape);
  ADD(tf, test_update_sim_reboot_at_final_reset_repushes);
  ADD(tf, test_update_sim_never_back_after_push_commit_timeout);
  ADD(tf, test_update_sim_delayed_acks_tolerated);
  ADD(tf, test_update_sim_upgrade_failure_reported_verbatim);
  ADD(tf, test_update_sim_smstpu_error_names_mode);
  ADD(tf, test_update_sim_corrupt_responses_recovered);
  ADD(tf, test_update_sim_every_response_corrupt_reports_protocol);
  ADD(tf, test_update_sim_residue_tail_resent);
  ADD(tf, test_update_sim_crash_mid_stp_restarts_transfer);
  ADD(tf, test_update_sim_crash_in_preamble_redetects);
  ADD(tf, test_update_sim_rebooting_modem_reported_unstable);
  ADD(tf, test_update_sim_corrupted_package_refused_before_any_byte);
  ADD(tf, test_update_sim_silent_after_mode_switch_reported);
  ADD(tf, test_update_sim_first_block_never_acked_stalls);
  ADD(tf, test_update_sim_commit_9_minutes_waits_with_progress);
  ADD(tf, test_update_sim_default_bounds_cover_10_minute_commit);
  ADD(tf, test_update_sim_store_method_upgrades_without_recovery);
  ADD(tf, test_update_sim_store_crc_once_retried_from_clean_copy);
  ADD(tf, test_update_sim_store_crc_twice_reports_image_crc);
  ADD(tf, test_update_sim_store_from_recovery_falls_back_to_otf);
  ADD(tf, test_update_sim_old_bootrom_without_record_refused);
  ADD(tf, test_update_sim_old_bootrom_with_record_proceeds);
  ADD(tf, test_update_sim_data_mode_stuck_with_ppp_reported);
  ADD(tf, test_update_sim_uart_reset_after_upgrade_reprobed);
  ADD(tf, test_update_sim_quiet_boot_polled);
  suite_add_tcase(s, tf);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(update_sim_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

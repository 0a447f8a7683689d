/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault actions of the modem model one by one (nack, drop, crash, reboot,
 * silent, power-cut, fail-upgrade, data-mode-stuck, quiet-boot, uart-reset)
 * and the test-only broken write ordering (SIM_DEBUG_MARK_VALID_EARLY), on
 * a virtual clock.
 */
#include "test_sim_helpers.h"
#include "sim/fault_yaml.h"
#include "sim/state_file.h"


#include <unistd.h>

#define SEC 1000000ull
#define MIN (60 * SEC)


static void add_fault(struct rig *r, const struct sim_fault *f)
{
  ck_assert_int_eq(sim_modem_add_fault(r->m, f), 0);
}

/* AT+SMSTPU="ON_THE_FLY", STP RESET and OPEN; returns the next tid. */
static uint32_t open_otf(struct rig *r)
{
  uint8_t pl[4];
  rig_expect(r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  ck_assert_int_eq(rig_stp(r, 0, 0, 0, NULL, 0, NULL, 0), 0x80);
  ck_assert_int_eq(rig_stp(r, 1, 1, 1, NULL, 0, pl, 4), 0x81);
  return 2;
}

/* Push pkg[*off..until) in announced blocks of 8176 (every answer must be a
 * plain ack); `until` is rounded up to a block end. */
static void push_blocks(struct rig *r, const uint8_t *pkg, size_t len,
                        size_t *off, size_t until, uint32_t *tid)
{
  uint8_t pl[2];
  while (*off < until && *off < len) {
    size_t l = len - *off < 8176 ? len - *off : 8176;
    uint8_t c[2] = {(uint8_t)(l >> 8), (uint8_t)l};
    ck_assert_int_eq(rig_stp(r, 2, 1, (*tid)++, c, 2, NULL, 0), 0x82);
    ck_assert_int_eq(
        rig_stp(r, 3, 1, (*tid)++, pkg + *off, (uint16_t)l, pl, 2), 0x83);
    ck_assert_uint_eq(pl[0] << 8 | pl[1], 0);
    *off += l;
  }
}

static void finish_push(struct rig *r, const uint8_t *pkg, size_t len,
                        size_t off, uint32_t tid)
{
  push_blocks(r, pkg, len, &off, len, &tid);
  ck_assert_int_eq(rig_stp(r, 0, 1, tid, NULL, 0, NULL, 0), 0x80);
}

/* ---- STP answers --------------------------------------------------------- */

START_TEST(test_sim_fault_nack_answers_0x40_and_ignores_frame)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_STP_OP, .op = 2, .first = 1,
                        .last = 1, .action = SIM_FAULT_DO_NACK};
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 60000, 39529);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &f);
  uint32_t tid = open_otf(&r);
  uint8_t c[2] = {0x1f, 0xf0};
  ck_assert_int_eq(rig_stp(&r, 2, 1, tid++, c, 2, NULL, 0), 0x42);
  /* The BLOCK_CMD was not acted on: its BLOCK is malformed, unanswered. */
  ck_assert_int_eq(rig_stp(&r, 3, 1, tid++, pkg, 8176, NULL, 0), -1);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "No report");
  finish_push(&r, pkg, len, 0, tid);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  ck_assert_uint_eq(sim_modem_state(r.m)->fff.build, 39529);
  ck_assert_uint_eq(r.faults_fired, 1);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_drop_ignores_count_frames_unprocessed)
{
  struct rig r;
  /* Frames 1 and 2 are RESET and OPEN: drop the next three. */
  struct sim_fault f = {.when = SIM_FAULT_ON_STP_FRAME, .first = 3,
                        .last = 3, .action = SIM_FAULT_DO_DROP, .count = 3};
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 60000, 39529);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &f);
  uint32_t tid = open_otf(&r);
  uint8_t c[2] = {0x1f, 0xf0};
  ck_assert_int_eq(rig_stp(&r, 2, 1, tid, c, 2, NULL, 0), -1);
  ck_assert_int_eq(rig_stp(&r, 2, 1, tid, c, 2, NULL, 0), -1);
  ck_assert_int_eq(rig_stp(&r, 3, 1, tid + 1, pkg, 8176, NULL, 0), -1);
  /* Nothing was consumed: the push from offset 0 validates. */
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "No report");
  finish_push(&r, pkg, len, 0, tid);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  free(pkg);
  rig_free(&r);
}
END_TEST

/* ---- the modem goes away ------------------------------------------------- */

START_TEST(test_sim_fault_crash_prints_exit_and_reboots_boot_select)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_CRASH, .delay_us = 7 * SEC};
  snprintf(f.match, sizeof(f.match), "AT+CFUN=4");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &f);
  rig_expect(&r, "AT+SMSWBOOT=3,0\r\n", "\r\nOK\r\n");
  rig_clear(&r);
  rig_send(&r, "AT+CFUN=4\r\n");
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\n^EXIT: exception: 7\r\n", 23);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
  rig_clear(&r);
  rig_run(&r, 6 * SEC);
  rig_send(&r, "AT\r\n");
  rig_run(&r, 500000);
  ck_assert_uint_eq(r.out_len, 0); /* dark */
  rig_run(&r, 3 * SEC);
  /* boot_select (3 = RECOVERY) was persisted before the crash; no
   * +SYSSTART outside FFF. */
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  ck_assert_uint_eq(r.out_len, 0);
  /* RAM was lost: CFUN is back to 1. */
  rig_expect(&r, "AT+CFUN?\r\n", "\r\n+CFUN: 1\r\n\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_reboot_stays_dark_then_sysstart_without_shutdown)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_REBOOT, .delay_us = 9 * MIN};
  snprintf(f.match, sizeof(f.match), "AT+CFUN=4");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &f);
  rig_clear(&r);
  rig_send(&r, "AT+CFUN=4\r\n");
  ck_assert_uint_eq(r.out_len, 0);
  ck_assert(sim_modem_powered(r.m));
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
  rig_run(&r, 8 * MIN);
  rig_send(&r, "AT\r\n");
  rig_run(&r, SEC);
  ck_assert_uint_eq(r.out_len, 0);
  rig_run(&r, MIN + 10 * SEC);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\n+SYSSTART\r\n", 13);
  rig_expect(&r, "AT+CFUN?\r\n", "\r\n+CFUN: 1\r\n\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_silent_for_delay_then_answers)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_ELAPSED, .after_us = SEC,
                        .mode = SIM_FAULT_MODE_FFF, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_SILENT, .delay_us = 2 * MIN};
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &f); /* armed from the boot that already happened */
  rig_run(&r, SEC);
  ck_assert_uint_eq(r.faults_fired, 1);
  rig_expect(&r, "AT\r\n", "");
  rig_expect(&r, "AT^RESET\r\n", ""); /* input ignored too */
  rig_run(&r, MIN);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_silent_forever_until_power_cycle)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_SILENT};
  snprintf(f.match, sizeof(f.match), "AT+SMOD?");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &f);
  rig_expect(&r, "AT+SMOD?\r\n", "");
  ck_assert_uint_eq(sim_modem_next_deadline(r.m), SIM_NEVER);
  rig_run(&r, 60 * MIN);
  rig_expect(&r, "AT\r\n", "");
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 10 * SEC);
  rig_expect(&r, "AT+SMOD?\r\n", "\r\n2\r\n\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_power_cut_stays_off_or_returns_after_delay)
{
  struct rig r;
  struct sim_fault off = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                          .action = SIM_FAULT_DO_POWER_CUT};
  struct sim_fault back = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                           .action = SIM_FAULT_DO_POWER_CUT,
                           .delay_us = 5 * SEC};
  snprintf(off.match, sizeof(off.match), "AT+CFUN=4");
  snprintf(back.match, sizeof(back.match), "AT+CFUN=0");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &off);
  add_fault(&r, &back);
  rig_expect(&r, "AT+SMSWBOOT=3,0\r\n", "\r\nOK\r\n");
  /* Delay 0: off until someone powers it on. */
  rig_expect(&r, "AT+CFUN=4\r\n", "");
  ck_assert(!sim_modem_powered(r.m));
  ck_assert_uint_eq(sim_modem_next_deadline(r.m), SIM_NEVER);
  rig_run(&r, 60 * MIN);
  ck_assert(!sim_modem_powered(r.m));
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 2 * SEC);
  /* The flash kept boot_select RECOVERY. */
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  /* Delay 5 s: back on its own. */
  rig_clear(&r);
  rig_send(&r, "AT+CFUN=0\r\n");
  ck_assert(!sim_modem_powered(r.m));
  rig_run(&r, 4 * SEC);
  ck_assert(!sim_modem_powered(r.m));
  rig_run(&r, 3 * SEC);
  ck_assert(sim_modem_powered(r.m));
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  ck_assert_uint_eq(r.out_len, 0);
  rig_free(&r);
}
END_TEST

/* ---- upgrade verdicts ---------------------------------------------------- */

START_TEST(test_sim_fault_fail_upgrade_otf_reports_reason_verbatim)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_STP_OP, .op = 0, .first = 2,
                        .last = 2, .action = SIM_FAULT_DO_FAIL_UPGRADE};
  snprintf(f.text, sizeof(f.text),
           "failure[diffUpgrade,239] Patch didn't apply!");
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 60000, 39529);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &f);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert_str_eq(st->upgrade_status, "fail");
  ck_assert_str_eq(st->fail_reason,
                   "failure[diffUpgrade,239] Patch didn't apply!");
  rig_expect(&r, "AT+SMUPGRADE?\r\n",
             "\r\n+SMUPGRADE: fail: failure[diffUpgrade,239] Patch didn't "
             "apply!\r\n\r\nOK\r\n");
  /* The fff slot was being overwritten: it stays invalid, RECOVERY next. */
  ck_assert(!st->fff.valid);
  ck_assert_str_eq(st->fff.version, "5.1.1.0");
  rig_expect(&r, "AT^RESET\r\n", "\r\nOK\r\n\r\n+SHUTDOWN\r\n");
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_fail_upgrade_store_keeps_old_images)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_FAIL_UPGRADE};
  snprintf(f.match, sizeof(f.match), "AT+SMUPGRADE");
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 39529);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &f);
  rig_expect(&r, "AT+SMSTPU\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  rig_expect(&r, "AT+SMUPGRADE\r\n", "\r\nOK\r\n\r\n+SYSSTART\r\n");
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert_str_eq(st->upgrade_status, "fail");
  ck_assert_str_eq(st->fail_reason, "injected failure");
  ck_assert(st->fff.valid);
  ck_assert_uint_eq(st->fff.build, 33988);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  free(pkg);
  rig_free(&r);
}
END_TEST

/* ---- new actions --------------------------------------------------------- */

START_TEST(test_sim_fault_data_mode_stuck_ignores_escape_until_power_cycle)
{
  struct rig r;
  struct sim_fault d = {.when = SIM_FAULT_ON_MODE, .mode = SIM_FAULT_MODE_FFF,
                        .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_DATA_MODE_STUCK};
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &d);
  rig_expect(&r, "AT^RESET\r\n", "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  for (int i = 0; i < 3; i++) {
    rig_run(&r, 2 * SEC);
    rig_clear(&r);
    rig_send(&r, "+++");
    rig_run(&r, 5 * SEC);
    ck_assert_uint_eq(r.out_len, 0);
    rig_expect(&r, "AT\r\n", RIG_PPP_ECHO); /* still PPP, never AT */
  }
  ck_assert_uint_eq(sim_modem_next_deadline(r.m), SIM_NEVER);
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_data_mode_count_nonzero_is_stuck_too)
{
  struct rig r;
  struct sim_fault d = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_DATA_MODE, .count = 1};
  snprintf(d.match, sizeof(d.match), "ATD*");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &d);
  rig_expect(&r, "ATD*99#\r\n", "\r\nERROR\r\n");
  rig_run(&r, 2 * SEC);
  rig_expect(&r, "+++", "");
  rig_run(&r, 2 * SEC);
  rig_expect(&r, "AT\r\n", RIG_PPP_ECHO);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_quiet_boot_on_reset_command_prints_no_urcs)
{
  struct rig r;
  struct sim_fault q = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_QUIET_BOOT};
  snprintf(q.match, sizeof(q.match), "AT^RESET");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  add_fault(&r, &q);
  rig_clear(&r);
  rig_send(&r, "AT^RESET\r\n");
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\nOK\r\n", 6);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
  rig_run(&r, 20 * SEC);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\nOK\r\n", 6);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  /* One boot only: the next reset is loud again. */
  rig_expect(&r, "AT^RESET\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_quiet_boot_after_final_reset_covers_next_switch)
{
  struct rig r;
  /* S11b: armed by the push's final RESET, used by the switch to FFF. */
  struct sim_fault q = {.when = SIM_FAULT_ON_STP_OP, .op = 0, .first = 2,
                        .last = 2, .action = SIM_FAULT_DO_QUIET_BOOT};
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 39529);
  rig_init(&r, "interrupted-upgrade", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &q);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  rig_expect(&r, "AT+SMSWBOOT=1,1\r\n", "\r\nOK\r\n");
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  rig_expect(&r, "AT+SMUPGRADE?\r\n", "\r\n+SMUPGRADE: success\r\n\r\nOK\r\n");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_quiet_boot_count_covers_power_on_boots)
{
  struct rig r;
  struct sim_fault q = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_QUIET_BOOT, .count = 2};
  snprintf(q.match, sizeof(q.match), "AT+CFUN=1,1");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &q);
  rig_expect(&r, "AT+CFUN=1,1\r\n", "\r\nOK\r\n");
  rig_clear(&r);
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  ck_assert_uint_eq(r.out_len, 0);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\n+SYSSTART\r\n", 13);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_uart_reset_first_boot_after_success_at_115200)
{
  struct rig r;
  struct sim_fault u = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_UART_RESET};
  snprintf(u.match, sizeof(u.match), "AT+SMSTPU*");
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 39529);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &u);
  sim_modem_set_host_baud(r.m, 921600);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  ck_assert_uint_eq(sim_modem_state(r.m)->uart_baud, 115200);
  /* Still running at the old rate until the next boot. */
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 921600);
  rig_clear(&r);
  rig_send(&r, "AT^RESET\r\n");
  rig_run(&r, 20 * SEC);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 115200);
  ck_assert(!rig_out_has(&r, "+SYSSTART")); /* garbled at 921600 */
  rig_expect(&r, "AT\r\n", "");            /* and deaf */
  /* The host re-probes at 115200, then restores its rate. */
  sim_modem_set_host_baud(r.m, 115200);
  rig_expect(&r, "AT+IPR?\r\n", "\r\n+IPR: 115200\r\n\r\nOK\r\n");
  rig_expect(&r, "AT+IPR=921600\r\n", "\r\nOK\r\n");
  ck_assert_uint_eq(sim_modem_state(r.m)->uart_baud, 0);
  sim_modem_set_host_baud(r.m, 921600);
  rig_expect(&r, "AT^RESET\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 921600);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_uart_reset_waits_for_a_successful_upgrade)
{
  struct rig r;
  struct sim_fault u = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_UART_RESET, .count = 57600};
  snprintf(u.match, sizeof(u.match), "AT");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  add_fault(&r, &u);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_expect(&r, "AT^RESET\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 921600);
  ck_assert_uint_eq(sim_modem_state(r.m)->uart_baud, 0);
  /* A failed push does not reset it either; a good one does. */
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 39529);
  pkg[len / 2] ^= 0x40;
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "fail");
  ck_assert_uint_eq(sim_modem_state(r.m)->uart_baud, 0);
  pkg[len / 2] ^= 0x40;
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  ck_assert_uint_eq(sim_modem_state(r.m)->uart_baud, 57600);
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 57600);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_new_actions_load_from_yaml)
{
  char path[] = "/tmp/test_sim_faults_new_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  const char *yaml = "- name: s09b\n"
                     "  when: power-on\n"
                     "  do: data-mode-stuck\n"
                     "- name: s11b\n"
                     "  when: stp-op\n"
                     "  op: 0\n"
                     "  first: 2\n"
                     "  last: 2\n"
                     "  do: quiet-boot\n"
                     "- name: s22\n"
                     "  when: power-on\n"
                     "  first: 1\n"
                     "  last: 1\n"
                     "  do: uart-reset\n";
  ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (int)strlen(yaml));
  close(fd);
  struct sim_fault f[4];
  char err[512];
  int n = sim_faults_load_yaml(path, f, 4, err, sizeof(err));
  unlink(path);
  ck_assert_msg(n == 3, "%s", err);
  ck_assert_int_eq(f[0].action, SIM_FAULT_DO_DATA_MODE_STUCK);
  ck_assert_int_eq(f[1].action, SIM_FAULT_DO_QUIET_BOOT);
  ck_assert_int_eq(f[2].action, SIM_FAULT_DO_UART_RESET);
  /* A uart-reset count must be a rate the state file can hold. */
  struct sim_fault bad = {.when = SIM_FAULT_ON_POWER_ON,
                          .action = SIM_FAULT_DO_UART_RESET, .count = 3};
  ck_assert_int_eq(sim_fault_check(&bad, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "uart-reset"));
  bad.count = 230400;
  ck_assert_int_eq(sim_fault_check(&bad, err, sizeof(err)), 0);
  /* Every action has a distinct YAML word. */
  for (int a = 0; a < SIM_FAULT_DO_COUNT; a++) {
    ck_assert_str_ne(sim_fault_action_name((enum sim_fault_action)a), "?");
    for (int b = 0; b < a; b++)
      ck_assert_str_ne(sim_fault_action_name((enum sim_fault_action)a),
                       sim_fault_action_name((enum sim_fault_action)b));
  }
}
END_TEST

/* ---- the deliberately broken write ordering ------------------------------ */

/* Push up to the middle of the fff record, then cut the power. */
static void cut_mid_fff(struct rig *r, const uint8_t *pkg, size_t len)
{
  ck_assert(rig_pkg_layout.rec[SQN_PKG_REC_FFF].present);
  size_t mid = (size_t)(rig_pkg_layout.rec[SQN_PKG_REC_FFF].offset +
                        rig_pkg_layout.rec[SQN_PKG_REC_FFF].length / 2);
  ck_assert_uint_gt(mid, (size_t)rig_pkg_layout.rec[SQN_PKG_REC_FFF].offset + 8176);
  size_t off = 0;
  uint32_t tid = open_otf(r);
  push_blocks(r, pkg, len, &off, mid, &tid);
  ck_assert_uint_lt(off, rig_pkg_layout.rec[SQN_PKG_REC_FFF].offset +
                             rig_pkg_layout.rec[SQN_PKG_REC_FFF].length);
  sim_modem_power_cut(r->m, r->now);
}

START_TEST(test_sim_debug_valid_early_cut_mid_fff_bricks_the_modem)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 400000, 39529);
  rig_init_debug(&r, "healthy", SIM_PROFILE_MONARCH1, 1, SIM_DEBUG_MARK_VALID_EARLY);
  cut_mid_fff(&r, pkg, len);
  const struct sim_state *st = sim_modem_state(r.m);
  /* The flash claims a valid new fff that was never fully written. */
  ck_assert(st->fff.valid);
  ck_assert(st->fff.incomplete);
  char *json = sim_state_to_json(st);
  ck_assert_ptr_nonnull(strstr(json, "\"incomplete\": true"));
  free(json);
  rig_clear(&r);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 10 * MIN);
  ck_assert(sim_modem_powered(r.m));
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
  rig_expect(&r, "AT\r\n", "");
  ck_assert_uint_eq(r.out_len, 0);
  /* Bricked: another power cycle does not help. */
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 10 * MIN);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_debug_off_cut_mid_fff_boots_recovery)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 400000, 39529);
  rig_init_debug(&r, "healthy", SIM_PROFILE_MONARCH1, 1, 0);
  cut_mid_fff(&r, pkg, len);
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert(!st->fff.valid);
  ck_assert(!st->fff.incomplete);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 10 * SEC);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  rig_expect(&r, "AT+SMOD?\r\n", "\r\n4\r\n\r\nOK\r\n");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_debug_valid_early_full_push_still_succeeds)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 100000, 39529);
  rig_init_debug(&r, "healthy", SIM_PROFILE_MONARCH1, 0, SIM_DEBUG_MARK_VALID_EARLY);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert_str_eq(st->upgrade_status, "success");
  ck_assert(st->fff.valid);
  ck_assert(!st->fff.incomplete);
  ck_assert_uint_eq(st->fff.build, 39529);
  rig_expect(&r, "AT^RESET\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_debug_valid_early_cut_during_store_apply_bricks)
{
  for (unsigned flags = 0; flags < 2; flags++) {
    struct rig r;
    size_t len;
    uint8_t *pkg = mk_pkg(&len, 0, 39529);
    rig_init_debug(&r, "healthy", SIM_PROFILE_MONARCH1, 1, flags);
    rig_expect(&r, "AT+SMSTPU\r\n", "\r\nOK\r\n");
    rig_push(&r, pkg, len);
    rig_clear(&r);
    rig_send(&r, "AT+SMUPGRADE\r\n");
    rig_run(&r, 10000);
    sim_modem_power_cut(r.m, r.now);
    ck_assert_int_eq(sim_modem_state(r.m)->fff.valid, flags != 0);
    sim_modem_power_on(r.m, r.now);
    rig_run(&r, 10 * MIN);
    /* Without the flag every slot the apply rewrites is invalid until it
     * ends: the bootloader (FFH) comes up, ready for the ELF path. */
    enum sim_smod want = flags ? SIM_SMOD_NONE : SIM_SMOD_FFH;
    ck_assert_int_eq(sim_modem_smod(r.m), want);
    ck_assert(sim_modem_powered(r.m));
    free(pkg);
    rig_free(&r);
  }
}
END_TEST

static Suite *sim_faults_suite(void)
{
  Suite *s = suite_create("sim_faults");
  TCase *stp = tcase_create("stp");
  tcase_add_test(stp, test_sim_fault_nack_answers_0x40_and_ignores_frame);
  tcase_add_test(stp, test_sim_fault_drop_ignores_count_frames_unprocessed);
  suite_add_tcase(s, stp);
  TCase *gone = tcase_create("gone");
  tcase_add_test(gone, test_sim_fault_crash_prints_exit_and_reboots_boot_select);
  tcase_add_test(gone,
                 test_sim_fault_reboot_stays_dark_then_sysstart_without_shutdown);
  tcase_add_test(gone, test_sim_fault_silent_for_delay_then_answers);
  tcase_add_test(gone, test_sim_fault_silent_forever_until_power_cycle);
  tcase_add_test(gone, test_sim_fault_power_cut_stays_off_or_returns_after_delay);
  suite_add_tcase(s, gone);
  TCase *verdict = tcase_create("verdict");
  tcase_add_test(verdict, test_sim_fault_fail_upgrade_otf_reports_reason_verbatim);
  tcase_add_test(verdict, test_sim_fault_fail_upgrade_store_keeps_old_images);
  suite_add_tcase(s, verdict);
  TCase *added = tcase_create("new-actions");
  tcase_add_test(added,
                 test_sim_fault_data_mode_stuck_ignores_escape_until_power_cycle);
  tcase_add_test(added, test_sim_fault_data_mode_count_nonzero_is_stuck_too);
  tcase_add_test(added, test_sim_fault_quiet_boot_on_reset_command_prints_no_urcs);
  tcase_add_test(added,
                 test_sim_fault_quiet_boot_after_final_reset_covers_next_switch);
  tcase_add_test(added, test_sim_fault_quiet_boot_count_covers_power_on_boots);
  tcase_add_test(added,
                 test_sim_fault_uart_reset_first_boot_after_success_at_115200);
  tcase_add_test(added, test_sim_fault_uart_reset_waits_for_a_successful_upgrade);
  tcase_add_test(added, test_sim_fault_new_actions_load_from_yaml);
  suite_add_tcase(s, added);
  TCase *dbg = tcase_create("debug");
  tcase_add_test(dbg, test_sim_debug_valid_early_cut_mid_fff_bricks_the_modem);
  tcase_add_test(dbg, test_sim_debug_off_cut_mid_fff_boots_recovery);
  tcase_add_test(dbg, test_sim_debug_valid_early_full_push_still_succeeds);
  tcase_add_test(dbg, test_sim_debug_valid_early_cut_during_store_apply_bricks);
  suite_add_tcase(s, dbg);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(sim_faults_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

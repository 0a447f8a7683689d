/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem model in-process on a virtual clock: AT layer, boot, STP slave,
 * upgrade engine, the incident, faults.
 */
#include "test_sim_helpers.h"
#include "sim/fault_yaml.h"


#include <unistd.h>

#define SEC 1000000ull


/* ---- AT layer ------------------------------------------------------------ */

START_TEST(test_sim_at_smod_fff_replies_bare_number)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMOD?\r\n", "\r\n2\r\n\r\nOK\r\n");
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_at_smod_ffh_replies_bootloader_style)
{
  struct rig r;
  rig_init(&r, "ffh-only", SIM_PROFILE_MONARCH1, 0);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFH);
  rig_expect(&r, "AT+SMOD?\r\n", "0\r\nOK\r\n");
  rig_expect(&r, "AT\n", "OK\r\n");
  rig_expect(&r, "ATI\r\n", "ERROR\r\n");
  rig_expect(&r, "ATE1\r\n", "ERROR\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_at_crlf_is_one_terminator)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_expect(&r, "AT\r", "\r\nOK\r\n");
  rig_expect(&r, "\n", "");
  rig_expect(&r, "AT\n", "\r\nOK\r\n");
  rig_expect(&r, "\r\n\r\n\n\r", "");
  rig_expect(&r, "at\r\nAt\r", "\r\nOK\r\n\r\nOK\r\n");
  /* NUL bytes are dropped. */
  rig_clear(&r);
  sim_modem_feed(r.m, r.now, (const uint8_t *)"A\0T\r", 4);
  rig_run(&r, SEC);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\nOK\r\n", 6);
  /* Bytewise. */
  rig_clear(&r);
  const char *s = "AT+SMOD?\r\n";
  for (size_t i = 0; s[i]; i++)
    sim_modem_feed(r.m, r.now, (const uint8_t *)s + i, 1);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\n2\r\n\r\nOK\r\n", 11);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_at_long_line_answers_error_once)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  char line[1200];
  memset(line, 'A', sizeof(line));
  line[0] = 'A';
  line[1] = 'T';
  line[1100] = '\r';
  line[1101] = '\0';
  rig_expect(&r, line, "\r\nERROR\r\n");
  rig_expect(&r, "AT\r", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_at_plus_in_command_mode_prefixes_next_line)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "+++", "");
  rig_run(&r, 2 * SEC);
  ck_assert_uint_eq(r.out_len, 0);
  rig_expect(&r, "AT\r\n", "\r\nERROR\r\n");
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

struct table_row {
  const char *state;
  const char *cmd;
  int ok;
};

START_TEST(test_sim_at_table_per_mode_accepts_and_refuses)
{
  static const struct table_row rows[] = {
      {"healthy", "ATE0", 1},
      {"healthy", "ATI", 1},
      {"healthy", "ATI1", 1},
      {"healthy", "AT+CGMR", 1},
      {"healthy", "AT!=\"showver\"", 1},
      {"healthy", "AT+CGSN", 1},
      {"healthy", "AT+BMOD?", 1},
      {"healthy", "AT+SMSWBOOT?", 1},
      {"healthy", "AT+SMUPGRADE?", 1},
      {"healthy", "AT+SMUPGRADE", 0}, /* empty store, no success yet */
      {"healthy", "AT+CFUN=4", 1},
      {"healthy", "AT+CFUN?", 1},
      {"healthy", "AT+IPR?", 1},
      {"healthy", "AT+STP", 0},
      {"healthy", "AT+SQNSUPGRADENTF=\"started\"", 1},
      {"healthy", "AT+SMLOG?", 1},
      {"healthy", "AT+BIND=AT", 1},
      {"healthy", "AT+SQNWL=\"sqndcc\",2", 1},
      {"healthy", "AT+FOO", 0},
      {"healthy", "XYZ", 0},
      {"healthy", "AT+SMSWBOOT=7,0", 0},
      {"interrupted-upgrade", "AT", 1},
      {"interrupted-upgrade", "ATE0", 1},
      {"interrupted-upgrade", "ATI", 0},
      {"interrupted-upgrade", "ATI1", 0},
      {"interrupted-upgrade", "AT!=\"showver\"", 0},
      {"interrupted-upgrade", "AT+SMOD?", 1},
      {"interrupted-upgrade", "AT+BMOD?", 1},
      {"interrupted-upgrade", "AT+SMSWBOOT=3,0", 0},
      {"interrupted-upgrade", "AT+SMSWBOOT=1,0", 1},
      {"interrupted-upgrade", "AT+SMSWBOOT?", 1},
      {"interrupted-upgrade", "AT+SMSTPU", 0},
      {"interrupted-upgrade", "AT+SMUPGRADE", 0},
      {"interrupted-upgrade", "AT+SMUPGRADE?", 1},
      {"interrupted-upgrade", "AT+CFUN=4", 1},
      {"interrupted-upgrade", "AT+STP", 0},
      {"interrupted-upgrade", "AT+SMLOG?", 1},
      {"ffh-only", "AT", 1},
      {"ffh-only", "ATE0", 0},
      {"ffh-only", "AT+BMOD?", 0},
      {"ffh-only", "AT+SMSWBOOT?", 0},
      {"ffh-only", "AT+SMSTPU=\"ON_THE_FLY\"", 0},
      {"ffh-only", "AT+SMUPGRADE?", 0},
      {"ffh-only", "AT^RESET", 0},
      {"ffh-only", "AT+CFUN=4", 0},
      {"ffh-only", "AT+SMLOG?", 0},
      {"ffh-only", "AT+IPR?", 1},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct rig r;
    char cmd[128];
    rig_init(&r, rows[i].state, SIM_PROFILE_MONARCH1, 0);
    bool ffh = sim_modem_smod(r.m) == SIM_SMOD_FFH;
    snprintf(cmd, sizeof(cmd), "%s\r\n", rows[i].cmd);
    rig_clear(&r);
    rig_send(&r, cmd);
    rig_run(&r, SEC);
    const char *want = rows[i].ok ? (ffh ? "OK\r\n" : "\r\nOK\r\n")
                                  : (ffh ? "ERROR\r\n" : "\r\nERROR\r\n");
    size_t wl = strlen(want);
    ck_assert_msg(r.out_len >= wl && !memcmp(r.out + r.out_len - wl, want, wl),
                  "%s: %s: expected %s", rows[i].state, rows[i].cmd,
                  rows[i].ok ? "OK" : "ERROR");
    rig_free(&r);
  }
}
END_TEST

START_TEST(test_sim_at_ati1_and_showver_layout)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "ATI1\r\n", "\r\nUE5.0.0.0c\r\n\r\nLR5.1.1.0-33988\r\n\r\nOK\r\n");
  rig_clear(&r);
  rig_send(&r, "AT!=\"showver\"\r\n");
  ck_assert(rig_out_has(&r, "\r\n    Bootloader0  : 5.1.1.0 [33080]\r\n"));
  ck_assert(rig_out_has(&r, "\r\n    Software     : 5.1.1.0 [33988] by "));
  ck_assert(rig_out_has(&r, "\r\n    UE           : 5.0.0.0c\r\n"));
  ck_assert(rig_out_has(&r, "\r\nOK\r\n"));
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_at_echo_on_returns_command_first)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "ATE1\r\n", "\r\nOK\r\n");
  rig_expect(&r, "AT\r", "AT\r\r\nOK\r\n");
  rig_expect(&r, "ATE0\r", "ATE0\r\r\nOK\r\n");
  rig_expect(&r, "AT\r", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

/* ---- boot ---------------------------------------------------------------- */

START_TEST(test_sim_boot_named_states_pick_mode_with_fallbacks)
{
  static const struct {
    const char *state;
    enum sim_smod smod;
    uint32_t baud;
    int sysstart;
  } rows[] = {
      {"factory-33080", SIM_SMOD_FFF, 921600, 1},
      {"healthy", SIM_SMOD_FFF, 921600, 1},
      {"interrupted-upgrade", SIM_SMOD_RECOVERY, 921600, 0},
      {"ffh-only", SIM_SMOD_FFH, 115200, 0},
      {"gm02s-recovery", SIM_SMOD_RECOVERY, 115200, 0},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct rig r;
    struct sim_state st;
    rig_load_state(&st, rows[i].state);
    memset(&r, 0, sizeof(r));
    struct sim_modem_config cfg = {.profile = st.profile, .state = &st,
                                   .time_scale = 1, .tx = rig_tx,
                                   .trace = rig_trace, .user = &r};
    r.m = sim_modem_new(&cfg, 0);
    sim_state_release(&st);
    ck_assert_ptr_nonnull(r.m);
    ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
    rig_run(&r, 20 * SEC);
    ck_assert_msg(sim_modem_smod(r.m) == rows[i].smod, "%s", rows[i].state);
    ck_assert_uint_eq(sim_modem_uart_baud(r.m), rows[i].baud);
    ck_assert_int_eq(rig_out_has(&r, "\r\n+SYSSTART\r\n"), rows[i].sysstart);
    rig_free(&r);
  }
}
END_TEST

START_TEST(test_sim_boot_bytes_while_booting_are_lost)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  rig_clear(&r);
  rig_send(&r, "AT^RESET\r\n");
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\nOK\r\n\r\n+SHUTDOWN\r\n", 19);
  rig_run(&r, SEC);
  rig_clear(&r);
  rig_send(&r, "AT\r\n"); /* still booting: 8 s for FFF */
  rig_run(&r, 100000);
  ck_assert_uint_eq(r.out_len, 0);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_NONE);
  rig_clear(&r);
  rig_run(&r, 8 * SEC);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\n+SYSSTART\r\n", 13);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_boot_smswboot_selects_next_boot)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSWBOOT=3,1\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n");
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  ck_assert_int_eq(sim_modem_state(r.m)->boot_select, SIM_BOOT_RECOVERY);
  rig_clear(&r);
  rig_send(&r, "AT+SMSWBOOT?\r\n");
  ck_assert(rig_out_has(&r, "RECOVERY"));
  rig_expect(&r, "AT+SMSWBOOT=0,1\r\n", "\r\nOK\r\n\r\n+SHUTDOWN\r\n");
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFH);
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 115200);
  rig_free(&r);
}
END_TEST

/* ---- upgrade ------------------------------------------------------------- */

START_TEST(test_sim_otf_push_from_recovery_updates_versions)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 38638);
  rig_init(&r, "interrupted-upgrade", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  ck_assert_uint_eq(rig_push(&r, pkg, len), 8192);
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert(st->fff.valid);
  ck_assert_str_eq(st->fff.version, "5.1.1.0");
  ck_assert_uint_eq(st->fff.build, 38638);
  ck_assert(st->updater.valid);
  ck_assert_str_eq(st->upgrade_status, "success");
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  rig_expect(&r, "AT+SMUPGRADE?\r\n", "\r\n+SMUPGRADE: success\r\n\r\nOK\r\n");
  rig_expect(&r, "AT+SMSWBOOT=1,1\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  rig_expect(&r, "ATI1\r\n", "\r\nUE5.0.0.0c\r\n\r\nLR5.1.1.0-38638\r\n\r\nOK\r\n");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_otf_flipped_byte_fails_and_leaves_fff_invalid)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 38638);
  /* Inside the fff record's image. */
  pkg[rig_pkg_layout.rec[SQN_PKG_REC_FFF].offset + rig_pkg_layout.rec[SQN_PKG_REC_FFF].length / 2] ^=
      0x40;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert_str_eq(st->upgrade_status, "fail");
  ck_assert(!st->fff.valid); /* was being overwritten */
  rig_clear(&r);
  rig_send(&r, "AT+SMUPGRADE?\r\n");
  ck_assert(rig_out_has(&r, "\r\n+SMUPGRADE: fail"));
  /* Still in FFF now; the next boot goes RECOVERY. */
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF);
  rig_expect(&r, "AT^RESET\r\n", "\r\nOK\r\n\r\n+SHUTDOWN\r\n");
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_otf_bad_first_header_leaves_slots_valid)
{
  struct rig r;
  uint8_t junk[600];
  memset(junk, 0x01, sizeof(junk));
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, junk, sizeof(junk));
  const struct sim_state *st = sim_modem_state(r.m);
  ck_assert_str_eq(st->upgrade_status, "fail");
  ck_assert(st->fff.valid);
  ck_assert(st->updater.valid);
  ck_assert_uint_eq(st->fff.build, 33988);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_store_smupgrade_applies_and_boots_fff)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 39529);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  rig_expect(&r, "AT+SMSTPU\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  ck_assert_uint_eq(sim_modem_state(r.m)->fs_store_len, len);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "No report");
  rig_clear(&r);
  rig_send(&r, "AT+SMUPGRADE\r\n");
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\nOK\r\n", 6);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "on-going");
  rig_clear(&r);
  rig_send(&r, "AT\r\n"); /* silent while applying */
  rig_run(&r, 100);
  ck_assert_uint_eq(r.out_len, 0);
  rig_clear(&r);
  rig_run(&r, 60 * SEC);
  ck_assert(rig_out_has(&r, "\r\n+SYSSTART\r\n"));
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  ck_assert_uint_eq(sim_modem_state(r.m)->fs_store_len, 0);
  rig_expect(&r, "AT+CGMR\r\n", "\r\nLR5.1.1.0-39529\r\n\r\nOK\r\n");
  /* Nothing left to deploy after a success: OK. */
  rig_expect(&r, "AT+SMUPGRADE\r\n", "\r\nOK\r\n");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_store_over_4mib_reports_residue_and_discards)
{
  struct rig r;
  uint8_t *big = calloc(1, SIM_FS_STORE_MAX + 10000);
  ck_assert_ptr_nonnull(big);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU\r\n", "\r\nOK\r\n");
  rig_push(&r, big, SIM_FS_STORE_MAX + 10000);
  ck_assert_uint_eq(sim_modem_state(r.m)->fs_store_len, 0);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  free(big);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_elf_over_stp_in_ffh_runs_smod1)
{
  struct rig r;
  uint8_t elf[5000];
  memset(elf, 0x11, sizeof(elf));
  memcpy(elf, "\x7f" "ELF", 4);
  rig_init(&r, "ffh-only", SIM_PROFILE_MONARCH1, 0);
  sim_modem_set_host_baud(r.m, 115200);
  rig_expect(&r, "AT+IPR=921600\n", "OK\r\n");
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 921600);
  /* Host still at 115200: garbage both ways. */
  rig_clear(&r);
  rig_send(&r, "AT\n");
  ck_assert_uint_eq(r.out_len, 0);
  sim_modem_set_host_baud(r.m, 921600);
  rig_expect(&r, "AT+SMOD?\r\n", "0\r\nOK\r\n");
  rig_expect(&r, "AT+STP\n", "OK\r\n");
  ck_assert_uint_eq(rig_push(&r, elf, sizeof(elf)), 2048);
  rig_run(&r, 5 * SEC);
  rig_expect(&r, "AT+SMOD?\r\n", "\r\n1\r\n\r\nOK\r\n");
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 921600);
  /* Like RECOVERY now: ON_THE_FLY accepted. */
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 38638);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  ck_assert_uint_eq(rig_push(&r, pkg, len), 8192);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  ck_assert(sim_modem_state(r.m)->fff.valid);
  /* A power cut drops the RAM copy: back to FFH. */
  sim_modem_power_cut(r.m, r.now);
  ck_assert(!sim_modem_powered(r.m));
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_FFF); /* boot_select FFF */
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_incident_smswboot3_refused_then_push_recovers)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 0, 33988);
  rig_init(&r, "interrupted-upgrade", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "ATE0\r\n", "\r\nOK\r\n");
  rig_expect(&r, "AT+SMSWBOOT=3,0\r\n", "\r\nERROR\r\n");
  rig_expect(&r, "ATI\r\n", "\r\nERROR\r\n");
  /* The stripped script: straight to ON_THE_FLY; 4 bytes "\r\nOK". */
  rig_clear(&r);
  rig_send(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n");
  ck_assert_uint_ge(r.out_len, 4);
  ck_assert_mem_hex_eq(r.out, 4, "\r\nOK", 4);
  rig_push(&r, pkg, len);
  rig_expect(&r, "AT+SMSWBOOT=1,0\r\n", "\r\nOK\r\n");
  rig_expect(&r, "AT^RESET\r\n",
             "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  rig_expect(&r, "ATI1\r\n", "\r\nUE5.0.0.0c\r\n\r\nLR5.1.1.0-33988\r\n\r\nOK\r\n");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_power_cut_mid_push_boots_recovery)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 200000, 38638);
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  uint8_t pl[4];
  ck_assert_int_eq(rig_stp(&r, 0, 0, 0, NULL, 0, NULL, 0), 0x80);
  ck_assert_int_eq(rig_stp(&r, 1, 1, 1, NULL, 0, pl, 4), 0x81);
  size_t off = 0;
  uint32_t tid = 2;
  while (off < len * 6 / 10) {
    uint8_t cmd[2] = {0x1f, 0xf0};
    ck_assert_int_eq(rig_stp(&r, 2, 1, tid++, cmd, 2, NULL, 0), 0x82);
    ck_assert_int_eq(rig_stp(&r, 3, 1, tid++, pkg + off, 8176, NULL, 0), 0x83);
    off += 8176;
  }
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  ck_assert_int_eq(sim_modem_smod(r.m), SIM_SMOD_RECOVERY);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "on-going");
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_otf_big_package_is_fast)
{
  struct rig r;
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 5665583, 38638);
  ck_assert_uint_eq(len, 5665583);
  rig_init(&r, "interrupted-upgrade", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  rig_push(&r, pkg, len);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  free(pkg);
  rig_free(&r);
}
END_TEST


/* ---- one write carrying several layers ----------------------------------- */

struct stream {
  uint8_t *buf;
  size_t len, cap;
};

static void stream_add(struct stream *s, const void *p, size_t n)
{
  if (s->len + n > s->cap) {
    s->cap = (s->len + n) * 2;
    s->buf = realloc(s->buf, s->cap);
    ck_assert_ptr_nonnull(s->buf);
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

static void stream_frame(struct stream *s, uint8_t op, uint8_t sid,
                         uint32_t tid, const uint8_t *pl, uint16_t plen)
{
  static uint8_t frame[16 + 8192];
  size_t n = sqn_stp_encode(frame, sizeof(frame), SQN_STP_MAGIC_REQ, op, sid,
                            tid, pl, plen, 0);
  ck_assert_uint_gt(n, 0);
  stream_add(s, frame, n);
}

/* The whole host side of a push as one byte stream, written without
 * waiting for any answer: the command, the session, the final RESET and
 * an AT right behind it. */
static void stream_push(struct stream *s, const uint8_t *pkg, size_t len)
{
  static const char cmd[] = "AT+SMSTPU=\"ON_THE_FLY\"\r\n";
  stream_add(s, cmd, sizeof(cmd) - 1);
  stream_frame(s, 0, 0, 0, NULL, 0);
  stream_frame(s, 1, 1, 1, NULL, 0);
  uint32_t tid = 2;
  for (size_t off = 0; off < len; off += 8176) {
    size_t l = len - off < 8176 ? len - off : 8176;
    uint8_t c[2] = {(uint8_t)(l >> 8), (uint8_t)l};
    stream_frame(s, 2, 1, tid++, c, 2);
    stream_frame(s, 3, 1, tid++, pkg + off, (uint16_t)l);
  }
  stream_frame(s, 0, 1, tid, NULL, 0);
  stream_add(s, "AT\r", 3);
}

static void feed_rig(void *ctx, const uint8_t *buf, size_t len)
{
  struct rig *r = ctx;
  sim_modem_feed(r->m, r->now, buf, len);
}

/* Walk the answer: OK, then response frames, then OK; returns the ops. */
static size_t parse_answer(const struct rig *r, uint8_t *ops, size_t max)
{
  size_t i = 6, n = 0;
  ck_assert_uint_ge(r->out_len, 12);
  ck_assert_mem_hex_eq(r->out, 6, "\r\nOK\r\n", 6);
  while (i + 16 <= r->out_len - 6) {
    struct sqn_stp_hdr h;
    sqn_stp_hdr_parse(&h, r->out + i);
    ck_assert_uint_eq(h.magic, SQN_STP_MAGIC_RSP);
    if (n < max)
      ops[n] = h.op;
    n++;
    i += 16u + h.plen;
  }
  ck_assert_uint_eq(i, r->out_len - 6);
  ck_assert_mem_hex_eq(r->out + i, 6, "\r\nOK\r\n", 6);
  return n;
}

START_TEST(test_sim_stp_one_write_with_command_session_and_at_answers_all)
{
  static const enum sqn_feed_mode modes[] = {SQN_FEED_WHOLE, SQN_FEED_BYTEWISE,
                                             SQN_FEED_RANDOM};
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 40000, 39529);
  struct stream s = {0};
  stream_push(&s, pkg, len);
  size_t blocks = (len + 8175) / 8176;
  for (size_t k = 0; k < 3; k++) {
    struct rig r;
    uint8_t ops[64];
    rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
    rig_clear(&r);
    sqn_feed(modes[k], 7 + k, s.buf, s.len, feed_rig, &r);
    rig_run(&r, SEC);
    size_t n = parse_answer(&r, ops, sizeof(ops));
    ck_assert_uint_eq(n, 3 + 2 * blocks);
    ck_assert_uint_eq(ops[0], 0x80);
    ck_assert_uint_eq(ops[1], 0x81);
    ck_assert_uint_eq(ops[2], 0x82);
    ck_assert_uint_eq(ops[3], 0x83);
    ck_assert_uint_eq(ops[n - 1], 0x80);
    ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
    ck_assert_str_eq(sim_modem_state(r.m)->fff.version, "5.1.1.0");
    ck_assert_uint_eq(sim_modem_state(r.m)->fff.build, 39529);
    /* Back in AT for good. */
    rig_expect(&r, "AT+SMOD?\r\n", "\r\n2\r\n\r\nOK\r\n");
    rig_free(&r);
  }
  free(s.buf);
  free(pkg);
}
END_TEST

START_TEST(test_sim_stp_final_reset_and_at_in_one_feed_answers_both)
{
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 30000, 39529);
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  uint8_t pl[4];
  ck_assert_int_eq(rig_stp(&r, 0, 0, 0, NULL, 0, NULL, 0), 0x80);
  ck_assert_int_eq(rig_stp(&r, 1, 1, 1, NULL, 0, pl, 4), 0x81);
  uint32_t tid = 2;
  for (size_t off = 0; off < len; off += 8176) {
    size_t l = len - off < 8176 ? len - off : 8176;
    uint8_t c[2] = {(uint8_t)(l >> 8), (uint8_t)l};
    ck_assert_int_eq(rig_stp(&r, 2, 1, tid++, c, 2, NULL, 0), 0x82);
    ck_assert_int_eq(rig_stp(&r, 3, 1, tid++, pkg + off, (uint16_t)l, NULL, 0),
                     0x83);
  }
  /* RESET, then "AT\r" (and a second command split after its CR). */
  struct stream s = {0};
  stream_frame(&s, 0, 1, tid, NULL, 0);
  stream_add(&s, "AT\rAT+SMUPGRADE?\r", 17);
  rig_clear(&r);
  sim_modem_feed(r.m, r.now, s.buf, s.len);
  rig_run(&r, SEC);
  ck_assert_uint_ge(r.out_len, 16);
  struct sqn_stp_hdr h;
  sqn_stp_hdr_parse(&h, r.out);
  ck_assert_uint_eq(h.magic, SQN_STP_MAGIC_RSP);
  ck_assert_uint_eq(h.op, 0x80);
  ck_assert_uint_eq(h.tid, tid);
  const char *want = "\r\nOK\r\n\r\n+SMUPGRADE: success\r\n\r\nOK\r\n";
  ck_assert_mem_hex_eq(r.out + 16, r.out_len - 16, want, strlen(want));
  free(s.buf);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_stp_reset_right_after_smstpu_in_one_write_is_stp)
{
  static const char *const terms[] = {"\r\n", "\r", "\n"};
  for (size_t k = 0; k < 3; k++) {
    struct rig r;
    struct stream s = {0};
    rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
    stream_add(&s, "AT+SMSTPU=\"ON_THE_FLY\"", 22);
    stream_add(&s, terms[k], strlen(terms[k]));
    stream_frame(&s, 0, 0, 0, NULL, 0);
    stream_frame(&s, 1, 1, 1, NULL, 0);
    rig_clear(&r);
    sim_modem_feed(r.m, r.now, s.buf, s.len);
    ck_assert_uint_eq(r.out_len, 6 + 16 + 20);
    ck_assert_mem_hex_eq(r.out, 6, "\r\nOK\r\n", 6);
    struct sqn_stp_hdr h;
    sqn_stp_hdr_parse(&h, r.out + 6);
    ck_assert_uint_eq(h.op, 0x80);
    sqn_stp_hdr_parse(&h, r.out + 22);
    ck_assert_uint_eq(h.op, 0x81);
    ck_assert_uint_eq(h.plen, 4);
    /* No session data: the final RESET ends it without a verdict. */
    ck_assert_int_eq(rig_stp(&r, 0, 1, 2, NULL, 0, NULL, 0), 0x80);
    rig_expect(&r, "AT\r", "\r\nOK\r\n");
    ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "No report");
    free(s.buf);
    rig_free(&r);
  }
}
END_TEST

/* ---- faults -------------------------------------------------------------- */

START_TEST(test_sim_fault_first_smswboot_error_then_ok)
{
  struct rig r;
  struct sim_fault f = {.when = SIM_FAULT_ON_AT, .first = 1, .last = 1,
                        .action = SIM_FAULT_DO_ERROR};
  snprintf(f.match, sizeof(f.match), "AT+SMSWBOOT=3,*");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &f), 0);
  rig_expect(&r, "AT+SMSWBOOT=3,1\r\n", "\r\nERROR\r\n");
  ck_assert_uint_eq(r.faults_fired, 1);
  rig_expect(&r, "AT+SMSWBOOT=3,0\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_urc_and_split_reply)
{
  struct rig r;
  struct sim_fault u = {.when = SIM_FAULT_ON_AT, .action = SIM_FAULT_DO_URC};
  struct sim_fault s = {.when = SIM_FAULT_ON_AT, .action = SIM_FAULT_DO_SPLIT,
                        .count = 3, .delay_us = 300000};
  snprintf(u.match, sizeof(u.match), "AT+SMOD?");
  snprintf(u.text, sizeof(u.text), "+CPSMS: 1");
  snprintf(s.match, sizeof(s.match), "AT+SMOD?");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &u), 0);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &s), 0);
  rig_clear(&r);
  rig_send(&r, "AT+SMOD?\r\n");
  size_t first = r.out_len;
  ck_assert_uint_gt(first, 0);
  ck_assert_uint_lt(first, 24);
  rig_run(&r, 250000);
  ck_assert_uint_eq(r.out_len, first);
  rig_run(&r, 400000);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\n+CPSMS: 1\r\n\r\n2\r\n\r\nOK\r\n",
                       24);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_corrupt_magic_and_residue_on_blocks)
{
  struct rig r;
  struct sim_fault cm = {.when = SIM_FAULT_ON_STP_OP, .op = 3, .first = 1,
                         .last = 1, .action = SIM_FAULT_DO_CORRUPT_MAGIC};
  /* The resent BLOCK counts as the 2nd op-3 frame. */
  struct sim_fault rs = {.when = SIM_FAULT_ON_STP_OP, .op = 3, .first = 3,
                         .last = 3, .action = SIM_FAULT_DO_RESIDUE,
                         .count = 100};
  size_t len;
  uint8_t *pkg = mk_pkg(&len, 100000, 38638);
  rig_init(&r, "interrupted-upgrade", SIM_PROFILE_MONARCH1, 0);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &cm), 0);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &rs), 0);
  rig_expect(&r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "\r\nOK\r\n");
  uint8_t pl[4];
  ck_assert_int_eq(rig_stp(&r, 0, 0, 0, NULL, 0, NULL, 0), 0x80);
  ck_assert_int_eq(rig_stp(&r, 1, 1, 1, NULL, 0, pl, 4), 0x81);
  uint8_t cmd[2] = {0x1f, 0xf0};
  ck_assert_int_eq(rig_stp(&r, 2, 1, 2, cmd, 2, NULL, 0), 0x82);
  ck_assert_int_eq(rig_stp(&r, 3, 1, 3, pkg, 8176, NULL, 0), -2);
  /* Resent with the same tid: acknowledged, not consumed twice. */
  ck_assert_int_eq(rig_stp(&r, 3, 1, 3, pkg, 8176, pl, 2), 0x83);
  ck_assert_uint_eq(pl[0] << 8 | pl[1], 0);
  ck_assert_int_eq(rig_stp(&r, 2, 1, 4, cmd, 2, NULL, 0), 0x82);
  ck_assert_int_eq(rig_stp(&r, 3, 1, 5, pkg + 8176, 8176, pl, 2), 0x83);
  ck_assert_uint_eq(pl[0] << 8 | pl[1], 100);
  /* The rest, resuming at the unconsumed tail. */
  size_t off = 2 * 8176 - 100;
  uint32_t tid = 6;
  while (off < len) {
    size_t l = len - off < 8176 ? len - off : 8176;
    uint8_t c[2] = {(uint8_t)(l >> 8), (uint8_t)l};
    ck_assert_int_eq(rig_stp(&r, 2, 1, tid++, c, 2, NULL, 0), 0x82);
    ck_assert_int_eq(rig_stp(&r, 3, 1, tid++, pkg + off, (uint16_t)l, pl, 2),
                     0x83);
    off += l;
  }
  ck_assert_int_eq(rig_stp(&r, 0, 1, tid, NULL, 0, NULL, 0), 0x80);
  ck_assert_str_eq(sim_modem_state(r.m)->upgrade_status, "success");
  ck_assert_uint_eq(r.faults_fired, 2);
  free(pkg);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_power_on_echo_and_nul_replies)
{
  struct rig r;
  struct sim_fault e = {.when = SIM_FAULT_ON_POWER_ON,
                        .action = SIM_FAULT_DO_ECHO_ON};
  struct sim_fault n = {.when = SIM_FAULT_ON_AT, .first = 2,
                        .action = SIM_FAULT_DO_NUL, .count = 2};
  snprintf(n.match, sizeof(n.match), "*");
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &e), 0);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &n), 0);
  sim_modem_power_cut(r.m, r.now);
  sim_modem_power_on(r.m, r.now);
  rig_run(&r, 20 * SEC);
  rig_expect(&r, "AT\r", "AT\r\r\nOK\r\n");
  rig_clear(&r);
  rig_send(&r, "AT\r");
  ck_assert_mem_hex_eq(r.out, r.out_len, "AT\r\0\0", 5);
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_data_mode_needs_guarded_escape)
{
  struct rig r;
  struct sim_fault d = {.when = SIM_FAULT_ON_MODE,
                        .mode = SIM_FAULT_MODE_FFF,
                        .action = SIM_FAULT_DO_DATA_MODE};
  /* Real time: the 1 s guards are modem delays and scale with the rest. */
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 1);
  ck_assert_int_eq(sim_modem_add_fault(r.m, &d), 0);
  rig_expect(&r, "AT^RESET\r\n", "\r\nOK\r\n\r\n+SHUTDOWN\r\n\r\n+SYSSTART\r\n");
  rig_expect(&r, "AT\r\n", RIG_PPP_ECHO); /* data mode: PPP */
  rig_run(&r, 2 * SEC);
  rig_clear(&r);
  rig_send(&r, "+++");
  rig_run(&r, 500000);
  ck_assert_uint_eq(r.out_len, 0);
  rig_run(&r, 700000);
  ck_assert_mem_hex_eq(r.out, r.out_len, "\r\nOK\r\n", 6);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_line_wrong_host_baud_garbles_output)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  sim_modem_set_host_baud(r.m, 115200);
  rig_expect(&r, "AT\r\n", ""); /* the modem hears noise */
  /* Output at the wrong rate is garbage, never text. */
  rig_clear(&r);
  rig_send(&r, "");
  struct sim_fault u = {.when = SIM_FAULT_ON_ELAPSED, .after_us = 0,
                        .action = SIM_FAULT_DO_URC};
  snprintf(u.text, sizeof(u.text), "+CEREG: 1");
  ck_assert_int_eq(sim_modem_add_fault(r.m, &u), 0);
  rig_run(&r, SEC);
  ck_assert_uint_gt(r.out_len, 0);
  for (size_t i = 0; i < r.out_len; i++)
    ck_assert(r.out[i] == 0xFE || r.out[i] == 0xFD || r.out[i] == 0x00 ||
              r.out[i] == 0xF8);
  rig_free(&r);
}
END_TEST

/* Issue 16: each direction garbles on its own (split input/output rates),
 * a 2 % UART tolerance counts as equal, a rate the shell could not read is
 * a mismatch that the trace names, and no rate at all (in-process hosts)
 * means no line to garble. */
static bool rig_all_garbage(const struct rig *r)
{
  for (size_t i = 0; i < r->out_len; i++)
    if (r->out[i] != 0xFE && r->out[i] != 0xFD && r->out[i] != 0x00 &&
        r->out[i] != 0xF8)
      return false;
  return r->out_len > 0;
}

START_TEST(test_sim_line_directions_tolerance_and_unreadable_rates)
{
  struct rig r;
  rig_init(&r, "healthy", SIM_PROFILE_MONARCH1, 0);
  /* No host rate given: clean (the rig is an in-process host). */
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");

  /* Receives wrong, sends right: heard, answered with garbage. */
  sim_modem_set_host_rate(r.m, 3686400, 921600);
  ck_assert_str_eq(r.last_line,
                   "initial: host receives at 3686400 baud and sends at "
                   "921600, modem at 921600: modem->host garbled, "
                   "host->modem clean");
  rig_clear(&r);
  rig_send(&r, "AT\r\n");
  ck_assert_msg(rig_all_garbage(&r), "%zu bytes", r.out_len);
  ck_assert_str_eq(r.last_line,
                   "6 bytes at 921600 baud, host receives at 3686400: "
                   "garbage");

  /* Receives right, sends wrong: the modem hears noise, says nothing. */
  sim_modem_set_host_rate(r.m, 921600, 1000000);
  rig_clear(&r);
  rig_send(&r, "AT\r\n");
  ck_assert_uint_eq(r.out_len, 0);
  ck_assert_str_eq(r.last_line,
                   "4 bytes at 1000000 baud, modem at 921600: noise, "
                   "ignored");

  /* Within 2 %: a UART pair reads each other. 3 % off: it does not. */
  sim_modem_set_host_baud(r.m, 921600 + 921600 / 60); /* +1.7 % */
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  sim_modem_set_host_baud(r.m, 921600 - 921600 / 60);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  sim_modem_set_host_baud(r.m, 921600 + 921600 * 3 / 100);
  rig_expect(&r, "AT\r\n", "");
  ck_assert(sim_uart_rates_match(115200, 115384)); /* a 0.16 % divisor */
  ck_assert(!sim_uart_rates_match(3686400, 4000000));
  ck_assert(!sim_uart_rates_match(0, 0));

  /* A rate the shell could not read is not taken for a match. */
  sim_modem_set_host_rate(r.m, 0, 0);
  ck_assert_str_eq(r.last_line, "host at unreadable baud, modem at 921600: "
                                "garbled both ways");
  rig_expect(&r, "AT\r\n", "");
  ck_assert_str_eq(r.last_line, "4 bytes at unreadable baud, modem at "
                                "921600: noise, ignored");

  /* AT+IPR to a non-standard rate: the modem runs at exactly that. */
  sim_modem_set_host_baud(r.m, 921600);
  rig_expect(&r, "AT+IPR=3686400\r\n", "\r\nOK\r\n");
  ck_assert_uint_eq(sim_modem_uart_baud(r.m), 3686400);
  ck_assert_str_eq(r.last_line, "AT+IPR: host at 921600 baud, modem at "
                                "3686400: garbled both ways");
  sim_modem_set_host_baud(r.m, 3686400);
  rig_expect(&r, "AT\r\n", "\r\nOK\r\n");
  rig_expect(&r, "AT+IPR?\r\n", "\r\n+IPR: 3686400\r\n\r\nOK\r\n");
  rig_free(&r);
}
END_TEST

START_TEST(test_sim_fault_yaml_loads_and_reports_errors)
{
  char path[] = "/tmp/test_sim_faults_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  const char *yaml = "- name: s01a\n"
                     "  when: at\n"
                     "  match: \"AT+SMSWBOOT=3,*\"\n"
                     "  first: 1\n"
                     "  last: 1\n"
                     "  do: error\n"
                     "- when: elapsed\n"
                     "  mode: recovery\n"
                     "  after_us: 5000000\n"
                     "  do: silent\n"
                     "  delay_us: 120000000\n";
  ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (int)strlen(yaml));
  close(fd);
  struct sim_fault f[4];
  char err[512];
  int n = sim_faults_load_yaml(path, f, 4, err, sizeof(err));
  ck_assert_msg(n == 2, "%s", err);
  ck_assert_str_eq(f[0].name, "s01a");
  ck_assert_int_eq(f[0].action, SIM_FAULT_DO_ERROR);
  ck_assert_int_eq(f[1].mode, SIM_FAULT_MODE_RECOVERY);
  ck_assert_uint_eq(f[1].delay_us, 120000000u);

  FILE *fp = fopen(path, "w");
  fputs("- when: at\n  match: AT\n  do: explode\n", fp);
  fclose(fp);
  ck_assert_int_eq(sim_faults_load_yaml(path, f, 4, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "explode"));
  unlink(path);
}
END_TEST

/* The state variables' setters: with trace_transitions, each change of
 * power, running mode and link is one untyped mode event naming old and
 * new; without it (the default) there is none. */
struct transitions {
  struct rig r;
  char log[2048];
  size_t len;
  unsigned typed; /* mode events with a type (boot, up, power-on...) */
};

static void transitions_trace(void *user, const struct sim_trace_event *ev)
{
  struct transitions *t = user;
  if (ev->kind != SIM_TRACE_MODE)
    return;
  if (ev->ev.type != SIM_EVENT_NONE) {
    t->typed++;
    return;
  }
  int n = snprintf(t->log + t->len, sizeof(t->log) - t->len, "%s\n",
                   ev->text);
  if (n > 0 && (size_t)n < sizeof(t->log) - t->len)
    t->len += (size_t)n;
}

static void transitions_run(struct transitions *t, bool on)
{
  struct sim_state st;
  memset(t, 0, sizeof(*t));
  rig_load_state(&st, "healthy");
  struct sim_modem_config cfg = {.profile = st.profile, .state = &st,
                                 .time_scale = 0, .tx = rig_tx,
                                 .trace = transitions_trace, .user = t,
                                 .trace_transitions = on};
  /* rig_tx appends to t->r's buffer: the rig is the first member. */
  t->r.m = sim_modem_new(&cfg, 1000);
  sim_state_release(&st);
  ck_assert_ptr_nonnull(t->r.m);
  t->r.now = 1000;
  rig_run(&t->r, 20 * SEC);
  rig_send(&t->r, "AT+SMSTPU=\"ON_THE_FLY\"\r\n");
  sim_modem_power_cut(t->r.m, t->r.now);
}

START_TEST(test_sim_transitions_traced_old_to_new_on_request)
{
  struct transitions t;
  transitions_run(&t, true);
  ck_assert_str_eq(t.log,
                   "power OFF -> BOOTING (power on)\n"
                   "power BOOTING -> ON (boot done)\n"
                   "smod NONE -> FFF (boot done)\n"
                   "link AT -> STP (STP session begins)\n"
                   "link STP -> AT (RAM lost)\n"
                   "power ON -> OFF (power cut)\n"
                   "smod FFF -> NONE (power cut)\n");
  unsigned typed = t.typed;
  rig_free(&t.r);
  transitions_run(&t, false);
  ck_assert_str_eq(t.log, "");
  ck_assert_uint_eq(t.typed, typed); /* the typed events are the same */
  rig_free(&t.r);
}
END_TEST

static Suite *sim_suite(void)
{
  Suite *s = suite_create("sim_model");
  TCase *at = tcase_create("at");
  tcase_add_test(at, test_sim_at_smod_fff_replies_bare_number);
  tcase_add_test(at, test_sim_at_smod_ffh_replies_bootloader_style);
  tcase_add_test(at, test_sim_at_crlf_is_one_terminator);
  tcase_add_test(at, test_sim_at_long_line_answers_error_once);
  tcase_add_test(at, test_sim_at_plus_in_command_mode_prefixes_next_line);
  tcase_add_test(at, test_sim_at_table_per_mode_accepts_and_refuses);
  tcase_add_test(at, test_sim_at_ati1_and_showver_layout);
  tcase_add_test(at, test_sim_at_echo_on_returns_command_first);
  suite_add_tcase(s, at);
  TCase *boot = tcase_create("boot");
  tcase_add_test(boot, test_sim_boot_named_states_pick_mode_with_fallbacks);
  tcase_add_test(boot, test_sim_boot_bytes_while_booting_are_lost);
  tcase_add_test(boot, test_sim_boot_smswboot_selects_next_boot);
  tcase_add_test(boot, test_sim_transitions_traced_old_to_new_on_request);
  suite_add_tcase(s, boot);
  TCase *up = tcase_create("upgrade");
  tcase_set_timeout(up, 60);
  tcase_add_test(up, test_sim_otf_push_from_recovery_updates_versions);
  tcase_add_test(up, test_sim_otf_flipped_byte_fails_and_leaves_fff_invalid);
  tcase_add_test(up, test_sim_otf_bad_first_header_leaves_slots_valid);
  tcase_add_test(up, test_sim_store_smupgrade_applies_and_boots_fff);
  tcase_add_test(up, test_sim_store_over_4mib_reports_residue_and_discards);
  tcase_add_test(up, test_sim_elf_over_stp_in_ffh_runs_smod1);
  tcase_add_test(up, test_sim_incident_smswboot3_refused_then_push_recovers);
  tcase_add_test(up, test_sim_power_cut_mid_push_boots_recovery);
  tcase_add_test(up, test_sim_otf_big_package_is_fast);
  tcase_add_test(up,
                 test_sim_stp_one_write_with_command_session_and_at_answers_all);
  tcase_add_test(up, test_sim_stp_final_reset_and_at_in_one_feed_answers_both);
  tcase_add_test(up, test_sim_stp_reset_right_after_smstpu_in_one_write_is_stp);
  suite_add_tcase(s, up);
  TCase *fl = tcase_create("faults");
  tcase_add_test(fl, test_sim_fault_first_smswboot_error_then_ok);
  tcase_add_test(fl, test_sim_fault_urc_and_split_reply);
  tcase_add_test(fl, test_sim_fault_corrupt_magic_and_residue_on_blocks);
  tcase_add_test(fl, test_sim_fault_power_on_echo_and_nul_replies);
  tcase_add_test(fl, test_sim_fault_data_mode_needs_guarded_escape);
  tcase_add_test(fl, test_sim_line_wrong_host_baud_garbles_output);
  tcase_add_test(fl, test_sim_line_directions_tolerance_and_unreadable_rates);
  tcase_add_test(fl, test_sim_fault_yaml_loads_and_reports_errors);
  suite_add_tcase(s, fl);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(sim_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

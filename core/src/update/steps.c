/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The updater's AT conversation as data.
 *
 * Every state of struct sqn_update is one row of sqn_upd_steps[]: the
 * command it sends (NULL for a wait), the bound of that command, and what
 * an OK, an ERROR (any other final result) and silence until the state
 * timer lead to. sqn_upd_go() sends a row's command; sqn_upd_on_reply() and
 * sqn_upd_on_timeout() only look the row up. The handlers below are the
 * decisions between rows.
 *
 * The "m,1 then m,0 + AT^RESET" fallback of AT+SMSWBOOT is written once
 * (struct sqn_upd_swboot): entering recovery (m = 3) and selecting the new
 * firmware (m = 1) differ only in their row of sqn_upd_swboots[].
 */
#include <string.h>

#include "update_int.h"

#include "../sqn_libc.h"

typedef void (*sqn_upd_fn)(struct sqn_update *u);

static void sqn_upd_enter_recovery(struct sqn_update *u);

/* Does an OK carry the answer the command asked for? A query whose OK
 * comes without it is a late reply to an earlier command (issue 10: a
 * stale OK read as the answer to AT+SMOD? skipped the family check). */
typedef bool (*sqn_upd_answer_fn)(const struct sqn_at_client *at);

struct sqn_upd_step {
  const char *cmd;  /* command the state sends; NULL: a wait */
  bool probe_bound; /* bounded by probe_ms (else cmd_ms) */
  sqn_upd_fn on_ok, on_error, on_silence; /* NULL: nothing happens */
  sqn_upd_answer_fn answered; /* NULL: any OK is the answer */
};

/* ---- AT+SMSWBOOT=m,1, fallback m,0 + AT^RESET (written once) ------------ */

struct sqn_upd_swboot {
  enum sqn_update_state first, pause, second; /* m,1 / pause / m,0 */
  int purpose;         /* what the reboot leads to */
  uint32_t reset_wait; /* 0: sysstart_ms; else ms before probing */
  int refused;         /* error when both forms are refused */
  const char *both;    /* detail when both forms answered ERROR */
};

static const struct sqn_upd_swboot sqn_upd_swboots[] = {
    {SQN_UPDATE_ST_SWBOOT3, SQN_UPDATE_ST_SWBOOT3_PAUSE,
     SQN_UPDATE_ST_SWBOOT30, SQN_UPD_P_RECOVERY, 2000,
     SQN_E_ENTER_UPGRADE_REFUSED,
     "AT+SMSWBOOT=3,1 and 3,0 answered %s; no STP byte sent"},
    {SQN_UPDATE_ST_SWBOOT1, SQN_UPDATE_ST_SWBOOT1_PAUSE,
     SQN_UPDATE_ST_SWBOOT10, SQN_UPD_P_FFF_BOOT, 0, SQN_E_SELECT_FFF_REFUSED,
     "AT+SMSWBOOT=1,1 and 1,0 answered %s"},
};

static const struct sqn_upd_swboot *sqn_upd_swboot_of(enum sqn_update_state s) {
  for (size_t i = 0; i < sizeof sqn_upd_swboots / sizeof sqn_upd_swboots[0];
       i++) {
    const struct sqn_upd_swboot *b = &sqn_upd_swboots[i];
    if (s == b->first || s == b->pause || s == b->second)
      return b;
  }
  return &sqn_upd_swboots[0];
}

/* The fallback that `purpose` selected (after m,0 the RESET row needs it). */
static const struct sqn_upd_swboot *sqn_upd_swboot_for(int purpose) {
  return purpose == SQN_UPD_P_FFF_BOOT ? &sqn_upd_swboots[1]
                                       : &sqn_upd_swboots[0];
}

static void sqn_upd_swboot_ok(struct sqn_update *u) {
  const struct sqn_upd_swboot *b = sqn_upd_swboot_of(u->state);
  if (b->purpose == SQN_UPD_P_FFF_BOOT)
    u->selected_fff = true;
  sqn_upd_after_switch(u, b->purpose,
                       b->reset_wait ? b->reset_wait : u->t.sysstart_ms);
}

static void sqn_upd_swboot_refused(struct sqn_update *u) {
  const struct sqn_upd_swboot *b = sqn_upd_swboot_of(u->state);
  char m = b->purpose == SQN_UPD_P_FFF_BOOT ? '1' : '3';
  sqn_upd_log(u, SQN_LOG_WARN, "AT+SMSWBOOT=%c,1 refused; trying %c,0 + "
              "AT^RESET", m, m);
  sqn_upd_wait(u, b->pause, u->t.swboot_retry_ms);
}

static void sqn_upd_swboot_silent(struct sqn_update *u) {
  const struct sqn_upd_swboot *b = sqn_upd_swboot_of(u->state);
  /* No final result: the modem may have reset without answering. */
  sqn_upd_log(u, SQN_LOG_WARN, "no reply to %s; probing", u->last_cmd);
  if (b->purpose == SQN_UPD_P_FFF_BOOT)
    u->selected_fff = true;
  sqn_upd_arm(u, b->purpose, sqn_upd_wait_err(u, b->purpose),
              b->purpose == SQN_UPD_P_FFF_BOOT ? u->t.boot_ms
                                               : u->t.mode_switch_ms);
  u->progress_at = 0;
  sqn_upd_probe_send(u);
}

static void sqn_upd_swboot_second(struct sqn_update *u) {
  sqn_upd_go(u, sqn_upd_swboot_of(u->state)->second);
}

static void sqn_upd_swboot0_ok(struct sqn_update *u) {
  const struct sqn_upd_swboot *b = sqn_upd_swboot_of(u->state);
  if (b->purpose == SQN_UPD_P_FFF_BOOT)
    u->selected_fff = true;
  u->probe_purpose = b->purpose; /* what the AT^RESET row leads to */
  sqn_upd_go(u, SQN_UPDATE_ST_RESET);
}

static void sqn_upd_swboot0_refused(struct sqn_update *u) {
  const struct sqn_upd_swboot *b = sqn_upd_swboot_of(u->state);
  if (b->purpose == SQN_UPD_P_RECOVERY && ++u->tries < 2) {
    sqn_upd_enter_recovery(u);
    return;
  }
  sqn_upd_finish(u, b->refused, b->both, sqn_at_result_name(u->at.result));
}

static void sqn_upd_swboot0_silent(struct sqn_update *u) {
  sqn_upd_finish(u, sqn_upd_swboot_of(u->state)->refused, "no reply to %s",
                 u->last_cmd);
}

static void sqn_upd_reset_ok(struct sqn_update *u) {
  const struct sqn_upd_swboot *b = sqn_upd_swboot_for(u->probe_purpose);
  sqn_upd_after_switch(u, u->probe_purpose,
                       b->reset_wait ? b->reset_wait : u->t.sysstart_ms);
}

static void sqn_upd_reset_refused(struct sqn_update *u) {
  sqn_upd_finish(u, sqn_upd_swboot_for(u->probe_purpose)->refused,
                 "AT^RESET answered %s", sqn_at_result_name(u->at.result));
}

static void sqn_upd_reset_silent(struct sqn_update *u) {
  sqn_upd_after_switch(u, u->probe_purpose, 100);
}

/* ---- paths ---------------------------------------------------------------- */

void sqn_upd_push(struct sqn_update *u) {
  if (u->push_attempts >= SQN_UPD_MAX_PUSHES) {
    sqn_upd_finish(u, SQN_E_STP_PROTOCOL, "transfer failed %u times",
                   (unsigned)u->push_attempts);
    return;
  }
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_TRANSFER);
  /* Echo must be off before the binary phase; some firmware answers ERROR
   * to ATE0, which is fine (the reply parser skips echo anyway). */
  sqn_upd_go(u, SQN_UPDATE_ST_ATE0);
}

static void sqn_upd_enter_recovery(struct sqn_update *u) {
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_ENTER_RECOVERY);
  sqn_upd_go(u, SQN_UPDATE_ST_SWBOOT3);
}

/* Part 1 of two was applied: part 2 goes next in the same recovery
 * session, with no AT+SMSWBOOT=1,x in between (F20: the intermediate image
 * must not be booted into a new power session, and the run is not done). */
static void sqn_upd_part1_applied(struct sqn_update *u) {
  char v[40] = "?", w[40] = "?";
  if (u->part1.fff_version.found)
    sqn_version_format(&u->part1.fff_version, v, sizeof v);
  if (u->pkg.fff_version.found)
    sqn_version_format(&u->pkg.fff_version, w, sizeof w);
  sqn_upd_info(u, "part1", v);
  sqn_upd_log(u, SQN_LOG_INFO,
              "part 1 of 2 applied (intermediate image LR%s); sending part 2 "
              "(LR%s) now, without a reboot; do not remove power",
              v, w);
  u->cur_part = 2;
  u->pushed = false;
  u->push_attempts = 0;
  u->crc_retries = 0;
  u->commit_lost = false;
  sqn_upd_push(u);
}

/* FFH (SMOD 0): updater.elf goes first, over AT+STP. */
static void sqn_upd_path_ffh(struct sqn_update *u) {
  const struct sqn_pkg_info *pk = &u->pkg;
  if (!u->cfg.updater_size || !pk->has_fff || pk->has_diff) {
    sqn_upd_finish(u, SQN_E_RECOVERY_NEEDS_UPDATER_AND_FULL_IMAGE, "%s",
                   !u->cfg.updater_size
                       ? "no --updater given"
                       : "the package is not a full image (needs an fff "
                         "record and no delta)");
    return;
  }
  if (u->elf_loaded) {
    /* The ELF ran once already and the modem fell back to FFH. */
    sqn_upd_finish(u, SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH,
                   "modem back in SMOD 0 after updater.elf was loaded");
    return;
  }
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_LOAD_UPDATER);
  sqn_upd_go(u, SQN_UPDATE_ST_IPR);
}

/* The modem's mode is known (and its version when in FFF): check and pick
 * the path. Nothing before this point wrote to the modem's flash. */
static void sqn_upd_choose(struct sqn_update *u) {
  if (!sqn_upd_check_modem(u))
    return;
  switch (u->modem.smod) {
  case 2:
    if (u->method == SQN_UPDATE_METHOD_STORE)
      sqn_upd_push(u); /* AT+SMSTPU works from the application */
    else
      sqn_upd_enter_recovery(u);
    break;
  case 0:
    sqn_upd_path_ffh(u);
    break;
  default:
    /* 1 (updater ELF running), 3, 4, or -1 ("ERROR to everything", a
     * recovery boot): the recovery chain takes the package as it is. */
    sqn_upd_push(u);
    break;
  }
}

/* ---- replies: detection ---------------------------------------------------- */

static int sqn_upd_parse_smod(const struct sqn_at_client *at) {
  for (unsigned i = 0; i < at->n_info; i++) {
    const char *p = at->info[i];
    char *end;
    long v;
    if (strncmp(p, "+SMOD:", 6) == 0)
      p += 6;
    while (*p == ' ')
      p++;
    v = strtol(p, &end, 10);
    if (end != p && v >= 0 && v <= 4)
      return (int)v;
  }
  return -1;
}

static bool sqn_upd_has_smod(const struct sqn_at_client *at) {
  return sqn_upd_parse_smod(at) >= 0;
}

static bool sqn_upd_has_lr(const struct sqn_at_client *at) {
  return sqn_at_info(at, "LR") != NULL;
}

static bool sqn_upd_has_status(const struct sqn_at_client *at) {
  return sqn_at_info(at, "+SMUPGRADE:") != NULL;
}

static void sqn_upd_esc_wait_ok(struct sqn_update *u) {
  sqn_upd_log(u, SQN_LOG_INFO, "left data mode with +++");
  sqn_upd_probe_send(u);
}

static void sqn_upd_esc_guard_done(struct sqn_update *u) {
  if (u->now < u->last_rx + sqn_upd_ms(u, u->t.guard_ms)) {
    u->deadline = u->last_rx + sqn_upd_ms(u, u->t.guard_ms);
    return;
  }
  sqn_upd_set_state(u, SQN_UPDATE_ST_ESC_WAIT);
  sqn_at_expect(&u->at, NULL);
  if (!sqn_upd_write(u, "+++", 3))
    return;
  /* The modem answers OK after the guard time that follows. */
  u->deadline = u->now + 2 * sqn_upd_ms(u, u->t.guard_ms);
}

static void sqn_upd_ask_smod(struct sqn_update *u) {
  sqn_upd_go(u, u->probe_purpose == SQN_UPD_P_FFF_BOOT
                    ? SQN_UPDATE_ST_VERIFY_SMOD
                    : SQN_UPDATE_ST_SMOD);
}

static void sqn_upd_probe_ok(struct sqn_update *u) {
  u->modem.alive = true;
  u->modem.baud = u->cur_baud;
  sqn_upd_ask_smod(u);
}

static void sqn_upd_probe_error(struct sqn_update *u) {
  u->modem.alive = true;
  u->modem.baud = u->cur_baud;
  if (++u->rounds < 3) {
    /* First AT answered ERROR (+++ leftovers, or sync): ask again. */
    sqn_upd_probe_send(u);
    return;
  }
  sqn_upd_ask_smod(u);
}

static void sqn_upd_smod_detect(struct sqn_update *u, int smod) {
  if (smod == 2)
    sqn_upd_go(u, SQN_UPDATE_ST_ATI1);
  else if (u->cfg.mode != SQN_UPDATE_MODE_INFO)
    sqn_upd_choose(u);
  else if (smod == 0)
    sqn_upd_finish(u, 0, "modem in FFH (SMOD 0)");
  else
    sqn_upd_go(u, SQN_UPDATE_ST_STATUS);
}

static void sqn_upd_smod_recovery(struct sqn_update *u, int smod) {
  if (smod == 2) {
    /* Still the application: the switch did not take. */
    if (++u->tries >= 2) {
      sqn_upd_finish(u, SQN_E_ENTER_UPGRADE_REFUSED,
                     "modem still in SMOD 2 after AT+SMSWBOOT=3,x");
      return;
    }
    sqn_upd_enter_recovery(u);
  } else if (smod == 0) {
    u->probe_purpose = SQN_UPD_P_REDETECT;
    sqn_upd_choose(u);
  } else {
    sqn_upd_push(u);
  }
}

static void sqn_upd_smod_updater(struct sqn_update *u, int smod) {
  if (smod != 0) {
    sqn_upd_push(u);
    return;
  }
  /* The ELF is still starting: poll again within the bound. */
  if (u->now >= u->phase_deadline) {
    sqn_upd_finish(u, SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH,
                   "updater.elf did not start (SMOD still 0)");
    return;
  }
  sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, u->t.poll_ms);
}

static void sqn_upd_smod_fff_boot(struct sqn_update *u, int smod) {
  if (smod == 4) {
    sqn_upd_finish(u, SQN_E_VERIFY_MISMATCH,
                   "after the new firmware was selected the modem fell back "
                   "to RECOVERY (SMOD 4): the image does not boot on this "
                   "modem (a package for the other chip?); rerun with a "
                   "package for this modem");
    return;
  }
  if (smod != 2) {
    sqn_upd_finish(u, SQN_E_VERIFY_MISMATCH,
                   "modem booted SMOD %d instead of FFF (2)", smod);
    return;
  }
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_VERIFY);
  sqn_upd_go(u, SQN_UPDATE_ST_VERIFY_ATI1);
}

static void sqn_upd_smod_done(struct sqn_update *u, int smod) {
  char buf[16];
  u->modem.smod = smod;
  snprintf(buf, sizeof buf, "%d", smod);
  sqn_upd_info(u, "smod", buf);
  switch (u->probe_purpose) {
  case SQN_UPD_P_DETECT:
  case SQN_UPD_P_REDETECT:
    sqn_upd_smod_detect(u, smod);
    break;
  case SQN_UPD_P_RECOVERY:
    sqn_upd_smod_recovery(u, smod);
    break;
  case SQN_UPD_P_UPDATER:
    sqn_upd_smod_updater(u, smod);
    break;
  case SQN_UPD_P_COMMIT:
    sqn_upd_go(u, SQN_UPDATE_ST_UPG_POLL);
    break;
  case SQN_UPD_P_FFF_BOOT:
    sqn_upd_smod_fff_boot(u, smod);
    break;
  default:
    break;
  }
}

/* After a switch of boot mode, an ERROR to AT+SMOD? is the recovery
 * chain's "ERROR to everything" and the push goes on; an OK without a mode
 * that can be read is no answer at all, and unknown never writes unless
 * forced. */
static void sqn_upd_smod_ok(struct sqn_update *u) {
  int smod = sqn_upd_parse_smod(&u->at);
  if (smod < 0 && !u->cfg.force &&
      (u->probe_purpose == SQN_UPD_P_RECOVERY ||
       u->probe_purpose == SQN_UPD_P_UPDATER)) {
    u->modem.smod = -1;
    sqn_upd_finish(u, SQN_E_MODEM_STATE_UNKNOWN,
                   "AT+SMOD? answered OK without a mode that can be read "
                   "after the switch of boot mode");
    return;
  }
  sqn_upd_smod_done(u, smod);
}

static void sqn_upd_smod_error(struct sqn_update *u) {
  sqn_upd_smod_done(u, -1);
}

static void sqn_upd_ati1_done(struct sqn_update *u) {
  if (u->modem.lr[0])
    sqn_upd_info(u, "version", u->modem.lr);
  if (u->modem.ue[0])
    sqn_upd_info(u, "ue", u->modem.ue);
  /* showver names the bootrom (F18); read to its final result like any
   * reply, so nothing in it is taken for the next command's answer. */
  sqn_upd_go(u, SQN_UPDATE_ST_SHOWVER);
}

static void sqn_upd_ati1_ok(struct sqn_update *u) {
  const char *ue = sqn_at_info(&u->at, "UE");
  const char *lr = sqn_at_info(&u->at, "LR");
  if (ue)
    sqn_upd_copy(u->modem.ue, sizeof u->modem.ue, ue + 2);
  if (lr) {
    sqn_upd_copy(u->modem.lr, sizeof u->modem.lr, lr);
    if (sqn_version_parse(&u->modem.version, lr) == 0) {
      u->modem.version.found = true;
      u->modem.family = u->modem.version.v[0];
    }
  }
  sqn_upd_ati1_done(u);
}

static void sqn_upd_showver_done(struct sqn_update *u) {
  if (u->cfg.mode == SQN_UPDATE_MODE_INFO)
    sqn_upd_go(u, SQN_UPDATE_ST_STATUS);
  else
    sqn_upd_choose(u);
}

static void sqn_upd_showver_ok(struct sqn_update *u) {
  const char *b = sqn_at_info(&u->at, "Bootloader0");
  for (unsigned i = 0; !b && i < u->at.n_info; i++)
    if (strstr(u->at.info[i], "Bootloader0"))
      b = u->at.info[i];
  if (b) {
    const char *c = strchr(b, ':');
    c = c ? c + 1 : b;
    while (*c == ' ')
      c++;
    sqn_upd_copy(u->modem.bootloader, sizeof u->modem.bootloader, c);
    sqn_upd_info(u, "bootloader", u->modem.bootloader);
    c = strchr(u->modem.bootloader, '[');
    if (c)
      u->modem.bootrom_build = (uint32_t)strtoul(c + 1, NULL, 10);
  }
  sqn_upd_showver_done(u);
}

static void sqn_upd_status_text(struct sqn_update *u, char *out, size_t cap) {
  const char *l = sqn_at_info(&u->at, "+SMUPGRADE:");
  out[0] = '\0';
  if (!l)
    return;
  l += strlen("+SMUPGRADE:");
  while (*l == ' ')
    l++;
  snprintf(out, cap, "%s", l);
}

static void sqn_upd_status_ok(struct sqn_update *u) {
  sqn_upd_status_text(u, u->modem.upgrade_status,
                      sizeof u->modem.upgrade_status);
  sqn_upd_info(u, "upgrade_status", u->modem.upgrade_status);
  sqn_upd_finish(u, 0, "modem information read");
}

static void sqn_upd_status_error(struct sqn_update *u) {
  sqn_upd_finish(u, 0, "modem information read");
}

/* A command that had an answer a moment ago got none: probe again (the
 * modem may have rebooted). */
static void sqn_upd_cmd_silent(struct sqn_update *u) {
  if (u->phase_deadline == SQN_UPDATE_NEVER)
    u->phase_deadline = u->now + sqn_upd_ms(u, u->t.mode_switch_ms);
  if (u->probe_purpose == SQN_UPD_P_DETECT) {
    u->probe_purpose = SQN_UPD_P_REDETECT;
    u->probe_err = SQN_E_MODEM_NOT_DETECTED;
  }
  u->probes = 0;
  sqn_upd_probe_send(u);
}

static void sqn_upd_reboot_wait_done(struct sqn_update *u) {
  u->probes = 0;
  sqn_upd_probe_send(u);
}

/* ---- replies: FFH and transfers ------------------------------------------- */

/* AT+IPR=921600 answered OK (at the old rate; the modem switches after it),
 * or nothing (some bootloaders switch without a visible OK): go on at the
 * new rate; AT+STP will tell. */
static void sqn_upd_ipr_ok(struct sqn_update *u) {
  u->alt_baud = SQN_UPD_BAUD_LOW;
  if (!sqn_upd_baud(u, SQN_UPD_BAUD_HIGH))
    return;
  sqn_upd_go(u, SQN_UPDATE_ST_STP_CMD);
}

static void sqn_upd_ipr_error(struct sqn_update *u) {
  sqn_upd_log(u, SQN_LOG_WARN, "AT+IPR refused; staying at %u baud",
              (unsigned)u->cur_baud);
  sqn_upd_go(u, SQN_UPDATE_ST_STP_CMD);
}

static void sqn_upd_start_elf(struct sqn_update *u) {
  sqn_upd_start_stp(u, true);
}

static void sqn_upd_start_pkg(struct sqn_update *u) {
  sqn_upd_start_stp(u, false);
}

static void sqn_upd_stp_refused(struct sqn_update *u) {
  sqn_upd_finish(u, SQN_E_STP_START_REFUSED, "%s answered %s in SMOD %d",
                 u->last_cmd, sqn_at_result_name(u->at.result), u->modem.smod);
}

static void sqn_upd_stp_silent(struct sqn_update *u) {
  sqn_upd_finish(u, SQN_E_STP_START_REFUSED, "no reply to %s in SMOD %d",
                 u->last_cmd, u->modem.smod);
}

static void sqn_upd_ate0_done(struct sqn_update *u) {
  if (u->method == SQN_UPDATE_METHOD_STORE)
    sqn_upd_cmd(u, SQN_UPDATE_ST_SMSTPU, "AT+SMSTPU", u->t.cmd_ms);
  else
    sqn_upd_go(u, SQN_UPDATE_ST_SMSTPU);
}

/* AT+SMUPGRADE was taken: the modem checks the stored copy, writes it
 * (silent for minutes) and boots FFF; then its status tells. */
static void sqn_upd_store_applying(struct sqn_update *u) {
  sqn_upd_log(u, SQN_LOG_INFO,
              "modem applying the stored package (up to %llu s); do not "
              "remove power",
              (unsigned long long)(sqn_upd_ms(u, u->t.commit_ms) / 1000u));
  sqn_upd_after_switch(u, SQN_UPD_P_COMMIT, u->t.sysstart_ms);
  u->phase_deadline = u->now + sqn_upd_ms(u, u->t.commit_ms);
  u->selected_fff = false;
}

static void sqn_upd_store_refused(struct sqn_update *u) {
  sqn_upd_finish(u, SQN_E_UPGRADE_REJECTED,
                 "AT+SMUPGRADE answered %s; the stored package was not "
                 "applied",
                 sqn_at_result_name(u->at.result));
}

static void sqn_upd_store_silent(struct sqn_update *u) {
  /* A modem that starts applying at once may never send the OK. */
  sqn_upd_log(u, SQN_LOG_WARN, "no reply to AT+SMUPGRADE; assuming it is "
                               "applying");
  sqn_upd_store_applying(u);
}

/* ---- replies: the upgrade status ------------------------------------------ */

/* Does a "fail" verdict say the stored copy is damaged (F23)? The wording
 * is not fixed: "failure[crc...]", "checksum mismatch", "signature". */
static bool sqn_upd_integrity_text(const char *st) {
  static const char *const words[] = {"crc", "checksum", "signature"};
  char low[96];
  size_t n = 0;
  for (; st[n] && n + 1 < sizeof low; n++)
    low[n] = (char)(st[n] >= 'A' && st[n] <= 'Z' ? st[n] + 32 : st[n]);
  low[n] = '\0';
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strstr(low, words[i]))
      return true;
  return false;
}

static void sqn_upd_keep_status(struct sqn_update *u, const char *st) {
  sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status, st);
}

static void sqn_upd_upg_success(struct sqn_update *u, const char *st) {
  sqn_upd_keep_status(u, st);
  if (u->method == SQN_UPDATE_METHOD_STORE) {
    /* The store path's AT+SMUPGRADE already booted the new firmware. */
    u->tries = 0;
    u->probe_purpose = SQN_UPD_P_FFF_BOOT;
    sqn_upd_set_phase(u, SQN_UPDATE_PHASE_VERIFY);
    sqn_upd_go(u, SQN_UPDATE_ST_VERIFY_ATI1);
  } else if (u->cur_part == 1) {
    sqn_upd_part1_applied(u);
  } else if (u->pkg.part == 1) {
    char v[40] = "?";
    if (u->pkg.fff_version.found)
      sqn_version_format(&u->pkg.fff_version, v, sizeof v);
    /* Forced part 1 alone: no reboot (F20), and not done either. */
    sqn_upd_finish(u, SQN_E_PART2_PENDING,
                   "part 1 of 2 applied: intermediate image LR%s; the "
                   "modem stays in SMOD %d until part 2 is applied",
                   v, u->modem.smod);
  } else {
    sqn_upd_set_phase(u, SQN_UPDATE_PHASE_REBOOT);
    u->tries = 0;
    sqn_upd_go(u, SQN_UPDATE_ST_SWBOOT1);
  }
}

static void sqn_upd_upg_fail(struct sqn_update *u, const char *st) {
  sqn_upd_keep_status(u, st);
  if (u->method != SQN_UPDATE_METHOD_STORE || !sqn_upd_integrity_text(st)) {
    sqn_upd_finish(u, SQN_E_UPGRADE_REJECTED, "modem says: %s", st);
    return;
  }
  if (u->crc_retries < 1 && u->push_attempts < SQN_UPD_MAX_PUSHES) {
    /* F23: the copy in the modem's file system went bad; the package
     * itself passed the pre-flight check, so one clean copy is worth
     * sending before reporting. */
    u->crc_retries++;
    sqn_upd_log(u, SQN_LOG_WARN,
                "%s: modem says \"%s\"; storing a clean copy once more",
                sqn_err_name(SQN_E_IMAGE_CRC), st);
    sqn_upd_push(u);
    return;
  }
  sqn_upd_finish(u, SQN_E_IMAGE_CRC, "modem says: %s (after %u pushes)", st,
                 (unsigned)u->push_attempts);
}

static void sqn_upd_upg_pending(struct sqn_update *u, const char *st) {
  if (u->commit_lost && u->modem.smod != 2 &&
      u->push_attempts < SQN_UPD_MAX_PUSHES) {
    /* The modem went away after the push without finishing it (the final
     * RESET was not acked, or it rebooted): the session it saw was
     * interrupted, so the recovery chain wants the package again. */
    sqn_upd_log(u, SQN_LOG_WARN,
                "modem reports \"%s\" after losing the session; sending "
                "the package again",
                st);
    sqn_upd_push(u);
    return;
  }
  sqn_upd_keep_status(u, st);
  sqn_upd_wait(u, SQN_UPDATE_ST_UPG_PAUSE, u->t.poll_ms);
}

static void sqn_upd_upg_poll_ok(struct sqn_update *u) {
  char st[96];
  if (u->now >= u->phase_deadline) {
    sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "status still not final");
    return;
  }
  sqn_upd_status_text(u, st, sizeof st);
  if (strstr(st, "success"))
    sqn_upd_upg_success(u, st);
  else if (strstr(st, "fail"))
    sqn_upd_upg_fail(u, st);
  else
    sqn_upd_upg_pending(u, st);
}

static void sqn_upd_upg_poll_error(struct sqn_update *u) {
  if (u->now >= u->phase_deadline) {
    sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "status still not final");
    return;
  }
  sqn_upd_wait(u, SQN_UPDATE_ST_UPG_PAUSE, u->t.poll_ms);
}

static void sqn_upd_upg_poll_silent(struct sqn_update *u) {
  if (u->now >= u->phase_deadline) {
    sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "no final status");
    return;
  }
  u->commit_lost = true;
  /* Silent while applying or rebooting: probe both rates. */
  u->probes = 0;
  sqn_upd_probe_send(u);
}

static void sqn_upd_upg_pause_done(struct sqn_update *u) {
  sqn_upd_wait_progress(u);
  if (u->now >= u->phase_deadline) {
    sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "status still \"%s\"",
                   u->modem.upgrade_status);
    return;
  }
  sqn_upd_go(u, SQN_UPDATE_ST_UPG_POLL);
}

/* ---- replies: verification ------------------------------------------------- */

static void sqn_upd_verify(struct sqn_update *u) {
  char want[40], got[40];
  struct sqn_image_version v;
  const char *lr = sqn_at_info(&u->at, "LR");
  if (!lr || sqn_version_parse(&v, lr) != 0) {
    if (++u->tries < 5) {
      sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, u->t.poll_ms);
      u->probe_purpose = SQN_UPD_P_FFF_BOOT;
      return;
    }
    sqn_upd_finish(u, SQN_E_VERIFY_MISMATCH, "ATI1 shows no LR version");
    return;
  }
  v.found = true;
  sqn_upd_copy(u->modem.lr, sizeof u->modem.lr, lr);
  u->modem.version = v;
  u->modem.family = v.v[0];
  sqn_upd_info(u, "version", lr);
  if (u->pkg.fff_version.found &&
      sqn_version_cmp(&v, &u->pkg.fff_version) != 0) {
    sqn_version_format(&u->pkg.fff_version, want, sizeof want);
    sqn_version_format(&v, got, sizeof got);
    sqn_upd_finish(u, SQN_E_VERIFY_MISMATCH, "modem runs LR%s, package is LR%s",
                   got, want);
    return;
  }
  if (!u->pkg.fff_version.found)
    sqn_upd_log(u, SQN_LOG_WARN,
                "package carries no fff version; booted firmware %s", lr);
  sqn_upd_finish(u, 0, "upgrade verified: modem runs %s", lr);
}

/* ---- the table -------------------------------------------------------------- */

#define ST(name) [SQN_UPDATE_ST_##name]
static const struct sqn_upd_step sqn_upd_steps[SQN_UPDATE_ST_COUNT] = {
    ST(ESC_GUARD) = {NULL, false, NULL, NULL, sqn_upd_esc_guard_done,
                     NULL},
    ST(ESC_WAIT) = {NULL, false, sqn_upd_esc_wait_ok, sqn_upd_probe_send,
                    sqn_upd_probe_send, NULL},
    ST(PROBE) = {"AT", true, sqn_upd_probe_ok, sqn_upd_probe_error,
                 sqn_upd_probe_timeout, NULL},
    ST(SMOD) = {"AT+SMOD?", false, sqn_upd_smod_ok, sqn_upd_smod_error,
                sqn_upd_cmd_silent, sqn_upd_has_smod},
    ST(ATI1) = {"ATI1", false, sqn_upd_ati1_ok, sqn_upd_ati1_done,
                sqn_upd_cmd_silent, sqn_upd_has_lr},
    ST(SHOWVER) = {"AT!=\"showver\"", false, sqn_upd_showver_ok,
                   sqn_upd_showver_done, sqn_upd_cmd_silent, NULL},
    ST(STATUS) = {"AT+SMUPGRADE?", false, sqn_upd_status_ok,
                  sqn_upd_status_error, sqn_upd_cmd_silent, sqn_upd_has_status},
    ST(SWBOOT3) = {"AT+SMSWBOOT=3,1", false, sqn_upd_swboot_ok,
                   sqn_upd_swboot_refused, sqn_upd_swboot_silent, NULL},
    ST(SWBOOT3_PAUSE) = {NULL, false, NULL, NULL, sqn_upd_swboot_second, NULL},
    ST(SWBOOT30) = {"AT+SMSWBOOT=3,0", false, sqn_upd_swboot0_ok,
                    sqn_upd_swboot0_refused, sqn_upd_swboot0_silent, NULL},
    ST(RESET) = {"AT^RESET", false, sqn_upd_reset_ok, sqn_upd_reset_refused,
                 sqn_upd_reset_silent, NULL},
    ST(REBOOT_WAIT) = {NULL, false, NULL, NULL, sqn_upd_reboot_wait_done, NULL},
    ST(IPR) = {"AT+IPR=921600", false, sqn_upd_ipr_ok, sqn_upd_ipr_error,
               sqn_upd_ipr_ok, NULL},
    ST(STP_CMD) = {"AT+STP", false, sqn_upd_start_elf, sqn_upd_stp_refused,
                   sqn_upd_stp_silent, NULL},
    ST(ATE0) = {"ATE0", false, sqn_upd_ate0_done, sqn_upd_ate0_done,
                sqn_upd_cmd_silent, NULL},
    ST(SMSTPU) = {"AT+SMSTPU=\"ON_THE_FLY\"", false, sqn_upd_start_pkg,
                  sqn_upd_stp_refused, sqn_upd_stp_silent, NULL},
    ST(STORE_APPLY) = {"AT+SMUPGRADE", false, sqn_upd_store_applying,
                       sqn_upd_store_refused, sqn_upd_store_silent, NULL},
    ST(UPG_POLL) = {"AT+SMUPGRADE?", false, sqn_upd_upg_poll_ok,
                    sqn_upd_upg_poll_error, sqn_upd_upg_poll_silent, sqn_upd_has_status},
    ST(UPG_PAUSE) = {NULL, false, NULL, NULL, sqn_upd_upg_pause_done, NULL},
    ST(SWBOOT1) = {"AT+SMSWBOOT=1,1", false, sqn_upd_swboot_ok,
                   sqn_upd_swboot_refused, sqn_upd_swboot_silent, NULL},
    ST(SWBOOT1_PAUSE) = {NULL, false, NULL, NULL, sqn_upd_swboot_second, NULL},
    ST(SWBOOT10) = {"AT+SMSWBOOT=1,0", false, sqn_upd_swboot0_ok,
                    sqn_upd_swboot0_refused, sqn_upd_swboot0_silent, NULL},
    ST(VERIFY_SMOD) = {"AT+SMOD?", false, sqn_upd_smod_ok, sqn_upd_smod_error,
                       sqn_upd_cmd_silent, sqn_upd_has_smod},
    ST(VERIFY_ATI1) = {"ATI1", false, sqn_upd_verify, sqn_upd_verify,
                       sqn_upd_cmd_silent, sqn_upd_has_lr},
};
#undef ST

/* Send the command of row `s` and bound it. */
void sqn_upd_go(struct sqn_update *u, enum sqn_update_state s) {
  const struct sqn_upd_step *st = &sqn_upd_steps[s];
  sqn_upd_cmd(u, s, st->cmd, st->probe_bound ? u->t.probe_ms : u->t.cmd_ms);
}

/*
 * An OK without the answer its command asked for: a late reply to an
 * earlier command (the modem answers in order, so the real answer follows).
 * Once per command it is logged and skipped, and the same command's reply
 * is awaited within the same bound; a second such OK is taken as it is
 * (the answer is then unknown, and unknown refuses writes).
 */
bool sqn_upd_reply_stale(struct sqn_update *u) {
  const struct sqn_upd_step *st = &sqn_upd_steps[u->state];
  if (u->at.result != SQN_AT_RES_OK || !st->answered || st->answered(&u->at) ||
      u->stale >= 1)
    return false;
  u->stale++;
  sqn_upd_log(u, SQN_LOG_DEBUG,
              "at< OK without the answer to %s (%u lines): a late reply to "
              "an earlier command; waiting for its own",
              u->last_cmd, u->at.n_info);
  sqn_at_expect(&u->at, u->last_cmd);
  return true;
}

/* A command got its final result. */
void sqn_upd_on_reply(struct sqn_update *u) {
  const struct sqn_upd_step *st = &sqn_upd_steps[u->state];
  enum sqn_at_result r = u->at.result;
  sqn_upd_fn fn = r == SQN_AT_RES_OK ? st->on_ok : st->on_error;
  sqn_upd_log(u, SQN_LOG_DEBUG, "at< %s (%u lines) for %s",
              sqn_at_result_name(r), u->at.n_info, u->last_cmd);
  if (u->at.echo_seen)
    u->modem.echo = true;
  if (fn)
    fn(u);
}

/* The state timer expired. */
void sqn_upd_on_timeout(struct sqn_update *u) {
  sqn_upd_fn fn = sqn_upd_steps[u->state].on_silence;
  if (fn)
    fn(u);
}

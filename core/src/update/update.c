/*
 * The upgrade procedure (see sqnup/update.h for the API and the path graph).
 *
 * One state variable, one switch per input (reply, timeout, URC), one
 * set_state() that narrates "old → new". AT exchanges go through the AT
 * client (replies end at their final result), transfers through the STP
 * master; this file only decides what comes next.
 *
 *   start ─► ESC_GUARD ─► ESC_WAIT ─► PROBE ─alive─► SMOD ─► ATI1 ─► path
 *                                       │ no answer: other rate, bounded
 *   path(SMOD 2)  SWBOOT3 ─ERROR─► SWBOOT3_PAUSE ─► SWBOOT30 ─► RESET
 *                    └──OK──────────────────────────────────────┴─► REBOOT_WAIT
 *                 REBOOT_WAIT ─► PROBE ─► SMOD = 4 ─► push
 *   path(SMOD 0)  IPR ─► STP_CMD ─► ELF_PUSH ─► REBOOT_WAIT ─► PROBE ─► SMOD = 1 ─► push
 *   push          ATE0 ─► SMSTPU ─► PKG_PUSH ─► UPG_POLL ⇄ UPG_PAUSE
 *                 (silent modem: PROBE within the commit bound)
 *   success       SWBOOT1 (fallback SWBOOT1_PAUSE ─► SWBOOT10 ─► RESET)
 *                 ─► REBOOT_WAIT (+SYSSTART or poll) ─► PROBE ─► VERIFY_SMOD
 *                 ─► VERIFY_ATI1 ─► DONE
 *   store (SMOD 2) ATE0 ─► SMSTPU ─► PKG_PUSH ─► STORE_APPLY (AT+SMUPGRADE)
 *                 ─► REBOOT_WAIT ─► PROBE ─► UPG_POLL ─success─► VERIFY_ATI1
 *                 (a CRC-like "fail": push once more, then E_IMAGE_CRC)
 *   two parts     push part 1 ─► UPG_POLL success ─► push part 2 (ATE0 ...)
 *                 ─► UPG_POLL success ─► SWBOOT1 ... as above (F20: no
 *                 reboot and no DONE between the parts)
 *
 * Before choosing a path from SMOD 2, ATI1 and AT!="showver" give the
 * version, family and bootrom build: all compatibility checks (family,
 * downgrade, factory bootrom [33080] without a bootrom record) happen
 * before the first byte that changes anything.
 *
 * The PROBE state is shared by every "is the modem back?" wait; what it
 * leads to and which error ends it are in probe_purpose / probe_err, and
 * its overall bound is phase_deadline. Probing alternates between the two
 * rates because the modem's rate depends on the mode and profile (monarch1
 * FFF/RECOVERY 921600, FFH 115200; gm02s 115200 everywhere).
 */
#include "sqnup/update.h"

#include <stdarg.h>
#include <string.h>

#include "../sqn_libc.h"

enum sqn_update_purpose {
  SQN_UPD_P_DETECT,        /* first contact */
  SQN_UPD_P_REDETECT,      /* after an unexpected reboot */
  SQN_UPD_P_RECOVERY,      /* after SMSWBOOT=3,x: expect SMOD 4 */
  SQN_UPD_P_UPDATER,       /* after the updater.elf push: expect SMOD 1 */
  SQN_UPD_P_COMMIT,        /* after the package push: status polling */
  SQN_UPD_P_FFF_BOOT       /* after SMSWBOOT=1,x: expect SMOD 2 */
};

#define SQN_UPD_BAUD_HIGH 921600u
#define SQN_UPD_BAUD_LOW 115200u
#define SQN_UPD_MAX_PUSHES 2u
/* The factory bootrom build of early SQN3330 modems (faults.md F18). */
#define SQN_UPD_OLD_BOOTROM 33080u

static const char sqn_upd_arrow[] = "\xe2\x86\x92"; /* → */

const char *sqn_update_state_name(enum sqn_update_state s) {
  switch (s) {
#define XX(name)                                                               \
  case SQN_UPDATE_ST_##name:                                                   \
    return #name;
    SQN_UPDATE_STATE_MAP(XX)
#undef XX
  case SQN_UPDATE_ST_COUNT:
    break;
  }
  return "?";
}

const char *sqn_update_phase_name(enum sqn_update_phase p) {
  switch (p) {
#define XX(name, text)                                                         \
  case SQN_UPDATE_PHASE_##name:                                                \
    return #name;
    SQN_UPDATE_PHASE_MAP(XX)
#undef XX
  }
  return "?";
}

const char *sqn_update_phase_text(enum sqn_update_phase p) {
  switch (p) {
#define XX(name, text)                                                         \
  case SQN_UPDATE_PHASE_##name:                                                \
    return text;
    SQN_UPDATE_PHASE_MAP(XX)
#undef XX
  }
  return "?";
}

const char *sqn_update_event_name(enum sqn_update_event_kind k) {
  switch (k) {
#define XX(name)                                                               \
  case SQN_UPDATE_EV_##name:                                                   \
    return #name;
    SQN_UPDATE_EV_MAP(XX)
#undef XX
  }
  return "?";
}

const char *sqn_update_method_name(enum sqn_update_method m) {
  switch (m) {
  case SQN_UPDATE_METHOD_ON_THE_FLY:
    return "on-the-fly";
  case SQN_UPDATE_METHOD_STORE:
    return "store";
  }
  return "?";
}

void sqn_update_default_timeouts(struct sqn_update_timeouts *t) {
  t->probe_ms = 1000;
  t->cmd_ms = 5000;
  t->guard_ms = 1100;
  t->detect_rounds = 5;
  t->swboot_retry_ms = 5000;
  t->mode_switch_ms = 180000;
  t->ack_ms = 120000;
  t->stp_retries = 4;
  t->final_reset_ms = 10000;
  t->updater_boot_ms = 300000;
  t->commit_ms = 900000;
  t->boot_ms = 900000;
  t->sysstart_ms = 12000;
  t->poll_ms = 2000;
  t->max_reboots = 3;
}

/* Copy a C string into a fixed field, cutting it when too long. */
static void sqn_upd_copy(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* ---- narration ----------------------------------------------------------- */

/* The power safety that holds during a phase as a whole: what its PHASE
 * event says. Within a phase sqn_update_power_safe() may be briefly safer
 * (e.g. the transfer before its first STP byte); the phase event must not
 * promise that. */
static bool sqn_upd_phase_power_safe(enum sqn_update_phase p) {
  switch (p) {
  case SQN_UPDATE_PHASE_TRANSFER:
  case SQN_UPDATE_PHASE_APPLY:
  case SQN_UPDATE_PHASE_REBOOT:
    return false;
  default:
    return true;
  }
}

static void sqn_upd_event(struct sqn_update *u, struct sqn_update_event *ev) {
  if (!u->cfg.event)
    return;
  ev->now_ms = u->now;
  ev->phase = u->phase;
  ev->state = u->state;
  ev->power_safe = ev->kind == SQN_UPDATE_EV_PHASE && !u->done
                       ? sqn_upd_phase_power_safe(u->phase)
                       : sqn_update_power_safe(u);
  u->cfg.event(u->cfg.user, ev);
}

static void sqn_upd_log(struct sqn_update *u, enum sqn_log_level lvl,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sqn_upd_log(struct sqn_update *u, enum sqn_log_level lvl,
                        const char *fmt, ...) {
  char buf[200];
  struct sqn_update_event ev;
  va_list ap;
  if (!u->cfg.event)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_LOG;
  ev.level = lvl;
  ev.text = buf;
  sqn_upd_event(u, &ev);
}

static void sqn_upd_info(struct sqn_update *u, const char *key,
                         const char *val) {
  char buf[160];
  struct sqn_update_event ev;
  snprintf(buf, sizeof buf, "%s=%s", key, val);
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_INFO;
  ev.text = buf;
  sqn_upd_event(u, &ev);
}

static void sqn_upd_set_phase(struct sqn_update *u, enum sqn_update_phase p) {
  struct sqn_update_event ev;
  if (u->phase == p)
    return;
  u->phase = p;
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_PHASE;
  ev.text = sqn_update_phase_text(p);
  sqn_upd_event(u, &ev);
}

static void sqn_upd_set_state(struct sqn_update *u, enum sqn_update_state s) {
  enum sqn_update_state old = u->state;
  u->state = s;
  sqn_upd_log(u, SQN_LOG_DEBUG, "state %s %s %s", sqn_update_state_name(old),
              sqn_upd_arrow, sqn_update_state_name(s));
}

static uint64_t sqn_upd_ms(const struct sqn_update *u, uint32_t base) {
  double s = u->cfg.timeout_scale > 0 ? u->cfg.timeout_scale : 1.0;
  double v = (double)base * s;
  if (v < 1.0)
    return 1;
  return (uint64_t)(v + 0.5);
}

static void sqn_upd_finish(struct sqn_update *u, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sqn_upd_finish(struct sqn_update *u, int err, const char *fmt,
                           ...) {
  struct sqn_update_event ev;
  char text[320];
  if (u->done)
    return;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->detail, sizeof u->detail, fmt, ap);
    va_end(ap);
  }
  if (u->in_stp && sqn_stpm_session_open(&u->stpm))
    sqn_stpm_abort(&u->stpm, err ? err : SQN_E_ABORTED);
  u->in_stp = false;
  sqn_at_cancel(&u->at);
  u->result = err;
  u->done = true;
  u->deadline = SQN_UPDATE_NEVER;
  sqn_upd_set_state(u, err ? SQN_UPDATE_ST_FAILED : SQN_UPDATE_ST_DONE);
  if (!err)
    sqn_upd_set_phase(u, SQN_UPDATE_PHASE_DONE);
  if (err && u->detail[0])
    snprintf(text, sizeof text, "%s: %s: %s. %s", sqn_err_name(err),
             sqn_strerror(err), u->detail, sqn_err_advice(err));
  else if (err)
    snprintf(text, sizeof text, "%s: %s. %s", sqn_err_name(err),
             sqn_strerror(err), sqn_err_advice(err));
  else
    sqn_upd_copy(text, sizeof text, u->detail[0] ? u->detail : "done");
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_DONE;
  ev.err = err;
  ev.text = text;
  ev.level = err ? SQN_LOG_ERROR : SQN_LOG_INFO;
  sqn_upd_event(u, &ev);
}

/* ---- output -------------------------------------------------------------- */

static bool sqn_upd_write(struct sqn_update *u, const void *buf, size_t len) {
  int rc = u->cfg.write(u->cfg.user, buf, len);
  if (rc < 0 || (size_t)rc != len) {
    sqn_upd_finish(u, SQN_E_IO, "write to the port failed");
    return false;
  }
  u->wrote = true;
  return true;
}

/* Send an AT command and wait for its final result for `timeout_ms`. */
static void sqn_upd_cmd(struct sqn_update *u, enum sqn_update_state s,
                        const char *cmd, uint32_t timeout_ms) {
  char line[SQN_AT_LINE_MAX + 3];
  size_t n = strlen(cmd);
  sqn_upd_set_state(u, s);
  sqn_upd_copy(u->last_cmd, sizeof u->last_cmd, cmd);
  sqn_at_expect(&u->at, cmd);
  memcpy(line, cmd, n);
  line[n++] = '\r';
  line[n++] = '\n';
  u->tx_at_lines++;
  sqn_upd_log(u, SQN_LOG_DEBUG, "at> %s", cmd);
  if (!sqn_upd_write(u, line, n))
    return;
  u->deadline = u->now + sqn_upd_ms(u, timeout_ms);
}

static void sqn_upd_wait(struct sqn_update *u, enum sqn_update_state s,
                         uint32_t ms) {
  sqn_upd_set_state(u, s);
  sqn_at_cancel(&u->at);
  u->deadline = u->now + sqn_upd_ms(u, ms);
}

static bool sqn_upd_baud(struct sqn_update *u, uint32_t baud) {
  u->cur_baud = baud;
  sqn_at_reset_line(&u->at);
  if (u->cfg.set_baud && u->cfg.set_baud(u->cfg.user, baud) < 0) {
    sqn_upd_finish(u, SQN_E_PORT, "cannot set the port to %u baud",
                   (unsigned)baud);
    return false;
  }
  sqn_upd_log(u, SQN_LOG_DEBUG, "port at %u baud", (unsigned)baud);
  return true;
}

/* ---- probing ------------------------------------------------------------- */

static void sqn_upd_probe_send(struct sqn_update *u) {
  sqn_upd_cmd(u, SQN_UPDATE_ST_PROBE, "AT", u->t.probe_ms);
}

static void sqn_upd_escape(struct sqn_update *u) {
  /* +++ needs >= 1 s of silence on both sides (guard time). */
  sqn_upd_set_state(u, SQN_UPDATE_ST_ESC_GUARD);
  sqn_at_cancel(&u->at);
  u->deadline = (u->last_rx > u->now ? u->last_rx : u->now) +
                sqn_upd_ms(u, u->t.guard_ms);
}

/* Begin a "wait until the modem answers" loop. */
static void sqn_upd_probe(struct sqn_update *u, int purpose, int err,
                          uint32_t bound_ms) {
  u->probe_purpose = purpose;
  u->probe_err = err;
  u->probes = 0;
  u->rounds = 0;
  u->attempts = 0;
  u->phase_deadline = bound_ms ? u->now + sqn_upd_ms(u, bound_ms)
                               : SQN_UPDATE_NEVER;
  if (purpose == SQN_UPD_P_DETECT)
    sqn_upd_escape(u);
  else
    sqn_upd_probe_send(u);
}

/* Long waits (commit, first boot of the new firmware) say every
 * SQN_UPD_PROGRESS_MS that they are still waiting and how long they will,
 * so that nobody cuts power thinking the tool hung (F11). */
#define SQN_UPD_PROGRESS_MS 30000u

static void sqn_upd_wait_progress(struct sqn_update *u) {
  uint64_t left;
  if (u->probe_purpose != SQN_UPD_P_COMMIT &&
      u->probe_purpose != SQN_UPD_P_FFF_BOOT)
    return;
  if (u->phase_deadline == SQN_UPDATE_NEVER || u->now < u->progress_at)
    return;
  left = u->phase_deadline > u->now ? u->phase_deadline - u->now : 0;
  if (u->progress_at)
    sqn_upd_log(u, SQN_LOG_INFO,
                "still waiting for the modem to %s (up to %llu s more); do "
                "not remove power",
                u->probe_purpose == SQN_UPD_P_COMMIT
                    ? "apply the package"
                    : "boot the new firmware",
                (unsigned long long)(left / 1000u));
  u->progress_at = u->now + sqn_upd_ms(u, SQN_UPD_PROGRESS_MS);
}

static void sqn_upd_probe_timeout(struct sqn_update *u) {
  sqn_upd_wait_progress(u);
  if (u->probe_purpose != SQN_UPD_P_DETECT && u->now >= u->phase_deadline) {
    if (u->probe_purpose == SQN_UPD_P_COMMIT)
      sqn_upd_finish(u, u->probe_err,
                     "no answer for %llu ms after the transfer; the modem may "
                     "still be writing its flash",
                     (unsigned long long)sqn_upd_ms(u, u->t.commit_ms));
    else if (u->probe_purpose == SQN_UPD_P_FFF_BOOT && u->pushed)
      sqn_upd_finish(u, u->probe_err,
                     "the new firmware did not answer for %llu s after it was "
                     "selected (at %u or %u baud); it may still be committing",
                     (unsigned long long)(sqn_upd_ms(u, u->t.boot_ms) / 1000u),
                     (unsigned)u->cur_baud, (unsigned)u->alt_baud);
    else
      sqn_upd_finish(u, u->probe_err, "no answer at %u or %u baud",
                     (unsigned)u->cur_baud, (unsigned)u->alt_baud);
    return;
  }
  if (++u->probes < 2) {
    sqn_upd_probe_send(u);
    return;
  }
  /* Two silent probes: try the other rate. */
  u->probes = 0;
  u->attempts++; /* rate switches */
  if (u->probe_purpose == SQN_UPD_P_DETECT &&
      u->attempts >= 2u * u->t.detect_rounds) {
    if (u->noise)
      sqn_upd_finish(u, SQN_E_DATA_MODE_STUCK,
                     "text but no AT reply at %u and %u baud after +++",
                     (unsigned)u->cur_baud, (unsigned)u->alt_baud);
    else
      sqn_upd_finish(u, SQN_E_MODEM_NOT_DETECTED,
                     "%u rounds of AT at %u and %u baud",
                     (unsigned)u->t.detect_rounds, (unsigned)u->cur_baud,
                     (unsigned)u->alt_baud);
    return;
  }
  {
    uint32_t b = u->alt_baud;
    u->alt_baud = u->cur_baud;
    if (!sqn_upd_baud(u, b))
      return;
  }
  /* The data-mode escape is tried at each rate in every round: a modem
   * that was still booting during the first round may be in data mode. */
  if (u->probe_purpose == SQN_UPD_P_DETECT)
    sqn_upd_escape(u);
  else
    sqn_upd_probe_send(u);
}

/* The error that ends a "wait until the modem answers" of `purpose`. The
 * first boot of a freshly written image may be a long silent flash commit
 * (F11): running out of time then is a commit timeout (do not cut power),
 * not a failed mode switch (power-cycle). */
static int sqn_upd_wait_err(const struct sqn_update *u, int purpose) {
  if (purpose == SQN_UPD_P_COMMIT ||
      (purpose == SQN_UPD_P_FFF_BOOT && u->pushed))
    return SQN_E_COMMIT_TIMEOUT;
  return SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH;
}

/* The modem was told to reboot: wait, then probe within the bound of the
 * purpose (mode switch, FFF boot). */
static void sqn_upd_after_switch(struct sqn_update *u, int purpose,
                                 uint32_t wait_ms) {
  sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, wait_ms);
  u->probe_purpose = purpose;
  u->probe_err = sqn_upd_wait_err(u, purpose);
  u->progress_at = 0;
  u->probes = 0;
  u->phase_deadline =
      u->now + sqn_upd_ms(u, purpose == SQN_UPD_P_FFF_BOOT
                                 ? u->t.boot_ms
                                 : u->t.mode_switch_ms);
}

/* ---- decisions ----------------------------------------------------------- */

static void sqn_upd_start_stp(struct sqn_update *u, bool elf);

static void sqn_upd_push(struct sqn_update *u) {
  if (u->push_attempts >= SQN_UPD_MAX_PUSHES) {
    sqn_upd_finish(u, SQN_E_STP_PROTOCOL, "transfer failed %u times",
                   (unsigned)u->push_attempts);
    return;
  }
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_TRANSFER);
  /* Echo must be off before the binary phase; some firmware answers ERROR
   * to ATE0, which is fine (the reply parser skips echo anyway). */
  sqn_upd_cmd(u, SQN_UPDATE_ST_ATE0, "ATE0", u->t.cmd_ms);
}

static void sqn_upd_enter_recovery(struct sqn_update *u) {
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_ENTER_RECOVERY);
  sqn_upd_cmd(u, SQN_UPDATE_ST_SWBOOT3, "AT+SMSWBOOT=3,1", u->t.cmd_ms);
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

/* The modem's mode is known (and its version when in FFF): check and pick
 * the path. Nothing before this point wrote to the modem's flash. */
static void sqn_upd_choose(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  const struct sqn_pkg_info *pk = &u->pkg;

  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_CHECK_MODEM);
  if (mi->family && pk->family && mi->family != pk->family) {
    if (!u->cfg.force) {
      sqn_upd_finish(u, SQN_E_IMAGE_FAMILY_MISMATCH,
                     "modem runs LR%d (%s), package is LR%d", mi->family,
                     mi->lr, pk->family);
      return;
    }
    sqn_upd_log(u, SQN_LOG_WARN, "family mismatch forced: LR%d -> LR%d",
                mi->family, pk->family);
  }
  if (mi->version.found && pk->fff_version.found &&
      sqn_version_cmp(&pk->fff_version, &mi->version) < 0) {
    char a[40], b[40];
    sqn_version_format(&mi->version, a, sizeof a);
    sqn_version_format(&pk->fff_version, b, sizeof b);
    if (!u->cfg.force) {
      sqn_upd_finish(u, SQN_E_DOWNGRADE_REFUSED, "modem runs %s, package is %s",
                     a, b);
      return;
    }
    sqn_upd_log(u, SQN_LOG_WARN, "downgrade forced: %s -> %s", a, b);
  }
  if (pk->part == 2 && !u->cfg.pkg2_size) {
    /* A part 2 alone applies only on top of part 1's intermediate image. */
    char base[40] = "?";
    if (pk->part_base.found)
      sqn_version_format(&pk->part_base, base, sizeof base);
    bool on_base = mi->version.found && pk->part_base.found &&
                   sqn_version_cmp(&mi->version, &pk->part_base) == 0;
    if (!on_base && !u->cfg.force) {
      if (mi->version.found)
        sqn_upd_finish(u, SQN_E_PART1_MISSING,
                       "modem runs %s, part 2 needs part 1's LR%s", mi->lr,
                       base);
      else
        sqn_upd_finish(u, SQN_E_PART1_MISSING,
                       "modem in SMOD %d cannot report its version; part 2 "
                       "needs part 1's LR%s",
                       mi->smod, base);
      return;
    }
    if (!on_base)
      sqn_upd_log(u, SQN_LOG_WARN,
                  "part 2 alone forced: the modem does not show part 1's "
                  "LR%s",
                  base);
  }
  if (!mi->version.found && mi->smod != 2)
    sqn_upd_log(u, SQN_LOG_INFO,
                "modem in SMOD %d cannot report its version; family and "
                "downgrade checks skipped",
                mi->smod);

  if (mi->bootrom_build && mi->bootrom_build <= SQN_UPD_OLD_BOOTROM) {
    /* F18: the factory bootrom cannot recover reliably from a failed
     * upgrade. A package with a bootrom record replaces it (applied
     * atomically once the package checked out, by either method, as
     * Pycom's tool does with its built-in blob); one without leaves the
     * modem on it, which is refused unless forced. */
    if (!pk->has_bootrom && !u->part1.has_bootrom && !u->cfg.force) {
      sqn_upd_finish(u, SQN_E_BOOTROM_TOO_OLD,
                     "Bootloader0 is %s and the package has no bootrom record",
                     mi->bootloader);
      return;
    }
    sqn_upd_log(u, SQN_LOG_WARN,
                "factory bootrom %s: %s", mi->bootloader,
                pk->has_bootrom ? "the package's bootrom record refreshes it"
                                : "no bootrom record in the package (forced)");
  }
  if (u->method == SQN_UPDATE_METHOD_STORE && mi->smod != 2) {
    sqn_upd_log(u, SQN_LOG_INFO,
                "the store method needs the application (SMOD 2); modem is in "
                "SMOD %d: using on-the-fly",
                mi->smod);
    u->method = SQN_UPDATE_METHOD_ON_THE_FLY;
  }

  switch (mi->smod) {
  case 2:
    if (u->method == SQN_UPDATE_METHOD_STORE)
      sqn_upd_push(u); /* AT+SMSTPU works from the application */
    else
      sqn_upd_enter_recovery(u);
    break;
  case 0:
    if (!u->cfg.updater_size || !pk->has_fff || pk->has_diff) {
      sqn_upd_finish(u, SQN_E_RECOVERY_NEEDS_UPDATER_AND_FULL_IMAGE,
                     "%s", !u->cfg.updater_size
                               ? "no --updater given"
                               : "the package is not a full image (needs an "
                                 "fff record and no delta)");
      return;
    }
    if (u->elf_loaded) {
      /* The ELF ran once already and the modem fell back to FFH. */
      sqn_upd_finish(u, SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH,
                     "modem back in SMOD 0 after updater.elf was loaded");
      return;
    }
    sqn_upd_set_phase(u, SQN_UPDATE_PHASE_LOAD_UPDATER);
    sqn_upd_cmd(u, SQN_UPDATE_ST_IPR, "AT+IPR=921600", u->t.cmd_ms);
    break;
  default:
    /* 1 (updater ELF running), 3, 4, or -1 ("ERROR to everything", a
     * recovery boot): the recovery chain takes the package as it is. */
    sqn_upd_push(u);
    break;
  }
}

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

static void sqn_upd_parse_ati1(struct sqn_update *u) {
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
}

static void sqn_upd_smod_done(struct sqn_update *u, int smod) {
  char buf[16];
  u->modem.smod = smod;
  snprintf(buf, sizeof buf, "%d", smod);
  sqn_upd_info(u, "smod", buf);
  switch (u->probe_purpose) {
  case SQN_UPD_P_DETECT:
  case SQN_UPD_P_REDETECT:
    if (smod == 2) {
      sqn_upd_cmd(u, SQN_UPDATE_ST_ATI1, "ATI1", u->t.cmd_ms);
    } else if (u->cfg.mode == SQN_UPDATE_MODE_INFO) {
      if (smod == 0)
        sqn_upd_finish(u, 0, "modem in FFH (SMOD 0)");
      else
        sqn_upd_cmd(u, SQN_UPDATE_ST_STATUS, "AT+SMUPGRADE?", u->t.cmd_ms);
    } else {
      sqn_upd_choose(u);
    }
    break;
  case SQN_UPD_P_RECOVERY:
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
    break;
  case SQN_UPD_P_UPDATER:
    if (smod == 0) {
      /* The ELF is still starting: poll again within the bound. */
      if (u->now >= u->phase_deadline) {
        sqn_upd_finish(u, SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH,
                       "updater.elf did not start (SMOD still 0)");
        return;
      }
      sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, u->t.poll_ms);
    } else {
      sqn_upd_push(u);
    }
    break;
  case SQN_UPD_P_COMMIT:
    sqn_upd_cmd(u, SQN_UPDATE_ST_UPG_POLL, "AT+SMUPGRADE?", u->t.cmd_ms);
    break;
  case SQN_UPD_P_FFF_BOOT:
    if (smod == 2) {
      sqn_upd_set_phase(u, SQN_UPDATE_PHASE_VERIFY);
      sqn_upd_cmd(u, SQN_UPDATE_ST_VERIFY_ATI1, "ATI1", u->t.cmd_ms);
    } else {
      sqn_upd_finish(u, SQN_E_VERIFY_MISMATCH,
                     "modem booted SMOD %d instead of FFF (2)", smod);
    }
    break;
  default:
    break;
  }
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

/* A command got its final result. */
static void sqn_upd_on_reply(struct sqn_update *u) {
  enum sqn_at_result r = u->at.result;
  bool ok = r == SQN_AT_RES_OK;

  sqn_upd_log(u, SQN_LOG_DEBUG, "at< %s (%u lines) for %s",
              sqn_at_result_name(r), u->at.n_info, u->last_cmd);
  if (u->at.echo_seen)
    u->modem.echo = true;
  switch (u->state) {
  case SQN_UPDATE_ST_ESC_WAIT:
    if (ok)
      sqn_upd_log(u, SQN_LOG_INFO, "left data mode with +++");
    sqn_upd_probe_send(u);
    break;
  case SQN_UPDATE_ST_PROBE:
    u->modem.alive = true;
    u->modem.baud = u->cur_baud;
    if (!ok && ++u->rounds < 3) {
      /* First AT answered ERROR (+++ leftovers, or sync): ask again. */
      sqn_upd_probe_send(u);
      break;
    }
    sqn_upd_cmd(u, u->probe_purpose == SQN_UPD_P_FFF_BOOT
                       ? SQN_UPDATE_ST_VERIFY_SMOD
                       : SQN_UPDATE_ST_SMOD,
                "AT+SMOD?", u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_SMOD:
  case SQN_UPDATE_ST_VERIFY_SMOD:
    sqn_upd_smod_done(u, ok ? sqn_upd_parse_smod(&u->at) : -1);
    break;
  case SQN_UPDATE_ST_ATI1:
    if (ok)
      sqn_upd_parse_ati1(u);
    if (u->modem.lr[0])
      sqn_upd_info(u, "version", u->modem.lr);
    if (u->modem.ue[0])
      sqn_upd_info(u, "ue", u->modem.ue);
    /* showver names the bootrom (F18); read to its final result like any
     * reply, so nothing in it is taken for the next command's answer. */
    sqn_upd_cmd(u, SQN_UPDATE_ST_SHOWVER, "AT!=\"showver\"", u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_SHOWVER: {
    const char *b = ok ? sqn_at_info(&u->at, "Bootloader0") : NULL;
    if (!b) {
      for (unsigned i = 0; ok && i < u->at.n_info; i++)
        if (strstr(u->at.info[i], "Bootloader0"))
          b = u->at.info[i];
    }
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
    if (u->cfg.mode == SQN_UPDATE_MODE_INFO)
      sqn_upd_cmd(u, SQN_UPDATE_ST_STATUS, "AT+SMUPGRADE?", u->t.cmd_ms);
    else
      sqn_upd_choose(u);
    break;
  }
  case SQN_UPDATE_ST_STATUS:
    if (ok) {
      sqn_upd_status_text(u, u->modem.upgrade_status,
                          sizeof u->modem.upgrade_status);
      sqn_upd_info(u, "upgrade_status", u->modem.upgrade_status);
    }
    sqn_upd_finish(u, 0, "modem information read");
    break;
  case SQN_UPDATE_ST_SWBOOT3:
    if (ok) {
      sqn_upd_after_switch(u, SQN_UPD_P_RECOVERY, 2000);
    } else {
      sqn_upd_log(u, SQN_LOG_WARN, "AT+SMSWBOOT=3,1 refused; trying 3,0 + "
                                   "AT^RESET");
      sqn_upd_wait(u, SQN_UPDATE_ST_SWBOOT3_PAUSE, u->t.swboot_retry_ms);
    }
    break;
  case SQN_UPDATE_ST_SWBOOT30:
    if (ok) {
      u->probe_purpose = SQN_UPD_P_RECOVERY;
      sqn_upd_cmd(u, SQN_UPDATE_ST_RESET, "AT^RESET", u->t.cmd_ms);
    } else if (++u->tries < 2) {
      sqn_upd_enter_recovery(u);
    } else {
      sqn_upd_finish(u, SQN_E_ENTER_UPGRADE_REFUSED,
                     "AT+SMSWBOOT=3,1 and 3,0 answered %s; no STP byte sent",
                     sqn_at_result_name(r));
    }
    break;
  case SQN_UPDATE_ST_RESET:
    if (!ok) {
      sqn_upd_finish(u, u->probe_purpose == SQN_UPD_P_FFF_BOOT
                            ? SQN_E_SELECT_FFF_REFUSED
                            : SQN_E_ENTER_UPGRADE_REFUSED,
                     "AT^RESET answered %s", sqn_at_result_name(r));
      break;
    }
    sqn_upd_after_switch(u, u->probe_purpose,
                         u->probe_purpose == SQN_UPD_P_FFF_BOOT
                             ? u->t.sysstart_ms
                             : 2000);
    break;
  case SQN_UPDATE_ST_IPR:
    if (ok) {
      /* The OK came at the old rate; the modem switches after it. */
      u->alt_baud = SQN_UPD_BAUD_LOW;
      if (!sqn_upd_baud(u, SQN_UPD_BAUD_HIGH))
        break;
    } else {
      sqn_upd_log(u, SQN_LOG_WARN, "AT+IPR refused; staying at %u baud",
                  (unsigned)u->cur_baud);
    }
    sqn_upd_cmd(u, SQN_UPDATE_ST_STP_CMD, "AT+STP", u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_STP_CMD:
    if (!ok) {
      sqn_upd_finish(u, SQN_E_STP_START_REFUSED,
                     "AT+STP answered %s in SMOD %d", sqn_at_result_name(r),
                     u->modem.smod);
      break;
    }
    sqn_upd_start_stp(u, true);
    break;
  case SQN_UPDATE_ST_ATE0:
    sqn_upd_cmd(u, SQN_UPDATE_ST_SMSTPU,
                u->method == SQN_UPDATE_METHOD_STORE ? "AT+SMSTPU"
                                                     : "AT+SMSTPU=\"ON_THE_FLY\"",
                u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_SMSTPU:
    if (!ok) {
      sqn_upd_finish(u, SQN_E_STP_START_REFUSED, "%s answered %s in SMOD %d",
                     u->last_cmd, sqn_at_result_name(r), u->modem.smod);
      break;
    }
    sqn_upd_start_stp(u, false);
    break;
  case SQN_UPDATE_ST_STORE_APPLY:
    if (!ok) {
      sqn_upd_finish(u, SQN_E_UPGRADE_REJECTED,
                     "AT+SMUPGRADE answered %s; the stored package was not "
                     "applied",
                     sqn_at_result_name(r));
      break;
    }
    sqn_upd_store_applying(u);
    break;
  case SQN_UPDATE_ST_UPG_POLL: {
    char st[96];
    if (u->now >= u->phase_deadline) {
      sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "status still not final");
      break;
    }
    sqn_upd_status_text(u, st, sizeof st);
    if (ok && strstr(st, "success") &&
        u->method == SQN_UPDATE_METHOD_STORE) {
      /* The store path's AT+SMUPGRADE already booted the new firmware. */
      sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status,
                   st);
      u->tries = 0;
      u->probe_purpose = SQN_UPD_P_FFF_BOOT;
      sqn_upd_set_phase(u, SQN_UPDATE_PHASE_VERIFY);
      sqn_upd_cmd(u, SQN_UPDATE_ST_VERIFY_ATI1, "ATI1", u->t.cmd_ms);
    } else if (ok && strstr(st, "fail") &&
               u->method == SQN_UPDATE_METHOD_STORE &&
               sqn_upd_integrity_text(st)) {
      sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status,
                   st);
      if (u->crc_retries < 1 && u->push_attempts < SQN_UPD_MAX_PUSHES) {
        /* F23: the copy in the modem's file system went bad; the package
         * itself passed the pre-flight check, so one clean copy is worth
         * sending before reporting. */
        u->crc_retries++;
        sqn_upd_log(u, SQN_LOG_WARN,
                    "%s: modem says \"%s\"; storing a clean copy once more",
                    sqn_err_name(SQN_E_IMAGE_CRC), st);
        sqn_upd_push(u);
        break;
      }
      sqn_upd_finish(u, SQN_E_IMAGE_CRC, "modem says: %s (after %u pushes)",
                     st, (unsigned)u->push_attempts);
    } else if (ok && strstr(st, "success") && u->cur_part == 1) {
      sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status,
                   st);
      sqn_upd_part1_applied(u);
    } else if (ok && strstr(st, "success") && u->pkg.part == 1) {
      char v[40] = "?";
      sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status,
                   st);
      if (u->pkg.fff_version.found)
        sqn_version_format(&u->pkg.fff_version, v, sizeof v);
      /* Forced part 1 alone: no reboot (F20), and not done either. */
      sqn_upd_finish(u, SQN_E_PART2_PENDING,
                     "part 1 of 2 applied: intermediate image LR%s; the "
                     "modem stays in SMOD %d until part 2 is applied",
                     v, u->modem.smod);
    } else if (ok && strstr(st, "success")) {
      snprintf(u->modem.upgrade_status, sizeof u->modem.upgrade_status, "%s",
               st);
      sqn_upd_set_phase(u, SQN_UPDATE_PHASE_REBOOT);
      u->tries = 0;
      sqn_upd_cmd(u, SQN_UPDATE_ST_SWBOOT1, "AT+SMSWBOOT=1,1", u->t.cmd_ms);
    } else if (ok && strstr(st, "fail")) {
      sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status,
                   st);
      sqn_upd_finish(u, SQN_E_UPGRADE_REJECTED, "modem says: %s", st);
    } else if (ok && u->commit_lost && u->modem.smod != 2 &&
               u->push_attempts < SQN_UPD_MAX_PUSHES) {
      /* The modem went away after the push without finishing it (the
       * final RESET was not acked, or it rebooted): the session it saw
       * was interrupted, so the recovery chain wants the package again. */
      sqn_upd_log(u, SQN_LOG_WARN,
                  "modem reports \"%s\" after losing the session; sending "
                  "the package again",
                  st);
      sqn_upd_push(u);
    } else {
      if (ok)
        sqn_upd_copy(u->modem.upgrade_status, sizeof u->modem.upgrade_status,
                     st);
      sqn_upd_wait(u, SQN_UPDATE_ST_UPG_PAUSE, u->t.poll_ms);
    }
    break;
  }
  case SQN_UPDATE_ST_SWBOOT1:
    if (ok) {
      u->selected_fff = true;
      sqn_upd_after_switch(u, SQN_UPD_P_FFF_BOOT, u->t.sysstart_ms);
    } else {
      sqn_upd_log(u, SQN_LOG_WARN,
                  "AT+SMSWBOOT=1,1 refused; trying 1,0 + AT^RESET");
      sqn_upd_wait(u, SQN_UPDATE_ST_SWBOOT1_PAUSE, u->t.swboot_retry_ms);
    }
    break;
  case SQN_UPDATE_ST_SWBOOT10:
    if (!ok) {
      sqn_upd_finish(u, SQN_E_SELECT_FFF_REFUSED,
                     "AT+SMSWBOOT=1,1 and 1,0 answered %s",
                     sqn_at_result_name(r));
      break;
    }
    u->selected_fff = true;
    u->probe_purpose = SQN_UPD_P_FFF_BOOT;
    sqn_upd_cmd(u, SQN_UPDATE_ST_RESET, "AT^RESET", u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_VERIFY_ATI1:
    sqn_upd_verify(u);
    break;
  default:
    break;
  }
}

/* The state timer expired. */
static void sqn_upd_on_timeout(struct sqn_update *u) {
  switch (u->state) {
  case SQN_UPDATE_ST_ESC_GUARD:
    if (u->now < u->last_rx + sqn_upd_ms(u, u->t.guard_ms)) {
      u->deadline = u->last_rx + sqn_upd_ms(u, u->t.guard_ms);
      break;
    }
    sqn_upd_set_state(u, SQN_UPDATE_ST_ESC_WAIT);
    sqn_at_expect(&u->at, NULL);
    if (!sqn_upd_write(u, "+++", 3))
      break;
    /* The modem answers OK after the guard time that follows. */
    u->deadline = u->now + 2 * sqn_upd_ms(u, u->t.guard_ms);
    break;
  case SQN_UPDATE_ST_ESC_WAIT:
    sqn_upd_probe_send(u);
    break;
  case SQN_UPDATE_ST_PROBE:
    sqn_upd_probe_timeout(u);
    break;
  case SQN_UPDATE_ST_REBOOT_WAIT:
    u->probes = 0;
    sqn_upd_probe_send(u);
    break;
  case SQN_UPDATE_ST_SMOD:
  case SQN_UPDATE_ST_VERIFY_SMOD:
  case SQN_UPDATE_ST_ATI1:
  case SQN_UPDATE_ST_SHOWVER:
  case SQN_UPDATE_ST_STATUS:
  case SQN_UPDATE_ST_VERIFY_ATI1:
  case SQN_UPDATE_ST_ATE0:
    /* It answered AT a moment ago: probe again (it may have rebooted). */
    if (u->phase_deadline == SQN_UPDATE_NEVER)
      u->phase_deadline = u->now + sqn_upd_ms(u, u->t.mode_switch_ms);
    if (u->probe_purpose == SQN_UPD_P_DETECT) {
      u->probe_purpose = SQN_UPD_P_REDETECT;
      u->probe_err = SQN_E_MODEM_NOT_DETECTED;
    }
    u->probes = 0;
    sqn_upd_probe_send(u);
    break;
  case SQN_UPDATE_ST_SWBOOT3:
  case SQN_UPDATE_ST_SWBOOT1:
    /* No final result: the modem may have reset without answering. */
    sqn_upd_log(u, SQN_LOG_WARN, "no reply to %s; probing", u->last_cmd);
    u->probe_purpose = u->state == SQN_UPDATE_ST_SWBOOT1 ? SQN_UPD_P_FFF_BOOT
                                                         : SQN_UPD_P_RECOVERY;
    if (u->state == SQN_UPDATE_ST_SWBOOT1)
      u->selected_fff = true;
    u->phase_deadline = u->now + sqn_upd_ms(u, u->probe_purpose ==
                                                       SQN_UPD_P_FFF_BOOT
                                                   ? u->t.boot_ms
                                                   : u->t.mode_switch_ms);
    u->probe_err = sqn_upd_wait_err(u, u->probe_purpose);
    u->progress_at = 0;
    u->probes = 0;
    sqn_upd_probe_send(u);
    break;
  case SQN_UPDATE_ST_SWBOOT3_PAUSE:
    sqn_upd_cmd(u, SQN_UPDATE_ST_SWBOOT30, "AT+SMSWBOOT=3,0", u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_SWBOOT1_PAUSE:
    sqn_upd_cmd(u, SQN_UPDATE_ST_SWBOOT10, "AT+SMSWBOOT=1,0", u->t.cmd_ms);
    break;
  case SQN_UPDATE_ST_SWBOOT30:
  case SQN_UPDATE_ST_SWBOOT10:
  case SQN_UPDATE_ST_RESET:
  case SQN_UPDATE_ST_IPR:
    if (u->state == SQN_UPDATE_ST_IPR) {
      /* Some bootloaders switch without a visible OK: go on at the new
       * rate; AT+STP will tell. */
      u->alt_baud = SQN_UPD_BAUD_LOW;
      if (!sqn_upd_baud(u, SQN_UPD_BAUD_HIGH))
        break;
      sqn_upd_cmd(u, SQN_UPDATE_ST_STP_CMD, "AT+STP", u->t.cmd_ms);
      break;
    }
    if (u->state == SQN_UPDATE_ST_RESET) {
      sqn_upd_after_switch(u, u->probe_purpose, 100);
      break;
    }
    sqn_upd_finish(u, u->state == SQN_UPDATE_ST_SWBOOT10
                          ? SQN_E_SELECT_FFF_REFUSED
                          : SQN_E_ENTER_UPGRADE_REFUSED,
                   "no reply to %s", u->last_cmd);
    break;
  case SQN_UPDATE_ST_STP_CMD:
  case SQN_UPDATE_ST_SMSTPU:
    sqn_upd_finish(u, SQN_E_STP_START_REFUSED, "no reply to %s in SMOD %d",
                   u->last_cmd, u->modem.smod);
    break;
  case SQN_UPDATE_ST_STORE_APPLY:
    /* A modem that starts applying at once may never send the OK. */
    sqn_upd_log(u, SQN_LOG_WARN, "no reply to AT+SMUPGRADE; assuming it is "
                                 "applying");
    sqn_upd_store_applying(u);
    break;
  case SQN_UPDATE_ST_UPG_POLL:
    if (u->now >= u->phase_deadline) {
      sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "no final status");
      break;
    }
    u->commit_lost = true;
    /* Silent while applying or rebooting: probe both rates. */
    u->probes = 0;
    sqn_upd_probe_send(u);
    break;
  case SQN_UPDATE_ST_UPG_PAUSE:
    sqn_upd_wait_progress(u);
    if (u->now >= u->phase_deadline) {
      sqn_upd_finish(u, SQN_E_COMMIT_TIMEOUT, "status still \"%s\"",
                     u->modem.upgrade_status);
      break;
    }
    sqn_upd_cmd(u, SQN_UPDATE_ST_UPG_POLL, "AT+SMUPGRADE?", u->t.cmd_ms);
    break;
  default:
    break;
  }
}

/* ---- URCs ---------------------------------------------------------------- */

static bool sqn_upd_reboot_expected(const struct sqn_update *u) {
  switch (u->state) {
  case SQN_UPDATE_ST_REBOOT_WAIT:
  case SQN_UPDATE_ST_SWBOOT3:
  case SQN_UPDATE_ST_SWBOOT30:
  case SQN_UPDATE_ST_SWBOOT1:
  case SQN_UPDATE_ST_SWBOOT10:
  case SQN_UPDATE_ST_RESET:
  case SQN_UPDATE_ST_UPG_POLL:
  case SQN_UPDATE_ST_UPG_PAUSE:
  case SQN_UPDATE_ST_ESC_GUARD:
  case SQN_UPDATE_ST_ESC_WAIT:
    return true;
  case SQN_UPDATE_ST_PROBE:
    /* Any probing other than the very first contact follows a switch. */
    return u->probe_purpose != SQN_UPD_P_REDETECT;
  default:
    return false;
  }
}

static void sqn_upd_on_urc(void *user, enum sqn_at_urc urc, const char *line) {
  struct sqn_update *u = user;
  if (u->done)
    return;
  sqn_upd_log(u, SQN_LOG_DEBUG, "urc %s", line);
  switch (urc) {
  case SQN_AT_URC_EXIT:
    u->exit_seen = true;
    sqn_upd_log(u, SQN_LOG_WARN, "modem crashed: %s", line);
    break;
  case SQN_AT_URC_SYSSTART:
    if (sqn_upd_reboot_expected(u) && !u->exit_seen) {
      if (u->state == SQN_UPDATE_ST_REBOOT_WAIT) {
        u->probes = 0;
        sqn_upd_probe_send(u);
      }
      break;
    }
    u->exit_seen = false;
    u->reboots++;
    sqn_upd_log(u, SQN_LOG_WARN, "unexpected modem reboot %u in %s",
                (unsigned)u->reboots, sqn_update_state_name(u->state));
    if (u->reboots > u->t.max_reboots) {
      sqn_upd_finish(u, SQN_E_MODEM_UNSTABLE, "%u unexpected reboots",
                     (unsigned)u->reboots);
      break;
    }
    /* The modem forgot what we set up: detect its state again. Waiting
     * states keep their purpose (it will be re-checked with AT+SMOD?). */
    if (u->state == SQN_UPDATE_ST_PROBE || u->state == SQN_UPDATE_ST_UPG_POLL ||
        u->state == SQN_UPDATE_ST_UPG_PAUSE ||
        u->state == SQN_UPDATE_ST_REBOOT_WAIT) {
      u->probes = 0;
      sqn_upd_probe_send(u);
      break;
    }
    u->probe_purpose = u->selected_fff ? SQN_UPD_P_FFF_BOOT
                       : u->pushed     ? SQN_UPD_P_COMMIT
                                       : SQN_UPD_P_REDETECT;
    u->probe_err = sqn_upd_wait_err(u, u->probe_purpose);
    u->phase_deadline = u->now + sqn_upd_ms(u, u->t.mode_switch_ms);
    u->probes = 0;
    sqn_upd_probe_send(u);
    break;
  default:
    break;
  }
}

/* ---- STP glue ------------------------------------------------------------ */

static int sqn_upd_stp_write(void *user, const uint8_t *buf, size_t len) {
  struct sqn_update *u = user;
  int rc = u->cfg.write(u->cfg.user, buf, len);
  if (rc >= 0) {
    u->wrote = true;
    u->stp_sent = true;
  }
  return rc;
}

/* The file being pushed: part 2 once part 1 of two is applied. */
static enum sqn_update_src sqn_upd_src(const struct sqn_update *u) {
  return u->cur_part == 2 ? SQN_UPDATE_SRC_PACKAGE2 : SQN_UPDATE_SRC_PACKAGE;
}

static int sqn_upd_stp_read_pkg(void *user, uint64_t off, uint8_t *buf,
                                size_t len) {
  struct sqn_update *u = user;
  return u->cfg.read_pkg(u->cfg.user, sqn_upd_src(u), off, buf, len);
}

static int sqn_upd_stp_read_elf(void *user, uint64_t off, uint8_t *buf,
                                size_t len) {
  struct sqn_update *u = user;
  return u->cfg.read_pkg(u->cfg.user, SQN_UPDATE_SRC_UPDATER, off, buf, len);
}

static void sqn_upd_stp_progress(void *user, uint64_t done, uint64_t total) {
  struct sqn_update *u = user;
  struct sqn_update_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_PROGRESS;
  ev.done = done;
  ev.total = total;
  ev.updater = u->state == SQN_UPDATE_ST_ELF_PUSH;
  sqn_upd_event(u, &ev);
}

static void sqn_upd_stp_log(void *user, const char *text) {
  sqn_upd_log(user, SQN_LOG_INFO, "%s", text);
}

static void sqn_upd_start_stp(struct sqn_update *u, bool elf) {
  struct sqn_stpm_config c;
  int rc;
  memset(&c, 0, sizeof c);
  c.tx_buf = u->cfg.tx_buf;
  c.tx_cap = u->cfg.tx_cap;
  c.rx_buf = u->cfg.rx_buf;
  c.rx_cap = u->cfg.rx_cap;
  c.total = elf ? u->cfg.updater_size
          : u->cur_part == 2 ? u->cfg.pkg2_size
                             : u->cfg.pkg_size;
  c.ack_ms = (uint32_t)sqn_upd_ms(u, u->t.ack_ms);
  c.final_ms = (uint32_t)sqn_upd_ms(u, u->t.final_reset_ms);
  c.retries = u->t.stp_retries;
  c.write = sqn_upd_stp_write;
  c.read = elf ? sqn_upd_stp_read_elf : sqn_upd_stp_read_pkg;
  c.progress = sqn_upd_stp_progress;
  c.log = sqn_upd_stp_log;
  c.user = u;
  sqn_at_cancel(&u->at);
  sqn_upd_set_state(u, elf ? SQN_UPDATE_ST_ELF_PUSH : SQN_UPDATE_ST_PKG_PUSH);
  if (!elf) {
    u->push_attempts++;
    u->commit_lost = false;
  }
  rc = sqn_stpm_init(&u->stpm, &c);
  if (rc == 0) {
    u->in_stp = true;
    u->stp_crashed = false;
    u->stp_tail_len = 0;
    rc = sqn_stpm_start(&u->stpm, u->now);
  }
  if (rc)
    sqn_upd_finish(u, rc, "cannot start the STP transfer");
}

static void sqn_upd_stp_done(struct sqn_update *u) {
  int rc = u->stpm.result;
  bool elf = u->state == SQN_UPDATE_ST_ELF_PUSH;
  bool crashed = u->stp_crashed;
  u->in_stp = false;
  u->stp_crashed = false;
  u->stp_tail_len = 0;
  sqn_at_reset_line(&u->at);
  if (rc) {
    if (crashed && u->reboots > u->t.max_reboots) {
      sqn_upd_finish(u, SQN_E_MODEM_UNSTABLE, "%u unexpected reboots",
                     (unsigned)u->reboots);
      return;
    }
    if ((crashed || (!elf && rc == SQN_E_STP_PROTOCOL)) &&
        u->push_attempts < SQN_UPD_MAX_PUSHES) {
      /* A crash mid-transfer (S29b) looks like this too: find out where the
       * modem is now and start over from offset 0. */
      sqn_upd_log(u, SQN_LOG_WARN, "transfer failed (%s); re-detecting",
                  sqn_err_name(rc));
      u->probe_purpose = SQN_UPD_P_REDETECT;
      u->probe_err = SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH;
      u->phase_deadline = u->now + sqn_upd_ms(u, u->t.mode_switch_ms);
      u->probes = 0;
      sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, 2000);
      return;
    }
    sqn_upd_finish(u, rc, "%s after %llu of %llu bytes (%u resends)",
                   elf ? "updater.elf" : "package",
                   (unsigned long long)u->stpm.acked,
                   (unsigned long long)u->stpm.cfg.total,
                   (unsigned)u->stpm.resends);
    return;
  }
  if (elf) {
    u->elf_loaded = true;
    sqn_upd_after_switch(u, SQN_UPD_P_UPDATER, 1000);
    /* The ELF may take minutes before it answers (protocol.md 7). */
    u->phase_deadline = u->now + sqn_upd_ms(u, u->t.updater_boot_ms);
    return;
  }
  u->pushed = true;
  u->commit_lost = u->stpm.final_unacked;
  if (u->method == SQN_UPDATE_METHOD_STORE) {
    /* The package sits in the modem's file system; nothing was flashed
     * yet. AT+SMUPGRADE checks and applies it. */
    sqn_upd_set_phase(u, SQN_UPDATE_PHASE_APPLY);
    sqn_upd_cmd(u, SQN_UPDATE_ST_STORE_APPLY, "AT+SMUPGRADE", u->t.cmd_ms);
    return;
  }
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_APPLY);
  sqn_upd_log(u, SQN_LOG_INFO,
              "package sent; waiting for the modem to apply it (up to %llu "
              "s); do not remove power",
              (unsigned long long)(sqn_upd_ms(u, u->t.commit_ms) / 1000u));
  u->probe_purpose = SQN_UPD_P_COMMIT;
  u->probe_err = SQN_E_COMMIT_TIMEOUT;
  u->phase_deadline = u->now + sqn_upd_ms(u, u->t.commit_ms);
  u->progress_at = 0;
  sqn_upd_wait_progress(u);
  sqn_upd_cmd(u, SQN_UPDATE_ST_UPG_POLL, "AT+SMUPGRADE?", u->t.cmd_ms);
}

/* ---- pre-flight ---------------------------------------------------------- */

/* The fff record's part tag (sqnup/pkg.h): "... part N/M" and optionally
 * " from A.B.C.D [BUILD]". Parsed here, not with sqnup_pkg (the updater
 * depends on the codec only). */
static void sqn_upd_part_tag(const char *descr, struct sqn_pkg_info *pk) {
  const char *p = strstr(descr, " part ");
  unsigned n = 0, m = 0;
  if (!p)
    return;
  for (p += 6; *p >= '0' && *p <= '9' && n < 100; p++)
    n = n * 10u + (unsigned)(*p - '0');
  if (*p++ != '/')
    return;
  for (; *p >= '0' && *p <= '9' && m < 100; p++)
    m = m * 10u + (unsigned)(*p - '0');
  if (n == 0 || m < 2 || n > m)
    return;
  pk->part = n;
  pk->parts = m;
  if (strncmp(p, " from ", 6) == 0 &&
      sqn_version_parse(&pk->part_base, p + 6) == 0)
    pk->part_base.found = true;
}

static int sqn_upd_walk_cb(void *user, enum sqn_caba_event ev,
                           const struct sqn_caba_record *rec,
                           const uint8_t *data, size_t len) {
  struct sqn_update *u = user;
  (void)data;
  (void)len;
  if (ev != SQN_CABA_EV_END)
    return 0;
  if (strcmp(rec->magic, "DIFF") == 0)
    u->pkg.has_diff = true;
  if (!rec->has_target)
    return 0;
  switch (rec->target) {
  case SQN_CABA_TARGET_FFF:
    u->pkg.has_fff = true;
    if (rec->image.found && !u->pkg.fff_version.found) {
      u->pkg.fff_version = rec->image;
      u->pkg.family = rec->image.v[0];
    }
    if (!u->pkg.part)
      sqn_upd_part_tag(rec->descr, &u->pkg);
    break;
  case SQN_CABA_TARGET_UPDATER:
    u->pkg.has_updater = true;
    break;
  case SQN_CABA_TARGET_BOOT:
    u->pkg.has_bootrom = true;
    break;
  default:
    break;
  }
  return 0;
}

/* Walk one package file into u->pkg (cleared first). 0 or the error. */
static int sqn_upd_walk_file(struct sqn_update *u, enum sqn_update_src src,
                             uint64_t size, const char *what) {
  uint64_t off = 0;
  int rc;
  memset(&u->pkg, 0, sizeof u->pkg);
  u->pkg.size = size;
  if (size < 128) {
    snprintf(u->detail, sizeof u->detail, "%s is %llu bytes (< 128)", what,
             (unsigned long long)size);
    return SQN_E_IMAGE_TRUNCATED;
  }
  sqn_caba_walker_init(&u->walker, sqn_upd_walk_cb, u);
  while (off < size) {
    size_t n = u->cfg.tx_cap;
    if ((uint64_t)n > size - off)
      n = (size_t)(size - off);
    rc = u->cfg.read_pkg(u->cfg.user, src, off, u->cfg.tx_buf, n);
    if (rc < 0 || (size_t)rc != n) {
      snprintf(u->detail, sizeof u->detail, "%s: read failed at byte %llu",
               what, (unsigned long long)off);
      return SQN_E_IMAGE_NOT_FOUND;
    }
    if (sqn_caba_walker_feed(&u->walker, u->cfg.tx_buf, n) != 0)
      break;
    off += n;
  }
  rc = u->walker.err ? u->walker.err : sqn_caba_walker_finish(&u->walker);
  u->pkg.records = u->walker.records;
  if (rc) {
    snprintf(u->detail, sizeof u->detail,
             "%s%s%s at byte %llu, in record '%s' at offset %llu",
             src == SQN_UPDATE_SRC_PACKAGE2 ? what : "",
             src == SQN_UPDATE_SRC_PACKAGE2 ? ": " : "",
             sqn_caba_strerror(rc), (unsigned long long)u->walker.err_offset,
             u->walker.err_magic[0] ? u->walker.err_magic : "?",
             (unsigned long long)u->walker.err_record);
    return rc == SQN_CABA_E_TRUNCATED ? SQN_E_IMAGE_TRUNCATED
                                      : SQN_E_IMAGE_INVALID;
  }
  return 0;
}

/* Part tags after both walks (faults.md F20). 0 or the error. */
static int sqn_upd_check_parts(struct sqn_update *u) {
  const struct sqn_pkg_info *a = &u->part1, *b = &u->pkg;
  char v[40] = "?", base[40] = "none";
  if (!u->cfg.pkg2_size) {
    if (b->part && b->parts != 2) {
      snprintf(u->detail, sizeof u->detail,
               "package is part %u of %u; only two-part packages are known",
               b->part, b->parts);
      return SQN_E_PARTS_MISMATCH;
    }
    if (b->part == 1 && !u->cfg.force) {
      snprintf(u->detail, sizeof u->detail,
               "package is part 1 of 2; give part 2 after it");
      return SQN_E_PART2_MISSING;
    }
    if (b->part == 1)
      sqn_upd_log(u, SQN_LOG_WARN,
                  "part 1 of 2 alone (forced): the run stops after it, "
                  "without a reboot; apply part 2 in this power session");
    return 0;
  }
  if (a->fff_version.found)
    sqn_version_format(&a->fff_version, v, sizeof v);
  if (b->part_base.found)
    sqn_version_format(&b->part_base, base, sizeof base);
  if (a->part != 1 || a->parts != 2 || b->part != 2 || b->parts != 2) {
    snprintf(u->detail, sizeof u->detail,
             "first package is %s, second is %s; want part 1/2 then part 2/2",
             a->part ? (a->part == 1 ? "part 1" : "part 2") : "not a part",
             b->part ? (b->part == 1 ? "part 1" : "part 2") : "not a part");
    return SQN_E_PARTS_MISMATCH;
  }
  if (!a->fff_version.found || !b->part_base.found ||
      sqn_version_cmp(&a->fff_version, &b->part_base) != 0 ||
      a->family != b->family) {
    snprintf(u->detail, sizeof u->detail,
             "part 1 leaves LR%s (LR%d), part 2 needs LR%s (LR%d)", v,
             a->family, base, b->family);
    return SQN_E_PARTS_MISMATCH;
  }
  return 0;
}

static int sqn_upd_preflight(struct sqn_update *u) {
  uint64_t size = u->cfg.pkg_size;
  int rc;
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_CHECK_FILE);
  rc = sqn_upd_walk_file(u, SQN_UPDATE_SRC_PACKAGE, size,
                         u->cfg.pkg2_size ? "part 1" : "package");
  if (rc)
    return rc;
  if (u->cfg.pkg2_size) {
    u->part1 = u->pkg;
    rc = sqn_upd_walk_file(u, SQN_UPDATE_SRC_PACKAGE2, u->cfg.pkg2_size,
                           "part 2");
    if (rc)
      return rc;
    u->cur_part = 1;
  }
  rc = sqn_upd_check_parts(u);
  if (rc)
    return rc;
  if ((u->pkg.part || u->part1.part) &&
      u->method == SQN_UPDATE_METHOD_STORE) {
    /* The store path boots the new firmware by itself: never between the
     * parts of a two-part package. */
    sqn_upd_log(u, SQN_LOG_INFO,
                "a two-part package goes on-the-fly, through recovery");
    u->method = SQN_UPDATE_METHOD_ON_THE_FLY;
  }
  if (u->cfg.updater_size) {
    uint8_t m[4];
    if (u->cfg.updater_size < 4 ||
        u->cfg.read_pkg(u->cfg.user, SQN_UPDATE_SRC_UPDATER, 0, m, 4) != 4) {
      snprintf(u->detail, sizeof u->detail, "updater file unreadable");
      return SQN_E_UPDATER_INVALID;
    }
    if (memcmp(m, "\x7f" "ELF", 4) != 0) {
      snprintf(u->detail, sizeof u->detail,
               "updater starts with %02x %02x %02x %02x, not 7f 45 4c 46",
               m[0], m[1], m[2], m[3]);
      return SQN_E_UPDATER_INVALID;
    }
  }
  if (u->method == SQN_UPDATE_METHOD_STORE && size > SQN_UPDATE_STORE_MAX) {
    /* S26c: never start a store upload that cannot fit. */
    sqn_upd_log(u, SQN_LOG_WARN,
                "package is %llu bytes, more than the %u the modem can store: "
                "using on-the-fly",
                (unsigned long long)size, SQN_UPDATE_STORE_MAX);
    u->method = SQN_UPDATE_METHOD_ON_THE_FLY;
  }
  {
    char v[40] = "none";
    if (u->pkg.fff_version.found)
      sqn_version_format(&u->pkg.fff_version, v, sizeof v);
    if (u->cfg.pkg2_size) {
      char w[40] = "none";
      if (u->part1.fff_version.found)
        sqn_version_format(&u->part1.fff_version, w, sizeof w);
      sqn_upd_log(u, SQN_LOG_INFO,
                  "part 1 of 2: %llu bytes, %u records, intermediate fff "
                  "version %s, family LR%d",
                  (unsigned long long)u->part1.size,
                  (unsigned)u->part1.records, w, u->part1.family);
    }
    sqn_upd_log(u, SQN_LOG_INFO,
                "%s: %llu bytes, %u records, fff version %s, family LR%d",
                u->cfg.pkg2_size ? "part 2 of 2" : "package",
                (unsigned long long)u->pkg.size, (unsigned)u->pkg.records, v,
                u->pkg.family);
  }
  return 0;
}

/* ---- public API ---------------------------------------------------------- */

int sqn_update_init(struct sqn_update *u, const struct sqn_update_config *cfg) {
  struct sqn_update_timeouts def;
  if (!u || !cfg || !cfg->write || !cfg->tx_buf ||
      cfg->tx_cap < SQN_UPDATE_TX_MIN || !cfg->rx_buf ||
      cfg->rx_cap < SQN_UPDATE_RX_MIN)
    return SQN_E_BAD_ARGUMENTS;
  if (cfg->mode == SQN_UPDATE_MODE_UPGRADE && !cfg->read_pkg)
    return SQN_E_BAD_ARGUMENTS;
  if (cfg->method != SQN_UPDATE_METHOD_ON_THE_FLY &&
      cfg->method != SQN_UPDATE_METHOD_STORE)
    return SQN_E_BAD_ARGUMENTS;
  memset(u, 0, sizeof *u);
  u->cfg = *cfg;
  sqn_update_default_timeouts(&def);
  u->t = cfg->timeouts;
#define SQN_UPD_DEF(f)                                                         \
  if (!u->t.f)                                                                 \
    u->t.f = def.f;
  SQN_UPD_DEF(probe_ms) SQN_UPD_DEF(cmd_ms) SQN_UPD_DEF(guard_ms)
  SQN_UPD_DEF(detect_rounds) SQN_UPD_DEF(swboot_retry_ms)
  SQN_UPD_DEF(mode_switch_ms) SQN_UPD_DEF(ack_ms) SQN_UPD_DEF(stp_retries)
  SQN_UPD_DEF(final_reset_ms) SQN_UPD_DEF(updater_boot_ms)
  SQN_UPD_DEF(commit_ms) SQN_UPD_DEF(boot_ms) SQN_UPD_DEF(sysstart_ms)
  SQN_UPD_DEF(poll_ms) SQN_UPD_DEF(max_reboots)
#undef SQN_UPD_DEF
  u->state = SQN_UPDATE_ST_IDLE;
  u->phase = SQN_UPDATE_PHASE_IDLE;
  u->deadline = SQN_UPDATE_NEVER;
  u->phase_deadline = SQN_UPDATE_NEVER;
  u->modem.smod = -1;
  u->method = cfg->method;
  u->cur_baud = cfg->baud ? cfg->baud : SQN_UPD_BAUD_HIGH;
  u->alt_baud =
      u->cur_baud == SQN_UPD_BAUD_LOW ? SQN_UPD_BAUD_HIGH : SQN_UPD_BAUD_LOW;
  sqn_at_init(&u->at, sqn_upd_on_urc, u);
  return 0;
}

int sqn_update_start(struct sqn_update *u, uint64_t now_ms) {
  int rc;
  if (u->state != SQN_UPDATE_ST_IDLE || u->done)
    return SQN_E_STATE;
  u->now = now_ms;
  u->last_rx = now_ms;
  if (u->cfg.mode == SQN_UPDATE_MODE_UPGRADE) {
    rc = sqn_upd_preflight(u);
    if (rc) {
      sqn_upd_finish(u, rc, NULL);
      return rc;
    }
  }
  sqn_upd_set_phase(u, u->cfg.mode == SQN_UPDATE_MODE_INFO
                           ? SQN_UPDATE_PHASE_INFO
                           : SQN_UPDATE_PHASE_DETECT);
  if (!sqn_upd_baud(u, u->cur_baud))
    return u->result;
  sqn_upd_probe(u, SQN_UPD_P_DETECT, SQN_E_MODEM_NOT_DETECTED, 0);
  return u->done ? u->result : 0;
}

/*
 * A modem that crashes mid-transfer prints "^EXIT: ..." and later
 * "+SYSSTART" into what we parse as STP. Only acks flow this way, so
 * scanning the few response bytes costs nothing; a short tail carries a
 * marker split across reads.
 */
static bool sqn_upd_stp_marker(struct sqn_update *u, const uint8_t *buf,
                               size_t len) {
  static const char *const marks[] = {"^EXIT", "+SYSSTART", "+SHUTDOWN"};
  uint8_t win[sizeof u->stp_tail + 64];
  size_t off = 0;
  bool hit = false;
  while (off < len && !hit) {
    size_t n = len - off < 64 ? len - off : 64;
    size_t w = u->stp_tail_len;
    memcpy(win, u->stp_tail, w);
    memcpy(win + w, buf + off, n);
    w += n;
    for (size_t m = 0; m < sizeof marks / sizeof marks[0] && !hit; m++) {
      size_t ml = strlen(marks[m]);
      for (size_t i = 0; i + ml <= w; i++)
        if (win[i] == (uint8_t)marks[m][0] && memcmp(win + i, marks[m], ml) == 0) {
          hit = true;
          break;
        }
    }
    {
      size_t keep = w < sizeof u->stp_tail ? w : sizeof u->stp_tail;
      memcpy(u->stp_tail, win + w - keep, keep);
      u->stp_tail_len = (uint8_t)keep;
    }
    off += n;
  }
  return hit;
}

/*
 * A modem stuck in data mode (F09) swallows AT and +++ but still talks PPP:
 * frames delimited by 0x7E flags. Two flags while first probing are enough
 * evidence to report E_DATA_MODE_STUCK rather than "not detected" when the
 * bounded probing ends; both advise a power cycle, only this one says why.
 */
static void sqn_upd_ppp_scan(struct sqn_update *u, const uint8_t *buf,
                             size_t len) {
  for (size_t i = 0; i < len; i++)
    if (buf[i] == 0x7e && ++u->ppp_flags >= 2) {
      u->noise = true;
      sqn_upd_log(u, SQN_LOG_WARN,
                  "PPP frames on the line: the modem is in data mode");
      return;
    }
}

static void sqn_upd_check_stp(struct sqn_update *u) {
  if (u->in_stp && sqn_stpm_done(&u->stpm))
    sqn_upd_stp_done(u);
}

void sqn_update_feed(struct sqn_update *u, uint64_t now_ms, const uint8_t *buf,
                     size_t len) {
  u->now = now_ms;
  u->last_rx = now_ms;
  while (len > 0 && !u->done) {
    size_t n;
    if (u->in_stp) {
      if (sqn_upd_stp_marker(u, buf, len)) {
        u->stp_crashed = true;
        u->reboots++;
        sqn_upd_log(u, SQN_LOG_WARN,
                    "modem rebooted during the transfer (reboot %u)",
                    (unsigned)u->reboots);
        sqn_stpm_forget(&u->stpm, SQN_E_STP_PROTOCOL);
        sqn_upd_check_stp(u);
        return;
      }
      sqn_stpm_feed(&u->stpm, now_ms, buf, len);
      sqn_upd_check_stp(u);
      return; /* bytes after the final RESET ack are AT noise: dropped */
    }
    if (u->probe_purpose == SQN_UPD_P_DETECT && !u->noise &&
        (u->state == SQN_UPDATE_ST_PROBE ||
         u->state == SQN_UPDATE_ST_ESC_GUARD ||
         u->state == SQN_UPDATE_ST_ESC_WAIT))
      sqn_upd_ppp_scan(u, buf, len);
    {
      uint32_t lines = u->at.lines;
      n = sqn_at_feed(&u->at, buf, len);
      if (u->state == SQN_UPDATE_ST_PROBE && u->at.lines != lines &&
          !sqn_at_done(&u->at))
        u->noise = true;
    }
    buf += n;
    len -= n;
    if (sqn_at_done(&u->at) && !u->at.pending) {
      sqn_upd_on_reply(u);
      /* Consumed: unless on_reply sent a new command, forget the result. */
      if (!u->at.pending)
        u->at.result = SQN_AT_RES_NONE;
    }
  }
}

void sqn_update_tick(struct sqn_update *u, uint64_t now_ms) {
  u->now = now_ms;
  if (u->done)
    return;
  if (u->in_stp) {
    sqn_stpm_tick(&u->stpm, now_ms);
    sqn_upd_check_stp(u);
    return;
  }
  if (now_ms >= u->deadline)
    sqn_upd_on_timeout(u);
}

uint64_t sqn_update_next_deadline(const struct sqn_update *u) {
  if (u->done)
    return SQN_UPDATE_NEVER;
  if (u->in_stp)
    return sqn_stpm_next_deadline(&u->stpm);
  return u->deadline;
}

void sqn_update_abort(struct sqn_update *u, uint64_t now_ms) {
  u->now = now_ms;
  sqn_upd_finish(u, SQN_E_ABORTED, NULL);
}

bool sqn_update_done(const struct sqn_update *u) { return u->done; }

int sqn_update_result(const struct sqn_update *u) { return u->result; }

bool sqn_update_power_safe(const struct sqn_update *u) {
  if (u->done)
    return sqn_err_power_safe(u->result);
  switch (u->phase) {
  case SQN_UPDATE_PHASE_TRANSFER:
    return !u->stp_sent || u->state != SQN_UPDATE_ST_PKG_PUSH;
  case SQN_UPDATE_PHASE_APPLY:
  case SQN_UPDATE_PHASE_REBOOT:
    return false;
  default:
    return true;
  }
}

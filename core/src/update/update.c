/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The upgrade procedure (see sqnup/update.h for the API and the path graph).
 *
 * One state variable; its rows (command, bound, what OK / ERROR / silence
 * lead to) are the step table in steps.c, the package and compatibility
 * checks are in preflight.c. This file holds the public API, narration
 * (one set_state() that says "old -> new"), port I/O, probing, URCs and
 * the STP glue. AT exchanges go through the AT client (replies end at
 * their final result), transfers through the STP master.
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
 * leads to and which error ends it are in probe_purpose / probe_err, set
 * by sqn_upd_arm(), and its overall bound is phase_deadline. Probing
 * alternates between the two rates because the modem's rate depends on the
 * mode and profile (monarch1 FFF/RECOVERY 921600, FFH 115200; gm02s 115200
 * everywhere).
 */
#include "update_int.h"
#include "sqnup/stp.h"

#include <stdarg.h>
#include <string.h>

#include "../sqn_libc.h"

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
void sqn_upd_copy(char *dst, size_t cap, const char *src) {
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

void sqn_upd_log(struct sqn_update *u, enum sqn_log_level lvl,
                        const char *fmt, ...) {
  char buf[SQN_UPD_TEXT_MAX];
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

void sqn_upd_info(struct sqn_update *u, const char *key,
                         const char *val) {
  char buf[SQN_UPD_TEXT_MAX];
  struct sqn_update_event ev;
  snprintf(buf, sizeof buf, "%s=%s", key, val);
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_INFO;
  ev.text = buf;
  sqn_upd_event(u, &ev);
}

void sqn_upd_set_phase(struct sqn_update *u, enum sqn_update_phase p) {
  struct sqn_update_event ev;
  if (u->phase == p)
    return;
  u->phase = p;
  memset(&ev, 0, sizeof ev);
  ev.kind = SQN_UPDATE_EV_PHASE;
  ev.text = sqn_update_phase_text(p);
  sqn_upd_event(u, &ev);
}

void sqn_upd_set_state(struct sqn_update *u, enum sqn_update_state s) {
  enum sqn_update_state old = u->state;
  u->state = s;
  sqn_upd_log(u, SQN_LOG_DEBUG, "state %s %s %s", sqn_update_state_name(old),
              sqn_upd_arrow, sqn_update_state_name(s));
}

uint64_t sqn_upd_ms(const struct sqn_update *u, uint32_t base) {
  double s = u->cfg.timeout_scale > 0 ? u->cfg.timeout_scale : 1.0;
  double v = (double)base * s;
  if (base == 0)
    return 0; /* no wait, at any scale (SQN_UPD_REBOOT_POLL_MS) */
  if (v < 1.0)
    return 1; /* a scaled bound never rounds down to none */
  return (uint64_t)(v + 0.5);
}

void sqn_upd_finish(struct sqn_update *u, int err, const char *fmt,
                           ...) {
  struct sqn_update_event ev;
  /* Never cut: the longest name + explanation + detail + advice fits. */
  char text[SQN_UPD_TEXT_MAX];
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

bool sqn_upd_write(struct sqn_update *u, const void *buf, size_t len) {
  int rc = u->cfg.write(u->cfg.user, buf, len);
  if (rc < 0 || (size_t)rc != len) {
    sqn_upd_finish(u, SQN_E_IO, "write to the port failed");
    return false;
  }
  u->wrote = true;
  return true;
}

/* Send an AT command and wait for its final result for `timeout_ms`. */
void sqn_upd_cmd(struct sqn_update *u, enum sqn_update_state s,
                        const char *cmd, uint32_t timeout_ms) {
  char line[SQN_AT_LINE_MAX + 3];
  size_t n = strlen(cmd);
  sqn_upd_set_state(u, s);
  sqn_upd_copy(u->last_cmd, sizeof u->last_cmd, cmd);
  u->stale = 0;
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

void sqn_upd_wait(struct sqn_update *u, enum sqn_update_state s,
                         uint32_t ms) {
  sqn_upd_set_state(u, s);
  sqn_at_cancel(&u->at);
  u->deadline = u->now + sqn_upd_ms(u, ms);
}

bool sqn_upd_baud(struct sqn_update *u, uint32_t baud) {
  u->cur_baud = baud;
  sqn_at_reset_line(&u->at);
  int rc = u->cfg.set_baud ? u->cfg.set_baud(u->cfg.user, baud) : 0;
  if (rc < 0) {
    /* A busy port is its own error (nothing was sent); anything else is
     * the port's. */
    sqn_upd_finish(u, rc == SQN_E_PORT_BUSY ? rc : SQN_E_PORT,
                   "cannot set the port to %u baud",
                   (unsigned)baud);
    return false;
  }
  sqn_upd_log(u, SQN_LOG_DEBUG, "port at %u baud", (unsigned)baud);
  return true;
}

/* ---- probing ------------------------------------------------------------- */

void sqn_upd_probe_send(struct sqn_update *u) {
  sqn_upd_go(u, SQN_UPDATE_ST_PROBE);
}

void sqn_upd_escape(struct sqn_update *u) {
  /* +++ needs >= 1 s of silence on both sides (guard time). */
  sqn_upd_set_state(u, SQN_UPDATE_ST_ESC_GUARD);
  sqn_at_cancel(&u->at);
  u->deadline = (u->last_rx > u->now ? u->last_rx : u->now) +
                sqn_upd_ms(u, u->t.guard_ms);
}

/* Arm a "wait until the modem answers" loop: what PROBE leads to, the error
 * that ends it, and its bound as a whole (0: unbounded, first contact,
 * which counts rounds instead). The only place that arms a probe. */
void sqn_upd_arm(struct sqn_update *u, int purpose, int err,
                 uint32_t bound_ms) {
  u->probe_purpose = purpose;
  u->probe_err = err;
  u->probes = 0;
  u->phase_deadline = bound_ms ? u->now + sqn_upd_ms(u, bound_ms)
                               : SQN_UPDATE_NEVER;
}

void sqn_upd_wait_progress(struct sqn_update *u) {
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

/* The STP RESET sequence for a modem stranded in STP slave mode: RESET
 * ends an open session (the slave leaves STP); with no session open it is
 * acked and OPEN + RESET open and end one. Sent without waiting for acks
 * (the replies are dropped as line noise); a modem in AT mode sees one
 * garbage line. Then probing resumes after a short pause. */
static void sqn_upd_stp_rescue(struct sqn_update *u) {
  uint8_t f[48];
  size_t n = sqn_stp_encode(f, sizeof f, SQN_STP_MAGIC_REQ, SQN_STP_OP_RESET,
                            0, 0, NULL, 0, 0);
  n += sqn_stp_encode(f + n, sizeof f - n, SQN_STP_MAGIC_REQ, SQN_STP_OP_OPEN,
                      1, 1, NULL, 0, 0);
  n += sqn_stp_encode(f + n, sizeof f - n, SQN_STP_MAGIC_REQ,
                      SQN_STP_OP_RESET, 0, 0, NULL, 0, 0);
  sqn_upd_log(u, SQN_LOG_WARN,
              "no answer at %u or %u baud: sending the STP RESET sequence at "
              "%u baud in case an interrupted transfer left the modem in STP",
              (unsigned)u->alt_baud, (unsigned)u->cur_baud,
              (unsigned)u->cur_baud);
  sqn_at_cancel(&u->at);
  /* First complete a frame the killed master may have left half-sent (a
   * BLOCK waits for up to 8192 bytes): NUL filler, which the slave then
   * drops (bad CRC) and an AT parser ignores. tx_buf is free while
   * detecting. */
  memset(u->cfg.tx_buf, 0, u->cfg.tx_cap);
  for (size_t left = SQN_UPDATE_TX_GOOD + 16; left > 0;) {
    size_t k = left < u->cfg.tx_cap ? left : u->cfg.tx_cap;
    if (!sqn_upd_write(u, u->cfg.tx_buf, k))
      return;
    left -= k;
  }
  if (!sqn_upd_write(u, f, n))
    return;
  sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, u->t.probe_ms);
}

void sqn_upd_probe_timeout(struct sqn_update *u) {
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
    /* First contact: AT went unanswered, so the modem may be in data mode
     * (or mid-PPP): escape with +++ and its guard times, then ask again.
     * An answering modem never pays the guard times. */
    if (u->probe_purpose == SQN_UPD_P_DETECT)
      sqn_upd_escape(u);
    else
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
  /* A first round without any answer at either rate: the modem may be an
   * STP slave left by a killed updater (protocol.md 4: it ignores AT until
   * a RESET ends its session). Rescue it once at each rate, then probe. */
  if (u->probe_purpose == SQN_UPD_P_DETECT && !u->noise &&
      (u->attempts == 2 || u->attempts == 3)) {
    sqn_upd_stp_rescue(u);
    return;
  }
  /* At each rate of every round: AT first, the data-mode escape after a
   * silent AT (a modem still booting in the first round may be in data
   * mode by the next). */
  sqn_upd_probe_send(u);
}

/* The error that ends a "wait until the modem answers" of `purpose`. The
 * first boot of a freshly written image may be a long silent flash commit
 * (F11): running out of time then is a commit timeout (do not cut power),
 * not a failed mode switch (power-cycle). */
int sqn_upd_wait_err(const struct sqn_update *u, int purpose) {
  if (purpose == SQN_UPD_P_COMMIT ||
      (purpose == SQN_UPD_P_FFF_BOOT && u->pushed))
    return SQN_E_COMMIT_TIMEOUT;
  return SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH;
}

/* The modem was told to reboot: wait, then probe within the bound of the
 * purpose (mode switch, FFF boot). */
void sqn_upd_after_switch(struct sqn_update *u, int purpose,
                                 uint32_t wait_ms) {
  sqn_upd_wait(u, SQN_UPDATE_ST_REBOOT_WAIT, wait_ms);
  sqn_upd_arm(u, purpose, sqn_upd_wait_err(u, purpose),
              purpose == SQN_UPD_P_FFF_BOOT ? u->t.boot_ms
                                            : u->t.mode_switch_ms);
  u->progress_at = 0;
}

/* ---- decisions ----------------------------------------------------------- */
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

/* Every information line reaches the log as it arrives, whole, also the
 * ones the client's info array does not keep (a long showver). */
static void sqn_upd_on_line(void *user, const char *line, bool pending) {
  struct sqn_update *u = user;
  if (u->done)
    return;
  sqn_upd_log(u, SQN_LOG_DEBUG, pending ? "at< %s" : "at< %s (no command "
              "pending: a late reply or noise)", line);
}

static void sqn_upd_on_urc(void *user, enum sqn_at_urc urc, const char *line) {
  struct sqn_update *u = user;
  if (u->done)
    return;
  sqn_upd_log(u, SQN_LOG_DEBUG, "urc %s", line);
  switch (urc) {
  case SQN_AT_URC_SHUTDOWN:
    /* The old firmware is going down: the reboot wait need not sit out its
     * whole pause; probe from now (each probe and the wait as a whole stay
     * bounded). */
    if (u->state == SQN_UPDATE_ST_REBOOT_WAIT &&
        u->deadline > u->now + sqn_upd_ms(u, SQN_UPD_REBOOT_POLL_MS))
      u->deadline = u->now + sqn_upd_ms(u, SQN_UPD_REBOOT_POLL_MS);
    break;
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
    {
      int p = u->selected_fff ? SQN_UPD_P_FFF_BOOT
              : u->pushed     ? SQN_UPD_P_COMMIT
                              : SQN_UPD_P_REDETECT;
      sqn_upd_arm(u, p, sqn_upd_wait_err(u, p), u->t.mode_switch_ms);
    }
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

void sqn_upd_start_stp(struct sqn_update *u, bool elf) {
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
      sqn_upd_arm(u, SQN_UPD_P_REDETECT, SQN_E_NO_RESPONSE_AFTER_MODE_SWITCH,
                  u->t.mode_switch_ms);
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
    sqn_upd_go(u, SQN_UPDATE_ST_STORE_APPLY);
    return;
  }
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_APPLY);
  sqn_upd_log(u, SQN_LOG_INFO,
              "package sent; waiting for the modem to apply it (up to %llu "
              "s); do not remove power",
              (unsigned long long)(sqn_upd_ms(u, u->t.commit_ms) / 1000u));
  sqn_upd_arm(u, SQN_UPD_P_COMMIT, SQN_E_COMMIT_TIMEOUT, u->t.commit_ms);
  u->progress_at = 0;
  sqn_upd_wait_progress(u);
  sqn_upd_go(u, SQN_UPDATE_ST_UPG_POLL);
}

/* ---- pre-flight ---------------------------------------------------------- */

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
  sqn_at_on_line(&u->at, sqn_upd_on_line);
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
  sqn_upd_arm(u, SQN_UPD_P_DETECT, SQN_E_MODEM_NOT_DETECTED, 0);
  sqn_upd_probe_send(u);
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
    if (sqn_at_done(&u->at) && !u->at.pending && !sqn_upd_reply_stale(u)) {
      uint32_t sent = u->tx_at_lines;
      sqn_upd_on_reply(u);
      /* Consumed: unless on_reply sent a new command, forget the result. */
      if (!u->at.pending)
        u->at.result = SQN_AT_RES_NONE;
      /* The rest of this read arrived before the command on_reply just
       * sent, so none of it can answer that command: drop it, or a burst
       * of late replies ("ERROR OK ERROR") answers the next commands. */
      if (u->tx_at_lines != sent && len > 0 && !u->in_stp && !u->done) {
        sqn_upd_log(u, SQN_LOG_DEBUG,
                    "dropped %u bytes read before '%s' was sent",
                    (unsigned)len, u->last_cmd);
        return;
      }
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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Narrated transcripts.
 *
 * Overview: both sides of a run report to one narrator, in time order:
 *
 *   sim trace (AT lines, STP frames, modes, faults) ──┐
 *   updater events (phases, log lines, result) ───────┼─► lines "[  t s] ..."
 *   harness (story, host process output, checks) ─────┘
 *
 * STP request/response frames whose op is BLOCK_CMD (2) or BLOCK (3) are
 * not printed one by one: they accumulate in a "run" that any other line
 * flushes first, as "Host → STP BLOCK_CMD/BLOCK × N (B bytes), M acked".
 * The op is read from the raw frame header (byte 4) when the trace carries
 * it, else guessed from the trace text.
 */
#include "narrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void harness_narrator_init(struct harness_narrator *n) {
  memset(n, 0, sizeof(*n));
  snprintf(n->host, sizeof(n->host), "Host");
}

void harness_narrator_free(struct harness_narrator *n) {
  free(n->text);
  memset(n, 0, sizeof(*n));
}

void harness_narrator_set_host(struct harness_narrator *n, const char *host) {
  snprintf(n->host, sizeof(n->host), "%s", host);
}

static void harness_narrator_append(struct harness_narrator *n,
                                    const char *s, size_t len) {
  if (n->oom)
    return;
  if (n->len + len + 1 > n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 4096;
    while (cap < n->len + len + 1)
      cap *= 2;
    char *t = realloc(n->text, cap);
    if (!t) {
      n->oom = true;
      return;
    }
    n->text = t;
    n->cap = cap;
  }
  memcpy(n->text + n->len, s, len);
  n->len += len;
  n->text[n->len] = '\0';
}

static void harness_narrate_mline(struct harness_narrator *n, uint64_t t_us,
                                  char mark, const char *msg) {
  char stamp[32];
  int k = snprintf(stamp, sizeof(stamp), "[%9.3fs] ", (double)t_us / 1e6);
  if (mark)
    harness_narrator_append(n, &mark, 1);
  harness_narrator_append(n, stamp, (size_t)k);
  harness_narrator_append(n, msg, strlen(msg));
  harness_narrator_append(n, "\n", 1);
}

static void harness_narrate_line(struct harness_narrator *n, uint64_t t_us,
                                 const char *msg) {
  harness_narrate_mline(n, t_us, 0, msg);
}

void harness_narrate_flush(struct harness_narrator *n) {
  if (!n->run_cmds && !n->run_blocks && !n->run_acks)
    return;
  char msg[256];
  snprintf(msg, sizeof(msg),
           "%s → STP BLOCK_CMD/BLOCK × %u (%llu bytes); modem acked %u "
           "frame%s%s",
           n->host, n->run_blocks ? n->run_blocks : n->run_cmds,
           (unsigned long long)n->run_bytes, n->run_acks,
           n->run_acks == 1 ? "" : "s",
           n->run_bad ? " (some responses altered by faults)" : "");
  if (n->unpaced && !n->unpaced_said) {
    size_t l = strlen(msg);
    snprintf(msg + l, sizeof(msg) - l,
             " — the line is not paced here: transfers take no virtual time");
    n->unpaced_said = true;
  }
  uint64_t t = n->run_t_us;
  n->run_cmds = n->run_blocks = n->run_acks = n->run_bad = 0;
  n->run_bytes = 0;
  harness_narrate_line(n, t, msg);
}

void harness_narrate(struct harness_narrator *n, uint64_t t_us,
                     const char *fmt, ...) {
  harness_narrate_flush(n);
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  harness_narrate_line(n, t_us, msg);
}

static void harness_narrate_vmark(struct harness_narrator *n, uint64_t t_us,
                                  char mark, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void harness_narrate_vmark(struct harness_narrator *n, uint64_t t_us,
                                  char mark, const char *fmt, va_list ap) {
  harness_narrate_flush(n);
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  harness_narrate_mline(n, t_us, mark, msg);
}

void harness_narrate_detail(struct harness_narrator *n, uint64_t t_us,
                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_narrate_vmark(n, t_us, HARNESS_NARR_DETAIL, fmt, ap);
  va_end(ap);
}

void harness_narrate_compact(struct harness_narrator *n, uint64_t t_us,
                             const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  harness_narrate_vmark(n, t_us, HARNESS_NARR_COMPACT, fmt, ap);
  va_end(ap);
}

void harness_narrate_host_says(struct harness_narrator *n, uint64_t t_us,
                               const char *text) {
  bool echo = false;
  for (unsigned i = 0; i < n->recent_count && !echo; i++)
    echo = strcmp(n->recent[i], text) == 0;
  if (echo)
    harness_narrate_detail(n, t_us, "%s says: %s", n->host, text);
  else
    harness_narrate(n, t_us, "%s says: %s", n->host, text);
}

void harness_narrator_demote(struct harness_narrator *n, size_t from) {
  harness_narrate_flush(n);
  if (n->oom || from >= n->len)
    return;
  size_t tail_len = n->len - from;
  char *tail = malloc(tail_len + 1);
  if (!tail)
    return;
  memcpy(tail, n->text + from, tail_len);
  tail[tail_len] = '\0';
  n->len = from;
  n->text[n->len] = '\0';
  char *p = tail;
  while (*p) {
    char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    if (*p == HARNESS_NARR_COMPACT) {
      /* a recap inside a demoted block: drop it, its detail is shown */
    } else {
      char mark = HARNESS_NARR_DETAIL;
      if (*p == HARNESS_NARR_DETAIL)
        p++, len--;
      harness_narrator_append(n, &mark, 1);
      harness_narrator_append(n, p, len);
    }
    p += len;
  }
  free(tail);
}

void harness_narrator_print(const struct harness_narrator *n, FILE *f,
                            bool full) {
  const char *p = n->text;
  if (!p) {
    fputs("(no transcript)\n", f);
    return;
  }
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    bool show = true;
    const char *q = p;
    size_t ql = len;
    if (*p == HARNESS_NARR_DETAIL || *p == HARNESS_NARR_COMPACT) {
      show = (*p == HARNESS_NARR_DETAIL) == full;
      q++, ql--;
    }
    if (show)
      fwrite(q, 1, ql, f);
    p += len;
  }
}

void harness_narrator_set_versions(struct harness_narrator *n,
                                   const char *pkg, const char *old) {
  snprintf(n->pkg_version, sizeof(n->pkg_version), "%s", pkg ? pkg : "");
  snprintf(n->old_version, sizeof(n->old_version), "%s", old ? old : "");
}

/* " (the package's version; ...)" for a version the modem reports. */
static void harness_version_label(const struct harness_narrator *n,
                                  const char *body, char *out, size_t cap) {
  out[0] = '\0';
  const char *v = body;
  if (!strncmp(v, "version=", 8))
    v += 8;
  if (!strncmp(v, "LR", 2) && v[2] >= '0' && v[2] <= '9')
    v += 2;
  else
    return;
  if (n->pkg_version[0] && !strcmp(v, n->pkg_version)) {
    if (n->old_version[0] && strcmp(n->old_version, n->pkg_version))
      snprintf(out, cap, " (the package's version; the modem had %s)",
               n->old_version);
    else
      snprintf(out, cap, " (the package's version)");
  } else if (n->old_version[0] && !strcmp(v, n->old_version)) {
    snprintf(out, cap, " (the modem's old version; the package is %s)",
             n->pkg_version);
  } else if (n->pkg_version[0]) {
    snprintf(out, cap, " (neither the package's %s nor the old %s)",
             n->pkg_version, n->old_version);
  }
}

/* Printable copy of a trace text or raw bytes: control bytes as \xNN. */
static void harness_printable(const char *text, const uint8_t *raw,
                              size_t raw_len, char *out, size_t cap) {
  size_t o = 0;
  const uint8_t *p = text ? (const uint8_t *)text : raw;
  size_t len = text ? strlen(text) : (raw ? raw_len : 0);
  for (size_t i = 0; i < len && o + 5 < cap; i++) {
    uint8_t c = p[i];
    if (c >= 0x20 && c < 0x7f) {
      out[o++] = (char)c;
    } else if (c == '\r' || c == '\n') {
      continue;
    } else {
      o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
    }
  }
  if (len > 0 && o + 5 >= cap && cap > 4)
    memcpy(out + cap - 4, "...", 3), o = cap - 1;
  out[o < cap ? o : cap - 1] = '\0';
}

/* STP op of a traced frame (its typed header), or -1. */
static int harness_frame_op(const struct sim_trace_event *ev) {
  return ev->ev.type == SIM_EVENT_STP_FRAME ? ev->ev.op : -1;
}

static uint32_t harness_frame_plen(const struct sim_trace_event *ev) {
  return ev->ev.type == SIM_EVENT_STP_FRAME ? ev->ev.plen : 0;
}

static void harness_narrate_at_rx(struct harness_narrator *n,
                                  const struct sim_trace_event *ev,
                                  const char *body) {
  n->recent_count = 0;
  n->after_escape = false;
  if (!strncmp(body, "+++", 3)) {
    /* The escape and the next command reach the modem's line parser
     * together when it was not in data mode: tell them apart. */
    harness_narrate(n, ev->t_us,
                    "%s → +++ (escape from data mode, between guard times "
                    "of silence)", n->host);
    if (body[3]) {
      harness_narrate(n, ev->t_us, "%s → %s", n->host, body + 3);
      n->after_escape = true;
    }
    return;
  }
  harness_narrate(n, ev->t_us, "%s → %s", n->host, body);
  n->cmd_end = n->len;
  n->cmd_t_us = ev->t_us;
  n->cmd_answered = false;
}

static void harness_narrate_at_tx(struct harness_narrator *n,
                                  const struct sim_trace_event *ev,
                                  const char *body) {
  if (n->recent_count < 8)
    snprintf(n->recent[n->recent_count++], sizeof(n->recent[0]), "%.95s",
             body);
  char label[160];
  harness_version_label(n, body, label, sizeof(label));
  if (n->after_escape && !strcmp(body, "ERROR"))
    snprintf(label, sizeof(label),
             " (the modem was not in data mode: the +++ prefixed the AT, "
             "hence ERROR; %s treats it as sync)", n->host);
  n->after_escape = false;
  bool pending = n->run_cmds || n->run_blocks || n->run_acks;
  if (!pending && !n->oom && n->cmd_end && n->cmd_end == n->len &&
      ev->t_us - n->cmd_t_us < 500000u) {
    /* A prompt answer joins its command's line:
     * "Host → ATI1 ⇒ UE5.0.0.0c, LR5.1.1.0-38638, OK". */
    n->len--; /* the newline */
    char add[700];
    int k = snprintf(add, sizeof(add), "%s%s%s\n",
                     n->cmd_answered ? ", " : " ⇒ ", body, label);
    harness_narrator_append(n, add, (size_t)k);
    n->cmd_end = n->len;
    n->cmd_answered = true;
    return;
  }
  n->cmd_end = 0;
  harness_narrate(n, ev->t_us, "Modem → %s%s", body, label);
}

static void harness_narrate_stp_rx(struct harness_narrator *n,
                                   const struct sim_trace_event *ev,
                                   const char *body) {
  n->stp_frames_rx++;
  int op = harness_frame_op(ev);
  if (op == 2 || op == 3) {
    if (!n->run_cmds && !n->run_blocks && !n->run_acks)
      n->run_t_us = ev->t_us;
    if (op == 2)
      n->run_cmds++;
    else {
      n->run_blocks++;
      n->run_bytes += harness_frame_plen(ev);
    }
    return;
  }
  harness_narrate_detail(n, ev->t_us, "%s → STP %s", n->host, body);
}

static void harness_narrate_stp_tx(struct harness_narrator *n,
                                   const struct sim_trace_event *ev,
                                   const char *body) {
  int op = harness_frame_op(ev);
  bool in_run = n->run_cmds || n->run_blocks;
  if (in_run && op >= 0 && ((op & 0x7f) == 2 || (op & 0x7f) == 3)) {
    n->run_acks++;
    if ((op & 0x80) == 0)
      n->run_bad++;
    return;
  }
  harness_narrate_detail(n, ev->t_us, "Modem → STP %s", body);
}

void harness_narrate_sim(struct harness_narrator *n,
                         const struct sim_trace_event *ev) {
  char body[512];
  harness_printable(ev->text, ev->raw, ev->raw_len, body, sizeof(body));
  switch (ev->kind) {
  case SIM_TRACE_AT_RX:
    harness_narrate_at_rx(n, ev, body);
    break;
  case SIM_TRACE_AT_TX:
    harness_narrate_at_tx(n, ev, body);
    break;
  case SIM_TRACE_STP_RX:
    harness_narrate_stp_rx(n, ev, body);
    break;
  case SIM_TRACE_STP_TX:
    harness_narrate_stp_tx(n, ev, body);
    break;
  case SIM_TRACE_STP_DROP:
    harness_narrate(n, ev->t_us, "Modem's STP decoder drops bytes: %s", body);
    break;
  case SIM_TRACE_MODE:
    if (ev->ev.type == SIM_EVENT_POWER_ON ||
        ev->ev.type == SIM_EVENT_STP_CLOSE || ev->ev.type == SIM_EVENT_BOOT)
      harness_narrate_detail(n, ev->t_us, "Modem: %s", body);
    else
      harness_narrate(n, ev->t_us, "Modem: %s", body);
    break;
  case SIM_TRACE_FLASH:
    harness_narrate_detail(n, ev->t_us, "Modem flash: %s", body);
    break;
  case SIM_TRACE_FAULT:
    n->faults_fired++;
    harness_narrate(n, ev->t_us, "FAULT fired: %s", body);
    break;
  case SIM_TRACE_UPGRADE:
    if (ev->ev.type == SIM_EVENT_RECORD)
      harness_narrate_detail(n, ev->t_us, "Modem upgrade engine: %s", body);
    else
      harness_narrate(n, ev->t_us, "Modem upgrade engine: %s", body);
    break;
  case SIM_TRACE_LINE:
    harness_narrate_detail(n, ev->t_us, "UART: %s", body);
    break;
  }
}

void harness_narrate_update(struct harness_narrator *n,
                            const struct sqn_update_event *ev) {
  uint64_t t = ev->now_ms * 1000u;
  switch (ev->kind) {
  case SQN_UPDATE_EV_PHASE:
    harness_narrate(n, t, "Updater phase: %s (%s)",
                    sqn_update_phase_text(ev->phase),
                    ev->power_safe ? "power may be cut"
                                   : "do NOT cut power now");
    break;
  case SQN_UPDATE_EV_LOG:
    if (ev->level <= SQN_LOG_INFO)
      harness_narrate(n, t, "Updater says: %s", ev->text ? ev->text : "");
    break;
  case SQN_UPDATE_EV_INFO: {
    char label[160];
    harness_version_label(n, ev->text ? ev->text : "", label, sizeof(label));
    harness_narrate(n, t, "Updater found: %s%s", ev->text ? ev->text : "",
                    label);
    break;
  }
  case SQN_UPDATE_EV_DONE:
    if (ev->err == 0)
      harness_narrate(n, t, "Updater reports success%s%s",
                      ev->text ? ": " : "", ev->text ? ev->text : "");
    else
      harness_narrate(n, t, "Updater stops with %s: %s — advice: %s",
                      sqn_err_name(ev->err),
                      ev->text ? ev->text : sqn_strerror(ev->err),
                      sqn_err_advice(ev->err));
    break;
  case SQN_UPDATE_EV_PROGRESS:
    break;
  }
}

static const char *harness_boot_word(enum sim_boot b) {
  switch (b) {
  case SIM_BOOT_FFH: return "FFH";
  case SIM_BOOT_FFF: return "FFF";
  case SIM_BOOT_UPDATER: return "UPDATER";
  case SIM_BOOT_RECOVERY: return "RECOVERY";
  }
  return "?";
}

static void harness_image_text(const struct sim_image *img, char *out,
                               size_t cap) {
  snprintf(out, cap, "%s %s-%u", img->valid ? "valid" : "INVALID",
           img->version, img->build);
}

void harness_narrate_state(struct harness_narrator *n, uint64_t t_us,
                           const struct sim_state *st) {
  char fff[64], upd[64], boot[64];
  harness_image_text(&st->fff, fff, sizeof(fff));
  harness_image_text(&st->updater, upd, sizeof(upd));
  harness_image_text(&st->bootrom, boot, sizeof(boot));
  harness_narrate(n, t_us,
                  "Modem flash: boot_select %s; application (fff) %s; "
                  "updater %s; bootrom %s; last upgrade: %s%s%s",
                  harness_boot_word(st->boot_select), fff, upd, boot,
                  st->upgrade_status, st->fail_reason[0] ? " — " : "",
                  st->fail_reason);
  enum sim_boot b = st->boot_select;
  if (b == SIM_BOOT_FFF && !st->fff.valid) {
    harness_narrate(n, t_us,
                    "The modem boots into RECOVERY because its application "
                    "image is invalid (an upgrade was interrupted)");
    b = SIM_BOOT_RECOVERY;
  }
  if ((b == SIM_BOOT_RECOVERY || b == SIM_BOOT_UPDATER) &&
      !st->updater.valid) {
    harness_narrate(n, t_us,
                    "The modem boots into FFH (boot ROM, SMOD 0, 115200 "
                    "baud) because its updater image is invalid");
    b = SIM_BOOT_FFH;
  }
  switch (b) {
  case SIM_BOOT_RECOVERY:
    harness_narrate(n, t_us,
                    "In RECOVERY (SMOD 4) application commands such as ATI "
                    "and AT+SMSWBOOT=3,x answer ERROR, but "
                    "AT+SMSTPU=\"ON_THE_FLY\" is accepted");
    break;
  case SIM_BOOT_UPDATER:
    harness_narrate(n, t_us, "The modem boots into UPDATER (SMOD 3)");
    break;
  case SIM_BOOT_FFH:
    harness_narrate(n, t_us,
                    "In FFH only AT, AT+SMOD?, AT+IPR and AT+STP work; a "
                    "host needs updater.elf and a full package");
    break;
  case SIM_BOOT_FFF:
    harness_narrate(n, t_us,
                    "The modem boots its application (FFF, SMOD 2) and "
                    "prints +SYSSTART");
    break;
  }
}

void harness_narrator_append_other(struct harness_narrator *n,
                                   const struct harness_narrator *other) {
  harness_narrate_flush(n);
  const char *p = other->text;
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len && (*p == HARNESS_NARR_DETAIL || *p == HARNESS_NARR_COMPACT))
      p++, len--;
    harness_narrator_append(n, "    | ", 6);
    harness_narrator_append(n, p, len);
    harness_narrator_append(n, "\n", 1);
    p = nl ? nl + 1 : NULL;
  }
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem model: power, boot, timers, the UART line, output shaping and
 * the fault runtime (modem-model.md sections 3, 7, 8; faults.md section 2).
 *
 *   power_on ──► BOOTING ──(boot delay × scale)──► ON ──AT+SMUPGRADE──► APPLYING
 *      ▲            │ bytes in: lost                 │                      │
 *      │            ▼                                ▼                      │
 *   power_cut ◄── any state            AT^RESET / SMSWBOOT=m,1 / CFUN=n,1   │
 *   (flash kept: every change was       ──► +SHUTDOWN ──► BOOTING ◄─────────┘
 *    persisted when it happened)
 *
 * Boot target = boot_select with fallbacks: FFF with an invalid fff image
 * boots RECOVERY; RECOVERY or UPDATER with an invalid updater boots FFH.
 * An fff image that is valid but `incomplete` (only the test-only broken
 * ordering makes one) hangs the boot: silent until the next power cut.
 * So does the intermediate fff image of a two-part package (F20,
 * part2_pending) when booted in a later power session than the one that
 * applied part 1: silent until a power cut, and again after it.
 *
 * UART rate per boot: FFH (and the ELF it starts) at 115200; the other modes
 * at the profile's rate, or at st.uart_baud once an upgrade reset the UART
 * config (UART_RESET fault, F22).
 *
 * Time: every entry point takes `now_us`; due timers fire first, so events
 * stay in order even with time_scale 0. Output that a fault delays goes to a
 * small queue; later output queues behind it so bytes never overtake.
 */
#include "modem_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sim_trace_kind_name(enum sim_trace_kind k)
{
  switch (k) {
#define XX(name, tag)                                                        \
  case SIM_TRACE_##name:                                                     \
    return tag;
    SIM_TRACE_MAP(XX)
#undef XX
  default:
    return "?";
  }
}

const char *sim_event_type_name(enum sim_event_type t)
{
  switch (t) {
#define XX(name, word)                                                       \
  case SIM_EVENT_##name:                                                     \
    return word;
    SIM_EVENT_MAP(XX)
#undef XX
  }
  return "?";
}

int sim_event_type_parse(const char *word, enum sim_event_type *out)
{
#define XX(name, w)                                                          \
  if (strcmp(word, w) == 0) {                                                \
    *out = SIM_EVENT_##name;                                                 \
    return 0;                                                                \
  }
  SIM_EVENT_MAP(XX)
#undef XX
  return -1;
}

const char *sim_smod_name(enum sim_smod s)
{
  switch (s) {
  case SIM_SMOD_FFH:
    return "FFH";
  case SIM_SMOD_FFH_ELF:
    return "FFH-ELF";
  case SIM_SMOD_FFF:
    return "FFF";
  case SIM_SMOD_UPDATER:
    return "UPDATER";
  case SIM_SMOD_RECOVERY:
    return "RECOVERY";
  default:
    return "NONE";
  }
}

const char *sim_power_name(enum sim_power p)
{
  switch (p) {
#define XX(n)                                                                \
  case SIM_PWR_##n:                                                          \
    return #n;
    SIM_POWER_MAP(XX)
#undef XX
  }
  return "?";
}

const char *sim_link_name(enum sim_link l)
{
  switch (l) {
#define XX(n)                                                                \
  case SIM_LINK_##n:                                                         \
    return #n;
    SIM_LINK_MAP(XX)
#undef XX
  }
  return "?";
}

/* AT lines and STP frames are typed from what they carry. */
static void sim_trace_type_io(struct sim_trace_event *ev)
{
  struct sim_event *e = &ev->ev;
  if (e->type != SIM_EVENT_NONE)
    return;
  if (ev->kind == SIM_TRACE_AT_RX || ev->kind == SIM_TRACE_AT_TX) {
    e->type = SIM_EVENT_AT_LINE;
    e->line = ev->text;
  } else if ((ev->kind == SIM_TRACE_STP_RX || ev->kind == SIM_TRACE_STP_TX) &&
             ev->raw && ev->raw_len >= SQN_STP_HDR_LEN) {
    struct sqn_stp_hdr h;
    sqn_stp_hdr_parse(&h, ev->raw);
    e->type = SIM_EVENT_STP_FRAME;
    e->op = h.op;
    e->sid = h.sid;
    e->tid = h.tid;
    e->plen = h.plen;
  }
}

static void sim_vtrace(struct sim_modem *m, enum sim_trace_kind k,
                       const struct sim_event *e, const void *raw,
                       size_t raw_len, const char *fmt, va_list ap)
{
  char text[512];
  vsnprintf(text, sizeof(text), fmt, ap);
  struct sim_trace_event ev = {m->now, k, text, raw, raw_len, {0}};
  if (e)
    ev.ev = *e;
  sim_trace_type_io(&ev);
  m->cfg.trace(m->cfg.user, &ev);
}

void sim_trace(struct sim_modem *m, enum sim_trace_kind k, const void *raw,
               size_t raw_len, const char *fmt, ...)
{
  va_list ap;
  if (!m->cfg.trace)
    return;
  va_start(ap, fmt);
  sim_vtrace(m, k, NULL, raw, raw_len, fmt, ap);
  va_end(ap);
}

void sim_trace_ev(struct sim_modem *m, enum sim_trace_kind k,
                  const struct sim_event *e, const void *raw, size_t raw_len,
                  const char *fmt, ...)
{
  va_list ap;
  if (!m->cfg.trace)
    return;
  va_start(ap, fmt);
  sim_vtrace(m, k, e, raw, raw_len, fmt, ap);
  va_end(ap);
}

/* ---- transitions --------------------------------------------------------- */

void sim_set_power(struct sim_modem *m, enum sim_power p, const char *why)
{
  enum sim_power old = m->pwr.power;
  m->pwr.power = p;
  if (old != p && m->cfg.trace_transitions)
    sim_trace(m, SIM_TRACE_MODE, NULL, 0, "power %s -> %s (%s)",
              sim_power_name(old), sim_power_name(p), why);
}

void sim_set_smod(struct sim_modem *m, enum sim_smod s, const char *why)
{
  enum sim_smod old = m->pwr.smod;
  m->pwr.smod = s;
  if (old != s && m->cfg.trace_transitions)
    sim_trace(m, SIM_TRACE_MODE, NULL, 0, "smod %s -> %s (%s)",
              sim_smod_name(old), sim_smod_name(s), why);
}

void sim_set_link(struct sim_modem *m, enum sim_link l, const char *why)
{
  enum sim_link old = m->at.link;
  m->at.link = l;
  if (old != l && m->cfg.trace_transitions)
    sim_trace(m, SIM_TRACE_MODE, NULL, 0, "link %s -> %s (%s)",
              sim_link_name(old), sim_link_name(l), why);
}

size_t sim_escape(char *dst, size_t cap, const uint8_t *src, size_t len)
{
  size_t o = 0;
  if (!cap)
    return 0;
  for (size_t i = 0; i < len && o + 5 < cap; i++) {
    uint8_t c = src[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      dst[o++] = (char)c;
    else if (c == '\r')
      o += (size_t)snprintf(dst + o, cap - o, "\\r");
    else if (c == '\n')
      o += (size_t)snprintf(dst + o, cap - o, "\\n");
    else
      o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
  }
  dst[o] = '\0';
  return o;
}

uint64_t sim_scaled(const struct sim_modem *m, uint64_t us)
{
  double v = (double)us * m->cfg.time_scale;
  if (v <= 0.0)
    return 0;
  if (v >= 1.8e19)
    return SIM_NEVER - 1;
  return (uint64_t)v;
}

static bool sim_image_same(const struct sim_image *a,
                           const struct sim_image *b)
{
  return a->valid == b->valid && a->build == b->build &&
         a->incomplete == b->incomplete &&
         strcmp(a->version, b->version) == 0 && strcmp(a->ue, b->ue) == 0;
}

/* The one path every flash change takes: count it, trace it, make it
 * durable. Power-cut sweeps cut at each of these calls. */
void sim_flash_commit(struct sim_modem *m, const char *what)
{
  static const char *const names[3] = {"fff", "updater", "bootrom"};
  struct sim_image *now[3] = {&m->st.fff, &m->st.updater, &m->st.bootrom};
  struct sim_event e = {.type = SIM_EVENT_FLASH_COMMIT,
                        .status = m->st.upgrade_status};
  m->st.writes++;
  e.writes = m->st.writes;
  for (int i = 0; i < 3; i++) {
    if (sim_image_same(now[i], &m->upg.committed[i]))
      continue;
    if (!e.slot) {
      e.slot = names[i];
      e.image = now[i];
    }
    m->upg.committed[i] = *now[i];
  }
  sim_trace_ev(m, SIM_TRACE_FLASH, &e, NULL, 0, "#%llu %s",
               (unsigned long long)m->st.writes, what);
  if (m->cfg.persist)
    m->cfg.persist(m->cfg.user, &m->st);
}

void sim_set_status(struct sim_modem *m, const char *status,
                    const char *reason)
{
  snprintf(m->st.upgrade_status, sizeof(m->st.upgrade_status), "%s", status);
  snprintf(m->st.fail_reason, sizeof(m->st.fail_reason), "%s",
           reason ? reason : "");
  char what[160];
  snprintf(what, sizeof(what), "upgrade_status %s%s%s", status,
           reason && *reason ? ": " : "", reason ? reason : "");
  sim_flash_commit(m, what);
}

/* ---- line ---------------------------------------------------------------- */

uint32_t sim_profile_baud(const struct sim_modem *m, enum sim_smod s)
{
  if (m->cfg.profile == SIM_PROFILE_GM02S)
    return 115200;
  return (s == SIM_SMOD_FFH || s == SIM_SMOD_FFH_ELF) ? 115200 : 921600;
}

/* The bootloader (FFH, and the ELF it starts) always runs at its own rate;
 * the application modes use the configured one, which an upgrade can reset
 * (F22). */
uint32_t sim_mode_baud(const struct sim_modem *m, enum sim_smod s)
{
  if (s != SIM_SMOD_FFH && s != SIM_SMOD_FFH_ELF && m->st.uart_baud)
    return m->st.uart_baud;
  return sim_profile_baud(m, s);
}

bool sim_uart_rates_match(uint32_t a, uint32_t b)
{
  if (!a || !b)
    return false;
  uint64_t hi = a > b ? a : b, diff = a > b ? a - b : b - a;
  return diff * 100 <= hi * SIM_UART_TOLERANCE_PCT;
}

/* Modem -> host: the host's receiver against the modem's transmitter. */
static bool sim_line_garbled_tx(const struct sim_modem *m)
{
  return m->at.host_line && m->at.uart_baud &&
         !sim_uart_rates_match(m->at.host_in, m->at.uart_baud);
}

/* Host -> modem: the modem's receiver against the host's transmitter. */
static bool sim_line_garbled_rx(const struct sim_modem *m)
{
  return m->at.host_line && m->at.uart_baud &&
         !sim_uart_rates_match(m->at.host_out, m->at.uart_baud);
}

/* "921600", or "unreadable" for a rate the shell could not read. */
static const char *sim_rate_text(char *buf, size_t cap, uint32_t baud)
{
  if (baud)
    snprintf(buf, cap, "%u", baud);
  else
    snprintf(buf, cap, "unreadable");
  return buf;
}

/* The line as it stands, naming both ends' rates, for the trace. `why`
 * prefixes the text ("boot: ..."); NULL for a change of the host's rates,
 * whose text starts "host at N baud" (or "host receives at" when split). */
void sim_line_trace(struct sim_modem *m, const char *why)
{
  char in[16], out[16];
  bool tx = sim_line_garbled_tx(m), rx = sim_line_garbled_rx(m);
  if (!m->at.host_line)
    return;
  const char *sep = why ? ": " : "";
  why = why ? why : "";
  sim_rate_text(in, sizeof(in), m->at.host_in);
  sim_rate_text(out, sizeof(out), m->at.host_out);
  if (!m->at.uart_baud)
    sim_trace(m, SIM_TRACE_LINE, NULL, 0,
              "%s%shost receives at %s baud and sends at %s, modem UART "
              "not running", why, sep, in, out);
  else if (m->at.host_in == m->at.host_out)
    sim_trace(m, SIM_TRACE_LINE, NULL, 0,
              "%s%shost at %s baud, modem at %u: %s", why, sep, in,
              m->at.uart_baud, tx ? "garbled both ways" : "clean");
  else
    sim_trace(m, SIM_TRACE_LINE, NULL, 0,
              "%s%shost receives at %s baud and sends at %s, modem at %u: "
              "modem->host %s, host->modem %s", why, sep, in, out,
              m->at.uart_baud, tx ? "garbled" : "clean",
              rx ? "garbled" : "clean");
}

/* What a UART at the wrong rate makes of a byte: framing garbage of the
 * kind seen in field logs (FE FD 00 F8). It never forms ASCII text, so a
 * host cannot mistake it for a reply. */
static uint8_t sim_garble_byte(uint8_t b)
{
  static const uint8_t pat[4] = {0xFE, 0xFD, 0x00, 0xF8};
  return pat[(b >> 1 ^ b >> 5) & 3];
}

/* ---- output -------------------------------------------------------------- */

static void sim_tx_raw(struct sim_modem *m, const uint8_t *buf, size_t len)
{
  if (m->pwr.power == SIM_PWR_OFF || m->flt.silent || !len)
    return;
  if (m->cfg.tx)
    m->cfg.tx(m->cfg.user, buf, len);
}

static void sim_outq_clear(struct sim_modem *m)
{
  for (size_t i = 0; i < m->qlen; i++)
    free(m->q[i].data);
  m->qlen = 0;
  m->q_last_due = 0;
}

static void sim_outq_flush(struct sim_modem *m)
{
  size_t i = 0;
  while (i < m->qlen && m->q[i].due <= m->now) {
    sim_tx_raw(m, m->q[i].data, m->q[i].len);
    free(m->q[i].data);
    i++;
  }
  if (i) {
    memmove(m->q, m->q + i, (m->qlen - i) * sizeof(*m->q));
    m->qlen -= i;
  }
}

void sim_out(struct sim_modem *m, const void *buf, size_t len,
             uint64_t delay_us)
{
  uint8_t small[256];
  uint8_t *p = small;
  if (!len || m->pwr.power == SIM_PWR_OFF || m->flt.silent)
    return;
  /* Shape now, with the rate in force when the modem sends (AT+IPR answers
   * at the old rate). */
  bool line_garbled = sim_line_garbled_tx(m);
  if (m->flt.garble_fault || line_garbled) {
    p = len <= sizeof(small) ? small : malloc(len);
    if (!p)
      return;
    for (size_t i = 0; i < len; i++)
      p[i] = sim_garble_byte(((const uint8_t *)buf)[i]);
    if (line_garbled) {
      char in[16];
      sim_trace(m, SIM_TRACE_LINE, p, len,
                "%zu bytes at %u baud, host receives at %s: garbage", len,
                m->at.uart_baud, sim_rate_text(in, sizeof(in), m->at.host_in));
    }
  } else {
    p = (uint8_t *)buf;
  }
  uint64_t due = m->now + delay_us;
  if (due < m->q_last_due)
    due = m->q_last_due;
  if (due <= m->now && m->qlen == 0) {
    sim_tx_raw(m, p, len);
  } else if (m->qlen >= SIM_OUTQ_MAX) {
    /* A host that keeps asking while replies are held back (a DELAY
     * fault): the modem's buffers are finite, later replies are lost. */
    goto out_free;
  } else {
    if (m->qlen == m->qcap) {
      size_t ncap = m->qcap ? m->qcap * 2 : 16;
      struct sim_outq_item *nq = realloc(m->q, ncap * sizeof(*nq));
      if (!nq)
        goto out_free;
      m->q = nq;
      m->qcap = ncap;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
      goto out_free;
    memcpy(copy, p, len);
    m->q[m->qlen++] = (struct sim_outq_item){due, len, copy};
    m->q_last_due = due;
  }
out_free:
  if (p != small && p != buf)
    free(p);
}

void sim_out_fx(struct sim_modem *m, const uint8_t *buf, size_t len,
                const struct sim_fx *fx)
{
  uint64_t delay = fx ? fx->delay_us : 0;
  if (fx && fx->split > 1 && len > 1) {
    size_t n = fx->split < len ? fx->split : len;
    size_t per = len / n, off = 0;
    for (size_t i = 0; i < n; i++) {
      size_t l = i + 1 == n ? len - off : per;
      sim_out(m, buf + off, l, delay + fx->gap_us * i);
      off += l;
    }
    return;
  }
  sim_out(m, buf, len, delay);
}

bool sim_mode_app_style(const struct sim_modem *m)
{
  return m->pwr.smod != SIM_SMOD_FFH;
}

/* ---- boot ---------------------------------------------------------------- */

/* modem-model.md section 6: an fff image built for the other chip (LR8 is
 * Monarch 2 / gm02s, LR5 and LR6 Monarch 1) is written like any other but
 * never boots: FFF falls back to RECOVERY. An unknown version is not
 * foreign. */
static bool sim_fff_foreign(const struct sim_state *st)
{
  char major = st->fff.version[0];
  if (!st->fff.valid || major < '0' || major > '9' || st->fff.version[1] != '.')
    return false;
  return (major == '8') != (st->profile == SIM_PROFILE_GM02S);
}

static enum sim_smod sim_boot_resolve(const struct sim_state *st)
{
  enum sim_boot b = st->boot_select;
  if (b == SIM_BOOT_FFF && (!st->fff.valid || sim_fff_foreign(st)))
    b = SIM_BOOT_RECOVERY;
  if ((b == SIM_BOOT_RECOVERY || b == SIM_BOOT_UPDATER) && !st->updater.valid)
    b = SIM_BOOT_FFH;
  switch (b) {
  case SIM_BOOT_FFF:
    return SIM_SMOD_FFF;
  case SIM_BOOT_UPDATER:
    return SIM_SMOD_UPDATER;
  case SIM_BOOT_RECOVERY:
    return SIM_SMOD_RECOVERY;
  default:
    return SIM_SMOD_FFH;
  }
}

static uint64_t sim_boot_delay(enum sim_smod s)
{
  switch (s) {
  case SIM_SMOD_FFF:
    return 8 * SIM_US;
  case SIM_SMOD_RECOVERY:
  case SIM_SMOD_UPDATER:
    return 1500000;
  case SIM_SMOD_FFH_ELF:
    return 1 * SIM_US; /* our choice: the ELF "starts" in a second */
  default:
    return 500000;
  }
}

/* Forget everything volatile (RAM): used at every boot and power cut. */
static void sim_volatile_reset(struct sim_modem *m)
{
  if (m->at.link == SIM_LINK_STP)
    sim_stp_abort(m);
  sim_set_link(m, SIM_LINK_AT, "RAM lost");
  m->stp.session = false;
  sim_at_reset(m);
  m->at.plus_count = 0;
  m->at.escape_disabled = false;
  m->at.echo = false;
  m->at.cfun = 1;
  m->flt.silent = false;
  m->flt.silent_until = SIM_NEVER;
  m->pwr.reboot_at = SIM_NEVER;
  m->pwr.apply_done_at = SIM_NEVER;
  /* Bytes already queued are in the UART FIFO: a reset does not eat them
   * (AT^RESET's OK goes out before +SHUTDOWN); a power cut does. */
}

void sim_boot_into(struct sim_modem *m, enum sim_smod target,
                   const char *why)
{
  bool garble_keep = m->flt.garble_fault;
  sim_volatile_reset(m);
  m->flt.garble_fault = garble_keep;
  sim_set_power(m, SIM_PWR_BOOTING, why);
  sim_set_smod(m, SIM_SMOD_NONE, why);
  m->pwr.boot_target = target;
  if (target != SIM_SMOD_FFH_ELF)
    m->pwr.elf_loaded = false;
  m->pwr.boot_done_at = m->now + sim_scaled(m, sim_boot_delay(target));
  struct sim_event e = {.type = SIM_EVENT_BOOT, .smod = (int)target};
  sim_trace_ev(m, SIM_TRACE_MODE, &e, NULL, 0, "boot %s (%s)",
               sim_smod_name(target), why);
  if (target == SIM_SMOD_RECOVERY && m->st.boot_select == SIM_BOOT_FFF &&
      sim_fff_foreign(&m->st))
    sim_trace(m, SIM_TRACE_MODE, NULL, 0,
              "fff holds LR%s-%u, built for the other chip (this is %s): it "
              "never boots, RECOVERY instead (modem-model.md 6)",
              m->st.fff.version, (unsigned)m->st.fff.build,
              m->st.profile == SIM_PROFILE_GM02S ? "a Monarch 2 (gm02s)"
                                                 : "a Monarch 1");
  if (target == SIM_SMOD_FFF && m->st.fff.incomplete) {
    /* Only a broken write ordering (SIM_DEBUG_MARK_VALID_EARLY) gets a
     * half-written image marked valid: the boot jumps into it and never
     * comes up. Silent until the next power cut, and after it again. */
    m->pwr.boot_done_at = SIM_NEVER;
    sim_trace(m, SIM_TRACE_MODE, NULL, 0,
              "fff image incomplete: boot hangs, modem silent (F07)");
  } else if (target == SIM_SMOD_FFF && m->st.part2_pending &&
             !m->pwr.part1_live) {
    /* F20: the intermediate image of a two-part package runs only in the
     * power session that applied part 1; this boot follows a power cut. */
    m->pwr.boot_done_at = SIM_NEVER;
    sim_trace(m, SIM_TRACE_MODE, NULL, 0,
              "fff is the intermediate image of part 1 of 2 and part 2 was "
              "not applied before the power cut: boot hangs, modem silent "
              "(F07, F20)");
  }
}

void sim_boot_start(struct sim_modem *m, const char *why)
{
  sim_boot_into(m, sim_boot_resolve(&m->st), why);
}

static void sim_faults_arm_elapsed(struct sim_modem *m)
{
  for (size_t i = 0; i < m->flt.nfaults; i++) {
    struct sim_fault_rt *r = &m->flt.faults[i];
    r->elapsed_at = SIM_NEVER;
    if (r->f.when != SIM_FAULT_ON_ELAPSED)
      continue;
    if (r->f.mode != SIM_FAULT_MODE_ANY &&
        (int)r->f.mode - 1 != (int)m->pwr.smod)
      continue;
    r->elapsed_at = m->pwr.mode_since + sim_scaled(m, r->f.after_us);
  }
}

static void sim_boot_done(struct sim_modem *m)
{
  static const uint8_t sysstart[] = "\r\n+SYSSTART\r\n";
  sim_set_power(m, SIM_PWR_ON, "boot done");
  sim_set_smod(m, m->pwr.boot_target, "boot done");
  m->pwr.boot_done_at = SIM_NEVER;
  m->pwr.mode_since = m->now;
  /* The ELF keeps the rate the bootloader negotiated (AT+IPR). */
  if (m->pwr.smod != SIM_SMOD_FFH_ELF)
    m->at.uart_baud = sim_mode_baud(m, m->pwr.smod);
  struct sim_event up = {.type = SIM_EVENT_UP,
                         .smod = (int)m->pwr.smod,
                         .baud = m->at.uart_baud};
  sim_trace_ev(m, SIM_TRACE_MODE, &up, NULL, 0, "up: SMOD %d %s, %u baud",
               (int)m->pwr.smod, sim_smod_name(m->pwr.smod), m->at.uart_baud);
  sim_line_trace(m, "boot");
  if (m->flt.quiet_boots) {
    m->flt.quiet_boots--;
    sim_trace(m, SIM_TRACE_MODE, NULL, 0, "quiet boot: no +SYSSTART (fault)");
  } else if (m->pwr.smod == SIM_SMOD_FFF) {
    sim_out(m, sysstart, sizeof(sysstart) - 1, 0);
    sim_trace(m, SIM_TRACE_AT_TX, NULL, 0, "+SYSSTART");
  }
  sim_faults_arm_elapsed(m);
  struct sim_fx fx = {0};
  if (m->pwr.boot_from_power_on) {
    m->pwr.boot_from_power_on = false;
    struct sim_fault_event ev = {.when = SIM_FAULT_ON_POWER_ON};
    sim_faults_fire(m, &ev, &fx);
    if (m->pwr.power != SIM_PWR_ON)
      return;
  }
  struct sim_fault_event ev = {.when = SIM_FAULT_ON_MODE, .mode = m->pwr.smod};
  sim_faults_fire(m, &ev, &fx);
}

/* ---- power --------------------------------------------------------------- */

void sim_modem_do_power_cut(struct sim_modem *m, const char *why)
{
  sim_volatile_reset(m);
  sim_outq_clear(m);
  sim_set_power(m, SIM_PWR_OFF, why);
  sim_set_smod(m, SIM_SMOD_NONE, why);
  m->pwr.boot_done_at = SIM_NEVER;
  m->pwr.power_on_at = SIM_NEVER;
  m->pwr.elf_loaded = false;
  m->flt.garble_fault = false;
  m->at.uart_baud = 0;
  m->pwr.part1_live = false; /* the power session ends (F20) */
  struct sim_event e = {.type = SIM_EVENT_POWER_OFF, .reason = why};
  sim_trace_ev(m, SIM_TRACE_MODE, &e, NULL, 0, "power off (%s)", why);
}

static void sim_power_on_now(struct sim_modem *m)
{
  m->pwr.power_ons++;
  m->pwr.power_on_at = SIM_NEVER;
  m->pwr.boot_from_power_on = true;
  m->at.uart_baud = sim_mode_baud(m, sim_boot_resolve(&m->st));
  struct sim_event e = {.type = SIM_EVENT_POWER_ON, .count = m->pwr.power_ons};
  sim_trace_ev(m, SIM_TRACE_MODE, &e, NULL, 0, "power on #%u",
               m->pwr.power_ons);
  sim_boot_start(m, "power on");
}

void sim_modem_power_cut(struct sim_modem *m, uint64_t now_us)
{
  sim_modem_tick(m, now_us);
  if (m->pwr.power != SIM_PWR_OFF)
    sim_modem_do_power_cut(m, "power cut");
}

void sim_modem_power_on(struct sim_modem *m, uint64_t now_us)
{
  sim_modem_tick(m, now_us);
  if (m->pwr.power == SIM_PWR_OFF)
    sim_power_on_now(m);
}

/* ---- faults -------------------------------------------------------------- */

static bool sim_fault_triggered(struct sim_modem *m, struct sim_fault_rt *r,
                                const struct sim_fault_event *ev)
{
  const struct sim_fault *f = &r->f;
  if (f->when != ev->when)
    return false;
  switch (f->when) {
  case SIM_FAULT_ON_AT:
    return ev->line && sim_fault_at_match(f->match, ev->line);
  case SIM_FAULT_ON_STP_OP:
    return ev->op == f->op;
  case SIM_FAULT_ON_STP_OFFSET:
    return ev->len && f->offset >= ev->off && f->offset < ev->off + ev->len;
  case SIM_FAULT_ON_STP_PERCENT: {
    uint64_t size = f->size ? f->size : m->upg.run.first_len;
    if (!size || !ev->len)
      return false;
    uint64_t at = (uint64_t)((double)size * f->percent / 100.0);
    if (at >= size)
      at = size - 1;
    return at >= ev->off && at < ev->off + ev->len;
  }
  case SIM_FAULT_ON_MODE:
    return f->mode == SIM_FAULT_MODE_ANY || (int)f->mode - 1 == (int)ev->mode;
  default: /* STP_FRAME, ELAPSED, POWER_ON: the event itself */
    return true;
  }
}

/* Faults that only shape this reply (sim_fx): true when f is one. */
static bool sim_fault_apply_reply(struct sim_modem *m,
                                  const struct sim_fault *f,
                                  struct sim_fx *fx)
{
  switch (f->action) {
  case SIM_FAULT_DO_ERROR:
    fx->reply = SIM_FX_ERROR;
    break;
  case SIM_FAULT_DO_REPLY:
    fx->reply = SIM_FX_TEXT;
    fx->text = f->text;
    break;
  case SIM_FAULT_DO_NO_REPLY:
    fx->reply = SIM_FX_NOTHING;
    break;
  case SIM_FAULT_DO_DELAY:
    fx->delay_us += sim_scaled(m, f->delay_us);
    break;
  case SIM_FAULT_DO_SPLIT:
    fx->split = f->count;
    fx->gap_us = sim_scaled(m, f->delay_us);
    break;
  case SIM_FAULT_DO_CORRUPT_MAGIC:
  case SIM_FAULT_DO_CORRUPT_HCRC:
  case SIM_FAULT_DO_CORRUPT_PCRC:
  case SIM_FAULT_DO_CORRUPT_OP:
  case SIM_FAULT_DO_CORRUPT_SID:
  case SIM_FAULT_DO_CORRUPT_TID:
    fx->corrupt |= 1u << (f->action - SIM_FAULT_DO_CORRUPT_MAGIC);
    break;
  case SIM_FAULT_DO_RESIDUE:
    fx->residue = true;
    fx->residue_n = f->count;
    break;
  case SIM_FAULT_DO_NACK:
    fx->nack = true;
    break;
  case SIM_FAULT_DO_DROP:
    fx->drop = f->count ? f->count : 1;
    break;
  default:
    return false;
  }
  return true;
}

/* Faults that silence, crash, cut or reboot the modem (and end the
 * exchange): true when f is one. */
static bool sim_fault_apply_power(struct sim_modem *m,
                                  const struct sim_fault *f,
                                  struct sim_fx *fx)
{
  switch (f->action) {
  case SIM_FAULT_DO_SILENT:
    m->flt.silent = true;
    m->flt.silent_until =
        f->delay_us ? m->now + sim_scaled(m, f->delay_us) : SIM_NEVER;
    break;
  case SIM_FAULT_DO_CRASH: {
    const char *l[1] = {f->text[0] ? f->text : "^EXIT: exception: 7"};
    sim_at_reply_lines(m, l, 1, -1, NULL);
    /* Lose RAM, stay dark for delay_us, then boot boot_select. */
    sim_outq_flush(m);
    sim_modem_do_power_cut(m, "crash");
    m->pwr.power_on_at = m->now + sim_scaled(m, f->delay_us);
    break;
  }
  case SIM_FAULT_DO_POWER_CUT:
    sim_modem_do_power_cut(m, "fault");
    m->pwr.power_on_at =
        f->delay_us ? m->now + sim_scaled(m, f->delay_us) : SIM_NEVER;
    break;
  case SIM_FAULT_DO_REBOOT:
    sim_volatile_reset(m);
    sim_set_power(m, SIM_PWR_BOOTING, "fault reboot");
    sim_set_smod(m, SIM_SMOD_NONE, "fault reboot");
    m->pwr.boot_target = sim_boot_resolve(&m->st);
    m->pwr.boot_done_at = SIM_NEVER;
    m->pwr.reboot_at = m->now + sim_scaled(m, f->delay_us);
    struct sim_event e = {.type = SIM_EVENT_REBOOT};
    sim_trace_ev(m, SIM_TRACE_MODE, &e, NULL, 0, "reboot in %llu us",
                 (unsigned long long)sim_scaled(m, f->delay_us));
    break;
  default:
    return false;
  }
  fx->stop = true;
  return true;
}

/* NUL bytes: in place of an AT reply, or sent at once. */
static void sim_fault_apply_nul(struct sim_modem *m, const struct sim_fault *f,
                                bool at, struct sim_fx *fx)
{
  if (at) {
    fx->reply = SIM_FX_NUL;
    fx->nul = f->count ? f->count : 1;
    return;
  }
  uint8_t z[64] = {0};
  uint32_t n = f->count ? f->count : 1;
  while (n) {
    uint32_t k = n < sizeof(z) ? n : (uint32_t)sizeof(z);
    sim_out(m, z, k, 0);
    n -= k;
  }
}

/* Flip one bit of the stored file system (in memory or in its file). */
static void sim_fault_flip_store(struct sim_modem *m, const struct sim_fault *f)
{
  if (m->st.fs_store && m->st.fs_store_len) {
    m->st.fs_store[f->count % m->st.fs_store_len] ^= 0x01;
    sim_flash_commit(m, "fs_store bit flip (fault)");
  } else if (sim_store_present(m) &&
             m->cfg.store_io->flip(m->cfg.store_io->ctx, m->st.fs_store_file,
                                   f->count % m->st.fs_store_len) == 0) {
    sim_flash_commit(m, "fs_store bit flip (fault)");
  }
}

static void sim_fault_apply(struct sim_modem *m, const struct sim_fault *f,
                            const struct sim_fault_event *ev,
                            struct sim_fx *fx)
{
  bool at = ev->when == SIM_FAULT_ON_AT;
  bool stp = ev->when == SIM_FAULT_ON_STP_FRAME ||
             ev->when == SIM_FAULT_ON_STP_OP ||
             ev->when == SIM_FAULT_ON_STP_OFFSET ||
             ev->when == SIM_FAULT_ON_STP_PERCENT;
  if (sim_fault_apply_reply(m, f, fx) || sim_fault_apply_power(m, f, fx))
    return;
  switch (f->action) {
  case SIM_FAULT_DO_URC:
    if (at || stp) {
      if (fx->nurc < 4)
        fx->urc[fx->nurc++] = f->text;
    } else {
      const char *l[1] = {f->text};
      sim_at_reply_lines(m, l, 1, -1, NULL);
    }
    break;
  case SIM_FAULT_DO_NUL:
    sim_fault_apply_nul(m, f, at, fx);
    break;
  case SIM_FAULT_DO_GARBLE:
    m->flt.garble_fault = true;
    break;
  case SIM_FAULT_DO_ECHO_ON:
    m->at.echo = true;
    break;
  case SIM_FAULT_DO_DATA_MODE:
  case SIM_FAULT_DO_DATA_MODE_STUCK:
    sim_set_link(m, SIM_LINK_DATA, "fault");
    m->at.escape_disabled =
        f->count != 0 || f->action == SIM_FAULT_DO_DATA_MODE_STUCK;
    m->at.plus_count = 0;
    m->at.last_rx = m->now;
    break;
  case SIM_FAULT_DO_FAIL_UPGRADE:
    m->upg.run.forced_fail = true;
    snprintf(m->upg.run.forced_reason, sizeof(m->upg.run.forced_reason), "%s",
             f->text[0] ? f->text : "injected failure");
    break;
  case SIM_FAULT_DO_QUIET_BOOT:
    m->flt.quiet_boots = f->count ? f->count : 1;
    break;
  case SIM_FAULT_DO_UART_RESET:
    m->flt.uart_reset_armed = f->count ? f->count : 115200;
    break;
  case SIM_FAULT_DO_FLIP_STORE:
    sim_fault_flip_store(m, f);
    break;
  default:
    break;
  }
}

void sim_faults_fire(struct sim_modem *m, const struct sim_fault_event *ev,
                     struct sim_fx *fx)
{
  for (size_t i = 0; i < m->flt.nfaults; i++) {
    struct sim_fault_rt *r = &m->flt.faults[i];
    if (!sim_fault_triggered(m, r, ev))
      continue;
    r->seen++;
    uint32_t first = r->f.first ? r->f.first : 1;
    if (r->seen < first || (r->f.last && r->seen > r->f.last))
      continue;
    struct sim_event e = {.type = SIM_EVENT_FAULT,
                          .fault = r->f.name[0] ? r->f.name : "fault",
                          .trigger = sim_fault_trigger_name(r->f.when),
                          .action = sim_fault_action_name(r->f.action),
                          .count = r->seen};
    sim_trace_ev(m, SIM_TRACE_FAULT, &e, NULL, 0, "%s: %s #%u -> %s",
                 e.fault, e.trigger, r->seen, e.action);
    sim_fault_apply(m, &r->f, ev, fx);
    if (m->pwr.power == SIM_PWR_OFF)
      break;
  }
}

int sim_modem_add_fault(struct sim_modem *m, const struct sim_fault *f)
{
  char err[200];
  if (m->flt.nfaults >= SIM_FAULTS_MAX || sim_fault_check(f, err, sizeof(err)))
    return -1;
  struct sim_fault_rt *r = &m->flt.faults[m->flt.nfaults++];
  memset(r, 0, sizeof(*r));
  r->f = *f;
  r->f.name[sizeof(r->f.name) - 1] = '\0';
  r->f.match[sizeof(r->f.match) - 1] = '\0';
  r->f.text[sizeof(r->f.text) - 1] = '\0';
  r->elapsed_at = SIM_NEVER;
  if (m->pwr.power == SIM_PWR_ON && f->when == SIM_FAULT_ON_ELAPSED &&
      (f->mode == SIM_FAULT_MODE_ANY || (int)f->mode - 1 == (int)m->pwr.smod))
    r->elapsed_at = m->pwr.mode_since + sim_scaled(m, f->after_us);
  return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

struct sim_modem *sim_modem_new(const struct sim_modem_config *cfg,
                                uint64_t now_us)
{
  if (!cfg || (cfg->profile != SIM_PROFILE_MONARCH1 &&
               cfg->profile != SIM_PROFILE_GM02S) ||
      !(cfg->time_scale >= 0.0))
    return NULL;
  struct sim_modem *m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->cfg = *cfg;
  m->now = now_us;
  if (cfg->state) {
    if (sim_state_copy(&m->st, cfg->state))
      goto out_free_modem;
  } else {
    sim_state_factory(&m->st, cfg->profile);
  }
  m->upg.committed[0] = m->st.fff;
  m->upg.committed[1] = m->st.updater;
  m->upg.committed[2] = m->st.bootrom;
  m->stp.buf = malloc(SQN_STP_HDR_LEN + SIM_STP_MTS_APP);
  if (!m->stp.buf)
    goto out_release_state;
  /* Initial values, not transitions: OFF until the power-on below. */
  m->pwr = (struct sim_power_part){.power = SIM_PWR_OFF,
                                   .smod = SIM_SMOD_NONE,
                                   .boot_done_at = SIM_NEVER,
                                   .apply_done_at = SIM_NEVER,
                                   .reboot_at = SIM_NEVER};
  m->flt.silent_until = SIM_NEVER;
  sim_power_on_now(m);
  return m;

out_release_state:
  sim_state_release(&m->st);
out_free_modem:
  free(m);
  return NULL;
}

void sim_modem_free(struct sim_modem *m)
{
  if (!m)
    return;
  sim_outq_clear(m);
  free(m->q);
  free(m->upg.store);
  free(m->stp.buf);
  sim_state_release(&m->st);
  free(m);
}

/* ---- time ---------------------------------------------------------------- */

uint64_t sim_modem_next_deadline(const struct sim_modem *m)
{
  uint64_t d = SIM_NEVER;
#define SIM_MIN(x)                                                           \
  do {                                                                       \
    if ((x) < d)                                                             \
      d = (x);                                                               \
  } while (0)
  if (m->pwr.power == SIM_PWR_BOOTING)
    SIM_MIN(m->pwr.boot_done_at);
  if (m->pwr.power == SIM_PWR_OFF)
    SIM_MIN(m->pwr.power_on_at);
  SIM_MIN(m->pwr.reboot_at);
  if (m->pwr.power == SIM_PWR_APPLYING)
    SIM_MIN(m->pwr.apply_done_at);
  if (m->flt.silent)
    SIM_MIN(m->flt.silent_until);
  if (m->qlen)
    SIM_MIN(m->q[0].due);
  if (m->pwr.power == SIM_PWR_ON && m->at.link == SIM_LINK_DATA &&
      m->at.plus_count == 3 && !m->at.escape_disabled)
    SIM_MIN(m->at.plus_last + sim_scaled(m, SIM_US));
  if (m->pwr.power == SIM_PWR_ON)
    for (size_t i = 0; i < m->flt.nfaults; i++)
      SIM_MIN(m->flt.faults[i].elapsed_at);
#undef SIM_MIN
  return d;
}

void sim_modem_tick(struct sim_modem *m, uint64_t now_us)
{
  if (now_us > m->now)
    m->now = now_us;
  /* Fire due timers in deadline order; each may arm others. */
  for (int guard = 0; guard < 1000; guard++) {
    uint64_t d = sim_modem_next_deadline(m);
    if (d > m->now)
      break;
    uint64_t saved = m->now;
    m->now = d; /* run the timer at its own instant */
    if (m->qlen && m->q[0].due <= d) {
      sim_outq_flush(m);
    } else if (m->pwr.power == SIM_PWR_OFF && m->pwr.power_on_at <= d) {
      sim_power_on_now(m);
    } else if (m->pwr.reboot_at <= d) {
      m->pwr.reboot_at = SIM_NEVER;
      sim_boot_start(m, "fault reboot");
    } else if (m->pwr.power == SIM_PWR_BOOTING && m->pwr.boot_done_at <= d) {
      sim_boot_done(m);
    } else if (m->pwr.power == SIM_PWR_APPLYING && m->pwr.apply_done_at <= d) {
      m->pwr.apply_done_at = SIM_NEVER;
      sim_store_apply_done(m);
    } else if (m->flt.silent && m->flt.silent_until <= d) {
      m->flt.silent = false;
      m->flt.silent_until = SIM_NEVER;
      sim_trace(m, SIM_TRACE_MODE, NULL, 0, "silence ends");
    } else if (m->at.link == SIM_LINK_DATA && m->at.plus_count == 3 &&
               m->at.plus_last + sim_scaled(m, SIM_US) <= d) {
      static const uint8_t ok[] = "\r\nOK\r\n";
      m->at.plus_count = 0;
      sim_set_link(m, SIM_LINK_AT, "+++");
      sim_trace(m, SIM_TRACE_MODE, NULL, 0, "+++: data mode left");
      sim_out(m, ok, sizeof(ok) - 1, 0);
      sim_trace(m, SIM_TRACE_AT_TX, NULL, 0, "OK");
    } else {
      for (size_t i = 0; i < m->flt.nfaults; i++) {
        struct sim_fault_rt *r = &m->flt.faults[i];
        if (r->elapsed_at > d)
          continue;
        r->elapsed_at = SIM_NEVER;
        struct sim_fx fx = {0};
        struct sim_fault_event ev = {.when = SIM_FAULT_ON_ELAPSED};
        /* Fire just this one: others have their own deadlines. */
        r->seen++;
        uint32_t first = r->f.first ? r->f.first : 1;
        if (r->seen >= first && (!r->f.last || r->seen <= r->f.last)) {
          struct sim_event e = {
              .type = SIM_EVENT_FAULT,
              .fault = r->f.name[0] ? r->f.name : "fault",
              .trigger = sim_fault_trigger_name(SIM_FAULT_ON_ELAPSED),
              .action = sim_fault_action_name(r->f.action),
              .count = r->seen};
          sim_trace_ev(m, SIM_TRACE_FAULT, &e, NULL, 0,
                       "%s: elapsed #%u -> %s", e.fault, r->seen, e.action);
          sim_fault_apply(m, &r->f, &ev, &fx);
        }
        break;
      }
    }
    if (saved > m->now)
      m->now = saved;
  }
}

/* ---- input --------------------------------------------------------------- */

/*
 * In data mode the UART carries PPP, so a host that writes an AT command
 * there gets PPP back, not an AT reply: the modem's PPP peer answers a
 * line with (at most one per second) LCP Echo-Request frame. This is what
 * lets a host tell "stuck in data mode" (F09, S09b) from a dead modem (F07).
 */
static const uint8_t sim_ppp_lcp_echo[] = {
    0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7d, 0x29, 0x7d, 0x21, 0x7d, 0x20, 0x7d,
    0x28, 0x7d, 0x20, 0x7d, 0x20, 0x7d, 0x20, 0x7d, 0x20, 0x6e, 0xf1, 0x7e};

static void sim_data_feed(struct sim_modem *m, const uint8_t *buf,
                          size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (buf[i] == '\r' &&
        (m->at.last_ppp == 0 || m->now >= m->at.last_ppp + SIM_US)) {
      m->at.last_ppp = m->now;
      sim_out(m, sim_ppp_lcp_echo, sizeof sim_ppp_lcp_echo, 0);
      sim_trace(m, SIM_TRACE_LINE, NULL, 0, "data mode: PPP LCP echo-request");
    }
    if (buf[i] == '+' && !m->at.escape_disabled &&
        (m->at.plus_count > 0 ? m->at.plus_count < 3
                           : m->now >= m->at.last_rx + sim_scaled(m, SIM_US))) {
      m->at.plus_count++;
      m->at.plus_last = m->now;
    } else {
      m->at.plus_count = 0;
    }
    m->at.last_rx = m->now;
  }
}

void sim_modem_feed(struct sim_modem *m, uint64_t now_us, const uint8_t *buf,
                    size_t len)
{
  sim_modem_tick(m, now_us);
  if (!len)
    return;
  if (m->pwr.power != SIM_PWR_ON || m->flt.silent) {
    return; /* booting, applying, off or dark: the bytes are lost */
  }
  if (sim_line_garbled_rx(m)) {
    char out[16];
    sim_trace(m, SIM_TRACE_LINE, buf, len,
              "%zu bytes at %s baud, modem at %u: noise, ignored", len,
              sim_rate_text(out, sizeof(out), m->at.host_out), m->at.uart_baud);
    return;
  }
  while (len && m->pwr.power == SIM_PWR_ON && !m->flt.silent) {
    size_t used = len;
    switch (m->at.link) {
    case SIM_LINK_AT:
      sim_at_feed(m, buf, len, &used);
      break;
    case SIM_LINK_STP:
      used = sim_stp_feed(m, buf, len);
      break;
    case SIM_LINK_DATA:
      sim_data_feed(m, buf, len);
      break;
    }
    buf += used;
    len -= used;
  }
}

/* ---- accessors ----------------------------------------------------------- */

void sim_modem_set_host_rate(struct sim_modem *m, uint32_t in, uint32_t out)
{
  bool first = !m->at.host_line;
  /* The first rate is the line's state before any host acted (a pty's
   * default); the next call is the host's first say, traced even when it
   * keeps that rate; after it, changes. */
  bool changed = first || m->at.host_initial || in != m->at.host_in ||
                 out != m->at.host_out;
  m->at.host_initial = first;
  m->at.host_line = true;
  m->at.host_in = in;
  m->at.host_out = out;
  if (changed)
    sim_line_trace(m, first ? "initial" : NULL);
}

void sim_modem_set_host_baud(struct sim_modem *m, uint32_t baud)
{
  sim_modem_set_host_rate(m, baud, baud);
}

uint32_t sim_modem_uart_baud(const struct sim_modem *m)
{
  return m->at.uart_baud;
}

enum sim_smod sim_modem_smod(const struct sim_modem *m)
{
  return m->pwr.power == SIM_PWR_ON ? m->pwr.smod : SIM_SMOD_NONE;
}

bool sim_modem_powered(const struct sim_modem *m)
{
  return m->pwr.power != SIM_PWR_OFF;
}

const struct sim_state *sim_modem_state(const struct sim_modem *m)
{
  return &m->st;
}

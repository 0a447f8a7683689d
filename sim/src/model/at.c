/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AT layer of the emulated modem (modem-model.md section 4).
 *
 * Line assembly, byte by byte:
 *
 *   byte ─┬─ NUL ───────────────► dropped
 *         ├─ LF right after CR ─► dropped (CR LF is one terminator)
 *         ├─ CR or LF ──────────► end of line: empty → ignored,
 *         │                       > 1024 bytes → ERROR, else dispatch
 *         └─ other ─────────────► appended (beyond 1024: overflow, kept
 *                                 discarding until the terminator)
 *
 * Dispatch: AT faults first (they may replace the answer), then echo, then
 * the command table below (one row per command, with the modes that accept
 * it). Replies:
 *
 *   FFF, RECOVERY, UPDATER, FFH-ELF:  "\r\n<line>\r\n" ... "\r\nOK\r\n"
 *   FFH (bootloader):                 "<line>\r\n" ...     "OK\r\n"
 *
 * The SMOD 1 (ELF from RAM) reply style is unknown from any log; we use the
 * application style there, which every known host parser accepts.
 *
 * A command that starts STP (AT+SMSTPU..., AT+STP) answers only once its
 * terminator arrived; bytes after that terminator belong to STP.
 */
#include "modem_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIM_M_FFH (1u << 0)
#define SIM_M_ELF (1u << 1)
#define SIM_M_FFF (1u << 2)
#define SIM_M_UPD (1u << 3)
#define SIM_M_REC (1u << 4)
#define SIM_M_CHAIN (SIM_M_ELF | SIM_M_UPD | SIM_M_REC) /* recovery chain */
#define SIM_M_APP (SIM_M_FFF | SIM_M_CHAIN)
#define SIM_M_ALL (SIM_M_FFH | SIM_M_APP)

#define SIM_AT_PREFIX 0x1u /* name is a prefix, the rest are arguments */

#define SIM_AT_LINES 12
#define SIM_AT_LINE_LEN 96

/* What happens once the reply is out. */
enum sim_at_after {
  SIM_AFTER_NONE,
  SIM_AFTER_RESET,
  SIM_AFTER_STP_OTF,
  SIM_AFTER_STP_STORE,
  SIM_AFTER_STP_ELF,
  SIM_AFTER_APPLY,
  SIM_AFTER_IPR
};

struct sim_at_reply {
  char lines[SIM_AT_LINES][SIM_AT_LINE_LEN];
  int n;
  enum sim_at_after after;
  uint32_t ipr;
};

/* Returns 1 for OK, 0 for ERROR. */
typedef int (*sim_at_handler)(struct sim_modem *m, const char *args,
                              struct sim_at_reply *r);

struct sim_at_cmd {
  const char *name; /* after "AT", compared case-insensitively */
  unsigned flags;
  unsigned modes;
  sim_at_handler fn;
};

__attribute__((format(printf, 2, 3))) static void
sim_at_line(struct sim_at_reply *r, const char *fmt, ...)
{
  if (r->n >= SIM_AT_LINES)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->lines[r->n++], SIM_AT_LINE_LEN, fmt, ap);
  va_end(ap);
}

static const char *sim_boot_word(enum sim_boot b)
{
  static const char *const w[] = {"FFH", "FFF", "UPDATER", "RECOVERY"};
  return (unsigned)b < 4 ? w[b] : "?";
}

/* Parse "n" or "n,m" of small decimal numbers; returns the count or -1. */
static int sim_at_ints(const char *s, long *v, int max)
{
  int n = 0;
  while (n < max) {
    char *end;
    if (*s < '0' || *s > '9')
      return -1;
    v[n++] = strtol(s, &end, 10);
    s = end;
    if (*s == '\0')
      return n;
    if (*s != ',')
      return -1;
    s++;
  }
  return -1;
}

/* ---- handlers ------------------------------------------------------------ */

static int sim_at_ok(struct sim_modem *m, const char *args,
                     struct sim_at_reply *r)
{
  (void)m, (void)args, (void)r;
  return 1;
}

static int sim_at_e0(struct sim_modem *m, const char *args,
                     struct sim_at_reply *r)
{
  (void)args, (void)r;
  m->at.echo = false;
  return 1;
}

static int sim_at_e1(struct sim_modem *m, const char *args,
                     struct sim_at_reply *r)
{
  (void)args, (void)r;
  m->at.echo = true;
  return 1;
}

static void sim_at_image_text(const struct sim_image *img, char *buf,
                              size_t cap, bool brackets)
{
  if (!strcmp(img->version, "unknown") || !img->version[0])
    snprintf(buf, cap, "unknown");
  else if (brackets)
    snprintf(buf, cap, "%s [%u]", img->version, img->build);
  else
    snprintf(buf, cap, "%s-%u", img->version, img->build);
}

static int sim_at_ati(struct sim_modem *m, const char *args,
                      struct sim_at_reply *r)
{
  (void)args;
  sim_at_line(r, "SEQUANS Communications");
  sim_at_line(r, "%s",
              m->cfg.profile == SIM_PROFILE_GM02S ? "GM02S" : "VZM20Q");
  sim_at_line(r, "UE%s", m->st.fff.ue);
  return 1;
}

static int sim_at_ati1(struct sim_modem *m, const char *args,
                       struct sim_at_reply *r)
{
  char v[40];
  (void)args;
  sim_at_image_text(&m->st.fff, v, sizeof(v), false);
  sim_at_line(r, "UE%s", m->st.fff.ue);
  sim_at_line(r, "LR%s", v);
  return 1;
}

static int sim_at_cgmr(struct sim_modem *m, const char *args,
                       struct sim_at_reply *r)
{
  char v[40];
  (void)args;
  sim_at_image_text(&m->st.fff, v, sizeof(v), false);
  sim_at_line(r, "LR%s", v);
  return 1;
}

static int sim_at_cgsn(struct sim_modem *m, const char *args,
                       struct sim_at_reply *r)
{
  (void)args;
  sim_at_line(r, "%s", m->cfg.profile == SIM_PROFILE_GM02S
                           ? "351234567890128"
                           : "354346090000017");
  return 1;
}

/* protocol.md 3.5: labels padded to 13 columns, '*' marks the active bank. */
static int sim_at_showver(struct sim_modem *m, const char *args,
                          struct sim_at_reply *r)
{
  char boot[40], upd[40], fff[40];
  (void)args;
  sim_at_image_text(&m->st.bootrom, boot, sizeof(boot), true);
  sim_at_image_text(&m->st.updater, upd, sizeof(upd), true);
  sim_at_image_text(&m->st.fff, fff, sizeof(fff), true);
  sim_at_line(r, "SYSTEM VERSION");
  sim_at_line(r, "==============");
  sim_at_line(r, "  FIRMWARE VERSION");
  sim_at_line(r, "    Bootloader0  : %s", boot);
  sim_at_line(r, "    Bootloader1  : %s", upd);
  sim_at_line(r, "    Bootloader2* : %s", upd);
  sim_at_line(r, "    NV Info      : 1.1,0,0");
  sim_at_line(r, "    Software     : %s by robot-soft at 2018-08-20 09:51:46",
              fff);
  sim_at_line(r, "    UE           : %s", m->st.fff.ue);
  sim_at_line(r, "  COMPONENTS");
  sim_at_line(r, "    ZSP0         : 1.0.99-13604");
  sim_at_line(r, "    ZSP1         : 1.0.99-12341");
  return 1;
}

static int sim_at_smod(struct sim_modem *m, const char *args,
                       struct sim_at_reply *r)
{
  (void)args;
  sim_at_line(r, "%d", (int)m->pwr.smod);
  return 1;
}

static int sim_at_bmod(struct sim_modem *m, const char *args,
                       struct sim_at_reply *r)
{
  (void)args;
  enum sim_smod s = m->pwr.smod;
  sim_at_line(r, "%s", s == SIM_SMOD_FFH_ELF ? "FFH" : sim_smod_name(s));
  return 1;
}

static int sim_at_swboot_q(struct sim_modem *m, const char *args,
                           struct sim_at_reply *r)
{
  (void)args;
  /* Format invented (protocol.md 8): hosts only look for the words. */
  sim_at_line(r, "+SMSWBOOT: %d,%s,%s", (int)m->st.boot_select,
              sim_boot_word(m->st.boot_select),
              m->pwr.smod == SIM_SMOD_FFH_ELF ? "FFH"
                                              : sim_smod_name(m->pwr.smod));
  return 1;
}

static int sim_at_swboot_set(struct sim_modem *m, const char *args,
                             struct sim_at_reply *r)
{
  long v[2];
  if (!strcmp(args, "?")) {
    sim_at_line(r, "+SMSWBOOT: (0-3),(0-1)");
    return 1;
  }
  int n = sim_at_ints(args, v, 2);
  if (n < 1 || v[0] < 0 || v[0] > 3 || (n == 2 && (v[1] < 0 || v[1] > 1)))
    return 0;
  /* Already in the recovery chain: selecting it again is refused. This is
   * what made the 2018 updater raise "AT+SMSWBOOT=3,0 failed!". */
  if (v[0] == SIM_BOOT_RECOVERY && m->pwr.smod != SIM_SMOD_FFF)
    return 0;
  if (m->st.boot_select != (enum sim_boot)v[0]) {
    char what[48];
    m->st.boot_select = (enum sim_boot)v[0];
    snprintf(what, sizeof(what), "boot_select %s",
             sim_boot_word(m->st.boot_select));
    sim_flash_commit(m, what);
  }
  if (n == 2 && v[1] == 1)
    r->after = SIM_AFTER_RESET;
  return 1;
}

static int sim_at_smstpu_otf(struct sim_modem *m, const char *args,
                             struct sim_at_reply *r)
{
  (void)m, (void)args;
  r->after = SIM_AFTER_STP_OTF;
  return 1;
}

static int sim_at_smstpu_store(struct sim_modem *m, const char *args,
                               struct sim_at_reply *r)
{
  (void)m, (void)args;
  r->after = SIM_AFTER_STP_STORE;
  return 1;
}

static int sim_at_stp(struct sim_modem *m, const char *args,
                      struct sim_at_reply *r)
{
  (void)m, (void)args;
  r->after = SIM_AFTER_STP_ELF;
  return 1;
}

static int sim_at_smupgrade_q(struct sim_modem *m, const char *args,
                              struct sim_at_reply *r)
{
  (void)args;
  if (!strcmp(m->st.upgrade_status, "fail") && m->st.fail_reason[0])
    sim_at_line(r, "+SMUPGRADE: fail: %s", m->st.fail_reason);
  else
    sim_at_line(r, "+SMUPGRADE: %s", m->st.upgrade_status);
  return 1;
}

static int sim_at_smupgrade(struct sim_modem *m, const char *args,
                            struct sim_at_reply *r)
{
  (void)args;
  if (sim_store_present(m)) {
    r->after = SIM_AFTER_APPLY;
    return 1;
  }
  /* Nothing stored: fine if the last upgrade went through. */
  return !strcmp(m->st.upgrade_status, "success");
}

static int sim_at_reset_cmd(struct sim_modem *m, const char *args,
                            struct sim_at_reply *r)
{
  (void)m, (void)args;
  r->after = SIM_AFTER_RESET;
  return 1;
}

static int sim_at_cfun_q(struct sim_modem *m, const char *args,
                         struct sim_at_reply *r)
{
  (void)args;
  sim_at_line(r, "+CFUN: %d", m->at.cfun);
  return 1;
}

static int sim_at_cfun_set(struct sim_modem *m, const char *args,
                           struct sim_at_reply *r)
{
  long v[2];
  if (!strcmp(args, "?")) {
    sim_at_line(r, "+CFUN: (0,1,4,5),(0-1)");
    return 1;
  }
  int n = sim_at_ints(args, v, 2);
  if (n < 1 || !(v[0] == 0 || v[0] == 1 || v[0] == 4 || v[0] == 5) ||
      (n == 2 && (v[1] < 0 || v[1] > 1)))
    return 0;
  m->at.cfun = (int)v[0];
  if (n == 2 && v[1] == 1)
    r->after = SIM_AFTER_RESET;
  return 1;
}

static int sim_at_ipr_q(struct sim_modem *m, const char *args,
                        struct sim_at_reply *r)
{
  (void)args;
  sim_at_line(r, "+IPR: %u", m->at.uart_baud);
  return 1;
}

static int sim_at_ipr_set(struct sim_modem *m, const char *args,
                          struct sim_at_reply *r)
{
  static const long rates[] = {9600,   19200,   38400,   57600,  115200,
                               230400, 460800,  921600,  1000000, 2000000,
                               3000000, 3686400, 4000000};
  long v[1];
  (void)m;
  if (!strcmp(args, "?")) {
    sim_at_line(r, "+IPR: (),(9600-4000000)");
    return 1;
  }
  if (sim_at_ints(args, v, 1) != 1)
    return 0;
  for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
    if (rates[i] == v[0]) {
      r->after = SIM_AFTER_IPR;
      r->ipr = (uint32_t)v[0];
      return 1;
    }
  }
  return 0;
}

/* The command table (style rule 4). Order matters only for prefixes. */
static const struct sim_at_cmd sim_at_cmds[] = {
    {"", 0, SIM_M_ALL, sim_at_ok},
    {"E0", 0, SIM_M_APP, sim_at_e0},
    {"E1", 0, SIM_M_APP, sim_at_e1},
    {"I", 0, SIM_M_FFF, sim_at_ati},
    {"I1", 0, SIM_M_FFF, sim_at_ati1},
    {"+CGMR", 0, SIM_M_FFF, sim_at_cgmr},
    {"!=\"showver\"", 0, SIM_M_FFF, sim_at_showver},
    {"+CGSN", 0, SIM_M_FFF, sim_at_cgsn},
    {"+SMOD?", 0, SIM_M_ALL, sim_at_smod},
    {"+BMOD?", 0, SIM_M_APP, sim_at_bmod},
    {"+SMSWBOOT?", 0, SIM_M_APP, sim_at_swboot_q},
    {"+SMSWBOOT=", SIM_AT_PREFIX, SIM_M_APP, sim_at_swboot_set},
    {"+SMSTPU=\"ON_THE_FLY\"", 0, SIM_M_APP, sim_at_smstpu_otf},
    {"+SMSTPU", 0, SIM_M_FFF, sim_at_smstpu_store},
    {"+SMUPGRADE?", 0, SIM_M_APP, sim_at_smupgrade_q},
    {"+SMUPGRADE", 0, SIM_M_FFF, sim_at_smupgrade},
    {"^RESET", 0, SIM_M_APP, sim_at_reset_cmd},
    {"+CFUN?", 0, SIM_M_APP, sim_at_cfun_q},
    {"+CFUN=", SIM_AT_PREFIX, SIM_M_APP, sim_at_cfun_set},
    {"+IPR?", 0, SIM_M_ALL, sim_at_ipr_q},
    {"+IPR=", SIM_AT_PREFIX, SIM_M_ALL, sim_at_ipr_set},
    {"+STP", 0, SIM_M_FFH, sim_at_stp},
    {"+SQNSUPGRADENTF=", SIM_AT_PREFIX, SIM_M_APP, sim_at_ok},
    {"+SMLOG?", 0, SIM_M_APP, sim_at_ok},
    {"+BIND=", SIM_AT_PREFIX, SIM_M_APP, sim_at_ok},
    {"+SQNWL=", SIM_AT_PREFIX, SIM_M_APP, sim_at_ok},
};

static const struct sim_at_cmd *sim_at_find(const char *rest,
                                            const char **args)
{
  for (size_t i = 0; i < sizeof(sim_at_cmds) / sizeof(sim_at_cmds[0]); i++) {
    const struct sim_at_cmd *c = &sim_at_cmds[i];
    size_t n = strlen(c->name);
    if (c->flags & SIM_AT_PREFIX) {
      if (!strncasecmp(rest, c->name, n)) {
        *args = rest + n;
        return c;
      }
    } else if (!strcasecmp(rest, c->name)) {
      *args = rest + n;
      return c;
    }
  }
  return NULL;
}

/* ---- replies ------------------------------------------------------------- */

static void sim_buf_add(uint8_t *buf, size_t cap, size_t *len, const char *s)
{
  size_t n = strlen(s);
  if (*len + n > cap)
    n = cap - *len;
  memcpy(buf + *len, s, n);
  *len += n;
}

void sim_at_reply_lines(struct sim_modem *m, const char *const *lines, int n,
                        int final, const struct sim_fx *fx)
{
  uint8_t buf[2048];
  size_t len = 0;
  bool app = sim_mode_app_style(m);
  int nurc = fx ? fx->nurc : 0;
  for (int i = 0; i < nurc + n; i++) {
    const char *l = i < nurc ? fx->urc[i] : lines[i - nurc];
    if (app)
      sim_buf_add(buf, sizeof(buf), &len, "\r\n");
    sim_buf_add(buf, sizeof(buf), &len, l);
    sim_buf_add(buf, sizeof(buf), &len, "\r\n");
    sim_trace(m, SIM_TRACE_AT_TX, NULL, 0, "%s", l);
  }
  if (final >= 0) {
    const char *f = final ? "OK" : "ERROR";
    if (app)
      sim_buf_add(buf, sizeof(buf), &len, "\r\n");
    sim_buf_add(buf, sizeof(buf), &len, f);
    sim_buf_add(buf, sizeof(buf), &len, "\r\n");
    sim_trace(m, SIM_TRACE_AT_TX, NULL, 0, "%s", f);
  }
  sim_out_fx(m, buf, len, fx);
}

/* A fault's REPLY text: lines separated by '\n'. */
static void sim_at_reply_text(struct sim_modem *m, const char *text,
                              const struct sim_fx *fx)
{
  char copy[SIM_FAULT_TEXT_MAX];
  const char *lines[16];
  int n = 0;
  snprintf(copy, sizeof(copy), "%s", text);
  for (char *s = copy, *e; s && n < 16; s = e ? e + 1 : NULL) {
    e = strchr(s, '\n');
    if (e)
      *e = '\0';
    lines[n++] = s;
  }
  sim_at_reply_lines(m, lines, n, -1, fx);
}

/* ---- dispatch ------------------------------------------------------------ */

static void sim_at_after(struct sim_modem *m, const struct sim_at_reply *r)
{
  static const uint8_t shutdown[] = "\r\n+SHUTDOWN\r\n";
  switch (r->after) {
  case SIM_AFTER_RESET:
    if (m->flt.quiet_boots) {
      sim_trace(m, SIM_TRACE_MODE, NULL, 0, "quiet boot: no +SHUTDOWN (fault)");
    } else {
      sim_out(m, shutdown, sizeof(shutdown) - 1, 0);
      sim_trace(m, SIM_TRACE_AT_TX, NULL, 0, "+SHUTDOWN");
    }
    sim_boot_start(m, "reset");
    break;
  case SIM_AFTER_STP_OTF:
    sim_stp_begin(m, SIM_STP_OTF);
    break;
  case SIM_AFTER_STP_STORE:
    sim_stp_begin(m, SIM_STP_STORE);
    break;
  case SIM_AFTER_STP_ELF:
    sim_stp_begin(m, SIM_STP_ELF);
    break;
  case SIM_AFTER_APPLY:
    sim_store_apply_start(m);
    break;
  case SIM_AFTER_IPR:
    sim_trace(m, SIM_TRACE_LINE, NULL, 0, "AT+IPR: %u -> %u baud",
              m->at.uart_baud, r->ipr);
    m->at.uart_baud = r->ipr;
    sim_line_trace(m, "AT+IPR");
    /* Once an upgrade has reset the UART config (F22), the application's
     * AT+IPR is what restores it: stored, so the next boot keeps it. */
    if (m->st.uart_baud && m->pwr.smod != SIM_SMOD_FFH &&
        m->pwr.smod != SIM_SMOD_FFH_ELF) {
      char what[64];
      m->st.uart_baud =
          r->ipr == sim_profile_baud(m, m->pwr.smod) ? 0 : r->ipr;
      snprintf(what, sizeof(what), "uart_baud %u%s", r->ipr,
               m->st.uart_baud ? "" : " (profile default)");
      sim_flash_commit(m, what);
    }
    break;
  default:
    break;
  }
}

static void sim_at_dispatch(struct sim_modem *m, uint8_t term)
{
  char text[SIM_AT_LINE_MAX * 4 + 8];
  struct sim_fx fx = {0};
  const char *args = "";

  sim_escape(text, sizeof(text), (const uint8_t *)m->at.line, m->at.line_len);
  sim_trace(m, SIM_TRACE_AT_RX, m->at.line, m->at.line_len, "%s", text);

  struct sim_fault_event ev = {.when = SIM_FAULT_ON_AT, .line = m->at.line};
  sim_faults_fire(m, &ev, &fx);
  if (fx.stop || m->pwr.power != SIM_PWR_ON || m->flt.silent)
    return;
  if (m->at.echo && sim_mode_app_style(m)) {
    sim_out(m, m->at.line, m->at.line_len, 0);
    sim_out(m, &term, 1, 0);
  }
  switch (fx.reply) {
  case SIM_FX_ERROR:
    sim_at_reply_lines(m, NULL, 0, 0, &fx);
    return;
  case SIM_FX_TEXT:
    sim_at_reply_text(m, fx.text, &fx);
    return;
  case SIM_FX_NOTHING:
    return;
  case SIM_FX_NUL: {
    uint8_t z[64] = {0};
    uint32_t n = fx.nul;
    while (n) {
      uint32_t k = n < sizeof(z) ? n : (uint32_t)sizeof(z);
      sim_out_fx(m, z, k, &fx);
      n -= k;
    }
    return;
  }
  default:
    break;
  }

  const struct sim_at_cmd *c = NULL;
  if (m->at.line_len >= 2 && (m->at.line[0] == 'A' || m->at.line[0] == 'a') &&
      (m->at.line[1] == 'T' || m->at.line[1] == 't'))
    c = sim_at_find(m->at.line + 2, &args);
  struct sim_at_reply *r = calloc(1, sizeof(*r));
  if (!r)
    return;
  int ok = 0;
  if (c && (c->modes & (1u << (unsigned)m->pwr.smod)))
    ok = c->fn(m, args, r);
  if (!ok)
    r->after = SIM_AFTER_NONE;
  const char *lines[SIM_AT_LINES] = {0};
  for (int i = 0; i < r->n; i++)
    lines[i] = r->lines[i];
  sim_at_reply_lines(m, lines, r->n, ok, &fx);
  if (ok)
    sim_at_after(m, r);
  free(r);
}

void sim_at_reset(struct sim_modem *m)
{
  m->at.line_len = 0;
  m->at.line_overflow = false;
  m->at.last_cr = false;
}

void sim_at_feed(struct sim_modem *m, const uint8_t *buf, size_t len,
                 size_t *used)
{
  for (size_t i = 0; i < len; i++) {
    uint8_t c = buf[i];
    if (c == 0)
      continue;
    if (c == '\n' && m->at.last_cr) {
      m->at.last_cr = false;
      continue;
    }
    if (c == '\r' || c == '\n') {
      m->at.last_cr = c == '\r';
      if (m->at.line_overflow) {
        struct sim_event e = {.type = SIM_EVENT_AT_OVERLONG};
        sim_trace_ev(m, SIM_TRACE_AT_RX, &e, NULL, 0,
                     "line longer than %d bytes, discarded", SIM_AT_LINE_MAX);
        sim_at_reply_lines(m, NULL, 0, 0, NULL);
      } else if (m->at.line_len) {
        m->at.line[m->at.line_len] = '\0';
        sim_at_dispatch(m, c);
      }
      m->at.line_len = 0;
      m->at.line_overflow = false;
      if (m->at.link != SIM_LINK_AT || m->pwr.power != SIM_PWR_ON ||
          m->flt.silent) {
        /* The rest belongs to STP (or is lost); a CR's LF is part of the
         * terminator. */
        m->stp.skip_lf = c == '\r';
        *used = i + 1;
        return;
      }
      continue;
    }
    m->at.last_cr = false;
    if (m->at.line_len < SIM_AT_LINE_MAX)
      m->at.line[m->at.line_len++] = (char)c;
    else
      m->at.line_overflow = true;
  }
  *used = len;
}

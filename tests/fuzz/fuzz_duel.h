/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The duel: libsqnup's updater (sqn_update, its public API only) against
 * the emulated modem (sim_model), on one virtual clock, with the fuzzer in
 * the middle of the line. Shared by two fuzz targets:
 *
 *   fuzz_updater_duel  the fuzzer plays the modem against the updater: it
 *                      decides the fate of every reply (deliver, split,
 *                      drop, corrupt, delay), injects replies and garbage
 *                      of its own, cuts power and arms faults; the
 *                      updater's invariants are checked after every step.
 *   fuzz_sim_deep      the same duel seen from the modem: the model's
 *                      invariants after every step (state reloads, mode
 *                      in range, no deadline in the past).
 *
 * Structure-aware: a valid signed package is built once (sqnup_pkg), so
 * the fuzzer's bytes go into timing, chunking, faults and power cuts, not
 * into forming a package. When its program ends, the duel runs on
 * faithfully (everything delivered, time to the next deadline) until the
 * updater ends, so most executions reach the deep states: a completed
 * push, the commit, the boot of the new firmware, the final verdict.
 *
 * Program (one opcode byte; arg = byte >> 3):
 *   0 host -> modem: deliver what the updater wrote (arg 0: all, else up
 *     to arg*64 bytes)
 *   1 modem -> host: deliver what the modem sent (arg 0: all, else up to
 *     arg*8 bytes)
 *   2 time: to the next deadline (arg 0) or arg*150 ms
 *   3 corrupt: flip a bit of a pending modem byte (arg picks it), or drop
 *     the pending modem bytes (arg 31)
 *   4 the fuzzer speaks: a canned modem line (arg picks) to the updater
 *   5 the fuzzer speaks: the next arg+1 input bytes, raw, to the updater
 *   6 power: cut (arg odd) or power on (arg even) the modem
 *   7 fault: arm fault table entry arg on the modem (once)
 *
 * Environment (replay and stats, not needed for fuzzing):
 *   SQN_DUEL_STATS=1      print, at exit, executions / completed upgrades
 *   SQN_DUEL_COVERAGE=F   write the updater states and (state, input) pairs
 *                         reached to F at exit
 */
#ifndef SQN_FUZZ_DUEL_H
#define SQN_FUZZ_DUEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fault.h"
#include "sim/modem.h"
#include "sim/state.h"
#include "sqnup/err.h"
#include "sqnup/pkg.h"
#include "sqnup/stp.h"
#include "sqnup/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DUEL_BUF 32768u
/* The longest wait the updater may arm (commit_ms / boot_ms, 15 min), at
 * timeout_scale 1, plus slack for the poll pause. */
#define DUEL_MAX_WAIT_MS (900000u + 60000u)
#define DUEL_AUTO_STEPS 20000

enum duel_input { DUEL_IN_FEED, DUEL_IN_TICK, DUEL_IN_N };

struct duel {
  struct sim_modem *m;
  struct sqn_update u;
  uint8_t tx[8192 + 16];
  uint8_t rx[256];
  uint64_t now_us;
  uint8_t h2m[DUEL_BUF];
  size_t h2m_len;
  uint8_t m2h[DUEL_BUF];
  size_t m2h_len;
  bool check_failed; /* the pre-flight check refused the package */
  int done_events;
  int done_err;
  bool fault_armed[32];
  /* How the last AT+SMOD? was answered: ERROR (the documented recovery
   * boot, "ERROR to everything") or something else. */
  bool smod_answer_error;
  /* The updater has known the mode once (its checks ran on it): later
   * probes that read nothing (after the push, say) do not unlearn it. */
  bool mode_known;
};

/* ---- the package, built once ---- */

static uint8_t *duel_pkg;
static size_t duel_pkg_len;
static uint8_t *duel_bad_pkg; /* one flipped byte: the check must refuse */
static uint8_t duel_elf[2048]; /* updater.elf for the FFH path */
static size_t duel_elf_len;

static void duel_build_package(void)
{
  if (duel_pkg)
    return;
  struct sqn_pkg_opts o;
  if (sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5) != 0)
    abort();
  o.version.found = true;
  o.version.v[0] = 5;
  o.version.v[1] = 2;
  o.version.v[2] = 0;
  o.version.v[3] = 0;
  o.version.build = 48829;
  o.size = 20000;
  size_t cap = 1u << 20;
  duel_pkg = malloc(cap);
  duel_bad_pkg = malloc(cap);
  if (!duel_pkg || !duel_bad_pkg ||
      sqn_pkg_build_buf(&o, duel_pkg, cap, &duel_pkg_len) != 0)
    abort();
  memcpy(duel_bad_pkg, duel_pkg, duel_pkg_len);
  struct sqn_pkg_elf_opts eo = {.version = o.version, .label = "updater",
                                .filler = 256};
  if (sqn_pkg_elf_build_buf(&eo, duel_elf, sizeof duel_elf, &duel_elf_len))
    abort();
  duel_bad_pkg[duel_pkg_len / 2] ^= 0x10;
}

/* ---- statistics and updater coverage ---- */

static unsigned long duel_runs, duel_completed, duel_modem_upgraded;
static unsigned char duel_state_seen[SQN_UPDATE_ST_COUNT];
static unsigned char duel_pair_seen[SQN_UPDATE_ST_COUNT][DUEL_IN_N];

static void duel_report(void)
{
  if (getenv("SQN_DUEL_STATS"))
    fprintf(stderr,
            "duel: %lu executions, %lu ended with a verified upgrade "
            "(%.1f%%), %lu left the modem running the new fff (%.1f%%)\n",
            duel_runs, duel_completed,
            duel_runs ? 100.0 * (double)duel_completed / (double)duel_runs
                      : 0.0,
            duel_modem_upgraded,
            duel_runs ? 100.0 * (double)duel_modem_upgraded /
                            (double)duel_runs
                      : 0.0);
  const char *cov = getenv("SQN_DUEL_COVERAGE");
  if (!cov)
    return;
  FILE *f = fopen(cov, "w");
  if (!f)
    return;
  unsigned states = 0, pairs = 0;
  for (int s = 0; s < SQN_UPDATE_ST_COUNT; s++) {
    states += duel_state_seen[s] != 0;
    for (int e = 0; e < DUEL_IN_N; e++)
      pairs += duel_pair_seen[s][e] != 0;
  }
  fprintf(f, "updater states reached: %u of %d\n", states,
          SQN_UPDATE_ST_COUNT);
  fprintf(f, "(state, input) pairs reached: %u of %d\n", pairs,
          SQN_UPDATE_ST_COUNT * DUEL_IN_N);
  fprintf(f, "%-16s %-8s %-5s %-5s\n", "state", "reached", "feed", "tick");
  for (int s = 0; s < SQN_UPDATE_ST_COUNT; s++)
    fprintf(f, "%-16s %-8s %-5s %-5s\n",
            sqn_update_state_name((enum sqn_update_state)s),
            duel_state_seen[s] ? "yes" : "NO",
            duel_pair_seen[s][DUEL_IN_FEED] ? "yes" : "-",
            duel_pair_seen[s][DUEL_IN_TICK] ? "yes" : "-");
  fclose(f);
}

static void duel_once(void)
{
  static bool registered;
  if (!registered) {
    registered = true;
    atexit(duel_report);
  }
}

/* ---- the line ---- */

static void duel_show(const char *dir, const uint8_t *buf, size_t n);

static void duel_modem_tx(void *user, const uint8_t *buf, size_t len)
{
  struct duel *d = user;
  /* A UART FIFO: what does not fit is lost (bounded memory). */
  size_t room = sizeof(d->m2h) - d->m2h_len;
  if (len > room)
    len = room;
  memcpy(d->m2h + d->m2h_len, buf, len);
  d->m2h_len += len;
}

#ifndef DUEL_ON_WRITE
#define DUEL_ON_WRITE(d, buf, len) ((void)0)
#endif

static int duel_host_write(void *user, const uint8_t *buf, size_t len)
{
  struct duel *d = user;
  duel_show("host> ", buf, len);
  DUEL_ON_WRITE(d, buf, len);
  size_t room = sizeof(d->h2m) - d->h2m_len;
  size_t n = len < room ? len : room;
  memcpy(d->h2m + d->h2m_len, buf, n);
  d->h2m_len += n;
  return (int)len;
}

static int duel_set_baud(void *user, uint32_t baud)
{
  struct duel *d = user;
  sim_modem_set_host_baud(d->m, baud);
  return 0;
}

static const uint8_t *duel_cur_pkg;

static int duel_read_pkg(void *user, enum sqn_update_src src, uint64_t off,
                         uint8_t *buf, size_t len)
{
  (void)user;
  const uint8_t *file = src == SQN_UPDATE_SRC_UPDATER ? duel_elf
                        : src == SQN_UPDATE_SRC_PACKAGE ? duel_cur_pkg
                                                        : NULL;
  size_t flen = src == SQN_UPDATE_SRC_UPDATER ? duel_elf_len : duel_pkg_len;
  if (!file || off > flen || len > flen - off)
    return -1;
  memcpy(buf, file + off, len);
  return (int)len;
}

static bool duel_verbose(void)
{
  static int v = -1;
  if (v < 0)
    v = getenv("SQN_DUEL_VERBOSE") != NULL;
  return v;
}

static void duel_show(const char *dir, const uint8_t *buf, size_t n)
{
  if (!duel_verbose())
    return;
  fprintf(stderr, "%s ", dir);
  for (size_t i = 0; i < n && i < 80; i++)
    fprintf(stderr, buf[i] >= 0x20 && buf[i] < 0x7f ? "%c" : "\\x%02x",
            buf[i]);
  fputc('\n', stderr);
}

static void duel_event(void *user, const struct sqn_update_event *ev)
{
  struct duel *d = user;
  if (duel_verbose() && (ev->kind == SQN_UPDATE_EV_LOG ||
                         ev->kind == SQN_UPDATE_EV_DONE))
    fprintf(stderr, "  [%s] %s\n", sqn_update_state_name(ev->state),
            ev->text ? ev->text : "");
  if (ev->kind == SQN_UPDATE_EV_DONE) {
    d->done_events++;
    d->done_err = ev->err;
  }
}

/* ---- one step of each kind ---- */

static uint64_t duel_now_ms(const struct duel *d) { return d->now_us / 1000u; }

static void duel_check(struct duel *d); /* per target */

static void duel_note(struct duel *d, enum duel_input in)
{
  enum sqn_update_state s = d->u.state;
  if ((unsigned)s < SQN_UPDATE_ST_COUNT) {
    duel_state_seen[s] = 1;
    duel_pair_seen[s][in] = 1;
  }
}

static void duel_to_modem(struct duel *d, size_t max)
{
  size_t n = max && max < d->h2m_len ? max : d->h2m_len;
  if (!n)
    return;
  sim_modem_feed(d->m, d->now_us, d->h2m, n);
  memmove(d->h2m, d->h2m + n, d->h2m_len - n);
  d->h2m_len -= n;
}

static void duel_to_host(struct duel *d, const uint8_t *buf, size_t n)
{
  if (!n || sqn_update_done(&d->u))
    return;
  duel_note(d, DUEL_IN_FEED);
  duel_show("modem>", buf, n);
  enum sqn_update_state before = d->u.state;
  sqn_update_feed(&d->u, duel_now_ms(d), buf, n);
  if ((before == SQN_UPDATE_ST_SMOD || before == SQN_UPDATE_ST_VERIFY_SMOD) &&
      d->u.state != before) {
    bool err = false;
    for (size_t k = 0; k + 5 <= n && !err; k++)
      err = memcmp(buf + k, "ERROR", 5) == 0;
    d->smod_answer_error = err;
    if (err || d->u.modem.smod >= 0)
      d->mode_known = true;
  }
  duel_state_seen[d->u.state % SQN_UPDATE_ST_COUNT] = 1;
}

static void duel_modem_to_host(struct duel *d, size_t max)
{
  size_t n = max && max < d->m2h_len ? max : d->m2h_len;
  if (!n)
    return;
  uint8_t tmp[DUEL_BUF];
  memcpy(tmp, d->m2h, n);
  memmove(d->m2h, d->m2h + n, d->m2h_len - n);
  d->m2h_len -= n;
  duel_to_host(d, tmp, n);
}

/* Advance to the next deadline of either side (or by `step_us`). */
static void duel_time(struct duel *d, uint64_t step_us)
{
  uint64_t next = d->now_us + step_us;
  if (!step_us) {
    uint64_t md = sim_modem_next_deadline(d->m);
    uint64_t ud = sqn_update_next_deadline(&d->u);
    uint64_t ud_us = ud == SQN_UPDATE_NEVER ? SIM_NEVER : ud * 1000u;
    next = md < ud_us ? md : ud_us;
    if (next == SIM_NEVER)
      next = d->now_us + 1000000u;
    if (next <= d->now_us)
      next = d->now_us + 1;
  }
  d->now_us = next;
  sim_modem_tick(d->m, d->now_us);
  if (!sqn_update_done(&d->u) &&
      sqn_update_next_deadline(&d->u) <= duel_now_ms(d)) {
    duel_note(d, DUEL_IN_TICK);
    sqn_update_tick(&d->u, duel_now_ms(d));
    duel_state_seen[d->u.state % SQN_UPDATE_ST_COUNT] = 1;
  }
}

static const char *const duel_lines[] = {
    "\r\nOK\r\n",          "\r\nERROR\r\n",        "OK\r\n",
    "\r\n+SMOD: 2\r\n\r\nOK\r\n", "\r\n+SMOD: 4\r\n\r\nOK\r\n",
    "\r\n+SMOD: 0\r\n\r\nOK\r\n", "\r\n+SMOD: 3\r\n\r\nOK\r\n",
    "\r\n+SYSSTART\r\n",   "\r\n+SHUTDOWN\r\n",    "^EXIT: exception: 7\r\n",
    "\r\n+SMUPGRADE: success\r\n\r\nOK\r\n",
    "\r\n+SMUPGRADE: fail\r\n\r\nOK\r\n",
    "\r\n+SMUPGRADE: on-going\r\n\r\nOK\r\n",
    "\r\nUE5.0.0.0c\r\nLR5.1.1.0-33988\r\n\r\nOK\r\n",
    "\r\nUE5.0.0.0c\r\nLR5.2.0.0-48829\r\n\r\nOK\r\n",
    "\r\nUE8.0.5.12\r\nLR8.2.0.3-60186\r\n\r\nOK\r\n",
    "\r\nLR6.0.0.0-41019\r\n\r\nOK\r\n",
    "\r\n+CME ERROR: 4\r\n",
    "AT\r\r\nOK\r\n",     "\r\n+CEREG: 0\r\n",   "\x7e\xff\x7d\x23\x7e",
    "\0\0\0\0",            "\xfe\xfd\x00\xf8",    "\r\n+SMSTPU: OK\r\n",
};

/* The faults the fuzzer may arm (index = arg). */
static void duel_fault(struct duel *d, unsigned i)
{
  i %= 32;
  if (d->fault_armed[i])
    return;
  d->fault_armed[i] = true;
  struct sim_fault f;
  memset(&f, 0, sizeof f);
  static const struct {
    enum sim_fault_trigger when;
    const char *match;
    enum sim_fault_action action;
    uint32_t count;
    uint64_t delay_us;
  } t[] = {
      {SIM_FAULT_ON_AT, "AT+SMSWBOOT=3,*", SIM_FAULT_DO_ERROR, 0, 0},
      {SIM_FAULT_ON_AT, "AT+SMSWBOOT=1,*", SIM_FAULT_DO_ERROR, 0, 0},
      {SIM_FAULT_ON_AT, "AT+SMOD?", SIM_FAULT_DO_DELAY, 0, 3000000},
      {SIM_FAULT_ON_AT, "AT+SMOD?", SIM_FAULT_DO_SPLIT, 3, 20000},
      {SIM_FAULT_ON_AT, "ATI1", SIM_FAULT_DO_NO_REPLY, 0, 0},
      {SIM_FAULT_ON_AT, "AT", SIM_FAULT_DO_NUL, 40, 0},
      {SIM_FAULT_ON_AT, "AT+SMSTPU*", SIM_FAULT_DO_ERROR, 0, 0},
      {SIM_FAULT_ON_AT, "AT+SMUPGRADE?", SIM_FAULT_DO_DELAY, 0, 2000000},
      {SIM_FAULT_ON_STP_OP, NULL, SIM_FAULT_DO_CORRUPT_PCRC, 0, 0},
      {SIM_FAULT_ON_STP_OP, NULL, SIM_FAULT_DO_DROP, 2, 0},
      {SIM_FAULT_ON_STP_OP, NULL, SIM_FAULT_DO_DELAY, 0, 75000000},
      {SIM_FAULT_ON_STP_OP, NULL, SIM_FAULT_DO_RESIDUE, 16, 0},
      {SIM_FAULT_ON_STP_OP, NULL, SIM_FAULT_DO_NACK, 0, 0},
      {SIM_FAULT_ON_STP_OP, NULL, SIM_FAULT_DO_CORRUPT_TID, 0, 0},
      {SIM_FAULT_ON_STP_PERCENT, NULL, SIM_FAULT_DO_POWER_CUT, 0, 2000000},
      {SIM_FAULT_ON_STP_PERCENT, NULL, SIM_FAULT_DO_CRASH, 0, 1000000},
      {SIM_FAULT_ON_MODE, NULL, SIM_FAULT_DO_SILENT, 0, 120000000},
      {SIM_FAULT_ON_MODE, NULL, SIM_FAULT_DO_QUIET_BOOT, 1, 0},
      {SIM_FAULT_ON_MODE, NULL, SIM_FAULT_DO_ECHO_ON, 0, 0},
      {SIM_FAULT_ON_ELAPSED, NULL, SIM_FAULT_DO_REBOOT, 0, 540000000},
      {SIM_FAULT_ON_AT, "AT+SMUPGRADE?", SIM_FAULT_DO_FAIL_UPGRADE, 0, 0},
      {SIM_FAULT_ON_AT, "AT*", SIM_FAULT_DO_URC, 0, 0},
      {SIM_FAULT_ON_POWER_ON, NULL, SIM_FAULT_DO_DATA_MODE, 0, 0},
      {SIM_FAULT_ON_AT, "AT^RESET", SIM_FAULT_DO_NO_REPLY, 0, 0},
  };
  if (i >= sizeof t / sizeof t[0])
    return;
  f.when = t[i].when;
  if (t[i].match)
    snprintf(f.match, sizeof f.match, "%s", t[i].match);
  f.action = t[i].action;
  f.count = t[i].count;
  f.delay_us = t[i].delay_us;
  f.first = 1;
  f.last = 1;
  f.op = SQN_STP_OP_BLOCK;
  f.percent = 40;
  f.after_us = 2000000;
  snprintf(f.text, sizeof f.text, "%s",
           f.action == SIM_FAULT_DO_FAIL_UPGRADE
               ? "failure[diffUpgrade,239] Patch didn't apply!"
               : "+CEREG: 2");
  char err[128];
  /* A fault armed late may already be due (an ELAPSED time that has
   * passed): the clock owner ticks, as sqn-sim's loop and the harness do
   * after every call into the model. */
  if (sim_fault_check(&f, err, sizeof err) == 0 &&
      sim_modem_add_fault(d->m, &f) == 0)
    sim_modem_tick(d->m, d->now_us);
}

/* ---- the duel ---- */

static struct duel *duel_new(uint8_t setup)
{
  duel_build_package();
  duel_once();
  struct duel *d = calloc(1, sizeof *d);
  if (!d)
    abort();
  struct sim_state st;
  static const char *const profile_fixture[] = {"healthy", "recovery",
                                                "factory", "ffh"};
  sim_state_factory(&st, SIM_PROFILE_MONARCH1);
  switch (setup & 3) {
  case 0: /* healthy FFF 5.1.1.0 */
    break;
  case 1: /* interrupted upgrade: boots RECOVERY */
    st.fff.valid = false;
    st.boot_select = SIM_BOOT_RECOVERY;
    break;
  case 2: /* stuck in updater mode */
    st.boot_select = SIM_BOOT_UPDATER;
    break;
  case 3: /* recovery selected, fff valid */
    st.boot_select = SIM_BOOT_RECOVERY;
    break;
  }
  if ((setup & 0x30) == 0x20) { /* FFH only: needs updater.elf */
    st.fff.valid = false;
    st.updater.valid = false;
    st.boot_select = SIM_BOOT_FFH;
  }
  (void)profile_fixture;
  struct sim_modem_config mc = {.profile = st.profile,
                                .state = &st,
                                .time_scale = 1.0,
                                .tx = duel_modem_tx,
                                .user = d};
  d->m = sim_modem_new(&mc, 0);
  sim_state_release(&st);
  if (!d->m)
    abort();
  duel_cur_pkg = (setup & 0xf0) == 0xf0 ? duel_bad_pkg : duel_pkg;
  struct sqn_update_config uc = {
      .mode = (setup & 0x30) == 0x10 ? SQN_UPDATE_MODE_INFO
                                     : SQN_UPDATE_MODE_UPGRADE,
      .updater_size = (setup & 0x30) == 0x20 ? duel_elf_len : 0,
      .tx_buf = d->tx,
      .tx_cap = sizeof d->tx,
      .rx_buf = d->rx,
      .rx_cap = sizeof d->rx,
      .pkg_size = duel_pkg_len,
      .baud = setup & 4 ? 115200 : 921600,
      .method = setup & 8 ? SQN_UPDATE_METHOD_STORE
                          : SQN_UPDATE_METHOD_ON_THE_FLY,
      .timeout_scale = 1.0,
      .write = duel_host_write,
      .set_baud = duel_set_baud,
      .read_pkg = duel_read_pkg,
      .event = duel_event,
      .user = d,
  };
  if (sqn_update_init(&d->u, &uc) != 0)
    abort();
  return d;
}

static void duel_free(struct duel *d)
{
  sim_modem_free(d->m);
  free(d);
}

/* Run the program, then the faithful line until the updater ends. */
static void duel_run(const uint8_t *data, size_t size)
{
  if (size < 1)
    return;
  struct duel *d = duel_new(data[0]);
  duel_runs++;
  duel_state_seen[d->u.state % SQN_UPDATE_ST_COUNT] = 1;
  if (sqn_update_start(&d->u, 0) != 0)
    d->check_failed = true;
  duel_state_seen[d->u.state % SQN_UPDATE_ST_COUNT] = 1;
  duel_note(d, DUEL_IN_TICK);
  duel_check(d);
  size_t i = 1;
  while (i < size && !sqn_update_done(&d->u)) {
    uint8_t c = data[i++];
    unsigned arg = c >> 3;
    switch (c & 7) {
    case 0:
      duel_to_modem(d, arg * 64u);
      break;
    case 1:
      duel_modem_to_host(d, arg * 8u);
      break;
    case 2:
      duel_time(d, (uint64_t)arg * 150000u);
      break;
    case 3:
      if (arg == 31)
        d->m2h_len = 0;
      else if (d->m2h_len)
        d->m2h[(arg * 7u) % d->m2h_len] ^= (uint8_t)(1u << (arg & 7));
      break;
    case 4: {
      const char *l =
          duel_lines[arg % (sizeof duel_lines / sizeof duel_lines[0])];
      size_t n = arg % 24 == 21 ? 4 : strlen(l);
      duel_to_host(d, (const uint8_t *)l, n);
      break;
    }
    case 5: {
      size_t n = arg + 1 < size - i ? arg + 1 : size - i;
      duel_to_host(d, data + i, n);
      i += n;
      break;
    }
    case 6:
      if (arg & 1)
        sim_modem_power_cut(d->m, d->now_us);
      else
        sim_modem_power_on(d->m, d->now_us);
      break;
    case 7:
      duel_fault(d, arg);
      break;
    }
    duel_check(d);
  }
  /* The faithful line: the modem powered, everything delivered, time to
   * the next deadline. The updater must end (bounded waits). */
  if (!sim_modem_powered(d->m))
    sim_modem_power_on(d->m, d->now_us);
  for (int step = 0; step < DUEL_AUTO_STEPS && !sqn_update_done(&d->u);
       step++) {
    duel_to_modem(d, 0);
    duel_modem_to_host(d, 0);
    if (d->h2m_len == 0 && d->m2h_len == 0)
      duel_time(d, 0);
    duel_check(d);
  }
  if (!sqn_update_done(&d->u)) {
    fprintf(stderr, "duel: the updater has not ended after %d steps "
                    "(state %s, %llu ms)\n",
            DUEL_AUTO_STEPS, sqn_update_state_name(d->u.state),
            (unsigned long long)duel_now_ms(d));
    abort();
  }
  /* Let the modem finish what it was told (the final boot). */
  for (int step = 0; step < 50 && sim_modem_next_deadline(d->m) != SIM_NEVER;
       step++) {
    d->now_us = sim_modem_next_deadline(d->m);
    sim_modem_tick(d->m, d->now_us);
  }
  const struct sim_state *st = sim_modem_state(d->m);
  if (sqn_update_result(&d->u) == 0)
    duel_completed++;
  if (st->fff.valid && strcmp(st->fff.version, "5.2.0.0") == 0)
    duel_modem_upgraded++;
  duel_check(d);
  duel_free(d);
}

#endif /* SQN_FUZZ_DUEL_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-process rig for the modem model tests: a virtual clock, the modem's
 * output captured in a buffer, flash persists counted, and a tiny STP
 * master that pushes a buffer the way Walter's and Pycom's masters do.
 */
#ifndef TEST_SIM_HELPERS_H
#define TEST_SIM_HELPERS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sim/fault.h"
#include "sim/modem.h"
#include "sim/state_file.h"
#include "sqnup/pkg.h"
#include "sqnup/stp.h"

struct rig {
  struct sim_modem *m;
  uint64_t now;
  uint8_t *out;
  size_t out_len, out_cap;
  unsigned persists;
  unsigned faults_fired;
  unsigned flash_events;
  char last_line[300]; /* text of the last "line" trace event */
};

static void rig_tx(void *user, const uint8_t *buf, size_t len)
{
  struct rig *r = user;
  if (r->out_len + len > r->out_cap) {
    r->out_cap = (r->out_len + len) * 2 + 256;
    r->out = realloc(r->out, r->out_cap);
    ck_assert_ptr_nonnull(r->out);
  }
  memcpy(r->out + r->out_len, buf, len);
  r->out_len += len;
}

static void rig_persist(void *user, const struct sim_state *st)
{
  struct rig *r = user;
  (void)st;
  r->persists++;
}

static void rig_trace(void *user, const struct sim_trace_event *ev)
{
  struct rig *r = user;
  if (ev->kind == SIM_TRACE_FAULT)
    r->faults_fired++;
  if (ev->kind == SIM_TRACE_FLASH)
    r->flash_events++;
  if (ev->kind == SIM_TRACE_LINE)
    snprintf(r->last_line, sizeof(r->last_line), "%s", ev->text);
  if (getenv("SIM_TEST_TRACE"))
    fprintf(stderr, "%10llu %-7s %s\n", (unsigned long long)ev->t_us,
            sim_trace_kind_name(ev->kind), ev->text);
}

static void rig_load_state(struct sim_state *st, const char *name)
{
  char path[512], err[256];
  snprintf(path, sizeof(path), "%s/states/%s.json", SQN_FIXTURES, name);
  if (sim_state_load(path, st, err, sizeof(err)))
    ck_abort_msg("%s", err);
}

/* Run the virtual clock to `until`, firing every timer on the way. */
static void rig_run_to(struct rig *r, uint64_t until)
{
  for (;;) {
    uint64_t d = sim_modem_next_deadline(r->m);
    if (d > until)
      break;
    if (d > r->now)
      r->now = d;
    sim_modem_tick(r->m, r->now);
  }
  r->now = until;
  sim_modem_tick(r->m, r->now);
}

static void rig_run(struct rig *r, uint64_t us) { rig_run_to(r, r->now + us); }

/* A modem from a named state (NULL: factory) at time scale `scale`, with
 * the model's test-only `debug_flags`, booted and its boot output cleared. */
static void rig_init_debug(struct rig *r, const char *state,
                           enum sim_profile prof, double scale,
                           unsigned debug_flags)
{
  struct sim_state st;
  memset(r, 0, sizeof(*r));
  if (state)
    rig_load_state(&st, state);
  else
    sim_state_factory(&st, prof);
  struct sim_modem_config cfg = {
      .profile = st.profile,
      .state = &st,
      .time_scale = scale,
      .tx = rig_tx,
      .persist = rig_persist,
      .trace = rig_trace,
      .user = r,
      .debug_flags = debug_flags,
  };
  r->now = 1000;
  r->m = sim_modem_new(&cfg, r->now);
  ck_assert_ptr_nonnull(r->m);
  sim_state_release(&st);
  rig_run(r, 20 * 1000000ull);
}

static void rig_init(struct rig *r, const char *state, enum sim_profile prof,
                     double scale)
{
  rig_init_debug(r, state, prof, scale, 0);
}

/* What the modem's PPP peer answers to a line in data mode. */
#define RIG_PPP_ECHO                                                         \
  "\x7e\xff\x7d\x23\xc0\x21\x7d\x29\x7d\x21\x7d\x20\x7d\x28\x7d\x20\x7d"     \
  "\x20\x7d\x20\x7d\x20\x6e\xf1\x7e"

/* A genuine-layout package (PACK > boot, updater, fff, fs) in memory, of
 * `size` bytes (0: the minimum); its layout is left in `rig_pkg_layout`. */
static struct sqn_pkg_layout rig_pkg_layout;

static uint8_t *mk_pkg(size_t *len, uint64_t size, unsigned fff_build)
{
  struct sqn_pkg_opts o;
  ck_assert_int_eq(sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5), 0);
  o.version.build = fff_build;
  o.size = size;
  ck_assert_int_eq(sqn_pkg_layout(&o, &rig_pkg_layout), 0);
  uint8_t *buf = malloc(rig_pkg_layout.total);
  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(sqn_pkg_build_buf(&o, buf, rig_pkg_layout.total, len), 0);
  return buf;
}

static void rig_free(struct rig *r)
{
  sim_modem_free(r->m);
  free(r->out);
  memset(r, 0, sizeof(*r));
}

static void rig_clear(struct rig *r) { r->out_len = 0; }

static void rig_send(struct rig *r, const char *s)
{
  sim_modem_feed(r->m, r->now, (const uint8_t *)s, strlen(s));
}

/* Send a command and compare everything the modem says within 30 s. */
static void rig_expect(struct rig *r, const char *cmd, const char *want)
{
  rig_clear(r);
  rig_send(r, cmd);
  rig_run(r, 30 * 1000000ull);
  ck_assert_mem_hex_eq(r->out, r->out_len, want, strlen(want));
}

static int rig_out_has(const struct rig *r, const char *s)
{
  size_t n = strlen(s);
  for (size_t i = 0; i + n <= r->out_len; i++)
    if (!memcmp(r->out + i, s, n))
      return 1;
  return 0;
}

/* ---- STP master ---------------------------------------------------------- */

/* Send one request; return the response op (or -1 when none) and copy the
 * response payload. */
static int rig_stp(struct rig *r, uint8_t op, uint8_t sid, uint32_t tid,
                   const uint8_t *payload, uint16_t plen, uint8_t *rsp_pl,
                   size_t rsp_cap)
{
  static uint8_t frame[16 + 8192];
  size_t n = sqn_stp_encode(frame, sizeof(frame), SQN_STP_MAGIC_REQ, op, sid,
                            tid, payload, plen, 0);
  ck_assert_uint_gt(n, 0);
  rig_clear(r);
  sim_modem_feed(r->m, r->now, frame, n);
  rig_run(r, 100000);
  if (r->out_len < 16)
    return -1;
  struct sqn_stp_hdr h;
  sqn_stp_hdr_parse(&h, r->out);
  if (h.magic != SQN_STP_MAGIC_RSP)
    return -2;
  if (rsp_pl && h.plen && r->out_len >= 16u + h.plen)
    memcpy(rsp_pl, r->out + 16, h.plen < rsp_cap ? h.plen : rsp_cap);
  return h.op;
}

/* Walter-style push: RESET, OPEN, blocks of mts - 16, final RESET (0,0).
 * Returns the max transfer the slave announced. */
static unsigned rig_push(struct rig *r, const uint8_t *data, size_t len)
{
  uint8_t pl[8];
  ck_assert_int_eq(rig_stp(r, 0, 0, 0, NULL, 0, NULL, 0), 0x80);
  ck_assert_int_eq(rig_stp(r, 1, 1, 1, NULL, 0, pl, sizeof(pl)), 0x81);
  ck_assert_uint_eq(pl[0], 1);
  ck_assert_uint_eq(pl[1], 1);
  unsigned mts = (unsigned)pl[2] << 8 | pl[3];
  size_t blk = mts - 16, off = 0;
  uint32_t tid = 2;
  while (off < len) {
    size_t l = len - off < blk ? len - off : blk;
    uint8_t cmd[2] = {(uint8_t)(l >> 8), (uint8_t)l};
    ck_assert_int_eq(rig_stp(r, 2, 1, tid++, cmd, 2, NULL, 0), 0x82);
    ck_assert_int_eq(rig_stp(r, 3, 1, tid++, data + off, (uint16_t)l, pl,
                             sizeof(pl)),
                     0x83);
    size_t residue = (size_t)pl[0] << 8 | pl[1];
    ck_assert_uint_le(residue, l);
    if (residue == l)
      break; /* the slave takes nothing more (store full) */
    off += l - residue;
  }
  ck_assert_int_eq(rig_stp(r, 0, 0, 0, NULL, 0, NULL, 0), 0x80);
  return mts;
}

#endif /* TEST_SIM_HELPERS_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP master against a scripted slave through the in-memory transport, on a
 * virtual clock. Responses reach the master whole, bytewise and in random
 * chunks (the transport's `limit` and sqn_feed), and faults are injected per
 * response: residue, bad hcrc, wrong magic, wrong tid, delay, silence.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/crc.h"
#include "sqnup/err.h"
#include "sqnup/stp.h"
#include "sqnup/stpm.h"
#include "memport.h"
#include "sqnup/transport.h"

/* ---- instances and fixtures ---------------------------------------------- */

enum fault { F_NONE, F_RESIDUE, F_BAD_HCRC, F_BAD_MAGIC, F_BAD_TID, F_DELAY,
             F_SILENT, F_ALL_BAD };

struct slave {
  struct sqn_stp_decoder dec;
  uint8_t dbuf[16 + 8192];
  uint8_t *img;          /* what the slave consumed, by offset */
  size_t img_len, img_cap;
  uint16_t mts;
  uint16_t announced;
  unsigned blocks, resets, opens, frames;
  uint32_t last_block_tid;
  bool have_last;
  /* fault plan: applies to the response to the n-th BLOCK (1-based) */
  enum fault fault;
  unsigned fault_block;
  unsigned fault_left;   /* how many times */
  uint16_t residue;
  uint64_t delay_ms;
  /* responses waiting for their time */
  uint8_t pend[64];
  size_t pend_len;
  uint64_t pend_at;
  bool pending;
  struct rig *rig;
};

struct rig {
  struct sqn_stpm m;
  struct slave s;
  struct sqn_memport port;
  struct sqn_transport tp;
  uint8_t ring_rx[4096], ring_tx[32768];
  uint8_t tx[16 + 8192], rx[128];
  uint8_t *image;
  size_t image_len;
  uint64_t now;
  enum sqn_feed_mode mode;
  uint64_t seed;
  unsigned logs;
};

/* ---- recording callbacks ------------------------------------------------- */

static void slave_respond(struct slave *s, const struct sqn_stp_hdr *h,
                          const uint8_t *pl, uint16_t plen) {
  uint8_t out[64];
  unsigned flags = SQN_STP_ENC_ZERO_HCRC; /* as real modems */
  size_t n;
  bool corrupt = false;
  uint32_t tid = h->tid;
  if (h->op == SQN_STP_OP_BLOCK && s->fault != F_NONE &&
      s->blocks >= s->fault_block && s->fault_left > 0) {
    corrupt = true;
    s->fault_left--;
  }
  if (corrupt && s->fault == F_SILENT)
    return;
  if (corrupt && s->fault == F_BAD_TID)
    tid += 7;
  if (corrupt && (s->fault == F_BAD_HCRC || s->fault == F_ALL_BAD))
    flags = 0;
  n = sqn_stp_encode(out, sizeof out, SQN_STP_MAGIC_RSP,
                     (uint8_t)(h->op | SQN_STP_ACK), h->sid, tid, pl, plen,
                     flags);
  ck_assert_uint_gt(n, 0);
  if (corrupt && (s->fault == F_BAD_HCRC || s->fault == F_ALL_BAD))
    out[12] ^= 0x40;
  if (corrupt && s->fault == F_BAD_MAGIC)
    out[0] = 0x75;
  memcpy(s->pend, out, n);
  s->pend_len = n;
  s->pending = true;
  s->pend_at = s->rig->now + (corrupt && s->fault == F_DELAY ? s->delay_ms : 0);
}

static void slave_frame(void *user, const struct sqn_stp_frame *f) {
  struct slave *s = user;
  const struct sqn_stp_hdr *h = &f->hdr;
  s->frames++;
  switch (h->op) {
  case SQN_STP_OP_RESET:
    s->resets++;
    slave_respond(s, h, NULL, 0);
    break;
  case SQN_STP_OP_OPEN: {
    uint8_t pl[4] = {1, 1, (uint8_t)(s->mts >> 8), (uint8_t)s->mts};
    s->opens++;
    slave_respond(s, h, pl, 4);
    break;
  }
  case SQN_STP_OP_BLOCK_CMD:
    ck_assert_uint_eq(h->plen, 2);
    s->announced = (uint16_t)(f->payload[0] << 8 | f->payload[1]);
    ck_assert_uint_le(s->announced, s->mts - 16);
    slave_respond(s, h, NULL, 0);
    break;
  case SQN_STP_OP_BLOCK: {
    uint16_t res = 0;
    uint8_t pl[2];
    ck_assert_uint_eq(h->plen, s->announced);
    /* Dedupe by tid: a resend of the block already taken is not data. */
    if (!(s->have_last && h->tid == s->last_block_tid)) {
      s->blocks++;
      if (s->fault == F_RESIDUE && s->blocks == s->fault_block)
        res = s->residue > h->plen ? h->plen : s->residue;
      size_t take = h->plen - res;
      if (s->img_len + take > s->img_cap) {
        s->img_cap = (s->img_len + take) * 2;
        s->img = realloc(s->img, s->img_cap);
      }
      memcpy(s->img + s->img_len, f->payload, take);
      s->img_len += take;
      s->last_block_tid = h->tid;
      s->have_last = true;
    }
    pl[0] = (uint8_t)(res >> 8);
    pl[1] = (uint8_t)res;
    slave_respond(s, h, pl, 2);
    break;
  }
  default:
    ck_abort_msg("unexpected op %u", h->op);
  }
}

static int m_write(void *user, const uint8_t *buf, size_t len) {
  struct rig *r = user;
  /* Through the transport: partial writes are normal, so loop, handing
   * what was accepted to the slave. */
  size_t done = 0;
  while (done < len) {
    int n = r->tp.ops->write(r->tp.impl, buf + done, len - done);
    ck_assert_int_ge(n, 0);
    done += (size_t)n;
    uint8_t tmp[4096];
    size_t k;
    while ((k = sqn_memport_drain(&r->port, tmp, sizeof tmp)) > 0)
      sqn_stp_decoder_feed(&r->s.dec, tmp, k);
  }
  return (int)len;
}

static int m_read(void *user, uint64_t off, uint8_t *buf, size_t len) {
  struct rig *r = user;
  if (off > r->image_len || len > r->image_len - off)
    return -1;
  memcpy(buf, r->image + off, len);
  return (int)len;
}

static void m_log(void *user, const char *text) {
  struct rig *r = user;
  r->logs++;
  if (getenv("UPD_TEST_TRACE"))
    fprintf(stderr, "%8llu %s\n", (unsigned long long)r->now, text);
}

static void feed_master(void *user, const uint8_t *buf, size_t len) {
  struct rig *r = user;
  sqn_stpm_feed(&r->m, r->now, buf, len);
}

static void rig_init(struct rig *r, size_t image_len, uint16_t mts,
                     enum sqn_feed_mode mode) {
  memset(r, 0, sizeof *r);
  r->mode = mode;
  r->seed = 42 + image_len;
  r->now = 1000;
  r->image_len = image_len;
  r->image = malloc(image_len);
  struct sqn_rng g;
  sqn_rng_seed(&g, image_len);
  for (size_t i = 0; i < image_len; i++)
    r->image[i] = (uint8_t)sqn_rng_next(&g);
  sqn_memport_init(&r->port, r->ring_rx, sizeof r->ring_rx, r->ring_tx,
                   sizeof r->ring_tx);
  r->tp.ops = &sqn_memport_ops;
  r->tp.impl = &r->port;
  ck_assert_int_eq(r->tp.ops->open(r->tp.impl), 0);
  if (mode == SQN_FEED_BYTEWISE)
    r->port.limit = 1;
  else if (mode == SQN_FEED_RANDOM)
    r->port.limit = 7;
  r->s.mts = mts;
  r->s.rig = r;
  struct sqn_stp_decoder_config dc = {
      .magic = SQN_STP_MAGIC_REQ, .buf = r->s.dbuf, .buf_cap = sizeof r->s.dbuf,
      .max_plen = 8192, .flags = 0, .on_frame = slave_frame, .user = &r->s};
  ck_assert_int_eq(sqn_stp_decoder_init(&r->s.dec, &dc), 0);
  struct sqn_stpm_config c = {
      .tx_buf = r->tx, .tx_cap = sizeof r->tx, .rx_buf = r->rx,
      .rx_cap = sizeof r->rx, .total = image_len, .ack_ms = 120000,
      .final_ms = 10000, .retries = 4, .write = m_write, .read = m_read,
      .log = m_log, .user = r};
  ck_assert_int_eq(sqn_stpm_init(&r->m, &c), 0);
}

static void rig_free(struct rig *r) {
  free(r->image);
  free(r->s.img);
}

/* Run until the master is done: deliver due responses through the port
 * (reads capped by `limit`), then jump the clock to the next event. */
static void rig_run(struct rig *r) {
  ck_assert_int_eq(sqn_stpm_start(&r->m, r->now), 0);
  for (unsigned guard = 0; !sqn_stpm_done(&r->m); guard++) {
    ck_assert_uint_lt(guard, 10000000);
    if (r->s.pending && r->s.pend_at <= r->now) {
      r->s.pending = false;
      sqn_memport_inject(&r->port, r->s.pend, r->s.pend_len);
      uint8_t tmp[64];
      int n;
      while ((n = r->tp.ops->read(r->tp.impl, tmp, sizeof tmp)) > 0)
        sqn_feed(r->mode, r->seed++, tmp, (size_t)n, feed_master, r);
      continue;
    }
    uint64_t d = sqn_stpm_next_deadline(&r->m);
    if (r->s.pending && r->s.pend_at < d)
      d = r->s.pend_at;
    ck_assert(d != UINT64_MAX);
    if (d > r->now)
      r->now = d;
    sqn_stpm_tick(&r->m, r->now);
  }
}

static void assert_image(struct rig *r) {
  ck_assert_int_eq(r->m.result, 0);
  ck_assert_int_eq(r->m.state, SQN_STPM_ST_DONE);
  ck_assert_mem_hex_eq(r->s.img, r->s.img_len, r->image, r->image_len);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_stpm_clean_push_image_identical) {
  struct rig r;
  rig_init(&r, 50000, 8192, (enum sqn_feed_mode)_i);
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_eq(r.m.mts, 8192);
  ck_assert_uint_eq(r.s.blocks, (50000 + 8175) / 8176);
  ck_assert_uint_eq(r.s.resets, 2); /* first and final */
  ck_assert_uint_eq(r.m.resends, 0);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_small_mts_blocks_of_mts_minus_16) {
  struct rig r;
  rig_init(&r, 5000, 2048, (enum sqn_feed_mode)_i);
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_eq(r.s.blocks, 3); /* 2032 + 2032 + 936 */
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_residue_resends_unconsumed_tail) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_RESIDUE;
  r.s.fault_block = 2;
  r.s.residue = 100;
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_eq(r.m.residues, 1);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_bad_hcrc_resends_same_tid) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_BAD_HCRC;
  r.s.fault_block = 2;
  r.s.fault_left = 1;
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_ge(r.m.resends, 1);
  ck_assert_uint_ge(r.m.bad_responses, 1);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_wrong_magic_times_out_then_recovers) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_BAD_MAGIC;
  r.s.fault_block = 1;
  r.s.fault_left = 1;
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_eq(r.m.resends, 1);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_wrong_tid_recovers) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_BAD_TID;
  r.s.fault_block = 3;
  r.s.fault_left = 1;
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_ge(r.m.bad_responses, 1);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_delayed_ack_75s_not_resent) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_DELAY;
  r.s.fault_block = 2;
  r.s.fault_left = 1;
  r.s.delay_ms = 75000;
  rig_run(&r);
  assert_image(&r);
  ck_assert_uint_eq(r.m.resends, 0);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_silent_block_reports_stalled_and_resets) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_SILENT;
  r.s.fault_block = 1;
  r.s.fault_left = 1000;
  rig_run(&r);
  ck_assert_int_eq(r.m.result, SQN_E_TRANSFER_STALLED);
  ck_assert_int_eq(r.m.state, SQN_STPM_ST_FAILED);
  ck_assert_uint_eq(r.s.resets, 2); /* the initial one and the closing one */
  /* Bounded: 4 sends x 120 s. */
  ck_assert_uint_le(r.now, 1000 + 5 * 120000);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_every_response_corrupt_reports_protocol) {
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_ALL_BAD;
  r.s.fault_block = 1;
  r.s.fault_left = 1000;
  rig_run(&r);
  ck_assert_int_eq(r.m.result, SQN_E_STP_PROTOCOL);
  ck_assert_uint_eq(r.s.resets, 2);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_every_magic_corrupt_reports_protocol_soon) {
  /* S24c with corrupt magics: the decoder never sees a frame, only bytes.
   * Answers that keep coming are a protocol failure, not a stall, and they
   * are resent soon instead of after the full 120 s ack bound. */
  struct rig r;
  rig_init(&r, 30000, 8192, (enum sqn_feed_mode)_i);
  r.s.fault = F_BAD_MAGIC;
  r.s.fault_block = 1;
  r.s.fault_left = 1000;
  rig_run(&r);
  ck_assert_int_eq(r.m.result, SQN_E_STP_PROTOCOL);
  ck_assert_int_eq(r.m.state, SQN_STPM_ST_FAILED);
  ck_assert_uint_eq(r.s.resets, 2); /* the initial one and the closing one */
  ck_assert_uint_ge(r.m.bad_responses, 4);
  ck_assert_uint_le(r.now, 1000 + 120000); /* well under 4 x 120 s */
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_stale_bytes_before_reset_ignored) {
  struct rig r;
  static const uint8_t stale[] = "\r\nOK\r\ntsaf\x80\x00\x00\x00\x00";
  rig_init(&r, 20000, 8192, (enum sqn_feed_mode)_i);
  /* 37-ish stale bytes in the host RX before the session (S24d). */
  sqn_stpm_feed(&r.m, r.now, stale, sizeof stale - 1);
  rig_run(&r);
  assert_image(&r);
  rig_free(&r);
}
END_TEST

START_TEST(test_stpm_rejects_bad_config) {
  struct sqn_stpm m;
  struct sqn_stpm_config c;
  memset(&c, 0, sizeof c);
  ck_assert_int_eq(sqn_stpm_init(&m, &c), SQN_E_BAD_ARGUMENTS);
  ck_assert_str_eq(sqn_stpm_state_name(SQN_STPM_ST_BLOCK), "BLOCK");
}
END_TEST

/* A slave that only counts and acks: measures the master alone. */
struct fast {
  struct sqn_stpm m;
  uint8_t tx[16 + 8192], rx[128];
  const uint8_t *img;
  size_t len;
  uint8_t ack[32];
  size_t ack_len;
  uint32_t sent_bytes;
};

static int fast_write(void *user, const uint8_t *buf, size_t len) {
  struct fast *f = user;
  struct sqn_stp_hdr h;
  uint8_t pl[4] = {1, 1, 0x20, 0x00};
  sqn_stp_hdr_parse(&h, buf);
  f->ack_len = sqn_stp_encode(f->ack, sizeof f->ack, SQN_STP_MAGIC_RSP,
                              (uint8_t)(h.op | 0x80), h.sid, h.tid,
                              h.op == 1 ? pl : (h.op == 3 ? pl + 2 : NULL),
                              h.op == 1 ? 4 : (h.op == 3 ? 2 : 0),
                              SQN_STP_ENC_ZERO_HCRC);
  if (h.op == 3) {
    f->ack[16] = 0; /* residue 0 */
    f->ack[17] = 0;
    f->ack[14] = 0;
    f->ack[15] = 0;
  }
  f->sent_bytes += (uint32_t)len;
  return (int)len;
}

static int fast_read(void *user, uint64_t off, uint8_t *buf, size_t len) {
  struct fast *f = user;
  memcpy(buf, f->img + off, len);
  return (int)len;
}

START_TEST(test_stpm_big_push_with_instant_acks_completes) {
  /* 5,665,583 bytes with every ack at once: the master finishes, all
   * acked. Its speed is measured by bench_inproc, not asserted here. */
  static struct fast f;
  size_t len = 5665583;
  uint8_t *img = calloc(1, len);
  ck_assert_ptr_nonnull(img);
  memset(&f, 0, sizeof f);
  f.img = img;
  f.len = len;
  struct sqn_stpm_config c = {
      .tx_buf = f.tx, .tx_cap = sizeof f.tx, .rx_buf = f.rx,
      .rx_cap = sizeof f.rx, .total = len, .ack_ms = 120000,
      .final_ms = 10000, .retries = 4, .write = fast_write, .read = fast_read,
      .user = &f};
  ck_assert_int_eq(sqn_stpm_init(&f.m, &c), 0);
  ck_assert_int_eq(sqn_stpm_start(&f.m, 0), 0);
  while (!sqn_stpm_done(&f.m)) {
    size_t n = f.ack_len;
    f.ack_len = 0;
    ck_assert_uint_gt(n, 0);
    sqn_stpm_feed(&f.m, 0, f.ack, n);
  }
  ck_assert_int_eq(f.m.result, 0);
  ck_assert_uint_eq(f.m.acked, len);
  ck_assert_uint_eq(f.m.resends, 0);
  free(img);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static Suite *stpm_suite(void) {
  Suite *s = suite_create("stpm");
  TCase *tc = tcase_create("master");
  tcase_set_timeout(tc, 30);
  tcase_add_loop_test(tc, test_stpm_clean_push_image_identical, 0, 3);
  tcase_add_loop_test(tc, test_stpm_small_mts_blocks_of_mts_minus_16, 0, 3);
  tcase_add_loop_test(tc, test_stpm_residue_resends_unconsumed_tail, 0, 3);
  tcase_add_loop_test(tc, test_stpm_bad_hcrc_resends_same_tid, 0, 3);
  tcase_add_loop_test(tc, test_stpm_wrong_magic_times_out_then_recovers, 0, 3);
  tcase_add_loop_test(tc, test_stpm_wrong_tid_recovers, 0, 3);
  tcase_add_loop_test(tc, test_stpm_delayed_ack_75s_not_resent, 0, 3);
  tcase_add_loop_test(tc, test_stpm_silent_block_reports_stalled_and_resets, 0, 3);
  tcase_add_loop_test(tc, test_stpm_every_response_corrupt_reports_protocol, 0, 3);
  tcase_add_loop_test(tc, test_stpm_every_magic_corrupt_reports_protocol_soon,
                      0, 3);
  tcase_add_loop_test(tc, test_stpm_stale_bytes_before_reset_ignored, 0, 3);
  tcase_add_test(tc, test_stpm_rejects_bad_config);
  tcase_add_test(tc, test_stpm_big_push_with_instant_acks_completes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(stpm_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

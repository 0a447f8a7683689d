/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP codec: golden vectors (the .hex files in fixtures/stp), malformed and desync
 * vectors with their expected drop reasons, seeded round trips with and
 * without corruption. Every decoder test feeds whole, bytewise and in random
 * chunks.
 *
 * A fixture file is hex bytes with '#' comments; comment lines of the form
 *   # decoder: req|rsp [hcrc0] [max=N]
 *   # expect: frame <op> <sid> <tid> <plen> [unchecked-hcrc] [unchecked-pcrc]
 *   # expect: drop <REASON> <bytes>
 * describe decoder runs over the whole file (fed, then flushed) and the exact
 * events each must produce.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/crc.h"
#include "sqnup/stp.h"

/* ---- instances and fixtures ---- */

#define STP_DIR SQN_FIXTURES "/stp"
#define STP_MAX_FILE 4096
#define STP_MAX_EVENTS 8192
#define STP_MAX_RUNS 4

enum stp_ev_kind { STP_EV_FRAME, STP_EV_DROP };

struct stp_event {
  enum stp_ev_kind kind;
  /* frame */
  uint8_t op, sid;
  uint32_t tid;
  uint16_t plen;
  bool hcrc_checked, pcrc_checked;
  size_t raw_off, raw_len; /* into the recorder's arena */
  /* drop */
  enum sqn_stp_drop reason;
  size_t bytes;
};

struct stp_rec {
  struct stp_event *ev;
  size_t n, cap;
  uint8_t *arena;
  size_t arena_len, arena_cap;
  size_t frame_bytes, drop_bytes;
  struct sqn_stp_decoder *dec; /* for checks from inside callbacks */
  size_t dropped_seen;         /* bytes shown by sqn_stp_decoder_dropped() */
};

static void stp_rec_init(struct stp_rec *r, size_t cap, size_t arena_cap) {
  memset(r, 0, sizeof *r);
  r->cap = cap;
  r->ev = calloc(cap, sizeof *r->ev);
  r->arena_cap = arena_cap;
  r->arena = malloc(arena_cap ? arena_cap : 1);
  ck_assert_ptr_nonnull(r->ev);
  ck_assert_ptr_nonnull(r->arena);
}

static void stp_rec_free(struct stp_rec *r) {
  free(r->ev);
  free(r->arena);
}

struct stp_run_cfg {
  uint32_t magic;
  unsigned flags;
  uint16_t max_plen;
};

/* One decoder with a buffer for the largest frame. */
struct stp_dut {
  struct sqn_stp_decoder dec;
  uint8_t buf[SQN_STP_HDR_LEN + 65535];
};

/* ---- recording callbacks ---- */

static void stp_on_frame(void *user, const struct sqn_stp_frame *f) {
  struct stp_rec *r = user;
  ck_assert_uint_lt(r->n, r->cap);
  ck_assert_uint_eq(f->raw_len, SQN_STP_HDR_LEN + f->hdr.plen);
  ck_assert_ptr_eq(f->payload, f->raw + SQN_STP_HDR_LEN);
  ck_assert_uint_le(r->arena_len + f->raw_len, r->arena_cap);
  struct stp_event *e = &r->ev[r->n++];
  memset(e, 0, sizeof *e);
  e->kind = STP_EV_FRAME;
  e->op = f->hdr.op;
  e->sid = f->hdr.sid;
  e->tid = f->hdr.tid;
  e->plen = f->hdr.plen;
  e->hcrc_checked = f->hcrc_checked;
  e->pcrc_checked = f->pcrc_checked;
  e->raw_off = r->arena_len;
  e->raw_len = f->raw_len;
  memcpy(r->arena + r->arena_len, f->raw, f->raw_len);
  r->arena_len += f->raw_len;
  r->frame_bytes += f->raw_len;
}

static void stp_on_drop(void *user, enum sqn_stp_drop reason, size_t bytes) {
  struct stp_rec *r = user;
  ck_assert_uint_lt(r->n, r->cap);
  ck_assert_uint_gt(bytes, 0);
  ck_assert_int_lt(reason, SQN_STP_DROP_COUNT);
  if (r->dec) {
    size_t len;
    const uint8_t *p = sqn_stp_decoder_dropped(r->dec, &len);
    if (reason == SQN_STP_DROP_GARBAGE) {
      ck_assert_ptr_null(p);
    } else {
      /* The false frame is still in view, magic first, and what it gives up
       * lies inside it. */
      ck_assert_ptr_nonnull(p);
      ck_assert_uint_ge(len, 4);
      ck_assert_uint_le(bytes, len);
      r->dropped_seen += len;
    }
  }
  struct stp_event *e = &r->ev[r->n++];
  memset(e, 0, sizeof *e);
  e->kind = STP_EV_DROP;
  e->reason = reason;
  e->bytes = bytes;
  r->drop_bytes += bytes;
}

static void stp_feed_fn(void *ctx, const uint8_t *buf, size_t len) {
  sqn_stp_decoder_feed(ctx, buf, len);
}

static void stp_dut_init(struct stp_dut *t, const struct stp_run_cfg *rc,
                         struct stp_rec *r) {
  struct sqn_stp_decoder_config cfg = {
      .magic = rc->magic,
      .buf = t->buf,
      .buf_cap = sizeof t->buf,
      .max_plen = rc->max_plen,
      .flags = rc->flags,
      .on_frame = stp_on_frame,
      .on_drop = stp_on_drop,
      .user = r,
  };
  ck_assert_int_eq(sqn_stp_decoder_init(&t->dec, &cfg), 0);
  ck_assert_int_eq(t->dec.state, SQN_STP_RX_HUNT);
  r->dec = &t->dec;
}

/* Counters agree with the events seen, and every byte is accounted for. */
static void stp_check_counters(const struct stp_dut *t, const struct stp_rec *r,
                               size_t fed, const char *what) {
  size_t frames = 0, drops[SQN_STP_DROP_COUNT] = {0};
  for (size_t i = 0; i < r->n; i++) {
    if (r->ev[i].kind == STP_EV_FRAME)
      frames++;
    else
      drops[r->ev[i].reason]++;
  }
  ck_assert_msg(t->dec.frames == frames, "%s: frames counter", what);
  for (int i = 0; i < SQN_STP_DROP_COUNT; i++)
    ck_assert_msg(t->dec.drops[i] == drops[i], "%s: %s counter", what,
                  sqn_stp_drop_name((enum sqn_stp_drop)i));
  ck_assert_msg(r->frame_bytes + r->drop_bytes == fed,
                "%s: %zu frame + %zu dropped bytes, %zu fed", what,
                r->frame_bytes, r->drop_bytes, fed);
  ck_assert_int_eq(t->dec.state, SQN_STP_RX_HUNT);
}

/* Loaded fixture: its bytes and its decoder runs. */
struct stp_fixture_run {
  struct stp_run_cfg cfg;
  struct stp_event want[32];
  size_t n_want;
};

struct stp_fixture {
  char path[512];
  uint8_t bytes[STP_MAX_FILE];
  size_t len;
  struct stp_fixture_run runs[STP_MAX_RUNS];
  size_t n_runs;
};

static enum sqn_stp_drop stp_reason_parse(const char *s) {
  for (int i = 0; i < SQN_STP_DROP_COUNT; i++)
    if (strcmp(s, sqn_stp_drop_name((enum sqn_stp_drop)i)) == 0)
      return (enum sqn_stp_drop)i;
  return SQN_STP_DROP_COUNT;
}

/* Parse one directive; fails the test naming file:line on a bad one. */
static void stp_directive(struct stp_fixture *fx, int lineno, char *text) {
  char *kw = strtok(text, " \t");
  if (!kw)
    return;
  if (strcmp(kw, "decoder:") == 0) {
    ck_assert_msg(fx->n_runs < STP_MAX_RUNS, "%s:%d: too many runs", fx->path,
                  lineno);
    struct stp_fixture_run *run = &fx->runs[fx->n_runs++];
    memset(run, 0, sizeof *run);
    run->cfg.max_plen = 8192;
    for (char *t = strtok(NULL, " \t"); t; t = strtok(NULL, " \t")) {
      if (strcmp(t, "req") == 0)
        run->cfg.magic = SQN_STP_MAGIC_REQ;
      else if (strcmp(t, "rsp") == 0)
        run->cfg.magic = SQN_STP_MAGIC_RSP;
      else if (strcmp(t, "hcrc0") == 0)
        run->cfg.flags |= SQN_STP_DEC_HCRC_ZERO_OK;
      else if (strncmp(t, "max=", 4) == 0)
        run->cfg.max_plen = (uint16_t)strtoul(t + 4, NULL, 0);
      else
        ck_abort_msg("%s:%d: unknown decoder option '%s'", fx->path, lineno, t);
    }
    ck_assert_msg(run->cfg.magic, "%s:%d: decoder needs req or rsp", fx->path,
                  lineno);
    return;
  }
  if (strcmp(kw, "expect:") != 0)
    return; /* an ordinary comment */
  ck_assert_msg(fx->n_runs > 0, "%s:%d: expect before decoder", fx->path, lineno);
  struct stp_fixture_run *run = &fx->runs[fx->n_runs - 1];
  ck_assert_msg(run->n_want < 32, "%s:%d: too many expects", fx->path, lineno);
  struct stp_event *e = &run->want[run->n_want++];
  memset(e, 0, sizeof *e);
  char *what = strtok(NULL, " \t");
  ck_assert_msg(what != NULL, "%s:%d: empty expect", fx->path, lineno);
  if (strcmp(what, "frame") == 0) {
    char *f[4];
    for (int i = 0; i < 4; i++) {
      f[i] = strtok(NULL, " \t");
      ck_assert_msg(f[i] != NULL, "%s:%d: frame needs op sid tid plen",
                    fx->path, lineno);
    }
    e->kind = STP_EV_FRAME;
    e->op = (uint8_t)strtoul(f[0], NULL, 0);
    e->sid = (uint8_t)strtoul(f[1], NULL, 0);
    e->tid = (uint32_t)strtoul(f[2], NULL, 0);
    e->plen = (uint16_t)strtoul(f[3], NULL, 0);
    e->hcrc_checked = e->pcrc_checked = true;
    for (char *t = strtok(NULL, " \t"); t; t = strtok(NULL, " \t")) {
      if (strcmp(t, "unchecked-hcrc") == 0)
        e->hcrc_checked = false;
      else if (strcmp(t, "unchecked-pcrc") == 0)
        e->pcrc_checked = false;
      else
        ck_abort_msg("%s:%d: unknown frame option '%s'", fx->path, lineno, t);
    }
  } else if (strcmp(what, "drop") == 0) {
    char *reason = strtok(NULL, " \t"), *bytes = strtok(NULL, " \t");
    ck_assert_msg(reason && bytes, "%s:%d: drop needs reason and bytes",
                  fx->path, lineno);
    e->kind = STP_EV_DROP;
    e->reason = stp_reason_parse(reason);
    ck_assert_msg(e->reason != SQN_STP_DROP_COUNT, "%s:%d: unknown reason %s",
                  fx->path, lineno, reason);
    e->bytes = strtoul(bytes, NULL, 0);
  } else {
    ck_abort_msg("%s:%d: unknown expect '%s'", fx->path, lineno, what);
  }
}

static void stp_fixture_load(struct stp_fixture *fx, const char *name) {
  memset(fx, 0, sizeof *fx);
  snprintf(fx->path, sizeof fx->path, "%s/%s", STP_DIR, name);
  size_t len;
  char *text = (char *)sqn_read_file(fx->path, &len);
  ck_assert_msg(text != NULL, "cannot read %s", fx->path);
  int bad_line = 0;
  long n = sqn_hex_parse(text, fx->bytes, sizeof fx->bytes, &bad_line);
  ck_assert_msg(n > 0, "%s:%d: bad hex", fx->path, bad_line);
  fx->len = (size_t)n;
  int lineno = 0;
  for (char *line = text, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    lineno++;
    if (line[0] == '#')
      stp_directive(fx, lineno, line + 1);
  }
  free(text);
}

/* Load a single-frame fixture's bytes. */
static size_t stp_golden(const char *name, uint8_t *out, size_t cap) {
  struct stp_fixture *fx = malloc(sizeof *fx);
  ck_assert_ptr_nonnull(fx);
  stp_fixture_load(fx, name);
  ck_assert_uint_le(fx->len, cap);
  memcpy(out, fx->bytes, fx->len);
  size_t len = fx->len;
  free(fx);
  return len;
}

static void stp_event_str(const struct stp_event *e, char *out, size_t cap) {
  if (e->kind == STP_EV_FRAME)
    snprintf(out, cap, "frame op 0x%02x sid %u tid %u plen %u%s%s", e->op,
             e->sid, (unsigned)e->tid, e->plen,
             e->hcrc_checked ? "" : " unchecked-hcrc",
             e->pcrc_checked ? "" : " unchecked-pcrc");
  else
    snprintf(out, cap, "drop %s %zu", sqn_stp_drop_name(e->reason), e->bytes);
}

static void stp_assert_events(const struct stp_rec *r,
                              const struct stp_event *want, size_t n_want,
                              const char *what) {
  for (size_t i = 0; i < r->n || i < n_want; i++) {
    char g[96] = "(none)", w[96] = "(none)";
    if (i < r->n)
      stp_event_str(&r->ev[i], g, sizeof g);
    if (i < n_want)
      stp_event_str(&want[i], w, sizeof w);
    ck_assert_msg(strcmp(g, w) == 0, "%s: event %zu: got '%s', want '%s'",
                  what, i, g, w);
  }
}

/* The golden frames of protocol.md 4.4, as the encoder is asked for them. */
struct stp_golden_case {
  const char *file;
  uint32_t magic;
  uint8_t op, sid;
  uint32_t tid;
  const char *payload_hex;
  unsigned flags;
};

#define REQ SQN_STP_MAGIC_REQ
#define RSP SQN_STP_MAGIC_RSP
static const struct stp_golden_case stp_golden_cases[] = {
    {"reset_req.hex", REQ, 0x00, 0, 0, "", 0},
    {"reset_ack_real.hex", RSP, 0x80, 0, 0, "", SQN_STP_ENC_ZERO_HCRC},
    {"reset_ack_crc.hex", RSP, 0x80, 0, 0, "", 0},
    {"open_req.hex", REQ, 0x01, 1, 1, "", 0},
    {"open_ack_8192.hex", RSP, 0x81, 1, 1, "01 01 20 00", 0},
    {"open_ack_2048.hex", RSP, 0x81, 1, 1, "01 01 08 00", 0},
    {"block_cmd_2016.hex", REQ, 0x02, 1, 2, "07 e0", 0},
    {"block_cmd_8176.hex", REQ, 0x02, 1, 2, "1f f0", 0},
    {"block_cmd_4.hex", REQ, 0x02, 1, 2, "00 04", 0},
    {"block_cmd_ack.hex", RSP, 0x82, 1, 2, "", 0},
    {"block_deadbeef.hex", REQ, 0x03, 1, 3, "de ad be ef", 0},
    {"block_ack_res0.hex", RSP, 0x83, 1, 3, "00 00", 0},
    {"block_ack_res16.hex", RSP, 0x83, 1, 3, "00 10", 0},
    {"final_reset_pycom.hex", REQ, 0x00, 1, 4, "", 0},
    {"final_reset_walter.hex", REQ, 0x00, 0, 0, "", 0},
    {"final_reset_ack.hex", RSP, 0x80, 1, 4, "", 0},
    {"open_ack_pcrc0.hex", RSP, 0x81, 1, 1, "01 01 20 00", SQN_STP_ENC_ZERO_PCRC},
};
#define STP_N_GOLDEN (sizeof stp_golden_cases / sizeof stp_golden_cases[0])

/* Independent reference for where a false frame's give-up ends: first i
 * where p[i..] starts with the magic or, cut by the end, a prefix of it. */
static size_t stp_ref_candidate(uint32_t magic, const uint8_t *p, size_t n) {
  const uint8_t m[4] = {(uint8_t)(magic >> 24), (uint8_t)(magic >> 16),
                        (uint8_t)(magic >> 8), (uint8_t)magic};
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < 4 && i + j < n && p[i + j] == m[j])
      j++;
    if (j == 4 || i + j == n)
      return i;
  }
  return n;
}

static bool stp_has_magic(uint32_t magic, const uint8_t *p, size_t n) {
  const uint8_t m[4] = {(uint8_t)(magic >> 24), (uint8_t)(magic >> 16),
                        (uint8_t)(magic >> 8), (uint8_t)magic};
  for (size_t i = 0; i + 4 <= n; i++)
    if (memcmp(p + i, m, 4) == 0)
      return true;
  return false;
}

/* ---- tests ---- */

START_TEST(test_stp_encode_golden_vectors_match) {
  for (size_t i = 0; i < STP_N_GOLDEN; i++) {
    const struct stp_golden_case *c = &stp_golden_cases[i];
    uint8_t want[64], payload[16], out[64];
    size_t wlen = stp_golden(c->file, want, sizeof want);
    long plen = sqn_hex_parse(c->payload_hex, payload, sizeof payload, NULL);
    ck_assert_int_ge(plen, 0);
    memset(out, 0xAA, sizeof out);
    size_t n = sqn_stp_encode(out, sizeof out, c->magic, c->op, c->sid, c->tid,
                              plen ? payload : NULL, (uint16_t)plen, c->flags);
    ck_assert_msg(n == wlen, "%s: encoded %zu bytes, want %zu", c->file, n, wlen);
    ck_assert_mem_hex_eq(out, n, want, wlen);
    ck_assert_uint_eq(out[n], 0xAA); /* nothing written past the frame */
    /* The parsed header gives the fields back. */
    struct sqn_stp_hdr h;
    sqn_stp_hdr_parse(&h, out);
    ck_assert_uint_eq(h.magic, c->magic);
    ck_assert_uint_eq(h.op, c->op);
    ck_assert_uint_eq(h.sid, c->sid);
    ck_assert_uint_eq(h.tid, c->tid);
    ck_assert_uint_eq(h.plen, (uint16_t)plen);
    if (!(c->flags & SQN_STP_ENC_ZERO_HCRC))
      ck_assert_uint_eq(h.hcrc, sqn_stp_hdr_crc(out));
    else
      ck_assert_uint_eq(h.hcrc, 0);
  }
}
END_TEST

START_TEST(test_stp_hdr_crc_reset_header_matches_vector) {
  /* protocol.md 4.3: CRC-16 of the RESET header with hcrc 0 is 0x8AE3, and
   * the hcrc field itself does not take part. */
  uint8_t h[16] = {0x66, 0x61, 0x73, 0x74};
  ck_assert_uint_eq(sqn_stp_hdr_crc(h), 0x8AE3);
  h[12] = 0x12;
  h[13] = 0x34;
  ck_assert_uint_eq(sqn_stp_hdr_crc(h), 0x8AE3);
}
END_TEST

START_TEST(test_stp_encode_bad_args_return_zero) {
  uint8_t out[32], pay[4] = {1, 2, 3, 4};
  ck_assert_uint_eq(sqn_stp_encode(NULL, 32, REQ, 0, 0, 0, NULL, 0, 0), 0);
  ck_assert_uint_eq(sqn_stp_encode(out, 15, REQ, 0, 0, 0, NULL, 0, 0), 0);
  ck_assert_uint_eq(sqn_stp_encode(out, 19, REQ, 3, 1, 3, pay, 4, 0), 0);
  ck_assert_uint_eq(sqn_stp_encode(out, 32, REQ, 3, 1, 3, NULL, 4, 0), 0);
  ck_assert_uint_eq(sqn_stp_encode(out, 16, REQ, 0, 0, 0, NULL, 0, 0), 16);
  ck_assert_uint_eq(sqn_stp_encode(out, 20, REQ, 3, 1, 3, pay, 4, 0), 20);
}
END_TEST

START_TEST(test_stp_encode_in_place_payload_matches) {
  uint8_t want[32], out[32];
  size_t wlen = stp_golden("block_deadbeef.hex", want, sizeof want);
  memset(out, 0, sizeof out);
  memcpy(out + 16, "\xde\xad\xbe\xef", 4);
  size_t n = sqn_stp_encode(out, sizeof out, REQ, 3, 1, 3, out + 16, 4, 0);
  ck_assert_mem_hex_eq(out, n, want, wlen);
}
END_TEST

/* Loop test: _i is the feed mode. Every fixture, every run, exact events. */
START_TEST(test_stp_decode_fixtures_give_expected_events) {
  DIR *dir = opendir(STP_DIR);
  ck_assert_msg(dir != NULL, "cannot open %s", STP_DIR);
  struct stp_fixture *fx = malloc(sizeof *fx);
  struct stp_dut *t = malloc(sizeof *t);
  ck_assert_ptr_nonnull(fx);
  ck_assert_ptr_nonnull(t);
  size_t files = 0, runs = 0, malformed = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    size_t nl = strlen(de->d_name);
    if (nl < 5 || strcmp(de->d_name + nl - 4, ".hex") != 0)
      continue;
    stp_fixture_load(fx, de->d_name);
    ck_assert_msg(fx->n_runs > 0, "%s: no '# decoder:' line", fx->path);
    files++;
    for (size_t k = 0; k < fx->n_runs; k++) {
      const struct stp_fixture_run *run = &fx->runs[k];
      for (uint64_t seed = 1; seed <= (_i == SQN_FEED_RANDOM ? 16u : 1u); seed++) {
        struct stp_rec r;
        stp_rec_init(&r, 64, 2 * STP_MAX_FILE);
        stp_dut_init(t, &run->cfg, &r);
        sqn_feed((enum sqn_feed_mode)_i, seed, fx->bytes, fx->len, stp_feed_fn,
                 &t->dec);
        sqn_stp_decoder_flush(&t->dec);
        char what[600];
        snprintf(what, sizeof what, "%s run %zu mode %d seed %u", fx->path,
                 k + 1, _i, (unsigned)seed);
        stp_assert_events(&r, run->want, run->n_want, what);
        stp_check_counters(t, &r, fx->len, what);
        /* A file that is one whole frame is delivered byte for byte. */
        if (r.n == 1 && r.ev[0].kind == STP_EV_FRAME)
          ck_assert_mem_hex_eq(r.arena, r.ev[0].raw_len, fx->bytes, fx->len);
        for (size_t i = 0; i < r.n; i++)
          if (r.ev[i].kind == STP_EV_DROP &&
              r.ev[i].reason != SQN_STP_DROP_GARBAGE && seed == 1)
            malformed++;
        stp_rec_free(&r);
      }
      runs++;
    }
  }
  closedir(dir);
  free(fx);
  free(t);
  /* 16 golden frames + pcrc0 + 13 malformed/desync files, some with 2 runs. */
  ck_assert_uint_ge(files, 30);
  ck_assert_uint_ge(runs, 50);
  ck_assert_uint_ge(malformed, 20);
}
END_TEST

START_TEST(test_stp_decoder_init_bad_config_fails) {
  static uint8_t buf[64];
  struct sqn_stp_decoder d;
  struct sqn_stp_decoder_config ok = {.magic = REQ, .buf = buf,
                                      .buf_cap = sizeof buf, .max_plen = 48};
  ck_assert_int_eq(sqn_stp_decoder_init(&d, &ok), 0);
  struct sqn_stp_decoder_config c = ok;
  c.max_plen = 49;
  ck_assert_int_eq(sqn_stp_decoder_init(&d, &c), -1);
  c = ok;
  c.magic = 0;
  ck_assert_int_eq(sqn_stp_decoder_init(&d, &c), -1);
  c = ok;
  c.buf = NULL;
  ck_assert_int_eq(sqn_stp_decoder_init(&d, &c), -1);
  ck_assert_int_eq(sqn_stp_decoder_init(NULL, &ok), -1);
  ck_assert_int_eq(sqn_stp_decoder_init(&d, NULL), -1);
}
END_TEST

START_TEST(test_stp_names_cover_every_value) {
  ck_assert_str_eq(sqn_stp_drop_name(SQN_STP_DROP_GARBAGE), "GARBAGE");
  ck_assert_str_eq(sqn_stp_drop_name(SQN_STP_DROP_BAD_HCRC), "BAD_HCRC");
  ck_assert_str_eq(sqn_stp_drop_name(SQN_STP_DROP_BAD_PCRC), "BAD_PCRC");
  ck_assert_str_eq(sqn_stp_drop_name(SQN_STP_DROP_TOO_LONG), "TOO_LONG");
  ck_assert_str_eq(sqn_stp_drop_name(SQN_STP_DROP_TRUNCATED), "TRUNCATED");
  ck_assert_str_eq(sqn_stp_drop_name(SQN_STP_DROP_COUNT), "UNKNOWN");
  ck_assert_str_eq(sqn_stp_drop_text(SQN_STP_DROP_BAD_HCRC), "bad header CRC");
  ck_assert_str_eq(sqn_stp_drop_text(SQN_STP_DROP_TRUNCATED), "frame truncated");
  ck_assert_str_eq(sqn_stp_drop_text(SQN_STP_DROP_COUNT), "unknown drop reason");
  ck_assert_str_eq(sqn_stp_rx_state_name(SQN_STP_RX_HUNT), "HUNT");
  ck_assert_str_eq(sqn_stp_rx_state_name(SQN_STP_RX_HEADER), "HEADER");
  ck_assert_str_eq(sqn_stp_rx_state_name(SQN_STP_RX_PAYLOAD), "PAYLOAD");
  ck_assert_str_eq(sqn_stp_rx_state_name((enum sqn_stp_rx_state)7), "UNKNOWN");
}
END_TEST

/* Loop test: _i is the feed mode. */
START_TEST(test_stp_decoder_reset_forgets_partial_frame) {
  uint8_t open[32], reset[32], stream[64];
  size_t no = stp_golden("open_ack_8192.hex", open, sizeof open);
  size_t nr = stp_golden("reset_ack_crc.hex", reset, sizeof reset);
  struct stp_dut *t = malloc(sizeof *t);
  struct stp_rec r;
  stp_rec_init(&r, 16, 256);
  struct stp_run_cfg rc = {RSP, 0, 2048};
  stp_dut_init(t, &rc, &r);
  /* Half a frame (in PAYLOAD), forgotten; then half a magic, forgotten. */
  sqn_feed((enum sqn_feed_mode)_i, 3, open, no - 2, stp_feed_fn, &t->dec);
  ck_assert_int_eq(t->dec.state, SQN_STP_RX_PAYLOAD);
  sqn_stp_decoder_reset(&t->dec);
  ck_assert_int_eq(t->dec.state, SQN_STP_RX_HUNT);
  memcpy(stream, "ts", 2);
  memcpy(stream + 2, reset, nr);
  sqn_stp_decoder_feed(&t->dec, stream, 2);
  sqn_stp_decoder_reset(&t->dec);
  sqn_feed((enum sqn_feed_mode)_i, 3, stream + 2, nr, stp_feed_fn, &t->dec);
  sqn_stp_decoder_flush(&t->dec);
  ck_assert_uint_eq(r.n, 1);
  ck_assert_int_eq(r.ev[0].kind, STP_EV_FRAME);
  ck_assert_mem_hex_eq(r.arena, r.ev[0].raw_len, reset, nr);
  /* Empty and NULL feeds are no-ops. */
  sqn_stp_decoder_feed(&t->dec, NULL, 5);
  sqn_stp_decoder_feed(&t->dec, stream, 0);
  sqn_stp_decoder_feed(NULL, stream, 1);
  sqn_stp_decoder_flush(NULL);
  ck_assert_uint_eq(r.n, 1);
  ck_assert_uint_eq(t->dec.frames, 1);
  stp_rec_free(&r);
  free(t);
}
END_TEST

/* Without callbacks the decoder still counts. */
START_TEST(test_stp_decoder_no_callbacks_still_counts) {
  uint8_t bad[32], good[32];
  size_t nb = stp_golden("desync_bad_hcrc.hex", bad, sizeof bad);
  size_t ng = stp_golden("reset_req.hex", good, sizeof good);
  static uint8_t buf[64];
  struct sqn_stp_decoder d;
  struct sqn_stp_decoder_config cfg = {.magic = REQ, .buf = buf,
                                       .buf_cap = sizeof buf, .max_plen = 48};
  ck_assert_int_eq(sqn_stp_decoder_init(&d, &cfg), 0);
  sqn_stp_decoder_feed(&d, bad, nb);
  sqn_stp_decoder_feed(&d, good, ng);
  sqn_stp_decoder_feed(&d, (const uint8_t *)"xyz", 3);
  sqn_stp_decoder_flush(&d);
  ck_assert_uint_eq(d.frames, 2);
  ck_assert_uint_eq(d.drops[SQN_STP_DROP_BAD_HCRC], 1);
  ck_assert_uint_eq(d.drops[SQN_STP_DROP_GARBAGE], 1);
  size_t len = 99;
  ck_assert_ptr_null(sqn_stp_decoder_dropped(&d, &len));
  ck_assert_uint_eq(len, 0);
}
END_TEST

/* A random frame: fields, payload of 0..max bytes, encoded. */
struct stp_gen {
  uint8_t raw[SQN_STP_HDR_LEN + 8192];
  size_t len;
};

static void stp_gen_frame(struct sqn_rng *g, uint32_t magic, uint16_t max,
                          struct stp_gen *f) {
  uint8_t payload[8192];
  do {
    uint16_t plen = (uint16_t)sqn_rng_below(g, (uint64_t)max + 1);
    /* Bias towards the sizes the masters use. */
    if (sqn_rng_below(g, 4) == 0)
      plen = (uint16_t)sqn_rng_below(g, 5);
    for (size_t i = 0; i < plen; i++)
      payload[i] = (uint8_t)sqn_rng_next(g);
    uint64_t x = sqn_rng_next(g);
    f->len = sqn_stp_encode(f->raw, sizeof f->raw, magic, (uint8_t)x,
                            (uint8_t)(x >> 8), (uint32_t)(x >> 16), payload,
                            plen, 0);
    ck_assert_uint_eq(f->len, SQN_STP_HDR_LEN + plen);
    /* A magic inside a frame would make a corrupted copy's rescan find a
     * false header; keep the expected events exact by avoiding it. */
  } while (stp_has_magic(magic, f->raw + 1, f->len - 1));
}

#define STP_RT_FRAMES 1000

/* Loop test: _i % 3 is the feed mode, _i / 3 picks the magic. */
START_TEST(test_stp_roundtrip_random_frames_identical) {
  uint32_t magic = _i / 3 ? RSP : REQ;
  enum sqn_feed_mode mode = (enum sqn_feed_mode)(_i % 3);
  const uint16_t max = 8176;
  struct sqn_rng g;
  sqn_rng_seed(&g, 0x5EED0001u + (unsigned)_i / 3);
  size_t cap = STP_RT_FRAMES * (SQN_STP_HDR_LEN + 8192u);
  uint8_t *stream = malloc(cap);
  struct stp_gen *f = malloc(sizeof *f);
  struct stp_dut *t = malloc(sizeof *t);
  ck_assert_ptr_nonnull(stream);
  size_t len = 0;
  for (int i = 0; i < STP_RT_FRAMES; i++) {
    stp_gen_frame(&g, magic, max, f);
    memcpy(stream + len, f->raw, f->len);
    len += f->len;
  }
  struct stp_rec r;
  stp_rec_init(&r, STP_RT_FRAMES + 1, len);
  struct stp_run_cfg rc = {magic, 0, max};
  stp_dut_init(t, &rc, &r);
  sqn_feed(mode, 0xC0FFEE, stream, len, stp_feed_fn, &t->dec);
  sqn_stp_decoder_flush(&t->dec);
  ck_assert_uint_eq(r.n, STP_RT_FRAMES);
  /* Frames come out in order and byte for byte: the arena is the stream. */
  ck_assert_mem_hex_eq(r.arena, r.arena_len, stream, len);
  for (size_t i = 0; i < r.n; i++) {
    ck_assert_int_eq(r.ev[i].kind, STP_EV_FRAME);
    ck_assert(r.ev[i].hcrc_checked && r.ev[i].pcrc_checked);
  }
  stp_check_counters(t, &r, len, "roundtrip");
  stp_rec_free(&r);
  free(stream);
  free(f);
  free(t);
}
END_TEST

enum stp_corrupt {
  STP_CORRUPT_NONE,
  STP_CORRUPT_GARBAGE,
  STP_CORRUPT_HEADER,
  STP_CORRUPT_PAYLOAD,
  STP_CORRUPT_TOO_LONG,
  STP_CORRUPT_TRUNCATE,
  STP_CORRUPT_COUNT
};

/* The expected-event model: garbage is reported when a magic ends it. */
struct stp_model {
  struct stp_event *want;
  size_t n, cap;
  size_t pending;
};

static void stp_model_drop(struct stp_model *m, enum sqn_stp_drop reason,
                           size_t bytes) {
  ck_assert_uint_lt(m->n, m->cap);
  struct stp_event *e = &m->want[m->n++];
  memset(e, 0, sizeof *e);
  e->kind = STP_EV_DROP;
  e->reason = reason;
  e->bytes = bytes;
}

static void stp_model_magic(struct stp_model *m) {
  if (m->pending)
    stp_model_drop(m, SQN_STP_DROP_GARBAGE, m->pending);
  m->pending = 0;
}

static void stp_model_frame(struct stp_model *m, const uint8_t *raw) {
  stp_model_magic(m);
  ck_assert_uint_lt(m->n, m->cap);
  struct stp_event *e = &m->want[m->n++];
  struct sqn_stp_hdr h;
  sqn_stp_hdr_parse(&h, raw);
  memset(e, 0, sizeof *e);
  e->kind = STP_EV_FRAME;
  e->op = h.op;
  e->sid = h.sid;
  e->tid = h.tid;
  e->plen = h.plen;
  e->hcrc_checked = e->pcrc_checked = true;
}

/* A false frame raw[0..len) that the decoder rejects once it has `len`
 * bytes; what it gives up is reported, the rest is hunted as garbage. */
static void stp_model_reject(struct stp_model *m, uint32_t magic,
                             enum sqn_stp_drop reason, const uint8_t *raw,
                             size_t len) {
  stp_model_magic(m);
  size_t k = 1 + stp_ref_candidate(magic, raw + 1, len - 1);
  stp_model_drop(m, reason, k);
  m->pending = len - k;
}

struct stp_segment {
  size_t off, len; /* fed, then flushed */
};

/*
 * Loop test: _i % 3 is the feed mode, _i / 3 picks the magic. 1000 random
 * frames, each either clean or hit by one seeded corruption; a truncated
 * frame ends a segment (the line goes quiet: flush). The decoder must give
 * the modelled events exactly.
 */
START_TEST(test_stp_roundtrip_corrupted_frames_resync) {
  uint32_t magic = _i / 3 ? RSP : REQ;
  enum sqn_feed_mode mode = (enum sqn_feed_mode)(_i % 3);
  const uint16_t max = 2048;
  struct sqn_rng g;
  sqn_rng_seed(&g, 0xBADC0DE0u + (unsigned)_i / 3);
  size_t cap = STP_RT_FRAMES * (SQN_STP_HDR_LEN + max + 64u);
  uint8_t *stream = malloc(cap);
  struct stp_gen *f = malloc(sizeof *f);
  struct stp_dut *t = malloc(sizeof *t);
  struct stp_segment *seg = calloc(STP_RT_FRAMES + 1, sizeof *seg);
  struct stp_model m = {calloc(4 * STP_RT_FRAMES, sizeof(struct stp_event)), 0,
                        4 * STP_RT_FRAMES, 0};
  ck_assert_ptr_nonnull(stream);
  ck_assert_ptr_nonnull(m.want);
  size_t len = 0, nseg = 0, counts[STP_CORRUPT_COUNT] = {0};
  seg[0].off = 0;
  for (int i = 0; i < STP_RT_FRAMES; i++) {
    stp_gen_frame(&g, magic, max, f);
    enum stp_corrupt c = (enum stp_corrupt)sqn_rng_below(&g, STP_CORRUPT_COUNT);
    if (c == STP_CORRUPT_PAYLOAD && f->len == SQN_STP_HDR_LEN)
      c = STP_CORRUPT_HEADER;
    uint8_t *p = stream + len;
    switch (c) {
    case STP_CORRUPT_NONE:
      memcpy(p, f->raw, f->len);
      len += f->len;
      stp_model_frame(&m, f->raw);
      break;
    case STP_CORRUPT_GARBAGE: {
      /* No magic letters, so the garbage cannot complete a magic with the
       * tail of a false frame before it. */
      size_t n = 1 + (size_t)sqn_rng_below(&g, 40);
      for (size_t k = 0; k < n; k++) {
        uint8_t b = (uint8_t)sqn_rng_next(&g);
        p[k] = (b == 'f' || b == 'a' || b == 's' || b == 't') ? 0 : b;
      }
      memcpy(p + n, f->raw, f->len);
      len += n + f->len;
      m.pending += n;
      stp_model_frame(&m, f->raw);
      break;
    }
    case STP_CORRUPT_HEADER:
    case STP_CORRUPT_PAYLOAD: {
      /* One bit flip: CRC-16 catches every single-bit error. The magic is
       * left alone (a broken magic is just garbage). */
      size_t at = c == STP_CORRUPT_HEADER
                      ? 4 + (size_t)sqn_rng_below(&g, 12)
                      : SQN_STP_HDR_LEN +
                            (size_t)sqn_rng_below(&g, f->len - SQN_STP_HDR_LEN);
      memcpy(p, f->raw, f->len);
      p[at] ^= (uint8_t)(1u << sqn_rng_below(&g, 8));
      if (stp_has_magic(magic, p + 1, f->len - 1)) {
        memcpy(p, f->raw, f->len); /* the flip made a magic: keep it clean */
        stp_model_frame(&m, f->raw);
      } else if (c == STP_CORRUPT_HEADER) {
        stp_model_reject(&m, magic, SQN_STP_DROP_BAD_HCRC, p, SQN_STP_HDR_LEN);
        m.pending += f->len - SQN_STP_HDR_LEN;
      } else {
        stp_model_reject(&m, magic, SQN_STP_DROP_BAD_PCRC, p, f->len);
      }
      len += f->len;
      break;
    }
    case STP_CORRUPT_TOO_LONG: {
      /* A header with a valid hcrc announcing more than the limit; the
       * payload that follows is then hunted as garbage. */
      memcpy(p, f->raw, f->len);
      uint16_t plen = (uint16_t)(max + 1 + sqn_rng_below(&g, 65535u - max));
      p[6] = (uint8_t)(plen >> 8);
      p[7] = (uint8_t)plen;
      uint16_t hc = sqn_stp_hdr_crc(p);
      p[12] = (uint8_t)(hc >> 8);
      p[13] = (uint8_t)hc;
      if (stp_has_magic(magic, p + 1, f->len - 1)) {
        memcpy(p, f->raw, f->len);
        stp_model_frame(&m, f->raw);
      } else {
        stp_model_reject(&m, magic, SQN_STP_DROP_TOO_LONG, p, SQN_STP_HDR_LEN);
        m.pending += f->len - SQN_STP_HDR_LEN;
      }
      len += f->len;
      break;
    }
    case STP_CORRUPT_TRUNCATE: {
      size_t cut = 1 + (size_t)sqn_rng_below(&g, f->len - 1);
      memcpy(p, f->raw, cut);
      len += cut;
      if (cut < 4) {
        m.pending += cut; /* not even a magic: garbage at flush */
      } else {
        stp_model_reject(&m, magic, SQN_STP_DROP_TRUNCATED, p, cut);
      }
      stp_model_magic(&m); /* flush reports what is pending */
      seg[nseg].len = len - seg[nseg].off;
      nseg++;
      seg[nseg].off = len;
      break;
    }
    case STP_CORRUPT_COUNT:
      break;
    }
    counts[c]++;
  }
  seg[nseg].len = len - seg[nseg].off;
  nseg++;
  stp_model_magic(&m); /* final flush */
  for (int c = 0; c < STP_CORRUPT_COUNT; c++)
    ck_assert_uint_gt(counts[c], 100);

  struct stp_rec r;
  stp_rec_init(&r, m.cap, len);
  struct stp_run_cfg rc = {magic, 0, max};
  stp_dut_init(t, &rc, &r);
  for (size_t s = 0; s < nseg; s++) {
    sqn_feed(mode, 0xFEED + s, stream + seg[s].off, seg[s].len, stp_feed_fn,
             &t->dec);
    sqn_stp_decoder_flush(&t->dec);
  }
  char what[64];
  snprintf(what, sizeof what, "corrupted mode %d magic %08x", mode,
           (unsigned)magic);
  stp_assert_events(&r, m.want, m.n, what);
  stp_check_counters(t, &r, len, what);
  stp_rec_free(&r);
  free(m.want);
  free(seg);
  free(stream);
  free(f);
  free(t);
}
END_TEST

/* ---- suite factory ---- */

static Suite *stp_suite(void) {
  Suite *s = suite_create("stp");
  TCase *tc = tcase_create("codec");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_stp_encode_golden_vectors_match);
  tcase_add_test(tc, test_stp_hdr_crc_reset_header_matches_vector);
  tcase_add_test(tc, test_stp_encode_bad_args_return_zero);
  tcase_add_test(tc, test_stp_encode_in_place_payload_matches);
  tcase_add_loop_test(tc, test_stp_decode_fixtures_give_expected_events,
                      SQN_FEED_WHOLE, SQN_FEED_RANDOM + 1);
  tcase_add_test(tc, test_stp_decoder_init_bad_config_fails);
  tcase_add_test(tc, test_stp_names_cover_every_value);
  tcase_add_loop_test(tc, test_stp_decoder_reset_forgets_partial_frame,
                      SQN_FEED_WHOLE, SQN_FEED_RANDOM + 1);
  tcase_add_test(tc, test_stp_decoder_no_callbacks_still_counts);
  tcase_add_loop_test(tc, test_stp_roundtrip_random_frames_identical, 0, 6);
  tcase_add_loop_test(tc, test_stp_roundtrip_corrupted_frames_resync, 0, 6);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(stp_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic package and ELF builder (core/src/pkg): byte layout, validity
 * under the CABA walker for every family with and without PACK, exact
 * sizes, streaming == buffer output, single-byte corruption blamed on the
 * record that contains it, ELF structure, and argument errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/caba.h"
#include "sqnup/crc.h"
#include "sqnup/pkg.h"

/* ---- instances and fixtures ---- */

#define BIG_SIZE 5665583u

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* memmem is a GNU extension; this is enough for a test. */
static const uint8_t *find_bytes(const void *hay, size_t n, const void *needle,
                                 size_t m) {
  const uint8_t *h = hay;
  for (size_t i = 0; m <= n && i <= n - m; i++)
    if (!memcmp(h + i, needle, m))
      return h + i;
  return NULL;
}

static struct sqn_pkg_opts opts_for(enum sqn_pkg_family f, bool no_pack,
                                    uint64_t size) {
  struct sqn_pkg_opts o;
  ck_assert_int_eq(sqn_pkg_opts_init(&o, f), 0);
  o.no_pack = no_pack;
  o.size = size;
  return o;
}

/* Build into a malloc'd buffer (test side may allocate). */
static uint8_t *build(const struct sqn_pkg_opts *o, size_t *len) {
  struct sqn_pkg_layout l;
  ck_assert_int_eq(sqn_pkg_layout(o, &l), 0);
  uint8_t *buf = malloc(l.total ? l.total : 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(sqn_pkg_build_buf(o, buf, l.total, len), 0);
  ck_assert_uint_eq(*len, l.total);
  return buf;
}

/* ---- recording callbacks ---- */

#define MAX_RECS 16
struct walk_log {
  unsigned n_end;
  struct sqn_caba_record end[MAX_RECS];
};

static int walk_log_cb(void *user, enum sqn_caba_event ev,
                       const struct sqn_caba_record *rec, const uint8_t *data,
                       size_t len) {
  struct walk_log *lg = user;
  (void)data;
  (void)len;
  if (ev == SQN_CABA_EV_END && lg->n_end < MAX_RECS)
    lg->end[lg->n_end++] = *rec;
  return 0;
}

struct feed_ctx {
  struct sqn_caba_walker w;
};

static void feed_walker(void *ctx, const uint8_t *buf, size_t len) {
  struct feed_ctx *c = ctx;
  sqn_caba_walker_feed(&c->w, buf, len);
}

/* A sink that accumulates into a growing buffer, optionally failing. */
struct acc {
  uint8_t *buf;
  size_t len, cap;
  size_t fail_after; /* 0: never */
  unsigned calls_after_fail;
  bool failed;
};

static int acc_write(void *user, const void *buf, size_t len) {
  struct acc *a = user;
  if (a->failed)
    a->calls_after_fail++;
  if (a->fail_after && a->len + len > a->fail_after) {
    a->failed = true;
    return -1;
  }
  if (a->len + len > a->cap) {
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + len)
      cap *= 2;
    a->buf = realloc(a->buf, cap);
    ck_assert_ptr_nonnull(a->buf);
    a->cap = cap;
  }
  memcpy(a->buf + a->len, buf, len);
  a->len += len;
  return 0;
}

/* Streams into the walker without holding the output. */
struct walk_sink {
  struct sqn_caba_walker w;
  uint64_t bytes;
  unsigned calls;
};

static int walk_sink_write(void *user, const void *buf, size_t len) {
  struct walk_sink *s = user;
  s->bytes += len;
  s->calls++;
  sqn_caba_walker_feed(&s->w, buf, len);
  return 0;
}

/* ---- tests ---- */

START_TEST(test_pkg_version_text_formats_in_image_form) {
  struct sqn_image_version v = {.found = true, .v = {5, 1, 1, 0}, .build = 38638};
  char buf[40];
  ck_assert_int_eq(sqn_pkg_version_text(&v, buf, sizeof buf), 15);
  ck_assert_str_eq(buf, "5.1.1.0 [38638]");
  ck_assert_int_eq(sqn_pkg_version_text(&v, buf, 15), SQN_PKG_E_NOSPACE);
  v = (struct sqn_image_version){.found = true,
                                 .v = {65535, 65535, 65535, 65535},
                                 .build = UINT32_MAX};
  ck_assert_int_eq(sqn_pkg_version_text(&v, buf, sizeof buf), 36);
  ck_assert_str_eq(buf, "65535.65535.65535.65535 [4294967295]");
}
END_TEST

START_TEST(test_pkg_family_defaults_match_spec) {
  struct sqn_image_version v;
  enum sqn_pkg_family f;
  ck_assert_int_eq(sqn_pkg_family_default(SQN_PKG_FAMILY_LR5, &v), 0);
  ck_assert(v.found && v.v[0] == 5 && v.v[1] == 1 && v.v[2] == 1 &&
            v.v[3] == 0 && v.build == 38638);
  ck_assert_int_eq(sqn_pkg_family_default(SQN_PKG_FAMILY_LR6, &v), 0);
  ck_assert(v.v[0] == 6 && v.v[1] == 0 && v.v[2] == 0 && v.v[3] == 0 &&
            v.build == 41019);
  ck_assert_int_eq(sqn_pkg_family_default(SQN_PKG_FAMILY_LR8, &v), 0);
  ck_assert(v.v[0] == 8 && v.v[1] == 2 && v.v[2] == 1 && v.v[3] == 0 &&
            v.build == 61488);
  ck_assert_int_eq(sqn_pkg_family_default(SQN_PKG_FAMILY_NONE, &v),
                   SQN_PKG_E_INVAL);
  ck_assert_int_eq(sqn_pkg_family_parse("LR6", &f), 0);
  ck_assert_int_eq(f, SQN_PKG_FAMILY_LR6);
  ck_assert_int_eq(sqn_pkg_family_parse("lr7", &f), SQN_PKG_E_INVAL);
  ck_assert_int_eq(sqn_pkg_family_parse("lr55", &f), SQN_PKG_E_INVAL);
  ck_assert_str_eq(sqn_pkg_family_name(SQN_PKG_FAMILY_LR8), "lr8");
  ck_assert_str_eq(sqn_pkg_family_what(SQN_PKG_FAMILY_LR5), "Cat-M1");
  ck_assert_str_eq(sqn_pkg_err_name(SQN_PKG_E_FAMILY), "FAMILY");
  ck_assert_str_eq(sqn_pkg_strerror(SQN_PKG_E_SIZE_TOO_SMALL),
                   "requested size is below the minimum package size");
}
END_TEST

START_TEST(test_pkg_build_default_has_genuine_byte_layout) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, false, 0);
  struct sqn_pkg_layout l;
  size_t len;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), 0);
  uint8_t *p = build(&o, &len);

  /* PACK v3 header, "Packed dup files", sig type 1 size 4. */
  static const uint8_t pack_hdr[] = {'P', 'A', 'C', 'K', 3, 0, 0, 0};
  ck_assert_mem_hex_eq(p, 8, pack_hdr, sizeof pack_hdr);
  ck_assert_uint_eq(le32(p + 8), len - 18 - 17 - 4);
  ck_assert_uint_eq(le16(p + 12), 1);
  ck_assert_uint_eq(le16(p + 14), 4);
  ck_assert_uint_eq(le16(p + 16), 17);
  ck_assert_mem_hex_eq(p + 18, 17, "Packed dup files", 17);
  ck_assert_uint_eq(le32(p + len - 4), sqn_fletcher32(p, len - 4));

  static const char *descr[4] = {"bootrom upgrade package",
                                 "updater upgrade package",
                                 "fff upgrade package", "fs upgrade package"};
  static const uint8_t target[4][4] = {
      {0x74, 0x6f, 0x6f, 0x62}, {8, 0, 0, 0}, {2, 0, 0, 0}, {3, 0, 0, 0}};
  uint64_t off = 35; /* PACK header 18 + description 17 */
  for (int r = 0; r < 4; r++) {
    const uint8_t *u = p + off;
    size_t dl = strlen(descr[r]) + 1;
    ck_assert(l.rec[r].present);
    ck_assert_uint_eq(l.rec[r].offset, off);
    ck_assert_mem_hex_eq(u, 4, "UPGR", 4);
    ck_assert_uint_eq(le16(u + 4), 3);
    ck_assert_uint_eq(le16(u + 6), 0);
    uint32_t ds = le32(u + 8);
    ck_assert_uint_eq(ds, l.rec[r].data_size);
    ck_assert_uint_eq(le16(u + 12), 1);
    ck_assert_uint_eq(le16(u + 14), 4);
    ck_assert_uint_eq(le16(u + 16), dl);
    ck_assert_mem_hex_eq(u + 18, dl, descr[r], dl);
    const uint8_t *d = u + 18 + dl;
    ck_assert_mem_hex_eq(d, 4, target[r], 4);
    size_t rl = 18 + dl + ds + 4;
    ck_assert_uint_eq(rl, l.rec[r].length);
    ck_assert_uint_eq(le32(u + rl - 4), sqn_fletcher32(u, rl - 4));
    if (r == 1 || r == 2) {
      /* Slim FFF! header `<4sIIIIIIIHHHH`, ELF payload, Fletcher trailer. */
      const uint8_t *fh = d + 4;
      uint32_t plen = ds - 4 - 40 - 4;
      uint8_t want[40] = {'F', 'F', 'F', '!', 0, 0, 0, 0, 1};
      want[28] = (uint8_t)plen;
      want[29] = (uint8_t)(plen >> 8);
      want[30] = (uint8_t)(plen >> 16);
      want[31] = (uint8_t)(plen >> 24);
      want[36] = 1;
      want[38] = 4;
      ck_assert_mem_hex_eq(fh, 40, want, 40);
      ck_assert_mem_hex_eq(fh + 40, 4, "\x7f" "ELF", 4);
      ck_assert_uint_eq(le32(fh + 40 + plen), sqn_fletcher32(fh, 40 + plen));
    }
    if (r == 0) {
      ck_assert(find_bytes(d, ds, "sbpk", 4) != NULL);
      ck_assert(find_bytes(d, ds, "booosqn1", 8) != NULL);
      ck_assert(find_bytes(d, ds, "5.1.1.0 [38638]", 15) != NULL);
    }
    if (r == 3)
      ck_assert(find_bytes(d, ds, ".overlay", 8) != NULL);
    if (r == 2)
      ck_assert(find_bytes(d, ds, "fff 5.1.1.0 [38638]", 19) != NULL);
    off += rl;
  }
  ck_assert_uint_eq(off + 4, len);
  ck_assert_uint_eq(len, l.min_total);
  free(p);
}
END_TEST

/* Every family, with and without PACK, natural and padded, three feeds. */
START_TEST(test_pkg_build_each_family_walks_valid) {
  static const enum sqn_pkg_family fams[3] = {
      SQN_PKG_FAMILY_LR5, SQN_PKG_FAMILY_LR6, SQN_PKG_FAMILY_LR8};
  int i = _i; /* 0..11: family x pack x size */
  enum sqn_pkg_family fam = fams[i % 3];
  bool no_pack = (i / 3) % 2;
  uint64_t size = (i / 6) ? 20011 : 0;
  struct sqn_pkg_opts o = opts_for(fam, no_pack, size);
  size_t len;
  uint8_t *p = build(&o, &len);
  if (size)
    ck_assert_uint_eq(len, size);

  for (int mode = SQN_FEED_WHOLE; mode <= SQN_FEED_RANDOM; mode++) {
    struct feed_ctx c;
    struct walk_log lg = {0};
    sqn_caba_walker_init(&c.w, walk_log_cb, &lg);
    sqn_feed((enum sqn_feed_mode)mode, 1000u + (unsigned)i, p, len, feed_walker,
             &c);
    ck_assert_msg(sqn_caba_walker_finish(&c.w) == 0,
                  "family %d no_pack %d size %d mode %d: %s at %llu", fam,
                  no_pack, (int)size, mode, sqn_caba_strerror(c.w.err),
                  (unsigned long long)c.w.err_offset);
    ck_assert_uint_eq(lg.n_end, no_pack ? 4 : 5);
    /* Children end before their PACK. */
    static const uint32_t targets[4] = {SQN_CABA_TARGET_BOOT,
                                        SQN_CABA_TARGET_UPDATER,
                                        SQN_CABA_TARGET_FFF, SQN_CABA_TARGET_FS};
    for (int r = 0; r < 4; r++) {
      const struct sqn_caba_record *rec = &lg.end[r];
      ck_assert_str_eq(rec->magic, "UPGR");
      ck_assert(rec->sig_ok);
      ck_assert(rec->has_target);
      ck_assert_uint_eq(rec->target, targets[r]);
      ck_assert_uint_eq(rec->depth, no_pack ? 0 : 1);
      if (r < 3) {
        ck_assert(rec->image.found);
        ck_assert_uint_eq(rec->image.v[0], o.version.v[0]);
        ck_assert_uint_eq(rec->image.v[1], o.version.v[1]);
        ck_assert_uint_eq(rec->image.v[2], o.version.v[2]);
        ck_assert_uint_eq(rec->image.v[3], o.version.v[3]);
        ck_assert_uint_eq(rec->image.build, o.version.build);
      }
      if (r == 1 || r == 2) {
        ck_assert(rec->has_fff);
        ck_assert_uint_eq(rec->fff_payload_len, rec->data_size - 48);
      }
    }
    if (!no_pack) {
      ck_assert_str_eq(lg.end[4].magic, "PACK");
      ck_assert_str_eq(lg.end[4].descr, "Packed dup files");
      ck_assert_uint_eq(lg.end[4].length, len);
    }
  }
  free(p);
}
END_TEST

/* 5 665 583 bytes streamed straight into the walker, never held whole. */
START_TEST(test_pkg_build_big_size_streams_exact_and_valid) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, _i == 1, BIG_SIZE);
  struct walk_sink s = {0};
  struct walk_log lg = {0};
  sqn_caba_walker_init(&s.w, walk_log_cb, &lg);
  ck_assert_int_eq(sqn_pkg_build(&o, walk_sink_write, &s), 0);
  ck_assert_uint_eq(s.bytes, BIG_SIZE);
  ck_assert_int_eq(sqn_caba_walker_finish(&s.w), 0);
  ck_assert_uint_eq(lg.n_end, _i == 1 ? 4 : 5);
  ck_assert(lg.end[2].has_fff);
  ck_assert(lg.end[2].image.found && lg.end[2].image.build == 38638);
}
END_TEST

START_TEST(test_pkg_stream_output_equals_buffer_output) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR8, _i == 1, 300000);
  struct acc a = {0};
  size_t len;
  uint8_t *p = build(&o, &len);
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), 0);
  ck_assert_mem_hex_eq(a.buf, a.len, p, len);
  /* And a second build is the same bytes: no hidden state. */
  size_t len2;
  uint8_t *q = build(&o, &len2);
  ck_assert_mem_hex_eq(q, len2, p, len);
  free(q);
  free(a.buf);
  free(p);
}
END_TEST

START_TEST(test_pkg_size_below_minimum_reports_minimum) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR6, false, 0);
  struct sqn_pkg_layout l;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), 0);
  uint64_t min = l.total;
  ck_assert_uint_eq(l.min_total, min);
  o.size = min - 1;
  memset(&l, 0, sizeof l);
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), SQN_PKG_E_SIZE_TOO_SMALL);
  ck_assert_uint_eq(l.min_total, min);
  o.size = min;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), 0);
  ck_assert_uint_eq(l.total, min);
  ck_assert_uint_eq(l.filler, 0);
  o.size = min + 1;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), 0);
  ck_assert_uint_eq(l.filler, 1);
  o.size = UINT64_C(1) << 33;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), SQN_PKG_E_SIZE_TOO_LARGE);
}
END_TEST

START_TEST(test_pkg_bad_options_rejected_without_output) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, false, 0);
  struct acc a = {0};
  uint8_t small[16];
  size_t len = 0;

  o.family = SQN_PKG_FAMILY_LR6; /* version 5.x */
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), SQN_PKG_E_FAMILY);
  o = opts_for(SQN_PKG_FAMILY_LR5, false, 0);
  o.family = SQN_PKG_FAMILY_NONE;
  o.version.v[0] = 7;
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), SQN_PKG_E_BAD_VERSION);
  o = opts_for(SQN_PKG_FAMILY_LR5, false, 100000);
  o.records = SQN_PKG_REC_BIT(SQN_PKG_REC_BOOT) | SQN_PKG_REC_BIT(SQN_PKG_REC_FS);
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), SQN_PKG_E_NO_FFF);
  o = opts_for(SQN_PKG_FAMILY_LR5, false, 0);
  o.records = 0x10;
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), SQN_PKG_E_INVAL);
  o.records = 0;
  o.version.found = false;
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), SQN_PKG_E_INVAL);
  o = opts_for(SQN_PKG_FAMILY_LR5, false, 0);
  ck_assert_int_eq(sqn_pkg_build(&o, NULL, NULL), SQN_PKG_E_INVAL);
  memset(small, 0xAA, sizeof small);
  ck_assert_int_eq(sqn_pkg_build_buf(&o, small, sizeof small, &len),
                   SQN_PKG_E_NOSPACE);
  for (size_t i = 0; i < sizeof small; i++)
    ck_assert_uint_eq(small[i], 0xAA);
  ck_assert_uint_eq(a.len, 0); /* the callback was never called */
}
END_TEST

START_TEST(test_pkg_write_failure_stops_output) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, false, 100000);
  struct acc a = {.fail_after = 5000};
  ck_assert_int_eq(sqn_pkg_build(&o, acc_write, &a), SQN_PKG_E_WRITE);
  ck_assert(a.failed);
  ck_assert_uint_eq(a.calls_after_fail, 0);
  ck_assert_uint_le(a.len, 5000);
  free(a.buf);
}
END_TEST

START_TEST(test_pkg_record_subset_walks_valid) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, _i == 1, 0);
  o.records = SQN_PKG_REC_BIT(SQN_PKG_REC_UPDATER) | SQN_PKG_REC_BIT(SQN_PKG_REC_FFF);
  size_t len;
  uint8_t *p = build(&o, &len);
  struct walk_log lg = {0};
  ck_assert_int_eq(sqn_caba_walk(p, len, walk_log_cb, &lg, NULL), 0);
  ck_assert_uint_eq(lg.n_end, _i == 1 ? 2 : 3);
  ck_assert_uint_eq(lg.end[0].target, SQN_CABA_TARGET_UPDATER);
  ck_assert_uint_eq(lg.end[1].target, SQN_CABA_TARGET_FFF);
  free(p);
}
END_TEST

START_TEST(test_pkg_versions_per_record_are_their_own) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, false, 0);
  o.bootrom = (struct sqn_image_version){.found = true, .v = {5, 0, 0, 0}, .build = 33080};
  o.updater = (struct sqn_image_version){.found = true, .v = {5, 1, 0, 0}, .build = 37000};
  size_t len;
  uint8_t *p = build(&o, &len);
  struct walk_log lg = {0};
  ck_assert_int_eq(sqn_caba_walk(p, len, walk_log_cb, &lg, NULL), 0);
  ck_assert_uint_eq(lg.end[0].image.build, 33080);
  ck_assert_uint_eq(lg.end[1].image.build, 37000);
  ck_assert_uint_eq(lg.end[2].image.build, 38638);
  ck_assert_uint_eq(lg.end[2].image.v[1], 1);
  free(p);
}
END_TEST

/* The innermost known record (PACK or UPGR) whose header is at `off`. */
static bool record_range(const struct sqn_pkg_layout *l, uint64_t off,
                         uint64_t *start, uint64_t *end) {
  for (int r = 0; r < SQN_PKG_REC_COUNT; r++)
    if (l->rec[r].present && l->rec[r].offset == off) {
      *start = off;
      *end = off + l->rec[r].length;
      return true;
    }
  if (l->has_pack && off == l->pack_offset) {
    *start = off;
    *end = off + l->pack_length;
    return true;
  }
  return false;
}

/*
 * Flip byte `at` by `x`, walk, and check that the walker fails and blames a
 * record that contains the flipped byte. Misses are printed and counted in
 * *bad.
 */
static void flip_check(uint8_t *p, size_t len, const struct sqn_pkg_layout *l,
                       size_t at, uint8_t x, int *bad) {
  struct sqn_caba_walker w;
  uint64_t s = 0, e = 0;
  p[at] ^= x;
  int rc = sqn_caba_walk(p, len, NULL, NULL, &w);
  p[at] ^= x;
  if (rc == 0) {
    fprintf(stderr, "flip 0x%02x at %zu: not detected\n", x, at);
    (*bad)++;
    return;
  }
  if (!record_range(l, w.err_record, &s, &e) || at < s || at >= e) {
    if (*bad < 8)
      fprintf(stderr,
              "flip 0x%02x at %zu: blamed %s at %llu [%llu, %llu), %s "
              "detected at %llu\n",
              x, at, w.err_magic[0] ? w.err_magic : "(no record)",
              (unsigned long long)w.err_record, (unsigned long long)s,
              (unsigned long long)e, sqn_caba_err_name(rc),
              (unsigned long long)w.err_offset);
    (*bad)++;
  }
}

/* 200 seeded offsets and flip values, per package shape. */
START_TEST(test_pkg_flip_any_byte_blames_containing_record) {
  bool no_pack = _i & 1;
  uint64_t size = (_i & 2) ? 40000 : 0;
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR5, no_pack, size);
  struct sqn_pkg_layout l;
  size_t len;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), 0);
  uint8_t *p = build(&o, &len);
  struct sqn_rng rng;
  int bad = 0;
  sqn_rng_seed(&rng, 0xD0B5u + (unsigned)_i);

  for (int k = 0; k < 200; k++) {
    /* Half the offsets anywhere, half in the first 2 KiB, where the
     * headers are. */
    size_t at = (size_t)sqn_rng_below(&rng, k % 2 ? len : (len < 2048 ? len : 2048));
    uint8_t x = (uint8_t)(1 + sqn_rng_below(&rng, 255));
    flip_check(p, len, &l, at, x, &bad);
  }
  ck_assert_msg(bad == 0,
                "%d of 200 flips not blamed on a record that contains them "
                "(no_pack %d size %llu; details on stderr)",
                bad, no_pack, (unsigned long long)size);
  free(p);
}
END_TEST

/* Every offset of the smallest package, two flip values each. */
START_TEST(test_pkg_flip_every_byte_blames_containing_record) {
  struct sqn_pkg_opts o = opts_for(SQN_PKG_FAMILY_LR6, _i == 1, 0);
  struct sqn_pkg_layout l;
  size_t len;
  int bad = 0;
  ck_assert_int_eq(sqn_pkg_layout(&o, &l), 0);
  uint8_t *p = build(&o, &len);
  for (size_t at = 0; at < len; at++) {
    flip_check(p, len, &l, at, 0x01, &bad);
    flip_check(p, len, &l, at, 0xA5, &bad);
  }
  ck_assert_msg(bad == 0, "%d of %zu flips misattributed (details on stderr)",
                bad, 2 * len);
  free(p);
}
END_TEST

START_TEST(test_pkg_elf_is_parseable_elf32_be) {
  struct sqn_pkg_elf_opts e = {
      .version = {.found = true, .v = {5, 1, 1, 0}, .build = 38638},
      .label = "updater",
      .filler = (uint32_t)_i * 1001u};
  uint8_t buf[4096];
  size_t len;
  ck_assert_int_eq(sqn_pkg_elf_build_buf(&e, buf, sizeof buf, &len), 0);
  ck_assert_uint_eq(len, SQN_PKG_ELF_FIXED + e.filler);
  ck_assert_uint_eq(len, sqn_pkg_elf_size(&e));
  static const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 1, 2, 1};
  ck_assert_mem_hex_eq(buf, 16, ident, 16);
  ck_assert_uint_eq(be16(buf + 16), 2);    /* ET_EXEC */
  ck_assert_uint_eq(be16(buf + 18), 0xA7); /* e_machine */
  ck_assert_uint_eq(be32(buf + 20), 1);
  uint32_t entry = be32(buf + 24), phoff = be32(buf + 28), shoff = be32(buf + 32);
  ck_assert_uint_eq(be16(buf + 40), 52);
  ck_assert_uint_eq(be16(buf + 42), 32);
  ck_assert_uint_eq(be16(buf + 44), 1);
  ck_assert_uint_eq(be16(buf + 46), 40);
  uint16_t shnum = be16(buf + 48), shstrndx = be16(buf + 50);
  ck_assert_uint_eq(phoff, 52);
  ck_assert_uint_le(shoff + (uint32_t)shnum * 40u, len);
  ck_assert_uint_lt(shstrndx, shnum);
  /* PT_LOAD over the whole file; entry inside it. */
  const uint8_t *ph = buf + phoff;
  ck_assert_uint_eq(be32(ph), 1);
  ck_assert_uint_eq(be32(ph + 4), 0);
  ck_assert_uint_eq(be32(ph + 16), len);
  uint32_t vaddr = be32(ph + 8);
  ck_assert(entry >= vaddr && entry < vaddr + len);
  /* Sections: names resolve, ranges inside the file. */
  const uint8_t *strsh = buf + shoff + shstrndx * 40u;
  uint32_t stroff = be32(strsh + 16), strsz = be32(strsh + 20);
  ck_assert_uint_le(stroff + strsz, len);
  bool seen_text = false, seen_ro = false;
  for (unsigned i = 1; i < shnum; i++) {
    const uint8_t *sh = buf + shoff + i * 40u;
    uint32_t name = be32(sh), off = be32(sh + 16), sz = be32(sh + 20);
    ck_assert_uint_lt(name, strsz);
    ck_assert_uint_le(off + sz, len);
    const char *nm = (const char *)buf + stroff + name;
    if (!strcmp(nm, ".text")) {
      seen_text = true;
      ck_assert(entry - vaddr >= off && entry - vaddr < off + sz);
    }
    if (!strcmp(nm, ".rodata")) {
      seen_ro = true;
      ck_assert(find_bytes(buf + off, sz, "updater 5.1.1.0 [38638]", 23) != NULL);
    }
    if (!strcmp(nm, ".data"))
      ck_assert_uint_eq(sz, e.filler);
  }
  ck_assert(seen_text && seen_ro);
  /* The version text is the first digits-and-dots text of the image. */
  const uint8_t *v = find_bytes(buf, len, "5.1.1.0 [38638]", 15);
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_lt((size_t)(v - buf), 128);
}
END_TEST

START_TEST(test_pkg_elf_bad_options_rejected) {
  struct sqn_pkg_elf_opts e = {.label = "x"};
  uint8_t buf[1024];
  size_t len;
  ck_assert_int_eq(sqn_pkg_elf_build_buf(&e, buf, sizeof buf, &len),
                   SQN_PKG_E_INVAL); /* no version */
  e.version.found = true;
  e.label = "a-label-longer-than-16";
  ck_assert_int_eq(sqn_pkg_elf_build_buf(&e, buf, sizeof buf, &len),
                   SQN_PKG_E_INVAL);
  e.label = NULL;
  ck_assert_int_eq(sqn_pkg_elf_build_buf(&e, buf, 100, &len), SQN_PKG_E_NOSPACE);
  ck_assert_int_eq(sqn_pkg_elf_build_buf(&e, buf, sizeof buf, &len), 0);
  ck_assert(find_bytes(buf, len, "image 0.0.0.0 [0]", 17) != NULL);
}
END_TEST

/* The committed fixtures are what the library builds today (the CLI test
 * replays the README commands; this checks the library alone). */
START_TEST(test_pkg_fixtures_match_library_output) {
  static const struct {
    const char *file;
    enum sqn_pkg_family fam;
    bool no_pack;
    uint16_t v[4];
    uint32_t build;
    uint64_t size;
  } fx[] = {
      {"lr5-5.1.1.0-38638.dup", SQN_PKG_FAMILY_LR5, false, {5, 1, 1, 0}, 38638, 0},
      {"lr6-6.0.0.0-41019.dup", SQN_PKG_FAMILY_LR6, false, {6, 0, 0, 0}, 41019, 0},
      {"lr6-6.0.0.0-41019-nopack.dup", SQN_PKG_FAMILY_LR6, true, {6, 0, 0, 0}, 41019, 0},
      {"lr8-8.2.1.0-61488.dup", SQN_PKG_FAMILY_LR8, false, {8, 2, 1, 0}, 61488, 0},
      {"lr5-5.2.0.0-48829.dup", SQN_PKG_FAMILY_LR5, false, {5, 2, 0, 0}, 48829, 16384},
  };
  char path[512];
  snprintf(path, sizeof path, "%s/packages/%s", SQN_FIXTURES, fx[_i].file);
  size_t flen;
  uint8_t *want = sqn_read_file(path, &flen);
  ck_assert_msg(want != NULL, "cannot read %s", path);
  struct sqn_pkg_opts o = opts_for(fx[_i].fam, fx[_i].no_pack, fx[_i].size);
  memcpy(o.version.v, fx[_i].v, sizeof o.version.v);
  o.version.build = fx[_i].build;
  size_t len;
  uint8_t *got = build(&o, &len);
  ck_assert_mem_hex_eq(got, len, want, flen);
  ck_assert_int_eq(sqn_caba_walk(want, flen, NULL, NULL, NULL), 0);
  free(got);
  free(want);
}
END_TEST

/* ---- two-part packages (F20) ---- */

/* Walk callback: keep the fff record's description. */
static int fff_descr_cb(void *user, enum sqn_caba_event ev,
                        const struct sqn_caba_record *rec, const uint8_t *d,
                        size_t n) {
  (void)d, (void)n;
  if (ev == SQN_CABA_EV_END && rec->has_target &&
      rec->target == SQN_CABA_TARGET_FFF)
    snprintf(user, SQN_CABA_DESCR_MAX, "%s", rec->descr);
  return 0;
}

START_TEST(test_pkg_parts_tag_fff_description) {
  struct sqn_pkg_opts o;
  char descr[SQN_CABA_DESCR_MAX] = "";
  unsigned part = 0, parts = 0;
  struct sqn_image_version base;
  size_t len;
  uint8_t *b;

  ck_assert_int_eq(sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5), 0);
  ck_assert_uint_eq(o.part, 0);
  /* Part 1: "part 1/2", its fff version the intermediate image. */
  o.version.build = 39529;
  o.part = 1;
  b = build(&o, &len);
  ck_assert_int_eq(sqn_caba_walk(b, len, fff_descr_cb, descr, NULL), 0);
  ck_assert_str_eq(descr, "fff upgrade package part 1/2");
  ck_assert_int_eq(sqn_pkg_part_parse(descr, &part, &parts, &base), 1);
  ck_assert_uint_eq(part, 1);
  ck_assert_uint_eq(parts, 2);
  ck_assert(!base.found);
  free(b);
  /* Part 2 names its base. */
  o.part = 2;
  o.part_base = o.version;
  o.version.v[1] = 2, o.version.v[2] = 0, o.version.build = 48829;
  b = build(&o, &len);
  ck_assert_int_eq(sqn_caba_walk(b, len, fff_descr_cb, descr, NULL), 0);
  ck_assert_str_eq(descr, "fff upgrade package part 2/2 from 5.1.1.0 [39529]");
  ck_assert_int_eq(sqn_pkg_part_parse(descr, &part, &parts, &base), 1);
  ck_assert_uint_eq(part, 2);
  ck_assert(base.found);
  ck_assert_uint_eq(base.build, 39529);
  free(b);
  /* Bad part options build nothing. */
  o.part_base.found = false;
  ck_assert_int_eq(sqn_pkg_build_buf(&o, NULL, 0, &len), SQN_PKG_E_INVAL);
  o.part = 3;
  ck_assert_int_eq(sqn_pkg_build_buf(&o, NULL, 0, &len), SQN_PKG_E_INVAL);
  o.part = 1;
  o.records = SQN_PKG_REC_BIT(SQN_PKG_REC_UPDATER);
  ck_assert_int_eq(sqn_pkg_build_buf(&o, NULL, 0, &len), SQN_PKG_E_NO_FFF);
  /* Ordinary descriptions carry no tag. */
  ck_assert_int_eq(sqn_pkg_part_parse("fff upgrade package", &part, NULL,
                                      NULL), 0);
  ck_assert_int_eq(sqn_pkg_part_parse("x part 0/2", NULL, NULL, NULL), 0);
  ck_assert_int_eq(sqn_pkg_part_parse("x part 3/2", NULL, NULL, NULL), 0);
}
END_TEST

/* ---- suite factory ---- */

static Suite *pkg_suite(void) {
  Suite *s = suite_create("pkg");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_pkg_version_text_formats_in_image_form);
  tcase_add_test(tc, test_pkg_family_defaults_match_spec);
  tcase_add_test(tc, test_pkg_build_default_has_genuine_byte_layout);
  tcase_add_loop_test(tc, test_pkg_build_each_family_walks_valid, 0, 12);
  tcase_add_loop_test(tc, test_pkg_build_big_size_streams_exact_and_valid, 0, 2);
  tcase_add_loop_test(tc, test_pkg_stream_output_equals_buffer_output, 0, 2);
  tcase_add_test(tc, test_pkg_size_below_minimum_reports_minimum);
  tcase_add_test(tc, test_pkg_bad_options_rejected_without_output);
  tcase_add_test(tc, test_pkg_write_failure_stops_output);
  tcase_add_loop_test(tc, test_pkg_record_subset_walks_valid, 0, 2);
  tcase_add_test(tc, test_pkg_versions_per_record_are_their_own);
  tcase_add_loop_test(tc, test_pkg_flip_any_byte_blames_containing_record, 0, 4);
  tcase_add_loop_test(tc, test_pkg_flip_every_byte_blames_containing_record, 0, 2);
  tcase_add_loop_test(tc, test_pkg_elf_is_parseable_elf32_be, 0, 3);
  tcase_add_test(tc, test_pkg_elf_bad_options_rejected);
  tcase_add_loop_test(tc, test_pkg_fixtures_match_library_output, 0, 5);
  tcase_add_test(tc, test_pkg_parts_tag_fff_description);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pkg_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CABA walker and version rule. Every input is fed whole, bytewise and in
 * seeded random chunks, and the three runs must agree on the verdict, the
 * error location and the event sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/caba.h"
#include "sqnup/crc.h"

/* ================= instances and fixtures ================= */

#define LOG_MAX 64
#define DATA_KEEP 8192

struct ev_entry {
  enum sqn_caba_event ev;
  struct sqn_caba_record rec;
};

struct run {
  int err;
  uint64_t err_offset;
  uint64_t err_record;
  char err_magic[5];
  uint32_t records;
  struct ev_entry ev[LOG_MAX];
  size_t nev;
  uint8_t data[DATA_KEEP]; /* first DATA bytes, concatenated */
  size_t data_keep;
  uint64_t data_total;
  uint32_t data_hash;      /* FNV-1a over every DATA byte */
  int abort_after;         /* stop at this callback (1-based); 0 never */
  int calls;
};

static const enum sqn_feed_mode modes[] = {SQN_FEED_WHOLE, SQN_FEED_BYTEWISE,
                                           SQN_FEED_RANDOM};
static const char *const mode_names[] = {"whole", "bytewise", "random"};

static uint8_t *load_hex(const char *name, size_t *len, char *expect,
                         size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/caba/%s", SQN_FIXTURES, name);
  size_t tlen;
  uint8_t *text = sqn_read_file(path, &tlen);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  uint8_t *out = malloc(tlen / 2 + 1);
  ck_assert_ptr_nonnull(out);
  int bad_line = 0;
  long n = sqn_hex_parse((const char *)text, out, tlen / 2 + 1, &bad_line);
  ck_assert_msg(n >= 0, "%s:%d: bad hex", path, bad_line);
  if (expect) {
    const char *e = strstr((const char *)text, "expect: ");
    ck_assert_msg(e != NULL, "%s: no '# expect:' line", path);
    e += 8;
    size_t k = 0;
    while (e[k] && e[k] != '\n' && k + 1 < cap) {
      expect[k] = e[k];
      k++;
    }
    expect[k] = '\0';
  }
  free(text);
  *len = (size_t)n;
  return out;
}

/* ---- a small package builder (independent of sqnup_pkg) ---- */

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static size_t sig_len(unsigned st) { return st == 0 ? 0 : 4; }

static void sign(uint8_t *o, size_t n, unsigned st) {
  if (st == 1)
    put32(o + n, sqn_fletcher32(o, n));
  else if (st == 4)
    put32(o + n, sqn_crc32(0, o, n));
}

/* v3 record into `o` (no aliasing with `d`); returns its length. */
static size_t mk_v3(uint8_t *o, const char *magic, const char *descr,
                    const uint8_t *d, size_t n, unsigned st) {
  size_t dl = strlen(descr) + 1;
  memcpy(o, magic, 4);
  put16(o + 4, 3);
  put16(o + 6, 0);
  put32(o + 8, (uint32_t)n);
  put16(o + 12, (uint16_t)st);
  put16(o + 14, (uint16_t)sig_len(st));
  put16(o + 16, (uint16_t)dl);
  memcpy(o + 18, descr, dl);
  if (n)
    memcpy(o + 18 + dl, d, n);
  sign(o, 18 + dl + n, st);
  return 18 + dl + n + sig_len(st);
}

static size_t mk_v2(uint8_t *o, const char *magic, const uint8_t *d, size_t n,
                    unsigned st) {
  memcpy(o, magic, 4);
  put16(o + 4, 2);
  put16(o + 6, 0x55);
  put32(o + 8, (uint32_t)n);
  put16(o + 12, (uint16_t)st);
  put16(o + 14, (uint16_t)sig_len(st));
  if (n)
    memcpy(o + 16, d, n);
  sign(o, 16 + n, st);
  return 16 + n + sig_len(st);
}

static size_t mk_v1(uint8_t *o, const char *magic, const uint8_t *d, size_t n) {
  memcpy(o, magic, 4);
  put16(o + 4, 1);
  put16(o + 6, 0);
  put32(o + 8, (uint32_t)n);
  put32(o + 12, sqn_fletcher32(d, n));
  put32(o + 16, 0);
  put32(o + 16, sqn_fletcher32(o, 20));
  if (n)
    memcpy(o + 20, d, n);
  return 20 + n;
}

static size_t mk_fff(uint8_t *o, const uint8_t *payload, size_t n) {
  memset(o, 0, SQN_FFF_HDR_LEN);
  memcpy(o, "FFF!", 4);
  put32(o + 8, 1);
  put32(o + 28, (uint32_t)n);
  put16(o + 36, 1);
  put16(o + 38, 4);
  memcpy(o + SQN_FFF_HDR_LEN, payload, n);
  put32(o + SQN_FFF_HDR_LEN + n, sqn_fletcher32(o, SQN_FFF_HDR_LEN + n));
  return SQN_FFF_HDR_LEN + n + 4;
}

static size_t mk_upgr(uint8_t *o, uint32_t target, const char *descr,
                      const uint8_t *body, size_t n, bool fff) {
  uint8_t *d = malloc(n + 64);
  ck_assert_ptr_nonnull(d);
  put32(d, target);
  size_t dn = 4 + (fff ? mk_fff(d + 4, body, n) : (memcpy(d + 4, body, n), n));
  size_t r = mk_v3(o, "UPGR", descr, d, dn, 1);
  free(d);
  return r;
}

/* The four-record package of protocol.md 5.3 in miniature (or full size
 * with `scale`): bootrom opaque, updater FFF!, fff FFF! carrying
 * "5.1.1.0 [38638]", fs opaque; wrapped in a PACK. */
struct pkg {
  uint8_t *buf;
  size_t len;
  uint64_t off[5], len_rec[5]; /* PACK, boot, updater, fff, fs */
};

static void fill_rand(uint8_t *p, size_t n, uint64_t seed) {
  struct sqn_rng r;
  sqn_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(sqn_rng_next(&r) >> 24);
}

static void mk_pkg(struct pkg *k, const size_t sizes[4]) {
  size_t total = 256;
  for (int i = 0; i < 4; i++)
    total += sizes[i] + 160;
  uint8_t *inner = malloc(total);
  uint8_t *body = malloc(total);
  k->buf = malloc(total + 128);
  ck_assert(inner && body && k->buf);
  static const char *descr[4] = {"bootrom upgrade package",
                                 "updater upgrade package",
                                 "fff upgrade package", "fs upgrade package"};
  static const uint32_t tgt[4] = {SQN_CABA_TARGET_BOOT, 8, 2, 3};
  size_t pos = 0;
  for (int i = 0; i < 4; i++) {
    fill_rand(body, sizes[i], 1000 + (uint64_t)i);
    /* Random bytes must not contain ']' by chance near a version-like
     * text; they cannot form one, but keep the fff text the first. */
    if (i == 0)
      memcpy(body, "sbpk", 4);
    if (i == 2) {
      static const char v[] = "\x7f" "ELF LR5.1.1.0 5.1.1.0 [38638]";
      memcpy(body, v, sizeof v);
    }
    k->off[i + 1] = 20 + pos; /* PACK header 18 + "Packed dup files\0" 17 */
    size_t r = mk_upgr(inner + pos, tgt[i], descr[i], body, sizes[i],
                       tgt[i] == 2 || tgt[i] == 8);
    k->len_rec[i + 1] = r;
    pos += r;
  }
  k->len = mk_v3(k->buf, "PACK", "Packed dup files", inner, pos, 1);
  k->off[0] = 0;
  k->len_rec[0] = k->len;
  for (int i = 1; i < 5; i++)
    k->off[i] += 35 - 20;
  free(inner);
  free(body);
}

/* ================= recording callbacks ================= */

static int rec_cb(void *user, enum sqn_caba_event ev,
                  const struct sqn_caba_record *rec, const uint8_t *data,
                  size_t len) {
  struct run *r = user;
  r->calls++;
  if (ev == SQN_CABA_EV_DATA) {
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_gt(len, 0);
    for (size_t i = 0; i < len; i++) {
      r->data_hash = (r->data_hash ^ data[i]) * 16777619u;
      if (r->data_keep < DATA_KEEP)
        r->data[r->data_keep++] = data[i];
    }
    r->data_total += len;
  } else {
    ck_assert_ptr_null(data);
    ck_assert_uint_lt(r->nev, LOG_MAX);
    r->ev[r->nev].ev = ev;
    r->ev[r->nev].rec = *rec;
    r->nev++;
  }
  return r->abort_after && r->calls >= r->abort_after;
}

static void feed_walker(void *ctx, const uint8_t *buf, size_t len) {
  struct sqn_caba_walker *w = ctx;
  int rc = sqn_caba_walker_feed(w, buf, len);
  ck_assert_int_eq(rc, w->err);
}

static struct run *walk(enum sqn_feed_mode mode, uint64_t seed,
                        const uint8_t *buf, size_t len, int abort_after) {
  struct run *r = calloc(1, sizeof *r);
  ck_assert_ptr_nonnull(r);
  r->data_hash = 2166136261u;
  r->abort_after = abort_after;
  struct sqn_caba_walker w;
  sqn_caba_walker_init(&w, rec_cb, r);
  sqn_feed(mode, seed, buf, len, feed_walker, &w);
  r->err = sqn_caba_walker_finish(&w);
  ck_assert_int_eq(r->err, w.err);
  ck_assert_int_eq(sqn_caba_walker_finish(&w), r->err); /* sticky */
  r->err_offset = w.err_offset;
  r->err_record = w.err_record;
  memcpy(r->err_magic, w.err_magic, sizeof r->err_magic);
  r->records = w.records;
  return r;
}

static void rec_eq(const struct sqn_caba_record *a,
                   const struct sqn_caba_record *b) {
  ck_assert_uint_eq(a->offset, b->offset);
  ck_assert_uint_eq(a->length, b->length);
  ck_assert_uint_eq(a->depth, b->depth);
  ck_assert_str_eq(a->magic, b->magic);
  ck_assert_uint_eq(a->version, b->version);
  ck_assert_uint_eq(a->data_size, b->data_size);
  ck_assert_uint_eq(a->sig_type, b->sig_type);
  ck_assert_str_eq(a->descr, b->descr);
  ck_assert_int_eq(a->has_target, b->has_target);
  ck_assert_uint_eq(a->target, b->target);
  ck_assert_int_eq(a->has_fff, b->has_fff);
  ck_assert_uint_eq(a->fff_payload_len, b->fff_payload_len);
  ck_assert_int_eq(a->image.found, b->image.found);
  ck_assert_mem_eq(a->image.v, b->image.v, sizeof a->image.v);
  ck_assert_uint_eq(a->image.build, b->image.build);
  ck_assert_int_eq(a->sig_ok, b->sig_ok);
}

static void run_eq(const struct run *a, const struct run *b) {
  ck_assert_str_eq(sqn_caba_err_name(a->err), sqn_caba_err_name(b->err));
  ck_assert_uint_eq(a->err_offset, b->err_offset);
  ck_assert_uint_eq(a->err_record, b->err_record);
  ck_assert_str_eq(a->err_magic, b->err_magic);
  ck_assert_uint_eq(a->records, b->records);
  ck_assert_uint_eq(a->nev, b->nev);
  for (size_t i = 0; i < a->nev; i++) {
    ck_assert_int_eq(a->ev[i].ev, b->ev[i].ev);
    rec_eq(&a->ev[i].rec, &b->ev[i].rec);
  }
  ck_assert_uint_eq(a->data_total, b->data_total);
  ck_assert_uint_eq(a->data_hash, b->data_hash);
}

/* Walk in all three modes (and the whole-file API), check they agree, and
 * return the whole-mode run (caller frees). */
static struct run *walk3(const uint8_t *buf, size_t len, uint64_t seed) {
  struct run *ref = walk(SQN_FEED_WHOLE, seed, buf, len, 0);
  for (size_t m = 1; m < 3; m++) {
    struct run *r = walk(modes[m], seed, buf, len, 0);
    run_eq(ref, r);
    free(r);
  }
  struct sqn_caba_walker w;
  ck_assert_int_eq(sqn_caba_walk(buf, len, NULL, NULL, &w), ref->err);
  ck_assert_uint_eq(w.err_offset, ref->err_offset);
  ck_assert_uint_eq(w.err_record, ref->err_record);
  ck_assert_int_eq(sqn_caba_walk(buf, len, NULL, NULL, NULL), ref->err);
  return ref;
}

static const struct ev_entry *find_end(const struct run *r, const char *magic,
                                       uint64_t offset) {
  for (size_t i = 0; i < r->nev; i++)
    if (r->ev[i].ev == SQN_CABA_EV_END &&
        strcmp(r->ev[i].rec.magic, magic) == 0 &&
        r->ev[i].rec.offset == offset)
      return &r->ev[i];
  return NULL;
}

/* ================= tests ================= */

static void check_single(const char *file, uint16_t version, uint16_t st) {
  size_t len;
  char expect[128];
  uint8_t *b = load_hex(file, &len, expect, sizeof expect);
  ck_assert_str_eq(expect, version == 1 ? "OK, one record TEST v1, data \"FOOBAR\\0\""
                                        : "OK, one record TEST \"demo\", data \"FOOBAR\\0\", sig_ok");
  struct run *r = walk3(b, len, 7);
  ck_assert_int_eq(r->err, 0);
  ck_assert_uint_eq(r->records, 1);
  ck_assert_uint_eq(r->nev, 2);
  ck_assert_int_eq(r->ev[0].ev, SQN_CABA_EV_BEGIN);
  ck_assert_int_eq(r->ev[1].ev, SQN_CABA_EV_END);
  const struct sqn_caba_record *rec = &r->ev[1].rec;
  ck_assert_str_eq(rec->magic, "TEST");
  ck_assert_uint_eq(rec->version, version);
  ck_assert_uint_eq(rec->offset, 0);
  ck_assert_uint_eq(rec->length, len);
  ck_assert_uint_eq(rec->data_size, 7);
  ck_assert_uint_eq(rec->sig_type, st);
  ck_assert_uint_eq(rec->sig_size, st ? 4 : 0);
  ck_assert_uint_eq(rec->descr_size, version == 3 ? 5 : 0);
  ck_assert_str_eq(rec->descr, version == 3 ? "demo" : "");
  ck_assert(rec->sig_ok);
  ck_assert(!rec->has_target);
  ck_assert(!rec->image.found);
  ck_assert_int_eq(r->ev[0].rec.sig_ok, false);
  ck_assert_mem_hex_eq(r->data, r->data_keep, "FOOBAR", 7);
  free(r);
  free(b);
}

START_TEST(test_caba_v3_sig1_vector_accepted) {
  check_single("v3_sig1.hex", 3, 1);
}
END_TEST

START_TEST(test_caba_v3_sig4_vector_accepted) {
  check_single("v3_sig4.hex", 3, 4);
}
END_TEST

START_TEST(test_caba_v1_vector_accepted) { check_single("v1.hex", 1, 0); }
END_TEST

START_TEST(test_caba_pack_of_four_accepted) {
  static const size_t sizes[4] = {300, 500, 777, 200};
  struct pkg k;
  mk_pkg(&k, sizes);
  struct run *r = walk3(k.buf, k.len, 11);
  ck_assert_msg(r->err == 0, "%s at 0x%llx", sqn_caba_err_name(r->err),
                (unsigned long long)r->err_offset);
  ck_assert_uint_eq(r->records, 5);
  ck_assert_uint_eq(r->nev, 10);
  static const enum sqn_caba_event seq[10] = {
      SQN_CABA_EV_BEGIN, SQN_CABA_EV_BEGIN, SQN_CABA_EV_END,
      SQN_CABA_EV_BEGIN, SQN_CABA_EV_END,   SQN_CABA_EV_BEGIN,
      SQN_CABA_EV_END,   SQN_CABA_EV_BEGIN, SQN_CABA_EV_END,
      SQN_CABA_EV_END};
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq(r->ev[i].ev, seq[i]);
  const struct ev_entry *pack = find_end(r, "PACK", 0);
  ck_assert_ptr_nonnull(pack);
  ck_assert_uint_eq(pack->rec.length, k.len);
  ck_assert_uint_eq(pack->rec.depth, 0);
  ck_assert_str_eq(pack->rec.descr, "Packed dup files");
  static const uint32_t tgt[4] = {SQN_CABA_TARGET_BOOT, 8, 2, 3};
  uint64_t data_total = 0;
  for (int i = 0; i < 4; i++) {
    const struct ev_entry *u = find_end(r, "UPGR", k.off[i + 1]);
    ck_assert_msg(u != NULL, "UPGR %d at 0x%llx", i,
                  (unsigned long long)k.off[i + 1]);
    ck_assert_uint_eq(u->rec.length, k.len_rec[i + 1]);
    ck_assert_uint_eq(u->rec.depth, 1);
    ck_assert(u->rec.has_target);
    ck_assert_uint_eq(u->rec.target, tgt[i]);
    ck_assert_int_eq(u->rec.has_fff, tgt[i] == 2 || tgt[i] == 8);
    if (u->rec.has_fff)
      ck_assert_uint_eq(u->rec.fff_payload_len, sizes[i]);
    ck_assert_int_eq(u->rec.image.found, tgt[i] == 2);
    ck_assert(u->rec.sig_ok);
    data_total += u->rec.data_size;
  }
  const struct ev_entry *f = find_end(r, "UPGR", k.off[3]);
  char vb[32];
  ck_assert_str_eq(sqn_version_format(&f->rec.image, vb, sizeof vb),
                   "5.1.1.0-38638");
  /* DATA covers leaf data only, byte for byte. */
  ck_assert_uint_eq(r->data_total, data_total);
  ck_assert_mem_hex_eq(r->data, 4, "toob", 4);
  free(r);
  free(k.buf);
}
END_TEST

START_TEST(test_caba_pack_small_fixture_accepted) {
  size_t len;
  char expect[128];
  uint8_t *b = load_hex("pack_small.hex", &len, expect, sizeof expect);
  struct run *r = walk3(b, len, 3);
  ck_assert_int_eq(r->err, 0);
  ck_assert_uint_eq(r->records, 5);
  ck_assert_str_eq(r->ev[r->nev - 1].rec.magic, "UPGR");
  ck_assert_uint_eq(r->ev[r->nev - 1].rec.target, SQN_CABA_TARGET_FS);
  ck_assert_uint_eq(r->ev[r->nev - 1].rec.depth, 0);
  int found = 0;
  for (size_t i = 0; i < r->nev; i++)
    if (r->ev[i].ev == SQN_CABA_EV_END && r->ev[i].rec.image.found) {
      char vb[32];
      ck_assert_uint_eq(r->ev[i].rec.target, found ? 2 : 8);
      ck_assert_str_eq(sqn_version_format(&r->ev[i].rec.image, vb, sizeof vb),
                       "5.1.1.0-38638");
      found++;
    }
  ck_assert_int_eq(found, 2);
  free(r);
  free(b);
}
END_TEST

static const char *const bad_files[] = {
    "bad_magic.hex",      "bad_version.hex",    "bad_size.hex",
    "bad_descr.hex",      "bad_sig_type2.hex",  "bad_sig_type3.hex",
    "bad_sig_size.hex",   "bad_sig.hex",        "bad_hdr_sum.hex",
    "bad_data_sum.hex",   "bad_target.hex",     "bad_fff_magic.hex",
    "bad_fff_header.hex", "bad_fff_len.hex",    "bad_fff_sum.hex",
    "bad_truncated.hex",  "bad_mid_record.hex", "bad_trailing.hex",
    "bad_too_deep.hex",   "bad_empty.hex",
};

START_TEST(test_caba_bad_vector_rejected_at_expected_place) {
  const char *file = bad_files[_i];
  size_t len;
  char expect[128], name[32];
  unsigned long long rec, off;
  uint8_t *b = load_hex(file, &len, expect, sizeof expect);
  ck_assert_msg(sscanf(expect, "%31s record=0x%llx offset=0x%llx", name, &rec,
                       &off) == 3,
                "%s: bad expect line '%s'", file, expect);
  struct run *r = walk3(b, len, 5 + (uint64_t)_i);
  ck_assert_msg(strcmp(sqn_caba_err_name(r->err), name) == 0,
                "%s: got %s, want %s", file, sqn_caba_err_name(r->err), name);
  ck_assert_int_lt(r->err, 0);
  ck_assert_msg(r->err_record == rec && r->err_offset == off,
                "%s: got record 0x%llx offset 0x%llx", file,
                (unsigned long long)r->err_record,
                (unsigned long long)r->err_offset);
  /* A walk that failed never reported END for the failing record. */
  for (size_t i = 0; i < r->nev; i++)
    if (r->ev[i].ev == SQN_CABA_EV_END)
      ck_assert_uint_ne(r->ev[i].rec.offset, rec);
  free(r);
  free(b);
}
END_TEST

START_TEST(test_caba_every_error_has_name_and_text) {
  static const int codes[] = {
#define XX(name, val, text) SQN_CABA_E_##name,
      SQN_CABA_ERR_MAP(XX)
#undef XX
  };
  ck_assert_str_eq(sqn_caba_err_name(0), "OK");
  ck_assert_str_eq(sqn_caba_strerror(0), "ok");
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    ck_assert_str_ne(sqn_caba_err_name(codes[i]), "UNKNOWN");
    ck_assert_str_ne(sqn_caba_strerror(codes[i]), "unknown error");
  }
  ck_assert_str_eq(sqn_caba_err_name(SQN_CABA_E_BAD_SIG), "BAD_SIG");
  ck_assert_str_eq(sqn_caba_strerror(SQN_CABA_E_BAD_SIG), "signature mismatch");
  ck_assert_str_eq(sqn_caba_err_name(-999), "UNKNOWN");
  ck_assert_str_eq(sqn_caba_strerror(1), "unknown error");
}
END_TEST

START_TEST(test_caba_v2_and_empty_records_accepted) {
  uint8_t buf[512], inner[256];
  size_t n = 0;
  n += mk_v2(inner + n, "SFFF", (const uint8_t *)"abc", 3, 1);
  n += mk_v2(inner + n, "SUFF", NULL, 0, 4);
  n += mk_v2(inner + n, "RASR", (const uint8_t *)"x", 1, 0);
  n += mk_v3(inner + n, "PACK", "empty pack", NULL, 0, 1);
  n += mk_v1(inner + n, "DIFF", (const uint8_t *)"odd", 3);
  size_t len = mk_v2(buf, "PACK", inner, n, 4);
  len += mk_v3(buf + len, "TEST", "", NULL, 0, 0);
  struct run *r = walk3(buf, len, 1);
  ck_assert_msg(r->err == 0, "%s", sqn_caba_err_name(r->err));
  ck_assert_uint_eq(r->records, 7);
  ck_assert_uint_eq(r->data_total, 3 + 0 + 1 + 3);
  ck_assert_mem_hex_eq(r->data, r->data_keep, "abcxodd", 7);
  ck_assert_uint_eq(r->ev[0].rec.version, 2);
  ck_assert_uint_eq(r->ev[0].rec.flags, 0x55);
  free(r);
}
END_TEST

START_TEST(test_caba_zero_descr_size_rejected) {
  uint8_t buf[64];
  size_t len = mk_v3(buf, "TEST", "", (const uint8_t *)"z", 1, 0);
  buf[16] = 0; /* descr size 0: no room for the NUL */
  struct run *r = walk3(buf, len, 2);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_DESCR");
  ck_assert_uint_eq(r->err_offset, 16);
  ck_assert_str_eq(r->err_magic, "TEST");
  ck_assert_uint_eq(r->nev, 0);
  free(r);
}
END_TEST

START_TEST(test_caba_long_descr_cut_in_report) {
  char descr[200];
  memset(descr, 'd', sizeof descr - 1);
  descr[sizeof descr - 1] = '\0';
  uint8_t buf[512];
  size_t len = mk_v3(buf, "TEST", descr, (const uint8_t *)"z", 1, 1);
  struct run *r = walk3(buf, len, 2);
  ck_assert_int_eq(r->err, 0);
  ck_assert_uint_eq(r->ev[0].rec.descr_size, 200);
  ck_assert_uint_eq(strlen(r->ev[0].rec.descr), SQN_CABA_DESCR_MAX - 1);
  free(r);
}
END_TEST

/* UPGR records too short for what their target promises. */
START_TEST(test_caba_upgr_short_data_rejected) {
  uint8_t buf[256];
  uint8_t d[16] = {2, 0, 0, 0, 'F', 'F', 'F', '!', 0, 0};
  struct {
    size_t n;
    const char *err;
    uint64_t off;
  } cases[] = {
      {3, "BAD_TARGET", 18 + 2},     /* target id cut */
      {0, "BAD_TARGET", 18 + 2},     /* no data at all */
      {6, "BAD_FFF_MAGIC", 24},      /* FFF! magic cut */
      {10, "BAD_FFF_LEN", 24},       /* FFF! header cut */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = mk_v3(buf, "UPGR", "u", d, cases[i].n, 1);
    struct run *r = walk3(buf, len, i);
    ck_assert_str_eq(sqn_caba_err_name(r->err), cases[i].err);
    ck_assert_uint_eq(r->err_offset, cases[i].off);
    ck_assert_uint_eq(r->err_record, 0);
    ck_assert_str_eq(r->err_magic, "UPGR");
    free(r);
  }
}
END_TEST

/* A child header that cannot even fit in what is left of its PACK. */
START_TEST(test_caba_child_header_past_parent_rejected) {
  uint8_t buf[256], inner[64];
  /* 4 bytes left: not even magic + version. */
  size_t len = mk_v3(buf, "PACK", "p", (const uint8_t *)"ABCD", 4, 1);
  struct run *r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, 0);
  ck_assert_str_eq(r->err_magic, "PACK");
  free(r);
  /* 10 bytes left: a v3 header needs 18. */
  memcpy(inner, "ABCD\x03\x00xxxx", 10);
  len = mk_v3(buf, "PACK", "p", inner, 10, 1);
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, 0);
  free(r);
}
END_TEST

/* Size damage: who is blamed. */
START_TEST(test_caba_size_damage_blames_right_record) {
  uint8_t buf[1024], inner[512];
  size_t a = mk_v3(inner, "TEST", "a", (const uint8_t *)"0123456789", 10, 1);
  size_t b = mk_v3(inner + a, "TEST", "b", (const uint8_t *)"abcdefghij", 10, 1);
  size_t len = mk_v3(buf, "PACK", "p", inner, a + b, 1);
  const uint64_t a_off = 20, b_off = 20 + a;
  struct run *r;

  /* PACK's size shrunk: the intact (signed) last child overflows, so the
   * PACK is blamed. */
  buf[8] = (uint8_t)(buf[8] - 3);
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, 0);
  ck_assert_uint_eq(r->err_offset, b_off + 8);
  free(r);
  buf[8] = (uint8_t)(buf[8] + 3);

  /* Child a grew: it overflows and its signature fails: child blamed. */
  buf[a_off + 8] ^= 0x40;
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, a_off);
  free(r);

  /* Child a grew a lot: the stream ends inside it. */
  buf[a_off + 8] ^= 0x40;
  buf[a_off + 10] ^= 0x10;
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, a_off);
  free(r);
  buf[a_off + 10] ^= 0x10;

  /* Child a shrank: its signature is read from its data. */
  buf[a_off + 8] ^= 0x02;
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIG");
  ck_assert_uint_eq(r->err_record, a_off);
  free(r);
  buf[a_off + 8] ^= 0x02;

  /* Unsigned first child shrank: the next header is garbage; the PACK,
   * which holds both, is blamed. */
  a = mk_v3(inner, "TEST", "a", (const uint8_t *)"01234567\x01\x02", 10, 0);
  b = mk_v3(inner + a, "TEST", "b", (const uint8_t *)"abcdefghij", 10, 1);
  len = mk_v3(buf, "PACK", "p", inner, a + b, 1);
  buf[a_off + 8] = 8;
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_MAGIC");
  ck_assert_uint_eq(r->err_record, 0);
  ck_assert_uint_eq(r->err_offset, a_off + 20 + 8);
  free(r);

  /* PACK's size grew: its signature is read as a child header. */
  a = mk_v3(inner, "TEST", "a", (const uint8_t *)"0123456789", 10, 1);
  len = mk_v3(buf, "PACK", "p", inner, a, 1);
  buf[len - 4] = 0x01; /* make the signature bytes non-printable */
  buf[8] = (uint8_t)(buf[8] + 4); /* 4 bytes left: no room for a header */
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, 0);
  ck_assert_uint_eq(r->err_offset, len - 4);
  free(r);
  buf[8] = (uint8_t)(buf[8] + 4); /* 8 more: the stream ends in "header" */
  buf[len - 4] = 'A';
  buf[len - 3] = 'B';
  buf[len - 2] = 'C';
  buf[len - 1] = 'D';
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "TRUNCATED");
  ck_assert_uint_eq(r->err_record, 0);
  free(r);

  /* PACK v3 read as v2: its first child is read from its description. */
  len = mk_v3(buf, "PACK", "\x01p", inner, a, 1);
  buf[4] = 2;
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_MAGIC");
  ck_assert_uint_eq(r->err_record, 0);
  ck_assert_uint_eq(r->err_offset, 16);
  free(r);

  /* A grandchild overflowing an overflowing child: the child is blamed. */
  size_t g = mk_v3(inner, "TEST", "g", (const uint8_t *)"0123456789", 10, 1);
  uint8_t mid[256];
  size_t m = mk_v3(mid, "PACK", "m", inner, g, 1);
  len = mk_v3(buf, "PACK", "p", mid, m, 1);
  buf[20 + 8] = (uint8_t)(buf[20 + 8] + 1); /* mid PACK one byte bigger */
  buf[40 + 8] = (uint8_t)(buf[40 + 8] + 2); /* and its child two */
  r = walk3(buf, len, 1);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_SIZE");
  ck_assert_uint_eq(r->err_record, 20);
  free(r);
}
END_TEST

/* Flip one bit at 200 seeded offsets of a built package: the walk fails and
 * the record it reports contains the flipped byte. */
START_TEST(test_caba_bit_flip_reported_inside_damaged_record) {
  static const size_t sizes[4] = {700, 900, 1500, 300};
  struct pkg k;
  mk_pkg(&k, sizes);
  struct sqn_rng rng;
  sqn_rng_seed(&rng, 0xCABA);
  for (int t = 0; t < 200; t++) {
    size_t at = (size_t)sqn_rng_below(&rng, k.len);
    uint8_t bit = (uint8_t)(1u << sqn_rng_below(&rng, 8));
    k.buf[at] ^= bit;
    struct sqn_caba_walker w;
    int rc = sqn_caba_walk(k.buf, k.len, NULL, NULL, &w);
    ck_assert_msg(rc < 0, "flip at 0x%zx not detected", at);
    int hit = -1;
    for (int i = 0; i < 5; i++)
      if (w.err_record == k.off[i])
        hit = i;
    ck_assert_msg(hit >= 0 && at >= k.off[hit] &&
                      at < k.off[hit] + k.len_rec[hit],
                  "flip at 0x%zx (bit %u): %s reported on record 0x%llx",
                  at, bit, sqn_caba_err_name(rc),
                  (unsigned long long)w.err_record);
    /* Chunked walk agrees. */
    struct run *r = walk(SQN_FEED_RANDOM, (uint64_t)t, k.buf, k.len, 0);
    ck_assert_int_eq(r->err, rc);
    ck_assert_uint_eq(r->err_record, w.err_record);
    ck_assert_uint_eq(r->err_offset, w.err_offset);
    free(r);
    k.buf[at] ^= bit;
  }
  /* Same without the PACK wrapper (NB1 layout: UPGR records at top level). */
  uint8_t *top = k.buf + 35;
  size_t top_len = k.len - 39;
  for (int t = 0; t < 200; t++) {
    size_t at = (size_t)sqn_rng_below(&rng, top_len);
    uint8_t val = (uint8_t)(top[at] ^ (1 + sqn_rng_below(&rng, 255)));
    uint8_t old = top[at];
    top[at] = val;
    struct sqn_caba_walker w;
    int rc = sqn_caba_walk(top, top_len, NULL, NULL, &w);
    ck_assert_msg(rc < 0, "change at 0x%zx not detected", at);
    int hit = -1;
    for (int i = 1; i < 5; i++)
      if (w.err_record == k.off[i] - 35)
        hit = i;
    ck_assert_msg(hit >= 0 && at + 35 >= k.off[hit] &&
                      at + 35 < k.off[hit] + k.len_rec[hit],
                  "change at 0x%zx: %s reported on record 0x%llx", at,
                  sqn_caba_err_name(rc), (unsigned long long)w.err_record);
    top[at] = old;
  }
  free(k.buf);
}
END_TEST

/* The real package's shape and size (5.99 MB), walked whole and in 4 KiB
 * and odd-sized chunks. */
START_TEST(test_caba_full_size_package_accepted_in_any_chunking) {
  static const size_t sizes[4] = {54808 - 4, 428780 - 52, 5461932 - 52,
                                  51204 - 4};
  struct pkg k;
  mk_pkg(&k, sizes);
  ck_assert_uint_gt(k.len, 5900000);
  struct run *ref = walk(SQN_FEED_WHOLE, 0, k.buf, k.len, 0);
  ck_assert_int_eq(ref->err, 0);
  ck_assert_uint_eq(ref->records, 5);
  static const size_t chunks[] = {4096, 4093, 1};
  for (size_t c = 0; c < 2; c++) {
    struct run *r = calloc(1, sizeof *r);
    r->data_hash = 2166136261u;
    struct sqn_caba_walker w;
    sqn_caba_walker_init(&w, rec_cb, r);
    for (size_t o = 0; o < k.len; o += chunks[c]) {
      size_t n = k.len - o < chunks[c] ? k.len - o : chunks[c];
      ck_assert_int_eq(sqn_caba_walker_feed(&w, k.buf + o, n), 0);
    }
    r->err = sqn_caba_walker_finish(&w);
    r->records = w.records;
    run_eq(ref, r);
    free(r);
  }
  const struct ev_entry *f = find_end(ref, "UPGR", k.off[3]);
  ck_assert_ptr_nonnull(f);
  ck_assert(f->rec.image.found);
  ck_assert_uint_eq(f->rec.image.build, 38638);
  free(ref);
  free(k.buf);
}
END_TEST

START_TEST(test_caba_callback_nonzero_aborts) {
  static const size_t sizes[4] = {10, 10, 10, 10};
  struct pkg k;
  mk_pkg(&k, sizes);
  for (int at = 1; at <= 3; at++) {
    struct run *r = walk(SQN_FEED_WHOLE, 0, k.buf, k.len, at);
    ck_assert_str_eq(sqn_caba_err_name(r->err), "ABORTED");
    ck_assert_int_eq(r->calls, at);
    free(r);
  }
  /* Abort on END: the record is complete but the walk stops. */
  struct run *r = walk(SQN_FEED_WHOLE, 0, k.buf, k.len, 4);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "ABORTED");
  free(r);
  /* A defect found in a DATA run wins over an abort from that DATA event. */
  size_t blen;
  uint8_t *bad = load_hex("bad_fff_magic.hex", &blen, NULL, 0);
  r = walk(SQN_FEED_WHOLE, 0, bad, blen, 2);
  ck_assert_int_eq(r->calls, 2);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_FFF_MAGIC");
  free(r);
  free(bad);
  /* The stream ends inside a magic that is already bad. */
  r = walk(SQN_FEED_BYTEWISE, 0, (const uint8_t *)"AB\x01", 3, 0);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "BAD_MAGIC");
  ck_assert_uint_eq(r->err_offset, 2);
  ck_assert_str_eq(r->err_magic, "");
  free(r);
  r = walk(SQN_FEED_BYTEWISE, 0, (const uint8_t *)"AB", 2, 0);
  ck_assert_str_eq(sqn_caba_err_name(r->err), "TRUNCATED");
  free(r);
  /* Feeding after an error keeps the first error. */
  struct sqn_caba_walker w;
  uint8_t junk[4] = {0};
  sqn_caba_walker_init(&w, NULL, NULL);
  ck_assert_int_eq(sqn_caba_walker_feed(&w, junk, 4), SQN_CABA_E_BAD_MAGIC);
  ck_assert_int_eq(sqn_caba_walker_feed(&w, k.buf, k.len),
                   SQN_CABA_E_BAD_MAGIC);
  ck_assert_uint_eq(w.err_offset, 0);
  free(k.buf);
}
END_TEST

/* ---- version rule ---- */

static size_t mk_text_rec(uint8_t *buf, const char *text) {
  return mk_v3(buf, "TEST", "t", (const uint8_t *)text, strlen(text), 1);
}

static void expect_image(const char *text, const char *want) {
  uint8_t buf[512];
  size_t len = mk_text_rec(buf, text);
  struct run *r = walk3(buf, len, 9);
  ck_assert_int_eq(r->err, 0);
  char vb[32];
  ck_assert_msg(strcmp(sqn_version_format(&r->ev[1].rec.image, vb, sizeof vb),
                       want) == 0,
                "'%s': got %s, want %s", text, vb, want);
  free(r);
}

START_TEST(test_caba_version_text_found_in_data) {
  expect_image("5.1.1.0 [38638]", "5.1.1.0-38638");
  expect_image("xx LR5.1.1.0 [38638]yy", "5.1.1.0-38638");
  expect_image("a]b]5.1 [1] 1.2.3.4 [5] 6.7.8.9 [10]", "1.2.3.4-5");
  expect_image("65535.0.0.65535 [4294967295]", "65535.0.0.65535-4294967295");
  expect_image("123456.1.1.0 [1] then 2.0.0.0 [7]", "2.0.0.0-7");
  expect_image("65536.1.1.1 [1]", "unknown");
  expect_image("1.1.1.1 [4294967296]", "unknown");
  expect_image("1.1.1.1 [12345678901]", "unknown");
  expect_image("1.1.1.1 []", "unknown");
  expect_image("1.1.1.1[5]", "unknown");
  expect_image("1.1.1 [5]", "unknown");
  expect_image("1.1..1 [5]", "unknown");
  expect_image(".1.1.1 [5]", "unknown");
  expect_image("1.1.1.1 x[5]", "unknown");
  expect_image("]", "unknown");
  expect_image("no version here", "unknown");
}
END_TEST

START_TEST(test_caba_version_split_across_chunks_found) {
  char text[200];
  memset(text, 'x', sizeof text);
  /* Long prefix so the kept tail is full when the text arrives. */
  memcpy(text + 100, "5.1.1.0 [38638]", 15);
  text[150] = '\0';
  uint8_t buf[512];
  size_t len = mk_text_rec(buf, text);
  for (size_t cut = 1; cut < len; cut++) {
    struct sqn_caba_walker w;
    struct run *r = calloc(1, sizeof *r);
    sqn_caba_walker_init(&w, rec_cb, r);
    sqn_caba_walker_feed(&w, buf, cut);
    sqn_caba_walker_feed(&w, buf + cut, len - cut);
    ck_assert_int_eq(sqn_caba_walker_finish(&w), 0);
    ck_assert_msg(r->ev[1].rec.image.found, "cut at %zu", cut);
    ck_assert_uint_eq(r->ev[1].rec.image.build, 38638);
    free(r);
  }
  /* Three pieces, the text spread over all of them. */
  for (size_t c1 = 115; c1 < 135; c1++) {
    struct sqn_caba_walker w;
    struct run *r = calloc(1, sizeof *r);
    sqn_caba_walker_init(&w, rec_cb, r);
    sqn_caba_walker_feed(&w, buf, c1);
    sqn_caba_walker_feed(&w, buf + c1, 3);
    sqn_caba_walker_feed(&w, buf + c1 + 3, len - c1 - 3);
    ck_assert_int_eq(sqn_caba_walker_finish(&w), 0);
    ck_assert(r->ev[1].rec.image.found);
    free(r);
  }
}
END_TEST

START_TEST(test_caba_version_parse_accepts_forms_rejects_junk) {
  struct sqn_image_version v;
  static const char *const good[] = {"5.1.1.0 [38638]", "5.1.1.0-38638",
                                     "LR5.1.1.0-38638", "lr8.0.4.0",
                                     "0.0.0.0-0"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    ck_assert_msg(sqn_version_parse(&v, good[i]) == 0, "%s", good[i]);
  ck_assert_int_eq(sqn_version_parse(&v, "LR5.1.1.0-38638"), 0);
  ck_assert(v.found);
  ck_assert_uint_eq(v.v[0], 5);
  ck_assert_uint_eq(v.v[1], 1);
  ck_assert_uint_eq(v.v[2], 1);
  ck_assert_uint_eq(v.v[3], 0);
  ck_assert_uint_eq(v.build, 38638);
  static const char *const bad[] = {
      "",          "junk",         "5.1.1",          "5.1.1.0.",
      "5.1.1.0-",  "5.1.1.0 [",    "5.1.1.0 [38638", "5.1.1.0 [38638]x",
      "5.1.1.0x",  "65536.1.1.0",  "1.1.1.1-4294967296",
      "1..1.1",    "5.1.1.0 38638", "123456.1.1.1",  "5-1-1-0",
      "LR 5.1.1.0"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&v, 0x5A, sizeof v);
    ck_assert_msg(sqn_version_parse(&v, bad[i]) == -1, "'%s' accepted", bad[i]);
  }
  ck_assert_int_eq(sqn_version_parse(NULL, "1.1.1.1"), -1);
  ck_assert_int_eq(sqn_version_parse(&v, NULL), -1);
}
END_TEST

START_TEST(test_caba_version_cmp_orders_then_build) {
  struct sqn_image_version a, b, none = {0};
  ck_assert_int_eq(sqn_version_parse(&a, "5.1.1.0-38638"), 0);
  ck_assert_int_eq(sqn_version_parse(&b, "5.1.1.0 [38638]"), 0);
  ck_assert_int_eq(sqn_version_cmp(&a, &b), 0);
  ck_assert_int_eq(sqn_version_parse(&b, "5.1.1.0-38639"), 0);
  ck_assert_int_lt(sqn_version_cmp(&a, &b), 0);
  ck_assert_int_gt(sqn_version_cmp(&b, &a), 0);
  ck_assert_int_eq(sqn_version_parse(&b, "5.2.0.0-1"), 0);
  ck_assert_int_lt(sqn_version_cmp(&a, &b), 0);
  ck_assert_int_eq(sqn_version_parse(&b, "5.1.1.10-1"), 0);
  ck_assert_int_lt(sqn_version_cmp(&a, &b), 0);
  ck_assert_int_eq(sqn_version_parse(&b, "4.9.9.9-99999"), 0);
  ck_assert_int_gt(sqn_version_cmp(&a, &b), 0);
  ck_assert_int_lt(sqn_version_cmp(&none, &a), 0);
  ck_assert_int_gt(sqn_version_cmp(&a, &none), 0);
  ck_assert_int_eq(sqn_version_cmp(&none, &none), 0);
}
END_TEST

START_TEST(test_caba_version_format_canonical) {
  struct sqn_image_version v;
  char buf[32];
  ck_assert_int_eq(sqn_version_parse(&v, "LR6.5.0.2 [4294967295]"), 0);
  ck_assert_str_eq(sqn_version_format(&v, buf, sizeof buf),
                   "6.5.0.2-4294967295");
  ck_assert_str_eq(sqn_version_format(&v, buf, 6), "6.5.0");
  ck_assert_ptr_null(sqn_version_format(&v, NULL, 8));
  v.found = false;
  ck_assert_str_eq(sqn_version_format(&v, buf, sizeof buf), "unknown");
  ck_assert_str_eq(sqn_version_format(NULL, buf, sizeof buf), "unknown");
  /* format -> parse round trip */
  struct sqn_image_version w;
  ck_assert_int_eq(sqn_version_parse(&v, "1.22.333.4444-55555"), 0);
  ck_assert_int_eq(sqn_version_parse(&w, sqn_version_format(&v, buf, sizeof buf)),
                   0);
  ck_assert_int_eq(sqn_version_cmp(&v, &w), 0);
}
END_TEST

/* ================= suite ================= */

static Suite *caba_suite(void) {
  Suite *s = suite_create("caba");
  TCase *tc = tcase_create("walker");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_caba_v3_sig1_vector_accepted);
  tcase_add_test(tc, test_caba_v3_sig4_vector_accepted);
  tcase_add_test(tc, test_caba_v1_vector_accepted);
  tcase_add_test(tc, test_caba_pack_of_four_accepted);
  tcase_add_test(tc, test_caba_pack_small_fixture_accepted);
  tcase_add_loop_test(tc, test_caba_bad_vector_rejected_at_expected_place, 0,
                      (int)(sizeof bad_files / sizeof bad_files[0]));
  tcase_add_test(tc, test_caba_every_error_has_name_and_text);
  tcase_add_test(tc, test_caba_v2_and_empty_records_accepted);
  tcase_add_test(tc, test_caba_zero_descr_size_rejected);
  tcase_add_test(tc, test_caba_long_descr_cut_in_report);
  tcase_add_test(tc, test_caba_upgr_short_data_rejected);
  tcase_add_test(tc, test_caba_child_header_past_parent_rejected);
  tcase_add_test(tc, test_caba_size_damage_blames_right_record);
  tcase_add_test(tc, test_caba_bit_flip_reported_inside_damaged_record);
  tcase_add_test(tc, test_caba_full_size_package_accepted_in_any_chunking);
  tcase_add_test(tc, test_caba_callback_nonzero_aborts);
  suite_add_tcase(s, tc);
  TCase *tv = tcase_create("version");
  tcase_add_test(tv, test_caba_version_text_found_in_data);
  tcase_add_test(tv, test_caba_version_split_across_chunks_found);
  tcase_add_test(tv, test_caba_version_parse_accepts_forms_rejects_junk);
  tcase_add_test(tv, test_caba_version_cmp_orders_then_build);
  tcase_add_test(tv, test_caba_version_format_canonical);
  suite_add_tcase(s, tv);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(caba_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  (void)mode_names;
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

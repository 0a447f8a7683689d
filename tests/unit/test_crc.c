/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC-16/XMODEM, Sequans Fletcher-32 and CRC-32 against the vectors of
 * protocol.md sections 4.3 and 5.2, read from fixtures/crc/vectors.txt.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/crc.h"

/* ---- instances and fixtures ---- */

#define CRC_VECTORS SQN_FIXTURES "/crc/vectors.txt"
#define CRC_MAX_INPUT 4096

enum crc_algo { CRC_ALGO_CRC16, CRC_ALGO_FLETCHER32, CRC_ALGO_CRC32 };

struct crc_vector {
  int line;
  enum crc_algo algo;
  uint8_t input[CRC_MAX_INPUT];
  size_t len;
  uint32_t want;
};

/* Parse one input token (hex:, ascii:, ramp:NxK); false on a bad token. */
static bool crc_parse_input(const char *tok, struct crc_vector *v) {
  if (strncmp(tok, "hex:", 4) == 0) {
    long n = sqn_hex_parse(tok + 4, v->input, sizeof v->input, NULL);
    if (n < 0)
      return false;
    v->len = (size_t)n;
    return true;
  }
  if (strncmp(tok, "ascii:", 6) == 0) {
    v->len = strlen(tok + 6);
    if (v->len > sizeof v->input)
      return false;
    memcpy(v->input, tok + 6, v->len);
    return true;
  }
  unsigned n, k;
  if (sscanf(tok, "ramp:%ux%u", &n, &k) == 2 && n > 0 && n <= 256 &&
      (size_t)n * k <= sizeof v->input) {
    v->len = 0;
    for (unsigned r = 0; r < k; r++)
      for (unsigned i = 0; i < n; i++)
        v->input[v->len++] = (uint8_t)i;
    return true;
  }
  return false;
}

/*
 * Load every vector; fails the test with the file and line of a malformed
 * one. Returns the count; *out is malloc'd.
 */
static size_t crc_load(struct crc_vector **out) {
  size_t len;
  char *text = (char *)sqn_read_file(CRC_VECTORS, &len);
  ck_assert_msg(text != NULL, "cannot read %s", CRC_VECTORS);
  size_t cap = 32, n = 0;
  struct crc_vector *v = calloc(cap, sizeof *v);
  ck_assert_ptr_nonnull(v);
  int lineno = 0;
  for (char *line = text, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    lineno++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = 0;
    char algo[16], input[CRC_MAX_INPUT], want[24];
    int got = sscanf(line, "%15s %4095s %23s", algo, input, want);
    if (got <= 0)
      continue;
    ck_assert_msg(got == 3, "%s:%d: want '<algo> <input> <crc>'", CRC_VECTORS,
                  lineno);
    ck_assert_uint_lt(n, cap);
    struct crc_vector *e = &v[n];
    e->line = lineno;
    if (strcmp(algo, "crc16") == 0)
      e->algo = CRC_ALGO_CRC16;
    else if (strcmp(algo, "fletcher32") == 0)
      e->algo = CRC_ALGO_FLETCHER32;
    else if (strcmp(algo, "crc32") == 0)
      e->algo = CRC_ALGO_CRC32;
    else
      ck_abort_msg("%s:%d: unknown algorithm '%s'", CRC_VECTORS, lineno, algo);
    ck_assert_msg(crc_parse_input(input, e), "%s:%d: bad input '%s'",
                  CRC_VECTORS, lineno, input);
    char *end;
    e->want = (uint32_t)strtoul(want, &end, 16);
    ck_assert_msg(*end == 0, "%s:%d: bad value '%s'", CRC_VECTORS, lineno, want);
    n++;
  }
  free(text);
  *out = v;
  return n;
}

/* ---- recording callbacks ---- */

static void crc_feed_fletcher(void *ctx, const uint8_t *buf, size_t len) {
  sqn_fletcher_update(ctx, buf, len);
}

struct crc16_acc {
  uint16_t crc;
};

static void crc_feed_crc16(void *ctx, const uint8_t *buf, size_t len) {
  struct crc16_acc *a = ctx;
  a->crc = sqn_crc16(a->crc, buf, len);
}

/* ---- tests ---- */

START_TEST(test_crc_vectors_one_shot_match) {
  struct crc_vector *v;
  size_t n = crc_load(&v);
  size_t seen[3] = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    uint32_t got = 0;
    switch (v[i].algo) {
    case CRC_ALGO_CRC16:
      got = sqn_crc16(0, v[i].input, v[i].len);
      break;
    case CRC_ALGO_FLETCHER32:
      got = sqn_fletcher32(v[i].input, v[i].len);
      break;
    case CRC_ALGO_CRC32:
      got = sqn_crc32(0, v[i].input, v[i].len);
      break;
    }
    seen[v[i].algo]++;
    ck_assert_msg(got == v[i].want, "%s:%d: got 0x%08X, want 0x%08X",
                  CRC_VECTORS, v[i].line, (unsigned)got, (unsigned)v[i].want);
  }
  /* Every vector of protocol.md 4.3 and 5.2, and the CRC-32 check value. */
  ck_assert_uint_eq(seen[CRC_ALGO_CRC16], 6);
  ck_assert_uint_eq(seen[CRC_ALGO_FLETCHER32], 6);
  ck_assert_uint_eq(seen[CRC_ALGO_CRC32], 1);
  free(v);
}
END_TEST

/* Loop test: _i is the feed mode. */
START_TEST(test_crc_fletcher_incremental_equals_one_shot) {
  struct crc_vector *v;
  size_t n = crc_load(&v);
  for (size_t i = 0; i < n; i++) {
    if (v[i].algo != CRC_ALGO_FLETCHER32)
      continue;
    for (uint64_t seed = 1; seed <= 8; seed++) {
      struct sqn_fletcher f;
      sqn_fletcher_init(&f);
      sqn_feed((enum sqn_feed_mode)_i, seed, v[i].input, v[i].len,
               crc_feed_fletcher, &f);
      uint32_t got = sqn_fletcher_final(&f);
      ck_assert_msg(got == v[i].want, "%s:%d mode %d seed %u: got 0x%08X",
                    CRC_VECTORS, v[i].line, _i, (unsigned)seed, (unsigned)got);
      /* final() leaves the state alone. */
      ck_assert_uint_eq(sqn_fletcher_final(&f), got);
      if (_i == SQN_FEED_WHOLE)
        break;
    }
  }
  free(v);
}
END_TEST

START_TEST(test_crc_crc16_incremental_equals_one_shot) {
  struct crc_vector *v;
  size_t n = crc_load(&v);
  for (size_t i = 0; i < n; i++) {
    if (v[i].algo != CRC_ALGO_CRC16)
      continue;
    struct crc16_acc a = {0};
    sqn_feed((enum sqn_feed_mode)_i, 7, v[i].input, v[i].len, crc_feed_crc16,
             &a);
    ck_assert_msg(a.crc == v[i].want, "%s:%d mode %d: got 0x%04X", CRC_VECTORS,
                  v[i].line, _i, a.crc);
  }
  free(v);
}
END_TEST

/* Long random inputs cross many 360-word folds and odd chunk boundaries. */
START_TEST(test_crc_fletcher_random_long_chunked_equals_one_shot) {
  static uint8_t buf[20011];
  struct sqn_rng r;
  sqn_rng_seed(&r, 0xF1E7C4E2);
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)sqn_rng_next(&r);
  for (size_t len = 0; len <= sizeof buf; len += 1 + len / 3) {
    uint32_t want = sqn_fletcher32(buf, len);
    struct sqn_fletcher f;
    sqn_fletcher_init(&f);
    sqn_feed(SQN_FEED_RANDOM, len, buf, len, crc_feed_fletcher, &f);
    ck_assert_msg(sqn_fletcher_final(&f) == want, "len %zu", len);
  }
}
END_TEST

/* The fast paths (vector code on x86-64) and the portable reference agree
 * on the vectors, and on random inputs of every length 0-4096 started from a
 * random CRC / after a random odd prefix (pending byte, part-filled run). */
START_TEST(test_crc_fast_and_portable_agree_on_vectors) {
  struct crc_vector *v;
  size_t n = crc_load(&v);
  for (size_t i = 0; i < n; i++) {
    if (v[i].algo == CRC_ALGO_CRC16) {
      ck_assert_msg(sqn_crc16_portable(0, v[i].input, v[i].len) == v[i].want,
                    "%s:%d: portable CRC-16", CRC_VECTORS, v[i].line);
    } else if (v[i].algo == CRC_ALGO_FLETCHER32) {
      struct sqn_fletcher f;
      sqn_fletcher_init(&f);
      sqn_fletcher_update_portable(&f, v[i].input, v[i].len);
      ck_assert_msg(sqn_fletcher_final(&f) == v[i].want,
                    "%s:%d: portable Fletcher-32", CRC_VECTORS, v[i].line);
    }
  }
  free(v);
}
END_TEST

START_TEST(test_crc_fast_and_portable_agree_on_every_length) {
  static uint8_t buf[4096 + 7];
  struct sqn_rng r;
  sqn_rng_seed(&r, 0xC0FFEE15);
  for (size_t len = 0; len <= 4096; len++) {
    for (size_t i = 0; i < sizeof buf; i++)
      buf[i] = (uint8_t)sqn_rng_next(&r);
    size_t off = sqn_rng_next(&r) % 8; /* misaligned starts too */
    uint16_t c0 = (uint16_t)sqn_rng_next(&r);
    ck_assert_msg(sqn_crc16(c0, buf + off, len) ==
                      sqn_crc16_portable(c0, buf + off, len),
                  "CRC-16 len %zu off %zu crc 0x%04X", len, off, c0);
    ck_assert_msg(sqn_crc16(0, buf + off, len) ==
                      sqn_crc16_portable(0, buf + off, len),
                  "CRC-16 len %zu off %zu", len, off);

    struct sqn_fletcher a, b;
    sqn_fletcher_init(&a);
    sqn_fletcher_init(&b);
    sqn_fletcher_update(&a, buf + off, len);
    sqn_fletcher_update_portable(&b, buf + off, len);
    ck_assert_msg(sqn_fletcher_final(&a) == sqn_fletcher_final(&b),
                  "Fletcher len %zu off %zu", len, off);
    /* After a prefix of 1-721 bytes: a pending byte, a part-filled run. */
    size_t pre = 1 + sqn_rng_next(&r) % 721;
    sqn_fletcher_init(&a);
    sqn_fletcher_init(&b);
    sqn_fletcher_update(&a, buf, pre > len ? len : pre);
    sqn_fletcher_update_portable(&b, buf, pre > len ? len : pre);
    if (pre < len) {
      sqn_fletcher_update(&a, buf + pre, len - pre);
      sqn_fletcher_update_portable(&b, buf + pre, len - pre);
    }
    ck_assert_msg(sqn_fletcher_final(&a) == sqn_fletcher_final(&b),
                  "Fletcher len %zu prefix %zu", len, pre);
  }
}
END_TEST

/* Extreme sums: all-0xFF words (largest lane sums) and all-zero words (a sum
 * that is 0 mod 65535), long enough to cross many vector runs. */
START_TEST(test_crc_fast_and_portable_agree_on_extreme_inputs) {
  static uint8_t buf[100003];
  for (int fill = 0; fill < 2; fill++) {
    memset(buf, fill ? 0xFF : 0x00, sizeof buf);
    for (size_t len = 0; len <= sizeof buf; len += 1 + len / 2) {
      struct sqn_fletcher a, b;
      sqn_fletcher_init(&a);
      sqn_fletcher_init(&b);
      sqn_fletcher_update(&a, buf, len);
      sqn_fletcher_update_portable(&b, buf, len);
      ck_assert_msg(sqn_fletcher_final(&a) == sqn_fletcher_final(&b),
                    "Fletcher fill 0x%02X len %zu", fill ? 0xFF : 0, len);
      ck_assert_msg(sqn_crc16(0xFFFF, buf, len) ==
                        sqn_crc16_portable(0xFFFF, buf, len),
                    "CRC-16 fill 0x%02X len %zu", fill ? 0xFF : 0, len);
    }
  }
}
END_TEST


/* sqn_fletcher_update_many gives each sum exactly what sqn_fletcher_update
 * would: 1-3 sums with random histories (a pending byte or not, part-filled
 * runs), over random inputs of every length 0-4096, and over all-0x00 and
 * all-0xFF inputs (a sum that is 0 mod 65535, the largest sums). */
START_TEST(test_crc_fletcher_many_equals_one_by_one) {
  static uint8_t buf[4096 + 7], hist[1024];
  struct sqn_rng r;
  sqn_rng_seed(&r, 0x5E0A11CE);
  for (size_t len = 0; len <= 4096 + 3 * 2048; len++) {
    size_t L = len <= 4096 ? len : 4096 - (len - 4097) % 4096;
    int fill = len <= 4096 ? -1 : (int)((len - 4097) / 4096) ? 0xFF : 0x00;
    for (size_t i = 0; i < sizeof buf; i++)
      buf[i] = fill < 0 ? (uint8_t)sqn_rng_next(&r) : (uint8_t)fill;
    for (size_t i = 0; i < sizeof hist; i++)
      hist[i] = (uint8_t)sqn_rng_next(&r);
    size_t n = 1 + sqn_rng_next(&r) % 3;
    struct sqn_fletcher a[3], b[3];
    struct sqn_fletcher *pa[3];
    for (size_t k = 0; k < n; k++) {
      size_t h = sqn_rng_next(&r) % sizeof hist; /* odd or even history */
      sqn_fletcher_init(&a[k]);
      sqn_fletcher_update(&a[k], hist, h);
      b[k] = a[k];
      pa[k] = &a[k];
    }
    size_t off = sqn_rng_next(&r) % 8;
    sqn_fletcher_update_many(pa, n, buf + off, L);
    for (size_t k = 0; k < n; k++) {
      sqn_fletcher_update(&b[k], buf + off, L);
      ck_assert_msg(sqn_fletcher_final(&a[k]) == sqn_fletcher_final(&b[k]),
                    "sum %zu of %zu, len %zu fill %d", k, n, L, fill);
      /* and they go on alike: the pending byte was kept */
      sqn_fletcher_update(&a[k], hist, 3);
      sqn_fletcher_update(&b[k], hist, 3);
      ck_assert_uint_eq(sqn_fletcher_final(&a[k]), sqn_fletcher_final(&b[k]));
    }
  }
}
END_TEST

START_TEST(test_crc_crc32_chained_equals_one_shot) {
  static const char s[] = "123456789";
  uint32_t c = sqn_crc32(0, s, 4);
  c = sqn_crc32(c, s + 4, 5);
  ck_assert_uint_eq(c, 0xCBF43926u);
  ck_assert_uint_eq(sqn_crc32(0, s, 0), 0);
}
END_TEST

/* ---- suite factory ---- */

static Suite *crc_suite(void) {
  Suite *s = suite_create("crc");
  TCase *tc = tcase_create("vectors");
  tcase_add_test(tc, test_crc_vectors_one_shot_match);
  tcase_add_loop_test(tc, test_crc_fletcher_incremental_equals_one_shot,
                      SQN_FEED_WHOLE, SQN_FEED_RANDOM + 1);
  tcase_add_loop_test(tc, test_crc_crc16_incremental_equals_one_shot,
                      SQN_FEED_WHOLE, SQN_FEED_RANDOM + 1);
  tcase_add_test(tc, test_crc_fletcher_random_long_chunked_equals_one_shot);
  tcase_add_test(tc, test_crc_crc32_chained_equals_one_shot);
  tcase_add_test(tc, test_crc_fletcher_many_equals_one_by_one);
  tcase_add_test(tc, test_crc_fast_and_portable_agree_on_vectors);
  tcase_add_test(tc, test_crc_fast_and_portable_agree_on_every_length);
  tcase_add_test(tc, test_crc_fast_and_portable_agree_on_extreme_inputs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(crc_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the CABA walker. The input is a candidate .dup package; it
 * is walked twice, whole and in chunks whose sizes come from a generator
 * seeded by the input length, and both walks must agree on the verdict, the
 * error location and the event sequence (DATA bytes are hashed as one
 * stream, so chunk boundaries do not show). Also checked: error codes stay
 * in the table, reported offsets stay inside the input, END records fit the
 * input and carry sig_ok, DATA events are never empty.
 *
 * Builds as a libFuzzer binary (SQN_FUZZ=ON, clang) and, linked with
 * replay_main.c, as a corpus replay test. Violations abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/caba.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_caba_trace {
  uint64_t hash;
  uint64_t events;
  uint64_t data_bytes;
  size_t input_len;
};

#define FUZZ_CABA_CHECK(cond)                                                 \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "fuzz_caba_walk: %s:%d: %s\n", __FILE__, __LINE__,      \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

static void fuzz_caba_mix(struct fuzz_caba_trace *t, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    t->hash = (t->hash ^ b[i]) * 0x100000001B3ull;
}

static void fuzz_caba_mix_u64(struct fuzz_caba_trace *t, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  fuzz_caba_mix(t, b, sizeof b);
}

static int fuzz_caba_cb(void *user, enum sqn_caba_event ev,
                        const struct sqn_caba_record *rec, const uint8_t *data,
                        size_t len) {
  struct fuzz_caba_trace *t = user;
  FUZZ_CABA_CHECK(rec != NULL);
  if (ev == SQN_CABA_EV_DATA) {
    FUZZ_CABA_CHECK(data != NULL && len > 0);
    fuzz_caba_mix(t, data, len);
    t->data_bytes += len;
    return 0;
  }
  FUZZ_CABA_CHECK(ev == SQN_CABA_EV_BEGIN || ev == SQN_CABA_EV_END);
  FUZZ_CABA_CHECK(data == NULL && len == 0);
  FUZZ_CABA_CHECK(rec->depth < SQN_CABA_MAX_DEPTH);
  FUZZ_CABA_CHECK(rec->magic[4] == '\0' && strlen(rec->magic) == 4);
  FUZZ_CABA_CHECK(memchr(rec->descr, '\0', sizeof rec->descr) != NULL);
  FUZZ_CABA_CHECK(rec->version >= 1 && rec->version <= 3);
  if (ev == SQN_CABA_EV_END) {
    FUZZ_CABA_CHECK(rec->sig_ok);
    FUZZ_CABA_CHECK(rec->offset + rec->length <= t->input_len);
  }
  t->events++;
  fuzz_caba_mix_u64(t, (uint64_t)ev);
  fuzz_caba_mix_u64(t, rec->offset);
  fuzz_caba_mix_u64(t, rec->length);
  fuzz_caba_mix_u64(t, rec->depth);
  fuzz_caba_mix(t, rec->magic, 4);
  fuzz_caba_mix_u64(t, rec->data_size);
  fuzz_caba_mix_u64(t, (uint64_t)rec->has_target << 32 | rec->target);
  fuzz_caba_mix_u64(t, (uint64_t)rec->has_fff << 32 | rec->fff_payload_len);
  fuzz_caba_mix(t, rec->descr, strlen(rec->descr));
  if (ev == SQN_CABA_EV_END) {
    fuzz_caba_mix_u64(t, rec->image.found);
    fuzz_caba_mix(t, rec->image.v, sizeof rec->image.v);
    fuzz_caba_mix_u64(t, rec->image.build);
  }
  return 0;
}

static void fuzz_caba_same(const struct sqn_caba_walker *a,
                           const struct sqn_caba_walker *b,
                           const struct fuzz_caba_trace *ta,
                           const struct fuzz_caba_trace *tb) {
  FUZZ_CABA_CHECK(a->err == b->err);
  FUZZ_CABA_CHECK(a->err_offset == b->err_offset);
  FUZZ_CABA_CHECK(a->err_record == b->err_record);
  FUZZ_CABA_CHECK(strcmp(a->err_magic, b->err_magic) == 0);
  FUZZ_CABA_CHECK(a->records == b->records);
  FUZZ_CABA_CHECK(ta->hash == tb->hash);
  FUZZ_CABA_CHECK(ta->events == tb->events);
  FUZZ_CABA_CHECK(ta->data_bytes == tb->data_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sqn_caba_walker whole, chunked;
  struct fuzz_caba_trace tw = {0xCBF29CE484222325ull, 0, 0, size};
  struct fuzz_caba_trace tc = tw;

  int rc = sqn_caba_walk(data, size, fuzz_caba_cb, &tw, &whole);
  FUZZ_CABA_CHECK(rc == whole.err);
  FUZZ_CABA_CHECK(rc <= 0 && rc >= SQN_CABA_E_ABORTED);
  FUZZ_CABA_CHECK(rc != SQN_CABA_E_ABORTED);
  FUZZ_CABA_CHECK(strcmp(sqn_caba_err_name(rc), "UNKNOWN") != 0);
  FUZZ_CABA_CHECK((rc == SQN_CABA_E_EMPTY) == (size == 0));
  if (rc == 0)
    FUZZ_CABA_CHECK(whole.records > 0 && whole.offset == size);
  else
    FUZZ_CABA_CHECK(whole.err_offset <= size && whole.err_record <= size);

  /* Chunk sizes 1..257 from a generator seeded by the length; sometimes an
   * empty feed in between, which must be harmless. */
  sqn_caba_walker_init(&chunked, fuzz_caba_cb, &tc);
  uint64_t s = size * 0x9E3779B97F4A7C15ull + 1;
  size_t pos = 0;
  while (pos < size) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    size_t n = (size_t)(s % 257) + 1;
    if (n > size - pos)
      n = size - pos;
    sqn_caba_walker_feed(&chunked, data + pos, n);
    if ((s >> 20) % 7 == 0)
      sqn_caba_walker_feed(&chunked, data + pos + n, 0);
    pos += n;
  }
  int rc2 = sqn_caba_walker_finish(&chunked);
  FUZZ_CABA_CHECK(rc2 == rc);
  fuzz_caba_same(&whole, &chunked, &tw, &tc);
  return 0;
}

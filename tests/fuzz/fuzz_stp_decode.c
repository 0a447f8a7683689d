/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the STP decoder. The input is a raw byte stream, decoded
 * under four configurations (request and response magic, with and without
 * SQN_STP_DEC_HCRC_ZERO_OK), each in two chunkings: whole, and in pseudo-
 * random chunks of 1..17 bytes derived from the input. Properties checked
 * (any violation aborts):
 *   - both chunkings give the same event sequence (frames byte for byte,
 *     drop reasons and byte counts);
 *   - every delivered frame re-encodes to exactly its raw bytes;
 *   - the receive state stays in range after every feed; flush ends in HUNT;
 *   - counters match the callbacks, and after a flush the delivered and
 *     dropped bytes add up to the input length;
 *   - without the flag, every delivered frame had both CRCs checked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/stp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_PLEN 300 /* small enough that fuzz inputs complete frames */

#define FZ_CHECK(cond)                                                       \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,    \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* Events as a flat log: frames by their raw bytes, drops by reason/count. */
struct fz_log {
  uint8_t *bytes;
  size_t len, cap;
  size_t frames, drops[SQN_STP_DROP_COUNT];
  size_t frame_bytes, drop_bytes;
  unsigned flags;
  uint32_t magic;
};

static void fz_put(struct fz_log *l, const void *p, size_t n) {
  FZ_CHECK(l->len + n <= l->cap);
  memcpy(l->bytes + l->len, p, n);
  l->len += n;
}

static void fz_on_frame(void *user, const struct sqn_stp_frame *f) {
  struct fz_log *l = user;
  uint8_t enc[SQN_STP_HDR_LEN + FZ_MAX_PLEN];
  FZ_CHECK(f->hdr.magic == l->magic);
  FZ_CHECK(f->hdr.plen <= FZ_MAX_PLEN);
  FZ_CHECK(f->raw_len == SQN_STP_HDR_LEN + (size_t)f->hdr.plen);
  FZ_CHECK(f->payload == f->raw + SQN_STP_HDR_LEN);
  if (!(l->flags & SQN_STP_DEC_HCRC_ZERO_OK))
    FZ_CHECK(f->hcrc_checked && f->pcrc_checked);
  unsigned ef = 0;
  if (f->hdr.hcrc == 0)
    ef |= SQN_STP_ENC_ZERO_HCRC;
  if (f->hdr.pcrc == 0 && f->hdr.plen)
    ef |= SQN_STP_ENC_ZERO_PCRC;
  size_t n = sqn_stp_encode(enc, sizeof enc, f->hdr.magic, f->hdr.op,
                            f->hdr.sid, f->hdr.tid, f->payload, f->hdr.plen, ef);
  FZ_CHECK(n == f->raw_len);
  FZ_CHECK(memcmp(enc, f->raw, n) == 0);
  uint8_t tag = 'F';
  fz_put(l, &tag, 1);
  fz_put(l, f->raw, f->raw_len);
  l->frames++;
  l->frame_bytes += f->raw_len;
}

static void fz_on_drop(void *user, enum sqn_stp_drop reason, size_t bytes) {
  struct fz_log *l = user;
  FZ_CHECK((unsigned)reason < SQN_STP_DROP_COUNT);
  FZ_CHECK(bytes > 0);
  uint8_t tag = (uint8_t)('0' + reason);
  fz_put(l, &tag, 1);
  fz_put(l, &bytes, sizeof bytes);
  l->drops[reason]++;
  l->drop_bytes += bytes;
}

static void fz_check_state(const struct sqn_stp_decoder *d) {
#define XX(name) +1
  FZ_CHECK((unsigned)d->state < (0 SQN_STP_RX_MAP(XX)));
#undef XX
}

/* Decode `data` under one configuration with the given chunking (seed 0 =
 * whole) into `l`, then check counters and accounting. */
static void fz_run(const uint8_t *data, size_t size, uint32_t magic,
                   unsigned flags, uint32_t seed, struct fz_log *l,
                   uint8_t *buf) {
  struct sqn_stp_decoder d;
  struct sqn_stp_decoder_config cfg = {
      .magic = magic,
      .buf = buf,
      .buf_cap = SQN_STP_HDR_LEN + FZ_MAX_PLEN,
      .max_plen = FZ_MAX_PLEN,
      .flags = flags,
      .on_frame = fz_on_frame,
      .on_drop = fz_on_drop,
      .user = l,
  };
  l->len = l->frames = l->frame_bytes = l->drop_bytes = 0;
  memset(l->drops, 0, sizeof l->drops);
  l->flags = flags;
  l->magic = magic;
  FZ_CHECK(sqn_stp_decoder_init(&d, &cfg) == 0);
  size_t off = 0;
  while (off < size) {
    size_t n = size - off;
    if (seed) {
      seed ^= seed << 13;
      seed ^= seed >> 17;
      seed ^= seed << 5;
      if (n > 1 + seed % 17)
        n = 1 + seed % 17;
    }
    sqn_stp_decoder_feed(&d, data + off, n);
    fz_check_state(&d);
    off += n;
  }
  sqn_stp_decoder_flush(&d);
  FZ_CHECK(d.state == SQN_STP_RX_HUNT);
  FZ_CHECK(d.frames == l->frames);
  for (int i = 0; i < SQN_STP_DROP_COUNT; i++)
    FZ_CHECK(d.drops[i] == l->drops[i]);
  FZ_CHECK(l->frame_bytes + l->drop_bytes == size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t buf[SQN_STP_HDR_LEN + FZ_MAX_PLEN];
  /* Each input byte yields at most one event; an event takes at most
   * 1 + 16 + plen bytes for a frame (which consumed 16 + plen input bytes)
   * or 1 + sizeof(size_t) for a drop. */
  size_t cap = size * (1 + sizeof(size_t)) + 64;
  struct fz_log a = {.bytes = malloc(cap), .cap = cap};
  struct fz_log b = {.bytes = malloc(cap), .cap = cap};
  FZ_CHECK(a.bytes && b.bytes);
  uint32_t seed = 0x9E3779B9u ^ (uint32_t)size;
  for (size_t i = 0; i < size && i < 8; i++)
    seed = seed * 31u + data[i];
  if (!seed)
    seed = 1;
  static const uint32_t magics[2] = {SQN_STP_MAGIC_REQ, SQN_STP_MAGIC_RSP};
  for (int m = 0; m < 2; m++)
    for (unsigned flags = 0; flags <= SQN_STP_DEC_HCRC_ZERO_OK; flags++) {
      fz_run(data, size, magics[m], flags, 0, &a, buf);
      fz_run(data, size, magics[m], flags, seed, &b, buf);
      FZ_CHECK(a.len == b.len);
      FZ_CHECK(memcmp(a.bytes, b.bytes, a.len) == 0);
    }
  free(a.bytes);
  free(b.bytes);
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the AT client's reply parser (core/src/update/at.c).
 *
 * Properties, not just "no crash":
 *   - feeding the input whole, bytewise, or split at a point chosen by the
 *     input gives the same final result, the same information lines, the
 *     same URC count and stops at the same byte;
 *   - a final result is only ever declared right after a CR or LF;
 *   - the receive state stays in range and every kept line is
 *     NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/at.h"

struct run {
  struct sqn_at_client at;
  size_t consumed;
  unsigned urcs;
};

static void fuzz_on_urc(void *user, enum sqn_at_urc urc, const char *line) {
  struct run *r = user;
  if ((int)urc < 0 || urc > SQN_AT_URC_OTHER || strlen(line) > SQN_AT_LINE_MAX)
    abort();
  r->urcs++;
}

/* Feed in pieces of `step` bytes (0 = whole); stop at the final result. */
static void fuzz_run(struct run *r, const uint8_t *d, size_t n, size_t step,
                     size_t split) {
  memset(r, 0, sizeof *r);
  sqn_at_init(&r->at, fuzz_on_urc, r);
  sqn_at_expect(&r->at, "AT+SMOD?");
  size_t off = 0;
  while (off < n && !sqn_at_done(&r->at)) {
    size_t len = n - off;
    if (step && len > step)
      len = step;
    if (split && off < split && off + len > split)
      len = split - off;
    size_t used = sqn_at_feed(&r->at, d + off, len);
    if (used > len)
      abort();
    off += used;
    if (used < len && !sqn_at_done(&r->at))
      abort(); /* stopping early is only allowed at a final result */
  }
  r->consumed = off;
}

static void fuzz_same(const struct run *a, const struct run *b) {
  if (a->at.result != b->at.result || a->consumed != b->consumed ||
      a->urcs != b->urcs || a->at.n_info != b->at.n_info ||
      a->at.cme != b->at.cme)
    abort();
  for (unsigned i = 0; i < a->at.n_info; i++)
    if (strcmp(a->at.info[i], b->at.info[i]) != 0)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct run whole, bytes, split;
  fuzz_run(&whole, data, size, 0, 0);
  fuzz_run(&bytes, data, size, 1, 0);
  fuzz_run(&split, data, size, 0, size ? (data[0] % size) + 1 : 0);
  fuzz_same(&whole, &bytes);
  fuzz_same(&whole, &split);
  if (whole.at.rx > SQN_AT_RX_TAINTED || whole.at.n_info > SQN_AT_INFO_MAX)
    abort();
  if (sqn_at_done(&whole.at)) {
    uint8_t last = data[whole.consumed - 1];
    if (last != '\r' && last != '\n')
      abort();
  }
  for (unsigned i = 0; i < whole.at.n_info; i++)
    if (memchr(whole.at.info[i], 0, SQN_AT_INFO_LEN) == NULL)
      abort();
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "check_ext.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sqn_check_dump(char *out, size_t cap, const uint8_t *p, size_t n,
                           size_t mark) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < cap; i++) {
    if (i && i % 16 == 0)
      o += (size_t)snprintf(out + o, cap - o, "\n      ");
    o += (size_t)snprintf(out + o, cap - o, i == mark ? "[%02x]" : " %02x", p[i]);
  }
  if (o < cap)
    out[o] = 0;
}

void sqn_check_mem_hex_eq(const char *file, int line, const void *got,
                          size_t got_len, const void *want, size_t want_len) {
  const uint8_t *g = got, *w = want;
  size_t n = got_len < want_len ? got_len : want_len, diff = n;
  for (size_t i = 0; i < n; i++)
    if (g[i] != w[i]) {
      diff = i;
      break;
    }
  if (diff == n && got_len == want_len)
    return;
  static char gs[8192], ws[8192];
  sqn_check_dump(gs, sizeof gs, g, got_len > 512 ? 512 : got_len, diff);
  sqn_check_dump(ws, sizeof ws, w, want_len > 512 ? 512 : want_len, diff);
  ck_assert_msg(0, "%s:%d: bytes differ at offset %zu (got %zu bytes, want %zu)\n"
                "  got: %s\n want: %s", file, line, diff, got_len, want_len, gs, ws);
}

long sqn_hex_parse(const char *text, uint8_t *out, size_t cap, int *bad_line) {
  size_t n = 0;
  int lineno = 1, hi = -1;
  for (const char *p = text; *p; p++) {
    if (*p == '\n') {
      lineno++;
      continue;
    }
    if (*p == '#') {
      while (p[1] && p[1] != '\n')
        p++;
      continue;
    }
    if (isspace((unsigned char)*p))
      continue;
    if (!isxdigit((unsigned char)*p) || (n >= cap && hi >= 0)) {
      if (bad_line)
        *bad_line = lineno;
      return -1;
    }
    int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
    if (hi < 0) {
      hi = v;
    } else {
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  if (hi >= 0) {
    if (bad_line)
      *bad_line = lineno;
    return -1;
  }
  return (long)n;
}

uint8_t *sqn_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap + 1);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2 + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = 0;
    if (len)
      *len = n;
  }
  return buf;
}

void sqn_rng_seed(struct sqn_rng *r, uint64_t seed) {
  r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t sqn_rng_next(struct sqn_rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

uint64_t sqn_rng_below(struct sqn_rng *r, uint64_t n) {
  return sqn_rng_next(r) % n;
}

void sqn_feed(enum sqn_feed_mode mode, uint64_t seed, const uint8_t *buf,
              size_t len, sqn_feed_fn fn, void *ctx) {
  struct sqn_rng r;
  sqn_rng_seed(&r, seed);
  size_t off = 0;
  while (off < len) {
    size_t n = len - off;
    if (mode == SQN_FEED_BYTEWISE)
      n = 1;
    else if (mode == SQN_FEED_RANDOM) {
      size_t c = 1 + (size_t)sqn_rng_below(&r, 64);
      if (c < n)
        n = c;
    }
    fn(ctx, buf + off, n);
    off += n;
  }
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The builders' output stream: every byte goes to the caller's sink and to
 * each checksum currently open, so signatures that cover nested records are
 * ready the moment their record's last data byte has passed.
 */
#include <string.h>

#include "pkg_internal.h"

void sqn__pkg_out_init(struct sqn__pkg_out *o, sqn_pkg_write_cb write,
                       void *user) {
  memset(o, 0, sizeof *o);
  o->write = write;
  o->user = user;
}

void sqn__pkg_out_bytes(struct sqn__pkg_out *o, const void *buf, size_t len) {
  if (o->err || len == 0)
    return;
  for (unsigned i = 0; i < o->nsums; i++)
    sqn_fletcher_update(o->sums[i], buf, len);
  if (o->write(o->user, buf, len) != 0) {
    o->err = SQN_PKG_E_WRITE;
    return;
  }
  o->offset += len;
}

void sqn__pkg_out_push(struct sqn__pkg_out *o, struct sqn_fletcher *f) {
  sqn_fletcher_init(f);
  /* Nesting depth is fixed by the builders (PACK > UPGR > FFF!). */
  if (o->nsums < SQN__PKG_MAX_SUMS)
    o->sums[o->nsums++] = f;
  else if (!o->err)
    o->err = SQN_PKG_E_INVAL;
}

void sqn__pkg_out_pop(struct sqn__pkg_out *o) {
  if (o->nsums)
    o->nsums--;
}

void sqn__pkg_rng_seed(struct sqn__pkg_rng *r, const struct sqn_image_version *v,
                       uint32_t salt) {
  /* FNV-1a over the version numbers, the build and a per-use salt. */
  uint32_t h = 2166136261u;
  uint32_t words[6] = {v->v[0], v->v[1], v->v[2], v->v[3], v->build, salt};
  for (unsigned i = 0; i < 6; i++)
    for (unsigned b = 0; b < 4; b++) {
      h ^= (words[i] >> (8 * b)) & 0xffu;
      h *= 16777619u;
    }
  r->s = h ? h : 0x9e3779b9u; /* xorshift must not start at 0 */
}

static uint32_t sqn__pkg_rng_next(struct sqn__pkg_rng *r) {
  uint32_t x = r->s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  r->s = x;
  return x;
}

void sqn__pkg_out_filler(struct sqn__pkg_out *o, struct sqn__pkg_rng *r,
                         uint64_t len) {
  uint8_t chunk[1024];
  while (len && !o->err) {
    size_t n = len < sizeof chunk ? (size_t)len : sizeof chunk;
    for (size_t i = 0; i < n; i += 4) {
      uint32_t x = sqn__pkg_rng_next(r);
      for (size_t b = 0; b < 4 && i + b < n; b++)
        chunk[i + b] = (uint8_t)(x >> (8 * b));
    }
    sqn__pkg_out_bytes(o, chunk, n);
    len -= n;
  }
}

int sqn__pkg_bufsink_write(void *user, const void *buf, size_t len) {
  struct sqn__pkg_bufsink *s = user;
  if (len > s->cap - s->len)
    return -1; /* cannot happen: the size was checked first */
  memcpy(s->buf + s->len, buf, len);
  s->len += len;
  return 0;
}

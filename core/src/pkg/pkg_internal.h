/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by the package and ELF builders: one output stream that
 * feeds every open checksum as bytes pass through, so nested signatures
 * (PACK over UPGR over FFF!) are computed in a single pass without holding
 * the output.
 */
#ifndef SQNUP_PKG_INTERNAL_H
#define SQNUP_PKG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sqnup/crc.h"
#include "sqnup/pkg.h"

/* PACK, UPGR and FFF! are open at once at most. */
#define SQN__PKG_MAX_SUMS 3

struct sqn__pkg_out {
  sqn_pkg_write_cb write;
  void *user;
  uint64_t offset;  /* bytes written so far */
  int err;          /* first error, sticky */
  struct sqn_fletcher *sums[SQN__PKG_MAX_SUMS];
  unsigned nsums;
};

void sqn__pkg_out_init(struct sqn__pkg_out *o, sqn_pkg_write_cb write,
                       void *user);
/* Write bytes (no-op once an error is set). */
void sqn__pkg_out_bytes(struct sqn__pkg_out *o, const void *buf, size_t len);
/* Open a checksum fed by every following byte until the matching pop. */
void sqn__pkg_out_push(struct sqn__pkg_out *o, struct sqn_fletcher *f);
void sqn__pkg_out_pop(struct sqn__pkg_out *o);

/* Deterministic filler: xorshift32, never 0 state. */
struct sqn__pkg_rng {
  uint32_t s;
};
void sqn__pkg_rng_seed(struct sqn__pkg_rng *r, const struct sqn_image_version *v,
                       uint32_t salt);
/* Write `len` filler bytes. */
void sqn__pkg_out_filler(struct sqn__pkg_out *o, struct sqn__pkg_rng *r,
                         uint64_t len);

/* Sink into a caller buffer (capacity checked before building). */
struct sqn__pkg_bufsink {
  uint8_t *buf;
  size_t cap;
  size_t len;
};
int sqn__pkg_bufsink_write(void *user, const void *buf, size_t len);

/* Stream an ELF (options already checked) into o. */
void sqn__pkg_elf_emit(struct sqn__pkg_out *o, const struct sqn_pkg_elf_opts *e);
/* 0 or SQN_PKG_E_INVAL. */
int sqn__pkg_elf_check(const struct sqn_pkg_elf_opts *e);

static inline void sqn__pkg_put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void sqn__pkg_put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void sqn__pkg_put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void sqn__pkg_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif /* SQNUP_PKG_INTERNAL_H */

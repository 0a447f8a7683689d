/*
 * CRC-16/XMODEM, zlib CRC-32 and the Sequans Fletcher-32 variant.
 *
 * The CRC tables are computed at compile time from their polynomials by the
 * macros below, so there is no init function and no mutable global.
 */
#include "sqnup/crc.h"

/* ---- CRC-16/XMODEM, MSB first: crc = (crc << 8) ^ T[(crc >> 8) ^ b] ---- */

#define C16_B(c) ((uint16_t)(((c) & 0x8000u) ? (((c) << 1) ^ 0x1021u) : ((c) << 1)))
#define C16_4(c) C16_B(C16_B(C16_B(C16_B(c))))
#define C16(i) ((uint16_t)C16_4(C16_4((uint16_t)((i) << 8))))
#define C32_B(c) (((c) & 1u) ? (((c) >> 1) ^ 0xEDB88320u) : ((c) >> 1))
#define C32_4(c) C32_B(C32_B(C32_B(C32_B(c))))
#define C32(i) ((uint32_t)C32_4(C32_4((uint32_t)(i))))

#define ROW16(i) C16(i), C16(i + 1), C16(i + 2), C16(i + 3), \
                 C16(i + 4), C16(i + 5), C16(i + 6), C16(i + 7)
#define ROW32(i) C32(i), C32(i + 1), C32(i + 2), C32(i + 3), \
                 C32(i + 4), C32(i + 5), C32(i + 6), C32(i + 7)
#define TABLE(R) R(0), R(8), R(16), R(24), R(32), R(40), R(48), R(56), \
  R(64), R(72), R(80), R(88), R(96), R(104), R(112), R(120), \
  R(128), R(136), R(144), R(152), R(160), R(168), R(176), R(184), \
  R(192), R(200), R(208), R(216), R(224), R(232), R(240), R(248)

static const uint16_t sqn_crc16_table[256] = { TABLE(ROW16) };
static const uint32_t sqn_crc32_table[256] = { TABLE(ROW32) };

uint16_t sqn_crc16(uint16_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len--)
    crc = (uint16_t)((crc << 8) ^ sqn_crc16_table[((crc >> 8) ^ *p++) & 0xFF]);
  return crc;
}

uint32_t sqn_crc32(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  crc = ~crc;
  while (len--)
    crc = (crc >> 8) ^ sqn_crc32_table[(crc ^ *p++) & 0xFF];
  return ~crc;
}

/* ---- Fletcher-32, Sequans variant ---- */

#define SQN_FLETCHER_RUN 360 /* words per run before both sums are folded */

static uint32_t sqn_fletcher_fold(uint32_t x) { return (x & 0xFFFFu) + (x >> 16); }

void sqn_fletcher_init(struct sqn_fletcher *f) {
  f->s1 = 0xFFFFu;
  f->s2 = 0xFFFFu;
  f->words = 0;
  f->pending = 0;
  f->has_pending = 0;
}

static void sqn_fletcher_word(struct sqn_fletcher *f, uint32_t w) {
  f->s1 += w;
  f->s2 += f->s1;
  if (++f->words == SQN_FLETCHER_RUN) {
    f->s1 = sqn_fletcher_fold(f->s1);
    f->s2 = sqn_fletcher_fold(f->s2);
    f->words = 0;
  }
}

void sqn_fletcher_update(struct sqn_fletcher *f, const void *data, size_t len) {
  const uint8_t *p = data;
  if (len && f->has_pending) {
    sqn_fletcher_word(f, (uint32_t)f->pending << 8 | *p++);
    f->has_pending = 0;
    len--;
  }
  /* Hot loop: whole runs without the per-word run check. The sums cannot
   * overflow: 360 words of 0xFFFF on top of a folded sum stay below 2^32. */
  while (len >= 2) {
    size_t n = (size_t)(SQN_FLETCHER_RUN - f->words);
    if (n > len / 2)
      n = len / 2;
    uint32_t s1 = f->s1, s2 = f->s2;
    for (size_t i = 0; i < n; i++, p += 2) {
      s1 += (uint32_t)p[0] << 8 | p[1];
      s2 += s1;
    }
    f->s1 = s1;
    f->s2 = s2;
    f->words = (uint16_t)(f->words + n);
    len -= 2 * n;
    if (f->words == SQN_FLETCHER_RUN) {
      f->s1 = sqn_fletcher_fold(f->s1);
      f->s2 = sqn_fletcher_fold(f->s2);
      f->words = 0;
    }
  }
  if (len) {
    f->pending = *p;
    f->has_pending = 1;
  }
}

uint32_t sqn_fletcher_final(const struct sqn_fletcher *f) {
  uint32_t s1 = f->s1, s2 = f->s2;
  if (f->words) {
    s1 = sqn_fletcher_fold(s1);
    s2 = sqn_fletcher_fold(s2);
  }
  if (f->has_pending) {
    s1 += (uint32_t)f->pending << 8;
    s2 += s1;
    s1 = sqn_fletcher_fold(s1);
    s2 = sqn_fletcher_fold(s2);
  }
  s1 = sqn_fletcher_fold(s1);
  s2 = sqn_fletcher_fold(s2);
  return (s2 << 16) | (s1 & 0xFFFFu);
}

uint32_t sqn_fletcher32(const void *data, size_t len) {
  struct sqn_fletcher f;
  sqn_fletcher_init(&f);
  sqn_fletcher_update(&f, data, len);
  return sqn_fletcher_final(&f);
}

/*
 * CRC-16/XMODEM, zlib CRC-32 and the Sequans Fletcher-32 variant.
 *
 * The CRC tables are const data generated from the polynomials
 * (crc_tables.h), so there is no init function and no mutable global.
 */
#include "sqnup/crc.h"

#if defined(SQN_CRC_SMALL) && SQN_CRC_SMALL
/* ---- CRC-16/XMODEM and zlib CRC-32, half-byte tables ----
 *
 * For microcontrollers (the cross build defines SQN_CRC_SMALL): 96 bytes of
 * tables instead of 12 KiB, two lookups per byte. A Cortex-M3 at 25 MHz
 * still checks several MB/s, well above a 921600 baud line. */

static const uint16_t sqn_crc16_t4[16] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef};
static const uint32_t sqn_crc32_t4[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};

uint16_t sqn_crc16(uint16_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len--) {
    uint8_t b = *p++;
    crc = (uint16_t)((crc << 4) ^ sqn_crc16_t4[(crc >> 12) ^ (b >> 4)]);
    crc = (uint16_t)((crc << 4) ^ sqn_crc16_t4[(crc >> 12) ^ (b & 0x0F)]);
  }
  return crc;
}

uint32_t sqn_crc32(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  crc = ~crc;
  while (len--) {
    crc ^= *p++;
    crc = (crc >> 4) ^ sqn_crc32_t4[crc & 0x0F];
    crc = (crc >> 4) ^ sqn_crc32_t4[crc & 0x0F];
  }
  return ~crc;
}

#else
/* ---- CRC-16/XMODEM and zlib CRC-32, slicing-by-8 ----
 *
 * Every pushed byte goes through the CRC-16 twice (encoder and decoder), so
 * it sits on the transfer's critical path: eight bytes per step through the
 * tables in crc_tables.h, then the classic byte loop for the tail. */

#include "crc_tables.h"

uint16_t sqn_crc16(uint16_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  const uint16_t(*t)[256] = sqn_crc16_t8;
  while (len >= 8) {
    crc = (uint16_t)(t[7][p[0] ^ (crc >> 8)] ^ t[6][p[1] ^ (crc & 0xFF)] ^
                     t[5][p[2]] ^ t[4][p[3]] ^ t[3][p[4]] ^ t[2][p[5]] ^
                     t[1][p[6]] ^ t[0][p[7]]);
    p += 8;
    len -= 8;
  }
  while (len--)
    crc = (uint16_t)((crc << 8) ^ t[0][((crc >> 8) ^ *p++) & 0xFF]);
  return crc;
}

uint32_t sqn_crc32(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  const uint32_t(*t)[256] = sqn_crc32_t8;
  crc = ~crc;
  while (len >= 8) {
    uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                         (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^
          t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    len -= 8;
  }
  while (len--)
    crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
  return ~crc;
}

#endif /* SQN_CRC_SMALL */

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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC-16/XMODEM, zlib CRC-32 and the Sequans Fletcher-32 variant.
 *
 * The CRC tables are const data generated from the polynomials
 * (crc_tables.h), so there is no init function and no mutable global.
 */
#include "sqnup/crc.h"

#include <stdbool.h>

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

uint16_t sqn_crc16_portable(uint16_t crc, const void *data, size_t len) {
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

uint16_t sqn_crc16_portable(uint16_t crc, const void *data, size_t len) {
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

void sqn_fletcher_update_portable(struct sqn_fletcher *f, const void *data,
                                  size_t len) {
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

/*
 * Many sums over the same bytes. Fletcher-32 is linear: k words w_0..w_k-1
 * fed into a sum (s1, s2) give
 *   s1' = s1 + A            A = w_0 + ... + w_k-1
 *   s2' = s2 + k * s1 + B   B = k * w_0 + (k - 1) * w_1 + ... + w_k-1
 * mod 65535, and (A, B) is exactly what a sum started at (0, 0) holds after
 * the same words. So the words are summed once from (0, 0) and added to each
 * sum. Sums that wait for the low byte of a word see the words shifted by
 * one byte: their (A, B) comes from a second pass starting one byte later.
 * The folds keep a positive sum positive and congruent mod 65535, and
 * sqn_fletcher_final gives the 1..65535 representative of each (see "Fast
 * paths" below), so combining keeps both sums positive and congruent: the
 * results are those of sqn_fletcher_update, bit for bit.
 */
static uint32_t sqn_fletcher_pos_mod(uint64_t x) { /* x > 0 */
  uint32_t r = (uint32_t)(x % 65535u);
  return r ? r : 65535u;
}

static void sqn_fletcher_apply(struct sqn_fletcher *f,
                               const struct sqn_fletcher *z, uint64_t k) {
  uint64_t s1 = f->s1, s2 = f->s2;
  f->s2 = sqn_fletcher_pos_mod(s2 + (k % 65535u) * s1 + z->s2);
  f->s1 = sqn_fletcher_pos_mod(s1 + z->s1);
  f->words = 0;
}

void sqn_fletcher_update_many(struct sqn_fletcher *const *fs, size_t n,
                              const void *data, size_t len) {
  const uint8_t *p = data;
  struct sqn_fletcher z[2];
  bool have[2] = {false, false};
  if (n == 1 || len < 64) { /* nothing to share */
    for (size_t i = 0; i < n; i++)
      sqn_fletcher_update(fs[i], p, len);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    struct sqn_fletcher *f = fs[i];
    int shift = f->has_pending ? 1 : 0; /* word alignment of this sum */
    size_t words = (len - (size_t)shift) / 2;
    if (!have[shift]) {
      z[shift].s1 = z[shift].s2 = 0;
      z[shift].words = 0;
      z[shift].has_pending = 0;
      sqn_fletcher_update(&z[shift], p + shift, 2 * words);
      have[shift] = true;
    }
    if (shift)
      sqn_fletcher_update_portable(f, p, 1); /* completes the pending word */
    sqn_fletcher_apply(f, &z[shift], words);
    if ((len - (size_t)shift) % 2) {
      f->pending = p[len - 1];
      f->has_pending = 1;
    }
  }
}

uint32_t sqn_fletcher32(const void *data, size_t len) {
  struct sqn_fletcher f;
  sqn_fletcher_init(&f);
  sqn_fletcher_update(&f, data, len);
  return sqn_fletcher_final(&f);
}

/* ---- Fast paths ----
 *
 * The functions above are the portable reference: plain C11, freestanding,
 * what an MCU build gets (define SQN_CHECKSUM_PORTABLE, or build for
 * anything but x86-64 with GCC or clang). On x86-64 sqn_crc16() and
 * sqn_fletcher_update() take the vector paths below for long inputs;
 * test_crc checks that both give the same results on random inputs of every
 * length 0-4096, in every chunking, and on the published vectors.
 *
 * Fletcher-32 with deferred modulo. The Sequans fold (x & 0xFFFF) + (x >> 16)
 * keeps a sum's value mod 65535 and never turns a positive sum into 0; both
 * sums start positive (0xFFFF). So after any input, s1 = W1 and s2 = W2 mod
 * 65535 in the range 1..65535, where W1 = sum of the words and W2 = sum over
 * words of (words from it to the end) * word: how often the folds happen
 * does not change the result. The vector loop keeps per-lane sums acc (the
 * words) and ps (acc added after every vector), for up to 360 vectors before
 * a 32-bit lane could overflow, then folds them into s1 and s2 mod 65535.
 *
 * CRC-16/XMODEM by carry-less multiplication (PCLMULQDQ): the message as a
 * polynomial is folded 64 bytes at a time into four 128-bit remainders
 * congruent to it modulo P (x^16 + x^12 + x^5 + 1), using x^k mod P for the
 * distances folded over; the last 128-bit remainder and the tail go through
 * the table code. Used when the CPU reports PCLMULQDQ and SSSE3. */

#if !defined(SQN_CHECKSUM_PORTABLE) && defined(__x86_64__) &&                 \
    (defined(__GNUC__) || defined(__clang__))
#define SQN_CRC_X86 1
#include <immintrin.h>
#endif

#ifdef SQN_CRC_X86

#define SQN_FLETCHER_VEC_RUN 360 /* vectors per run: 32-bit lanes stay exact */

/* Canonical 1..65535 representative of x mod 65535 (see above). */
static uint32_t sqn_fletcher_mod(uint64_t x) {
  uint32_t r = (uint32_t)(x % 65535u);
  return r ? r : 65535u;
}

/* Whole 16-byte vectors of big-endian words into f; returns bytes used. */
static size_t sqn_fletcher_sse2(struct sqn_fletcher *f, const uint8_t *p,
                                size_t len) {
  size_t nvec = len / 16, done = 0;
  uint64_t s1 = f->s1, s2 = f->s2;
  const __m128i zero = _mm_setzero_si128();
  while (nvec) {
    size_t t = nvec < SQN_FLETCHER_VEC_RUN ? nvec : SQN_FLETCHER_VEC_RUN;
    __m128i acc_a = zero, acc_b = zero, ps_a = zero, ps_b = zero;
    for (size_t i = 0; i < t; i++) {
      __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
      x = _mm_or_si128(_mm_slli_epi16(x, 8), _mm_srli_epi16(x, 8));
      acc_a = _mm_add_epi32(acc_a, _mm_unpacklo_epi16(x, zero));
      acc_b = _mm_add_epi32(acc_b, _mm_unpackhi_epi16(x, zero));
      ps_a = _mm_add_epi32(ps_a, acc_a);
      ps_b = _mm_add_epi32(ps_b, acc_b);
    }
    uint32_t acc[8], ps[8];
    _mm_storeu_si128((__m128i *)(void *)acc, acc_a);
    _mm_storeu_si128((__m128i *)(void *)(acc + 4), acc_b);
    _mm_storeu_si128((__m128i *)(void *)ps, ps_a);
    _mm_storeu_si128((__m128i *)(void *)(ps + 4), ps_b);
    /* Word i = 8 * v + l of the run is counted 8 * (t - v) - l times. */
    uint64_t sum_acc = 0, sum_ps = 0, sum_lacc = 0;
    for (unsigned l = 0; l < 8; l++) {
      sum_acc += acc[l];
      sum_ps += ps[l];
      sum_lacc += (uint64_t)l * acc[l];
    }
    s2 += (uint64_t)(8 * t) * s1 + 8 * sum_ps - sum_lacc;
    s1 += sum_acc;
    s1 = sqn_fletcher_mod(s1);
    s2 = sqn_fletcher_mod(s2);
    p += 16 * t;
    done += 16 * t;
    nvec -= t;
  }
  f->s1 = (uint32_t)s1;
  f->s2 = (uint32_t)s2;
  f->words = 0;
  return done;
}

void sqn_fletcher_update(struct sqn_fletcher *f, const void *data, size_t len) {
  const uint8_t *p = data;
  if (len >= 64) {
    if (f->has_pending) {
      sqn_fletcher_update_portable(f, p, 1);
      p++;
      len--;
    }
    size_t used = sqn_fletcher_sse2(f, p, len);
    p += used;
    len -= used;
  }
  sqn_fletcher_update_portable(f, p, len);
}

/* x^k mod P for the fold distances (k = 128, 192, 512, 576 bits). */
#define SQN_CRC16_X128 0xAEFCu
#define SQN_CRC16_X192 0x650Bu
#define SQN_CRC16_X512 0x13FCu
#define SQN_CRC16_X576 0x8832u

__attribute__((target("pclmul,ssse3"))) static __m128i
sqn_crc16_fold(__m128i r, __m128i k, __m128i next) {
  /* r * x^d == r.hi * (x^(d+64) mod P) + r.lo * (x^d mod P): k holds
   * x^d mod P in its low and x^(d+64) mod P in its high quadword. */
  __m128i hi = _mm_clmulepi64_si128(r, k, 0x11);
  __m128i lo = _mm_clmulepi64_si128(r, k, 0x00);
  return _mm_xor_si128(_mm_xor_si128(hi, lo), next);
}

/* len >= 64; returns the CRC over the first (len & ~15) bytes and sets
 * *used to that count. */
__attribute__((target("pclmul,ssse3"))) static uint16_t
sqn_crc16_clmul(uint16_t crc, const uint8_t *p, size_t len, size_t *used) {
  /* Byte-reverse a 16-byte load so the first byte is the top of the
   * 128-bit polynomial (bit i = coefficient of x^i). */
  const __m128i rev =
      _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m128i k512 = _mm_set_epi64x(SQN_CRC16_X576, SQN_CRC16_X512);
  const __m128i k128 = _mm_set_epi64x(SQN_CRC16_X192, SQN_CRC16_X128);
#define SQN_LD(q)                                                              \
  _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q)), rev)
  __m128i r0 = SQN_LD(p), r1 = SQN_LD(p + 16), r2 = SQN_LD(p + 32),
          r3 = SQN_LD(p + 48);
  /* The running CRC is the message's first 16 bits XORed in. */
  r0 = _mm_xor_si128(r0, _mm_set_epi64x((long long)((uint64_t)crc << 48), 0));
  size_t i = 64;
  for (; i + 64 <= len; i += 64) {
    r0 = sqn_crc16_fold(r0, k512, SQN_LD(p + i));
    r1 = sqn_crc16_fold(r1, k512, SQN_LD(p + i + 16));
    r2 = sqn_crc16_fold(r2, k512, SQN_LD(p + i + 32));
    r3 = sqn_crc16_fold(r3, k512, SQN_LD(p + i + 48));
  }
  r0 = sqn_crc16_fold(r0, k128, r1);
  r0 = sqn_crc16_fold(r0, k128, r2);
  r0 = sqn_crc16_fold(r0, k128, r3);
  for (; i + 16 <= len; i += 16)
    r0 = sqn_crc16_fold(r0, k128, SQN_LD(p + i));
#undef SQN_LD
  /* r0 is congruent to the message so far: its CRC is the message's. */
  uint8_t b[16];
  _mm_storeu_si128((__m128i *)(void *)b, _mm_shuffle_epi8(r0, rev));
  *used = i;
  return sqn_crc16_portable(0, b, sizeof b);
}

uint16_t sqn_crc16(uint16_t crc, const void *data, size_t len) {
  if (len >= 64 && __builtin_cpu_supports("pclmul") &&
      __builtin_cpu_supports("ssse3")) {
    size_t used;
    crc = sqn_crc16_clmul(crc, data, len, &used);
    return sqn_crc16_portable(crc, (const uint8_t *)data + used, len - used);
  }
  return sqn_crc16_portable(crc, data, len);
}

#else /* portable build */

uint16_t sqn_crc16(uint16_t crc, const void *data, size_t len) {
  return sqn_crc16_portable(crc, data, len);
}

void sqn_fletcher_update(struct sqn_fletcher *f, const void *data, size_t len) {
  sqn_fletcher_update_portable(f, data, len);
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checksums of the Sequans upgrade path.
 *
 *  - CRC-16/XMODEM (poly 0x1021, init 0, no reflection, xorout 0): STP header
 *    and payload CRCs. "123456789" -> 0x31C3.
 *  - The Sequans Fletcher-32 variant: CABA signature type 1, CABA v1 checksums
 *    and the FFF! image trailer. Big-endian 16-bit words, sums start at 0xFFFF,
 *    folded after every run of at most 360 words; an odd last byte is the high
 *    byte of a word. "123456789" -> 0x09DF09D5.
 *  - zlib CRC-32 (reflected 0xEDB88320): CABA signature type 4.
 *
 * All functions are pure, reentrant, allocate nothing and read no globals
 * other than const tables.
 */
#ifndef SQNUP_CRC_H
#define SQNUP_CRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Continue a CRC-16/XMODEM over `len` bytes. Start with crc = 0. */
uint16_t sqn_crc16(uint16_t crc, const void *data, size_t len);

/* The portable reference implementations (plain C11, what an MCU build
 * runs). sqn_crc16 and sqn_fletcher_update give the same results, through
 * vector instructions where the build and the CPU have them. */
uint16_t sqn_crc16_portable(uint16_t crc, const void *data, size_t len);

/* Continue a zlib CRC-32. Start with crc = 0 (as zlib's crc32(0, ...)). */
uint32_t sqn_crc32(uint32_t crc, const void *data, size_t len);

/*
 * Incremental Fletcher-32 (Sequans variant). Feeding the same bytes in any
 * chunking gives the same result as sqn_fletcher32() over the whole buffer.
 * Do not modify members directly.
 */
struct sqn_fletcher {
  /* private */
  uint32_t s1;
  uint32_t s2;
  uint16_t words;      /* words added in the current run (< 360) */
  uint8_t pending;     /* high byte of a half-received word */
  uint8_t has_pending;
};

void sqn_fletcher_init(struct sqn_fletcher *f);
void sqn_fletcher_update(struct sqn_fletcher *f, const void *data, size_t len);
void sqn_fletcher_update_portable(struct sqn_fletcher *f, const void *data,
                                  size_t len);
/* The same bytes into `n` sums at once (nested records each sum their
 * children): the bytes are read once or twice (once per word alignment
 * among the sums), not `n` times. Same results as n sqn_fletcher_update. */
void sqn_fletcher_update_many(struct sqn_fletcher *const *fs, size_t n,
                              const void *data, size_t len);
/* The checksum of everything fed so far; `f` is not changed. */
uint32_t sqn_fletcher_final(const struct sqn_fletcher *f);
/* One-shot form. */
uint32_t sqn_fletcher32(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_CRC_H */

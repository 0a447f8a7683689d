/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helpers on top of Check: hex-diff memory assertions, hex fixture
 * loading, a seeded PRNG and chunked feeding.
 */
#ifndef SQN_CHECK_EXT_H
#define SQN_CHECK_EXT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Fails with a hex dump of both sides and the first differing offset. */
#define ck_assert_mem_hex_eq(got, got_len, want, want_len)                   \
  sqn_check_mem_hex_eq(__FILE__, __LINE__, (got), (got_len), (want), (want_len))

void sqn_check_mem_hex_eq(const char *file, int line, const void *got,
                          size_t got_len, const void *want, size_t want_len);

/*
 * Parse hex text: pairs of hex digits, whitespace ignored, '#' to end of
 * line is a comment. Returns the byte count, or -1 on a bad digit (with the
 * line number in *bad_line when not NULL).
 */
long sqn_hex_parse(const char *text, uint8_t *out, size_t cap, int *bad_line);

/* Read a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
uint8_t *sqn_read_file(const char *path, size_t *len);

/* xorshift64*: deterministic, seedable, no global state. */
struct sqn_rng { uint64_t s; };
void sqn_rng_seed(struct sqn_rng *r, uint64_t seed);
uint64_t sqn_rng_next(struct sqn_rng *r);
/* Uniform in [0, n), n > 0. */
uint64_t sqn_rng_below(struct sqn_rng *r, uint64_t n);

/* The three ways every decoder test feeds its input (style rule 17). */
enum sqn_feed_mode { SQN_FEED_WHOLE, SQN_FEED_BYTEWISE, SQN_FEED_RANDOM };
typedef void (*sqn_feed_fn)(void *ctx, const uint8_t *buf, size_t len);
/* Feed `buf` to `fn` per `mode`; random chunks of 1..64 bytes from `seed`. */
void sqn_feed(enum sqn_feed_mode mode, uint64_t seed, const uint8_t *buf,
              size_t len, sqn_feed_fn fn, void *ctx);

#endif /* SQN_CHECK_EXT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-memory transport for the tests (not part of libsqnup): two byte rings
 * over caller buffers, with a `limit` that caps every read and write so the
 * tests see partial I/O. Implements struct sqn_transport_ops.
 */
#ifndef SQN_TEST_MEMPORT_H
#define SQN_TEST_MEMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqnup/transport.h"

/* A byte ring over a caller buffer. Do not modify members directly. */
struct sqn_ring {
  uint8_t *buf;
  size_t cap, head, len;
};

void sqn_ring_init(struct sqn_ring *r, uint8_t *buf, size_t cap);
/* Append up to len bytes; returns how many fit. */
size_t sqn_ring_put(struct sqn_ring *r, const uint8_t *buf, size_t len);
/* Take up to cap bytes; returns how many. */
size_t sqn_ring_get(struct sqn_ring *r, uint8_t *buf, size_t cap);

/*
 * The host end of an in-memory link. The peer (a fake modem, the emulator
 * model) injects bytes the host will read and drains what the host wrote.
 * `limit` (0 = none) caps every read and write, to exercise partial I/O.
 */
struct sqn_memport {
  /* public */
  size_t limit;
  /* read-only */
  struct sqn_ring rx;   /* peer -> host */
  struct sqn_ring tx;   /* host -> peer */
  bool is_open;
  uint32_t baud;
  unsigned opens, closes, baud_changes;
};

void sqn_memport_init(struct sqn_memport *p, uint8_t *rx_buf, size_t rx_cap,
                      uint8_t *tx_buf, size_t tx_cap);
size_t sqn_memport_inject(struct sqn_memport *p, const uint8_t *buf,
                          size_t len);
size_t sqn_memport_drain(struct sqn_memport *p, uint8_t *buf, size_t cap);
/* ops for struct sqn_transport with impl = struct sqn_memport * */
extern const struct sqn_transport_ops sqn_memport_ops;

#endif /* SQN_TEST_MEMPORT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-memory transport for the tests (memport.h): two rings over caller buffers, with a `limit` that
 * caps every read and write so tests see partial I/O. Portable C, no
 * allocation.
 */
#include <string.h>

#include "memport.h"

#include "sqnup/err.h"

void sqn_ring_init(struct sqn_ring *r, uint8_t *buf, size_t cap) {
  r->buf = buf;
  r->cap = cap;
  r->head = 0;
  r->len = 0;
}

size_t sqn_ring_put(struct sqn_ring *r, const uint8_t *buf, size_t len) {
  size_t n = r->cap - r->len, done = 0;
  if (len < n)
    n = len;
  while (done < n) {
    size_t tail = (r->head + r->len) % r->cap;
    size_t run = r->cap - tail;
    if (run > n - done)
      run = n - done;
    memcpy(r->buf + tail, buf + done, run);
    r->len += run;
    done += run;
  }
  return n;
}

size_t sqn_ring_get(struct sqn_ring *r, uint8_t *buf, size_t cap) {
  size_t n = r->len < cap ? r->len : cap, done = 0;
  while (done < n) {
    size_t run = r->cap - r->head;
    if (run > n - done)
      run = n - done;
    memcpy(buf + done, r->buf + r->head, run);
    r->head = (r->head + run) % r->cap;
    r->len -= run;
    done += run;
  }
  return n;
}

void sqn_memport_init(struct sqn_memport *p, uint8_t *rx_buf, size_t rx_cap,
                      uint8_t *tx_buf, size_t tx_cap) {
  memset(p, 0, sizeof *p);
  sqn_ring_init(&p->rx, rx_buf, rx_cap);
  sqn_ring_init(&p->tx, tx_buf, tx_cap);
}

size_t sqn_memport_inject(struct sqn_memport *p, const uint8_t *buf,
                          size_t len) {
  return sqn_ring_put(&p->rx, buf, len);
}

size_t sqn_memport_drain(struct sqn_memport *p, uint8_t *buf, size_t cap) {
  return sqn_ring_get(&p->tx, buf, cap);
}

static int sqn_memport_open(void *impl) {
  struct sqn_memport *p = impl;
  p->is_open = true;
  p->opens++;
  return 0;
}

static size_t sqn_memport_cap(const struct sqn_memport *p, size_t len) {
  return p->limit && len > p->limit ? p->limit : len;
}

static int sqn_memport_write(void *impl, const uint8_t *buf, size_t len) {
  struct sqn_memport *p = impl;
  if (!p->is_open)
    return SQN_E_PORT;
  len = sqn_memport_cap(p, len);
  if (len > 0x7fffffff)
    len = 0x7fffffff;
  return (int)sqn_ring_put(&p->tx, buf, len);
}

static int sqn_memport_read(void *impl, uint8_t *buf, size_t cap) {
  struct sqn_memport *p = impl;
  if (!p->is_open)
    return SQN_E_PORT;
  cap = sqn_memport_cap(p, cap);
  if (cap > 0x7fffffff)
    cap = 0x7fffffff;
  return (int)sqn_ring_get(&p->rx, buf, cap);
}

static int sqn_memport_close(void *impl) {
  struct sqn_memport *p = impl;
  if (!p->is_open)
    return SQN_E_STATE;
  p->is_open = false;
  p->closes++;
  return 0;
}

static int sqn_memport_set_baud(void *impl, uint32_t baud) {
  struct sqn_memport *p = impl;
  p->baud = baud;
  p->baud_changes++;
  return 0;
}

const struct sqn_transport_ops sqn_memport_ops = {
    sqn_memport_open, sqn_memport_write, sqn_memport_read, sqn_memport_close,
    sqn_memport_set_baud};

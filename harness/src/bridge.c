/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bridge (see bridge.h): the one drive loop of an in-process run.
 */
#include "bridge.h"

#include <stdlib.h>
#include <string.h>

#include "sqnup/stpm.h"
#include "sqnup/update.h"

/* --- hosts ------------------------------------------------------------------ */

static bool harness_upd_done(const void *h) { return sqn_update_done(h); }
static uint64_t harness_upd_deadline(const void *h) {
  return sqn_update_next_deadline(h);
}
static void harness_upd_feed(void *h, uint64_t now_ms, const uint8_t *b,
                             size_t n) {
  sqn_update_feed(h, now_ms, b, n);
}
static void harness_upd_tick(void *h, uint64_t now_ms) {
  sqn_update_tick(h, now_ms);
}

const struct harness_bridge_host harness_bridge_sqn_update = {
    harness_upd_done, harness_upd_deadline, harness_upd_feed,
    harness_upd_tick};

static bool harness_stpm_done(const void *h) { return sqn_stpm_done(h); }
static uint64_t harness_stpm_deadline(const void *h) {
  return sqn_stpm_next_deadline(h);
}
static void harness_stpm_feed(void *h, uint64_t now_ms, const uint8_t *b,
                              size_t n) {
  sqn_stpm_feed(h, now_ms, b, n);
}
static void harness_stpm_tick(void *h, uint64_t now_ms) {
  sqn_stpm_tick(h, now_ms);
}

const struct harness_bridge_host harness_bridge_sqn_stpm = {
    harness_stpm_done, harness_stpm_deadline, harness_stpm_feed,
    harness_stpm_tick};

const char *harness_bridge_end_name(enum harness_bridge_end e) {
  switch (e) {
#define XX(name, word)                                                        \
  case HARNESS_BRIDGE_##name:                                                 \
    return word;
    HARNESS_BRIDGE_END_MAP(XX)
#undef XX
  }
  return "?";
}

/* --- queues ------------------------------------------------------------------ */

static int harness_bq_push(struct harness_bridge_queue *q, const uint8_t *buf,
                           size_t n) {
  if (q->head > 0 && q->head == q->len)
    q->head = q->len = 0;
  if (q->len + n > q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 32768;
    while (cap < q->len + n)
      cap *= 2;
    uint8_t *d = realloc(q->data, cap);
    if (!d)
      return -1;
    q->data = d;
    q->cap = cap;
  }
  memcpy(q->data + q->len, buf, n);
  q->len += n;
  return 0;
}

static size_t harness_bq_avail(const struct harness_bridge_queue *q) {
  return q->len - q->head;
}

static void harness_bq_clear(struct harness_bridge_queue *q) {
  q->head = q->len = 0;
}

/* Move up to `max` bytes (0: all) of `q` into `out` (emptied first), so
 * that `q` can grow while `out` is being delivered. */
static int harness_bq_take(struct harness_bridge_queue *q,
                           struct harness_bridge_queue *out, size_t max) {
  size_t n = harness_bq_avail(q);
  harness_bq_clear(out);
  if (max && n > max) {
    if (harness_bq_push(out, q->data + q->head, max) != 0)
      return -1;
    q->head += max;
    return 0;
  }
  struct harness_bridge_queue t = *q;
  *q = *out;
  *out = t;
  return 0;
}

/* --- the bridge --------------------------------------------------------------- */

void harness_bridge_init(struct harness_bridge *b, struct sim_modem *m,
                         uint64_t now_us) {
  memset(b, 0, sizeof(*b));
  b->m = m;
  b->now_us = now_us;
}

void harness_bridge_free(struct harness_bridge *b) {
  free(b->h2m.data);
  free(b->m2h.data);
  free(b->spare.data);
  memset(&b->h2m, 0, sizeof(b->h2m));
  memset(&b->m2h, 0, sizeof(b->m2h));
  memset(&b->spare, 0, sizeof(b->spare));
}

int harness_bridge_to_modem(struct harness_bridge *b, const uint8_t *buf,
                            size_t len) {
  if (harness_bq_push(&b->h2m, buf, len) != 0) {
    b->oom = true;
    return -1;
  }
  return 0;
}

void harness_bridge_to_host(struct harness_bridge *b, const uint8_t *buf,
                            size_t len) {
  if (harness_bq_push(&b->m2h, buf, len) != 0)
    b->oom = true;
}

size_t harness_bridge_pending_to_modem(const struct harness_bridge *b) {
  return harness_bq_avail(&b->h2m);
}

size_t harness_bridge_pending_to_host(const struct harness_bridge *b) {
  return harness_bq_avail(&b->m2h);
}

const uint8_t *harness_bridge_peek_to_host(const struct harness_bridge *b) {
  return b->m2h.data + b->m2h.head;
}

void harness_bridge_consume_to_host(struct harness_bridge *b, size_t n) {
  size_t a = harness_bq_avail(&b->m2h);
  b->m2h.head += n < a ? n : a;
}

void harness_bridge_drop_to_host(struct harness_bridge *b) {
  harness_bq_clear(&b->m2h);
}

void harness_bridge_drop_all(struct harness_bridge *b) {
  harness_bq_clear(&b->m2h);
  harness_bq_clear(&b->h2m);
}

void harness_bridge_advance_to(struct harness_bridge *b, uint64_t t_us) {
  if (t_us > b->now_us)
    b->now_us = t_us;
}

static bool harness_bridge_stopped(struct harness_bridge *b) {
  return b->stopped && b->stopped(b->ctx);
}

/* Host bytes to the model, split at byte-step cut points. */
static void harness_bridge_feed_model(struct harness_bridge *b,
                                      const uint8_t *buf, size_t n) {
  while (n && !harness_bridge_stopped(b)) {
    size_t take = n;
    if (b->byte_step) {
      uint64_t to_next = b->byte_step - b->host_bytes % b->byte_step;
      if (to_next < take)
        take = (size_t)to_next;
    }
    sim_modem_feed(b->m, b->now_us, buf, take);
    b->host_bytes += take;
    buf += take;
    n -= take;
    if (b->byte_step && b->host_bytes % b->byte_step == 0 && b->on_byte_step)
      b->on_byte_step(b->ctx);
  }
}

/* Deliver both queues until both are empty (or the run is stopped). */
static void harness_bridge_drain(struct harness_bridge *b) {
  while (!harness_bridge_stopped(b) && !b->oom &&
         (harness_bq_avail(&b->h2m) || harness_bq_avail(&b->m2h))) {
    if (harness_bq_avail(&b->h2m)) {
      if (harness_bq_take(&b->h2m, &b->spare, 0) != 0) {
        b->oom = true;
        return;
      }
      harness_bridge_feed_model(b, b->spare.data + b->spare.head,
                                harness_bq_avail(&b->spare));
      harness_bq_clear(&b->spare);
    }
    if (harness_bridge_stopped(b) || !harness_bq_avail(&b->m2h))
      continue;
    if (harness_bq_take(&b->m2h, &b->spare, b->read_limit) != 0) {
      b->oom = true;
      return;
    }
    if (!b->host->done(b->h))
      b->host->feed(b->h, b->now_us / 1000u, b->spare.data + b->spare.head,
                    harness_bq_avail(&b->spare));
    harness_bq_clear(&b->spare);
  }
}

enum harness_bridge_end harness_bridge_run(struct harness_bridge *b,
                                           uint64_t bound_us) {
  uint64_t limit = b->now_us + bound_us;
  uint64_t max_steps = b->max_steps ? b->max_steps : HARNESS_BRIDGE_MAX_STEPS;
  enum harness_bridge_end end;
  b->host_bytes = 0;
  for (uint64_t steps = 0;; steps++) {
    harness_bridge_drain(b);
    if (b->oom)
      return HARNESS_BRIDGE_OOM;
    if (harness_bridge_stopped(b))
      return HARNESS_BRIDGE_STOPPED;
    if (b->host->done(b->h)) {
      end = HARNESS_BRIDGE_DONE;
      break;
    }
    uint64_t dh = b->host->deadline_ms(b->h);
    uint64_t th = dh == UINT64_MAX ? UINT64_MAX : dh * 1000u;
    uint64_t tm = sim_modem_next_deadline(b->m);
    uint64_t next = th < tm ? th : tm;
    if (next == UINT64_MAX || steps > max_steps) {
      end = HARNESS_BRIDGE_STUCK;
      break;
    }
    if (next > limit) {
      harness_bridge_advance_to(b, limit);
      end = HARNESS_BRIDGE_PAST_BOUND;
      break;
    }
    harness_bridge_advance_to(b, next);
    if (tm <= b->now_us)
      sim_modem_tick(b->m, b->now_us);
    if (!harness_bridge_stopped(b) && th <= b->now_us)
      b->host->tick(b->h, b->now_us / 1000u);
  }
  /* What is still in flight reaches the other side. */
  harness_bridge_drain(b);
  if (b->oom)
    return HARNESS_BRIDGE_OOM;
  return end;
}

static void harness_bridge_modem_alone(struct harness_bridge *b,
                                       uint64_t max_us, bool drop) {
  uint64_t limit = b->now_us + max_us;
  for (int i = 0; i < 100000 && !harness_bridge_stopped(b); i++) {
    if (drop)
      harness_bq_clear(&b->m2h);
    uint64_t dl = sim_modem_next_deadline(b->m);
    if (dl == SIM_NEVER || dl > limit)
      break;
    harness_bridge_advance_to(b, dl);
    sim_modem_tick(b->m, b->now_us);
  }
}

void harness_bridge_settle(struct harness_bridge *b, uint64_t max_us) {
  harness_bridge_modem_alone(b, max_us, true);
  harness_bridge_drop_all(b);
}

void harness_bridge_idle(struct harness_bridge *b, uint64_t max_us) {
  harness_bridge_modem_alone(b, max_us, false);
}

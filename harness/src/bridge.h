/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bridge: the one place that couples a host state machine (an
 * sqn_update instance, or a bare STP master) and the modem model
 * (sim_model) on a virtual clock. Scenarios (run.c), sweeps and campaigns
 * (link.c), the in-process unit tests and the benchmarks all drive their
 * runs through it.
 *
 *   host ── harness_bridge_to_modem ─► h2m ─► sim_modem_feed  (split at byte_step)
 *   host ◄─ feed (≤ read_limit) ────── m2h ◄─ harness_bridge_to_host
 *
 * Time is microseconds that only move when the bridge advances them: after
 * draining both queues it jumps to the earliest of the two deadlines (the
 * host's are milliseconds). Nothing sleeps; a ten-minute modem commit takes
 * no wall time. Queues are swapped with a spare buffer before they are
 * handed over, so a callback never re-enters the side that called it
 * (sqn_update forbids re-entry from its callbacks) and draining allocates
 * nothing in the steady state.
 *
 * The owner creates the model with its own callbacks and forwards the
 * model's tx to harness_bridge_to_host() and the host's write to
 * harness_bridge_to_modem(); its trace, persist and event callbacks stay
 * its own. Hooks: `stopped` (checked after every delivery and timer; a
 * power cut), `on_byte_step` (a cut point every byte_step host bytes).
 *
 * Sans-IO: no clock reads, no sleeping, no file or terminal.
 */
#ifndef HARNESS_BRIDGE_H
#define HARNESS_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/modem.h"

/* The host side: a state machine on a millisecond clock. */
struct harness_bridge_host {
  bool (*done)(const void *h);
  uint64_t (*deadline_ms)(const void *h); /* UINT64_MAX: none */
  void (*feed)(void *h, uint64_t now_ms, const uint8_t *buf, size_t len);
  void (*tick)(void *h, uint64_t now_ms);
};

/* Hosts for struct sqn_update and struct sqn_stpm. */
extern const struct harness_bridge_host harness_bridge_sqn_update;
extern const struct harness_bridge_host harness_bridge_sqn_stpm;

/* How harness_bridge_run() ended. XX(NAME, "word") */
#define HARNESS_BRIDGE_END_MAP(XX)                                            \
  XX(DONE, "done")             /* the host finished */                       \
  XX(STOPPED, "stopped")       /* the stopped hook said so (power cut) */    \
  XX(PAST_BOUND, "past-bound") /* next event past the bound; clock at it */  \
  XX(STUCK, "stuck")           /* no deadline on either side, or too many steps */ \
  XX(OOM, "out-of-memory")

enum harness_bridge_end {
#define XX(name, word) HARNESS_BRIDGE_##name,
  HARNESS_BRIDGE_END_MAP(XX)
#undef XX
};

const char *harness_bridge_end_name(enum harness_bridge_end e);

struct harness_bridge_queue {
  uint8_t *data;
  size_t head, len, cap;
};

/* Default step bound of one run: deliveries plus timer firings. */
#define HARNESS_BRIDGE_MAX_STEPS 200000000ull

struct harness_bridge {
  /* set by the owner (the model may be replaced between runs) */
  struct sim_modem *m;
  const struct harness_bridge_host *host;
  void *h;
  uint64_t now_us;
  size_t read_limit;   /* the host reads at most this many bytes (0: all) */
  uint32_t byte_step;  /* > 0: host bytes split at multiples of it */
  uint64_t max_steps;  /* 0: HARNESS_BRIDGE_MAX_STEPS */
  bool (*stopped)(void *ctx);
  void (*on_byte_step)(void *ctx);
  void *ctx;

  /* read-only */
  uint64_t host_bytes; /* host -> modem bytes fed (see harness_bridge_run) */
  bool oom;

  /* private */
  struct harness_bridge_queue h2m, m2h, spare;
};

void harness_bridge_init(struct harness_bridge *b, struct sim_modem *m,
                         uint64_t now_us);
void harness_bridge_free(struct harness_bridge *b);

/* Queue bytes the host wrote (0, or -1 when out of memory). */
int harness_bridge_to_modem(struct harness_bridge *b, const uint8_t *buf,
                            size_t len);
/* Queue bytes the modem sent. */
void harness_bridge_to_host(struct harness_bridge *b, const uint8_t *buf,
                            size_t len);
/* Bytes the host wrote and the modem has not read yet. */
size_t harness_bridge_pending_to_modem(const struct harness_bridge *b);
/* Bytes the modem sent and the host has not read yet. */
size_t harness_bridge_pending_to_host(const struct harness_bridge *b);
const uint8_t *harness_bridge_peek_to_host(const struct harness_bridge *b);
void harness_bridge_consume_to_host(struct harness_bridge *b, size_t n);
/* The host reopened the port (a baud change): bytes in flight are lost. */
void harness_bridge_drop_to_host(struct harness_bridge *b);
/* Both directions lost (a power cut, a boot). */
void harness_bridge_drop_all(struct harness_bridge *b);

/* Move the clock to `t_us`; never backwards. */
void harness_bridge_advance_to(struct harness_bridge *b, uint64_t t_us);

/*
 * Run host and modem until the host is done, the stopped hook fires, the
 * next event lies more than `bound_us` after now (the clock then stops at
 * the bound), nothing has a deadline, or the step bound passes. Counts
 * host bytes from 0. The host must have been started by the owner.
 */
enum harness_bridge_end harness_bridge_run(struct harness_bridge *b,
                                           uint64_t bound_us);

/* Let the modem alone finish what it was doing (boot, apply) for at most
 * `max_us`, its output dropped, the host silent; stops at the last timer
 * fired, not at the bound. */
void harness_bridge_settle(struct harness_bridge *b, uint64_t max_us);
/* The same with the modem's output kept for the host (peek/consume). */
void harness_bridge_idle(struct harness_bridge *b, uint64_t max_us);

#endif /* HARNESS_BRIDGE_H */

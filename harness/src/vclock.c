/*
 * Virtual clock. Monotonic by construction: advancing to the past is a
 * no-op, so two participants reporting stale deadlines cannot move time
 * backwards.
 */
#include "vclock.h"

void harness_vclock_init(struct harness_vclock *c, uint64_t start_us) {
  c->now_us = start_us;
}

void harness_vclock_advance_to(struct harness_vclock *c, uint64_t t_us) {
  if (t_us > c->now_us)
    c->now_us = t_us;
}

uint64_t harness_vclock_earliest(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

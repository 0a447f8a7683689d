/* SPDX-License-Identifier: Apache-2.0 */
#include "tick.h"

#include "cortex_m.h"

static volatile uint64_t tick_ms;

void tick_init(uint32_t cpu_hz) {
  CM_SYST_RVR = cpu_hz / 1000u - 1u;
  CM_SYST_CVR = 0;
  CM_SYST_CSR = 0x7u; /* core clock, interrupt, enable */
}

uint64_t tick_now_ms(void) {
  uint32_t s = cm_irq_save(); /* a 64-bit read is two loads */
  uint64_t now = tick_ms;
  cm_irq_restore(s);
  return now;
}

void SysTick_Handler(void) { tick_ms++; }

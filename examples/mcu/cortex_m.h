/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few Cortex-M core registers and instructions the example uses (what
 * CMSIS's core_cm3.h provides on a vendor SDK; use that there instead).
 */
#ifndef SQNUP_MCU_CORTEX_M_H
#define SQNUP_MCU_CORTEX_M_H

#include <stdint.h>

#define CM_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define CM_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define CM_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CM_NVIC_ISER ((volatile uint32_t *)0xE000E100u)

static inline uint32_t cm_irq_save(void) {
  uint32_t primask;
  __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}

static inline void cm_irq_restore(uint32_t primask) {
  __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

static inline void cm_nvic_enable(unsigned irq) {
  CM_NVIC_ISER[irq / 32] = 1u << (irq % 32);
}

/* Sleep until an interrupt, unless `*reg & mask` already cleared: checked
 * with interrupts masked, so a wake-up between the check and the WFI is
 * not lost (WFI wakes on a pending interrupt even while masked). */
static inline void cm_wait_for_interrupt_if(volatile uint32_t *reg,
                                            uint32_t mask) {
  uint32_t s = cm_irq_save();
  if (*reg & mask)
    __asm__ volatile("wfi" ::: "memory");
  cm_irq_restore(s);
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* A millisecond clock from SysTick (any Cortex-M). */
#ifndef SQNUP_MCU_TICK_H
#define SQNUP_MCU_TICK_H

#include <stdint.h>

/* SysTick interrupt every millisecond from the core clock. */
void tick_init(uint32_t cpu_hz);
/* Milliseconds since tick_init; 64 bits never wrap. */
uint64_t tick_now_ms(void);
/* The SysTick exception handler (in the vector table). */
void SysTick_Handler(void);

#endif

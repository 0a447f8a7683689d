/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SQNUP_MCU_STARTUP_H
#define SQNUP_MCU_STARTUP_H

#include <stdint.h>

/* Stack bytes reserved, ever used (painted at reset), and in use now. */
uint32_t stack_size(void);
uint32_t stack_high_water(void);
uint32_t stack_depth_now(void);

#endif

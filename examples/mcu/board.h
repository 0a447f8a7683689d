/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the example firmware needs from a board. Everything that is
 * specific to one board (addresses, IRQ numbers, clock, where the package
 * lives, where text goes) is behind this header; board_qemu.c implements it
 * for QEMU's mps2-an385 machine. A port to another board replaces that file
 * (and the memory map in the linker script) and keeps the rest.
 */
#ifndef SQNUP_MCU_BOARD_H
#define SQNUP_MCU_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "cmsdk_uart.h"

/* Core clock, for SysTick and the UART's baud divisor. */
extern const uint32_t board_cpu_hz;
/* The UART wired to the modem (its interrupts call cmsdk_uart_isr). */
extern struct cmsdk_uart board_modem_uart;

/* Enable the modem UART's interrupts in the NVIC. */
void board_init(void);

/* The firmware's command line ("sqnup-mcu PACKAGE --baud 921600 ...") into
 * buf, NUL-terminated. Returns 0, or -1 when there is none. A device
 * without one would take its settings from its configuration store. */
int board_cmdline(char *buf, size_t cap);

/* Storage holding the package (a device's flash partition or SD card).
 * open: a handle >= 0 and the size, or -1. read: exactly len bytes at
 * offset into buf; 0 or -1. */
int board_file_open(const char *name, uint32_t *size);
int board_file_read(int handle, uint32_t offset, uint8_t *buf, size_t len);

/* Progress and result text (a debug UART or a log). */
void board_console_write(const char *text);

/* End of the run: report `status` (0 = verified upgrade) and stop. */
void board_exit(int status) __attribute__((noreturn));

#endif

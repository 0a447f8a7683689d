/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver for the ARM CMSDK APB UART (Cortex-M System Design Kit; MPS2 and
 * MPS3 boards, many Cortex-M SoCs built from the kit).
 *
 * Receive is interrupt-driven into a ring buffer, so nothing is lost while
 * the main loop is busy (writing a frame, checking the package). Transmit
 * is polled: write() returns when the last byte is in the transmit
 * register, sleeping (WFI) on the TX interrupt meanwhile. 8N1, no flow
 * control (the CMSDK UART has none).
 */
#ifndef SQNUP_MCU_CMSDK_UART_H
#define SQNUP_MCU_CMSDK_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Receive ring size, a power of two. At 921600 baud one byte arrives every
 * 11 us; 512 bytes cover 5.5 ms of main loop absence, and the modem never
 * sends more than a few hundred bytes unasked. */
#define CMSDK_UART_RX_RING 512u

struct cmsdk_uart_regs {
  volatile uint32_t data;      /* 0x00 */
  volatile uint32_t state;     /* 0x04 bit0 TX full, bit1 RX full, bit2/3 overrun */
  volatile uint32_t ctrl;      /* 0x08 bit0 TX en, bit1 RX en, bit2 TX irq, bit3 RX irq, bit5 RX overrun irq */
  volatile uint32_t intstatus; /* 0x0C read: status; write 1: clear */
  volatile uint32_t bauddiv;   /* 0x10 PCLK / baud, >= 16 */
};

struct cmsdk_uart {
  struct cmsdk_uart_regs *regs;
  uint32_t pclk_hz;
  /* receive ring: the ISR writes head, the main loop writes tail */
  uint8_t rx[CMSDK_UART_RX_RING];
  volatile uint32_t head, tail;
  volatile uint32_t overruns; /* bytes lost: ring full or hardware overrun */
};

/* Enable TX and RX with interrupts at `baud`. 0, or -1 when the rate
 * cannot be reached (divisor below 16 or more than 3 % off). */
int cmsdk_uart_init(struct cmsdk_uart *u, uint32_t baud);
int cmsdk_uart_set_baud(struct cmsdk_uart *u, uint32_t baud);
/* Blocks until all bytes are handed to the hardware. */
void cmsdk_uart_write(struct cmsdk_uart *u, const uint8_t *buf, size_t len);
/* Up to cap received bytes; 0 when none are waiting. */
size_t cmsdk_uart_read(struct cmsdk_uart *u, uint8_t *buf, size_t cap);
bool cmsdk_uart_rx_empty(const struct cmsdk_uart *u);
/* Call from the UART's RX, TX and overrun interrupt handlers. */
void cmsdk_uart_isr(struct cmsdk_uart *u);

#endif

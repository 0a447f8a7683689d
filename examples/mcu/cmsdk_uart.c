/* SPDX-License-Identifier: Apache-2.0 */
#include "cmsdk_uart.h"

#include "cortex_m.h"

#define ST_TXFULL 0x1u
#define ST_RXFULL 0x2u
#define ST_TXOVR 0x4u
#define ST_RXOVR 0x8u
#define CTRL_TXEN 0x1u
#define CTRL_RXEN 0x2u
#define CTRL_TXIE 0x4u
#define CTRL_RXIE 0x8u
#define CTRL_RXOIE 0x20u
#define INT_TX 0x1u
#define INT_RX 0x2u
#define INT_RXOVR 0x8u

static int cmsdk_uart_div(const struct cmsdk_uart *u, uint32_t baud,
                          uint32_t *div) {
  if (!baud)
    return -1;
  uint32_t d = (u->pclk_hz + baud / 2) / baud;
  if (d < 16)
    return -1;
  uint32_t real = u->pclk_hz / d; /* within 3 % or the far end garbles */
  uint32_t diff = real > baud ? real - baud : baud - real;
  if (diff > baud / 33)
    return -1;
  *div = d;
  return 0;
}

int cmsdk_uart_init(struct cmsdk_uart *u, uint32_t baud) {
  uint32_t div;
  if (cmsdk_uart_div(u, baud, &div))
    return -1;
  u->head = u->tail = u->overruns = 0;
  u->regs->ctrl = 0;
  u->regs->bauddiv = div;
  u->regs->intstatus = INT_TX | INT_RX | INT_RXOVR;
  u->regs->ctrl = CTRL_TXEN | CTRL_RXEN | CTRL_TXIE | CTRL_RXIE | CTRL_RXOIE;
  return 0;
}

int cmsdk_uart_set_baud(struct cmsdk_uart *u, uint32_t baud) {
  uint32_t div;
  if (cmsdk_uart_div(u, baud, &div))
    return -1;
  /* Let the last byte leave at the old rate (AT+IPR's OK is followed by
   * the switch): wait for the holding register, then one character time,
   * as the CMSDK UART does not flag an empty shift register. */
  while (u->regs->state & ST_TXFULL)
    cm_wait_for_interrupt_if(&u->regs->state, ST_TXFULL);
  for (volatile uint32_t i = 0; i < u->regs->bauddiv * 10u; i++)
    ; /* >= 10 bits of PCLK cycles: the shift register is empty */
  u->regs->bauddiv = div;
  return 0;
}

void cmsdk_uart_write(struct cmsdk_uart *u, const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    /* Sleep until the TX interrupt says the holding register is free. */
    while (u->regs->state & ST_TXFULL)
      cm_wait_for_interrupt_if(&u->regs->state, ST_TXFULL);
    u->regs->data = buf[i];
  }
}

size_t cmsdk_uart_read(struct cmsdk_uart *u, uint8_t *buf, size_t cap) {
  size_t n = 0;
  uint32_t tail = u->tail;
  while (n < cap && tail != u->head) {
    buf[n++] = u->rx[tail % CMSDK_UART_RX_RING];
    tail++;
  }
  u->tail = tail; /* one aligned store: the ISR sees it whole */
  return n;
}

bool cmsdk_uart_rx_empty(const struct cmsdk_uart *u) {
  return u->tail == u->head;
}

void cmsdk_uart_isr(struct cmsdk_uart *u) {
  uint32_t st = u->regs->intstatus;
  u->regs->intstatus = st; /* clear what we handle, before reading data */
  while (u->regs->state & ST_RXFULL) {
    uint8_t b = (uint8_t)u->regs->data;
    if (u->head - u->tail < CMSDK_UART_RX_RING) {
      u->rx[u->head % CMSDK_UART_RX_RING] = b;
      u->head++;
    } else {
      u->overruns++;
    }
  }
  if (u->regs->state & (ST_RXOVR | ST_TXOVR)) {
    if (u->regs->state & ST_RXOVR)
      u->overruns++;
    u->regs->state = ST_RXOVR | ST_TXOVR; /* write 1 to clear */
  }
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libsqnup port for a bare-metal Cortex-M: the four callbacks of
 * struct sqn_update_config (write, set_baud, read_pkg; event is the
 * application's) on the CMSDK UART driver and the board's storage, and the
 * main loop that feeds received bytes and SysTick time into the updater,
 * sleeping (WFI) when there is nothing to do.
 *
 * RAM: struct sqn_update (sizeof, about 3.5 KiB), the STP frame buffer
 * (tx_buf: SQNUP_PORT_TX_BUF, 8 KiB blocks + header), the response buffer
 * (rx_buf) and the UART's receive ring. No heap.
 */
#ifndef SQNUP_MCU_PORT_H
#define SQNUP_MCU_PORT_H

#include <stdint.h>

#include "cmsdk_uart.h"
#include "sqnup/update.h"

#ifndef SQNUP_PORT_TX_BUF
#define SQNUP_PORT_TX_BUF (SQN_UPDATE_TX_GOOD + 16u)
#endif
#define SQNUP_PORT_RX_BUF 256u

struct sqnup_port {
  struct cmsdk_uart *uart;
  int pkg, pkg2, updater; /* storage handles, -1: none */
  uint8_t tx[SQNUP_PORT_TX_BUF];
  uint8_t rx[SQNUP_PORT_RX_BUF];
};

/* Fill the port's part of `cfg` (buffers, callbacks, user). The caller
 * sets sizes, options and the event callback. */
void sqnup_port_config(struct sqnup_port *p, struct sqn_update_config *cfg);
/* Start the run and drive it to its end; returns its result (0 or
 * SQN_E_*). */
int sqnup_port_run(struct sqnup_port *p, struct sqn_update *u);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#include "sqnup_port.h"

#include "board.h"
#include "cortex_m.h"
#include "tick.h"

static int port_write(void *user, const uint8_t *buf, size_t len) {
  struct sqnup_port *p = user;
  /* Blocks for at most one frame's line time (8 KiB at 921600: 90 ms);
   * replies keep arriving into the ring meanwhile. */
  cmsdk_uart_write(p->uart, buf, len);
  return (int)len;
}

static int port_set_baud(void *user, uint32_t baud) {
  struct sqnup_port *p = user;
  return cmsdk_uart_set_baud(p->uart, baud) == 0 ? 0 : SQN_E_PORT;
}

static int port_read_pkg(void *user, enum sqn_update_src src, uint64_t off,
                         uint8_t *buf, size_t len) {
  struct sqnup_port *p = user;
  int h = src == SQN_UPDATE_SRC_PACKAGE    ? p->pkg
          : src == SQN_UPDATE_SRC_PACKAGE2 ? p->pkg2
                                           : p->updater;
  if (h < 0 || off > UINT32_MAX)
    return -1;
  return board_file_read(h, (uint32_t)off, buf, len) == 0 ? (int)len : -1;
}

void sqnup_port_config(struct sqnup_port *p, struct sqn_update_config *cfg) {
  cfg->tx_buf = p->tx;
  cfg->tx_cap = sizeof p->tx;
  cfg->rx_buf = p->rx;
  cfg->rx_cap = sizeof p->rx;
  cfg->write = port_write;
  cfg->set_baud = port_set_baud;
  cfg->read_pkg = port_read_pkg;
  cfg->user = p;
}

int sqnup_port_run(struct sqnup_port *p, struct sqn_update *u) {
  uint8_t buf[64];
  int rc = sqn_update_start(u, tick_now_ms());
  if (rc)
    return rc;
  while (!sqn_update_done(u)) {
    size_t n = cmsdk_uart_read(p->uart, buf, sizeof buf);
    if (n) {
      sqn_update_feed(u, tick_now_ms(), buf, n);
      continue;
    }
    uint64_t now = tick_now_ms();
    if (now >= sqn_update_next_deadline(u)) {
      sqn_update_tick(u, now);
      continue;
    }
    /* Nothing to do: sleep until the next interrupt (a received byte or
     * the next millisecond), unless a byte came in since the check. */
    uint32_t s = cm_irq_save();
    if (cmsdk_uart_rx_empty(p->uart))
      __asm__ volatile("wfi" ::: "memory");
    cm_irq_restore(s);
  }
  return sqn_update_result(u);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The board: QEMU's mps2-an385 (ARM MPS2 FPGA board, AN385 image,
 * Cortex-M3 at 25 MHz). Everything QEMU-specific in the example is here.
 *
 *   modem UART  CMSDK UART0 at 0x40004000, RX IRQ 0, TX IRQ 1, overrun
 *               IRQ 12. QEMU passes the divisor's rate on to a host serial
 *               chardev (-chardev serial,path=PTY -serial chardev:m), so
 *               the modem emulator sees the rate the firmware set.
 *   storage     ARM semihosting file calls (SYS_OPEN/SEEK/READ) on the
 *               host's files: the package path is the firmware's argument.
 *               On a device this is a flash partition or an SD card file.
 *   console     semihosting SYS_WRITE0 (QEMU prints it on stderr). On a
 *               device: a second UART or the RTT/ITM channel.
 *   arguments   semihosting SYS_GET_CMDLINE
 *               (-semihosting-config enable=on,target=native,arg=...).
 *   exit        semihosting SYS_EXIT_EXTENDED: QEMU exits with the status.
 */
#include "board.h"

#include <string.h>

#include "cortex_m.h"

const uint32_t board_cpu_hz = 25000000u;

struct cmsdk_uart board_modem_uart; /* set in board_init: stays in .bss */

static void board_uart0_irq(void) { cmsdk_uart_isr(&board_modem_uart); }

static void board_unused_irq(void) {
  board_console_write("sqnup-mcu: unexpected interrupt; stopping\n");
  board_exit(11);
}

/* Device interrupts 0..12, right after the 16 core vectors. */
__attribute__((section(".isr_vector.irq"), used))
void (*const board_irq_vectors[13])(void) = {
    board_uart0_irq,  /* 0: UART0 RX */
    board_uart0_irq,  /* 1: UART0 TX */
    board_unused_irq, board_unused_irq, board_unused_irq, board_unused_irq,
    board_unused_irq, board_unused_irq, board_unused_irq, board_unused_irq,
    board_unused_irq, board_unused_irq,
    board_uart0_irq,  /* 12: UART 0-2 overrun (combined) */
};

void board_init(void) {
  board_modem_uart.regs = (struct cmsdk_uart_regs *)0x40004000u;
  board_modem_uart.pclk_hz = 25000000u;
  cm_nvic_enable(0);
  cm_nvic_enable(1);
  cm_nvic_enable(12);
}

/* ---- semihosting ---- */

enum {
  SEMI_OPEN = 0x01,
  SEMI_WRITE0 = 0x04,
  SEMI_READ = 0x06,
  SEMI_SEEK = 0x0A,
  SEMI_FLEN = 0x0C,
  SEMI_GET_CMDLINE = 0x15,
  SEMI_EXIT = 0x18,
  SEMI_EXIT_EXTENDED = 0x20,
  SEMI_APP_EXIT = 0x20026 /* ADP_Stopped_ApplicationExit */
};

static int semi_call(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

int board_cmdline(char *buf, size_t cap) {
  struct {
    char *buf;
    size_t len;
  } a = {buf, cap - 1};
  if (semi_call(SEMI_GET_CMDLINE, &a) != 0)
    return -1;
  buf[a.len < cap ? a.len : cap - 1] = 0;
  return 0;
}

static uint32_t board_file_pos[4]; /* skip the seek for sequential reads */

int board_file_open(const char *name, uint32_t *size) {
  struct {
    const char *name;
    int mode;
    size_t len;
  } a = {name, 1 /* "rb" */, strlen(name)};
  int h = semi_call(SEMI_OPEN, &a);
  if (h < 0)
    return -1;
  int len = semi_call(SEMI_FLEN, &h);
  if (len < 0)
    return -1;
  *size = (uint32_t)len;
  if ((unsigned)h < sizeof board_file_pos / sizeof board_file_pos[0])
    board_file_pos[h] = 0;
  return h;
}

int board_file_read(int h, uint32_t offset, uint8_t *buf, size_t len) {
  int known = (unsigned)h < sizeof board_file_pos / sizeof board_file_pos[0];
  if (!known || board_file_pos[h] != offset) {
    struct {
      int h;
      uint32_t pos;
    } s = {h, offset};
    if (semi_call(SEMI_SEEK, &s) != 0)
      return -1;
  }
  struct {
    int h;
    uint8_t *buf;
    size_t len;
  } r = {h, buf, len};
  int left = semi_call(SEMI_READ, &r); /* bytes NOT read */
  if (left != 0) {
    if (known)
      board_file_pos[h] = ~0u;
    return -1;
  }
  if (known)
    board_file_pos[h] = offset + (uint32_t)len;
  return 0;
}

void board_console_write(const char *text) { semi_call(SEMI_WRITE0, text); }

void board_exit(int status) {
  struct {
    int reason;
    int code;
  } a = {SEMI_APP_EXIT, status};
  semi_call(SEMI_EXIT_EXTENDED, &a);
  /* A debugger without the extended call: plain exit (status 0 or 1). */
  semi_call(SEMI_EXIT, (const void *)(uintptr_t)(status ? 0x20023 : SEMI_APP_EXIT));
  for (;;)
    __asm__ volatile("wfi");
}

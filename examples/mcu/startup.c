/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cortex-M3 startup: the core part of the vector table, the reset handler
 * (copy .data, clear .bss, paint the stack, run main) and the fault
 * handlers. The device interrupts follow in section .isr_vector.irq
 * (board_qemu.c). Symbols come from the linker script.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "startup.h"
#include "tick.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;
extern uint32_t _sstack, _estack;

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

#define STACK_PAINT 0x5AC4u /* pattern: "never written" */
#define STACK_PAINT_WORD (STACK_PAINT * 0x10001u)

__attribute__((section(".isr_vector"), used))
void (*const core_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, /* initial stack pointer */
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    SysTick_Handler,
};

void Reset_Handler(void) {
  uint32_t *sp;
  memcpy(&_sdata, &_sidata, (size_t)((char *)&_edata - (char *)&_sdata));
  memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
  /* Paint the stack below this frame (minus a margin) so that
   * stack_high_water() can find the deepest word ever written. */
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t *p = &_sstack; p < sp - 16; p++)
    *p = STACK_PAINT_WORD;
  board_exit(main());
}

uint32_t stack_size(void) {
  return (uint32_t)((char *)&_estack - (char *)&_sstack);
}

uint32_t stack_high_water(void) {
  const uint32_t *p = &_sstack;
  while (p < &_estack && *p == STACK_PAINT_WORD)
    p++;
  return (uint32_t)((const char *)&_estack - (const char *)p);
}

uint32_t stack_depth_now(void) {
  char *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return (uint32_t)((char *)&_estack - sp);
}

void Fault_Handler(void) {
  board_console_write("sqnup-mcu: unexpected exception (fault); stopping\n");
  board_exit(11); /* the internal-error class of sqn-update */
}

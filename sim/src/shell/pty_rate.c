/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tty's exact line rate (see pty_rate.h).
 *
 * This file is on its own because the kernel's <asm/termbits.h> (struct
 * termios2, TCGETS2, BOTHER) and glibc's <termios.h> define the same names
 * differently and cannot be included together. On Linux nothing here
 * includes <termios.h>: the legacy fallback decodes the kernel's own speed
 * codes from TCGETS.
 */
#include "pty_rate.h"

#include <errno.h>
#include <stddef.h>

#if defined(__linux__)
#include <asm/termbits.h>
#include <sys/ioctl.h>
#define SIM_RATE_TERMIOS2 1
#else
#include <termios.h>
#define SIM_RATE_TERMIOS2 0
#endif

/* The legacy speed codes this system defines and their rates. */
static const struct {
  uint32_t code;
  uint32_t baud;
} sim_rate_codes[] = {
    {B50, 50},           {B75, 75},           {B110, 110},
    {B134, 134},         {B150, 150},         {B200, 200},
    {B300, 300},         {B600, 600},         {B1200, 1200},
    {B1800, 1800},       {B2400, 2400},       {B4800, 4800},
    {B9600, 9600},       {B19200, 19200},     {B38400, 38400},
#ifdef B57600
    {B57600, 57600},
#endif
#ifdef B115200
    {B115200, 115200},
#endif
#ifdef B230400
    {B230400, 230400},
#endif
#ifdef B460800
    {B460800, 460800},
#endif
#ifdef B500000
    {B500000, 500000},   {B576000, 576000},
#endif
#ifdef B921600
    {B921600, 921600},
#endif
#ifdef B1000000
    {B1000000, 1000000}, {B1152000, 1152000}, {B1500000, 1500000},
    {B2000000, 2000000}, {B2500000, 2500000}, {B3000000, 3000000},
    {B3500000, 3500000}, {B4000000, 4000000},
#endif
};

/* A speed code's rate; 0 for B0 and codes not in the table. Where the codes
 * are the rates themselves (BSD, macOS), the code is the answer. */
static uint32_t sim_rate_decode(uint32_t code) {
#if !SIM_RATE_TERMIOS2 && B9600 == 9600
  return code;
#else
  for (size_t i = 0; i < sizeof sim_rate_codes / sizeof sim_rate_codes[0]; i++)
    if (sim_rate_codes[i].code == code)
      return sim_rate_codes[i].baud;
  return 0;
#endif
}

#if SIM_RATE_TERMIOS2

const char *sim_pty_rate_method(void) { return "TCGETS2"; }

enum sim_rate_how sim_pty_host_rate(int fd, uint32_t *in, uint32_t *out) {
  struct termios2 t2;
  struct termios t;
  *in = *out = 0;
  if (ioctl(fd, TCGETS2, &t2) == 0) {
    /* The kernel fills both fields on every set, legacy codes included,
     * and c_ispeed is already "same as output" resolved. */
    *out = t2.c_ospeed;
    *in = t2.c_ispeed ? t2.c_ispeed : t2.c_ospeed;
    return SIM_RATE_EXACT;
  }
  /* A kernel without TCGETS2: the speed codes. */
  if (ioctl(fd, TCGETS, &t) != 0)
    return SIM_RATE_UNREAD;
  uint32_t ocode = t.c_cflag & CBAUD;
  uint32_t icode = (t.c_cflag >> IBSHIFT) & CBAUD;
  *out = ocode == BOTHER ? 0 : sim_rate_decode(ocode);
  *in = icode == 0 ? *out : icode == BOTHER ? 0 : sim_rate_decode(icode);
  return SIM_RATE_TABLE;
}

/* A rate's legacy code, or BOTHER. */
static uint32_t sim_rate_encode2(uint32_t baud) {
  for (size_t i = 0; i < sizeof sim_rate_codes / sizeof sim_rate_codes[0]; i++)
    if (sim_rate_codes[i].baud == baud)
      return sim_rate_codes[i].code;
  return BOTHER;
}

int sim_tty_set_rate(int fd, uint32_t in, uint32_t out) {
  struct termios2 t2;
  if (in == 0 || out == 0) {
    errno = EINVAL;
    return -1;
  }
  if (ioctl(fd, TCGETS2, &t2) != 0)
    return -1;
  /* A standard rate as its code, any other as BOTHER; the input rate as
   * "same as output" (0) when equal. So a later legacy cfsetspeed() by
   * whoever uses the port (glibc leaves the input bits alone) still moves
   * both directions, as on a port never set through TCSETS2. */
  uint32_t ocode = sim_rate_encode2(out), icode = sim_rate_encode2(in);
  t2.c_cflag &= ~(tcflag_t)(CBAUD | (CBAUD << IBSHIFT));
  t2.c_cflag |= ocode;
  if (in != out)
    t2.c_cflag |= (tcflag_t)icode << IBSHIFT;
  t2.c_ispeed = in;
  t2.c_ospeed = out;
  return ioctl(fd, TCSETS2, &t2);
}

#else /* !SIM_RATE_TERMIOS2 */

const char *sim_pty_rate_method(void) { return "termios speed codes"; }

enum sim_rate_how sim_pty_host_rate(int fd, uint32_t *in, uint32_t *out) {
  struct termios t;
  *in = *out = 0;
  if (tcgetattr(fd, &t) != 0)
    return SIM_RATE_UNREAD;
  *out = sim_rate_decode((uint32_t)cfgetospeed(&t));
  uint32_t icode = (uint32_t)cfgetispeed(&t);
  *in = icode == 0 ? *out : sim_rate_decode(icode);
  return SIM_RATE_TABLE;
}

static int sim_rate_encode(uint32_t baud, speed_t *code) {
#if B9600 == 9600
  *code = (speed_t)baud;
  return 0;
#else
  for (size_t i = 0; i < sizeof sim_rate_codes / sizeof sim_rate_codes[0]; i++)
    if (sim_rate_codes[i].baud == baud) {
      *code = (speed_t)sim_rate_codes[i].code;
      return 0;
    }
  return -1;
#endif
}

int sim_tty_set_rate(int fd, uint32_t in, uint32_t out) {
  struct termios t;
  speed_t ic, oc;
  if (in == 0 || out == 0 || sim_rate_encode(in, &ic) != 0 ||
      sim_rate_encode(out, &oc) != 0) {
    errno = EINVAL;
    return -1;
  }
  if (tcgetattr(fd, &t) != 0)
    return -1;
  if (cfsetispeed(&t, ic) != 0 || cfsetospeed(&t, oc) != 0)
    return -1;
  return tcsetattr(fd, TCSANOW, &t);
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tty's line rate, exactly: read what a serial port (or a pty's other end)
 * is set to, and set a port to any rate, standard or not.
 *
 * Standalone (libc only, no sqn-sim types) so every tool that sits on a line
 * can use it: sqn-sim's pty, the in-process harness's pty, sqn-chat's port,
 * the tests and benchmarks. Built as the static library `sim_pty_rate`.
 *
 * Linux: TCGETS2 / TCSETS2 (struct termios2 from <asm/termbits.h>) carry the
 * rate as a number in c_ispeed / c_ospeed, so 3686400 or any BOTHER rate is
 * seen as it is. On a pty master, the tty ioctls act on the slave: reading
 * the master gives what the host set on its end. Elsewhere: the legacy
 * termios speed codes (cfgetispeed/cfgetospeed; on the BSDs and macOS the
 * codes are the rates themselves).
 */
#ifndef SIM_PTY_RATE_H
#define SIM_PTY_RATE_H

#include <stdint.h>

/* How a rate was read. */
enum sim_rate_how {
  SIM_RATE_UNREAD = 0, /* could not read the termios at all */
  SIM_RATE_EXACT = 1,  /* TCGETS2: the exact numbers */
  SIM_RATE_TABLE = 2,  /* legacy speed codes: exact for the codes known */
};

/*
 * The input and output rate (baud) `fd`'s termios says its line runs at; on a
 * pty master, the slave's. A direction whose rate cannot be read (a code the
 * table does not know, B0) reads as 0. Returns how it was read; on
 * SIM_RATE_UNREAD both are 0 and errno says why.
 */
enum sim_rate_how sim_pty_host_rate(int fd, uint32_t *in, uint32_t *out);

/*
 * Set `fd`'s input and output rate to exactly `in` and `out` baud (TCSETS2
 * with BOTHER on Linux; a legacy code elsewhere, which must exist), leaving
 * every other termios setting as it is. 0, or -1 with errno (EINVAL: a rate
 * this system cannot set).
 */
int sim_tty_set_rate(int fd, uint32_t in, uint32_t out);

/* The method sim_pty_host_rate uses on this build, for messages:
 * "TCGETS2" or "termios speed codes". */
const char *sim_pty_rate_method(void);

#endif /* SIM_PTY_RATE_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The library's own versions of the few formatting and parsing functions it
 * needs from <stdio.h> and <stdlib.h> (codec/libc.c).
 *
 * libsqnup runs on microcontrollers, where the C library's snprintf pulls
 * in locale, floating point, reentrancy structures and malloc (20 KiB and
 * more with newlib), and strtol writes errno through them. These cover what
 * the library's own format strings use (%s %d %u %x %c, l/ll/z, width,
 * '0' and '-', precision for %s) and base-10/16 parsing; the build's link
 * check (examples/mcu) fails if libc's versions come back.
 *
 * Library sources include this header LAST, instead of <stdio.h> and
 * <stdlib.h>; the macros keep the code reading as ordinary C.
 */
#ifndef SQN_LIBC_H
#define SQN_LIBC_H

#include <stdarg.h>
#include <stddef.h>

int sqn_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sqn_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
long sqn_strtol(const char *s, char **end, int base);
unsigned long sqn_strtoul(const char *s, char **end, int base);

#define snprintf sqn_snprintf
#define vsnprintf sqn_vsnprintf
#define strtol sqn_strtol
#define strtoul sqn_strtoul

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Not part of the firmware: the link check's own test (tests/mcu.cmake)
 * adds this object to libsqnup's and expects the check to name malloc. */
#include <stdlib.h>

void *sqn_linkcheck_probe(void);
void *sqn_linkcheck_probe(void) { return malloc(16); }

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-scenario import / diff: recorded sessions (sim/tracefile.h) turned
 * into scenarios, and compared (import.c).
 */
#ifndef HARNESS_IMPORT_H
#define HARNESS_IMPORT_H

/* `sqn-scenario import TRACE -o OUT.yaml`; argv[1] is "import". */
int harness_main_import(int argc, char **argv, const char *fixtures);
/* `sqn-scenario diff A B`; argv[1] is "diff". */
int harness_main_diff(int argc, char **argv);

#endif /* HARNESS_IMPORT_H */

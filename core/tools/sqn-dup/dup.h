/* SPDX-License-Identifier: Apache-2.0 */
/* sqn-dup internals shared by its source files. */
#ifndef SQN_DUP_H
#define SQN_DUP_H

/* Exit codes. */
#define SQN_DUP_EXIT_OK 0
#define SQN_DUP_EXIT_INVALID 1 /* the package is invalid */
#define SQN_DUP_EXIT_USAGE 2   /* bad command line */
#define SQN_DUP_EXIT_IO 3      /* missing file, unwritable output, ... */

/* `sqn-dup info [--json] FILE`; argv[0] is "info". */
int sqn_dup_info_main(int argc, char **argv);

#endif /* SQN_DUP_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every sqnup command-line tool shares (library sqn_tool, not part of
 * libsqnup): --version, and where the installed data lives.
 */
#ifndef SQN_TOOL_H
#define SQN_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* "PROG 0.1.0 (git v0.1.0-3-gabcdef0)" or "PROG 0.1.0" outside git. */
void sqn_tool_print_version(FILE *f, const char *prog);

/* The project version, and `git describe` of the build ("" outside git). */
const char *sqn_tool_version(void);
const char *sqn_tool_git_describe(void);

/* Is argv[1] "--version"? Every tool checks this first, before its own
 * option parsing (sqn-dup build has a --version VALUE option of its own). */
bool sqn_tool_wants_version(int argc, char **argv);

/*
 * The data directory (named states, scenarios, host scripts, packages):
 * $SQNUP_DATADIR; else DIR/share/sqnup for DIR the executable's directory
 * and up to three of its parents (installed <prefix>/bin ->
 * <prefix>/share/sqnup; the build tree has <build>/share/sqnup); else the
 * directory configured at build time (<datadir>/sqnup). Writes it to out and
 * returns out. The first existing candidate wins; when none exists, the
 * configured one is returned (and loading from it names it in the error).
 */
const char *sqn_tool_datadir(char *out, size_t cap);

#endif

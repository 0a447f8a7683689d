/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-sim's file-system store in its own file beside the state file, so a
 * 4 MiB store-path upgrade costs no memory and the state file stays small.
 *
 *   STATE.store.new   the copy being received (volatile: a power cut or a
 *                     restart discards it)
 *   STATE.store-N     a committed store; the state names the one in force
 *
 * Commit: fsync STATE.store.new, rename it to STATE.store-N (N one more than
 * the name in force), fsync the directory; the model's flash commit then
 * saves the state naming it. The file it replaces is removed only after
 * that save (sim_store_files_saved), so a kill -9 at any instant leaves the
 * state naming a complete file. sqn-sim saves once per model step, so a
 * store committed and then replaced or cleared within one step is never
 * named by a saved state: it is removed at the next commit or save.
 */
#ifndef SIM_SHELL_STORE_H
#define SIM_SHELL_STORE_H

#include <stddef.h>

#include "sim/modem.h"
#include "sim/state.h"

struct sim_store_files {
  struct sim_store_io io; /* hand &io to sim_modem_config.store_io */
  char *dir;              /* directory of the state file */
  char *base;             /* the state file's name */
  int fd;                 /* STATE.store.new while receiving, else -1 */
  unsigned long gen;      /* N of the newest name used */
  char saved[128];        /* the store file the saved state names */
  char pending[128];      /* committed since the last save, "" none */
};

/*
 * Set up for `state_path` and take over `st` as loaded: an inline (base64)
 * store moves to a file, a stale STATE.store.new is removed, and a named
 * store file must exist with the stated length. 0, or -1 with `err`.
 */
int sim_store_files_init(struct sim_store_files *f, const char *state_path,
                         struct sim_state *st, char *err, size_t errcap);
/* The state `st` was just saved: remove store files it no longer names. */
void sim_store_files_saved(struct sim_store_files *f,
                           const struct sim_state *st);
void sim_store_files_free(struct sim_store_files *f);

#endif /* SIM_SHELL_STORE_H */

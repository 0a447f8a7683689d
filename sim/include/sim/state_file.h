/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state file of sqn-sim (sqn-state(5)): struct sim_state as JSON, saved
 * and loaded atomically, and owned by one emulator at a time. In the
 * sim_files library (sim/src/files/state_file.c, jansson); the model
 * itself (sim_model) knows only sim/state.h.
 */
#ifndef SIM_STATE_FILE_H
#define SIM_STATE_FILE_H

#include <stddef.h>

#include "sim/state.h"

#ifdef __cplusplus
extern "C" {
#endif

/* JSON text (malloc'd, caller frees) and back. Errors name the field. */
char *sim_state_to_json(const struct sim_state *st);
int sim_state_from_json(struct sim_state *st, const char *text, char *err,
                        size_t errcap);
/* Files. save: atomic (temp file in the target's folder, fsync, rename,
 * fsync of the folder); a symlinked `path` is followed, so its target is
 * updated and the link stays. load: -1 with `err` on a bad file; a missing
 * file is reported with errno ENOENT left set. Only regular files of at
 * most SIM_STATE_FILE_MAX bytes are read (a FIFO or a device is refused,
 * never waited on). */
#define SIM_STATE_FILE_MAX (8u * 1024u * 1024u)
/* Temp files are "<target>.tmp.XXXXXX". */
#define SIM_STATE_TMP_INFIX ".tmp."
int sim_state_save(const char *path, const struct sim_state *st, char *err,
                   size_t errcap);
int sim_state_load(const char *path, struct sim_state *st, char *err,
                   size_t errcap);
/* Load through an open fd (read with pread from offset 0); `path` names
 * it in messages. */
int sim_state_load_fd(int fd, const char *path, struct sim_state *st,
                      char *err, size_t errcap);

/*
 * Ownership, for an emulator that keeps the state file for its whole life.
 *
 * sim_state_lock: take a POSIX write lock on the state file (following a
 * symlink); *lock_fd holds it. A file held by another process: -1, errno
 * EBUSY, *holder its pid and `err` naming it. Missing file: -1, ENOENT.
 * POSIX locks are per process and per file: the process must not open and
 * close the state file otherwise while it holds the lock (read it with
 * sim_state_load_fd on *lock_fd).
 *
 * sim_state_save_locked: sim_state_save that locks the new file before it
 * replaces the old one and swaps it into *lock_fd (closing the previous
 * fd), so the state file is never unlocked. With lock_fd NULL it is
 * sim_state_save.
 *
 * sim_state_clean_temps: remove the temp files of earlier saves of this
 * state file (a killed emulator leaves them); call it only while holding
 * the lock. Returns how many were removed, or -1.
 *
 * sim_state_resolve: the file a (symlinked) state path stands for.
 */
int sim_state_lock(const char *path, int *lock_fd, long *holder, char *err,
                   size_t errcap);
int sim_state_save_locked(const char *path, const struct sim_state *st,
                          int *lock_fd, char *err, size_t errcap);
int sim_state_clean_temps(const char *path, char *err, size_t errcap);
int sim_state_resolve(const char *path, char *out, size_t cap, char *err,
                      size_t errcap);

#ifdef __cplusplus
}
#endif
#endif /* SIM_STATE_FILE_H */

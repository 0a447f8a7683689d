/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pty integration test helpers: spawn sqn-sim on a temp state file, read
 * its "pty:" line with a bounded wait, run sqn-chat, stop and inspect.
 * Every wait here is bounded; nothing sleeps waiting for an event.
 */
#ifndef SQN_PTY_UTIL_H
#define SQN_PTY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pty_sim {
  pid_t pid;
  char pty[256];
  char state[512];
  char dir[256];
};

/* Monotonic seconds, for bounded waits. */
double pty_now(void);
/* Exit 77 when openpty() is unavailable. */
void pty_require_openpty(void);
/* Call first in main (after pty_require_openpty): makes the binary's temp
 * root (TMPDIR or /tmp)/sqn-pty-XXXXXX, removed with everything in it when
 * main exits, and any sqn-sim a failed test left running killed. */
void pty_session_begin(void);
/* A fresh temp dir (per call) inside the root (or, without a session,
 * under TMPDIR, left behind); path in `dir`. */
void pty_tmpdir(char *dir, size_t cap);
/* Copy a fixture state (relative to fixtures/states, or an absolute path,
 * or NULL for none) into dir/state.json and start sqn-sim with extra args
 * (NULL-terminated). */
void pty_sim_start(struct pty_sim *s, const char *fixture_state,
                   const char *const *extra);
/* Start sqn-sim again on the same dir/state.json (after a stop or a
 * kill -9), with extra args. */
void pty_sim_restart(struct pty_sim *s, const char *const *extra);
/* SIGTERM and wait (bounded); returns the exit status. */
int pty_sim_stop(struct pty_sim *s);
/* SIGKILL (a power cut) and reap; the state file stays as it was. */
void pty_sim_kill9(struct pty_sim *s);
/* Run a program with args (NULL-terminated), stdout+stderr into `out`
 * (NUL-terminated, truncated to cap), bounded by `timeout_s`. Returns the
 * exit status, or -1 if it was killed at the bound. */
int pty_run(const char *const *argv, char *out, size_t cap, double timeout_s);
/* sqn-chat SCRIPT (fixtures/hosts/SCRIPT.chat) against the sim with vars. */
int pty_chat(const struct pty_sim *s, const char *script,
             const char *const *vars, char *out, size_t cap);
/* `sqn-sim --state F --show --json`, parsed; value of a dotted key
 * ("fff.version", "upgrade_status") as text into `val`. 0 or -1. */
int pty_show_get(const char *state, const char *key, char *val, size_t cap);
/* Open the pty slave raw at `baud` (any rate: TCSETS2 with BOTHER),
 * non-blocking. */
int pty_open_port(const char *path, unsigned baud);
/* Set an open port's input and output rate, exactly (split if they differ). */
void pty_set_rate(int fd, unsigned in, unsigned out);
/* Wait (bounded by timeout_s) until the text file `path` contains
 * `needle`; true if it did. For trace files, which sqn-sim flushes per
 * event. */
bool pty_file_wait(const char *path, const char *needle, double timeout_s);
/* Write all, then read for `ms` into buf; returns bytes read. */
size_t pty_xchg(int fd, const char *cmd, char *buf, size_t cap, int ms);

#endif

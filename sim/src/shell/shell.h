/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-sim shell internals: the pty, the libuv serving loop and the trace
 * file. Everything here is process plumbing around the sans-IO model in
 * sim_model; none of it is used by the harness or the unit tests.
 */
#ifndef SIM_SHELL_H
#define SIM_SHELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sim/modem.h"

/* Exit codes, documented in --help. */
#define SIM_EXIT_OK 0
#define SIM_EXIT_RUNTIME 1 /* pty, I/O or event loop failure */
#define SIM_EXIT_USAGE 2   /* bad command line */
#define SIM_EXIT_INPUT 3   /* bad state, faults or trace file */
#define SIM_EXIT_PERSIST 4 /* a save failed: the modem vanished */
#define SIM_EXIT_BUSY 5    /* the state file is locked by another sqn-sim */

/* The emulator's end of the line: the pty master plus a slave fd we keep
 * open so a host closing and reopening the slave never hangs the master up. */
struct sim_pty {
  int master;        /* non-blocking; packet mode when `pkt` */
  int slave;         /* held open, never read */
  char name[128];    /* /dev/pts/N */
  char *link;        /* symlink we created, or NULL */
  bool pkt;          /* TIOCPKT: the host's termios changes are reported */
  bool rate_poll;    /* no reports: read the rate before every read */
  bool rate_dirty;   /* the host's termios changed since the last refresh */
  bool rate_known;
  int rate_how;      /* enum sim_rate_how of the last refresh */
  uint32_t host_in;  /* the host's rates (baud) at the last refresh, 0 where */
  uint32_t host_out; /* the termios could not be read */
  bool read_full;    /* the last sim_pty_read ended on a full read: the host
                        was streaming and probably has more */
};

/* openpty, raw slave, owner-only node, non-blocking master, optional
 * symlink. 0, or -1 with a message in `err`. */
int sim_pty_open(struct sim_pty *p, const char *link, char *err, size_t errcap);
/* Close both ends and remove the symlink we made. Idempotent. */
void sim_pty_close(struct sim_pty *p);
/* Set the slave's rate (both ways) before any host opened it: the modem's
 * own, so a host that never sets one meets a matching line. */
void sim_pty_set_initial_rate(struct sim_pty *p, uint32_t baud);
/* Read the host's rates (host_in/host_out, pty_rate.h) after a reported
 * change; clears rate_dirty. True when they differ from the last refresh. */
bool sim_pty_refresh_rate(struct sim_pty *p);
/* Up to `cap` host bytes into `buf`: as many reads as the kernel needs for
 * what is pending (a whole 8,208-byte STP BLOCK in one call), packet-mode
 * status bytes stripped. Stops early when the host changed its termios
 * (rate_dirty: refresh after using the bytes returned, which came before the
 * change). 0 when nothing is pending, -1 with errno (EIO: no slave open). */
ssize_t sim_pty_read(struct sim_pty *p, uint8_t *buf, size_t cap);
/* One read(), blocking or not as the master is set: host bytes with any
 * packet-mode status stripped; 0 when a change of the host's termios came
 * first (rate_dirty set), -1 with errno. */
ssize_t sim_pty_read_once(struct sim_pty *p, uint8_t *buf, size_t cap);

/* Modem output waiting for the line. Chunks are owned by the queue from
 * push until fully written (or sim_txq_free). Zero-initialise. */
struct sim_txq_chunk {
  struct sim_txq_chunk *next;
  size_t len;
  size_t off;
  uint8_t data[];
};
/*
 * The modem's UART transmit side: a small FIFO, as on hardware. Without
 * flow control, what does not fit because the host does not read is
 * dropped (counted in `dropped`), like a UART overrun. With flow control
 * (`flow`, the host set CRTSCTS) the modem blocks instead: the serving
 * loop stops taking host bytes while the FIFO is full, and only a hard
 * bound far above any one reply drops anything. Memory stays bounded
 * whatever the host does.
 */
#define SIM_TXQ_FIFO (16u * 1024u)
#define SIM_TXQ_HARD (256u * 1024u)
struct sim_txq {
  struct sim_txq_chunk *head;
  struct sim_txq_chunk **tail;
  size_t queued;
  bool flow;      /* host flow control: block, do not drop */
  uint64_t dropped;
};
/* Copy `len` bytes into the queue (the model's tx callback lands here);
 * what exceeds the FIFO is dropped (see above). */
void sim_txq_push(struct sim_txq *q, const uint8_t *buf, size_t len);
void sim_txq_free(struct sim_txq *q);

struct sim_serve_config {
  struct sim_modem *modem;
  struct sim_pty *pty;
  struct sim_txq *txq;
  double time_scale; /* 0: no pacing; > 0: line-rate pacing */
  /* Set by the shell when the modem must vanish at once (a failed save):
   * checked after every call into the model; nothing more is written. */
  const bool *halt;
  /* Called after every call into the model, before anything it queued is
   * written: the shell makes the flash changes of that step durable, one
   * save for all of them (group commit). May set *halt. */
  void (*sync)(void *user);
  void *user;
};

/* Serve until SIGINT/SIGTERM. Returns a SIM_EXIT_* code. */
int sim_serve(const struct sim_serve_config *cfg, uint64_t t0_us);

/* Monotonic microseconds, the clock the model runs on in sqn-sim. */
uint64_t sim_shell_now_us(void);

/* Trace writer: the model's trace callback, writing JSON lines to a FILE*. */
void sim_trace_write_json(void *file, const struct sim_trace_event *ev);
/* `sqn-sim --decode TRACE`: print a JSON-lines trace for people. */
int sim_trace_decode(const char *path, FILE *out);
/* `sqn-sim --decode TRACE --pcapng FILE` (pcapng.c): any trace format of
 * sim/tracefile.h as pcapng. Returns a SIM_EXIT_* code. */
int sim_pcapng_export(const char *trace_path, const char *out_path,
                      bool reads);

/* `sqn-sim --proxy MODEM_TTY` (proxy.c): forward a pty to a real modem,
 * with a trace and faults. Returns a SIM_EXIT_* code. */
struct sim_proxy_config {
  const char *modem_tty;
  const char *link;        /* or NULL */
  const char *faults_path; /* or NULL */
  const char *trace_path;  /* or NULL */
};
int sim_proxy_main(const struct sim_proxy_config *cfg);

#endif /* SIM_SHELL_H */

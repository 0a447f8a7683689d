/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport contract: four non-blocking calls plus a rate change.
 *
 *   open()            0 or negative SQN_E_*
 *   write(buf, len)   bytes accepted (0..len; partial is normal) or negative
 *   read(buf, cap)    bytes read; 0 means "nothing now", not end of file
 *   close()           0 or negative
 *   set_baud(baud)    reconfigure (reopen) at another rate; 0 or negative
 *
 * Implementations: the POSIX termios port below, and whatever an MCU
 * provides (see core/PORTING.md); the tests use an in-memory port
 * (tests/support/memport.h), which is not part of the library. The update
 * procedure itself does not call a transport: the caller moves bytes
 * between the two (sans-IO).
 */
#ifndef SQNUP_TRANSPORT_H
#define SQNUP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sqn_transport_ops {
  int (*open)(void *impl);
  int (*write)(void *impl, const uint8_t *buf, size_t len);
  int (*read)(void *impl, uint8_t *buf, size_t cap);
  int (*close)(void *impl);
  int (*set_baud)(void *impl, uint32_t baud);
};

struct sqn_transport {
  const struct sqn_transport_ops *ops; /* lifetime >= the transport */
  void *impl;
};

/* ---- POSIX termios port (library sqnup_posix) ---------------------------- */

struct sqn_update;

struct sqn_posix_tty {
  /* read-only */
  int fd;
  uint32_t baud;
  bool rtscts;
  char path[256];
  char err[512]; /* why the last call failed, naming the path */
  /* Optional tap (set after open; sqn_posix_run calls it with every chunk
   * read, before it is fed): a trace of what arrived. */
  void (*on_rx)(void *user, const uint8_t *buf, size_t len);
  void *rx_user;
  /* private: a second, blocking open file description of the same port,
   * for sqn_posix_run's waits inside read() (fd stays non-blocking for the
   * writes); -1 when it could not be had (the waits then poll) */
  int rfd;
};

/*
 * Open `path` raw 8N1 at `baud` (115200, 921600, 3686400, or another
 * standard rate), optional RTS/CTS, non-blocking. Fails with SQN_E_PORT and
 * a message in t->err when the path does not exist, is not a tty, or the
 * rate is unsupported.
 */
int sqn_posix_tty_open(struct sqn_posix_tty *t, const char *path,
                       uint32_t baud, bool rtscts);
int sqn_posix_tty_set_baud(struct sqn_posix_tty *t, uint32_t baud);
/* Write everything, waiting at most timeout_ms for the port to drain. */
int sqn_posix_tty_write_all(struct sqn_posix_tty *t, const uint8_t *buf,
                            size_t len, int timeout_ms);
int sqn_posix_tty_close(struct sqn_posix_tty *t);
/* ops for struct sqn_transport with impl = struct sqn_posix_tty * */
extern const struct sqn_transport_ops sqn_posix_tty_ops;

/*
 * Drive an initialized and started update on a tty until it is done:
 * wait for bytes until the update's next deadline (inside read(), bounded
 * by a 100 ms VTIME, or in poll() for a nearer deadline), feed what
 * arrives, tick. The update's write callback should call sqn_posix_tty_write_all().
 * `stop` (may be NULL) is polled; when it becomes non-zero the update is
 * aborted. Returns the update's result.
 */
int sqn_posix_run(struct sqn_update *u, struct sqn_posix_tty *t,
                  volatile int *stop);
/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t sqn_posix_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_TRANSPORT_H */

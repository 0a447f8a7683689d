/*
 * The transport contract: four non-blocking calls plus a rate change.
 *
 *   open()            0 or negative SQN_E_*
 *   write(buf, len)   bytes accepted (0..len; partial is normal) or negative
 *   read(buf, cap)    bytes read; 0 means "nothing now", not end of file
 *   close()           0 or negative
 *   set_baud(baud)    reconfigure (reopen) at another rate; 0 or negative
 *
 * Implementations: the in-memory port below (portable, for tests), the
 * POSIX termios port (library sqnup_posix), and whatever an MCU provides
 * (see core/PORTING.md). The update procedure itself does not call a
 * transport: the caller moves bytes between the two (sans-IO).
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

/* ---- in-memory port (tests, bridges) ------------------------------------ */

/* A byte ring over a caller buffer. Do not modify members directly. */
struct sqn_ring {
  uint8_t *buf;
  size_t cap, head, len;
};

void sqn_ring_init(struct sqn_ring *r, uint8_t *buf, size_t cap);
/* Append up to len bytes; returns how many fit. */
size_t sqn_ring_put(struct sqn_ring *r, const uint8_t *buf, size_t len);
/* Take up to cap bytes; returns how many. */
size_t sqn_ring_get(struct sqn_ring *r, uint8_t *buf, size_t cap);

/*
 * The host end of an in-memory link. The peer (a fake modem, the emulator
 * model) injects bytes the host will read and drains what the host wrote.
 * `limit` (0 = none) caps every read and write, to exercise partial I/O.
 */
struct sqn_memport {
  /* public */
  size_t limit;
  /* read-only */
  struct sqn_ring rx;   /* peer -> host */
  struct sqn_ring tx;   /* host -> peer */
  bool is_open;
  uint32_t baud;
  unsigned opens, closes, baud_changes;
};

void sqn_memport_init(struct sqn_memport *p, uint8_t *rx_buf, size_t rx_cap,
                      uint8_t *tx_buf, size_t tx_cap);
size_t sqn_memport_inject(struct sqn_memport *p, const uint8_t *buf,
                          size_t len);
size_t sqn_memport_drain(struct sqn_memport *p, uint8_t *buf, size_t cap);
/* ops for struct sqn_transport with impl = struct sqn_memport * */
extern const struct sqn_transport_ops sqn_memport_ops;

/* ---- POSIX termios port (library sqnup_posix) ---------------------------- */

struct sqn_update;

struct sqn_posix_tty {
  /* read-only */
  int fd;
  uint32_t baud;
  bool rtscts;
  char path[256];
  char err[512]; /* why the last call failed, naming the path */
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
 * poll() on the fd until the update's next deadline, feed what arrives,
 * tick. The update's write callback should call sqn_posix_tty_write_all().
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

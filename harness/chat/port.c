/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's serial port: open/close/flush/read/write with bounded waits.
 *
 * Reads mimic pyserial: read(N) waits up to the timeout for N bytes and
 * returns what it has; read-any waits for a first byte, then keeps reading
 * until the line goes quiet. Every wait uses poll() with a deadline, so a
 * silent modem can only cost the bound, never a hang. Every byte moved is
 * written to the transcript ("> " sent, "< " received) when one is open.
 */
#include "chat.h"
#include "pty_rate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

uint64_t harness_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const struct {
  uint32_t baud;
  speed_t code;
} harness_port_speeds[] = {
    {9600, B9600},       {19200, B19200},     {38400, B38400},
    {57600, B57600},     {115200, B115200},   {230400, B230400},
    {460800, B460800},   {921600, B921600},   {1000000, B1000000},
    {1500000, B1500000}, {2000000, B2000000}, {3000000, B3000000},
    {4000000, B4000000},
};

static void harness_port_log(struct harness_port *p, char dir,
                             const uint8_t *b, size_t n) {
  if (!p->transcript || n == 0)
    return;
  uint64_t t = harness_now_us() - p->t0_us;
  fprintf(p->transcript, "%llu.%06llu %c ", (unsigned long long)(t / 1000000),
          (unsigned long long)(t % 1000000), dir);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = b[i];
    if (c == '\r')
      fputs("\\r", p->transcript);
    else if (c == '\n')
      fputs("\\n", p->transcript);
    else if (c == '\\')
      fputs("\\\\", p->transcript);
    else if (c >= 0x20 && c < 0x7f)
      fputc(c, p->transcript);
    else
      fprintf(p->transcript, "\\x%02x", c);
  }
  fputc('\n', p->transcript);
  fflush(p->transcript);
}

int harness_port_open(struct harness_port *p, const char *path, uint32_t baud,
                      char *err, size_t errcap) {
  speed_t code = 0;
  struct termios tio;
  for (size_t i = 0;
       i < sizeof harness_port_speeds / sizeof harness_port_speeds[0]; i++)
    if (harness_port_speeds[i].baud == baud)
      code = harness_port_speeds[i].code;
  if (baud == 0) {
    snprintf(err, errcap, "unsupported baud rate 0");
    return -1;
  }
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (tcgetattr(fd, &tio) != 0) {
    snprintf(err, errcap, "%s: not a serial port: %s", path, strerror(errno));
    goto out_close_fd;
  }
  cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~(tcflag_t)CRTSCTS;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  if (code) {
    cfsetispeed(&tio, code);
    cfsetospeed(&tio, code);
  }
  if (tcsetattr(fd, TCSANOW, &tio) != 0) {
    snprintf(err, errcap, "%s: tcsetattr: %s", path, strerror(errno));
    goto out_close_fd;
  }
  /* Any other rate exactly, as pyserial does (Linux: TCSETS2, BOTHER):
   * 3686400 is Sequans' stp.py default. */
  if (!code && sim_tty_set_rate(fd, baud, baud) != 0) {
    snprintf(err, errcap, "%s: cannot set %lu baud: %s", path,
             (unsigned long)baud, strerror(errno));
    goto out_close_fd;
  }
  tcflush(fd, TCIOFLUSH);
  p->fd = fd;
  p->baud = baud;
  snprintf(p->path, sizeof p->path, "%s", path);
  return 0;

out_close_fd:
  close(fd);
  return -1;
}

void harness_port_close(struct harness_port *p) {
  if (p->fd >= 0)
    close(p->fd);
  p->fd = -1;
}

void harness_port_flush(struct harness_port *p) {
  uint8_t buf[512];
  if (p->fd < 0)
    return;
  tcflush(p->fd, TCIFLUSH);
  /* Also drain what is readable right now, as pyserial users' read() does. */
  for (;;) {
    ssize_t n = read(p->fd, buf, sizeof buf);
    if (n <= 0)
      break;
    harness_port_log(p, '#', buf, (size_t)n);
  }
}

static int harness_port_wait(int fd, short ev, uint64_t deadline) {
  for (;;) {
    uint64_t now = harness_now_us();
    if (now >= deadline)
      return 0;
    uint64_t ms = (deadline - now + 999) / 1000;
    struct pollfd pfd = {.fd = fd, .events = ev};
    int r = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r > 0)
      return 1;
  }
}

int harness_port_write(struct harness_port *p, const uint8_t *buf, size_t len,
                       uint64_t timeout_us, char *err, size_t errcap) {
  uint64_t deadline = harness_now_us() + timeout_us;
  size_t off = 0;
  if (p->fd < 0) {
    snprintf(err, errcap, "port is not open");
    return -1;
  }
  while (off < len) {
    ssize_t n = write(p->fd, buf + off, len - off);
    if (n > 0) {
      harness_port_log(p, '>', buf + off, (size_t)n);
      off += (size_t)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      snprintf(err, errcap, "write %s: %s", p->path, strerror(errno));
      return -1;
    }
    int w = harness_port_wait(p->fd, POLLOUT, deadline);
    if (w <= 0) {
      snprintf(err, errcap, "write %s: %s", p->path,
               w == 0 ? "timed out (the line does not drain)"
                      : strerror(errno));
      return -1;
    }
  }
  return 0;
}

long harness_port_read(struct harness_port *p, uint8_t *buf, size_t len,
                       uint64_t timeout_us) {
  uint64_t deadline = harness_now_us() + timeout_us;
  size_t got = 0;
  if (p->fd < 0)
    return -1;
  while (got < len) {
    ssize_t n = read(p->fd, buf + got, len - got);
    if (n > 0) {
      harness_port_log(p, '<', buf + got, (size_t)n);
      got += (size_t)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
        errno != EIO)
      return -1;
    int w = harness_port_wait(p->fd, POLLIN, deadline);
    if (w < 0)
      return -1;
    if (w == 0)
      break;
    if (n < 0 && errno == EIO) {
      /* Hang-up: no data will come; wait out the bound without spinning. */
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
  }
  return (long)got;
}

long harness_port_read_any(struct harness_port *p, uint8_t *buf, size_t len,
                           uint64_t first_us, uint64_t gap_us) {
  long got = harness_port_read(p, buf, 1, first_us);
  if (got <= 0 || len <= 1)
    return got;
  while ((size_t)got < len) {
    long n = harness_port_read(p, buf + got, len - (size_t)got, gap_us);
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    got += n;
  }
  return got;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX termios transport and the CLI's driver loop. The only code of
 * libsqnup that touches a file descriptor or a clock.
 *
 * The port is raw 8N1, non-blocking, CLOCAL (no modem-control lines), with
 * optional RTS/CTS. A rate change reprograms the line in place
 * (tcsetattr after tcdrain) so bytes already queued leave at the old rate,
 * which is what AT+IPR needs.
 *
 * The port is exclusive the way serial tools on Linux agree on (minicom,
 * picocom, ModemManager): a live UUCP lock file in /run/lock (or
 * /var/lock) is honoured, then flock(LOCK_EX | LOCK_NB) on the tty and
 * TIOCEXCL. flock is what also stops root (TIOCEXCL does not); a port that
 * is busy is refused with SQN_E_PORT_BUSY before any byte is sent, naming
 * the holder when /proc tells it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sqnup/err.h"
#include "sqnup/transport.h"
#include "sqnup/update.h"

/* The bound of one wait inside read() (termios VTIME, in tenths of s). */
#define SQN_POSIX_VTIME_MS 100

static const struct {
  uint32_t baud;
  speed_t speed;
} sqn_posix_speeds[] = {
    {9600, B9600},       {19200, B19200},     {38400, B38400},
    {57600, B57600},     {115200, B115200},   {230400, B230400},
#ifdef B460800
    {460800, B460800},
#endif
#ifdef B921600
    {921600, B921600},
#endif
#ifdef B3000000
    {3000000, B3000000},
#endif
#ifdef B3686400
    {3686400, B3686400},
#endif
#ifdef B4000000
    {4000000, B4000000},
#endif
};

static int sqn_posix_speed(uint32_t baud, speed_t *out) {
  for (size_t i = 0; i < sizeof sqn_posix_speeds / sizeof sqn_posix_speeds[0];
       i++)
    if (sqn_posix_speeds[i].baud == baud) {
      *out = sqn_posix_speeds[i].speed;
      return 0;
    }
  return -1;
}

static int sqn_posix_configure(struct sqn_posix_tty *t, uint32_t baud) {
  struct termios tio;
  speed_t sp;
  if (sqn_posix_speed(baud, &sp) != 0) {
    snprintf(t->err, sizeof t->err, "%s: %u baud is not supported here",
             t->path, (unsigned)baud);
    return SQN_E_PORT;
  }
  if (tcgetattr(t->fd, &tio) != 0) {
    snprintf(t->err, sizeof t->err, "%s: tcgetattr: %s", t->path,
             strerror(errno));
    return SQN_E_PORT;
  }
  cfmakeraw(&tio);
  tio.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CSIZE);
  tio.c_cflag |= CS8 | CREAD | CLOCAL;
#ifdef CRTSCTS
  if (t->rtscts)
    tio.c_cflag |= CRTSCTS;
  else
    tio.c_cflag &= ~(tcflag_t)CRTSCTS;
#endif
  /* fd is non-blocking, so these matter only to sqn_posix_run's waits
   * inside read() on rfd: return with the first bytes, or after 100 ms. */
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = SQN_POSIX_VTIME_MS / 100;
  cfsetispeed(&tio, sp);
  cfsetospeed(&tio, sp);
  (void)tcdrain(t->fd);
  if (tcsetattr(t->fd, TCSANOW, &tio) != 0) {
    snprintf(t->err, sizeof t->err, "%s: cannot set %u baud: %s", t->path,
             (unsigned)baud, strerror(errno));
    return SQN_E_PORT;
  }
  t->baud = baud;
  return 0;
}

/* "pid 1234 (picocom)", or "pid 1234" when /proc does not name it. */
static void sqn_posix_who(long pid, char *out, size_t cap) {
  char path[64], comm[64] = "";
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/comm", pid);
  f = fopen(path, "r");
  if (f) {
    if (fgets(comm, sizeof comm, f))
      comm[strcspn(comm, "\n")] = '\0';
    fclose(f);
  }
  if (comm[0])
    snprintf(out, cap, "pid %ld (%s)", pid, comm);
  else
    snprintf(out, cap, "pid %ld", pid);
}

/* The process holding a flock on the inode of `st`, from /proc/locks. */
static long sqn_posix_flock_holder(const struct stat *st) {
  char line[256];
  long found = 0;
  FILE *f = fopen("/proc/locks", "r");
  if (!f)
    return 0;
  while (!found && fgets(line, sizeof line, f)) {
    long pid;
    unsigned maj, min;
    unsigned long ino;
    char kind[16];
    if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%lu", kind, &pid, &maj,
               &min, &ino) == 5 &&
        strcmp(kind, "FLOCK") == 0 && ino == (unsigned long)st->st_ino &&
        pid != (long)getpid())
      found = pid;
  }
  fclose(f);
  return found;
}

/* A live UUCP lock file for `path` (LCK..ttyUSB0, LCK..pts_3): its pid. */
static long sqn_posix_uucp_holder(const char *path) {
  static const char *const dirs[] = {"/run/lock", "/var/lock"};
  const char *name = strncmp(path, "/dev/", 5) == 0 ? path + 5 : path;
  char base[200], lock[260], text[32] = "";
  size_t i;
  snprintf(base, sizeof base, "%s", name);
  for (i = 0; base[i]; i++)
    if (base[i] == '/')
      base[i] = '_';
  for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    FILE *f;
    long pid;
    snprintf(lock, sizeof lock, "%s/LCK..%s", dirs[i], base);
    f = fopen(lock, "r");
    if (!f)
      continue;
    if (!fgets(text, sizeof text, f))
      text[0] = '\0';
    fclose(f);
    pid = strtol(text, NULL, 10);
    if (pid > 0 && pid != (long)getpid() &&
        (kill((pid_t)pid, 0) == 0 || errno == EPERM))
      return pid;
  }
  return 0;
}

/* Take the port for this process alone; SQN_E_PORT_BUSY when another has
 * it (UUCP lock, flock or TIOCEXCL). */
static int sqn_posix_lock(struct sqn_posix_tty *t, const struct stat *st) {
  char who[96];
  long pid;
  if (flock(t->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EAGAIN)
      return 0; /* no flock here (some file systems): TIOCEXCL still holds */
    pid = sqn_posix_flock_holder(st);
    if (pid)
      sqn_posix_who(pid, who, sizeof who);
    snprintf(t->err, sizeof t->err,
             "%s: port busy: another program has it open and locked%s%s",
             t->path, pid ? " by " : "", pid ? who : "");
    return SQN_E_PORT_BUSY;
  }
#ifdef TIOCEXCL
  (void)ioctl(t->fd, TIOCEXCL);
#endif
  return 0;
}

/* The descriptor the waits read from: the same port opened once more, this
 * time blocking. Two open file descriptions have their own O_NONBLOCK, so
 * neither a wait nor a write has to flip it (two fcntl calls per exchange,
 * several percent of a push where a system call costs about 1 us). Opened
 * before TIOCEXCL shuts the port to further opens; -1 if it cannot be. */
static int sqn_posix_open_reader(const char *path, const struct stat *st) {
  struct stat rst;
  int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int fl = fcntl(fd, F_GETFL);
  if (fstat(fd, &rst) != 0 || rst.st_rdev != st->st_rdev || fl < 0 ||
      fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int sqn_posix_tty_open(struct sqn_posix_tty *t, const char *path,
                       uint32_t baud, bool rtscts) {
  struct stat st;
  int rc;
  memset(t, 0, sizeof *t);
  t->fd = t->rfd = -1;
  t->rtscts = rtscts;
  snprintf(t->path, sizeof t->path, "%s", path ? path : "");
  if (!path || !*path) {
    snprintf(t->err, sizeof t->err, "no port given");
    return SQN_E_PORT;
  }
  if (stat(path, &st) != 0) {
    snprintf(t->err, sizeof t->err, "%s: %s", path, strerror(errno));
    return SQN_E_PORT;
  }
  if (!S_ISCHR(st.st_mode)) {
    char target[200];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n > 0) {
      target[n] = '\0';
      snprintf(t->err, sizeof t->err,
               "%s: a symlink to %s, which is not a tty", path, target);
    } else {
      snprintf(t->err, sizeof t->err, "%s: not a character device (tty)",
               path);
    }
    return SQN_E_PORT;
  }
  {
    long pid = sqn_posix_uucp_holder(path);
    if (pid) {
      char who[96];
      sqn_posix_who(pid, who, sizeof who);
      snprintf(t->err, sizeof t->err,
               "%s: port busy: UUCP lock file held by %s", path, who);
      return SQN_E_PORT_BUSY;
    }
  }
  t->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (t->fd < 0) {
    snprintf(t->err, sizeof t->err, "%s: %s%s", path, strerror(errno),
             errno == EBUSY ? " (port busy: another program holds it in "
                              "exclusive mode)"
                            : "");
    return errno == EBUSY ? SQN_E_PORT_BUSY : SQN_E_PORT;
  }
  if (!isatty(t->fd)) {
    snprintf(t->err, sizeof t->err, "%s: not a tty", path);
    rc = SQN_E_PORT;
    goto out_close_fd;
  }
  t->rfd = sqn_posix_open_reader(path, &st);
  rc = sqn_posix_lock(t, &st);
  if (rc)
    goto out_close_fd;
  rc = sqn_posix_configure(t, baud);
  if (rc)
    goto out_close_fd;
  return 0;

out_close_fd:
  if (t->rfd >= 0)
    close(t->rfd);
  close(t->fd);
  t->fd = t->rfd = -1;
  return rc;
}

int sqn_posix_tty_set_baud(struct sqn_posix_tty *t, uint32_t baud) {
  if (t->fd < 0)
    return SQN_E_PORT;
  if (baud == t->baud)
    return 0;
  return sqn_posix_configure(t, baud);
}

int sqn_posix_tty_write_all(struct sqn_posix_tty *t, const uint8_t *buf,
                            size_t len, int timeout_ms) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(t->fd, buf + done, len - done);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      snprintf(t->err, sizeof t->err, "%s: write: %s", t->path,
               strerror(errno));
      return SQN_E_IO;
    }
    {
      struct pollfd p = {t->fd, POLLOUT, 0};
      int rc = poll(&p, 1, timeout_ms);
      if (rc == 0) {
        snprintf(t->err, sizeof t->err,
                 "%s: write stalled for %d ms (flow control?)", t->path,
                 timeout_ms);
        return SQN_E_IO;
      }
      if (rc < 0 && errno != EINTR) {
        snprintf(t->err, sizeof t->err, "%s: poll: %s", t->path,
                 strerror(errno));
        return SQN_E_IO;
      }
    }
  }
  return (int)len;
}

int sqn_posix_tty_close(struct sqn_posix_tty *t) {
  if (t->fd < 0)
    return SQN_E_STATE;
#ifdef TIOCNXCL
  (void)ioctl(t->fd, TIOCNXCL);
#endif
  if (t->rfd >= 0)
    close(t->rfd);
  close(t->fd); /* releases the flock */
  t->fd = t->rfd = -1;
  return 0;
}

static int sqn_posix_op_open(void *impl) {
  struct sqn_posix_tty *t = impl;
  return t->fd >= 0 ? 0 : SQN_E_PORT;
}

static int sqn_posix_op_write(void *impl, const uint8_t *buf, size_t len) {
  struct sqn_posix_tty *t = impl;
  ssize_t n = write(t->fd, buf, len);
  if (n >= 0)
    return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return 0;
  return SQN_E_IO;
}

static int sqn_posix_op_read(void *impl, uint8_t *buf, size_t cap) {
  struct sqn_posix_tty *t = impl;
  ssize_t n = read(t->fd, buf, cap);
  if (n >= 0)
    return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return 0;
  /* EIO on a pty whose other side closed: report it as "nothing now"; the
   * update's own timeouts decide when the modem is gone. */
  if (errno == EIO)
    return 0;
  return SQN_E_IO;
}

static int sqn_posix_op_close(void *impl) { return sqn_posix_tty_close(impl); }

static int sqn_posix_op_set_baud(void *impl, uint32_t baud) {
  return sqn_posix_tty_set_baud(impl, baud);
}

const struct sqn_transport_ops sqn_posix_tty_ops = {
    sqn_posix_op_open, sqn_posix_op_write, sqn_posix_op_read,
    sqn_posix_op_close, sqn_posix_op_set_baud};

uint64_t sqn_posix_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Wait for the modem's next bytes inside read() itself, on the port's
 * blocking descriptor (rfd), bounded by VTIME to SQN_POSIX_VTIME_MS. Waking
 * inside read() costs less than waking in poll() and then reading
 * (bench_pingpong: about 10 % of a stop-and-wait push on a Linux pty). 0 when
 * nothing came (the bound, a signal, a hang-up), -1 without rfd (the caller
 * polls instead).
 */
static int sqn_posix_read_wait(struct sqn_posix_tty *t, uint8_t *buf,
                               size_t cap) {
  if (t->rfd < 0)
    return -1;
  ssize_t n = read(t->rfd, buf, cap);
  return n > 0 ? (int)n : 0;
}

/* One wait of at most `wait_ms` for bytes: inside read() when the wait is at
 * least one VTIME, else in poll(). Returns the bytes read (0 none). */
static int sqn_posix_wait(struct sqn_posix_tty *t, uint8_t *buf, size_t cap,
                          int wait_ms) {
  uint64_t t0 = sqn_posix_now_ms();
  int n = -1;
  bool hup = false;
  if (wait_ms >= SQN_POSIX_VTIME_MS) {
    n = sqn_posix_read_wait(t, buf, cap);
    /* A pty with no peer returns at once, forever: not a wait. */
    hup = n == 0 && sqn_posix_now_ms() - t0 < SQN_POSIX_VTIME_MS / 2;
  }
  if (n < 0) {
    struct pollfd p = {t->fd, POLLIN, 0};
    int rc = poll(&p, 1, wait_ms);
    n = 0;
    if (rc > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      n = sqn_posix_op_read(t, buf, cap);
      hup = n <= 0 && (p.revents & (POLLHUP | POLLERR)) && wait_ms > 0;
    }
  }
  if (hup) {
    /* Avoid a busy loop; the update's own bounds decide when it is over. */
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return n > 0 ? n : 0;
}

int sqn_posix_run(struct sqn_update *u, struct sqn_posix_tty *t,
                  volatile int *stop) {
  uint8_t buf[4096];
  while (!sqn_update_done(u)) {
    uint64_t now = sqn_posix_now_ms();
    uint64_t dl = sqn_update_next_deadline(u);
    int wait = 200; /* wake up now and then for `stop` */
    if (stop && *stop) {
      sqn_update_abort(u, now);
      break;
    }
    if (dl != SQN_UPDATE_NEVER) {
      uint64_t d = dl > now ? dl - now : 0;
      if (d < (uint64_t)wait)
        wait = (int)d;
    }
    int n = sqn_posix_wait(t, buf, sizeof buf, wait);
    now = sqn_posix_now_ms();
    if (n > 0) {
      if (t->on_rx)
        t->on_rx(t->rx_user, buf, (size_t)n);
      sqn_update_feed(u, now, buf, (size_t)n);
    }
    if (!sqn_update_done(u) && sqn_posix_now_ms() >= sqn_update_next_deadline(u))
      sqn_update_tick(u, sqn_posix_now_ms());
  }
  return sqn_update_result(u);
}

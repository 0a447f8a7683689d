/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulator's pseudo-terminal.
 *
 *   host tool --- /dev/pts/N (slave) ===== master --- sqn-sim --- sim_model
 *                  ^ --link PATH symlink     ^ non-blocking, uv_poll'ed
 *                  + one slave fd held open by sqn-sim
 *
 * Why the held slave fd: updaters close and reopen the port when they change
 * the baud rate. When the last slave fd closes, Linux signals a hang-up on
 * the master (POLLHUP, read() -> EIO) until somebody opens the slave again.
 * Holding our own slave fd keeps the master quiet, so the modem keeps its
 * volatile state across the host's reopen exactly as a real UART would.
 *
 * The host's rate is read from the master: on Linux the tty ioctls on a pty
 * master act on the slave, so TCGETS2 there returns the exact rates the host
 * asked for (pty_rate.c), non-standard ones included.
 *
 * Exclusive like a real port: a host that takes the slave with flock
 * (LOCK_EX) and TIOCEXCL, as sqn-update, picocom and ModemManager do, keeps
 * every other host out; sqn-sim's own held slave fd takes no lock, so it
 * never stands in their way. A --link whose current target is a tty that a
 * host holds locked is a live session: it is not taken over.
 */
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "pty_rate.h"

/* ---- the host's rate, learnt once per change ------------------------------
 *
 * The master runs in packet mode (TIOCPKT) and the slave's termios carries
 * EXTPROC. With both, Linux reports every termios change the host makes on
 * the slave (tcsetattr, TCSETS2, a rate change) to the master as a status
 * byte with TIOCPKT_IOCTL (drivers/tty/pty.c, pty_set_termios), which also
 * wakes the master's poll. So the rate is read (TCGETS2) once per change, not
 * before every read. EXTPROC only tells the slave's line discipline that
 * input processing happens elsewhere: for a raw-mode host (every serial tool)
 * nothing changes. Where that does not hold the shell falls back to reading
 * the rate before every read (rate_poll):
 *  - the host clears EXTPROC (its last change is still reported);
 *  - the host turns on canonical mode, echo, signals or input translation,
 *    which EXTPROC would bypass: the emulator clears EXTPROC again so the
 *    host's line discipline works as asked (between our read of the termios
 *    and that write, a change by the host would be overwritten; the window
 *    is two syscalls right after the host's own change);
 *  - no packet mode (not Linux).
 */
#if defined(__linux__) && defined(TIOCPKT) && defined(TIOCPKT_IOCTL) &&     \
    defined(EXTPROC)
#define SIM_PTY_NOTIFY 1
#else
#define SIM_PTY_NOTIFY 0
#endif

/* Host settings that EXTPROC would make the slave's line discipline skip. */
static bool sim_pty_cooked(const struct termios *t) {
  return (t->c_lflag & (ICANON | ECHO | ISIG)) ||
         (t->c_iflag & (ICRNL | INLCR | IGNCR | ISTRIP));
}

bool sim_pty_refresh_rate(struct sim_pty *p) {
  uint32_t in = 0, out = 0;
  p->rate_dirty = false;
  if (p->master < 0)
    return false;
  p->rate_how = sim_pty_host_rate(p->master, &in, &out);
#if SIM_PTY_NOTIFY
  if (p->pkt && !p->rate_poll) {
    struct termios t;
    if (tcgetattr(p->master, &t) != 0 || !(t.c_lflag & EXTPROC)) {
      p->rate_poll = true; /* no more reports: read before every read */
    } else if (sim_pty_cooked(&t)) {
      t.c_lflag &= ~(tcflag_t)EXTPROC;
      (void)tcsetattr(p->master, TCSANOW, &t);
      p->rate_poll = true;
    }
  }
#endif
  bool changed = !p->rate_known || in != p->host_in || out != p->host_out;
  p->rate_known = true;
  p->host_in = in;
  p->host_out = out;
  return changed;
}

ssize_t sim_pty_read_once(struct sim_pty *p, uint8_t *buf, size_t cap) {
  for (;;) {
    uint8_t hdr = 0; /* TIOCPKT_DATA */
    ssize_t n;
    if (!p->pkt)
      return read(p->master, buf, cap);
    struct iovec iov[2] = {{&hdr, 1}, {buf, cap}};
    n = readv(p->master, iov, 2);
    if (n <= 0)
      return n;
    if (hdr == 0)
      return n - 1;
#if SIM_PTY_NOTIFY
    /* A status byte alone: the host changed its termios (or flushed). */
    if (hdr & TIOCPKT_IOCTL)
      p->rate_dirty = true;
#endif
    if (p->rate_dirty)
      return 0; /* the caller reads the new rate before any more data */
  }
}

ssize_t sim_pty_read(struct sim_pty *p, uint8_t *buf, size_t cap) {
  size_t got = 0;
  p->read_full = false;
  while (got < cap) {
    size_t want = cap - got;
    ssize_t n = sim_pty_read_once(p, buf + got, want);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (got || errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      return -1;
    }
    if (n == 0)
      break; /* a change of the host's termios ends what came before it */
    got += (size_t)n;
    /* A read short of both our request and a full n_tty buffer (4 KiB)
     * emptied what was pending: no point asking again now. */
    p->read_full = (size_t)n == want || n >= 4095;
    if (!p->read_full)
      break;
  }
  return (ssize_t)got;
}

void sim_pty_set_initial_rate(struct sim_pty *p, uint32_t baud) {
  if (p->slave < 0 || baud == 0 || sim_tty_set_rate(p->slave, baud, baud) != 0)
    return; /* keep the open-time 115200 */
  sim_pty_refresh_rate(p);
}

/* Make `link` point at `target`: replace a stale symlink, refuse anything
 * that is not a symlink (we must never delete a user's file). */
static int sim_pty_make_link(const char *link, const char *target, char *err,
                             size_t errcap) {
  struct stat st;
  if (lstat(link, &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      snprintf(err, errcap, "--link %s: exists and is not a symlink; refusing "
               "to replace it", link);
      return -1;
    }
    int held = open(link, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (held >= 0) {
      bool busy = isatty(held) && flock(held, LOCK_EX | LOCK_NB) != 0 &&
                  errno == EWOULDBLOCK;
      close(held);
      if (busy) {
        snprintf(err, errcap, "--link %s: points at a port a host holds "
                 "locked (a live session); refusing to take it over", link);
        return -1;
      }
    }
    if (unlink(link) != 0) {
      snprintf(err, errcap, "--link %s: cannot remove old link: %s", link,
               strerror(errno));
      return -1;
    }
  }
  if (symlink(target, link) != 0) {
    snprintf(err, errcap, "--link %s: %s", link, strerror(errno));
    return -1;
  }
  return 0;
}

int sim_pty_open(struct sim_pty *p, const char *link, char *err,
                 size_t errcap) {
  struct termios tio;
  int flags;

  memset(p, 0, sizeof *p);
  p->master = p->slave = -1;
  if (openpty(&p->master, &p->slave, NULL, NULL, NULL) != 0) {
    snprintf(err, errcap, "openpty: %s", strerror(errno));
    return -1;
  }
  const char *name = ttyname(p->slave);
  if (!name || strlen(name) >= sizeof p->name) {
    snprintf(err, errcap, "ttyname: %s", name ? "name too long"
                                              : strerror(errno));
    goto out_close_pty;
  }
  strcpy(p->name, name);
  /* Owner only: the modem link is a private line, not a shared terminal. */
  if (fchmod(p->slave, 0600) != 0 && chmod(p->name, 0600) != 0) {
    snprintf(err, errcap, "chmod %s: %s", p->name, strerror(errno));
    goto out_close_pty;
  }
  if (tcgetattr(p->slave, &tio) != 0) {
    snprintf(err, errcap, "tcgetattr %s: %s", p->name, strerror(errno));
    goto out_close_pty;
  }
  cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  cfsetspeed(&tio, B115200);
#if SIM_PTY_NOTIFY
  tio.c_lflag |= EXTPROC;
#endif
  if (tcsetattr(p->slave, TCSANOW, &tio) != 0) {
    snprintf(err, errcap, "tcsetattr %s: %s", p->name, strerror(errno));
    goto out_close_pty;
  }
  p->rate_poll = true;
#if SIM_PTY_NOTIFY
  {
    int one = 1;
    if (ioctl(p->master, TIOCPKT, &one) == 0) {
      p->pkt = true;
      p->rate_poll = false;
    }
  }
#endif
  sim_pty_refresh_rate(p);
  flags = fcntl(p->master, F_GETFL);
  if (flags < 0 || fcntl(p->master, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(p->master, F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(p->slave, F_SETFD, FD_CLOEXEC) != 0) {
    snprintf(err, errcap, "fcntl: %s", strerror(errno));
    goto out_close_pty;
  }
  if (link) {
    if (sim_pty_make_link(link, p->name, err, errcap) != 0)
      goto out_close_pty;
    p->link = strdup(link);
    if (!p->link) {
      snprintf(err, errcap, "out of memory");
      goto out_unlink;
    }
  }
  return 0;

out_unlink:
  unlink(link);
out_close_pty:
  close(p->slave);
  close(p->master);
  p->master = p->slave = -1;
  return -1;
}

void sim_pty_close(struct sim_pty *p) {
  if (p->link) {
    /* Only remove the link if it still points at our pty. */
    char buf[sizeof p->name];
    ssize_t n = readlink(p->link, buf, sizeof buf - 1);
    if (n >= 0) {
      buf[n] = '\0';
      if (strcmp(buf, p->name) == 0)
        unlink(p->link);
    }
    free(p->link);
    p->link = NULL;
  }
  if (p->slave >= 0)
    close(p->slave);
  if (p->master >= 0)
    close(p->master);
  p->master = p->slave = -1;
}

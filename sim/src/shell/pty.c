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
 * The host's baud is read from the master: on Linux, tcgetattr() on a pty
 * master returns the slave's termios, i.e. what the host asked for.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static const struct {
  speed_t code;
  uint32_t baud;
} sim_pty_speeds[] = {
    {B50, 50},           {B75, 75},           {B110, 110},
    {B134, 134},         {B150, 150},         {B200, 200},
    {B300, 300},         {B600, 600},         {B1200, 1200},
    {B1800, 1800},       {B2400, 2400},       {B4800, 4800},
    {B9600, 9600},       {B19200, 19200},     {B38400, 38400},
    {B57600, 57600},     {B115200, 115200},   {B230400, 230400},
    {B460800, 460800},   {B500000, 500000},   {B576000, 576000},
    {B921600, 921600},   {B1000000, 1000000}, {B1152000, 1152000},
    {B1500000, 1500000}, {B2000000, 2000000}, {B2500000, 2500000},
    {B3000000, 3000000}, {B3500000, 3500000}, {B4000000, 4000000},
};

uint32_t sim_pty_host_baud(const struct sim_pty *p) {
  struct termios tio;
  if (p->master < 0 || tcgetattr(p->master, &tio) != 0)
    return 0;
  speed_t s = cfgetospeed(&tio);
  for (size_t i = 0; i < sizeof sim_pty_speeds / sizeof sim_pty_speeds[0]; i++)
    if (sim_pty_speeds[i].code == s)
      return sim_pty_speeds[i].baud;
  /* B3686400 is not a termios constant on Linux; BOTHER rates are not
   * visible through the legacy ioctl either: treat as unknown (no garble). */
  return 0;
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
  if (tcsetattr(p->slave, TCSANOW, &tio) != 0) {
    snprintf(err, errcap, "tcsetattr %s: %s", p->name, strerror(errno));
    goto out_close_pty;
  }
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

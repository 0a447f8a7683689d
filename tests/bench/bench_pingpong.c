/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pingpong: the package push over a real pty, against its floor.
 *
 *   floor   a plain stop-and-wait ping-pong over a pty with the frame sizes
 *           of an STP push of the package at max transfer 8192:
 *
 *             host (slave fd)            child process (master fd)
 *             RESET      16  ---------->  read 16
 *                        16  <----------  write 16
 *             OPEN       16  ---------->  read 16,  write 20
 *             per block: BLOCK_CMD 18 -> 16;  BLOCK 16+L -> 18
 *                        (L = 8176, the last block the rest)
 *             RESET      16  ---------->  read 16,  write 16
 *
 *           Blocking read()/write() of exactly those sizes and nothing else:
 *           the cost of the pty and of two processes taking turns.
 *   push    sqn-sim --time-scale 0 from fixtures/states/interrupted-upgrade
 *           (RECOVERY); this process sends AT+SMSTPU="ON_THE_FLY" and pushes
 *           the package with libsqnup's STP master (stpm.h) through the
 *           POSIX tty port. Timed from the first RESET to the final ack;
 *           checked with AT+SMUPGRADE? (success). Requirement: <= 1.2 x floor.
 *   full    what a user runs: sqn-update --port PTY PACKAGE, default options
 *           (no --timeout-scale unless given, and then labelled "scaled"),
 *           against a fresh sqn-sim --time-scale 0 from fixtures/states/
 *           healthy (FFF, an older version), timed from fork to exit 0
 *           (fork and exec of sqn-update, as a shell starts it); checked
 *           with sqn-sim --show --json (FFF valid, package version).
 *           Requirement: <= 1.5 x floor. The same from interrupted-upgrade
 *           (RECOVERY: no mode switch) is shown too. Peak RSS of both
 *           processes (wait4 rusage) for two package sizes, in two more runs
 *           started through the RSS launcher, shows that memory does not
 *           grow with the package.
 *   store   sqn-update --method store (default options otherwise) with a
 *           4 MiB package, once: sqn-sim's peak RSS against the on-the-fly
 *           run's. Requirement: at most 4 MiB.
 *   line    sqn-sim --time-scale 1 (line-rate pacing) and a 921600-baud push
 *           of ~256 KiB: elapsed against 10 bits per byte on the wire.
 *           Requirement: within 3 %. --line-baud N: the push at N baud
 *           after AT+IPR=N (3686400: Sequans' stp.py rate).
 *
 * Floor, push and full runs are interleaved round by round (9 by default)
 * so that the machine's noise falls on all of them; each row prints the
 * median, the spread (min-max) and every round.
 *
 * usage: bench_pingpong [--quick] [--rounds N] [--size BYTES]
 *          [--timeout-scale X] [--sim PATH] [--update PATH]
 *          [--no-full] [--no-line] [--line-size BYTES] [--line-baud N]
 * exit: 0 figures printed, 1 a run failed, 2 usage, 77 no pty / no tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "bench_util.h"
#include "pty_rate.h"
#include "sqnup/err.h"
#include "sqnup/stpm.h"
#include "sqnup/transport.h"

#ifndef SQN_SIM_EXE
#define SQN_SIM_EXE ""
#endif
#ifndef SQN_UPDATE_EXE
#define SQN_UPDATE_EXE ""
#endif

#define BENCH_SKIP 77
#define BENCH_WATCHDOG_S 120

/* ---- frame sequence -------------------------------------------------------- */

/* One exchange: the host writes `req` bytes, the modem answers `ack`. */
struct bench_step {
  uint32_t req, ack;
};

struct bench_seq {
  struct bench_step *steps;
  size_t n;
  uint64_t wire; /* bytes both ways */
};

static int bench_seq_make(struct bench_seq *s, uint64_t size) {
  size_t blocks = (size_t)((size + BENCH_BLOCK - 1) / BENCH_BLOCK);
  s->n = 3 + 2 * blocks;
  s->steps = calloc(s->n, sizeof *s->steps);
  if (!s->steps)
    return -1;
  size_t k = 0;
  s->steps[k++] = (struct bench_step){16, 16}; /* RESET */
  s->steps[k++] = (struct bench_step){16, 20}; /* OPEN */
  for (uint64_t off = 0; off < size; off += BENCH_BLOCK) {
    uint32_t l = (uint32_t)(size - off < BENCH_BLOCK ? size - off
                                                     : BENCH_BLOCK);
    s->steps[k++] = (struct bench_step){18, 16};     /* BLOCK_CMD */
    s->steps[k++] = (struct bench_step){16 + l, 18}; /* BLOCK */
  }
  s->steps[k++] = (struct bench_step){16, 16}; /* final RESET */
  s->wire = 0;
  for (size_t i = 0; i < s->n; i++)
    s->wire += s->steps[i].req + s->steps[i].ack;
  return 0;
}

/* ---- blocking helpers ------------------------------------------------------ */

static int bench_read_exact(int fd, uint8_t *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n > 0)
      got += (size_t)n;
    else if (n < 0 && errno == EINTR)
      continue;
    else
      return -1;
  }
  return 0;
}

static int bench_write_exact(int fd, const uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, buf + done, len - done);
    if (n > 0)
      done += (size_t)n;
    else if (n < 0 && errno == EINTR)
      continue;
    else
      return -1;
  }
  return 0;
}

/* ---- children: watchdog, spawn, wait --------------------------------------- */

static volatile pid_t bench_watched;

static void bench_on_alarm(int sig) {
  (void)sig;
  if (bench_watched > 0)
    kill(bench_watched, SIGKILL);
}

/*
 * Wait for `pid` to exit, killing it after `timeout_s` (SIGALRM). Returns
 * the wait status (or -1), with its rusage in *ru when not NULL.
 */
static int bench_wait(pid_t pid, unsigned timeout_s, struct rusage *ru) {
  int status = -1;
  struct rusage r;
  bench_watched = pid;
  alarm(timeout_s);
  for (;;) {
    pid_t w = wait4(pid, &status, 0, &r);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR) {
      status = -1;
      break;
    }
  }
  alarm(0);
  bench_watched = 0;
  if (ru)
    *ru = r;
  return status;
}

static bool bench_exited_ok(int status) {
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Peak RSS of a tool. wait4()'s ru_maxrss of a child forked from this
 * process would start at this process's RSS (the package buffers): Linux
 * carries the pre-exec high-water mark over execve. So tools are started
 * through a launcher: this binary re-executed with "--rss-launch FILE PROG
 * ARGS...", which is small, forks PROG, forwards SIGTERM to it, and writes
 * PROG's ru_maxrss and its own RSS at fork time (the floor of the figure)
 * into FILE. Its exit status is PROG's.
 */
static volatile pid_t bench_launched;

static void bench_forward_term(int sig) {
  if (bench_launched > 0)
    kill(bench_launched, sig);
}

static long bench_self_rss_kb(void) {
  char line[256];
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6))
      kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

static int bench_rss_launch(char **argv) {
  struct rusage ru;
  int status = 0;
  long self_kb = bench_self_rss_kb();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = bench_forward_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  pid_t pid = fork();
  if (pid < 0)
    return 126;
  if (pid == 0) {
    /* If the launcher is killed (watchdog), so is the tool. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(argv[1], &argv[1]);
    _exit(127);
  }
  bench_launched = pid;
  while (wait4(pid, &status, 0, &ru) != pid)
    if (errno != EINTR)
      return 126;
  FILE *f = fopen(argv[0], "w");
  if (f) {
    fprintf(f, "%ld %ld\n", ru.ru_maxrss, self_kb);
    fclose(f);
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The figures a launcher wrote; -1 when missing. */
static long bench_read_rss(const char *file, long *floor_kb) {
  long kb = -1, fl = -1;
  FILE *f = fopen(file, "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &kb, &fl) != 2)
      kb = -1;
    fclose(f);
  }
  if (floor_kb)
    *floor_kb = fl;
  return kb;
}

struct bench_sim {
  pid_t pid;
  char pty[256];
  char state[512];
  char log[512];
  char rss[512];
};

static const char *bench_sim_exe = SQN_SIM_EXE;
static const char *bench_update_exe = SQN_UPDATE_EXE;
static char bench_dir[256];

static bool bench_exe_ok(const char *p) { return p && *p && !access(p, X_OK); }

/* Copy a fixture state (fixtures/states/NAME.json) to a fresh file. */
static int bench_fresh_state(const char *dst, const char *name) {
  char src[512];
  size_t len = 0;
  snprintf(src, sizeof src, "%s/states/%s.json", SQN_FIXTURES, name);
  FILE *f = fopen(src, "rb");
  if (!f) {
    fprintf(stderr, "%s: %s\n", src, strerror(errno));
    return -1;
  }
  char buf[8192];
  len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (len == 0 || len == sizeof buf) {
    fprintf(stderr, "%s: unexpected size\n", src);
    return -1;
  }
  return bench_write_file(dst, buf, len);
}

/* Start sqn-sim on a fresh copy of fixture state `from`; read its pty
 * line. */
static int bench_sim_start(struct bench_sim *s, const char *tag,
                           const char *from, double scale) {
  int p[2];
  char scale_arg[32];
  memset(s, 0, sizeof *s);
  snprintf(s->state, sizeof s->state, "%s/%s-state.json", bench_dir, tag);
  snprintf(s->log, sizeof s->log, "%s/%s-sim.log", bench_dir, tag);
  snprintf(s->rss, sizeof s->rss, "%s/%s-sim.rss", bench_dir, tag);
  snprintf(scale_arg, sizeof scale_arg, "%g", scale);
  if (bench_fresh_state(s->state, from) != 0)
    return -1;
  if (pipe(p) != 0) {
    fprintf(stderr, "pipe: %s\n", strerror(errno));
    return -1;
  }
  fflush(NULL);
  s->pid = fork();
  if (s->pid < 0) {
    fprintf(stderr, "fork: %s\n", strerror(errno));
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (s->pid == 0) {
    int lfd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(p[1], 1);
    if (lfd >= 0)
      dup2(lfd, 2);
    close(p[0]);
    execl("/proc/self/exe", "bench_pingpong", "--rss-launch", s->rss,
          bench_sim_exe, "--state", s->state, "--time-scale", scale_arg,
          (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  /* The first stdout line is "pty: /dev/pts/N"; bounded wait for it. */
  char line[256];
  size_t have = 0;
  double end = bench_now() + 10;
  while (have < sizeof line - 1 && !memchr(line, '\n', have)) {
    struct pollfd pf = {p[0], POLLIN, 0};
    int ms = (int)((end - bench_now()) * 1000);
    if (ms <= 0 || poll(&pf, 1, ms) <= 0)
      break;
    ssize_t n = read(p[0], line + have, sizeof line - 1 - have);
    if (n <= 0)
      break;
    have += (size_t)n;
  }
  close(p[0]); /* sqn-sim prints nothing else and ignores SIGPIPE */
  line[have] = '\0';
  if (strncmp(line, "pty: ", 5) != 0 || !strchr(line, '\n')) {
    fprintf(stderr, "sqn-sim did not print its pty line (see %s)\n", s->log);
    kill(s->pid, SIGKILL);
    bench_wait(s->pid, 5, NULL);
    s->pid = 0;
    return -1;
  }
  line[strcspn(line, "\n")] = '\0';
  snprintf(s->pty, sizeof s->pty, "%s", line + 5);
  return 0;
}

/* SIGTERM, wait, peak RSS in *rss_kb; 0 if it exited cleanly. */
static int bench_sim_stop(struct bench_sim *s, long *rss_kb) {
  if (s->pid <= 0)
    return -1;
  kill(s->pid, SIGTERM);
  int st = bench_wait(s->pid, 10, NULL);
  if (rss_kb)
    *rss_kb = bench_read_rss(s->rss, NULL);
  s->pid = 0;
  if (!bench_exited_ok(st)) {
    fprintf(stderr, "sqn-sim exited with status 0x%x (see %s)\n", st, s->log);
    return -1;
  }
  return 0;
}

/* sqn-sim --state FILE --show --json: FFF valid with the package version. */
static int bench_check_state(const char *state) {
  int p[2];
  char out[8192];
  size_t have = 0;
  if (pipe(p) != 0)
    return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    execl(bench_sim_exe, "sqn-sim", "--state", state, "--show", "--json",
          (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    ssize_t n = read(p[0], out + have, sizeof out - 1 - have);
    if (n > 0 && have + (size_t)n < sizeof out - 1) {
      have += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    break;
  }
  close(p[0]);
  out[have] = '\0';
  if (!bench_exited_ok(bench_wait(pid, 10, NULL))) {
    fprintf(stderr, "sqn-sim --show --json %s failed\n", state);
    return -1;
  }
  json_error_t jerr;
  json_t *root = json_loads(out, 0, &jerr);
  if (!root) {
    fprintf(stderr, "sqn-sim --show --json: line %d: %s\n", jerr.line,
            jerr.text);
    return -1;
  }
  json_t *fff = json_object_get(root, "fff");
  const char *ver = json_string_value(json_object_get(fff, "version"));
  json_int_t build = json_integer_value(json_object_get(fff, "build"));
  int ok = json_is_true(json_object_get(fff, "valid")) && ver &&
           !strcmp(ver, BENCH_PKG_VERSION) && build == BENCH_PKG_BUILD;
  if (!ok)
    fprintf(stderr, "%s: fff is not a valid %s [%u]:\n%s\n", state,
            BENCH_PKG_VERSION, BENCH_PKG_BUILD, out);
  json_decref(root);
  return ok ? 0 : -1;
}

/* ---- floor ----------------------------------------------------------------- */

static void bench_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(fd, TCSANOW, &t);
  }
}

/* One floor run: seconds, -1 on failure, -2 when there is no pty. */
static double bench_floor(const struct bench_seq *s) {
  static uint8_t buf[BENCH_MTS + 64];
  int mfd, sfd;
  if (openpty(&mfd, &sfd, NULL, NULL, NULL) != 0)
    return -2;
  bench_raw(sfd);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(mfd);
    close(sfd);
    return -1;
  }
  if (pid == 0) {
    /* The "modem": read each request whole, then answer. */
    static uint8_t cbuf[BENCH_MTS + 64];
    close(sfd);
    for (size_t i = 0; i < s->n; i++)
      if (bench_read_exact(mfd, cbuf, s->steps[i].req) ||
          bench_write_exact(mfd, cbuf, s->steps[i].ack))
        _exit(1);
    /* Stay until the host closes its side: a master that closes first hangs
     * the pty up and the last ack could be lost in flight. */
    while (read(mfd, cbuf, sizeof cbuf) > 0)
      ;
    _exit(0);
  }
  close(mfd);
  memset(buf, 0x5a, sizeof buf);
  double t0 = bench_now();
  int bad = 0;
  for (size_t i = 0; i < s->n && !bad; i++)
    bad = bench_write_exact(sfd, buf, s->steps[i].req) ||
          bench_read_exact(sfd, buf, s->steps[i].ack);
  double t1 = bench_now();
  close(sfd);
  int st = bench_wait(pid, BENCH_WATCHDOG_S, NULL);
  if (bad || !bench_exited_ok(st)) {
    fprintf(stderr, "floor ping-pong failed\n");
    return -1;
  }
  return t1 - t0;
}

/* ---- host side of the sim push --------------------------------------------- */

struct bench_host {
  struct sqn_posix_tty tty;
  struct sqn_stpm stpm;
  const uint8_t *pkg;
  size_t len;
  uint64_t tx_bytes, rx_bytes;
  uint8_t tx[BENCH_MTS];
  uint8_t rx[256];
};

static int bench_host_write(void *user, const uint8_t *buf, size_t len) {
  struct bench_host *h = user;
  int rc = sqn_posix_tty_write_all(&h->tty, buf, len, 5000);
  if (rc > 0)
    h->tx_bytes += (uint64_t)rc;
  return rc;
}

static int bench_host_read(void *user, uint64_t off, uint8_t *buf,
                           size_t len) {
  struct bench_host *h = user;
  if (off > h->len || len > h->len - off)
    return -1;
  memcpy(buf, h->pkg + off, len);
  return (int)len;
}

/*
 * Send `cmd` and collect the reply until it contains `want` (0), ERROR or
 * `ms` pass (-1). The reply text goes to `out` when not NULL.
 */
static int bench_at(struct bench_host *h, const char *cmd, const char *want,
                    int ms, char *out, size_t cap) {
  char buf[1024];
  size_t have = 0;
  if (sqn_posix_tty_write_all(&h->tty, (const uint8_t *)cmd, strlen(cmd),
                              1000) < 0)
    return -1;
  double end = bench_now() + ms / 1000.0;
  int rc = -1;
  for (;;) {
    int left = (int)((end - bench_now()) * 1000);
    struct pollfd pf = {h->tty.fd, POLLIN, 0};
    if (left <= 0 || poll(&pf, 1, left) <= 0)
      break;
    ssize_t n = read(h->tty.fd, buf + have, sizeof buf - 1 - have);
    if (n <= 0)
      continue;
    have += (size_t)n;
    buf[have] = '\0';
    if (strstr(buf, want)) {
      rc = 0;
      break;
    }
    if (strstr(buf, "ERROR") || have == sizeof buf - 1)
      break;
  }
  buf[have] = '\0';
  if (out)
    snprintf(out, cap, "%s", buf);
  return rc;
}

/*
 * Push the package to a running sqn-sim: wake it, AT+SMSTPU="ON_THE_FLY",
 * STP. Seconds of the STP part, or -1.
 */
static double bench_push(const struct bench_sim *sim, const uint8_t *pkg,
                         size_t len, bool check_status, uint64_t *wire,
                         uint32_t line_baud) {
  struct bench_host *h = calloc(1, sizeof *h);
  double secs = -1;
  char reply[1024];
  if (!h)
    return -1;
  h->pkg = pkg;
  h->len = len;
  if (sqn_posix_tty_open(&h->tty, sim->pty, 921600, false) != 0) {
    fprintf(stderr, "%s\n", h->tty.err);
    free(h);
    return -1;
  }
  /* RECOVERY drops bytes while it boots (1.5 s x scale): poll with AT. */
  int up = -1;
  for (int i = 0; i < 20 && up != 0; i++)
    up = bench_at(h, "AT\r", "OK\r\n", 500, NULL, 0);
  if (up != 0) {
    fprintf(stderr, "sqn-sim does not answer AT (see %s)\n", sim->log);
    goto out_close_tty;
  }
  if (line_baud != 921600) {
    /* As stp.py does: AT+IPR (OK at the old rate), then follow exactly. */
    char cmd[40];
    snprintf(cmd, sizeof cmd, "AT+IPR=%u\r", (unsigned)line_baud);
    if (bench_at(h, cmd, "OK\r\n", 2000, reply, sizeof reply) != 0 ||
        sim_tty_set_rate(h->tty.fd, line_baud, line_baud) != 0 ||
        bench_at(h, "AT\r", "OK\r\n", 2000, reply, sizeof reply) != 0) {
      fprintf(stderr, "%s: no OK at %u baud: \"%s\"\n", cmd,
              (unsigned)line_baud, reply);
      goto out_close_tty;
    }
  }
  if (bench_at(h, "AT+SMSTPU=\"ON_THE_FLY\"\r", "OK\r\n", 2000, reply,
               sizeof reply) != 0) {
    fprintf(stderr, "AT+SMSTPU=\"ON_THE_FLY\" got \"%s\"\n", reply);
    goto out_close_tty;
  }
  struct sqn_stpm_config sc = {
      .tx_buf = h->tx,
      .tx_cap = sizeof h->tx,
      .rx_buf = h->rx,
      .rx_cap = sizeof h->rx,
      .total = len,
      .ack_ms = 5000,
      .final_ms = 5000,
      .retries = 2,
      .write = bench_host_write,
      .read = bench_host_read,
      .user = h,
  };
  if (sqn_stpm_init(&h->stpm, &sc) != 0)
    goto out_close_tty;
  /* The host side waits as the floor's host does, inside read() (bounded:
   * VMIN 0, VTIME 1 s), so that the row measures the emulator, not the
   * host's choice of poll() + read(). The stpm deadlines (5 s) are far
   * above that bound. */
  struct termios tio;
  int fl = fcntl(h->tty.fd, F_GETFL);
  if (fl < 0 || tcgetattr(h->tty.fd, &tio) != 0)
    goto out_close_tty;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 10;
  if (tcsetattr(h->tty.fd, TCSANOW, &tio) != 0 ||
      fcntl(h->tty.fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
    goto out_close_tty;
  double t0 = bench_now();
  if (sqn_stpm_start(&h->stpm, sqn_posix_now_ms()) != 0)
    goto out_close_tty;
  while (!sqn_stpm_done(&h->stpm)) {
    uint8_t buf[4096];
    ssize_t n = read(h->tty.fd, buf, sizeof buf);
    uint64_t now = sqn_posix_now_ms();
    if (n > 0) {
      h->rx_bytes += (uint64_t)n;
      sqn_stpm_feed(&h->stpm, now, buf, (size_t)n);
    }
    sqn_stpm_tick(&h->stpm, now);
  }
  double t1 = bench_now();
  (void)fcntl(h->tty.fd, F_SETFL, fl);
  if (h->stpm.result != 0 || h->stpm.acked != len || h->stpm.resends) {
    fprintf(stderr, "STP push ended %s (%s), %llu of %zu bytes, %u resends\n",
            sqn_stpm_state_name(h->stpm.state),
            sqn_err_name(h->stpm.result), (unsigned long long)h->stpm.acked,
            len, h->stpm.resends);
    goto out_close_tty;
  }
  if (check_status) {
    int ok = -1;
    for (int i = 0; i < 50 && ok != 0; i++) {
      if (bench_at(h, "AT+SMUPGRADE?\r", "OK\r\n", 1000, reply,
                   sizeof reply) != 0)
        break;
      if (strstr(reply, "success"))
        ok = 0;
      else if (strstr(reply, "fail"))
        break;
      else
        poll(NULL, 0, 100); /* on-going: the modem is still finishing */
    }
    if (ok != 0) {
      fprintf(stderr, "after the push: \"%s\"\n", reply);
      goto out_close_tty;
    }
  }
  if (wire)
    *wire = h->tx_bytes + h->rx_bytes;
  secs = t1 - t0;

out_close_tty:
  sqn_posix_tty_close(&h->tty);
  free(h);
  return secs;
}

/* One sim push round: fresh sqn-sim at scale 0, push, stop. */
static double bench_sim_push(const uint8_t *pkg, size_t len) {
  struct bench_sim sim;
  if (bench_sim_start(&sim, "push", "interrupted-upgrade", 0.0) != 0)
    return -1;
  double secs = bench_push(&sim, pkg, len, true, NULL, 921600);
  if (bench_sim_stop(&sim, NULL) != 0)
    secs = -1;
  return secs;
}

/* ---- full update ----------------------------------------------------------- */

struct bench_full_result {
  double secs;
  long rss_update_kb, rss_sim_kb;
  long launcher_kb; /* floor of the RSS figures */
};

/* One sqn-update run as a user starts it: `tscale` NULL (default options)
 * or a --timeout-scale value; `method` NULL (default) or "store"; sqn-sim
 * from fixtures/states/`from`. Timed from fork to exit. `rss`: started
 * through the RSS launcher (one more process and exec, about as long as
 * sqn-update's own start here) for its peak RSS; the timed rounds start
 * sqn-update directly, as a shell does. */
static int bench_full(const char *pkg_path, const char *tscale,
                      const char *method, const char *from, bool rss_run,
                      struct bench_full_result *r) {
  struct bench_sim sim;
  char log[512], rss[512];
  if (bench_sim_start(&sim, "full", from, 0.0) != 0)
    return -1;
  snprintf(log, sizeof log, "%s/full-update.log", bench_dir);
  snprintf(rss, sizeof rss, "%s/full-update.rss", bench_dir);
  const char *argv[16];
  int n = 0;
  if (rss_run) {
    argv[n++] = "bench_pingpong";
    argv[n++] = "--rss-launch";
    argv[n++] = rss;
  }
  const char *exe = rss_run ? "/proc/self/exe" : bench_update_exe;
  argv[n++] = bench_update_exe;
  argv[n++] = "--port";
  argv[n++] = sim.pty;
  if (tscale) {
    argv[n++] = "--timeout-scale";
    argv[n++] = tscale;
  }
  if (method) {
    argv[n++] = "--method";
    argv[n++] = method;
  }
  argv[n++] = pkg_path;
  argv[n] = NULL;
  fflush(NULL);
  double t0 = bench_now();
  pid_t pid = fork();
  if (pid < 0) {
    bench_sim_stop(&sim, NULL);
    return -1;
  }
  if (pid == 0) {
    int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lfd >= 0) {
      dup2(lfd, 1);
      dup2(lfd, 2);
    }
    execv(exe, (char *const *)argv);
    _exit(127);
  }
  int st = bench_wait(pid, BENCH_WATCHDOG_S, NULL);
  double t1 = bench_now();
  int src = bench_sim_stop(&sim, &r->rss_sim_kb);
  if (!bench_exited_ok(st)) {
    fprintf(stderr, "sqn-update exited with status 0x%x (see %s, %s)\n", st,
            log, sim.log);
    return -1;
  }
  if (src != 0 || bench_check_state(sim.state) != 0)
    return -1;
  r->secs = t1 - t0;
  r->rss_update_kb = rss_run ? bench_read_rss(rss, &r->launcher_kb) : -1;
  return 0;
}

/* ---- main ------------------------------------------------------------------ */

static void bench_cleanup_dir(void) {
  static const char *const names[] = {
      "push-state.json", "push-sim.log",   "full-state.json", "full-sim.log",
      "full-update.log", "line-state.json", "line-sim.log",   "pkg-a.dup",
      "pkg-b.dup",       "push-sim.rss",   "full-sim.rss",    "line-sim.rss",
      "full-update.rss", "pkg-c.dup"};
  char p[512];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", bench_dir, names[i]);
    unlink(p);
  }
  rmdir(bench_dir);
}

static void bench_usage(void) {
  fprintf(stderr,
          "usage: bench_pingpong [--quick] [--rounds N] [--size BYTES]\n"
          "         [--timeout-scale X] [--sim PATH] [--update PATH]\n"
          "         [--no-full] [--no-line] [--no-store] [--line-size BYTES]\n"
          "         [--line-baud N]\n");
}

int main(int argc, char **argv) {
  struct bench_opts o = {.rounds = BENCH_DEFAULT_ROUNDS,
                         .size = BENCH_PKG_SIZE};
  const char *tscale = NULL; /* default options: what a user runs */
  bool do_store = true;
  bool do_full = true, do_line = true, skipped = false;
  uint64_t line_size = 256 * 1024, small_size = 1024 * 1024;
  uint32_t line_baud = 921600;
  double tfl[BENCH_MAX_ROUNDS], tpu[BENCH_MAX_ROUNDS], tfu[BENCH_MAX_ROUNDS];
  double tfi[BENCH_MAX_ROUNDS];
  struct bench_full_result fr_big = {0}, fr_small = {0};
  struct bench_seq seq = {0};
  uint8_t *pkg = NULL, *small = NULL;
  size_t len = 0, small_len = 0;
  int rc = 1;

  if (argc >= 4 && !strcmp(argv[1], "--rss-launch"))
    return bench_rss_launch(&argv[2]);

  for (int i = 1; i < argc;) {
    i = bench_parse_opts(&o, argc, argv, i);
    if (i < 0)
      return 2;
    if (i >= argc)
      break;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--no-full")) {
      do_full = false;
      i++;
    } else if (!strcmp(a, "--no-line")) {
      do_line = false;
      i++;
    } else if (!strcmp(a, "--no-store")) {
      do_store = false;
      i++;
    } else if (v && !strcmp(a, "--timeout-scale")) {
      tscale = v;
      i += 2;
    } else if (v && !strcmp(a, "--sim")) {
      bench_sim_exe = v;
      i += 2;
    } else if (v && !strcmp(a, "--update")) {
      bench_update_exe = v;
      i += 2;
    } else if (v && !strcmp(a, "--line-baud")) {
      line_baud = (uint32_t)strtoul(v, NULL, 0);
      i += 2;
    } else if (v && !strcmp(a, "--line-size")) {
      line_size = strtoull(v, NULL, 0);
      i += 2;
    } else {
      bench_usage();
      return 2;
    }
  }
  if (o.quick) {
    /* The ctest smoke (< 10 s): scaled timeouts, labelled as such. */
    if (!tscale)
      tscale = "0.1";
    o.size = 64 * 1024;
    small_size = 16 * 1024;
    line_size = 8 * 1024;
    o.rounds = 1;
  }
  if (getenv("SQN_SIM"))
    bench_sim_exe = getenv("SQN_SIM");
  if (getenv("SQN_UPDATE"))
    bench_update_exe = getenv("SQN_UPDATE");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = bench_on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  const char *tmp = getenv("TMPDIR");
  snprintf(bench_dir, sizeof bench_dir, "%s/sqn-bench-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(bench_dir)) {
    fprintf(stderr, "mkdtemp %s: %s\n", bench_dir, strerror(errno));
    return 1;
  }

  pkg = bench_make_pkg(o.size, &len);
  if (!pkg || bench_seq_make(&seq, len) != 0)
    goto out_free;
  char pkg_path[512], small_path[512];
  snprintf(pkg_path, sizeof pkg_path, "%s/pkg-a.dup", bench_dir);
  snprintf(small_path, sizeof small_path, "%s/pkg-b.dup", bench_dir);
  if (bench_write_file(pkg_path, pkg, len) != 0)
    goto out_free;

  bool have_sim = bench_exe_ok(bench_sim_exe);
  bool have_update = bench_exe_ok(bench_update_exe);
  if (!have_sim) {
    printf("SKIP sim push, full update, line rate: sqn-sim not found (%s)\n",
           *bench_sim_exe ? bench_sim_exe : "not built");
    skipped = true;
  }
  if (have_sim && do_full && !have_update) {
    printf("SKIP full update: sqn-update not found (%s)\n",
           *bench_update_exe ? bench_update_exe : "not built");
    skipped = true;
  }
  do_full = do_full && have_sim && have_update;

  bench_print_machine();
  printf("package: %zu bytes, max transfer %u: %zu exchanges, %llu bytes on "
         "the wire; %d interleaved round(s)\n",
         len, BENCH_MTS, seq.n, (unsigned long long)seq.wire, o.rounds);
  printf("full update: sqn-update --port PTY %s%s%sPACKAGE against sqn-sim "
         "--time-scale 0 from healthy%s\n",
         tscale ? "--timeout-scale " : "", tscale ? tscale : "",
         tscale ? " " : "",
         tscale ? " (SCALED timeouts: not what a user runs)"
                : " (default options)");
  if (tscale)
    printf("  note: --timeout-scale %s\n", tscale);

  for (int r = 0; r < o.rounds; r++) {
    tfl[r] = bench_floor(&seq);
    if (tfl[r] == -2) {
      printf("SKIP: openpty failed: %s\n", strerror(errno));
      rc = BENCH_SKIP;
      goto out_free;
    }
    if (tfl[r] < 0)
      goto out_free;
    if (have_sim) {
      tpu[r] = bench_sim_push(pkg, len);
      if (tpu[r] < 0)
        goto out_free;
    }
    if (do_full) {
      if (bench_full(pkg_path, tscale, NULL, "interrupted-upgrade", false,
                     &fr_big) != 0)
        goto out_free;
      tfi[r] = fr_big.secs;
      if (bench_full(pkg_path, tscale, NULL, "healthy", false, &fr_big) != 0)
        goto out_free;
      tfu[r] = fr_big.secs;
    }
  }

  double v[BENCH_MAX_ROUNDS];
  memcpy(v, tfl, sizeof(double) * (size_t)o.rounds);
  double fl = bench_median(v, o.rounds);
  bench_header_rounds("pty push (median of the rounds, spread min-max; "
                      "time/base = time / floor)");
  bench_row_rounds("floor: plain stop-and-wait", (double)len, tfl, o.rounds,
                   fl);
  if (have_sim) {
    memcpy(v, tpu, sizeof(double) * (size_t)o.rounds);
    double pu = bench_median(v, o.rounds);
    memcpy(v, tfu, sizeof(double) * (size_t)o.rounds);
    double fu = do_full ? bench_median(v, o.rounds) : 0;
    bench_row_rounds("sim push: stpm -> sqn-sim -ts 0", (double)len, tpu,
                     o.rounds, fl);
    if (do_full) {
      bench_row_rounds(tscale ? "full update from healthy (SCALED)"
                              : "full update from healthy, defaults",
                       (double)len, tfu, o.rounds, fl);
      bench_row_rounds(tscale ? "full update from RECOVERY (SCALED)"
                              : "full update from RECOVERY, defaults",
                       (double)len, tfi, o.rounds, fl);
    }
    /* Per-round ratios (each run against the floor of its own round):
     * less sensitive to a noisy neighbour than a ratio of medians. */
    double rp[BENCH_MAX_ROUNDS], rf[BENCH_MAX_ROUNDS];
    for (int r = 0; r < o.rounds; r++) {
      rp[r] = tpu[r] / tfl[r];
      rf[r] = do_full ? tfu[r] / tfl[r] : 0;
    }
    printf("per-round ratio to that round's floor, sim push:");
    for (int r = 0; r < o.rounds; r++)
      printf(" %.2f", rp[r]);
    double rpm = bench_median(rp, o.rounds);
    printf(" (median %.2f)\n", rpm);
    double rfm = 0;
    if (do_full) {
      printf("per-round ratio to that round's floor, full update:");
      for (int r = 0; r < o.rounds; r++)
        printf(" %.2f", rf[r]);
      rfm = bench_median(rf, o.rounds);
      printf(" (median %.2f)\n", rfm);
    }
    /* Requirements hold for real sizes; the quick smoke only reports. */
    if (!o.quick) {
      bench_require("sim push / floor (medians)", pu / fl, "<=", 1.2);
      bench_require("sim push / floor (per-round median)", rpm, "<=", 1.2);
      if (do_full && !tscale) {
        bench_require("full update (defaults) / floor (medians)", fu / fl,
                      "<=", 1.5);
        bench_require("full update / floor (per-round median)", rfm, "<=",
                      1.5);
      }
    }
  }

  if (do_full) {
    small = bench_make_pkg(small_size, &small_len);
    if (!small || bench_write_file(small_path, small, small_len) != 0 ||
        bench_full(small_path, tscale, NULL, "healthy", true, &fr_small) != 0 ||
        bench_full(pkg_path, tscale, NULL, "healthy", true, &fr_big) != 0)
      goto out_free;
    printf("\n== peak RSS (ru_maxrss through a launcher of %ld KiB) of one "
           "full update\n", fr_big.launcher_kb);
    printf("%-14s %16s %14s\n", "package bytes", "sqn-update KiB",
           "sqn-sim KiB");
    printf("%-14zu %16ld %14ld\n", small_len, fr_small.rss_update_kb,
           fr_small.rss_sim_kb);
    printf("%-14zu %16ld %14ld\n", len, fr_big.rss_update_kb,
           fr_big.rss_sim_kb);
    printf("RSS growth for %.1fx the package: sqn-update %+ld KiB, sqn-sim "
           "%+ld KiB\n",
           (double)len / (double)small_len,
           fr_big.rss_update_kb - fr_small.rss_update_kb,
           fr_big.rss_sim_kb - fr_small.rss_sim_kb);
  }

  if (do_full && do_store) {
    /* The store path: the whole copy goes into the modem's file system
     * before AT+SMUPGRADE (at most 4 MiB). */
    struct bench_full_result fr_store = {0};
    size_t store_len = 0;
    char store_path[512];
    snprintf(store_path, sizeof store_path, "%s/pkg-c.dup", bench_dir);
    uint8_t *sp = bench_make_pkg(o.quick ? 64 * 1024 : 4u * 1024 * 1024,
                                 &store_len);
    int src = !sp || bench_write_file(store_path, sp, store_len) != 0 ||
              bench_full(store_path, tscale, "store", "healthy", true,
                         &fr_store) != 0;
    free(sp);
    if (src)
      goto out_free;
    printf("\n== peak RSS of sqn-sim: --method store against on-the-fly\n");
    printf("%-34s %14s %14s\n", "run", "package bytes", "sqn-sim KiB");
    printf("%-34s %14zu %14ld\n", "on-the-fly (default)", small_len,
           fr_small.rss_sim_kb);
    printf("%-34s %14zu %14ld\n", "on-the-fly (default)", len,
           fr_big.rss_sim_kb);
    printf("%-34s %14zu %14ld\n", "--method store", store_len,
           fr_store.rss_sim_kb);
    printf("store run: %.2f s wall\n", fr_store.secs);
    if (!o.quick)
      bench_require("sqn-sim peak RSS, store path (MiB)",
                    (double)fr_store.rss_sim_kb / 1024.0, "<=", 4.0);
  }

  if (do_line && have_sim) {
    size_t ll = 0;
    uint64_t wire = 0;
    uint8_t *lp = bench_make_pkg(line_size, &ll);
    struct bench_sim sim;
    if (!lp)
      goto out_free;
    if (bench_sim_start(&sim, "line", "interrupted-upgrade", 1.0) != 0) {
      free(lp);
      goto out_free;
    }
    double secs = bench_push(&sim, lp, ll, false, &wire, line_baud);
    free(lp);
    if (bench_sim_stop(&sim, NULL) != 0 || secs < 0)
      goto out_free;
    double expect = (double)wire * 10.0 / (double)line_baud;
    printf("\n== line rate: sqn-sim --time-scale 1, %u baud%s, 8N1\n",
           (unsigned)line_baud, line_baud != 921600 ? " (after AT+IPR)" : "");
    printf("%-34s %12s %11s %11s %9s\n", "what", "wire bytes", "elapsed ms",
           "expected ms", "ratio");
    printf("%-34s %12llu %11.1f %11.1f %8.3fx\n", "STP push of the package",
           (unsigned long long)wire, secs * 1e3, expect * 1e3,
           secs / expect);
    /* A tiny quick run is dominated by per-exchange latency: report only. */
    if (!o.quick) {
      bench_require("line-rate elapsed / expected", secs / expect, "<=", 1.03);
      bench_require("line-rate elapsed / expected", secs / expect, ">=", 0.97);
    }
  }
  rc = skipped ? BENCH_SKIP : 0;

out_free:
  if (rc == 0 || rc == BENCH_SKIP)
    bench_cleanup_dir();
  else
    fprintf(stderr, "logs kept in %s\n", bench_dir);
  free(seq.steps);
  free(small);
  free(pkg);
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario runner.
 *
 * Overview. One modem model (sim_model, sans-IO) lives for the whole
 * scenario; each run talks to it through one of two links:
 *
 *   in-process   sqn_update and the model on the bridge (bridge.h): byte
 *                queues both ways, the virtual clock jumping to the
 *                earliest deadline. Nothing sleeps; a run whose next event
 *                lies past its bound is stopped and reported.
 *
 *   pty          child process (sqn-update or an external host such as
 *                sqn-chat with the 2018 Pycom script) on the pty slave;
 *                this process owns the master and feeds the model. Virtual
 *                time runs 1/wall_scale times faster than the wall clock
 *                (the child gets --timeout-scale wall_scale), every wait is
 *                a poll() bounded by the model's next deadline and the
 *                run's bound, and the child is killed (by its pid) when the
 *                bound passes.
 *
 *   --pty        real processes: sqn-sim (simproc.c) on a state file with
 *                the run's faults in a YAML file, the host on its pty;
 *                narration and checks come from sqn-sim's trace file and
 *                state file. sqn-sim lives across runs; a power cycle (or a
 *                run with faults of its own) restarts it on the same file.
 *
 * After every run, the post-conditions (post.c: commands sent to a modem in
 * the wrong state, from the trace) and the updater's report against the
 * emulator's state. After the last run, the invariants (faults.md section 2): success only
 * with the package's version running in FFF; every run within its bound;
 * and, unless the scenario says the end state is unrecoverable, a fault-free
 * in-process rerun after a power cycle succeeds.
 */
#include "run.h"

#include "pty_rate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "judge.h"
#include "pkgbuild.h"
#include "post.h"
#include "simproc.h"
#include "sim/state_file.h"

#define HARNESS_SETTLE_US (60u * 1000000ull)

const char *harness_status_name(enum harness_status s) {
  switch (s) {
  case HARNESS_PASS: return "PASS";
  case HARNESS_FAIL: return "FAIL";
  case HARNESS_SKIP: return "SKIP";
  }
  return "?";
}

/* --- the scenario context ------------------------------------------------ */

struct harness_ctx {
  const struct harness_scenario *s;
  const struct harness_opts *o;
  struct harness_result *r;
  struct harness_pkg pkg;
  struct sim_state start;
  struct sim_modem *m;
  struct harness_bridge br; /* the clock, and the link in-process */
  /* AT lines the modem received in the current run, '\n'-separated. */
  char *sent;
  size_t sent_len, sent_cap;
  /* host process output in the current run */
  char *out;
  size_t out_len, out_cap;
  bool record; /* narrate into r->narr (false during the rerun check) */
  struct harness_narrator quiet;
  char tmpdir[256];
  char pkg_path[512], elf_path[512];
  uint8_t tx_buf[SQN_UPDATE_TX_GOOD];
  uint8_t rx_buf[SQN_UPDATE_TX_GOOD];
  struct sqn_update u;
  bool no_elf;
  /* post-conditions from the trace (post.h), over the whole scenario */
  struct harness_post post;
  /* the updater's final report in the current run */
  struct harness_report rep;
  /* real processes (--pty): the sqn-sim child and what it left */
  bool real;
  char log_path[600];          /* sqn-update --log of the current run */
  unsigned log_seq;
  struct harness_simproc sim;
  struct sim_state real_state; /* the state file after the last run */
  bool real_state_ok;
};

static struct harness_narrator *harness_narr(struct harness_ctx *c) {
  return c->record ? &c->r->narr : &c->quiet;
}

/* The modem as the checks see it: the model, or (--pty) what sqn-sim's
 * state file and trace say. */
static const struct sim_state *harness_cur_state(struct harness_ctx *c) {
  return c->real && c->real_state_ok ? &c->real_state : sim_modem_state(c->m);
}

static int harness_cur_smod(struct harness_ctx *c) {
  if (c->real)
    return c->post.smod;
  return sim_modem_powered(c->m) ? (int)sim_modem_smod(c->m) : -1;
}

/* The modem as the judge sees it: the model, or (--pty) sqn-sim's trace
 * (the mode; the process runs, so it is powered) and state file. */
static void harness_cur_view(struct harness_ctx *c,
                             struct harness_modem_view *v) {
  if (!c->real) {
    harness_view_model(v, c->m);
    return;
  }
  v->powered = true;
  v->smod = c->post.smod;
  v->fff = harness_cur_state(c)->fff;
}

static struct harness_target harness_pkg_target(const struct harness_ctx *c) {
  struct harness_target t = {c->pkg.version_text, c->pkg.version.build};
  return t;
}

static void harness_str_append(char **buf, size_t *len, size_t *cap,
                               const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t nc = *cap ? *cap * 2 : 4096;
    while (nc < *len + n + 1)
      nc *= 2;
    char *b = realloc(*buf, nc);
    if (!b)
      return;
    *buf = b;
    *cap = nc;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
}

static void harness_sim_tx(void *user, const uint8_t *buf, size_t len) {
  struct harness_ctx *c = user;
  harness_bridge_to_host(&c->br, buf, len);
}

static void harness_sim_trace(void *user, const struct sim_trace_event *ev) {
  struct harness_ctx *c = user;
  harness_post_event(&c->post, ev);
  if (c->record)
    harness_golden_event(&c->r->golden, ev);
  if (ev->ev.type == SIM_EVENT_AT_LINE && ev->kind == SIM_TRACE_AT_RX) {
    const char *t = ev->ev.line;
    harness_str_append(&c->sent, &c->sent_len, &c->sent_cap, t, strlen(t));
    harness_str_append(&c->sent, &c->sent_len, &c->sent_cap, "\n", 1);
  }
  harness_narrate_sim(harness_narr(c), ev);
}

static int harness_modem_create(struct harness_ctx *c,
                                const struct sim_state *st) {
  struct sim_modem_config mc = {
      .profile = c->s->profile,
      .state = st,
      .time_scale = 1.0,
      .tx = harness_sim_tx,
      .persist = NULL,
      .trace = harness_sim_trace,
      .user = c,
  };
  if (c->m)
    sim_modem_free(c->m);
  c->m = sim_modem_new(&mc, c->br.now_us);
  c->br.m = c->m;
  return c->m ? 0 : -1;
}

/* Power cycle = a new model from the flash the old one left. */
static int harness_power_cycle(struct harness_ctx *c) {
  struct sim_state st;
  memset(&st, 0, sizeof(st));
  if (sim_state_copy(&st, sim_modem_state(c->m)) != 0)
    return -1;
  harness_narrate(harness_narr(c), c->br.now_us,
                  "Harness: full power cycle of the modem (faults cleared)");
  harness_post_power(&c->post);
  int rc = harness_modem_create(c, &st);
  sim_state_release(&st);
  return rc;
}

/* --- in-process updater ---------------------------------------------------- */

static int harness_upd_write(void *user, const uint8_t *buf, size_t len) {
  struct harness_ctx *c = user;
  return harness_bridge_to_modem(&c->br, buf, len) != 0 ? -1 : (int)len;
}

static int harness_upd_set_baud(void *user, uint32_t baud) {
  struct harness_ctx *c = user;
  /* The host reopens the port: bytes in flight at the old rate are lost. */
  harness_bridge_drop_to_host(&c->br);
  sim_modem_set_host_baud(c->m, baud);
  return 0;
}

static int harness_upd_read(void *user, enum sqn_update_src src,
                            uint64_t off, uint8_t *buf, size_t len) {
  struct harness_ctx *c = user;
  const uint8_t *d = src == SQN_UPDATE_SRC_PACKAGE ? c->pkg.data : c->pkg.elf;
  size_t n = src == SQN_UPDATE_SRC_PACKAGE ? c->pkg.len : c->pkg.elf_len;
  if (src == SQN_UPDATE_SRC_PACKAGE && c->pkg.missing)
    return -1;
  if (!d || off > n || len > n - off)
    return -1;
  memcpy(buf, d + off, len);
  return (int)len;
}

static void harness_upd_event(void *user, const struct sqn_update_event *ev) {
  struct harness_ctx *c = user;
  harness_narrate_update(harness_narr(c), ev);
  if (ev->kind == SQN_UPDATE_EV_INFO || ev->kind == SQN_UPDATE_EV_DONE)
    harness_report_event(&c->rep, sqn_update_event_name(ev->kind), ev->text);
  if (ev->kind == SQN_UPDATE_EV_LOG || ev->kind == SQN_UPDATE_EV_DONE) {
    const char *t = ev->text ? ev->text : "";
    harness_str_append(&c->out, &c->out_len, &c->out_cap, t, strlen(t));
    harness_str_append(&c->out, &c->out_len, &c->out_cap, "\n", 1);
  }
}

struct harness_outcome {
  int err;         /* in-process: 0 or SQN_E_*; processes: see exit */
  int exit;        /* process exit status, -1 when killed / in-process */
  bool inproc;
  bool past_bound;
  bool stuck;      /* nothing left to happen but the host was not done */
  double wall_ms;
};

static int harness_run_inproc(struct harness_ctx *c,
                              const struct harness_updater_yaml *uy,
                              bool force, uint64_t bound_us,
                              struct harness_outcome *out) {
  struct sqn_update_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.mode = SQN_UPDATE_MODE_UPGRADE;
  cfg.tx_buf = c->tx_buf;
  cfg.tx_cap = sizeof(c->tx_buf);
  cfg.rx_buf = c->rx_buf;
  cfg.rx_cap = sizeof(c->rx_buf);
  cfg.pkg_size = c->pkg.len;
  bool no_elf = c->no_elf || (uy && uy->no_updater_elf);
  cfg.updater_size = (c->pkg.elf && !no_elf) ? c->pkg.elf_len : 0;
  cfg.force = force || (uy && uy->force);
  cfg.timeout_scale = (uy && uy->timeout_scale > 0) ? uy->timeout_scale : 1.0;
  cfg.write = harness_upd_write;
  cfg.set_baud = harness_upd_set_baud;
  cfg.read_pkg = harness_upd_read;
  cfg.event = harness_upd_event;
  cfg.user = c;
  out->inproc = true;
  out->exit = -1;
  if (sqn_update_init(&c->u, &cfg) != 0) {
    out->err = SQN_E_BAD_ARGUMENTS;
    return 0;
  }
  sim_modem_set_host_baud(c->m, 921600);
  sqn_update_start(&c->u, c->br.now_us / 1000u);
  c->br.host = &harness_bridge_sqn_update;
  c->br.h = &c->u;
  switch (harness_bridge_run(&c->br, bound_us)) {
  case HARNESS_BRIDGE_OOM:
    return -1;
  case HARNESS_BRIDGE_PAST_BOUND:
    out->past_bound = true;
    break;
  case HARNESS_BRIDGE_STUCK:
    out->stuck = true;
    break;
  default:
    break;
  }
  out->err = sqn_update_done(&c->u) ? sqn_update_result(&c->u) : 1;
  return 0;
}

/* --- processes on a pty ---------------------------------------------------- */


void harness_find_tool(const struct harness_opts *o, const char *name,
                       char *out, size_t cap) {
  if (o->bin_dir) {
    snprintf(out, cap, "%s/%s", o->bin_dir, name);
    if (access(out, X_OK) == 0)
      return;
  }
  char exe[512];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
      *slash = '\0'; /* <build>/harness */
    slash = strrchr(exe, '/');
    if (slash)
      *slash = '\0'; /* <build> */
    /* the build tree's folders, then <prefix>/bin of an installed tree */
    const char *subs[] = {"%s/%s", "%s/sim/%s", "%s/harness/chat/%s",
                          "%s/core/tools/%s/%s", "%s/harness/%s",
                          "%s/bin/%s"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
      if (i == 3)
        snprintf(out, cap, "%s/core/tools/%s/%s", exe, name, name);
      else
        snprintf(out, cap, subs[i], exe, name);
      if (access(out, X_OK) == 0)
        return;
    }
  }
  snprintf(out, cap, "%s", name);
}

/* Is `prog` runnable: a path that is executable, or a name on PATH? */
static bool harness_tool_exists(const char *prog) {
  if (strchr(prog, '/'))
    return access(prog, X_OK) == 0;
  const char *path = getenv("PATH");
  while (path && *path) {
    size_t n = strcspn(path, ":");
    char cand[4096];
    /* A directory too long for the buffer cannot be checked: skip it
     * rather than test a truncated path that names another file. */
    int len = snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, path, prog);
    if (len > 0 && (size_t)len < sizeof(cand) && access(cand, X_OK) == 0)
      return true;
    path += n;
    if (*path == ':')
      path++;
  }
  return false;
}

#define HARNESS_ARGV_MAX 64

/* Split a command template on blanks (double quotes group), substituting
 * {pty} {pkg} {elf} {fixtures} {scale} {tmp}. The first word is resolved as
 * a tool. */
static int harness_argv_build(struct harness_ctx *c, const char *tmpl,
                              const char *pty, double scale, char **argv,
                              char *store, size_t store_cap) {
  size_t used = 0;
  int argc = 0;
  const char *p = tmpl;
  char scale_s[32];
  snprintf(scale_s, sizeof(scale_s), "%g", scale);
  while (*p) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      break;
    if (argc >= HARNESS_ARGV_MAX - 1)
      return -1;
    char word[1024];
    size_t w = 0;
    bool q = false;
    while (*p && (q || (*p != ' ' && *p != '\t'))) {
      if (*p == '"') {
        q = !q;
        p++;
        continue;
      }
      if (*p == '{') {
        const char *end = strchr(p, '}');
        if (end) {
          char key[32];
          size_t kl = (size_t)(end - p - 1);
          if (kl < sizeof(key)) {
            memcpy(key, p + 1, kl);
            key[kl] = '\0';
            const char *val = NULL;
            if (!strcmp(key, "pty")) val = pty;
            else if (!strcmp(key, "pkg")) val = c->pkg_path;
            else if (!strcmp(key, "elf")) val = c->elf_path;
            else if (!strcmp(key, "fixtures")) val = c->o->fixtures;
            else if (!strcmp(key, "scale")) val = scale_s;
            else if (!strcmp(key, "tmp")) val = c->tmpdir;
            if (val) {
              size_t vl = strlen(val);
              if (w + vl >= sizeof(word))
                return -1;
              memcpy(word + w, val, vl);
              w += vl;
              p = end + 1;
              continue;
            }
          }
        }
      }
      if (w + 1 >= sizeof(word))
        return -1;
      word[w++] = *p++;
    }
    word[w] = '\0';
    char resolved[1024];
    if (argc == 0 && !strchr(word, '/')) {
      harness_find_tool(c->o, word, resolved, sizeof(resolved));
    } else {
      snprintf(resolved, sizeof(resolved), "%s", word);
    }
    size_t rl = strlen(resolved) + 1;
    if (used + rl > store_cap)
      return -1;
    memcpy(store + used, resolved, rl);
    argv[argc++] = store + used;
    used += rl;
  }
  argv[argc] = NULL;
  return argc;
}

static void harness_host_output(struct harness_ctx *c, char *line_buf,
                                size_t *line_len, const char *buf, size_t n,
                                bool flush) {
  for (size_t i = 0; i < n; i++) {
    char ch = buf[i];
    if (ch == '\n' || *line_len >= 400) {
      line_buf[*line_len] = '\0';
      if (*line_len)
        harness_narrate_host_says(harness_narr(c), c->br.now_us,
                                  line_buf);
      harness_str_append(&c->out, &c->out_len, &c->out_cap, line_buf,
                         *line_len);
      harness_str_append(&c->out, &c->out_len, &c->out_cap, "\n", 1);
      *line_len = 0;
      if (ch == '\n')
        continue;
    }
    if (ch != '\r')
      line_buf[(*line_len)++] = ch;
  }
  if (flush && *line_len) {
    const char nl = '\n';
    harness_host_output(c, line_buf, line_len, &nl, 1, false);
  }
}

/* In a forked child: stdout and stderr to `out`, stdin from /dev/null,
 * then exec `argv`; never returns. */
static _Noreturn void harness_child_exec(int out, char *const *argv) {
  dup2(out, 1);
  dup2(out, 2);
  close(out);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    dup2(devnull, 0);
    close(devnull);
  }
  execvp(argv[0], argv);
  fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* Replace @PTY@ in argv by the pty's name (kept in `store`). */
static void harness_argv_pty(char **argv, const char *pty,
                             char store[][256]) {
  for (int i = 0; argv[i]; i++) {
    char *at = strstr(argv[i], "@PTY@");
    if (at) {
      snprintf(store[i], 256, "%.*s%s%s", (int)(at - argv[i]), argv[i], pty,
               at + 5);
      argv[i] = store[i];
    }
  }
}

/* Kill the host (by pid) when its bound passed: SIGTERM, a moment, SIGKILL. */
static void harness_kill_host(pid_t pid, int *status) {
  kill(pid, SIGTERM);
  struct timespec ts = {0, 200000000};
  nanosleep(&ts, NULL);
  kill(pid, SIGKILL);
  waitpid(pid, status, 0);
}

/* A host process on a pty whose master the in-process model serves. */
struct harness_pty_run {
  int master, slave, out; /* out: the host's stdout+stderr (a pipe) */
  pid_t pid;
  double scale, w0;
  uint64_t v0;
  char line[512];
  size_t line_len;
  bool pipe_open;
};

/* Virtual time from the wall clock. */
static void harness_pty_clock(struct harness_ctx *c,
                              const struct harness_pty_run *p) {
  double wn = harness_wall_now();
  harness_bridge_advance_to(&c->br,
                            p->v0 + (uint64_t)((wn - p->w0) / p->scale * 1e6));
}

/* Wait at most until the model's next deadline (or 50 ms) for bytes from
 * the host or its output. */
static int harness_pty_wait(struct harness_ctx *c, struct harness_pty_run *p,
                            struct pollfd pf[2]) {
  uint64_t dl = sim_modem_next_deadline(c->m);
  double wait_s = 0.05;
  if (dl != SIM_NEVER && dl > c->br.now_us) {
    double d = (double)(dl - c->br.now_us) / 1e6 * p->scale;
    if (d < wait_s)
      wait_s = d;
  } else if (dl != SIM_NEVER) {
    wait_s = 0;
  }
  pf[0] = (struct pollfd){.fd = p->master, .events = POLLIN};
  pf[1] = (struct pollfd){.fd = p->out, .events = POLLIN};
  if (harness_bridge_pending_to_host(&c->br))
    pf[0].events |= POLLOUT;
  int nfds = p->pipe_open ? 2 : 1;
  return poll(pf, (nfds_t)nfds, (int)(wait_s * 1000.0 + 0.999));
}

/* One turn: timers, the host's line rate, modem -> host, a bounded wait,
 * host -> modem, the host's output. -1 when poll() failed. */
static int harness_pty_turn(struct harness_ctx *c, struct harness_pty_run *p,
                            uint8_t *buf, size_t cap) {
  if (sim_modem_next_deadline(c->m) <= c->br.now_us)
    sim_modem_tick(c->m, c->br.now_us);
  /* The host's exact rates, as sqn-sim reads them (0: unreadable). */
  uint32_t host_in, host_out;
  sim_pty_host_rate(p->master, &host_in, &host_out);
  sim_modem_set_host_rate(c->m, host_in, host_out);
  while (harness_bridge_pending_to_host(&c->br)) {
    ssize_t w = write(p->master, harness_bridge_peek_to_host(&c->br),
                      harness_bridge_pending_to_host(&c->br));
    if (w <= 0)
      break;
    harness_bridge_consume_to_host(&c->br, (size_t)w);
  }
  struct pollfd pf[2];
  if (harness_pty_wait(c, p, pf) < 0 && errno != EINTR)
    return -1;
  harness_pty_clock(c, p);
  if (pf[0].revents & POLLIN) {
    ssize_t n = read(p->master, buf, cap);
    if (n > 0)
      sim_modem_feed(c->m, c->br.now_us, buf, (size_t)n);
  }
  if (p->pipe_open && (pf[1].revents & (POLLIN | POLLHUP))) {
    ssize_t n = read(p->out, buf, cap);
    if (n > 0)
      harness_host_output(c, p->line, &p->line_len, (const char *)buf,
                          (size_t)n, false);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      p->pipe_open = false;
  }
  return 0;
}

/* A fresh raw pty at 921600 and a pipe for the host's output; 0 or -1. */
static int harness_pty_open(struct harness_ctx *c, struct harness_pty_run *p,
                            char *slave_name, size_t cap) {
  int pipefd[2];
  (void)cap;
  if (openpty(&p->master, &p->slave, slave_name, NULL, NULL) != 0) {
    snprintf(c->r->reason, sizeof(c->r->reason),
             "openpty failed: %s (pty runs need /dev/ptmx)", strerror(errno));
    return -1;
  }
  struct termios tio;
  if (tcgetattr(p->slave, &tio) == 0) {
    cfmakeraw(&tio);
    cfsetispeed(&tio, B921600);
    cfsetospeed(&tio, B921600);
    tcsetattr(p->slave, TCSANOW, &tio);
  }
  if (pipe(pipefd) != 0) {
    close(p->master);
    close(p->slave);
    return -1;
  }
  p->out = pipefd[0];
  return pipefd[1];
}

/*
 * Run argv on a fresh pty whose master drives the in-process model. The
 * child's stdout and stderr go through a pipe into the transcript.
 */
static int harness_run_pty(struct harness_ctx *c, char **argv,
                           double scale, uint64_t bound_us,
                           struct harness_outcome *out) {
  static char pty_arg[HARNESS_ARGV_MAX][256];
  struct harness_pty_run p = {.scale = scale, .pipe_open = true};
  char slave_name[128];
  out->exit = -1;
  int wr = harness_pty_open(c, &p, slave_name, sizeof(slave_name));
  if (wr < 0) {
    if (!c->r->reason[0])
      snprintf(c->r->reason, sizeof(c->r->reason), "cannot start %s: %s",
               argv[0], strerror(errno));
    return -1;
  }
  harness_argv_pty(argv, slave_name, pty_arg);
  p.pid = fork();
  if (p.pid < 0) {
    snprintf(c->r->reason, sizeof(c->r->reason), "cannot start %s: %s",
             argv[0], strerror(errno));
    close(wr);
    close(p.out);
    close(p.master);
    close(p.slave);
    return -1;
  }
  if (p.pid == 0) {
    close(p.master);
    close(p.out);
    close(p.slave);
    harness_child_exec(wr, argv);
  }
  close(wr);
  /* Keep the slave open so the master never sees EOF/EIO between the
   * child's opens and closes of the port. */
  fcntl(p.master, F_SETFL, fcntl(p.master, F_GETFL) | O_NONBLOCK);
  fcntl(p.out, F_SETFL, fcntl(p.out, F_GETFL) | O_NONBLOCK);
  p.w0 = harness_wall_now();
  p.v0 = c->br.now_us;
  uint64_t limit = p.v0 + bound_us;
  int status = 0;
  bool exited = false;
  uint8_t buf[65536];
  while (!exited || p.pipe_open) {
    harness_pty_clock(c, &p);
    if (c->br.now_us >= limit && !exited) {
      out->past_bound = true;
      harness_kill_host(p.pid, &status);
      break;
    }
    if (harness_pty_turn(c, &p, buf, sizeof(buf)) != 0)
      break;
    if (!exited && waitpid(p.pid, &status, WNOHANG) == p.pid)
      exited = true;
  }
  harness_host_output(c, p.line, &p.line_len, "", 0, true);
  out->exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  out->err = out->exit;
  close(p.out);
  close(p.master);
  close(p.slave);
  return 0;
}

/* --- real processes (--pty): sqn-sim and the host ----------------------- */

static void harness_real_trace(void *user, const struct sim_trace_event *ev) {
  struct harness_ctx *c = user;
  harness_bridge_advance_to(&c->br, ev->t_us);
  harness_sim_trace(c, ev);
}

/* Read what sqn-sim traced so far; -1 (reason set) on a broken trace. */
static int harness_real_poll(struct harness_ctx *c) {
  char err[512];
  harness_bridge_advance_to(&c->br, harness_simproc_vnow(&c->sim));
  if (harness_simproc_poll_trace(&c->sim, harness_real_trace, c, err,
                                 sizeof(err)) < 0) {
    snprintf(c->r->reason, sizeof(c->r->reason), "%s", err);
    return -1;
  }
  return 0;
}

/* Is sqn-sim still running? Reaps it (and says why) when it is not. */
static bool harness_real_alive(struct harness_ctx *c) {
  if (c->sim.pid <= 0)
    return false;
  int status;
  if (waitpid(c->sim.pid, &status, WNOHANG) != c->sim.pid)
    return true;
  c->sim.pid = 0;
  char tail[300];
  harness_simproc_stderr(&c->sim, tail, sizeof(tail));
  harness_narrate(harness_narr(c), c->br.now_us,
                  "Harness: sqn-sim exited on its own (status %d)%s%s",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                  tail[0] ? ": " : "", tail);
  return false;
}

/*
 * Wait (bounded by `max_us` of virtual time) until the modem is up in some
 * mode per its trace, as the in-process settle does: a host starts talking
 * to a modem that finished booting. A modem that never comes up (silent,
 * bricked) just uses up the bound.
 */
static int harness_real_settle(struct harness_ctx *c, uint64_t max_us) {
  uint64_t limit = harness_simproc_vnow(&c->sim) + max_us;
  for (;;) {
    if (harness_real_poll(c) != 0)
      return -1;
    if (c->post.smod >= 0 || !harness_real_alive(c) ||
        harness_simproc_vnow(&c->sim) >= limit)
      return 0;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}

/* The state file as sqn-sim last saved it. */
static int harness_real_load_state(struct harness_ctx *c) {
  char err[512];
  struct sim_state st;
  memset(&st, 0, sizeof(st));
  if (sim_state_load(c->sim.state_path, &st, err, sizeof(err)) != 0) {
    snprintf(c->r->reason, sizeof(c->r->reason),
             "cannot read sqn-sim's state file: %s", err);
    return -1;
  }
  if (c->real_state_ok)
    sim_state_release(&c->real_state);
  c->real_state = st;
  c->real_state_ok = true;
  return 0;
}

/*
 * (Re)start sqn-sim on the state file with these faults: the first start,
 * and every power cycle. A running sqn-sim is stopped first (SIGTERM: it
 * saves the flash and exits, which is a power cut for the modem).
 */
static int harness_real_start(struct harness_ctx *c,
                              const struct sim_fault *faults, size_t n) {
  struct harness_narrator *nr = harness_narr(c);
  if (c->sim.pid > 0)
    harness_simproc_stop(&c->sim, harness_real_trace, c);
  char bin[1024], err[900];
  harness_find_tool(c->o, "sqn-sim", bin, sizeof(bin));
  harness_post_power(&c->post);
  double scale = c->o->wall_scale > 0 ? c->o->wall_scale : 0.02;
  if (harness_simproc_start(&c->sim, bin, c->tmpdir,
                            c->s->profile == SIM_PROFILE_GM02S ? "gm02s"
                                                               : "monarch1",
                            scale, faults, n, c->br.now_us, err,
                            sizeof(err)) != 0) {
    snprintf(c->r->reason, sizeof(c->r->reason), "%s", err);
    return -1;
  }
  harness_narrate(nr, c->br.now_us,
                  "Harness: sqn-sim #%u started on %s (time scale %g%s%s)",
                  c->sim.starts, c->sim.pty, scale, n ? ", faults in " : "",
                  n ? c->sim.faults_path : "");
  return 0;
}

/*
 * Run argv (the host) on sqn-sim's pty. The child's stdout and stderr go
 * through a pipe into the transcript; sqn-sim's trace is read as it grows.
 * Every wait is a poll() of at most 20 ms; the child is killed (by its
 * pid) when the run's bound passes.
 */
static int harness_run_real(struct harness_ctx *c, char **argv,
                            uint64_t bound_us, struct harness_outcome *out) {
  int pipefd[2] = {-1, -1};
  out->exit = -1;
  static char pty_arg[HARNESS_ARGV_MAX][256];
  harness_argv_pty(argv, c->sim.pty, pty_arg);
  if (pipe(pipefd) != 0) {
    snprintf(c->r->reason, sizeof(c->r->reason), "pipe: %s", strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(c->r->reason, sizeof(c->r->reason), "cannot start %s: %s",
             argv[0], strerror(errno));
    close(pipefd[0]);
    close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    close(pipefd[0]);
    harness_child_exec(pipefd[1], argv);
  }
  close(pipefd[1]);
  fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
  uint64_t limit = harness_simproc_vnow(&c->sim) + bound_us;
  char line[512];
  size_t line_len = 0;
  int status = 0;
  bool exited = false, pipe_open = true;
  uint8_t buf[8192];
  int rc = 0;
  while (!exited || pipe_open) {
    if (harness_real_poll(c) != 0) {
      rc = -1;
      if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      break;
    }
    if (!exited && harness_simproc_vnow(&c->sim) >= limit) {
      out->past_bound = true;
      harness_kill_host(pid, &status);
      exited = true;
      break;
    }
    if (pipe_open) {
      struct pollfd pf = {.fd = pipefd[0], .events = POLLIN};
      int pr = poll(&pf, 1, 20);
      if (pr > 0) {
        ssize_t n = read(pipefd[0], buf, sizeof(buf));
        if (n > 0)
          harness_host_output(c, line, &line_len, (const char *)buf,
                              (size_t)n, false);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
          pipe_open = false;
      }
    } else {
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid)
      exited = true;
  }
  if (rc == 0)
    rc = harness_real_poll(c);
  harness_host_output(c, line, &line_len, "", 0, true);
  out->exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  out->err = out->exit;
  close(pipefd[0]);
  return rc;
}

/* Let the modem finish what it was doing (boot, apply) with a silent host. */
static void harness_settle(struct harness_ctx *c) {
  harness_bridge_settle(&c->br, HARNESS_SETTLE_US);
}

/* --- expectations ------------------------------------------------------- */

static bool harness_has_prefix_ci(const char *line, const char *prefix) {
  for (; *prefix; line++, prefix++)
    if (toupper((unsigned char)*line) != toupper((unsigned char)*prefix))
      return false;
  return true;
}

#define HARNESS_FAILF(c, ...)                                             \
  do {                                                                    \
    size_t _l = strlen((c)->r->reason);                                   \
    snprintf((c)->r->reason + _l, sizeof((c)->r->reason) - _l,            \
             __VA_ARGS__);                                                \
    return -1;                                                            \
  } while (0)

static int harness_check_version(struct harness_ctx *c, const char *want,
                                 uint32_t want_build, unsigned run) {
  const struct sim_state *st = harness_cur_state(c);
  char v[40];
  uint32_t b = 0;
  if (strcmp(want, "package") == 0) {
    snprintf(v, sizeof(v), "%s", c->pkg.version_text);
    b = c->pkg.version.build;
  } else if (strcmp(want, "old") == 0) {
    snprintf(v, sizeof(v), "%s", c->start.fff.version);
    b = c->start.fff.build;
  } else {
    snprintf(v, sizeof(v), "%s", want);
    b = want_build;
  }
  if (strcmp(st->fff.version, v) != 0 || (b && st->fff.build != b) ||
      !st->fff.valid)
    HARNESS_FAILF(c,
                  "run %u: modem's application is %s %s-%u, expected %s "
                  "%s-%u",
                  run, st->fff.valid ? "valid" : "INVALID", st->fff.version,
                  st->fff.build, want, v, b);
  return 0;
}

/*
 * Post-condition: sqn-update's final report matches the emulator's final
 * state. Its DONE event must exist and agree with its exit status; a
 * success must name the version the modem runs; an error must be a known
 * one with a remedy, and must not be claimed over an upgrade that worked.
 */
static int harness_check_report(struct harness_ctx *c, unsigned run,
                                const struct harness_outcome *oc,
                                bool is_sqn_update) {
  if (!is_sqn_update || oc->past_bound || oc->stuck)
    return 0;
  const struct harness_report *rp = &c->rep;
  if (!rp->done)
    HARNESS_FAILF(c,
                  "run %u: REPORT: sqn-update ended without a final report "
                  "(no DONE event%s)",
                  run, oc->inproc ? "" : " in its --log file");
  if (oc->inproc && oc->err != rp->err)
    HARNESS_FAILF(c,
                  "run %u: REPORT: sqn-update's result is %s but its final "
                  "report says \"%.80s\"",
                  run, sqn_err_name(oc->err), rp->text);
  if (!oc->inproc && oc->exit != (int)sqn_err_exit(rp->err))
    HARNESS_FAILF(c,
                  "run %u: REPORT: sqn-update reported %s but exited with "
                  "status %d (that error's status is %d)",
                  run, rp->err ? rp->err_name : "success", oc->exit,
                  (int)sqn_err_exit(rp->err));
  const struct sim_state *st = harness_cur_state(c);
  int sm = harness_cur_smod(c);
  if (rp->err == 0) {
    char want[48];
    snprintf(want, sizeof(want), "%.23s-%lu", st->fff.version,
             (unsigned long)st->fff.build);
    if (!rp->version[0] || !strstr(rp->version, want))
      HARNESS_FAILF(c,
                    "run %u: REPORT: sqn-update reported success with the "
                    "modem running \"%s\", but the emulator's modem runs "
                    "%s in %s",
                    run, rp->version[0] ? rp->version : "(no version printed)",
                    want, harness_mode_word(sm));
    return 0;
  }
  if (rp->err == 1)
    HARNESS_FAILF(c,
                  "run %u: REPORT: sqn-update's final report names no known "
                  "error: \"%.80s\"",
                  run, rp->text);
  if (c->s->verdict == HARNESS_VERDICT_REPORT && !sqn_err_advice(rp->err)[0])
    HARNESS_FAILF(c, "run %u: REPORT: %s comes without a remedy", run,
                  rp->err_name);
  /* An error over an upgrade that took is not flagged here: the modem
   * may run the new image and still be silent (S11c); the scenario's
   * verdict says which outcome is right. */
  (void)st;
  return 0;
}

/* The scenario's expected result: success or error, which error, exit
 * status. */
static int harness_check_result(struct harness_ctx *c, unsigned run,
                                const struct harness_expect_yaml *e,
                                const struct harness_outcome *oc,
                                bool is_sqn_update) {
  bool ok = oc->inproc ? oc->err == 0 : oc->exit == 0;
  char got[128];
  if (oc->inproc)
    snprintf(got, sizeof(got), "%s", ok ? "success" : sqn_err_name(oc->err));
  else
    snprintf(got, sizeof(got), "exit status %d", oc->exit);
  const char *want = e->result;
  if (!want)
    want = c->s->verdict == HARNESS_VERDICT_RECOVER ? "success" : "error";
  if (strcmp(want, "success") == 0 && !ok)
    HARNESS_FAILF(c, "run %u: expected success, got %s", run, got);
  if (strcmp(want, "error") == 0 && ok)
    HARNESS_FAILF(c, "run %u: expected an error, got success", run);
  if (e->error) {
    int want_err = harness_err_by_name(e->error);
    if (oc->inproc) {
      if (oc->err != want_err)
        HARNESS_FAILF(c, "run %u: expected %s, got %s", run, e->error, got);
    } else if (is_sqn_update && c->rep.done) {
      if (strcmp(c->rep.err_name, e->error) != 0)
        HARNESS_FAILF(c, "run %u: expected %s, sqn-update reported %s (%s)",
                      run, e->error,
                      c->rep.err_name[0] ? c->rep.err_name : "success", got);
    } else if (is_sqn_update) {
      int want_exit = (int)sqn_err_exit(want_err);
      if (oc->exit != want_exit)
        HARNESS_FAILF(c, "run %u: expected %s (exit %d), got %s", run,
                      e->error, want_exit, got);
    }
  }
  if (e->exit && !oc->inproc && oc->exit != *e->exit)
    HARNESS_FAILF(c, "run %u: expected exit status %d, got %s", run, *e->exit,
                  got);
  return 0;
}

/* The scenario's expected modem: its mode and application version. */
static int harness_check_modem(struct harness_ctx *c, unsigned run,
                               const struct harness_expect_yaml *e) {
  if (e->mode) {
    int want_mode = harness_mode_parse(e->mode);
    int have = harness_cur_smod(c);
    if (have != want_mode)
      HARNESS_FAILF(c, "run %u: expected the modem in %s, it is in %s", run,
                    e->mode, harness_mode_word(have));
  }
  if (e->version && harness_check_version(c, e->version, e->build, run) != 0)
    return -1;
  return 0;
}

/* The scenario's expected conversation: output seen, commands never sent,
 * no STP. */
static int harness_check_talk(struct harness_ctx *c, unsigned run,
                              const struct harness_expect_yaml *e,
                              uint32_t stp_before) {
  for (unsigned i = 0; i < e->output_contains_count; i++) {
    const char *needle = e->output_contains[i];
    bool in_out = c->out && strstr(c->out, needle);
    bool in_narr = c->r->narr.text && strstr(c->r->narr.text, needle);
    if (!in_out && !in_narr)
      HARNESS_FAILF(c, "run %u: the output does not contain \"%s\"", run,
                    needle);
  }
  for (unsigned i = 0; i < e->never_sent_count; i++) {
    for (const char *p = c->sent; p && *p;) {
      if (harness_has_prefix_ci(p, e->never_sent[i]))
        HARNESS_FAILF(c, "run %u: the host sent %s, which it must never "
                         "send here",
                      run, e->never_sent[i]);
      const char *nl = strchr(p, '\n');
      p = nl ? nl + 1 : NULL;
    }
  }
  if (e->no_stp && c->r->narr.stp_frames_rx != stp_before)
    HARNESS_FAILF(c, "run %u: the host sent %u STP frames, expected none",
                  run, c->r->narr.stp_frames_rx - stp_before);
  return 0;
}

/* After a run: the judge's invariants, the updater's report, then what the
 * scenario expects. 0, or -1 with the reason. */
static int harness_check_expect(struct harness_ctx *c, unsigned run,
                                const struct harness_run_yaml *ry,
                                const struct harness_outcome *oc,
                                uint32_t stp_before) {
  const struct harness_expect_yaml *e = ry->expect;
  enum harness_updater_kind kind =
      ry->updater ? ry->updater->kind : HARNESS_UPDATER_INPROC;
  bool is_sqn_update = kind != HARNESS_UPDATER_EXTERNAL;
  bool ok = oc->inproc ? oc->err == 0 : oc->exit == 0;
  char why[400];
  if (harness_judge_bounded(oc->past_bound, oc->stuck, ry->bound, why,
                            sizeof(why)) != HARNESS_INV_NONE)
    HARNESS_FAILF(c, "run %u: %s", run, why);
  /* Success only with the package running in FFF (judge.h). */
  if (is_sqn_update && ok) {
    struct harness_modem_view v;
    struct harness_target t = harness_pkg_target(c);
    harness_cur_view(c, &v);
    if (harness_judge_success(&v, &t, why, sizeof(why)) != HARNESS_INV_NONE)
      HARNESS_FAILF(c, "run %u: %s", run, why);
  }
  if (harness_check_report(c, run, oc, is_sqn_update) != 0)
    return -1;
  if (!e)
    return 0;
  if (harness_check_result(c, run, e, oc, is_sqn_update) != 0 ||
      harness_check_modem(c, run, e) != 0 ||
      harness_check_talk(c, run, e, stp_before) != 0)
    return -1;
  return 0;
}

/* --- one run ---------------------------------------------------------------- */

/* The host's command line (placeholders: see harness_argv_build), and the
 * narrator's name for it. sqn-update gets --log for its final report. */
static void harness_host_template(struct harness_ctx *c, unsigned idx,
                                  const struct harness_run_yaml *ry,
                                  const struct harness_updater_yaml *uy,
                                  bool is_sqn_update, double scale,
                                  char *tmpl, size_t cap) {
  struct harness_narrator *n = harness_narr(c);
  if (!is_sqn_update) {
    snprintf(tmpl, cap, "%s", uy->command);
    harness_narrator_set_host(n, ry->label ? ry->label : "Host");
    return;
  }
  size_t l = (size_t)snprintf(tmpl, cap,
                              "sqn-update --port @PTY@ --timeout-scale %g",
                              scale);
  if (c->elf_path[0] && !uy->no_updater_elf)
    l += (size_t)snprintf(tmpl + l, cap - l, " --updater {elf}");
  if (uy->force)
    l += (size_t)snprintf(tmpl + l, cap - l, " --force");
  /* Its final report (DONE, INFO events) for the post-conditions. */
  snprintf(c->log_path, sizeof(c->log_path), "%s/update-%u-%u.log",
           c->tmpdir, c->log_seq, idx);
  c->log_seq++;
  unlink(c->log_path);
  l += (size_t)snprintf(tmpl + l, cap - l, " --log %s", c->log_path);
  for (unsigned i = 0; i < uy->args_count; i++)
    l += (size_t)snprintf(tmpl + l, cap - l, " %s", uy->args[i]);
  snprintf(tmpl + l, cap - l, " {pkg}");
  harness_narrator_set_host(n, "sqn-update");
}

/* The story names the host and its script; the exact command (temp paths,
 * the @PTY@ placeholder) is detail, shown on failure. */
static void harness_narrate_host_start(struct harness_ctx *c, unsigned idx,
                                       const struct harness_run_yaml *ry,
                                       bool is_sqn_update, const char *tmpl,
                                       char **argv, int argc, double scale) {
  struct harness_narrator *n = harness_narr(c);
  char cmdline[1024] = "";
  for (int i = 0; i < argc; i++) {
    size_t l = strlen(cmdline);
    snprintf(cmdline + l, sizeof(cmdline) - l, "%s%s", i ? " " : "", argv[i]);
  }
  char script[256] = "";
  for (const char *t = strstr(tmpl, "{fixtures}/"); t;
       t = strstr(t + 1, "{fixtures}/")) {
    size_t tl = strcspn(t, " ");
    if (tl > 16 && !strncmp(t + tl - 5, ".chat", 5)) {
      snprintf(script, sizeof(script), "fixtures/%.*s", (int)(tl - 11),
               t + 11);
      break;
    }
  }
  if (is_sqn_update)
    snprintf(script, sizeof(script), "the sqn-update program");
  harness_narrate(n, c->br.now_us, "Run %u — %s%s%s%s, on %s", idx,
                  ry->label ? ry->label : argv[0], script[0] ? " (" : "",
                  script, script[0] ? ")" : "",
                  c->real ? "sqn-sim's pty" : "a pty");
  harness_narrate_detail(n, c->br.now_us, "  command: %s (scale %g)",
                         cmdline, scale);
}

/* sqn-update's final report from its --log file; refused before the
 * procedure started (bad arguments, a missing package), the report is the
 * "sqn-update: E_...: ..." stderr line. */
static void harness_load_report(struct harness_ctx *c) {
  harness_report_load_log(&c->rep, c->log_path);
  unlink(c->log_path);
  const char *e = c->out ? strstr(c->out, "sqn-update: E_") : NULL;
  if (!c->rep.done && e) {
    char line[320];
    size_t ln = strcspn(e + 12, "\n");
    snprintf(line, sizeof(line), "%.*s", (int)(ln < 319 ? ln : 319), e + 12);
    harness_report_event(&c->rep, "DONE", line);
  }
}

static int harness_one_run(struct harness_ctx *c, unsigned idx,
                           const struct harness_run_yaml *ry,
                           struct harness_outcome *oc) {
  const struct harness_updater_yaml *uy = ry->updater;
  enum harness_updater_kind kind = uy ? uy->kind : HARNESS_UPDATER_INPROC;
  /* --pty: sqn-update runs as a process on the pty instead. */
  struct harness_updater_yaml as_process;
  harness_report_reset(&c->rep);
  harness_post_run(&c->post, idx);
  c->log_path[0] = '\0';
  if (kind == HARNESS_UPDATER_INPROC && c->o->pty) {
    memset(&as_process, 0, sizeof(as_process));
    if (uy)
      as_process = *uy;
    as_process.kind = HARNESS_UPDATER_PROCESS;
    uy = &as_process;
    kind = HARNESS_UPDATER_PROCESS;
  }
  uint64_t bound_us = (uint64_t)(ry->bound * 1e6);
  struct harness_narrator *n = harness_narr(c);
  c->sent_len = 0;
  if (c->sent)
    c->sent[0] = '\0';
  c->out_len = 0;
  if (c->out)
    c->out[0] = '\0';

  n->unpaced = kind == HARNESS_UPDATER_INPROC;
  if (kind == HARNESS_UPDATER_INPROC) {
    harness_narrator_set_host(n, "sqn-update");
    harness_narrate(n, c->br.now_us,
                    "Run %u%s%s: sqn-update (in-process, virtual clock)", idx,
                    ry->label ? " — " : "", ry->label ? ry->label : "");
    return harness_run_inproc(c, uy, false, bound_us, oc);
  }

  double scale = c->o->wall_scale > 0 ? c->o->wall_scale : 0.02;
  if (uy->timeout_scale > 0)
    scale = uy->timeout_scale;
  if (c->real)
    scale = c->sim.scale; /* the host's clock must agree with sqn-sim's */
  char *argv[HARNESS_ARGV_MAX];
  char store[8192];
  char tmpl[2048];
  harness_host_template(c, idx, ry, uy, kind == HARNESS_UPDATER_PROCESS, scale,
                        tmpl, sizeof(tmpl));
  int argc = harness_argv_build(c, tmpl, "@PTY@", scale, argv, store,
                                sizeof(store));
  if (argc <= 0) {
    snprintf(c->r->reason, sizeof(c->r->reason),
             "run %u: cannot build the command line from \"%.900s\"", idx, tmpl);
    return -1;
  }
  if (!harness_tool_exists(argv[0])) {
    c->r->status = HARNESS_SKIP;
    snprintf(c->r->reason, sizeof(c->r->reason),
             "needs %s (not built here and not on PATH; see --bin-dir)",
             argv[0]);
    return -1;
  }
  harness_narrate_host_start(c, idx, ry, kind == HARNESS_UPDATER_PROCESS,
                             tmpl, argv, argc, scale);
  int rc = c->real ? harness_run_real(c, argv, bound_us, oc)
                   : harness_run_pty(c, argv, scale, bound_us, oc);
  if (rc == 0 && c->log_path[0])
    harness_load_report(c);
  return rc;
}

static int harness_make_tmpdir(struct harness_ctx *c) {
  const char *base = getenv("TMPDIR");
  snprintf(c->tmpdir, sizeof(c->tmpdir), "%s/sqn-scenario-XXXXXX",
           base && base[0] ? base : "/tmp");
  return mkdtemp(c->tmpdir) ? 0 : -1;
}

/* Everything in it is ours: the package, sqn-sim's state, faults, trace
 * and stderr files, sqn-update logs. */
static void harness_remove_tmpdir(struct harness_ctx *c) {
  if (!c->tmpdir[0])
    return;
  DIR *d = opendir(c->tmpdir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char path[600];
      snprintf(path, sizeof(path), "%s/%s", c->tmpdir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(c->tmpdir);
}

static bool harness_needs_files(const struct harness_scenario *s) {
  for (unsigned i = 0; i < harness_scenario_run_count(s); i++) {
    struct harness_run_yaml ry;
    harness_scenario_run(s, i, &ry);
    if (ry.updater && ry.updater->kind != HARNESS_UPDATER_INPROC)
      return true;
  }
  return false;
}

/* The recoverability invariant: a fault-free rerun after a power cycle. */
static int harness_rerun_check(struct harness_ctx *c) {
  const struct harness_scenario *s = c->s;
  if (s->rerun == HARNESS_RERUN_NONE)
    return 0;
  size_t mark = c->r->narr.len;
  harness_narrate(&c->r->narr, c->br.now_us,
                  "Invariant check: power-cycle, then rerun sqn-update "
                  "without faults (expected: %s)",
                  harness_rerun_name(s->rerun));
  if (harness_power_cycle(c) != 0) {
    snprintf(c->r->reason, sizeof(c->r->reason), "rerun: out of memory");
    return -1;
  }
  harness_narrator_free(&c->quiet);
  harness_narrator_init(&c->quiet);
  harness_narrator_set_host(&c->quiet, "sqn-update");
  c->record = false;
  struct harness_outcome oc;
  memset(&oc, 0, sizeof(oc));
  c->no_elf = false;
  harness_post_run(&c->post, 0);
  harness_report_reset(&c->rep);
  int rc = harness_run_inproc(c, NULL, s->rerun_force, 3600ull * 1000000ull,
                              &oc);
  c->record = true;
  if (rc != 0)
    return -1;
  if (harness_judge_commands(&c->post, c->r->reason, sizeof(c->r->reason)) !=
      HARNESS_INV_NONE) {
    harness_narrator_append_other(&c->r->narr, &c->quiet);
    return -1;
  }
  struct harness_modem_view v;
  struct harness_target t = harness_pkg_target(c);
  harness_view_model(&v, c->m);
  if (s->rerun == HARNESS_RERUN_SUCCEEDS) {
    char why[400];
    if (harness_judge_remedy("the end state is not recoverable: after a "
                             "power cycle",
                             oc.err, &v, &t, why,
                             sizeof(why)) != HARNESS_INV_NONE) {
      snprintf(c->r->reason, sizeof(c->r->reason),
               "%s (rerun transcript follows)", why);
      harness_narrator_append_other(&c->r->narr, &c->quiet);
      return -1;
    }
    harness_narrator_demote(&c->r->narr, mark);
    harness_narrate(&c->r->narr, c->br.now_us,
                    "Invariant check: after a power cycle, a fault-free "
                    "sqn-update rerun succeeds (%s %s in FFF)",
                    c->pkg.version_text, "running");
  } else if (s->rerun == HARNESS_RERUN_FAILS) {
    if (oc.err == 0) {
      snprintf(c->r->reason, sizeof(c->r->reason),
               "the scenario says the end state is unrecoverable, but a "
               "rerun succeeded");
      return -1;
    }
    harness_narrator_demote(&c->r->narr, mark);
    harness_narrate(&c->r->narr, c->br.now_us,
                    "Invariant check: after a power cycle, a fault-free "
                    "rerun fails as the real modem "
                    "would, with %s — remedy: %s",
                    sqn_err_name(oc.err), sqn_err_advice(oc.err));
  }
  return 0;
}

/* The story's opening: the scenario, its package, the modem. */
static void harness_narrate_intro(struct harness_ctx *c) {
  const struct harness_scenario *s = c->s;
  struct harness_narrator *n = &c->r->narr;
  harness_narrate(n, 0, "Scenario %s (%s, %s) — %s", s->name ? s->name : "",
                  s->id ? s->id : "-", s->mode ? s->mode : "-",
                  s->verdict == HARNESS_VERDICT_RECOVER
                      ? "the updater must recover"
                      : "the updater must report a clear error");
  if (s->summary)
    harness_narrate(n, 0, "%s", s->summary);
  for (unsigned i = 0; i < s->story_count; i++)
    harness_narrate(n, 0, "%s", s->story[i]);
  harness_narrate(n, 0, "Package: %s [%u], %zu bytes%s%s",
                  c->pkg.version_text, c->pkg.version.build, c->pkg.len,
                  c->pkg.elf ? ", with updater.elf" : "",
                  c->pkg.missing ? " (path missing on purpose)" : "");
  harness_narrate_state(n, 0, &c->start);
  char pv[48], ov[48];
  snprintf(pv, sizeof(pv), "%s-%u", c->pkg.version_text, c->pkg.version.build);
  snprintf(ov, sizeof(ov), "%s-%u", c->start.fff.version, c->start.fff.build);
  harness_narrator_set_versions(n, pv, ov);
  harness_narrator_set_versions(&c->quiet, pv, ov);
}

/* --pty: sqn-sim must be found and get the starting flash as its state
 * file. 0, 1 (the scenario is skipped), -1 (reason set). */
static int harness_real_setup(struct harness_ctx *c) {
  struct harness_result *r = c->r;
  char bin[1024], state_path[600], err[512];
  harness_find_tool(c->o, "sqn-sim", bin, sizeof(bin));
  if (!harness_tool_exists(bin)) {
    r->status = HARNESS_SKIP;
    snprintf(r->reason, sizeof(r->reason),
             "needs sqn-sim (not built here and not on PATH; see "
             "--bin-dir)");
    harness_narrate(&r->narr, 0, "Skipped: %s", r->reason);
    return 1;
  }
  snprintf(state_path, sizeof(state_path), "%s/state.json", c->tmpdir);
  if (sim_state_save(state_path, &c->start, err, sizeof(err)) != 0) {
    snprintf(r->reason, sizeof(r->reason), "%s", err);
    return -1;
  }
  return 0;
}

/* Starting state, package (and its files), the story's opening, the model.
 * 0, 1 (skipped, status set), or -1 (reason set). */
static int harness_scenario_setup(struct harness_ctx *c) {
  const struct harness_scenario *s = c->s;
  const struct harness_opts *o = c->o;
  struct harness_result *r = c->r;
  char err[512];
  if (harness_scenario_state(s, o->fixtures, &c->start, err, sizeof(err)) !=
          0 ||
      harness_pkg_build(s, &c->pkg, err, sizeof(err)) != 0) {
    snprintf(r->reason, sizeof(r->reason), "%s", err);
    return -1;
  }
  if ((o->pty || harness_needs_files(s)) &&
      (harness_make_tmpdir(c) != 0 ||
       harness_pkg_write(&c->pkg, c->tmpdir, c->pkg_path, sizeof(c->pkg_path),
                         c->elf_path, sizeof(c->elf_path)) != 0)) {
    snprintf(r->reason, sizeof(r->reason),
             "cannot write the package to a temporary directory: %s",
             strerror(errno));
    return -1;
  }
  harness_narrate_intro(c);
  harness_post_init(&c->post,
                    strcmp(c->start.upgrade_status, "success") == 0);
  c->real = o->pty && !o->pty_model;
  /* With real processes the model only serves the final rerun check; its
   * first boot is not part of the story. */
  c->record = !c->real;
  int created = harness_modem_create(c, &c->start);
  c->record = true;
  if (created != 0) {
    snprintf(r->reason, sizeof(r->reason), "cannot create the modem model");
    return -1;
  }
  return c->real ? harness_real_setup(c) : 0;
}

static void harness_narrate_faults(struct harness_ctx *c,
                                   const struct harness_run_yaml *ry) {
  for (unsigned f = 0; f < ry->faults_count; f++)
    harness_narrate(&c->r->narr, c->br.now_us, "Fault armed: %s (%s → %s)",
                    ry->faults[f].name[0] ? ry->faults[f].name : "unnamed",
                    sim_fault_trigger_name(ry->faults[f].when),
                    sim_fault_action_name(ry->faults[f].action));
}

/* Before run i (0-based) with real processes: sqn-sim loads faults at
 * start, so a run with faults of its own gets a fresh sqn-sim (a power
 * cycle), as does power_cycle: true. 0 or -1. */
static int harness_real_prepare(struct harness_ctx *c, unsigned i,
                                const struct harness_run_yaml *ry) {
  bool restart =
      c->sim.pid <= 0 || (i > 0 && (ry->power_cycle || ry->faults_count));
  if (!restart)
    return 0;
  if (i > 0)
    harness_narrate(&c->r->narr, c->br.now_us,
                    "Harness: full power cycle of the modem (sqn-sim "
                    "stopped and restarted on its state file%s)",
                    ry->power_cycle ? "" : " to arm this run's faults");
  if (harness_real_start(c, ry->faults, ry->faults_count) != 0)
    return -1;
  harness_narrate_faults(c, ry);
  return harness_real_settle(c, HARNESS_SETTLE_US);
}

/* Before run i in-process: power cycle, faults, and a booted modem. */
static int harness_model_prepare(struct harness_ctx *c, unsigned i,
                                 const struct harness_run_yaml *ry) {
  struct harness_result *r = c->r;
  if (i > 0 && ry->power_cycle && harness_power_cycle(c) != 0) {
    snprintf(r->reason, sizeof(r->reason), "power cycle failed");
    return -1;
  }
  for (unsigned f = 0; f < ry->faults_count; f++) {
    if (sim_modem_add_fault(c->m, &ry->faults[f]) != 0) {
      snprintf(r->reason, sizeof(r->reason),
               "run %u: the model's fault table is full at fault %u", i + 1,
               f + 1);
      return -1;
    }
  }
  harness_narrate_faults(c, ry);
  /* The host starts talking to a modem that has finished booting, as a
   * person would: bytes sent during a boot are lost on real modems. */
  if (i == 0 || ry->power_cycle)
    harness_settle(c);
  return 0;
}

static void harness_outcome_word(const struct harness_outcome *oc, char *out,
                                 size_t cap) {
  if (oc->inproc)
    snprintf(out, cap, "%s", oc->err ? sqn_err_name(oc->err) : "success");
  else
    snprintf(out, cap, "exit %d", oc->exit);
}

/* How run i ended, for the story (one line when it is not in focus). */
static void harness_narrate_run_end(struct harness_ctx *c, unsigned i,
                                    const struct harness_run_yaml *ry,
                                    const struct harness_outcome *oc,
                                    uint64_t t0) {
  struct harness_narrator *n = &c->r->narr;
  const struct sim_state *st = harness_cur_state(c);
  harness_narrate(n, c->br.now_us,
                  "Run %u ends after %.1f virtual seconds: %s; modem in %s, "
                  "application %s-%u%s",
                  i + 1, (double)(c->br.now_us - t0) / 1e6,
                  oc->inproc ? (oc->err ? sqn_err_name(oc->err) : "success")
                             : (oc->exit == 0 ? "exit 0" : "non-zero exit"),
                  harness_mode_word(harness_cur_smod(c)), st->fff.version,
                  st->fff.build, st->fff.valid ? "" : " (invalid)");
  if (!oc->inproc && oc->exit != 0)
    harness_narrate(n, c->br.now_us, "Host exit status: %d", oc->exit);
  (void)ry;
}

static void harness_compact_run(struct harness_ctx *c, unsigned i,
                                const struct harness_run_yaml *ry,
                                const struct harness_outcome *oc,
                                uint64_t t0, size_t run_mark) {
  /* It only re-establishes an earlier scenario's state: one line in the
   * story, the whole run in full detail. */
  struct harness_narrator *n = &c->r->narr;
  char how[64];
  harness_narrator_demote(n, run_mark);
  harness_outcome_word(oc, how, sizeof(how));
  harness_narrate_compact(
      n, c->br.now_us,
      "Run %u — %s: %s — %s, %.0f virtual s; modem left in %s", i + 1,
      ry->label ? ry->label : "", ry->recap ? ry->recap : "as expected", how,
      (double)(c->br.now_us - t0) / 1e6,
      harness_mode_word(harness_cur_smod(c)));
}

/* Run i (0-based): prepare the modem, run the host, check. 0, or -1 with
 * r->status set. */
static int harness_scenario_step(struct harness_ctx *c, unsigned i,
                                 bool has_focus) {
  struct harness_result *r = c->r;
  struct harness_narrator *n = &r->narr;
  struct harness_run_yaml ry;
  harness_scenario_run(c->s, i, &ry);
  int prep = c->real ? harness_real_prepare(c, i, &ry)
                     : harness_model_prepare(c, i, &ry);
  if (prep != 0) {
    r->status = HARNESS_FAIL;
    return -1;
  }
  size_t run_mark = n->len;
  uint32_t stp_before = n->stp_frames_rx;
  struct harness_outcome oc;
  memset(&oc, 0, sizeof(oc));
  uint64_t t0 = c->br.now_us;
  if (harness_one_run(c, i + 1, &ry, &oc) != 0) {
    if (r->status != HARNESS_SKIP)
      r->status = HARNESS_FAIL;
    return -1;
  }
  harness_narrate_flush(n);
  if (!c->real) {
    harness_settle(c);
  } else if (harness_real_settle(c, HARNESS_SETTLE_US) != 0 ||
             harness_real_load_state(c) != 0) {
    r->status = HARNESS_FAIL;
    return -1;
  }
  harness_narrate_run_end(c, i, &ry, &oc, t0);
  if (harness_check_expect(c, i + 1, &ry, &oc, stp_before) != 0 ||
      harness_judge_commands(&c->post, r->reason, sizeof(r->reason)) !=
          HARNESS_INV_NONE) {
    r->status = HARNESS_FAIL;
    return -1;
  }
  if (has_focus && !ry.focus)
    harness_compact_run(c, i, &ry, &oc, t0, run_mark);
  return 0;
}

/* After the runs: stop sqn-sim (the rerun check continues in-process from
 * the flash it saved), the rerun check, the verdict. */
static void harness_scenario_finish(struct harness_ctx *c) {
  struct harness_result *r = c->r;
  struct harness_narrator *n = &r->narr;
  if (c->real) {
    harness_simproc_stop(&c->sim, harness_real_trace, c);
    harness_narrate_flush(n);
    if (r->status == HARNESS_PASS) {
      if (harness_real_load_state(c) != 0 ||
          harness_modem_create(c, &c->real_state) != 0)
        r->status = HARNESS_FAIL;
      c->real = false;
    }
  }
  if (r->status == HARNESS_SKIP)
    harness_narrate(n, c->br.now_us, "Skipped: %s", r->reason);
  else if (r->status == HARNESS_PASS && harness_rerun_check(c) != 0)
    r->status = HARNESS_FAIL;
  r->virtual_s = (double)c->br.now_us / 1e6;
  if (r->status == HARNESS_PASS)
    harness_narrate_detail(n, c->br.now_us, "Verdict: PASS");
  else
    harness_narrate(n, c->br.now_us, "Verdict: %s%s%s",
                    harness_status_name(r->status), r->reason[0] ? " — " : "",
                    r->reason);
}

static void harness_ctx_free(struct harness_ctx *c) {
  if (c->m)
    sim_modem_free(c->m);
  if (c->sim.pid > 0)
    harness_simproc_stop(&c->sim, NULL, NULL);
  if (c->real_state_ok)
    sim_state_release(&c->real_state);
  harness_remove_tmpdir(c);
  harness_pkg_free(&c->pkg);
  sim_state_release(&c->start);
  harness_bridge_free(&c->br);
  harness_narrator_free(&c->quiet);
  free(c->sent);
  free(c->out);
  free(c);
}

int harness_run_scenario(const struct harness_scenario *s,
                         const struct harness_opts *o,
                         struct harness_result *r) {
  memset(r, 0, sizeof(*r));
  harness_narrator_init(&r->narr);
  if (s->skip) {
    r->status = HARNESS_SKIP;
    snprintf(r->reason, sizeof(r->reason), "%s", s->skip);
    harness_narrate(&r->narr, 0, "Scenario %s skipped: %s",
                    s->name ? s->name : "", s->skip);
    return 0;
  }
  struct harness_ctx *c = calloc(1, sizeof(*c));
  if (!c) {
    r->status = HARNESS_FAIL;
    snprintf(r->reason, sizeof(r->reason), "out of memory");
    return -1;
  }
  c->s = s;
  c->o = o;
  c->r = r;
  c->record = true;
  harness_narrator_init(&c->quiet);
  harness_bridge_init(&c->br, NULL, 0);
  int set = harness_scenario_setup(c);
  if (set != 0) {
    if (set < 0)
      r->status = HARNESS_FAIL;
    harness_ctx_free(c);
    return set < 0 ? -1 : 0;
  }
  unsigned runs = harness_scenario_run_count(s);
  bool has_focus = false;
  for (unsigned i = 0; i < runs; i++) {
    struct harness_run_yaml ry;
    harness_scenario_run(s, i, &ry);
    has_focus = has_focus || ry.focus;
  }
  r->status = HARNESS_PASS;
  for (unsigned i = 0; i < runs; i++)
    if (harness_scenario_step(c, i, has_focus) != 0)
      break;
  harness_scenario_finish(c);
  harness_ctx_free(c);
  return 0;
}

void harness_result_free(struct harness_result *r) {
  harness_narrator_free(&r->narr);
  harness_golden_free(&r->golden);
}

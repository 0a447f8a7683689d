/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-sim: the Sequans Monarch modem emulator on a pseudo-terminal.
 *
 * This file is the process: command line, state file, fault file, trace
 * file, and the callbacks that connect the sans-IO model (sim_model) to the
 * pty loop in serve.c. Contract: modem-model.md.
 *
 *   stdout line 1: "pty: /dev/pts/N"   (flushed before serving)
 *   state file:    saved atomically after every model step that changed
 *                  the flash (before any reply of that step), and at exit
 */
#include "shell.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/fault_yaml.h"
#include "sim/state_file.h"
#include "store.h"
#include "tool.h"

#define SIM_MAX_FAULTS 64

struct sim_shell {
  struct sim_txq txq;
  const char *state_path;
  FILE *trace;
  uint64_t t0_us;
  /* The POSIX write lock on the state file, held for our whole life (each
   * save swaps in the new file's fd, locked before the rename). */
  int lock_fd;
  /* A save failed: the flash the host was told about is not on disk. The
   * modem vanishes at once (no more output, the loop stops) and sqn-sim
   * exits SIM_EXIT_PERSIST. */
  bool halted;
  /* Flash changes of the current model step not saved yet: the model calls
   * persist at each change, the serving loop calls sim_shell_sync once the
   * step is over and before anything it queued is written. */
  const struct sim_state *unsaved;
  struct sim_store_files store; /* the fs store's file (store.h) */
};

static const char sim_usage[] =
    "usage: sqn-sim --state FILE [--profile monarch1|gm02s] [--link PATH]\n"
    "               [--time-scale X] [--trace FILE] [--faults FILE]\n"
    "       sqn-sim --state FILE --show [--json]\n"
    "       sqn-sim --decode TRACE [--pcapng FILE [--reads]]\n"
    "       sqn-sim --proxy MODEM_TTY [--link PATH] [--faults FILE] [--trace FILE]\n"
    "\n"
    "Emulates a Sequans Monarch LTE modem on a pseudo-terminal. The first line\n"
    "on stdout is \"pty: /dev/pts/N\"; connect a host tool to that path (or to\n"
    "the --link symlink). Serves until SIGINT, SIGTERM or SIGHUP, then saves\n"
    "the state. One sqn-sim per state file: it is locked while we run.\n"
    "\n"
    "  --state FILE       the modem's flash (JSON); created factory-new if missing,\n"
    "                     saved atomically on every change\n"
    "  --profile P        monarch1 (default) or gm02s; for a new state file only\n"
    "  --link PATH        make PATH a symlink to the pty (a stale symlink is\n"
    "                     replaced; a regular file, or a link to a terminal in\n"
    "                     use, is not); removed on exit\n"
    "  --time-scale X     multiply modem delays by X (default 1 = real time, with\n"
    "                     line-rate pacing at 10 bits per byte; 0 = no delays,\n"
    "                     no pacing)\n"
    "  --trace FILE       write one JSON line per trace event\n"
    "  --faults FILE      YAML list of faults to inject (keys and words: see\n"
    "                     docs/emulator.md and sim/include/sim/fault.h)\n"
    "  --show [--json]    print the state file and exit\n"
    "  --decode TRACE     print a --trace file for people and exit\n"
    "  --pcapng FILE      with --decode: write TRACE (a --trace file, an\n"
    "                     sqn-update --log or a socat -x dump) as pcapng for\n"
    "                     Wireshark instead (docs/wireshark.md)\n"
    "  --reads            with --pcapng: a socat -x dump's reads as recorded,\n"
    "                     one packet each (the dissector reassembles them)\n"
    "  --proxy MODEM_TTY  no emulated modem: forward the pty to a real modem's\n"
    "                     serial port at the rate the host sets (AT+IPR and\n"
    "                     rate changes follow), with --trace and --faults\n"
    "                     (at, stp-frame and stp-op triggers; error, reply,\n"
    "                     no-reply, urc, delay, drop, corrupt-*, silent,\n"
    "                     garble). A power cut is impossible through a\n"
    "                     proxy: such a fault file is refused\n"
    "  --help             this text\n"
    "  --version          print the version and exit\n"
    "\n"
    "exit status: 0 ok, 1 runtime error (pty, I/O), 2 usage error,\n"
    "             3 bad state, faults or trace file, 4 the state file could\n"
    "             not be saved (the modem vanished; the file holds the flash\n"
    "             as last saved), 5 the state file is in use by another sqn-sim\n";

static const char *sim_boot_name(enum sim_boot b) {
  switch (b) {
  case SIM_BOOT_FFH: return "FFH";
  case SIM_BOOT_FFF: return "FFF";
  case SIM_BOOT_UPDATER: return "UPDATER";
  case SIM_BOOT_RECOVERY: return "RECOVERY";
  }
  return "?";
}

/* "sqn-sim: [DOING ]PATH: ERR", naming PATH once: the state and fault
 * loaders' messages often start with the path already. */
static void sim_shell_err(const char *doing, const char *path,
                          const char *err) {
  size_t n = strlen(path);
  bool named = strncmp(err, path, n) == 0 && (err[n] == ':' || !err[n]);
  fprintf(stderr, "sqn-sim: %s%s%s%s%s\n", doing ? doing : "",
          doing ? " " : "", named ? "" : path, named ? "" : ": ", err);
}

/* A shell-level trace line (not a model event). */
static void sim_shell_trace_note(struct sim_shell *sh, const char *text) {
  if (!sh->trace)
    return;
  struct sim_trace_event ev = {.t_us = sim_shell_now_us() - sh->t0_us,
                               .kind = SIM_TRACE_FLASH,
                               .text = text};
  sim_trace_write_json(sh->trace, &ev);
}

/* A flash change: saved when the step that made it is over (sim_shell_sync).
 * A step that changes the flash several times (the first BLOCK of a push
 * marks the upgrade on-going and two slots invalid) costs one save, and a
 * kill -9 leaves the state before or after the step, both states the model
 * passed through. Power-cut sweeps still cut at every change (in-process). */
static void sim_shell_persist(void *user, const struct sim_state *st) {
  struct sim_shell *sh = user;
  if (!sh->halted)
    sh->unsaved = st;
}

static void sim_shell_sync(void *user) {
  struct sim_shell *sh = user;
  char err[512], note[700];
  const struct sim_state *st = sh->unsaved;
  if (!st || sh->halted)
    return;
  sh->unsaved = NULL;
  if (sim_state_save_locked(sh->state_path, st, &sh->lock_fd, err,
                            sizeof err) == 0) {
    sim_store_files_saved(&sh->store, st);
    return;
  }
  /* Never a host-visible success the file does not hold: the modem
   * vanishes now, as at a power cut, and what it still had to say is
   * dropped. */
  sh->halted = true;
  sim_txq_free(&sh->txq);
  sim_shell_err("saving", sh->state_path, err);
  fprintf(stderr, "sqn-sim: the flash cannot be persisted; the modem "
                  "vanishes (the state file holds the flash as last saved)\n");
  snprintf(note, sizeof note, "save failed: %s; the modem vanishes", err);
  sim_shell_trace_note(sh, note);
}

static void sim_shell_tx(void *user, const uint8_t *buf, size_t len) {
  struct sim_shell *sh = user;
  if (sh->halted)
    return;
  sim_txq_push(&sh->txq, buf, len);
}

static void sim_shell_trace(void *user, const struct sim_trace_event *ev) {
  struct sim_shell *sh = user;
  if (!sh->trace)
    return;
  struct sim_trace_event rel = *ev;
  rel.t_us = ev->t_us >= sh->t0_us ? ev->t_us - sh->t0_us : 0;
  sim_trace_write_json(sh->trace, &rel);
}

static void sim_show_image(const char *what, const struct sim_image *im,
                           bool ue) {
  printf("%-16s%-9s %s [%lu]", what, im->valid ? "valid" : "INVALID",
         im->version, (unsigned long)im->build);
  if (ue && im->ue[0])
    printf(" UE%s", im->ue);
  putchar('\n');
}

static int sim_show(const char *path, bool json) {
  struct sim_state st;
  char err[256];
  memset(&st, 0, sizeof st);
  errno = 0;
  if (sim_state_load(path, &st, err, sizeof err) != 0) {
    if (errno == ENOENT)
      fprintf(stderr, "sqn-sim: %s: no such state file\n", path);
    else
      sim_shell_err(NULL, path, err);
    return SIM_EXIT_INPUT;
  }
  if (json) {
    char *text = sim_state_to_json(&st);
    if (!text) {
      sim_state_release(&st);
      fprintf(stderr, "sqn-sim: out of memory\n");
      return SIM_EXIT_RUNTIME;
    }
    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
      putchar('\n');
    free(text);
  } else {
    printf("%-16s%s\n", "profile:",
           st.profile == SIM_PROFILE_GM02S ? "gm02s" : "monarch1");
    printf("%-16s%s\n", "boot select:", sim_boot_name(st.boot_select));
    sim_show_image("fff:", &st.fff, true);
    sim_show_image("updater:", &st.updater, false);
    sim_show_image("bootrom:", &st.bootrom, false);
    printf("%-16s%lu bytes\n", "fs store:", (unsigned long)st.fs_store_len);
    printf("%-16s%s%s%s\n", "upgrade status:", st.upgrade_status,
           st.fail_reason[0] ? ": " : "", st.fail_reason);
    printf("%-16s%llu\n", "flash writes:", (unsigned long long)st.writes);
  }
  sim_state_release(&st);
  return SIM_EXIT_OK;
}

/* Lock and load the state file, or create a factory-new one (*created
 * says so, so a later startup error can take it back). The lock is kept
 * in sh->lock_fd. Returns 0, or a SIM_EXIT_* code. */
static int sim_load_or_create(struct sim_shell *sh, const char *path,
                              const char *profile_arg,
                              enum sim_profile profile, struct sim_state *st,
                              bool *created) {
  char err[512];
  long holder = 0;
  memset(st, 0, sizeof *st);
  for (int attempt = 0; attempt < 2; attempt++) {
    errno = 0;
    if (sim_state_lock(path, &sh->lock_fd, &holder, err, sizeof err) == 0) {
      if (sim_state_load_fd(sh->lock_fd, path, st, err, sizeof err) != 0) {
        sim_shell_err(NULL, path, err);
        return SIM_EXIT_INPUT;
      }
      if (profile_arg && st->profile != profile)
        fprintf(stderr, "sqn-sim: %s holds a %s modem; --profile %s ignored\n",
                path, st->profile == SIM_PROFILE_GM02S ? "gm02s" : "monarch1",
                profile_arg);
      return 0;
    }
    if (errno == EBUSY && holder) {
      fprintf(stderr,
              "sqn-sim: %s: in use by another sqn-sim (pid %ld); one emulator "
              "per state file\n",
              path, holder);
      return SIM_EXIT_BUSY;
    }
    if (errno != ENOENT || attempt) {
      sim_shell_err(NULL, path, err);
      return SIM_EXIT_INPUT;
    }
    sim_state_factory(st, profile);
    if (sim_state_save_locked(path, st, &sh->lock_fd, err, sizeof err) != 0) {
      sim_shell_err("creating", path, err);
      sim_state_release(st);
      return SIM_EXIT_RUNTIME;
    }
    /* Still ours (another emulator may have created it at the same
     * instant and renamed its own over ours)? */
    char real[4096];
    struct stat a, b;
    if (sim_state_resolve(path, real, sizeof real, err, sizeof err) == 0 &&
        fstat(sh->lock_fd, &a) == 0 && stat(real, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      *created = true;
      return 0;
    }
    close(sh->lock_fd);
    sh->lock_fd = -1;
    sim_state_release(st);
  }
  return SIM_EXIT_INPUT;
}

/* Same file (device and inode), both existing; `follow` stats through
 * symlinks. */
static bool sim_same_file(const char *a, const char *b, bool follow) {
  struct stat sa, sb;
  if (!a || !b)
    return false;
  if ((follow ? stat(a, &sa) : lstat(a, &sa)) != 0 ||
      (follow ? stat(b, &sb) : lstat(b, &sb)) != 0)
    return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* No output may be an input: --trace is truncated at start and --link
 * replaced, so neither may be the state file, the fault file or each
 * other. Checked once the state file exists. */
static int sim_check_outputs(const char *state, const char *faults,
                             const char *trace, const char *link) {
  const char *inputs[] = {state, faults};
  const char *what[] = {"the --state file", "the --faults file"};
  for (int i = 0; i < 2; i++) {
    if (trace && sim_same_file(trace, inputs[i], true)) {
      fprintf(stderr, "sqn-sim: --trace %s is %s; refusing to overwrite an "
                      "input\n", trace, what[i]);
      return -1;
    }
    if (link && (sim_same_file(link, inputs[i], false) ||
                 sim_same_file(link, inputs[i], true))) {
      fprintf(stderr, "sqn-sim: --link %s is %s; refusing to replace an "
                      "input\n", link, what[i]);
      return -1;
    }
  }
  if (trace && link &&
      (strcmp(trace, link) == 0 || sim_same_file(trace, link, false))) {
    fprintf(stderr, "sqn-sim: --trace and --link are the same path (%s)\n",
            link);
    return -1;
  }
  return 0;
}

/* --link PATH must be creatable: its directory exists, and PATH is absent
 * or a symlink (sim_pty_open replaces only those). Checked before the state
 * file is created, so a bad --link leaves nothing behind. */
static int sim_check_link(const char *link) {
  struct stat st;
  char dir[4096];
  const char *slash = strrchr(link, '/');
  if (!*link) {
    fprintf(stderr, "sqn-sim: --link: empty path\n");
    return -1;
  }
  if (slash) {
    size_t n = slash == link ? 1 : (size_t)(slash - link);
    if (n >= sizeof dir) {
      fprintf(stderr, "sqn-sim: --link %s: path too long\n", link);
      return -1;
    }
    memcpy(dir, link, n);
    dir[n] = '\0';
  } else {
    strcpy(dir, ".");
  }
  if (stat(dir, &st) != 0) {
    fprintf(stderr, "sqn-sim: --link %s: directory %s: %s\n", link, dir,
            strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "sqn-sim: --link %s: %s is not a directory\n", link, dir);
    return -1;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    fprintf(stderr, "sqn-sim: --link %s: directory %s: %s\n", link, dir,
            strerror(errno));
    return -1;
  }
  if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
    fprintf(stderr,
            "sqn-sim: --link %s: exists and is not a symlink; refusing to "
            "replace it\n",
            link);
    return -1;
  }
  /* A link to a terminal that exists is another emulator's live pty (or,
   * after a kill -9, a reused pty number: someone's terminal). Either way
   * it is not ours to take over; only a dangling link is stale. */
  if (lstat(link, &st) == 0 && stat(link, &st) == 0 && S_ISCHR(st.st_mode)) {
    char target[256] = "";
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    fprintf(stderr,
            "sqn-sim: --link %s: points at %s, a terminal in use (another "
            "sqn-sim?); refusing to replace it (remove the link if it is "
            "stale)\n",
            link, target);
    return -1;
  }
  return 0;
}

/* What the command line asked for. */
struct sim_args {
  const char *state_path, *profile_arg, *link;
  const char *trace_path, *faults_path, *decode;
  const char *pcapng, *proxy;
  enum sim_profile profile;
  double scale;
  bool show, json, reads;
};

static int sim_arg_profile(struct sim_args *a, const char *v) {
  a->profile_arg = v;
  if (strcmp(v, "monarch1") == 0)
    a->profile = SIM_PROFILE_MONARCH1;
  else if (strcmp(v, "gm02s") == 0)
    a->profile = SIM_PROFILE_GM02S;
  else {
    fprintf(stderr, "sqn-sim: --profile %s: expected monarch1 or gm02s\n", v);
    return -1;
  }
  return 0;
}

static int sim_arg_scale(struct sim_args *a, const char *v) {
  char *end;
  errno = 0;
  a->scale = strtod(v, &end);
  if (errno || end == v || *end || !(a->scale >= 0) || a->scale > 1e6) {
    fprintf(stderr, "sqn-sim: --time-scale %s: expected a number >= 0\n", v);
    return -1;
  }
  return 0;
}

/* Parse the options: -1 to go on, else the exit code. */
static int sim_parse_args(int argc, char **argv, struct sim_args *a) {
  enum { OPT_STATE = 256, OPT_PROFILE, OPT_LINK, OPT_SCALE, OPT_TRACE,
         OPT_FAULTS, OPT_SHOW, OPT_JSON, OPT_DECODE, OPT_HELP, OPT_PCAPNG, OPT_PROXY, OPT_READS };
  static const struct option opts[] = {
      {"state", required_argument, NULL, OPT_STATE},
      {"profile", required_argument, NULL, OPT_PROFILE},
      {"link", required_argument, NULL, OPT_LINK},
      {"time-scale", required_argument, NULL, OPT_SCALE},
      {"trace", required_argument, NULL, OPT_TRACE},
      {"faults", required_argument, NULL, OPT_FAULTS},
      {"show", no_argument, NULL, OPT_SHOW},
      {"json", no_argument, NULL, OPT_JSON},
      {"decode", required_argument, NULL, OPT_DECODE},
      {"pcapng", required_argument, NULL, OPT_PCAPNG},
      {"proxy", required_argument, NULL, OPT_PROXY},
      {"reads", no_argument, NULL, OPT_READS},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0}};
  int c;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_STATE: a->state_path = optarg; break;
    case OPT_PROFILE:
      if (sim_arg_profile(a, optarg) != 0)
        return SIM_EXIT_USAGE;
      break;
    case OPT_LINK: a->link = optarg; break;
    case OPT_SCALE:
      if (sim_arg_scale(a, optarg) != 0)
        return SIM_EXIT_USAGE;
      break;
    case OPT_TRACE: a->trace_path = optarg; break;
    case OPT_FAULTS: a->faults_path = optarg; break;
    case OPT_SHOW: a->show = true; break;
    case OPT_JSON: a->json = true; break;
    case OPT_DECODE: a->decode = optarg; break;
    case OPT_PCAPNG: a->pcapng = optarg; break;
    case OPT_PROXY: a->proxy = optarg; break;
    case OPT_READS: a->reads = true; break;
    case 'h':
    case OPT_HELP: fputs(sim_usage, stdout); return SIM_EXIT_OK;
    default: fputs(sim_usage, stderr); return SIM_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "sqn-sim: unexpected argument '%s'\n%s", argv[optind],
            sim_usage);
    return SIM_EXIT_USAGE;
  }
  return -1;
}

/* The modes that serve no modem (--decode, --proxy, --show) and the option
 * combinations each needs: -1 to go on and serve, else the exit code. */
static int sim_other_modes(const struct sim_args *a) {
  if (a->reads && !a->pcapng) {
    fprintf(stderr, "sqn-sim: --reads goes with --pcapng\n");
    return SIM_EXIT_USAGE;
  }
  if (a->pcapng && !a->decode) {
    fprintf(stderr, "sqn-sim: --pcapng goes with --decode TRACE\n");
    return SIM_EXIT_USAGE;
  }
  if (a->decode)
    return a->pcapng ? sim_pcapng_export(a->decode, a->pcapng, a->reads)
                     : sim_trace_decode(a->decode, stdout);
  if (a->proxy) {
    if (a->state_path || a->show || a->profile_arg) {
      fprintf(stderr, "sqn-sim: --proxy forwards to a real modem: no --state, "
                      "--profile or --show\n");
      return SIM_EXIT_USAGE;
    }
    if (a->link && sim_check_link(a->link) != 0)
      return SIM_EXIT_RUNTIME;
    struct sim_proxy_config pc = {a->proxy, a->link, a->faults_path,
                                  a->trace_path};
    signal(SIGPIPE, SIG_IGN);
    return sim_proxy_main(&pc);
  }
  if (!a->state_path) {
    fprintf(stderr, "sqn-sim: --state FILE is required\n%s", sim_usage);
    return SIM_EXIT_USAGE;
  }
  if (a->json && !a->show) {
    fprintf(stderr, "sqn-sim: --json goes with --show\n");
    return SIM_EXIT_USAGE;
  }
  if (a->show)
    return sim_show(a->state_path, a->json);
  return -1;
}

/* Load the --faults file into *faults: 0, or the exit code (reported). */
static int sim_load_faults(const char *path, struct sim_fault **faults,
                           int *nfaults) {
  char err[512];
  *faults = calloc(SIM_MAX_FAULTS, sizeof **faults);
  if (!*faults) {
    fprintf(stderr, "sqn-sim: out of memory\n");
    return SIM_EXIT_RUNTIME;
  }
  *nfaults = sim_faults_load_yaml(path, *faults, SIM_MAX_FAULTS, err,
                                  sizeof err);
  if (*nfaults < 0) {
    fprintf(stderr, "sqn-sim: %s\n", err);
    return SIM_EXIT_INPUT;
  }
  return 0;
}

/* Create the modem on the open pty, serve it until stopped, save its
 * state. *served tells the state file is the modem's now. */
static int sim_serve_modem(struct sim_shell *sh, struct sim_state *st,
                           struct sim_pty *pty, const struct sim_args *a,
                           const struct sim_fault *faults, int nfaults,
                           const sigset_t *stop_signals, bool *served) {
  char err[512];
  int rc = SIM_EXIT_RUNTIME;
  sh->t0_us = sim_shell_now_us();
  struct sim_modem_config mc = {
      .profile = st->profile,
      .state = st,
      .time_scale = a->scale,
      .tx = sim_shell_tx,
      .persist = sim_shell_persist,
      /* Without --trace nobody reads the events: the model then skips
       * formatting them (several per STP exchange). */
      .trace = sh->trace ? sim_shell_trace : NULL,
      .user = sh,
      .store_io = &sh->store.io,
  };
  struct sim_modem *m = sim_modem_new(&mc, sh->t0_us);
  if (!m) {
    fprintf(stderr, "sqn-sim: cannot create the modem model\n");
    return rc;
  }
  for (int i = 0; i < nfaults; i++) {
    if (sim_modem_add_fault(m, &faults[i]) != 0) {
      fprintf(stderr, "sqn-sim: %s: fault table full at fault %d (%s)\n",
              a->faults_path, i + 1, faults[i].name);
      sim_modem_free(m);
      return SIM_EXIT_INPUT;
    }
  }

  /* Before any host knows the pty, its line is set up for the modem's
   * rate: a host that never sets one, or opens late, meets a matching line. */
  sim_pty_set_initial_rate(pty, sim_modem_uart_baud(m));

  /* A tool that reads this line may signal us at once: SIGINT/SIGTERM are
   * blocked (above) until sim_serve() has its handlers installed. */
  /* The contract other tools rely on: this is the first line, flushed. */
  printf("pty: %s\n", pty->name);
  fflush(stdout);

  struct sim_serve_config sc = {.modem = m,
                                .pty = pty,
                                .txq = &sh->txq,
                                .time_scale = a->scale,
                                .halt = &sh->halted,
                                .sync = sim_shell_sync,
                                .user = sh};
  rc = sim_serve(&sc, sh->t0_us);
  /* From here to exit nothing may tear the shutdown: a second Ctrl-C or a
   * SIGTERM stays pending (and dies with the process) while we save and
   * remove the --link. */
  sigprocmask(SIG_BLOCK, stop_signals, NULL);

  if (sh->halted) {
    /* The modem vanished: no last save (the file keeps the flash as last
     * persisted), and the pty goes away at once. */
    rc = SIM_EXIT_PERSIST;
  } else if (sim_state_save_locked(sh->state_path, sim_modem_state(m),
                                   &sh->lock_fd, err, sizeof err) != 0) {
    /* Every flash change is saved when it happens; this one only makes the
     * file current once more. */
    sim_shell_err("saving", sh->state_path, err);
    rc = SIM_EXIT_PERSIST;
  } else {
    sim_store_files_saved(&sh->store, sim_modem_state(m));
  }
  *served = true; /* the state file is the modem's now */
  sim_modem_free(m);
  return rc;
}

/* Open the state's side files, the trace and the pty, then serve. */
static int sim_open_and_serve(struct sim_shell *sh, struct sim_state *st,
                              const struct sim_args *a,
                              const struct sim_fault *faults, int nfaults,
                              const sigset_t *stop_signals, bool *served) {
  char err[512];
  int rc = SIM_EXIT_RUNTIME;
  struct sim_pty pty;
  if (sim_check_outputs(a->state_path, a->faults_path, a->trace_path,
                        a->link) != 0)
    return SIM_EXIT_USAGE;
  /* Ours now: temp files of an earlier emulator killed mid-save go. */
  (void)sim_state_clean_temps(a->state_path, err, sizeof err);
  {
    /* The store's files live beside the file a symlinked --state names. */
    char real[4096];
    if (sim_state_resolve(a->state_path, real, sizeof real, err, sizeof err) ||
        sim_store_files_init(&sh->store, real, st, err, sizeof err) != 0) {
      fprintf(stderr, "sqn-sim: %s\n", err);
      return SIM_EXIT_INPUT;
    }
  }
  if (a->trace_path) {
    sh->trace = fopen(a->trace_path, "w");
    if (!sh->trace) {
      fprintf(stderr, "sqn-sim: --trace %s: %s\n", a->trace_path,
              strerror(errno));
      return rc;
    }
  }
  if (sim_pty_open(&pty, a->link, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-sim: %s\n", err);
    return rc;
  }
  rc = sim_serve_modem(sh, st, &pty, a, faults, nfaults, stop_signals,
                       served);
  sim_pty_close(&pty);
  return rc;
}

/* Serve the modem of --state on a pty until stopped. */
static int sim_run(const struct sim_args *a) {
  int rc = SIM_EXIT_RUNTIME;
  char err[512];
  struct sim_shell sh;
  struct sim_state st;
  struct sim_fault *faults = NULL;
  int nfaults = 0;
  bool created = false, served = false;

  memset(&sh, 0, sizeof sh);
  sh.state_path = a->state_path;
  sh.lock_fd = -1;
  sh.store.fd = -1;
  signal(SIGPIPE, SIG_IGN);

  /* Hold SIGINT/SIGTERM from here until sim_serve() has its handlers
   * installed (it unblocks them then), so a stop request that arrives while
   * we start up stays pending and ends in a clean, saved exit. Blocking
   * only just before the pty line left the startup unprotected: there a
   * SIGINT was lost when the process inherited SIG_IGN for it (a
   * background job of a non-interactive shell), and the emulator kept
   * serving; a pending signal survives SIG_IGN, the kernel does not drop
   * blocked signals. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop_signals, NULL);

  if (a->faults_path) {
    rc = sim_load_faults(a->faults_path, &faults, &nfaults);
    if (rc != 0)
      goto out_free_faults;
  }
  if (a->link && sim_check_link(a->link) != 0) {
    rc = SIM_EXIT_RUNTIME;
    goto out_free_faults;
  }
  rc = sim_load_or_create(&sh, a->state_path, a->profile_arg, a->profile, &st,
                          &created);
  if (rc != 0)
    goto out_unlock;
  rc = sim_open_and_serve(&sh, &st, a, faults, nfaults, &stop_signals,
                          &served);
  if (served)
    created = false; /* served: the state file is the modem's now */
  if (sh.trace)
    fclose(sh.trace);
  sim_state_release(&st);
  /* A startup error after we created a factory-new state file: take it
   * back, so a failed start leaves nothing behind. */
  if (created) {
    char real[4096];
    if (sim_state_resolve(a->state_path, real, sizeof real, err, sizeof err) ||
        unlink(real) != 0)
      fprintf(stderr, "sqn-sim: removing %s: %s\n", a->state_path,
              strerror(errno));
  }
out_unlock:
  if (sh.lock_fd >= 0)
    close(sh.lock_fd);
out_free_faults:
  free(faults);
  sim_txq_free(&sh.txq);
  sim_store_files_free(&sh.store);
  return rc;
}

int main(int argc, char **argv) {
  if (sqn_tool_wants_version(argc, argv)) {
    sqn_tool_print_version(stdout, "sqn-sim");
    return 0;
  }
  struct sim_args a = {.profile = SIM_PROFILE_MONARCH1, .scale = 1.0};
  int rc = sim_parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  rc = sim_other_modes(&a);
  if (rc >= 0)
    return rc;
  return sim_run(&a);
}

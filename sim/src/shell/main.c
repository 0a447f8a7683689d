/*
 * sqn-sim: the Sequans Monarch modem emulator on a pseudo-terminal.
 *
 * This file is the process: command line, state file, fault file, trace
 * file, and the callbacks that connect the sans-IO model (sim_model) to the
 * pty loop in serve.c. Contract: modem-model.md.
 *
 *   stdout line 1: "pty: /dev/pts/N"   (flushed before serving)
 *   state file:    saved atomically on every flash change and at exit
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

#include "sim/fault.h"
#include "sim/state.h"
#include "tool.h"

#define SIM_MAX_FAULTS 64

struct sim_shell {
  struct sim_txq txq;
  const char *state_path;
  FILE *trace;
  uint64_t t0_us;
  unsigned persist_errors;
};

static const char sim_usage[] =
    "usage: sqn-sim --state FILE [--profile monarch1|gm02s] [--link PATH]\n"
    "               [--time-scale X] [--trace FILE] [--faults FILE]\n"
    "       sqn-sim --state FILE --show [--json]\n"
    "       sqn-sim --decode TRACE\n"
    "\n"
    "Emulates a Sequans Monarch LTE modem on a pseudo-terminal. The first line\n"
    "on stdout is \"pty: /dev/pts/N\"; connect a host tool to that path (or to\n"
    "the --link symlink). Serves until SIGINT or SIGTERM, then saves the state.\n"
    "\n"
    "  --state FILE       the modem's flash (JSON); created factory-new if missing,\n"
    "                     saved atomically on every change\n"
    "  --profile P        monarch1 (default) or gm02s; for a new state file only\n"
    "  --link PATH        make PATH a symlink to the pty (a stale symlink is\n"
    "                     replaced, a regular file is not); removed on exit\n"
    "  --time-scale X     multiply modem delays by X (default 1 = real time, with\n"
    "                     line-rate pacing at 10 bits per byte; 0 = no delays,\n"
    "                     no pacing)\n"
    "  --trace FILE       write one JSON line per trace event\n"
    "  --faults FILE      YAML list of faults to inject (keys and words: see\n"
    "                     docs/emulator.md and sim/include/sim/fault.h)\n"
    "  --show [--json]    print the state file and exit\n"
    "  --decode TRACE     print a --trace file for people and exit\n"
    "  --help             this text\n"
    "  --version          print the version and exit\n"
    "\n"
    "exit status: 0 ok, 1 runtime error (pty, I/O), 2 usage error,\n"
    "             3 bad state, faults or trace file\n";

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

static void sim_shell_persist(void *user, const struct sim_state *st) {
  struct sim_shell *sh = user;
  char err[256];
  if (sim_state_save(sh->state_path, st, err, sizeof err) != 0) {
    sh->persist_errors++;
    sim_shell_err("saving", sh->state_path, err);
  }
}

static void sim_shell_tx(void *user, const uint8_t *buf, size_t len) {
  struct sim_shell *sh = user;
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

/* Load the state file, or create a factory-new one (*created says so, so a
 * later startup error can take it back). */
static int sim_load_or_create(const char *path, const char *profile_arg,
                              enum sim_profile profile, struct sim_state *st,
                              bool *created) {
  char err[256];
  memset(st, 0, sizeof *st);
  errno = 0;
  if (sim_state_load(path, st, err, sizeof err) == 0) {
    if (profile_arg && st->profile != profile)
      fprintf(stderr, "sqn-sim: %s holds a %s modem; --profile %s ignored\n",
              path, st->profile == SIM_PROFILE_GM02S ? "gm02s" : "monarch1",
              profile_arg);
    return 0;
  }
  if (errno != ENOENT) {
    sim_shell_err(NULL, path, err);
    return -1;
  }
  sim_state_factory(st, profile);
  if (sim_state_save(path, st, err, sizeof err) != 0) {
    sim_shell_err("creating", path, err);
    sim_state_release(st);
    return -1;
  }
  *created = true;
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
  return 0;
}

int main(int argc, char **argv) {
  if (sqn_tool_wants_version(argc, argv)) {
    sqn_tool_print_version(stdout, "sqn-sim");
    return 0;
  }
  enum { OPT_STATE = 256, OPT_PROFILE, OPT_LINK, OPT_SCALE, OPT_TRACE,
         OPT_FAULTS, OPT_SHOW, OPT_JSON, OPT_DECODE, OPT_HELP };
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
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0}};
  const char *state_path = NULL, *profile_arg = NULL, *link = NULL;
  const char *trace_path = NULL, *faults_path = NULL, *decode = NULL;
  enum sim_profile profile = SIM_PROFILE_MONARCH1;
  double scale = 1.0;
  bool show = false, json = false;
  int c;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_STATE: state_path = optarg; break;
    case OPT_PROFILE:
      profile_arg = optarg;
      if (strcmp(optarg, "monarch1") == 0)
        profile = SIM_PROFILE_MONARCH1;
      else if (strcmp(optarg, "gm02s") == 0)
        profile = SIM_PROFILE_GM02S;
      else {
        fprintf(stderr, "sqn-sim: --profile %s: expected monarch1 or gm02s\n",
                optarg);
        return SIM_EXIT_USAGE;
      }
      break;
    case OPT_LINK: link = optarg; break;
    case OPT_SCALE: {
      char *end;
      errno = 0;
      scale = strtod(optarg, &end);
      if (errno || end == optarg || *end || !(scale >= 0) || scale > 1e6) {
        fprintf(stderr, "sqn-sim: --time-scale %s: expected a number >= 0\n",
                optarg);
        return SIM_EXIT_USAGE;
      }
      break;
    }
    case OPT_TRACE: trace_path = optarg; break;
    case OPT_FAULTS: faults_path = optarg; break;
    case OPT_SHOW: show = true; break;
    case OPT_JSON: json = true; break;
    case OPT_DECODE: decode = optarg; break;
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
  if (decode)
    return sim_trace_decode(decode, stdout);
  if (!state_path) {
    fprintf(stderr, "sqn-sim: --state FILE is required\n%s", sim_usage);
    return SIM_EXIT_USAGE;
  }
  if (json && !show) {
    fprintf(stderr, "sqn-sim: --json goes with --show\n");
    return SIM_EXIT_USAGE;
  }
  if (show)
    return sim_show(state_path, json);

  int rc = SIM_EXIT_RUNTIME;
  char err[512];
  struct sim_shell sh;
  struct sim_state st;
  struct sim_fault *faults = NULL;
  int nfaults = 0;
  struct sim_pty pty;
  struct sim_modem *m;
  bool created = false;

  memset(&sh, 0, sizeof sh);
  sh.state_path = state_path;
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
  sigprocmask(SIG_BLOCK, &stop_signals, NULL);

  if (faults_path) {
    faults = calloc(SIM_MAX_FAULTS, sizeof *faults);
    if (!faults) {
      fprintf(stderr, "sqn-sim: out of memory\n");
      return SIM_EXIT_RUNTIME;
    }
    nfaults = sim_faults_load_yaml(faults_path, faults, SIM_MAX_FAULTS, err,
                                   sizeof err);
    if (nfaults < 0) {
      fprintf(stderr, "sqn-sim: %s\n", err);
      rc = SIM_EXIT_INPUT;
      goto out_free_faults;
    }
  }
  if (link && sim_check_link(link) != 0) {
    rc = SIM_EXIT_RUNTIME;
    goto out_free_faults;
  }
  if (sim_load_or_create(state_path, profile_arg, profile, &st, &created) !=
      0) {
    rc = SIM_EXIT_INPUT;
    goto out_free_faults;
  }
  if (trace_path) {
    sh.trace = fopen(trace_path, "w");
    if (!sh.trace) {
      fprintf(stderr, "sqn-sim: --trace %s: %s\n", trace_path,
              strerror(errno));
      goto out_release_state;
    }
  }
  if (sim_pty_open(&pty, link, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-sim: %s\n", err);
    goto out_close_trace;
  }

  sh.t0_us = sim_shell_now_us();
  struct sim_modem_config mc = {
      .profile = st.profile,
      .state = &st,
      .time_scale = scale,
      .tx = sim_shell_tx,
      .persist = sim_shell_persist,
      .trace = sim_shell_trace,
      .user = &sh,
  };
  m = sim_modem_new(&mc, sh.t0_us);
  if (!m) {
    fprintf(stderr, "sqn-sim: cannot create the modem model\n");
    goto out_close_pty;
  }
  for (int i = 0; i < nfaults; i++) {
    if (sim_modem_add_fault(m, &faults[i]) != 0) {
      fprintf(stderr, "sqn-sim: %s: fault table full at fault %d (%s)\n",
              faults_path, i + 1, faults[i].name);
      rc = SIM_EXIT_INPUT;
      goto out_free_modem;
    }
  }

  /* Before any host knows the pty, its line is set up for the modem's
   * rate: a host that never sets one, or opens late, meets a matching line. */
  sim_pty_set_initial_rate(&pty, sim_modem_uart_baud(m));

  /* A tool that reads this line may signal us at once: SIGINT/SIGTERM are
   * blocked (above) until sim_serve() has its handlers installed. */
  /* The contract other tools rely on: this is the first line, flushed. */
  printf("pty: %s\n", pty.name);
  fflush(stdout);

  struct sim_serve_config sc = {
      .modem = m, .pty = &pty, .txq = &sh.txq, .time_scale = scale};
  rc = sim_serve(&sc, sh.t0_us);

  /* The flash is saved on every change already; saving again at exit makes
   * the file current even if a save failed earlier. */
  if (sim_state_save(state_path, sim_modem_state(m), err, sizeof err) != 0) {
    sim_shell_err("saving", state_path, err);
    rc = SIM_EXIT_RUNTIME;
  }
  created = false; /* served: the state file is the modem's now */

out_free_modem:
  sim_modem_free(m);
out_close_pty:
  sim_pty_close(&pty);
out_close_trace:
  if (sh.trace)
    fclose(sh.trace);
out_release_state:
  sim_state_release(&st);
  /* A startup error after we created a factory-new state file: take it
   * back, so a failed start leaves nothing behind. */
  if (created && unlink(state_path) != 0)
    fprintf(stderr, "sqn-sim: removing %s: %s\n", state_path,
            strerror(errno));
out_free_faults:
  free(faults);
  sim_txq_free(&sh.txq);
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-scenario: run fault-injection scenario files against the emulated
 * modem and report one line per scenario.
 *
 *   sqn-scenario run [options] FILE...   run scenarios
 *   sqn-scenario check FILE...           parse only
 *   sqn-scenario sweep [options]         power-cut sweep (docs/sweeps.md)
 *   sqn-scenario campaign [options]      seeded fault campaign (docs/sweeps.md)
 *   sqn-scenario merge -o OUT FILE...    join shards' JUnit files (docs/ci.md)
 *
 * Every option of every command is one row of harness_opts_table (name,
 * argument, the commands that take it, whether it goes into the
 * reproduction command, help text): one parser, and `sqn-scenario CMD
 * --help` prints the rows of CMD.
 *
 * Exit status: 0 when every scenario passed (or was skipped), 1 when one
 * failed, 2 on a bad command line or a malformed scenario file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "golden.h"
#include "import.h"
#include "ci.h"
#include "run.h"
#include "scenario.h"
#include "sweep.h"
#include "tool.h"
#include "sim/state_file.h"

enum harness_cmd {
  CMD_RUN = 1 << 0,
  CMD_CHECK = 1 << 1,
  CMD_SWEEP = 1 << 2,
  CMD_CAMPAIGN = 1 << 3,
  CMD_MERGE = 1 << 4,
  CMD_IMPORT = 1 << 5,
  CMD_DIFF = 1 << 6,
};
#define CMD_SIM (CMD_SWEEP | CMD_CAMPAIGN)

static const struct harness_cmd_info {
  enum harness_cmd cmd;
  const char *name, *synopsis, *summary, *about, *exit;
} harness_cmds[] = {
    {CMD_RUN, "run", "[options] FILE...", "run scenario files",
     "Runs fault-injection scenarios (fixtures/scenarios/*.yaml; installed:\n"
     "share/sqnup/scenarios) against the emulated modem and prints one line\n"
     "per scenario:\n"
     "  PASS|FAIL|SKIP  name  virtual time  wall ms\n"
     "A failure prints the whole transcript and the command that reproduces\n"
     "it. A missing file: FAIL FILE (cannot open: ...).",
     "exit status: 0 all passed (some may be skipped), 1 a scenario failed,\n"
     "2 bad command line or malformed scenario file, 77 every scenario was\n"
     "skipped"},
    {CMD_CHECK, "check", "FILE...", "parse scenario files, run nothing",
     "Loads each scenario file and reports OK or what is wrong with it\n"
     "(file:line).",
     "exit status: 0 every file is well-formed, 2 one is not"},
    {CMD_SWEEP, "sweep", "[options]", "power-cut sweep of one upgrade",
     "Runs one clean upgrade on the virtual clock, then cuts the power at\n"
     "every cut point of it (host/modem frames, flash writes; docs/sweeps.md),\n"
     "reboots the modem and checks that the updater recovers it or reports\n"
     "and that the flash is never half-written.",
     "exit status: 0 every selected point passed, 1 one failed (or the clean\n"
     "run failed), 2 bad command line"},
    {CMD_CAMPAIGN, "campaign", "[options]", "seeded random fault campaign",
     "Runs N upgrades, each with up to four faults drawn from a seed (run r\n"
     "has seed mix64(seed, r)), and checks every verdict (docs/sweeps.md).",
     "exit status: 0 every run passed, 1 one failed, 2 bad command line"},
    {CMD_MERGE, "merge", "-o OUT FILE...", "join shards' JUnit files",
     "Joins the JUnit files of the shards of a sweep or campaign (or any\n"
     "JUnit files) into one report with the totals summed. Suites named\n"
     "\"... shard K/M\" must all be there, each once (docs/ci.md).",
     "exit status: 0 merged, no failure; 1 merged, but a test failed or a\n"
     "shard is missing; 2 bad command line, unreadable or malformed file, or\n"
     "the same shard twice"},
    {CMD_IMPORT, "import", "TRACE -o OUT.yaml", "a recorded session as a scenario",
     "Turns a recorded session (sqn-sim or proxy trace, sqn-update --log,\n"
     "socat -x dump) into a scenario, its host chat script and its faults\n"
     "(docs/wireshark.md; sqn-scenario import --help).",
     "exit status: 0 written, 2 bad command line, 3 bad trace or cannot write"},
    {CMD_DIFF, "diff", "TRACE_A TRACE_B", "where two recorded sessions part",
     "Compares the AT lines and STP frames of two recorded sessions, any\n"
     "formats, times ignored, and prints the first place they differ.",
     "exit status: 0 same exchange, 1 they differ, 2 bad command line,\n"
     "3 bad trace file"},
};

enum harness_opt_id {
  O_HELP, O_NARRATE, O_VERBOSE, O_PTY, O_BIN_DIR, O_FIXTURES, O_SCALE,
  O_PACKAGE, O_FROM, O_PROFILE, O_EVERY, O_STRIDE, O_ONLY, O_SHARD, O_JUNIT,
  O_DOUBLE, O_SEED, O_REPLAY, O_TRANSCRIPTS, O_MUTATE, O_BOUND, O_RUNS,
  O_PACKAGE_SIZE, O_SELF_CHECK, O_RUN_SEED, O_KEEP, O_OUTPUT, O_JOBS,
  O_RERUN_ALL, O_UPDATE_GOLDEN, O_SAFE,
};

/* One row per option. `repro`: the commands whose reproduction command
 * (printed for a failing point or run) keeps this option. */
static const struct harness_opt {
  enum harness_opt_id id;
  const char *name; /* without "--" */
  char short_name;
  const char *arg; /* NULL: a flag */
  unsigned cmds, repro;
  const char *help;
} harness_opts_table[] = {
    {O_NARRATE, "narrate", 0, NULL, CMD_RUN | CMD_CHECK, 0,
     "print the story of each run, then its verdict (runs that only "
     "re-establish an earlier scenario's state in one line)"},
    {O_NARRATE, "narrate", 0, NULL, CMD_CAMPAIGN, 0,
     "print the transcript of every run"},
    {O_VERBOSE, "verbose", 'v', NULL, CMD_RUN | CMD_CHECK, 0,
     "every line of the story (STP frames, flash records, exact command "
     "lines), like --narrate twice"},
    {O_VERBOSE, "verbose", 'v', NULL, CMD_CAMPAIGN, 0,
     "one line per run: its seed and verdict"},
    {O_SAFE, "safe", 0, NULL, CMD_RUN | CMD_CHECK, 0,
     "for scenarios from strangers: refuse any `command:` and paths outside "
     "the scenario's folder (docs/scenarios.md, \"Scenarios are code\")"},
    {O_PTY, "pty", 0, "[=model]", CMD_RUN | CMD_CHECK, 0,
     "real processes: every run starts sqn-sim (state and faults in temp "
     "files) and runs sqn-update (or the scenario's command) on its pty; "
     "--pty=model: a process on a pty driven by the in-process model"},
    {O_BIN_DIR, "bin-dir", 0, "DIR", CMD_RUN | CMD_CHECK, 0,
     "where sqn-update / sqn-chat / sqn-sim live (default: the build tree, "
     "then PATH)"},
    {O_FIXTURES, "fixtures", 0, "DIR", CMD_RUN | CMD_CHECK | CMD_SIM, CMD_SIM,
     "data directory: named states, host scripts, packages (default: "
     "$SQNUP_DATADIR, else share/sqnup next to the executable, else the "
     "installed one)"},
    {O_SCALE, "scale", 0, "X", CMD_RUN | CMD_CHECK, 0,
     "wall seconds per virtual second for pty runs (0 < X <= 1, default "
     "0.02)"},
    {O_PACKAGE, "package", 0, "SPEC", CMD_SIM, CMD_SIM,
     "the package: comma-separated size=BYTES, version=A.B.C.D, build=N, "
     "family=lr5|lr6|lr8, records=boot+updater+fff+fs, no-pack, no-elf "
     "(default: genuine layout, 262144 bytes, with an updater.elf)"},
    {O_FROM, "from", 0, "STATE", CMD_SIM, CMD_SIM,
     "the modem's flash at the start: a named state (states/STATE.json in "
     "the data directory) or a JSON file (default healthy)"},
    {O_PROFILE, "profile", 0, "P", CMD_SWEEP, CMD_SWEEP,
     "monarch1 (default) or gm02s"},
    {O_EVERY, "every", 0, "frame|byte-step N", CMD_SWEEP, CMD_SWEEP,
     "cut points at every frame (default), or also every N host bytes"},
    {O_STRIDE, "stride", 0, "K", CMD_SWEEP, 0,
     "run every K-th cut point only (default 1: all)"},
    {O_ONLY, "only", 0, "I", CMD_SWEEP, 0,
     "run cut point I only (1-based) and print its transcript"},
    {O_SHARD, "shard", 0, "K/M", CMD_SIM, 0,
     "run shard K of M (items j with j % M == K - 1); default: from "
     "SQN_SHARD_INDEX/SQN_SHARD_TOTAL, GitLab CI_NODE_INDEX/CI_NODE_TOTAL or "
     "Kubernetes JOB_COMPLETION_INDEX/SQN_SHARD_TOTAL, else 1/1"},
    {O_JUNIT, "junit", 0, "FILE", CMD_SIM, 0,
     "write a JUnit XML report (one testcase per point or run)"},
    {O_DOUBLE, "double", 0, "N", CMD_SWEEP, CMD_SWEEP,
     "a second cut during the recovery at about 1 in N points (default 8; "
     "0: none)"},
    {O_SEED, "seed", 0, "S", CMD_SWEEP, CMD_SWEEP,
     "where the second cuts fall (default 1)"},
    {O_SEED, "seed", 0, "S", CMD_CAMPAIGN, 0,
     "the campaign's seed (default 1)"},
    {O_REPLAY, "replay", 0, NULL, CMD_SWEEP, CMD_SWEEP,
     "replay every point from the start, not from snapshots (slower; checks "
     "the snapshots)"},
    {O_JOBS, "jobs", 0, "N", CMD_SWEEP, 0,
     "worker processes for the points, 1..64 (default: the online CPUs); "
     "the report is the same for every N"},
    {O_RERUN_ALL, "rerun-all", 0, NULL, CMD_SWEEP, 0,
     "rerun every point's recovery instead of judging runs that provably "
     "start from the same state once (docs/sweeps.md)"},
    {O_TRANSCRIPTS, "transcripts", 0, "N", CMD_SWEEP, 0,
     "print the transcripts of the first N failing points (default 1)"},
    {O_MUTATE, "mutate", 0, "KIND", CMD_SWEEP, CMD_SWEEP,
     "test hook, breaks the write ordering on purpose: none, "
     "skip-invalidate, valid-early or model-valid-early"},
    {O_BOUND, "bound", 0, "SECONDS", CMD_SIM, CMD_SIM,
     "virtual-time bound of one run (default 3600)"},
    {O_RUNS, "runs", 0, "N", CMD_CAMPAIGN, 0, "number of runs (default 100)"},
    {O_PACKAGE_SIZE, "package-size", 0, "B", CMD_CAMPAIGN, CMD_CAMPAIGN,
     "package size in bytes (same as --package size=B)"},
    {O_SELF_CHECK, "self-check", 0, NULL, CMD_CAMPAIGN, 0,
     "run the first two runs and every 97th twice and compare the "
     "transcripts byte for byte"},
    {O_RUN_SEED, "run-seed", 0, "X", CMD_CAMPAIGN, 0,
     "reproduce the one run with this seed (printed for a failure)"},
    {O_KEEP, "keep", 0, "MASK", CMD_CAMPAIGN, 0,
     "with --run-seed: keep only the faults in MASK (bit i = fault i)"},
    {O_OUTPUT, "output", 'o', "FILE", CMD_MERGE, 0,
     "the merged report ('-': stdout)"},
    {O_UPDATE_GOLDEN, "update-golden", 0, NULL, CMD_RUN, 0,
     "write each in-process scenario's exchange to golden/NAME.txt next to "
     "it; without it, a scenario with a golden file fails when its exchange "
     "differs (docs/scenarios.md)"},
    {O_HELP, "help", 'h', NULL,
     CMD_RUN | CMD_CHECK | CMD_SIM | CMD_MERGE, 0, "this text"},
};

#define HARNESS_NOPTS (sizeof(harness_opts_table) / sizeof(harness_opts_table[0]))

static void harness_usage(FILE *f) {
  fprintf(f, "usage: sqn-scenario COMMAND [options] [FILE...]\n"
             "       sqn-scenario --version\n"
             "\n"
             "Fault-injection scenarios, power-cut sweeps and fault campaigns\n"
             "against the emulated Sequans Monarch modem, on a virtual clock.\n"
             "\n"
             "commands:\n");
  for (size_t i = 0; i < sizeof(harness_cmds) / sizeof(harness_cmds[0]); i++)
    fprintf(f, "  %-9s %-18s %s\n", harness_cmds[i].name,
            harness_cmds[i].synopsis, harness_cmds[i].summary);
  fprintf(f, "\n"
             "`sqn-scenario COMMAND --help` lists the options of COMMAND.\n"
             "exit status: 0 ok, 1 a scenario, point or run failed, 2 bad\n"
             "command line or file, 77 every scenario was skipped\n");
}

static const struct harness_cmd_info *harness_cmd_info(enum harness_cmd c) {
  for (size_t i = 0; i < sizeof(harness_cmds) / sizeof(harness_cmds[0]); i++)
    if (harness_cmds[i].cmd == c)
      return &harness_cmds[i];
  return &harness_cmds[0];
}

/* Print `text` word-wrapped to 79 columns, lines after the first indented
 * by `indent` (the cursor is at `indent` already). */
static void harness_print_wrapped(FILE *f, const char *text, int indent) {
  int col = indent;
  const char *p = text;
  while (*p) {
    size_t w = strcspn(p, " ");
    if (col > indent && col + 1 + (int)w > 79) {
      fprintf(f, "\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, w, f);
    col += (int)w;
    p += w;
    while (*p == ' ')
      p++;
  }
  fputc('\n', f);
}

static void harness_cmd_usage(FILE *f, enum harness_cmd cmd) {
  const struct harness_cmd_info *ci = harness_cmd_info(cmd);
  fprintf(f, "usage: sqn-scenario %s %s\n\n%s\n\noptions:\n", ci->name,
          ci->synopsis, ci->about);
  for (size_t i = 0; i < HARNESS_NOPTS; i++) {
    const struct harness_opt *o = &harness_opts_table[i];
    if (!(o->cmds & cmd))
      continue;
    char left[64];
    if (o->short_name)
      snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
               o->arg && o->arg[0] != '[' ? " " : "", o->arg ? o->arg : "");
    else
      snprintf(left, sizeof(left), "--%s%s%s", o->name,
               o->arg && o->arg[0] != '[' ? " " : "", o->arg ? o->arg : "");
    if (strlen(left) > 20)
      fprintf(f, "  %s\n%24s", left, "");
    else
      fprintf(f, "  %-20s  ", left);
    harness_print_wrapped(f, o->help, 24);
  }
  fprintf(f, "\n%s\n", ci->exit);
}

/* Parse an unsigned number (decimal or 0x...); -1 on junk. */
static int harness_arg_u64(const char *opt, const char *v, uint64_t *out) {
  char *end;
  errno = 0;
  *out = strtoull(v, &end, 0);
  if (!*v || *end || *v == '-' || errno) {
    fprintf(stderr, "sqn-scenario: %s wants a number, not '%s'\n", opt, v);
    return -1;
  }
  return 0;
}

/* --shard K/M; -1 with a message on junk. */
static int harness_arg_shard(const char *v, struct harness_shard *out) {
  if (harness_shard_parse(v, out) != 0) {
    fprintf(stderr, "sqn-scenario: --shard wants K/M with 1 <= K <= M, "
                    "not '%s'\n", v);
    return -1;
  }
  return 0;
}

static const char *harness_getenv(const char *name) { return getenv(name); }

/* No --shard: the CI engine's shard, if any (docs/ci.md). */
static int harness_env_shard(struct harness_shard *out) {
  char err[256];
  const char *source = NULL;
  int r = harness_shard_from_env(harness_getenv, out, &source, err,
                                 sizeof(err));
  if (r < 0) {
    fprintf(stderr, "sqn-scenario: shard from the environment: %s\n", err);
    return -1;
  }
  if (r > 0)
    fprintf(stderr, "sqn-scenario: shard %u/%u from %s\n", out->k, out->m,
            source);
  return 0;
}

/* Append an argument to the reproduction command. */
static void harness_repro_add(char *buf, size_t cap, const char *a) {
  size_t l = strlen(buf);
  bool quote = strpbrk(a, " \t'\"") != NULL;
  snprintf(buf + l, cap - l, quote ? " '%s'" : " %s", a);
}

/* Everything any command's options set. */
struct harness_cli {
  enum harness_cmd cmd;
  int first;            /* first FILE argument (argc when none) */
  int narrate;          /* --narrate count */
  bool safe;            /* --safe */
  bool verbose, pty, pty_model, replay, self_check, has_shard, has_run_seed;
  bool rerun_all, update_golden;
  unsigned jobs;
  const char *bin_dir, *fixtures, *package, *from, *junit, *output;
  enum sim_profile profile;
  enum harness_mutation mutation;
  double scale;
  uint32_t byte_step;
  uint64_t stride, only, double_every, seed, transcripts, bound_s, runs,
      package_size, run_seed, keep;
  struct harness_shard shard;
  char datadir[1024];
  char repro[2048];
};

/* The row of option `a` for command `cmd`, NULL when cmd has no such
 * option. */
static const struct harness_opt *harness_opt_find(const char *a,
                                                  enum harness_cmd cmd,
                                                  const char **inline_v) {
  *inline_v = NULL;
  if (a[0] == '-' && a[1] == '-') {
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < HARNESS_NOPTS; i++)
      if ((harness_opts_table[i].cmds & cmd) &&
          strlen(harness_opts_table[i].name) == n &&
          !strncmp(harness_opts_table[i].name, name, n)) {
        *inline_v = eq ? eq + 1 : NULL;
        return &harness_opts_table[i];
      }
  } else if (a[0] == '-' && a[1] && !a[2]) {
    for (size_t i = 0; i < HARNESS_NOPTS; i++)
      if ((harness_opts_table[i].cmds & cmd) &&
          harness_opts_table[i].short_name == a[1])
        return &harness_opts_table[i];
  }
  return NULL;
}

/* Options that take no check: set them. false when id is not one. */
static bool harness_opt_set_plain(struct harness_cli *c,
                                  enum harness_opt_id id, const char *v) {
  switch (id) {
  case O_HELP: break;
  case O_NARRATE: c->narrate++; break;
  case O_SAFE: c->safe = true; break;
  case O_VERBOSE: c->verbose = true; break;
  case O_BIN_DIR: c->bin_dir = v; break;
  case O_FIXTURES: c->fixtures = v; break;
  case O_PACKAGE: c->package = v; break;
  case O_FROM: c->from = v; break;
  case O_JUNIT: c->junit = v; break;
  case O_REPLAY: c->replay = true; break;
  case O_RERUN_ALL: c->rerun_all = true; break;
  case O_SELF_CHECK: c->self_check = true; break;
  case O_OUTPUT: c->output = v; break;
  case O_UPDATE_GOLDEN: c->update_golden = true; break;
  default: return false;
  }
  return true;
}

/* Options that are a plain number: n is already parsed. */
static void harness_opt_set_u64(struct harness_cli *c, enum harness_opt_id id,
                                uint64_t n) {
  switch (id) {
  case O_STRIDE: c->stride = n ? n : 1; break;
  case O_ONLY: c->only = n; break;
  case O_DOUBLE: c->double_every = n; break;
  case O_SEED: c->seed = n; break;
  case O_TRANSCRIPTS: c->transcripts = n; break;
  case O_BOUND: c->bound_s = n; break;
  case O_RUNS: c->runs = n; break;
  case O_PACKAGE_SIZE: c->package_size = n; break;
  case O_RUN_SEED: c->run_seed = n; c->has_run_seed = true; break;
  default: c->keep = n; break;
  }
}

static int harness_opt_pty(struct harness_cli *c, const char *v) {
  if (v && strcmp(v, "model") != 0) {
    fprintf(stderr, "sqn-scenario: --pty or --pty=model, not --pty=%s\n", v);
    return -1;
  }
  c->pty = true;
  c->pty_model = v != NULL;
  return 0;
}

static int harness_opt_scale(struct harness_cli *c, const char *v) {
  char *end;
  c->scale = strtod(v, &end);
  if (!*v || *end || !(c->scale > 0) || c->scale > 1) {
    fprintf(stderr, "sqn-scenario: --scale wants 0 < X <= 1, not %s\n", v);
    return -1;
  }
  return 0;
}

static int harness_opt_profile(struct harness_cli *c, const char *v) {
  if (!strcmp(v, "gm02s"))
    c->profile = SIM_PROFILE_GM02S;
  else if (!strcmp(v, "monarch1"))
    c->profile = SIM_PROFILE_MONARCH1;
  else {
    fprintf(stderr, "sqn-scenario: --profile monarch1|gm02s, not %s\n", v);
    return -1;
  }
  return 0;
}

static int harness_opt_every(struct harness_cli *c, const char *v,
                             const char *next, bool *used_next) {
  uint64_t n = 0;
  if (!strcmp(v, "frame")) {
    c->byte_step = 0;
  } else if (!strcmp(v, "byte-step") && next) {
    if (harness_arg_u64("--every byte-step", next, &n) != 0 || !n ||
        n > 1u << 30) {
      if (!n)
        fprintf(stderr, "sqn-scenario: --every byte-step wants 1 to %u\n",
                1u << 30);
      return -1;
    }
    c->byte_step = (uint32_t)n;
    *used_next = true;
  } else {
    fprintf(stderr, "sqn-scenario: --every frame | byte-step N\n");
    return -1;
  }
  return 0;
}

/* Set one option's value; -1 (message printed) on a bad value. `next` is
 * the argument after the value, for --every byte-step N; *used_next tells
 * the caller it was taken. */
static int harness_opt_apply(struct harness_cli *c, const struct harness_opt *o,
                             const char *v, const char *next, bool *used_next) {
  uint64_t n = 0;
  char opt[40];
  snprintf(opt, sizeof(opt), "--%s", o->name);
  if (harness_opt_set_plain(c, o->id, v))
    return 0;
  switch (o->id) {
  case O_PTY: return harness_opt_pty(c, v);
  case O_SCALE: return harness_opt_scale(c, v);
  case O_PROFILE: return harness_opt_profile(c, v);
  case O_EVERY: return harness_opt_every(c, v, next, used_next);
  case O_SHARD:
    if (harness_arg_shard(v, &c->shard) != 0)
      return -1;
    c->has_shard = true;
    break;
  case O_MUTATE:
    if (harness_mutation_parse(v, &c->mutation) != 0) {
      fprintf(stderr, "sqn-scenario: --mutate none|skip-invalidate|"
                      "valid-early|model-valid-early\n");
      return -1;
    }
    break;
  case O_JOBS:
    if (harness_arg_u64(opt, v, &n) != 0 || n < 1 || n > 64) {
      fprintf(stderr, "sqn-scenario: --jobs wants 1..64\n");
      return -1;
    }
    c->jobs = (unsigned)n;
    break;
  case O_STRIDE: case O_ONLY: case O_DOUBLE: case O_SEED: case O_TRANSCRIPTS:
  case O_BOUND: case O_RUNS: case O_PACKAGE_SIZE: case O_RUN_SEED: case O_KEEP:
    if (harness_arg_u64(opt, v, &n) != 0)
      return -1;
    harness_opt_set_u64(c, o->id, n);
    break;
  default:
    break;
  }
  return 0;
}

/*
 * Parse argv[2..] for command `cmd` into c. Options come first; the first
 * argument that is not an option (or everything after "--") starts the
 * files. Returns 0, 1 after printing the help, or 2 on a bad command line
 * (message printed).
 */
static int harness_cli_parse(int argc, char **argv, enum harness_cmd cmd,
                             struct harness_cli *c) {
  const struct harness_cmd_info *ci = harness_cmd_info(cmd);
  memset(c, 0, sizeof(*c));
  c->cmd = cmd;
  c->first = argc;
  c->scale = 0.02;
  c->from = "healthy";
  c->profile = SIM_PROFILE_MONARCH1;
  c->stride = 1;
  c->double_every = 8;
  c->seed = 1;
  c->transcripts = 1;
  c->bound_s = 3600;
  c->runs = 100;
  /* --jobs default: the cores this process may run on. */
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  c->jobs = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
  snprintf(c->repro, sizeof(c->repro), "%s %s", argv[0], ci->name);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      c->first = i + 1;
      break;
    }
    if (a[0] != '-' || !a[1]) {
      if (!(cmd & (CMD_RUN | CMD_CHECK | CMD_MERGE))) {
        fprintf(stderr, "sqn-scenario %s: unexpected argument '%s' (see "
                        "sqn-scenario %s --help)\n", ci->name, a, ci->name);
        return 2;
      }
      c->first = i;
      break;
    }
    const char *inline_v;
    const struct harness_opt *o = harness_opt_find(a, cmd, &inline_v);
    if (!o) {
      fprintf(stderr, "sqn-scenario %s: unknown option '%s' (see "
                      "sqn-scenario %s --help)\n", ci->name, a, ci->name);
      return 2;
    }
    if (o->id == O_HELP) {
      harness_cmd_usage(stdout, cmd);
      return 1;
    }
    const char *v = inline_v;
    bool takes_value = o->arg && o->arg[0] != '[';
    if (takes_value && !v) {
      if (i + 1 >= argc) {
        fprintf(stderr, "sqn-scenario %s: --%s needs a value (%s)\n",
                ci->name, o->name, o->arg);
        return 2;
      }
      v = argv[++i];
    } else if (!o->arg && v) {
      fprintf(stderr, "sqn-scenario %s: --%s takes no value\n", ci->name,
              o->name);
      return 2;
    }
    bool used_next = false;
    if (harness_opt_apply(c, o, v, i + 1 < argc ? argv[i + 1] : NULL,
                          &used_next) != 0)
      return 2;
    if (o->repro & cmd) {
      char flag[48];
      snprintf(flag, sizeof(flag), "--%s", o->name);
      harness_repro_add(c->repro, sizeof(c->repro), flag);
      if (v)
        harness_repro_add(c->repro, sizeof(c->repro), v);
      if (used_next)
        harness_repro_add(c->repro, sizeof(c->repro), argv[i + 1]);
    }
    if (used_next)
      i++;
  }
  if ((cmd & CMD_SIM) && !c->has_shard) {
    c->shard = (struct harness_shard){1, 1};
    if (harness_env_shard(&c->shard) != 0)
      return 2;
  }
  if (!c->fixtures)
    c->fixtures = sqn_tool_datadir(c->datadir, sizeof(c->datadir));
  return 0;
}

static double harness_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The flash to start from: a named state in fixtures/states or a file. */
static int harness_load_from(const char *fixtures, const char *from,
                             struct sim_state *st) {
  char path[1024], err[512];
  if (strchr(from, '/') || strstr(from, ".json"))
    snprintf(path, sizeof(path), "%s", from);
  else
    snprintf(path, sizeof(path), "%s/states/%s.json", fixtures, from);
  memset(st, 0, sizeof(*st));
  if (sim_state_load(path, st, err, sizeof(err)) != 0) {
    fprintf(stderr, "sqn-scenario: --from %s: %s\n", from, err);
    return -1;
  }
  return 0;
}


static int harness_main_sweep(const struct harness_cli *c) {
  struct harness_sweep_opts o;
  memset(&o, 0, sizeof(o));
  o.byte_step = c->byte_step;
  o.stride = (uint32_t)c->stride;
  o.only = c->only;
  o.shard = c->shard;
  o.double_every = (uint32_t)c->double_every;
  o.seed = c->seed;
  o.replay = c->replay;
  o.rerun_all = c->rerun_all;
  o.jobs = c->jobs;
  o.mutation = c->mutation;
  o.bound_us = c->bound_s * 1000000ull;
  o.max_transcripts = (unsigned)c->transcripts;
  o.junit = c->junit;
  struct sim_state start;
  if (harness_load_from(c->fixtures, c->from, &start) != 0)
    return 2;
  struct harness_pkg pkg;
  char err[512];
  if (harness_pkg_spec_build(c->package, c->profile, &pkg, err,
                             sizeof(err)) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err);
    sim_state_release(&start);
    return 2;
  }
  o.profile = c->profile;
  o.pkg = &pkg;
  o.start = &start;
  o.repro = c->repro;
  struct harness_sweep_stats st;
  int rc = harness_sweep(&o, &st);
  if (rc < 0) {
    printf("sweep: ERROR: %s\n", st.clean_reason[0] ? st.clean_reason
                                                       : "harness error");
  } else {
    printf("sweep: shard %u/%u: %llu of %llu cut points, %llu recovered, "
           "%llu reported, %llu FAILED, %llu double cuts; %.2f s wall, "
           "%.0f cut points/s\n",
           o.shard.k, o.shard.m, (unsigned long long)st.selected,
           (unsigned long long)st.points, (unsigned long long)st.recovered,
           (unsigned long long)st.reported, (unsigned long long)st.failed,
           (unsigned long long)st.doubles, st.wall_s,
           st.wall_s > 0 ? (double)st.selected / st.wall_s : 0.0);
  }
  harness_pkg_free(&pkg);
  sim_state_release(&start);
  return rc < 0 ? 1 : rc;
}

static int harness_main_campaign(const struct harness_cli *c) {
  struct harness_campaign_opts o;
  memset(&o, 0, sizeof(o));
  o.shard = c->shard;
  o.bound_us = c->bound_s * 1000000ull;
  o.runs = c->runs;
  o.seed = c->seed;
  o.self_check = c->self_check;
  o.narrate = c->narrate > 0;
  o.verbose = c->verbose;
  o.has_run_seed = c->has_run_seed;
  o.run_seed = c->run_seed;
  o.keep_mask = (uint32_t)c->keep;
  o.junit = c->junit;
  const char *spec = c->package;
  char specbuf[600];
  if (c->package_size)
    snprintf(specbuf, sizeof(specbuf), "%s%ssize=%llu", spec ? spec : "",
             spec ? "," : "", (unsigned long long)c->package_size);
  else
    snprintf(specbuf, sizeof(specbuf), "%s", spec ? spec : "");
  struct sim_state start;
  if (harness_load_from(c->fixtures, c->from, &start) != 0)
    return 2;
  struct harness_pkg pkg;
  char err[512];
  if (harness_pkg_spec_build(specbuf, SIM_PROFILE_MONARCH1, &pkg, err,
                             sizeof(err)) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err);
    sim_state_release(&start);
    return 2;
  }
  o.profile = SIM_PROFILE_MONARCH1;
  o.pkg = &pkg;
  o.start = &start;
  o.repro = c->repro;
  if (!o.has_run_seed)
    printf("campaign: seed %llu, %llu runs (shard %u/%u), %zu-byte package "
           "%s; run r has seed mix64(seed, r)\n",
           (unsigned long long)o.seed, (unsigned long long)o.runs, o.shard.k,
           o.shard.m, pkg.len, pkg.version_text);
  struct harness_campaign_stats st;
  int rc = harness_campaign(&o, &st);
  if (rc < 0)
    printf("campaign: ERROR: harness error (out of memory?)\n");
  else
    printf("campaign: seed %llu shard %u/%u: %llu runs, %llu recovered, "
           "%llu reported, %llu FAILED, %llu self-checked; %.2f s wall, "
           "%.1f runs/s\n",
           (unsigned long long)o.seed, o.shard.k, o.shard.m,
           (unsigned long long)st.runs, (unsigned long long)st.recovered,
           (unsigned long long)st.reported, (unsigned long long)st.failed,
           (unsigned long long)st.self_checked, st.wall_s,
           st.wall_s > 0 ? (double)st.runs / st.wall_s : 0.0);
  harness_pkg_free(&pkg);
  sim_state_release(&start);
  return rc < 0 ? 1 : rc;
}

static int harness_main_merge(int argc, char **argv,
                              const struct harness_cli *c) {
  if (!c->output) {
    fprintf(stderr, "sqn-scenario merge: -o FILE is required (see "
                    "sqn-scenario merge --help)\n");
    return 2;
  }
  if (c->first >= argc) {
    fprintf(stderr, "sqn-scenario merge: no JUnit file given\n");
    return 2;
  }
  bool to_stdout = !strcmp(c->output, "-");
  char tmp[1100];
  FILE *out = stdout;
  if (!to_stdout) {
    /* Write next to the target and rename: no half-written report. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->output);
    out = fopen(tmp, "w");
    if (!out) {
      fprintf(stderr, "sqn-scenario merge: %s: %s\n", tmp, strerror(errno));
      return 2;
    }
  }
  struct harness_merge_stats st;
  char err[1536]; /* a path of up to 1100 bytes and strerror() */
  int r = harness_junit_merge((const char *const *)argv + c->first,
                              argc - c->first, out, stderr, &st, err,
                              sizeof(err));
  if (!to_stdout) {
    if (fclose(out) != 0 && r == 0) {
      snprintf(err, sizeof(err), "%s: %s", tmp, strerror(errno));
      r = -1;
    }
    if (r == 0 && rename(tmp, c->output) != 0) {
      snprintf(err, sizeof(err), "%s: %s", c->output, strerror(errno));
      r = -1;
    }
    if (r != 0)
      remove(tmp);
  }
  if (r != 0) {
    fprintf(stderr, "sqn-scenario merge: %s\n", err);
    return 2;
  }
  fprintf(stderr, "merge: %u files, %u suites: %llu tests, %llu failures, "
                  "%llu errors, %llu skipped, %u shards missing -> %s\n",
          st.files, st.suites, st.tests, st.failures, st.errors, st.skipped,
          st.missing, c->output);
  return (st.failures || st.errors || st.missing) ? 1 : 0;
}

/* Load one scenario file for `run`/`check`; NULL (reported) when it
 * cannot be opened, is malformed or is refused by --safe. */
static struct harness_scenario *harness_run_open(const char *file,
                                                 const struct harness_cli *c) {
  char err[1024];
  /* access(), not fopen(): opening a FIFO would wait for a writer (the
   * loader refuses anything but a regular file). */
  if (access(file, R_OK) != 0) {
    printf("FAIL  %s  (cannot open: %s)\n", file, strerror(errno));
    return NULL;
  }
  struct harness_scenario *s = harness_scenario_load(file, err, sizeof(err));
  if (!s) {
    fprintf(stderr, "%s\n", err);
    printf("FAIL  %s  (malformed scenario file)\n", file);
    return NULL;
  }
  if (c->safe && harness_scenario_check_safe(s, err, sizeof(err)) != 0) {
    fprintf(stderr, "%s\n", err);
    printf("FAIL  %s  (refused by --safe)\n", file);
    harness_scenario_free(s);
    return NULL;
  }
  return s;
}

/* Golden transcripts (golden.h): in-process runs only, deterministic. */
static void harness_run_golden(const char *file, const struct harness_opts *o,
                               const struct harness_scenario *s,
                               const struct harness_cli *c,
                               struct harness_result *r) {
  if (r->status != HARNESS_PASS || o->pty || !harness_golden_applies(s))
    return;
  char gmsg[1024];
  switch (harness_golden_check(file, &r->golden, c->update_golden, gmsg,
                               sizeof gmsg)) {
  case HARNESS_GOLDEN_DIFFERS:
  case HARNESS_GOLDEN_ERROR:
    r->status = HARNESS_FAIL;
    snprintf(r->reason, sizeof r->reason, "%s", gmsg);
    break;
  case HARNESS_GOLDEN_WRITTEN:
    fprintf(stderr, "sqn-scenario: %s\n", gmsg);
    break;
  default:
    break;
  }
}

struct harness_run_counts {
  int failed, bad, passed, skipped;
};

/* Print one scenario's verdict line (and story, reason, reproduction)
 * and count it. */
static void harness_run_print(const struct harness_result *r,
                              const char *name, const char *file, double wall,
                              bool more, const struct harness_opts *o,
                              const struct harness_cli *c, const char *self,
                              struct harness_run_counts *n) {
  bool narrate = c->narrate > 0;
  /* every line of the transcript, not the short story */
  bool full = c->narrate > 1 || c->verbose;
  /* A narrated success reads as a story followed by its verdict; a
   * failure leads with the verdict and the reason, then every line. */
  bool story_first = narrate && r->status != HARNESS_FAIL;
  if (story_first)
    harness_narrator_print(&r->narr, stdout, full);
  printf("%s  %-48s %10.1f s virtual %8.0f ms wall%s%s\n",
         harness_status_name(r->status), name, r->virtual_s, wall,
         r->status == HARNESS_SKIP ? "  — " : "",
         r->status == HARNESS_SKIP ? r->reason : "");
  if (story_first && more)
    putchar('\n');
  if (r->status == HARNESS_FAIL) {
    n->failed++;
    printf("  reason: %s\n", r->reason);
  } else if (r->status == HARNESS_PASS) {
    n->passed++;
  } else {
    n->skipped++;
  }
  if (r->status == HARNESS_FAIL)
    harness_narrator_print(&r->narr, stdout, true);
  if (r->status == HARNESS_FAIL)
    printf("  reproduce: %s run --narrate%s %s\n\n", self,
           o->pty ? (o->pty_model ? " --pty=model" : " --pty") : "", file);
  fflush(stdout);
}

static int harness_main_run(int argc, char **argv,
                            const struct harness_cli *c) {
  bool check_only = c->cmd == CMD_CHECK;
  struct harness_opts o = {.fixtures = c->fixtures,
                           .bin_dir = c->bin_dir,
                           .self = argv[0],
                           .pty = c->pty,
                           .pty_model = c->pty_model,
                           .wall_scale = c->scale};
  int first = c->first;
  if (first >= argc) {
    fprintf(stderr, "sqn-scenario: no scenario file given\n");
    return 2;
  }
  struct harness_run_counts n = {0, 0, 0, 0};
  for (int i = first; i < argc; i++) {
    struct harness_scenario *s = harness_run_open(argv[i], c);
    if (!s) {
      n.bad++;
      continue;
    }
    if (check_only) {
      printf("OK    %s\n", argv[i]);
      harness_scenario_free(s);
      continue;
    }
    const char *name = s->name ? s->name : argv[i];
    struct harness_result r;
    double t0 = harness_mono_ms();
    harness_run_scenario(s, &o, &r);
    double wall = harness_mono_ms() - t0;
    harness_run_golden(argv[i], &o, s, c, &r);
    harness_run_print(&r, name, argv[i], wall, i + 1 < argc, &o, c, argv[0],
                      &n);
    harness_result_free(&r);
    harness_scenario_free(s);
  }
  if (!check_only && argc - first > 1)
    printf("%d passed, %d failed, %d skipped, %d malformed\n", n.passed,
           n.failed, n.skipped, n.bad);
  if (n.bad)
    return 2;
  if (n.failed)
    return 1;
  /* Only skips: 77, so ctest reports the test as skipped, not passed. */
  return (!check_only && n.skipped && !n.passed) ? 77 : 0;
}

int main(int argc, char **argv) {
  if (sqn_tool_wants_version(argc, argv)) {
    sqn_tool_print_version(stdout, "sqn-scenario");
    return 0;
  }
  if (argc < 2) {
    harness_usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
      !strcmp(argv[1], "help")) {
    harness_usage(stdout);
    return 0;
  }
  enum harness_cmd cmd = 0;
  for (size_t i = 0; i < sizeof(harness_cmds) / sizeof(harness_cmds[0]); i++)
    if (!strcmp(argv[1], harness_cmds[i].name))
      cmd = harness_cmds[i].cmd;
  if (!cmd) {
    fprintf(stderr, "sqn-scenario: unknown command '%s'\n", argv[1]);
    harness_usage(stderr);
    return 2;
  }
  /* import and diff parse their own arguments (import.c) */
  if (cmd == CMD_IMPORT) {
    static char datadir[1024];
    return harness_main_import(argc, argv,
                               sqn_tool_datadir(datadir, sizeof datadir));
  }
  if (cmd == CMD_DIFF)
    return harness_main_diff(argc, argv);
  static struct harness_cli c;
  int r = harness_cli_parse(argc, argv, cmd, &c);
  if (r)
    return r == 1 ? 0 : 2;
  switch (cmd) {
  case CMD_SWEEP: return harness_main_sweep(&c);
  case CMD_CAMPAIGN: return harness_main_campaign(&c);
  case CMD_MERGE: return harness_main_merge(argc, argv, &c);
  default: return harness_main_run(argc, argv, &c);
  }
}

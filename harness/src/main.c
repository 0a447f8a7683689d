/*
 * sqn-scenario: run fault-injection scenario files against the emulated
 * modem and report one line per scenario.
 *
 *   sqn-scenario run [--narrate] [--pty] [--bin-dir D] [--fixtures D]
 *                    [--scale X] FILE...
 *   sqn-scenario check FILE...        parse only
 *   sqn-scenario sweep [options]       power-cut sweep (docs/sweeps.md)
 *   sqn-scenario campaign [options]    seeded fault campaign (docs/sweeps.md)
 *
 * Exit status: 0 when every scenario passed (or was skipped), 1 when one
 * failed, 2 on a bad command line or a malformed scenario file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "campaign.h"
#include "run.h"
#include "scenario.h"
#include "sweep.h"

#ifndef HARNESS_FIXTURES
#define HARNESS_FIXTURES "fixtures"
#endif

static void harness_usage(FILE *f) {
  fprintf(f,
          "usage: sqn-scenario run [options] FILE...\n"
          "       sqn-scenario check FILE...\n"
          "       sqn-scenario sweep [--package SPEC] [--from STATE]\n"
          "                    [--every frame|byte-step N] [--stride K]\n"
          "                    [--only I] [--shard K/M] [--junit FILE]\n"
          "                    [--double N] [--seed S] [--replay]\n"
          "                    [--transcripts N] [--mutate KIND]\n"
          "       sqn-scenario campaign --seed S --runs N [--package-size B]\n"
          "                    [--shard K/M] [--self-check] [--junit FILE]\n"
          "                    [--run-seed X [--keep MASK]] [--package SPEC]\n"
          "(docs/sweeps.md)\n"
          "\n"
          "Runs fault-injection scenarios (fixtures/scenarios/*.yaml) against\n"
          "the emulated modem and prints one line per scenario:\n"
          "  PASS|FAIL|SKIP  name  virtual time  wall ms\n"
          "A failure prints the whole transcript and the command that\n"
          "reproduces it. A missing file: FAIL FILE (cannot open: ...).\n"
          "\n"
          "options:\n"
          "  --safe           for scenarios from strangers: refuse any\n"
          "                   `command:` and paths outside the scenario's\n"
          "                   folder (docs/scenarios.md, \"Scenarios are code\")\n"
          "  --narrate        print the story of each run, then its verdict\n"
          "                   (runs that only re-establish an earlier\n"
          "                   scenario's state in one line)\n"
          "  -v, --verbose    (or --narrate twice) every line: STP frames,\n"
          "                   flash records, exact command lines\n"
          "  --pty            real processes: every run starts sqn-sim (state\n"
          "                   and faults in temp files) and runs sqn-update\n"
          "                   (or the scenario's command) on its pty\n"
          "  --pty=model      every run as a process on a pty driven by the\n"
          "                   in-process model (no sqn-sim)\n"
          "  --bin-dir DIR    where sqn-update / sqn-chat / sqn-sim live\n"
          "                   (default: the build tree, then PATH)\n"
          "  --fixtures DIR   fixtures directory (default: %s)\n"
          "  --scale X        wall seconds per virtual second for pty runs\n"
          "                   (default 0.02)\n"
          "  -h, --help       this text\n"
          "\n"
          "exit status: 0 all passed (some may be skipped), 1 a scenario\n"
          "failed, 2 bad command line or malformed scenario file, 77 every\n"
          "scenario was skipped\n",
          HARNESS_FIXTURES);
}

static double harness_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- sweep and campaign ----------------------------------------------------- */

/* Parse an unsigned number (decimal or 0x...); -1 on junk. */
static int harness_arg_u64(const char *opt, const char *v, uint64_t *out) {
  char *end;
  *out = strtoull(v, &end, 0);
  if (!*v || *end) {
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

/* Append argv[i] to the reproduction command unless it is dropped. */
static void harness_repro_add(char *buf, size_t cap, const char *a) {
  size_t l = strlen(buf);
  bool quote = strpbrk(a, " \t'\"") != NULL;
  snprintf(buf + l, cap - l, quote ? " '%s'" : " %s", a);
}

static int harness_main_sweep(int argc, char **argv) {
  struct harness_sweep_opts o;
  memset(&o, 0, sizeof(o));
  o.stride = 1;
  o.shard = (struct harness_shard){1, 1};
  o.double_every = 8;
  o.seed = 1;
  o.bound_us = 3600ull * 1000000ull;
  o.max_transcripts = 1;
  const char *spec = NULL, *from = "healthy", *fixtures = HARNESS_FIXTURES;
  enum sim_profile profile = SIM_PROFILE_MONARCH1;
  static char repro[2048];
  snprintf(repro, sizeof(repro), "%s sweep", argv[0]);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      harness_usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--replay")) {
      o.replay = true;
      harness_repro_add(repro, sizeof(repro), a);
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "sqn-scenario sweep: unknown or incomplete option "
                      "'%s'\n", a);
      return 2;
    }
    const char *v = argv[++i];
    uint64_t n;
    bool keep = true; /* goes into the reproduction command */
    if (!strcmp(a, "--package")) {
      spec = v;
    } else if (!strcmp(a, "--from")) {
      from = v;
    } else if (!strcmp(a, "--fixtures")) {
      fixtures = v;
    } else if (!strcmp(a, "--profile")) {
      if (!strcmp(v, "gm02s"))
        profile = SIM_PROFILE_GM02S;
      else if (strcmp(v, "monarch1") != 0) {
        fprintf(stderr, "sqn-scenario: --profile monarch1|gm02s\n");
        return 2;
      }
    } else if (!strcmp(a, "--every")) {
      if (!strcmp(v, "frame")) {
        o.byte_step = 0;
      } else if (!strcmp(v, "byte-step") && i + 1 < argc) {
        if (harness_arg_u64(a, argv[i + 1], &n) != 0 || !n || n > 1u << 30)
          return 2;
        o.byte_step = (uint32_t)n;
        harness_repro_add(repro, sizeof(repro), a);
        a = v;
        v = argv[++i];
      } else {
        fprintf(stderr, "sqn-scenario: --every frame | byte-step N\n");
        return 2;
      }
    } else if (!strcmp(a, "--junit")) {
      o.junit = v;
      keep = false;
    } else if (!strcmp(a, "--mutate")) {
      if (harness_mutation_parse(v, &o.mutation) != 0) {
        fprintf(stderr, "sqn-scenario: --mutate none|skip-invalidate|"
                        "valid-early|model-valid-early\n");
        return 2;
      }
    } else if (!strcmp(a, "--shard")) {
      if (harness_arg_shard(v, &o.shard) != 0)
        return 2;
      keep = false;
    } else if (!strcmp(a, "--stride") || !strcmp(a, "--only") ||
               !strcmp(a, "--double") || !strcmp(a, "--seed") ||
               !strcmp(a, "--transcripts") || !strcmp(a, "--bound")) {
      if (harness_arg_u64(a, v, &n) != 0)
        return 2;
      if (!strcmp(a, "--stride")) {
        o.stride = n ? (uint32_t)n : 1;
        keep = false;
      } else if (!strcmp(a, "--only")) {
        o.only = n;
        keep = false;
      } else if (!strcmp(a, "--double")) {
        o.double_every = (uint32_t)n;
      } else if (!strcmp(a, "--seed")) {
        o.seed = n;
      } else if (!strcmp(a, "--transcripts")) {
        o.max_transcripts = (unsigned)n;
        keep = false;
      } else {
        o.bound_us = n * 1000000ull;
      }
    } else {
      fprintf(stderr, "sqn-scenario sweep: unknown option '%s'\n", a);
      return 2;
    }
    if (keep) {
      harness_repro_add(repro, sizeof(repro), a);
      harness_repro_add(repro, sizeof(repro), v);
    }
  }
  struct sim_state start;
  if (harness_load_from(fixtures, from, &start) != 0)
    return 2;
  struct harness_pkg pkg;
  char err[512];
  if (harness_pkg_spec_build(spec, profile, &pkg, err, sizeof(err)) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err);
    sim_state_release(&start);
    return 2;
  }
  o.profile = profile;
  o.pkg = &pkg;
  o.start = &start;
  o.repro = repro;
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

static int harness_main_campaign(int argc, char **argv) {
  struct harness_campaign_opts o;
  memset(&o, 0, sizeof(o));
  o.shard = (struct harness_shard){1, 1};
  o.bound_us = 3600ull * 1000000ull;
  o.runs = 100;
  o.seed = 1;
  const char *spec = NULL, *from = "healthy", *fixtures = HARNESS_FIXTURES;
  uint64_t size = 0;
  bool verbose = false;
  static char repro[2048];
  snprintf(repro, sizeof(repro), "%s campaign", argv[0]);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      harness_usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--self-check")) {
      o.self_check = true;
      continue;
    }
    if (!strcmp(a, "--narrate")) {
      o.narrate = true;
      continue;
    }
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "sqn-scenario campaign: unknown or incomplete option "
                      "'%s'\n", a);
      return 2;
    }
    const char *v = argv[++i];
    uint64_t n = 0;
    bool keep = true;
    if (!strcmp(a, "--package")) {
      spec = v;
    } else if (!strcmp(a, "--from")) {
      from = v;
    } else if (!strcmp(a, "--fixtures")) {
      fixtures = v;
    } else if (!strcmp(a, "--junit")) {
      o.junit = v;
      keep = false;
    } else if (!strcmp(a, "--shard")) {
      if (harness_arg_shard(v, &o.shard) != 0)
        return 2;
      keep = false;
    } else if (!strcmp(a, "--seed") || !strcmp(a, "--runs") ||
               !strcmp(a, "--package-size") || !strcmp(a, "--run-seed") ||
               !strcmp(a, "--keep") || !strcmp(a, "--bound")) {
      if (harness_arg_u64(a, v, &n) != 0)
        return 2;
      if (!strcmp(a, "--seed")) {
        o.seed = n;
      } else if (!strcmp(a, "--runs")) {
        o.runs = n;
        keep = false;
      } else if (!strcmp(a, "--package-size")) {
        size = n;
      } else if (!strcmp(a, "--run-seed")) {
        o.has_run_seed = true;
        o.run_seed = n;
        keep = false;
      } else if (!strcmp(a, "--keep")) {
        o.keep_mask = (uint32_t)n;
        keep = false;
      } else {
        o.bound_us = n * 1000000ull;
      }
    } else {
      fprintf(stderr, "sqn-scenario campaign: unknown option '%s'\n", a);
      return 2;
    }
    if (keep && strcmp(a, "--seed") != 0) {
      harness_repro_add(repro, sizeof(repro), a);
      harness_repro_add(repro, sizeof(repro), v);
    }
  }
  o.verbose = verbose;
  char specbuf[600];
  if (size)
    snprintf(specbuf, sizeof(specbuf), "%s%ssize=%llu", spec ? spec : "",
             spec ? "," : "", (unsigned long long)size);
  else
    snprintf(specbuf, sizeof(specbuf), "%s", spec ? spec : "");
  struct sim_state start;
  if (harness_load_from(fixtures, from, &start) != 0)
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
  o.repro = repro;
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

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "sweep"))
    return harness_main_sweep(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "campaign"))
    return harness_main_campaign(argc, argv);
  if (argc < 2) {
    harness_usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    harness_usage(stdout);
    return 0;
  }
  bool check_only = !strcmp(argv[1], "check");
  if (!check_only && strcmp(argv[1], "run") != 0) {
    fprintf(stderr, "sqn-scenario: unknown command '%s'\n", argv[1]);
    harness_usage(stderr);
    return 2;
  }
  struct harness_opts o = {.fixtures = HARNESS_FIXTURES,
                           .self = argv[0],
                           .wall_scale = 0.02};
  bool narrate = false;
  int narrate_count = 0;
  bool full = false; /* every line of the transcript, not the short story */
  bool safe = false; /* --safe: refuse commands and outside paths */
  int first = argc;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--narrate")) {
      narrate = true;
      if (++narrate_count > 1)
        full = true;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      full = true;
    } else if (!strcmp(a, "--safe")) {
      safe = true;
    } else if (!strcmp(a, "--pty")) {
      o.pty = true;
    } else if (!strcmp(a, "--pty=model")) {
      o.pty = true;
      o.pty_model = true;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      harness_usage(stdout);
      return 0;
    } else if ((!strcmp(a, "--bin-dir") || !strcmp(a, "--fixtures") ||
                !strcmp(a, "--scale")) &&
               i + 1 < argc) {
      const char *v = argv[++i];
      if (!strcmp(a, "--bin-dir"))
        o.bin_dir = v;
      else if (!strcmp(a, "--fixtures"))
        o.fixtures = v;
      else {
        char *end;
        o.wall_scale = strtod(v, &end);
        if (*end || o.wall_scale <= 0 || o.wall_scale > 1) {
          fprintf(stderr, "sqn-scenario: --scale wants 0 < X <= 1, not %s\n",
                  v);
          return 2;
        }
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "sqn-scenario: unknown or incomplete option '%s'\n", a);
      return 2;
    } else {
      first = i;
      break;
    }
  }
  if (first >= argc) {
    fprintf(stderr, "sqn-scenario: no scenario file given\n");
    return 2;
  }
  int failed = 0, bad = 0, passed = 0, skipped = 0;
  for (int i = first; i < argc; i++) {
    char err[1024];
    /* access(), not fopen(): opening a FIFO would wait for a writer (the
     * loader refuses anything but a regular file). */
    if (access(argv[i], R_OK) != 0) {
      printf("FAIL  %s  (cannot open: %s)\n", argv[i], strerror(errno));
      bad++;
      continue;
    }
    struct harness_scenario *s = harness_scenario_load(argv[i], err,
                                                       sizeof(err));
    if (!s) {
      fprintf(stderr, "%s\n", err);
      printf("FAIL  %s  (malformed scenario file)\n", argv[i]);
      bad++;
      continue;
    }
    if (safe && harness_scenario_check_safe(s, err, sizeof(err)) != 0) {
      fprintf(stderr, "%s\n", err);
      printf("FAIL  %s  (refused by --safe)\n", argv[i]);
      harness_scenario_free(s);
      bad++;
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
    /* A narrated success reads as a story followed by its verdict; a
     * failure leads with the verdict and the reason, then every line. */
    bool story_first = narrate && r.status != HARNESS_FAIL;
    if (story_first)
      harness_narrator_print(&r.narr, stdout, full);
    printf("%s  %-48s %10.1f s virtual %8.0f ms wall%s%s\n",
           harness_status_name(r.status), name, r.virtual_s, wall,
           r.status == HARNESS_SKIP ? "  — " : "",
           r.status == HARNESS_SKIP ? r.reason : "");
    if (story_first && i + 1 < argc)
      putchar('\n');
    if (r.status == HARNESS_FAIL) {
      failed++;
      printf("  reason: %s\n", r.reason);
    } else if (r.status == HARNESS_PASS) {
      passed++;
    } else {
      skipped++;
    }
    if (r.status == HARNESS_FAIL)
      harness_narrator_print(&r.narr, stdout, true);
    if (r.status == HARNESS_FAIL)
      printf("  reproduce: %s run --narrate%s %s\n\n", argv[0],
             o.pty ? (o.pty_model ? " --pty=model" : " --pty") : "",
             argv[i]);
    fflush(stdout);
    harness_result_free(&r);
    harness_scenario_free(s);
  }
  if (!check_only && argc - first > 1)
    printf("%d passed, %d failed, %d skipped, %d malformed\n", passed, failed,
           skipped, bad);
  if (bad)
    return 2;
  if (failed)
    return 1;
  /* Only skips: 77, so ctest reports the test as skipped, not passed. */
  return (!check_only && skipped && !passed) ? 77 : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_sweep: how a full power-cut sweep scales with the package, run as a
 * user runs it:
 *
 *   sqn-scenario sweep --package size=N            (default options: every
 *                                                   frame, double cuts, --jobs
 *                                                   = the online CPUs)
 *
 * for N = 256 KiB, 1 MiB, 2 MiB, 4 MiB and 5,665,583 bytes (the genuine
 * LR5 package's size), each timed from fork to exit 0 (wall clock).
 * Baseline, in the same rounds: the same command with --only 1 --double 0
 * --transcripts 0 at the same size, i.e. the clean run recorded plus one
 * point: what a sweep costs at least. Rounds are interleaved (every size
 * and its baseline, then the next round); each row prints the median, the
 * spread (min-max) and every round. The sweep's own summary line is
 * checked (0 FAILED, exit 0), so a broken sweep cannot look fast.
 *
 * Requirements (issue 15): 5,665,583 bytes in at most 10 s, 1 MiB in at
 * most 0.5 s, at the median.
 *
 * usage: bench_sweep [--quick] [--rounds N] [--scenario PATH] [--jobs N]
 * exit: 0 figures printed, 1 a run failed, 2 usage, 77 no sqn-scenario.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#ifndef SQN_SCENARIO_EXE
#define SQN_SCENARIO_EXE ""
#endif

static const char *bench_scenario_exe = SQN_SCENARIO_EXE;

/* Run sqn-scenario sweep with `args`; seconds, or -1 (message on stderr).
 * `points` gets the cut points from the summary line when not NULL. */
static double bench_sweep_run(const char *const *args, unsigned long *points) {
  const char *argv[32];
  int n = 0, p[2];
  argv[n++] = bench_scenario_exe;
  argv[n++] = "sweep";
  argv[n++] = "--fixtures";
  argv[n++] = SQN_FIXTURES;
  for (; *args && n < 30; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  if (pipe(p) != 0)
    return -1;
  fflush(NULL);
  double t0 = bench_now();
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  static char out[1 << 16];
  size_t have = 0;
  for (;;) {
    ssize_t r = read(p[0], out + have, sizeof out - 1 - have);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    have += (size_t)r;
    if (have == sizeof out - 1)
      have = 0; /* keep the tail; the summary is the last line */
  }
  out[have] = '\0';
  close(p[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  double secs = bench_now() - t0;
  const char *sum = strstr(out, "cut points in a clean run");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, " 0 FAILED") ||
      !sum) {
    fprintf(stderr, "bench_sweep: %s sweep failed (status 0x%x):\n%s\n",
            bench_scenario_exe, st, out);
    return -1;
  }
  if (points) {
    const char *s = strstr(out, "sweep: ");
    *points = s ? strtoul(s + 7, NULL, 10) : 0;
  }
  return secs;
}

#define BENCH_NSIZES 5

int main(int argc, char **argv) {
  struct bench_opts o = {.rounds = BENCH_DEFAULT_ROUNDS, .size = 0};
  static const uint64_t full_sizes[BENCH_NSIZES] = {
      262144, 1048576, 2097152, 4194304, BENCH_PKG_SIZE};
  static const uint64_t quick_sizes[BENCH_NSIZES] = {16384, 32768, 0, 0, 0};
  const char *jobs = NULL;
  double t[BENCH_NSIZES][BENCH_MAX_ROUNDS], b[BENCH_NSIZES][BENCH_MAX_ROUNDS];
  unsigned long points[BENCH_NSIZES] = {0};

  for (int i = 1; i < argc;) {
    i = bench_parse_opts(&o, argc, argv, i);
    if (i < 0)
      return 2;
    if (i >= argc)
      break;
    if (i + 1 < argc && !strcmp(argv[i], "--scenario")) {
      bench_scenario_exe = argv[i + 1];
      i += 2;
    } else if (i + 1 < argc && !strcmp(argv[i], "--jobs")) {
      jobs = argv[i + 1];
      i += 2;
    } else {
      fprintf(stderr, "usage: bench_sweep [--quick] [--rounds N] "
                      "[--scenario PATH] [--jobs N]\n");
      return 2;
    }
  }
  if (getenv("SQN_SCENARIO"))
    bench_scenario_exe = getenv("SQN_SCENARIO");
  if (!*bench_scenario_exe || access(bench_scenario_exe, X_OK) != 0) {
    printf("SKIP: sqn-scenario not found (%s)\n",
           *bench_scenario_exe ? bench_scenario_exe : "not built");
    return 77;
  }
  const uint64_t *sizes = o.quick ? quick_sizes : full_sizes;
  if (o.quick)
    o.rounds = 1;
  if (o.size) { /* --size: that size only */
    static uint64_t one[BENCH_NSIZES];
    one[0] = o.size;
    sizes = one;
  }

  bench_print_machine();
  printf("command: sqn-scenario sweep --package size=N%s%s (default "
         "options otherwise); baseline: the same with --only 1 --double 0 "
         "--transcripts 0; %d interleaved round(s)\n",
         jobs ? " --jobs " : "", jobs ? jobs : "", o.rounds);

  for (int r = 0; r < o.rounds; r++) {
    for (int k = 0; k < BENCH_NSIZES && sizes[k]; k++) {
      char spec[64];
      snprintf(spec, sizeof spec, "size=%llu", (unsigned long long)sizes[k]);
      const char *base[] = {"--package", spec, "--only", "1", "--double", "0",
                            "--transcripts", "0", NULL};
      const char *full[] = {"--package", spec, jobs ? "--jobs" : NULL, jobs,
                            NULL};
      b[k][r] = bench_sweep_run(base, NULL);
      t[k][r] = bench_sweep_run(full, &points[k]);
      if (b[k][r] < 0 || t[k][r] < 0)
        return 1;
    }
  }

  bench_header_rounds("full sweep wall time (median of the rounds, spread "
                      "min-max; time/base = time / clean run + 1 point)");
  double med[BENCH_NSIZES] = {0};
  for (int k = 0; k < BENCH_NSIZES && sizes[k]; k++) {
    double v[BENCH_MAX_ROUNDS];
    memcpy(v, b[k], sizeof(double) * (size_t)o.rounds);
    double bm = bench_median(v, o.rounds);
    memcpy(v, t[k], sizeof(double) * (size_t)o.rounds);
    med[k] = bench_median(v, o.rounds);
    char name[64];
    snprintf(name, sizeof name, "baseline %llu B",
             (unsigned long long)sizes[k]);
    bench_row_rounds(name, (double)sizes[k], b[k], o.rounds, bm);
    snprintf(name, sizeof name, "sweep %llu B (%lu points)",
             (unsigned long long)sizes[k], points[k]);
    bench_row_rounds(name, (double)sizes[k], t[k], o.rounds, bm);
  }
  if (!o.quick && !o.size) {
    printf("\n");
    bench_require("sweep 1 MiB, s (median)", med[1], "<=", 0.5);
    bench_require("sweep 5,665,583 B, s (median)", med[4], "<=", 10.0);
  }
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running sweeps and campaigns in other people's CI (docs/ci.md):
 *
 * - the shard K/M from the environment of the engine that runs the copies,
 *   when --shard is not given;
 * - joining the shards' JUnit files into one report (sqn-scenario merge).
 */
#ifndef HARNESS_CI_H
#define HARNESS_CI_H

#include <stddef.h>
#include <stdio.h>

#include "sweep.h"

/*
 * The shard from the environment, looked up through `get` (getenv in the
 * tool, a table in the tests). First match wins:
 *
 *   SQN_SHARD_INDEX (1-based) + SQN_SHARD_TOTAL  explicit; e.g. from a
 *                                                GitHub Actions matrix
 *   CI_NODE_INDEX (1-based) + CI_NODE_TOTAL      GitLab CI `parallel: M`
 *   JOB_COMPLETION_INDEX (0-based) + SQN_SHARD_TOTAL
 *                                                Kubernetes Indexed Job
 *                                                (total = .spec.completions)
 *
 * Returns 1 and fills *out (and *source with the variables' names) when one
 * applies, 0 when none is set, -1 with a message in err naming the variable
 * when one is set but wrong (not a number, index out of range, total
 * missing). A GitLab job without `parallel:` (CI_NODE_TOTAL=1) is 1/1.
 */
int harness_shard_from_env(const char *(*get)(const char *name),
                           struct harness_shard *out, const char **source,
                           char *err, size_t cap);

struct harness_merge_stats {
  unsigned files, suites;
  unsigned long long tests, failures, errors, skipped;
  double time_s;
  unsigned missing; /* shards named "... shard K/M" that are absent */
};

/*
 * Join JUnit XML files (a <testsuites> of <testsuite> elements, or a bare
 * <testsuite>, as sweep --junit and campaign --junit write, and as most test
 * tools write) into one <testsuites> document on `out`, with the totals
 * summed. Suites are copied verbatim. When suite names say "shard K/M",
 * every K of 1..M must be present exactly once for each family (the name
 * without the shard); a missing shard is listed in `report` and counted in
 * st->missing, a duplicate is an error.
 *
 * Returns 0 on success (the report may still hold failures or missing
 * shards: see st), -1 on an unreadable or malformed file, with a message in
 * err naming the file and the byte offset.
 */
int harness_junit_merge(const char *const *files, int nfiles, FILE *out,
                        FILE *report, struct harness_merge_stats *st,
                        char *err, size_t cap);

#endif /* HARNESS_CI_H */

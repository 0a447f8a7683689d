/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The judge: every invariant a run must keep, decided in one place and used
 * by every runner (the scenario runner in-process and on a pty, sqn-sim as
 * a process, sweeps and campaigns):
 *
 *   bounded    the run ended within its bound, with a deadline pending on
 *              one side or the other until it did (never stuck);
 *   powered    after a reported success the modem is powered ...
 *   smod-fff   ... running the application (SMOD 2, FFF) ...
 *   fff-valid  ... from a valid fff slot ...
 *   package    ... whose version AND build are the package's (the
 *              incident's old and new images are both 5.1.1.0 and differ
 *              only in build, 33080 vs 38638);
 *   commands   the host sent no forbidden command (post.h: AT+SMSWBOOT=1,x
 *              before the modem reported upgrade success, AT+STP outside
 *              FFH, STP bytes after a refused start);
 *   remedy     after an error, applying its remedy (a rerun, after a power
 *              cycle where it takes one) ends in success with the package
 *              running (the same checks as above).
 *
 * The modem is seen through struct harness_modem_view, filled from the
 * model or from what sqn-sim's trace and state file say. Each function
 * returns the first broken invariant (HARNESS_INV_NONE: none) and writes
 * why into `why`.
 */
#ifndef HARNESS_JUDGE_H
#define HARNESS_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "post.h"
#include "sim/modem.h"

/* XX(NAME, "word") */
#define HARNESS_INVARIANT_MAP(XX)                                             \
  XX(NONE, "none")                                                            \
  XX(BOUNDED, "bounded")                                                      \
  XX(POWERED, "powered")                                                      \
  XX(SMOD_FFF, "smod-fff")                                                    \
  XX(FFF_VALID, "fff-valid")                                                  \
  XX(PACKAGE, "package")                                                      \
  XX(COMMANDS, "commands")                                                    \
  XX(REMEDY, "remedy")

enum harness_invariant {
#define XX(name, word) HARNESS_INV_##name,
  HARNESS_INVARIANT_MAP(XX)
#undef XX
};

const char *harness_invariant_name(enum harness_invariant i);

/* The modem as the judge sees it. */
struct harness_modem_view {
  bool powered;
  int smod;              /* enum sim_smod; SIM_SMOD_NONE booting / off */
  struct sim_image fff;  /* the fff slot */
};

/* The view of a model. */
void harness_view_model(struct harness_modem_view *v,
                        const struct sim_modem *m);
/* "FFF", "RECOVERY", ..., "booting" or "OFF". */
const char *harness_view_mode(const struct harness_modem_view *v);

/* The package the run installs. */
struct harness_target {
  const char *version; /* "5.1.1.0" */
  uint32_t build;      /* 38638 */
};

/* A run that reported success: the modem must run the package. */
enum harness_invariant harness_judge_success(
    const struct harness_modem_view *v, const struct harness_target *t,
    char *why, size_t cap);

/* Every run: within its bound and never stuck. */
enum harness_invariant harness_judge_bounded(bool past_bound, bool stuck,
                                             double bound_s, char *why,
                                             size_t cap);

/* Every run: the commands the modem received (the post-condition tracker
 * fed with the run's trace). */
enum harness_invariant harness_judge_commands(const struct harness_post *p,
                                              char *why, size_t cap);

/* A remedy was applied (`what`: "after E_X and a power cycle", ...) and
 * the rerun ended with `rerun_err` on modem `v`: that must be a success
 * with the package running. */
enum harness_invariant harness_judge_remedy(
    const char *what, int rerun_err, const struct harness_modem_view *v,
    const struct harness_target *t, char *why, size_t cap);

#endif /* HARNESS_JUDGE_H */

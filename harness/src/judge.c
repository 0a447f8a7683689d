/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The judge (see judge.h): each invariant is decided here and nowhere else.
 */
#include "judge.h"

#include <stdio.h>
#include <string.h>

#include "sqnup/err.h"

const char *harness_invariant_name(enum harness_invariant i) {
  switch (i) {
#define XX(name, word)                                                        \
  case HARNESS_INV_##name:                                                    \
    return word;
    HARNESS_INVARIANT_MAP(XX)
#undef XX
  }
  return "?";
}

void harness_view_model(struct harness_modem_view *v,
                        const struct sim_modem *m) {
  v->powered = sim_modem_powered(m);
  v->smod = v->powered ? (int)sim_modem_smod(m) : SIM_SMOD_NONE;
  v->fff = sim_modem_state(m)->fff;
}

const char *harness_view_mode(const struct harness_modem_view *v) {
  if (!v->powered)
    return "OFF";
  switch (v->smod) {
  case SIM_SMOD_FFH: return "FFH";
  case SIM_SMOD_FFH_ELF: return "FFH-ELF";
  case SIM_SMOD_FFF: return "FFF";
  case SIM_SMOD_UPDATER: return "UPDATER";
  case SIM_SMOD_RECOVERY: return "RECOVERY";
  default: return "booting";
  }
}

enum harness_invariant harness_judge_success(
    const struct harness_modem_view *v, const struct harness_target *t,
    char *why, size_t cap) {
  const struct sim_image *f = &v->fff;
  if (!v->powered) {
    snprintf(why, cap,
             "INVARIANT powered: success reported, but the modem is off");
    return HARNESS_INV_POWERED;
  }
  if (v->smod != SIM_SMOD_FFF) {
    snprintf(why, cap,
             "INVARIANT smod-fff: success reported, but the modem is in %s, "
             "not FFF",
             harness_view_mode(v));
    return HARNESS_INV_SMOD_FFF;
  }
  if (!f->valid) {
    snprintf(why, cap,
             "INVARIANT fff-valid: success reported, but the fff slot "
             "(%s-%u) is INVALID",
             f->version, f->build);
    return HARNESS_INV_FFF_VALID;
  }
  if (strcmp(f->version, t->version) != 0 || f->build != t->build) {
    snprintf(why, cap,
             "INVARIANT package: success reported, but the modem runs %s-%u, "
             "not the package's %s-%u",
             f->version, f->build, t->version, t->build);
    return HARNESS_INV_PACKAGE;
  }
  return HARNESS_INV_NONE;
}

enum harness_invariant harness_judge_bounded(bool past_bound, bool stuck,
                                             double bound_s, char *why,
                                             size_t cap) {
  if (past_bound) {
    snprintf(why, cap,
             "INVARIANT bounded: did not end within its bound of %.0f "
             "virtual s (a wait without a ceiling?)",
             bound_s);
    return HARNESS_INV_BOUNDED;
  }
  if (stuck) {
    snprintf(why, cap,
             "INVARIANT bounded: stuck: nothing left to happen (no deadline "
             "on either side) but the host is not done");
    return HARNESS_INV_BOUNDED;
  }
  return HARNESS_INV_NONE;
}

enum harness_invariant harness_judge_commands(const struct harness_post *p,
                                              char *why, size_t cap) {
  if (!p->violation[0])
    return HARNESS_INV_NONE;
  snprintf(why, cap, "%s", p->violation);
  return HARNESS_INV_COMMANDS;
}

enum harness_invariant harness_judge_remedy(
    const char *what, int rerun_err, const struct harness_modem_view *v,
    const struct harness_target *t, char *why, size_t cap) {
  char inner[400];
  if (rerun_err == 0 &&
      harness_judge_success(v, t, inner, sizeof(inner)) == HARNESS_INV_NONE)
    return HARNESS_INV_NONE;
  if (rerun_err == 0)
    snprintf(why, cap, "INVARIANT remedy: %s, a rerun reported success but "
                       "broke %s",
             what, inner + strlen("INVARIANT "));
  else
    snprintf(why, cap,
             "INVARIANT remedy: %s, a rerun ended with %s (modem in %s, fff "
             "%s-%u)",
             what, sqn_err_name(rerun_err), harness_view_mode(v),
             v->fff.version, v->fff.build);
  return HARNESS_INV_REMEDY;
}

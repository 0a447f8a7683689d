/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeded fault campaigns.
 *
 * Overview. Run r of a campaign with seed S has the seed
 * mix64(S * 0x9E3779B97F4A7C15 + r) (splitmix64's finaliser over the seed
 * times the 64-bit golden ratio, so that campaigns S and S+1 do not share
 * their runs shifted by one); the seed alone picks 1..4 faults from the catalogue below (trigger, action
 * and their parameters), so a run is reproduced from its seed with nothing
 * else (`--run-seed X`). Each run: a modem booted from the start state,
 * the faults armed, one sqn-update run on the virtual clock (the bridge),
 * then the judgement of link.c with the invariants of judge.c (recovered /
 * reported with a working remedy / failed). A failed run is shrunk: faults are dropped one at a time while
 * the run still fails, until no single fault can go; the minimal list is
 * printed as YAML (ready for a scenario file) with `--run-seed X --keep M`.
 *
 * The determinism self-check runs a seed twice with the narrator on and
 * compares the transcripts byte for byte.
 *
 * The catalogue holds faults the updater must survive or report (faults.md
 * section 2): refused and delayed commands, split and URC-laden replies,
 * NUL answers, dropped, corrupted, NACKed and short-consumed STP frames,
 * crashes, reboots, power cuts with an automatic power-on, silences, a
 * garbled line until the next power cycle, and a rejected package. Faults
 * that need the user (a modem stuck in data mode that ignores +++) are
 * left out: their only remedy is outside the updater.
 */
#include "campaign.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t harness_campaign_run_seed(uint64_t seed, uint64_t r) {
  return harness_mix64(seed * 0x9E3779B97F4A7C15ull + r);
}

struct harness_crng {
  uint64_t s;
};

static uint64_t harness_crng_below(struct harness_crng *r, uint64_t n) {
  r->s = harness_mix64(r->s);
  return n ? r->s % n : 0;
}

/* One catalogue entry fills `f` from the rng. */
typedef void (*harness_fault_gen)(struct sim_fault *f, struct harness_crng *r,
                                  uint64_t frames, uint64_t pkg_len);

static void harness_gen_swboot_error(struct sim_fault *f,
                                     struct harness_crng *r, uint64_t frames,
                                     uint64_t pkg_len) {
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_AT;
  snprintf(f->match, sizeof(f->match), "AT+SMSWBOOT=%s",
           harness_crng_below(r, 2) ? "3,1" : "1,1");
  f->first = 1;
  f->last = 1 + (uint32_t)harness_crng_below(r, 2);
  f->action = SIM_FAULT_DO_ERROR;
}

static void harness_gen_at_delay(struct sim_fault *f, struct harness_crng *r,
                                 uint64_t frames, uint64_t pkg_len) {
  static const char *const cmds[] = {"AT+SMOD?", "ATI1", "AT+SMUPGRADE?",
                                     "AT+SMSTPU", "ATE0", "AT"};
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_AT;
  snprintf(f->match, sizeof(f->match), "%s",
           cmds[harness_crng_below(r, sizeof(cmds) / sizeof(cmds[0]))]);
  f->first = 1 + (uint32_t)harness_crng_below(r, 3);
  f->last = f->first;
  f->action = SIM_FAULT_DO_DELAY;
  f->delay_us = (100 + harness_crng_below(r, 4000)) * 1000u;
}

static void harness_gen_at_split(struct sim_fault *f, struct harness_crng *r,
                                 uint64_t frames, uint64_t pkg_len) {
  static const char *const cmds[] = {"AT+SMOD?", "ATI1", "AT+SMUPGRADE?",
                                     "AT"};
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_AT;
  snprintf(f->match, sizeof(f->match), "%s",
           cmds[harness_crng_below(r, sizeof(cmds) / sizeof(cmds[0]))]);
  f->first = 1 + (uint32_t)harness_crng_below(r, 3);
  f->last = f->first + (uint32_t)harness_crng_below(r, 2);
  f->action = SIM_FAULT_DO_SPLIT;
  f->count = 2 + (uint32_t)harness_crng_below(r, 4);
  f->delay_us = (1 + harness_crng_below(r, 200)) * 1000u;
}

static void harness_gen_at_urc(struct sim_fault *f, struct harness_crng *r,
                               uint64_t frames, uint64_t pkg_len) {
  static const char *const urcs[] = {"+CEREG: 2", "+SQNSMSDONE",
                                     "+CPIN: READY", "+SHUTDOWN"};
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_AT;
  snprintf(f->match, sizeof(f->match), "AT");
  f->first = 1 + (uint32_t)harness_crng_below(r, 8);
  f->last = f->first + (uint32_t)harness_crng_below(r, 3);
  f->action = SIM_FAULT_DO_URC;
  snprintf(f->text, sizeof(f->text), "%s",
           urcs[harness_crng_below(r, sizeof(urcs) / sizeof(urcs[0]))]);
}

static void harness_gen_at_nul(struct sim_fault *f, struct harness_crng *r,
                               uint64_t frames, uint64_t pkg_len) {
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_AT;
  snprintf(f->match, sizeof(f->match), "%s",
           harness_crng_below(r, 2) ? "AT+SMOD?" : "AT");
  f->first = 1 + (uint32_t)harness_crng_below(r, 3);
  f->last = f->first;
  f->action = SIM_FAULT_DO_NUL;
  f->count = 1 + (uint32_t)harness_crng_below(r, 8);
}

static void harness_gen_at_noreply(struct sim_fault *f,
                                   struct harness_crng *r, uint64_t frames,
                                   uint64_t pkg_len) {
  static const char *const cmds[] = {"AT+SMOD?", "ATI1", "AT+SMUPGRADE?",
                                     "AT"};
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_AT;
  snprintf(f->match, sizeof(f->match), "%s",
           cmds[harness_crng_below(r, sizeof(cmds) / sizeof(cmds[0]))]);
  f->first = 1 + (uint32_t)harness_crng_below(r, 3);
  f->last = f->first;
  f->action = SIM_FAULT_DO_NO_REPLY;
}

static void harness_gen_stp_frame(struct sim_fault *f, struct harness_crng *r,
                                  uint64_t frames, uint64_t pkg_len) {
  static const enum sim_fault_action acts[] = {
      SIM_FAULT_DO_DROP,         SIM_FAULT_DO_CORRUPT_MAGIC,
      SIM_FAULT_DO_CORRUPT_HCRC, SIM_FAULT_DO_CORRUPT_PCRC,
      SIM_FAULT_DO_CORRUPT_OP,   SIM_FAULT_DO_CORRUPT_SID,
      SIM_FAULT_DO_CORRUPT_TID,  SIM_FAULT_DO_DELAY,
      SIM_FAULT_DO_SPLIT,        SIM_FAULT_DO_NO_REPLY};
  (void)pkg_len;
  f->when = SIM_FAULT_ON_STP_FRAME;
  f->first = 1 + (uint32_t)harness_crng_below(r, frames ? frames : 1);
  f->last = f->first;
  f->action = acts[harness_crng_below(r, sizeof(acts) / sizeof(acts[0]))];
  if (f->action == SIM_FAULT_DO_DROP)
    f->count = 1 + (uint32_t)harness_crng_below(r, 2);
  if (f->action == SIM_FAULT_DO_DELAY)
    f->delay_us = (10 + harness_crng_below(r, 30000)) * 1000u;
  if (f->action == SIM_FAULT_DO_SPLIT) {
    f->count = 2 + (uint32_t)harness_crng_below(r, 3);
    f->delay_us = (1 + harness_crng_below(r, 50)) * 1000u;
  }
}

static void harness_gen_residue(struct sim_fault *f, struct harness_crng *r,
                                uint64_t frames, uint64_t pkg_len) {
  (void)frames;
  f->when = SIM_FAULT_ON_STP_OFFSET;
  f->offset = harness_crng_below(r, pkg_len ? pkg_len : 1);
  f->first = 1;
  f->last = 1;
  f->action = SIM_FAULT_DO_RESIDUE;
  f->count = 1 + (uint32_t)harness_crng_below(r, 4096);
}

static void harness_gen_crash(struct sim_fault *f, struct harness_crng *r,
                              uint64_t frames, uint64_t pkg_len) {
  static const enum sim_fault_action acts[] = {
      SIM_FAULT_DO_CRASH, SIM_FAULT_DO_REBOOT, SIM_FAULT_DO_POWER_CUT};
  (void)pkg_len;
  f->when = SIM_FAULT_ON_STP_FRAME;
  f->first = 1 + (uint32_t)harness_crng_below(r, frames ? frames : 1);
  f->last = f->first;
  f->action = acts[harness_crng_below(r, 3)];
  /* POWER_CUT with 0 stays off for good; give it a power-on. */
  f->delay_us = (500 + harness_crng_below(r, 20000)) * 1000u;
}

static void harness_gen_silent(struct sim_fault *f, struct harness_crng *r,
                               uint64_t frames, uint64_t pkg_len) {
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_ELAPSED;
  f->after_us = harness_crng_below(r, 20000) * 1000u;
  f->first = 1;
  f->last = 1;
  f->action = SIM_FAULT_DO_SILENT;
  f->delay_us = (100 + harness_crng_below(r, 10000)) * 1000u;
}

static void harness_gen_garble(struct sim_fault *f, struct harness_crng *r,
                               uint64_t frames, uint64_t pkg_len) {
  (void)pkg_len;
  f->when = SIM_FAULT_ON_STP_FRAME;
  f->first = 1 + (uint32_t)harness_crng_below(r, frames ? frames : 1);
  f->last = f->first;
  f->action = SIM_FAULT_DO_GARBLE;
}

static void harness_gen_reject(struct sim_fault *f, struct harness_crng *r,
                               uint64_t frames, uint64_t pkg_len) {
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_STP_PERCENT;
  f->percent = (double)harness_crng_below(r, 100);
  f->first = 1;
  f->last = 1;
  f->action = SIM_FAULT_DO_FAIL_UPGRADE;
  snprintf(f->text, sizeof(f->text),
           "failure[diffUpgrade,239] Patch didn't apply!");
}

static void harness_gen_echo(struct sim_fault *f, struct harness_crng *r,
                             uint64_t frames, uint64_t pkg_len) {
  (void)frames, (void)pkg_len;
  f->when = SIM_FAULT_ON_MODE;
  f->mode = harness_crng_below(r, 2) ? SIM_FAULT_MODE_RECOVERY
                                     : SIM_FAULT_MODE_FFF;
  f->first = 1;
  f->last = 0;
  f->action = SIM_FAULT_DO_ECHO_ON;
}

struct harness_catalogue_entry {
  const char *name;
  harness_fault_gen gen;
};

static const struct harness_catalogue_entry harness_catalogue[] = {
    {"swboot-error", harness_gen_swboot_error},
    {"at-delay", harness_gen_at_delay},
    {"at-split", harness_gen_at_split},
    {"at-urc", harness_gen_at_urc},
    {"at-nul", harness_gen_at_nul},
    {"at-no-reply", harness_gen_at_noreply},
    {"stp-frame", harness_gen_stp_frame},
    {"stp-frame", harness_gen_stp_frame},
    {"residue", harness_gen_residue},
    {"crash", harness_gen_crash},
    {"silent", harness_gen_silent},
    {"garble", harness_gen_garble},
    {"reject", harness_gen_reject},
    {"echo-at-boot", harness_gen_echo},
};
#define HARNESS_CATALOGUE_N                                                   \
  (sizeof(harness_catalogue) / sizeof(harness_catalogue[0]))

unsigned harness_campaign_faults(uint64_t run_seed, uint64_t pkg_len,
                                 struct sim_fault *f) {
  struct harness_crng r = {run_seed};
  /* Frames of the package push: OPEN, BLOCK_CMD + BLOCK per 8176 bytes,
   * RESET (the session's frame counter; an ELF push counts its own). */
  uint64_t frames = 2 * ((pkg_len + 8175) / 8176) + 2;
  unsigned n = 1 + (unsigned)harness_crng_below(&r, HARNESS_CAMPAIGN_MAX_FAULTS);
  for (unsigned i = 0; i < n; i++) {
    memset(&f[i], 0, sizeof(f[i]));
    const struct harness_catalogue_entry *e =
        &harness_catalogue[harness_crng_below(&r, HARNESS_CATALOGUE_N)];
    e->gen(&f[i], &r, frames, pkg_len);
    snprintf(f[i].name, sizeof(f[i].name), "c%u-%s", i + 1, e->name);
  }
  return n;
}

/* One fault as a YAML flow mapping (the scenario file format). */
static void harness_fault_yaml(FILE *out, const struct sim_fault *f) {
  fprintf(out, "    - {name: %s, when: %s", f->name,
          sim_fault_trigger_name(f->when));
  if (f->match[0])
    fprintf(out, ", match: \"%s\"", f->match);
  if (f->first)
    fprintf(out, ", first: %u", f->first);
  if (f->last)
    fprintf(out, ", last: %u", f->last);
  if (f->when == SIM_FAULT_ON_STP_OP)
    fprintf(out, ", op: %d", f->op);
  if (f->mode)
    fprintf(out, ", mode: %d", (int)f->mode);
  if (f->when == SIM_FAULT_ON_STP_OFFSET)
    fprintf(out, ", offset: %llu", (unsigned long long)f->offset);
  if (f->when == SIM_FAULT_ON_STP_PERCENT)
    fprintf(out, ", percent: %g", f->percent);
  if (f->after_us)
    fprintf(out, ", after_us: %llu", (unsigned long long)f->after_us);
  fprintf(out, ", do: %s", sim_fault_action_name(f->action));
  if (f->text[0])
    fprintf(out, ", text: \"%s\"", f->text);
  if (f->delay_us)
    fprintf(out, ", delay_us: %llu", (unsigned long long)f->delay_us);
  if (f->count)
    fprintf(out, ", count: %u", f->count);
  fprintf(out, "}\n");
}

/* --- runs --------------------------------------------------------------- */

struct harness_campaign_ctx {
  const struct harness_campaign_opts *o;
  FILE *out;
  struct harness_link *l;
  FILE *junit;      /* testcases, in memory until the counts are known */
  char *junit_buf;
  size_t junit_len;
};

/* One run of `seed` with the faults in `mask`. Returns 0 or -1. */
static int harness_campaign_run(struct harness_campaign_ctx *c, uint64_t seed,
                                uint32_t mask, struct harness_narrator *narr,
                                struct harness_judgement *j) {
  struct harness_link *l = c->l;
  struct sim_fault f[HARNESS_CAMPAIGN_MAX_FAULTS];
  unsigned n = harness_campaign_faults(seed, c->o->pkg->len, f);
  l->narr = narr;
  l->br.now_us = 0;
  int rc = -1;
  if (narr)
    harness_narrate(narr, 0, "Campaign run, seed 0x%016llx, faults mask 0x%x",
                    (unsigned long long)seed, mask);
  if (harness_link_boot(l, c->o->start, true) != 0)
    goto out_unset_narr;
  for (unsigned i = 0; i < n; i++) {
    if (!(mask & 1u << i))
      continue;
    if (harness_link_add_fault(l, &f[i]) != 0)
      goto out_unset_narr;
    if (narr)
      harness_narrate(narr, l->br.now_us, "Fault armed: %s (%s → %s)", f[i].name,
                      sim_fault_trigger_name(f[i].when),
                      sim_fault_action_name(f[i].action));
  }
  struct harness_link_outcome oc;
  if (harness_link_run(l, false, true, c->o->bound_us, &oc) != 0)
    goto out_unset_narr;
  if (narr)
    harness_narrate(narr, l->br.now_us, "Run ends: %s",
                    oc.done ? sqn_err_name(oc.err) : "not done");
  if (harness_link_judge(l, &oc, c->o->bound_us, j) != 0)
    goto out_unset_narr;
  if (narr)
    harness_narrate(narr, l->br.now_us, "Verdict: %s%s%s",
                    harness_verdict_kind_name(j->kind),
                    j->reason[0] ? " — " : "", j->reason);
  rc = 0;
out_unset_narr:
  if (narr)
    harness_narrate_flush(narr);
  l->narr = NULL;
  return rc;
}

/* Delta debugging, one fault at a time. Returns the minimal mask. */
static int harness_campaign_shrink(struct harness_campaign_ctx *c,
                                   uint64_t seed, unsigned n, uint32_t *mask,
                                   struct harness_judgement *j) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (unsigned i = 0; i < n; i++) {
      uint32_t m = *mask & ~(1u << i);
      if (m == *mask || !m)
        continue;
      struct harness_judgement t;
      if (harness_campaign_run(c, seed, m, NULL, &t) != 0)
        return -1;
      if (t.kind == HARNESS_VK_FAILED) {
        *mask = m;
        *j = t;
        changed = true;
      }
    }
  }
  return 0;
}

static int harness_campaign_self_check(struct harness_campaign_ctx *c,
                                       uint64_t seed, uint32_t mask,
                                       char *why, size_t cap) {
  struct harness_narrator a, b;
  harness_narrator_init(&a);
  harness_narrator_init(&b);
  struct harness_judgement ja, jb;
  int rc = -1;
  if (harness_campaign_run(c, seed, mask, &a, &ja) != 0 ||
      harness_campaign_run(c, seed, mask, &b, &jb) != 0)
    goto out_free_narr;
  rc = 0;
  const char *ta = a.text ? a.text : "", *tb = b.text ? b.text : "";
  if (strcmp(ta, tb) != 0 || ja.kind != jb.kind) {
    size_t k = 0;
    while (ta[k] && ta[k] == tb[k])
      k++;
    snprintf(why, cap,
             "NONDETERMINISM: two runs of seed 0x%016llx differ at "
             "transcript byte %zu (%zu vs %zu bytes)",
             (unsigned long long)seed, k, strlen(ta), strlen(tb));
    rc = 1;
  }
out_free_narr:
  harness_narrator_free(&a);
  harness_narrator_free(&b);
  return rc;
}

static double harness_cwall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void harness_campaign_report(struct harness_campaign_ctx *c,
                                    uint64_t r, uint64_t seed,
                                    uint32_t mask,
                                    const struct harness_judgement *j) {
  const struct harness_campaign_opts *o = c->o;
  struct sim_fault f[HARNESS_CAMPAIGN_MAX_FAULTS];
  unsigned n = harness_campaign_faults(seed, o->pkg->len, f);
  unsigned kept = 0;
  for (unsigned i = 0; i < n; i++)
    kept += (mask >> i) & 1u;
  fprintf(c->out, "FAIL  run %llu seed 0x%016llx: %s\n",
          (unsigned long long)r, (unsigned long long)seed, j->reason);
  fprintf(c->out, "  minimal fault list (%u of %u):\n", kept, n);
  for (unsigned i = 0; i < n; i++)
    if (mask & 1u << i)
      harness_fault_yaml(c->out, &f[i]);
  fprintf(c->out, "  reproduce: %s --run-seed 0x%016llx --keep 0x%x\n",
          o->repro ? o->repro : "sqn-scenario campaign",
          (unsigned long long)seed, mask);
}

/* One run's JUnit test case. */
static void harness_campaign_junit_case(struct harness_campaign_ctx *c,
                                        uint64_t r, uint64_t seed,
                                        uint32_t mask, double secs,
                                        const struct harness_judgement *j) {
  const struct harness_campaign_opts *o = c->o;
  fprintf(c->junit,
          "  <testcase classname=\"campaign\" name=\"run %llu seed "
          "0x%016llx\" time=\"%.4f\">",
          (unsigned long long)r, (unsigned long long)seed, secs);
  if (j->kind == HARNESS_VK_FAILED) {
    fprintf(c->junit, "<failure message=\"");
    harness_xml_escape(c->junit, j->reason);
    fprintf(c->junit, "\">reproduce: ");
    harness_xml_escape(c->junit,
                       o->repro ? o->repro : "sqn-scenario campaign");
    fprintf(c->junit, " --run-seed 0x%016llx --keep 0x%x</failure>",
            (unsigned long long)seed, mask);
  } else {
    fprintf(c->junit, "<system-out>");
    harness_xml_escape(c->junit, harness_verdict_kind_name(j->kind));
    if (j->reason[0]) {
      fputs(": ", c->junit);
      harness_xml_escape(c->junit, j->reason);
    }
    fprintf(c->junit, "</system-out>");
  }
  fprintf(c->junit, "</testcase>\n");
}

/* The JUnit file: the suite around the cases gathered in memory. 0 or -1. */
static int harness_campaign_junit_write(struct harness_campaign_ctx *c,
                                        const struct harness_campaign_stats *st) {
  const struct harness_campaign_opts *o = c->o;
  int rc = 0;
  fclose(c->junit);
  FILE *f = fopen(o->junit, "w");
  if (f) {
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites><testsuite name=\"campaign seed %llu shard "
               "%u/%u\" tests=\"%llu\" failures=\"%llu\" errors=\"0\" "
               "time=\"%.3f\">\n",
            (unsigned long long)o->seed, o->shard.k ? o->shard.k : 1,
            o->shard.m ? o->shard.m : 1, (unsigned long long)st->runs,
            (unsigned long long)st->failed, st->wall_s);
    fwrite(c->junit_buf, 1, c->junit_len, f);
    fprintf(f, "</testsuite></testsuites>\n");
    fclose(f);
  } else {
    fprintf(c->out, "campaign: cannot write %s\n", o->junit);
    rc = -1;
  }
  free(c->junit_buf);
  return rc;
}

/* A failed run: shrink its faults, report it, and print the first
 * transcript. 0 or -1. */
static int harness_campaign_failed(struct harness_campaign_ctx *c, uint64_t r,
                                   uint64_t seed, uint32_t *mask,
                                   struct harness_judgement *j,
                                   unsigned *transcripts) {
  const struct harness_campaign_opts *o = c->o;
  struct sim_fault f[HARNESS_CAMPAIGN_MAX_FAULTS];
  unsigned n = harness_campaign_faults(seed, o->pkg->len, f);
  if (strncmp(j->reason, "NONDETERMINISM", 14) != 0 &&
      harness_campaign_shrink(c, seed, n, mask, j) != 0)
    return -1;
  harness_campaign_report(c, r, seed, *mask, j);
  if ((*transcripts)++ < 1 && !o->narrate) {
    struct harness_narrator t;
    harness_narrator_init(&t);
    struct harness_judgement jt;
    if (harness_campaign_run(c, seed, *mask, &t, &jt) == 0 && t.text)
      fputs(t.text, c->out);
    harness_narrator_free(&t);
    fputc('\n', c->out);
  }
  return 0;
}

/* Run r of the campaign (or the --run-seed run): run, count, self-check,
 * shrink and report a failure, JUnit. 0 or -1. */
static int harness_campaign_one(struct harness_campaign_ctx *c, uint64_t r,
                                struct harness_campaign_stats *st,
                                unsigned *transcripts) {
  const struct harness_campaign_opts *o = c->o;
  uint64_t seed =
      o->has_run_seed ? o->run_seed : harness_campaign_run_seed(o->seed, r);
  uint32_t all = o->has_run_seed && o->keep_mask ? o->keep_mask : 0xFu;
  double rt0 = harness_cwall();
  struct harness_judgement j;
  struct harness_narrator narr;
  harness_narrator_init(&narr);
  int run_rc =
      harness_campaign_run(c, seed, all, o->narrate ? &narr : NULL, &j);
  if (o->narrate && narr.text)
    harness_narrator_print(&narr, c->out, true);
  harness_narrator_free(&narr);
  if (run_rc != 0)
    return -1;
  st->runs++;
  if (j.kind == HARNESS_VK_RECOVERED)
    st->recovered++;
  else if (j.kind == HARNESS_VK_REPORTED)
    st->reported++;
  if (j.kind != HARNESS_VK_FAILED && o->self_check &&
      (st->runs <= 2 || r % 97 == 0)) {
    st->self_checked++;
    int sc = harness_campaign_self_check(c, seed, all, j.reason,
                                         sizeof(j.reason));
    if (sc < 0)
      return -1;
    if (sc > 0)
      j.kind = HARNESS_VK_FAILED;
  }
  uint32_t mask = all;
  if (j.kind == HARNESS_VK_FAILED) {
    st->failed++;
    if (harness_campaign_failed(c, r, seed, &mask, &j, transcripts) != 0)
      return -1;
  } else if (o->has_run_seed || o->verbose) {
    if (!o->has_run_seed)
      fprintf(c->out, "run %llu ", (unsigned long long)r);
    fprintf(c->out, "PASS  seed 0x%016llx: %s%s%s\n", (unsigned long long)seed,
            harness_verdict_kind_name(j.kind), j.reason[0] ? " — " : "",
            j.reason);
  }
  if (c->junit)
    harness_campaign_junit_case(c, r, seed, mask, harness_cwall() - rt0, &j);
  return 0;
}

int harness_campaign(const struct harness_campaign_opts *o,
                     struct harness_campaign_stats *st) {
  memset(st, 0, sizeof(*st));
  double t0 = harness_cwall();
  struct harness_campaign_ctx c = {.o = o, .out = o->out ? o->out : stdout};
  int rc = -1;
  c.l = calloc(1, sizeof(*c.l));
  if (!c.l)
    return -1;
  if (harness_link_init(c.l, o->profile, o->pkg) != 0)
    goto out_free_link;
  /* Faults make the consumption tracking guesswork: no shadow here. */
  c.l->no_shadow = true;
  if (o->junit) {
    c.junit = open_memstream(&c.junit_buf, &c.junit_len);
    if (!c.junit)
      goto out_free_link;
  }
  unsigned shard_m = o->shard.m ? o->shard.m : 1;
  unsigned shard_k = o->shard.k ? o->shard.k : 1;
  uint64_t runs = o->has_run_seed ? 1 : o->runs;
  unsigned transcripts = 0;
  rc = 0;
  for (uint64_t r = 0; r < runs && rc == 0; r++) {
    if (!o->has_run_seed && r % shard_m != shard_k - 1)
      continue;
    rc = harness_campaign_one(&c, r, st, &transcripts);
  }
  if (rc == 0)
    rc = st->failed ? 1 : 0;
  st->wall_s = harness_cwall() - t0;
  if (c.junit && harness_campaign_junit_write(&c, st) != 0)
    rc = -1;
out_free_link:
  harness_link_free(c.l);
  free(c.l);
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-cut sweeps.
 *
 * Overview. A sweep is two passes over one in-memory package:
 *
 *   1. record   one clean run; every cut point (link.h) is numbered and
 *               remembered with the flash as persisted at that instant (a
 *               copy per flash write, shared by the points after it) and
 *               the shadow (what the image slots physically hold).
 *   2. points   for each selected point i: boot a new model from the
 *               point's flash (the power cut: volatile state gone), rerun
 *               a fresh updater without faults, judge (link.c). About one
 *               point in `double_every` (chosen by the seed) also gets a
 *               second cut at a seeded point of that recovery run, then a
 *               third run.
 *
 * Restarting from the recorded flash instead of replaying the clean run
 * up to i is exact because the model and the updater are deterministic and
 * a power cut keeps nothing but the flash; `--replay` does it the long way
 * (and the unit test checks both agree). A failing point is replayed from
 * zero with the narrator on, so its transcript tells the whole story.
 */
#include "sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t harness_mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

int harness_shard_parse(const char *text, struct harness_shard *out) {
  char *end;
  unsigned long k = strtoul(text, &end, 10);
  if (*end != '/')
    return -1;
  unsigned long m = strtoul(end + 1, &end, 10);
  if (*end || k < 1 || m < 1 || k > m || m > 100000)
    return -1;
  out->k = (unsigned)k;
  out->m = (unsigned)m;
  return 0;
}

void harness_xml_escape(FILE *f, const char *s) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default:
      /* XML 1.0 forbids most control characters even escaped. */
      if (c < 0x20 && c != '\n' && c != '\t')
        fputc('?', f);
      else
        fputc(c, f);
    }
  }
}

static double harness_wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the recording --------------------------------------------------------- */

struct harness_point {
  struct harness_cut_event ev;
  uint32_t ordinal;  /* per kind, 1-based */
  uint32_t snap;     /* index into snaps */
  struct harness_shadow_state sh;
  char *why;         /* the flash lies about a slot here (malloc'd) */
};

struct harness_result_row {
  uint64_t point;
  enum harness_verdict_kind kind;
  double wall_s;
  char *msg; /* failures only */
};

/* A recovery run already judged (docs/sweeps.md, "Shared reruns"): the
 * flash it started from, what the slots physically held, and the clock's
 * sub-millisecond phase; any run that starts from an equal key has the same
 * result. */
/* The recovery run of a memo entry, recorded like the clean run (flash per
 * write, shadow and clock per cut point), so a second cut at any of its
 * points restarts from there instead of rerunning up to it. */
struct harness_rec_event {
  uint64_t t_us;
  uint32_t snap;
  struct harness_shadow_state sh;
};

struct harness_rec {
  struct harness_rec_event *ev;
  size_t nev, capev;
  struct sim_state *snaps;
  int8_t *snap_json; /* 0 unchecked, 1 good, -1 bad */
  size_t nsnaps, capsnaps;
  uint64_t first_violation; /* cut point of the first violation, 0: none */
  char violation[320];
  bool oom;
};

struct harness_memo {
  struct sim_state st;
  struct harness_slot_shadow base[HARNESS_SLOT_N];
  uint32_t phase_us;
  struct harness_judgement j;
  uint64_t rec_events;
  struct harness_rec *rec; /* NULL: not recorded */
};

struct harness_sweep_ctx {
  const struct harness_sweep_opts *o;
  struct harness_memo *memo;
  size_t nmemo, capmemo;
  uint64_t memo_hits;
  uint64_t runs;     /* recovery runs judged (not shared) */
  size_t last_memo;  /* entry of the last shared run; SIZE_MAX: none */
  bool worker_failed;
  FILE *out;
  struct harness_link *l;
  struct harness_point *pts;
  size_t npts, cappts;
  struct sim_state *snaps;
  int8_t *snap_json; /* 0 unchecked, 1 good, -1 bad */
  size_t nsnaps, capsnaps;
  uint32_t ordinal[HARNESS_CUT_COUNT];
  bool oom;
  struct harness_result_row *rows;
  size_t nrows, caprows;
};

/* Append a copy of `st` to a growing list of snapshots and their JSON
 * verdicts (0: unchecked); the sweep's and a recorded run's lists alike. */
static int harness_snaps_append(struct sim_state **snaps, int8_t **json,
                                size_t *n, size_t *capn,
                                const struct sim_state *st) {
  if (*n == *capn) {
    size_t cap = *capn ? *capn * 2 : 16;
    struct sim_state *ns = realloc(*snaps, cap * sizeof(*ns));
    if (!ns)
      return -1;
    *snaps = ns;
    int8_t *nj = realloc(*json, cap);
    if (!nj)
      return -1;
    *json = nj;
    *capn = cap;
  }
  memset(&(*snaps)[*n], 0, sizeof((*snaps)[0]));
  if (sim_state_copy(&(*snaps)[*n], st) != 0)
    return -1;
  (*json)[(*n)++] = 0;
  return 0;
}

static int harness_snap_push(struct harness_sweep_ctx *c,
                             const struct sim_state *st) {
  return harness_snaps_append(&c->snaps, &c->snap_json, &c->nsnaps,
                              &c->capsnaps, st);
}

static void harness_sweep_record(void *ctx,
                                 const struct harness_cut_event *ev) {
  struct harness_sweep_ctx *c = ctx;
  if (c->oom)
    return;
  if (ev->kind == HARNESS_CUT_FLASH &&
      harness_snap_push(c, &c->l->persisted) != 0) {
    c->oom = true;
    return;
  }
  if (c->npts == c->cappts) {
    size_t cap = c->cappts ? c->cappts * 2 : 1024;
    struct harness_point *n = realloc(c->pts, cap * sizeof(*n));
    if (!n) {
      c->oom = true;
      return;
    }
    c->pts = n;
    c->cappts = cap;
  }
  struct harness_point *p = &c->pts[c->npts++];
  memset(p, 0, sizeof(*p));
  p->ev = *ev;
  p->ordinal = ++c->ordinal[ev->kind];
  p->snap = (uint32_t)(c->nsnaps - 1);
  p->sh = c->l->sh;
  if (c->l->ev_torn) {
    /* The link keeps the first violation; re-derive this one's text. */
    p->why = strdup(c->l->ev_why);
  }
}

static void harness_sweep_describe(const struct harness_point *p, char *buf,
                                   size_t cap) {
  snprintf(buf, cap, "%s #%u at %.3f s (%llu host bytes, flash write %llu)",
           harness_cut_kind_name(p->ev.kind), p->ordinal,
           (double)p->ev.t_us / 1e6, (unsigned long long)p->ev.host_bytes,
           (unsigned long long)p->ev.writes);
}

/* --- one point ------------------------------------------------------------ */

/* Bring the link to "power just came back after the cut at point i". In
 * replay mode (or with a narrator, for transcripts) the clean run is
 * replayed up to i; otherwise the point's snapshot is booted. 0, 1 when the
 * point fails (reason in j), -1 on a harness error. */
/* Whether snapshot k's persisted flash survives the state file's JSON
 * round trip, checked once and remembered in memo[k] (0 unchecked, 1 good,
 * -1 bad); when it does not, `reason` says why. */
static bool harness_snap_json_ok(const struct sim_state *snaps, int8_t *memo,
                                 uint32_t k, char *reason, size_t cap) {
  struct harness_link tmp;
  if (memo[k] > 0)
    return true;
  memset(&tmp, 0, sizeof(tmp));
  tmp.persisted = snaps[k];
  memo[k] = harness_link_check_flash_json(&tmp, reason, cap) == 0 ? 1 : -1;
  return memo[k] > 0;
}

static int harness_sweep_cut(struct harness_sweep_ctx *c, uint64_t i,
                             bool replay, struct harness_judgement *j) {
  struct harness_link *l = c->l;
  const struct harness_point *p = &c->pts[i - 1];
  if (replay) {
    l->br.now_us = 0;
    l->on_event = NULL;
    if (harness_link_boot(l, c->o->start, true) != 0)
      return -1;
    l->cut_at = i;
    struct harness_link_outcome oc;
    if (harness_link_run(l, false, true, c->o->bound_us, &oc) != 0)
      return -1;
    l->cut_at = 0;
    if (!oc.cut) {
      snprintf(j->reason, sizeof(j->reason),
               "replay did not reach cut point %llu (nondeterminism?)",
               (unsigned long long)i);
      return 1;
    }
    if (l->ev_torn) {
      snprintf(j->reason, sizeof(j->reason), "%s", l->ev_why);
      return 1;
    }
    if (harness_link_check_flash_json(l, j->reason, sizeof(j->reason)) != 0)
      return 1;
    return harness_link_power_cycle(l) == 0 ? 0 : -1;
  }
  if (p->why) {
    snprintf(j->reason, sizeof(j->reason), "%s", p->why);
    return 1;
  }
  if (!harness_snap_json_ok(c->snaps, c->snap_json, p->snap, j->reason,
                            sizeof(j->reason)))
    return 1;
  l->br.now_us = p->ev.t_us + 1000000u;
  return harness_link_boot_shadow(l, &c->snaps[p->snap], &p->sh) == 0 ? 0
                                                                       : -1;
}

static bool harness_image_eq(const struct sim_image *a,
                             const struct sim_image *b) {
  return a->valid == b->valid && a->build == b->build &&
         a->incomplete == b->incomplete &&
         strcmp(a->version, b->version) == 0 && strcmp(a->ue, b->ue) == 0;
}

/* Every field of the flash (what a model boots from). */
static bool harness_state_eq(const struct sim_state *a,
                             const struct sim_state *b) {
  return a->profile == b->profile && a->boot_select == b->boot_select &&
         harness_image_eq(&a->fff, &b->fff) &&
         harness_image_eq(&a->updater, &b->updater) &&
         harness_image_eq(&a->bootrom, &b->bootrom) &&
         a->fs_store_len == b->fs_store_len &&
         strcmp(a->fs_store_file, b->fs_store_file) == 0 &&
         (!a->fs_store_len ||
          memcmp(a->fs_store, b->fs_store, a->fs_store_len) == 0) &&
         strcmp(a->upgrade_status, b->upgrade_status) == 0 &&
         strcmp(a->fail_reason, b->fail_reason) == 0 &&
         a->writes == b->writes && a->uart_baud == b->uart_baud &&
         a->part2_pending == b->part2_pending;
}

static bool harness_slot_eq(const struct harness_slot_shadow *a,
                            const struct harness_slot_shadow *b) {
  if (a->n != b->n)
    return false;
  for (unsigned i = 0; i < a->n; i++)
    if (a->alt[i].torn != b->alt[i].torn ||
        a->alt[i].build != b->alt[i].build ||
        strcmp(a->alt[i].version, b->alt[i].version) != 0)
      return false;
  return true;
}

/* The memo entry for the link as it is now (just powered up), or NULL. */
static struct harness_memo *harness_memo_find(struct harness_sweep_ctx *c,
                                              const struct sim_state *st) {
  const struct harness_link *l = c->l;
  for (size_t k = 0; k < c->nmemo; k++) {
    struct harness_memo *e = &c->memo[k];
    if (e->phase_us == l->br.now_us % 1000u &&
        harness_slot_eq(&e->base[0], &l->sh.base[0]) &&
        harness_slot_eq(&e->base[1], &l->sh.base[1]) &&
        harness_state_eq(&e->st, st))
      return e;
  }
  return NULL;
}

static int harness_rec_snap(struct harness_rec *r, const struct sim_state *st) {
  return harness_snaps_append(&r->snaps, &r->snap_json, &r->nsnaps,
                              &r->capsnaps, st);
}

struct harness_rec_ctx {
  struct harness_rec *r;
  struct harness_link *l;
};

static void harness_rec_event(void *ctx, const struct harness_cut_event *ev) {
  struct harness_rec_ctx *x = ctx;
  struct harness_rec *r = x->r;
  if (r->oom)
    return;
  if (ev->kind == HARNESS_CUT_FLASH &&
      harness_rec_snap(r, &x->l->persisted) != 0) {
    r->oom = true;
    return;
  }
  if (!r->first_violation && x->l->violation[0]) {
    r->first_violation = ev->index;
    snprintf(r->violation, sizeof(r->violation), "%s", x->l->violation);
  }
  if (r->nev == r->capev) {
    size_t cap = r->capev ? r->capev * 2 : 1024;
    struct harness_rec_event *n = realloc(r->ev, cap * sizeof(*n));
    if (!n) {
      r->oom = true;
      return;
    }
    r->ev = n;
    r->capev = cap;
  }
  r->ev[r->nev++] = (struct harness_rec_event){
      ev->t_us, (uint32_t)(r->nsnaps - 1), x->l->sh};
}

static void harness_rec_free(struct harness_rec *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nsnaps; i++)
    sim_state_release(&r->snaps[i]);
  free(r->snaps);
  free(r->snap_json);
  free(r->ev);
  free(r);
}

/* The recovery run from the link as just powered up (model booted from
 * `st`), judged; shared with every earlier run from an equal start unless
 * `st` is NULL (replay), the sweep reruns everything or narrates. 0 or -1. */
static int harness_sweep_recover(struct harness_sweep_ctx *c,
                                 const struct sim_state *st, bool record,
                                 uint64_t *rec_events,
                                 struct harness_judgement *j) {
  struct harness_link *l = c->l;
  bool share = st && !c->o->rerun_all && !l->narr && !l->sh.otf &&
               !l->violation[0];
  struct harness_memo key;
  memset(&key, 0, sizeof(key));
  struct harness_rec_ctx rx = {NULL, l};
  c->last_memo = SIZE_MAX;
  size_t attach = SIZE_MAX; /* an entry that lacks only its recording */
  if (share) {
    struct harness_memo *e = harness_memo_find(c, st);
    if (e && (e->rec || !record)) {
      *j = e->j;
      if (rec_events)
        *rec_events = e->rec_events;
      c->memo_hits++;
      c->last_memo = (size_t)(e - c->memo);
      return 0;
    }
    if (e)
      attach = (size_t)(e - c->memo);
    memset(&key, 0, sizeof(key));
    if (sim_state_copy(&key.st, st) != 0)
      return -1;
    key.base[0] = l->sh.base[0];
    key.base[1] = l->sh.base[1];
    key.phase_us = (uint32_t)(l->br.now_us % 1000u);
  }
  if (l->narr)
    harness_narrate(l->narr, l->br.now_us,
                    "Recovery run: a fresh sqn-update, no faults");
  struct harness_link_outcome oc;
  c->runs++;
  if (share && record) {
    key.rec = calloc(1, sizeof(*key.rec));
    rx.r = key.rec;
    if (!key.rec || harness_rec_snap(key.rec, &l->persisted) != 0)
      goto fail;
    l->on_event = harness_rec_event;
    l->ctx = &rx;
  }
  int rrc = harness_link_run(l, false, true, c->o->bound_us, &oc);
  l->on_event = NULL;
  l->ctx = NULL;
  if (rrc != 0 || (key.rec && key.rec->oom))
    goto fail;
  uint64_t ev = l->events;
  if (rec_events)
    *rec_events = ev;
  if (harness_link_judge(l, &oc, c->o->bound_us, j) != 0)
    goto fail;
  if (share && attach != SIZE_MAX) {
    /* Same start as a run judged without a recording: same verdict. */
    sim_state_release(&key.st);
    c->memo[attach].rec = key.rec;
    *j = c->memo[attach].j;
    c->last_memo = attach;
    return 0;
  }
  if (share) {
    if (c->nmemo == c->capmemo) {
      size_t cap = c->capmemo ? c->capmemo * 2 : 64;
      struct harness_memo *n = realloc(c->memo, cap * sizeof(*n));
      if (!n)
        goto fail;
      c->memo = n;
      c->capmemo = cap;
    }
    key.j = *j;
    key.rec_events = ev;
    c->last_memo = c->nmemo;
    c->memo[c->nmemo++] = key;
  }
  return 0;
fail:
  if (share) {
    sim_state_release(&key.st);
    harness_rec_free(key.rec);
  }
  return -1;
}

/* Point i's second cut at point `dbl` of its (shared, recorded) recovery
 * run `e`, restarted from the recording: the same as cutting a rerun
 * there (docs/sweeps.md). 0 or -1. */
static int harness_sweep_double_from_rec(struct harness_sweep_ctx *c,
                                         size_t memo, uint64_t dbl,
                                         struct harness_judgement *j) {
  struct harness_link *l = c->l;
  struct harness_rec *r = c->memo[memo].rec;
  const struct harness_rec_event *ev = &r->ev[dbl - 1];
  memset(j, 0, sizeof(*j));
  j->kind = HARNESS_VK_FAILED;
  if (r->first_violation && r->first_violation <= dbl) {
    snprintf(j->reason, sizeof(j->reason), "%s (before the second cut)",
             r->violation);
    return 0;
  }
  if (!harness_snap_json_ok(r->snaps, r->snap_json, ev->snap, j->reason,
                            sizeof(j->reason)))
    return 0;
  /* Power back a second after the cut, from the flash and slots then. */
  l->br.now_us = ev->t_us + 1000000u;
  if (harness_link_boot_shadow(l, &r->snaps[ev->snap], &ev->sh) != 0)
    return -1;
  /* `r` may move: the run below can add memo entries. */
  struct sim_state from;
  memset(&from, 0, sizeof(from));
  if (sim_state_copy(&from, &c->memo[memo].rec->snaps[ev->snap]) != 0)
    return -1;
  int rc = harness_sweep_recover(c, &from, false, NULL, j);
  sim_state_release(&from);
  return rc;
}

/* Run point i (and its double cut at recovery event `dbl`, 0: none).
 * Fills j; returns 0 or -1 on a harness error. `*rec_events` gets the
 * number of cut points of the (first) recovery run. */
static int harness_sweep_point(struct harness_sweep_ctx *c, uint64_t i,
                               bool replay, uint64_t dbl,
                               uint64_t *rec_events,
                               struct harness_judgement *j) {
  struct harness_link *l = c->l;
  memset(j, 0, sizeof(*j));
  j->kind = HARNESS_VK_FAILED;
  int rc = harness_sweep_cut(c, i, replay, j);
  if (rc != 0)
    return rc < 0 ? -1 : 0;
  struct harness_link_outcome oc;
  /* The flash the model just booted from: the point's snapshot, or the
   * flash at the second cut (NULL: replayed, nothing is shared). */
  const struct sim_state *from = replay ? NULL : &c->snaps[c->pts[i - 1].snap];
  struct sim_state at_cut;
  memset(&at_cut, 0, sizeof(at_cut));
  if (dbl) {
    if (l->narr)
      harness_narrate(l->narr, l->br.now_us,
                      "Recovery run, with a second power cut at its cut "
                      "point %llu",
                      (unsigned long long)dbl);
    l->cut_at = dbl;
    if (harness_link_run(l, false, true, c->o->bound_us, &oc) != 0)
      return -1;
    l->cut_at = 0;
    if (l->violation[0]) {
      snprintf(j->reason, sizeof(j->reason), "%s (before the second cut)",
               l->violation);
      return 0;
    }
    if (oc.cut) {
      if (harness_link_check_flash_json(l, j->reason, sizeof(j->reason)) !=
          0)
        return 0;
      if (from) {
        if (sim_state_copy(&at_cut, &l->persisted) != 0)
          return -1;
        from = &at_cut;
      }
      if (harness_link_power_cycle(l) != 0) {
        sim_state_release(&at_cut);
        return -1;
      }
    } else {
      /* The recovery ended before the second cut: judge it as it is. */
      return harness_link_judge(l, &oc, c->o->bound_us, j);
    }
  }
  int rc2 = harness_sweep_recover(c, from, !dbl && c->o->double_every,
                                  rec_events, j);
  sim_state_release(&at_cut);
  return rc2;
}

static int harness_row_add(struct harness_sweep_ctx *c, uint64_t point,
                           enum harness_verdict_kind kind, double wall,
                           const char *msg) {
  if (c->nrows == c->caprows) {
    size_t cap = c->caprows ? c->caprows * 2 : 1024;
    struct harness_result_row *n = realloc(c->rows, cap * sizeof(*n));
    if (!n)
      return -1;
    c->rows = n;
    c->caprows = cap;
  }
  c->rows[c->nrows++] = (struct harness_result_row){
      point, kind, wall, msg ? strdup(msg) : NULL};
  return 0;
}

static void harness_sweep_junit(struct harness_sweep_ctx *c,
                                const struct harness_sweep_stats *st) {
  const struct harness_sweep_opts *o = c->o;
  FILE *f = fopen(o->junit, "w");
  if (!f) {
    fprintf(c->out, "sweep: cannot write %s\n", o->junit);
    return;
  }
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f,
          "<testsuites><testsuite name=\"sweep shard %u/%u\" tests=\"%zu\" "
          "failures=\"%llu\" errors=\"0\" time=\"%.3f\">\n",
          o->shard.k, o->shard.m, c->nrows,
          (unsigned long long)st->failed, st->wall_s);
  for (size_t r = 0; r < c->nrows; r++) {
    const struct harness_result_row *row = &c->rows[r];
    char desc[160];
    harness_sweep_describe(&c->pts[row->point - 1], desc, sizeof(desc));
    fprintf(f, "  <testcase classname=\"sweep\" name=\"point %llu: ",
            (unsigned long long)row->point);
    harness_xml_escape(f, desc);
    fprintf(f, "\" time=\"%.4f\">", row->wall_s);
    if (row->kind == HARNESS_VK_FAILED) {
      fprintf(f, "<failure message=\"");
      harness_xml_escape(f, row->msg ? row->msg : "failed");
      fprintf(f, "\">");
      harness_xml_escape(f, row->msg ? row->msg : "");
      fprintf(f, "\nreproduce: ");
      harness_xml_escape(f, o->repro ? o->repro : "sqn-scenario sweep");
      fprintf(f, " --only %llu</failure>", (unsigned long long)row->point);
    } else {
      fprintf(f, "<system-out>%s</system-out>",
              harness_verdict_kind_name(row->kind));
    }
    fprintf(f, "</testcase>\n");
  }
  fprintf(f, "</testsuite></testsuites>\n");
  fclose(f);
}

/* Print a failing point's transcript: replay it with the narrator on. */
static void harness_sweep_transcript(struct harness_sweep_ctx *c, uint64_t i,
                                     uint64_t dbl) {
  struct harness_narrator n;
  harness_narrator_init(&n);
  harness_narrator_set_host(&n, "sqn-update");
  harness_narrate(&n, 0, "Sweep point %llu: clean run, power cut at cut "
                         "point %llu",
                  (unsigned long long)i, (unsigned long long)i);
  c->l->narr = &n;
  struct harness_judgement j;
  if (harness_sweep_point(c, i, true, dbl, NULL, &j) == 0)
    harness_narrate(&n, c->l->br.now_us, "Verdict: %s%s%s",
                    harness_verdict_kind_name(j.kind),
                    j.reason[0] ? " — " : "", j.reason);
  c->l->narr = NULL;
  harness_narrate_flush(&n);
  fputs(n.text ? n.text : "(no transcript)\n", c->out);
  harness_narrator_free(&n);
}

/* One point's result, as a worker sends it to the parent. */
struct harness_point_result {
  uint64_t point;
  uint64_t dbl;   /* the second cut's recovery point, 0: none */
  uint64_t runs;  /* recovery runs judged for it (0: all shared) */
  double wall_s;
  int32_t kind;   /* enum harness_verdict_kind */
  char reason[sizeof(((struct harness_judgement *)0)->reason)];
};

/* Points todo[from..to) into res[from..to). 0 or -1 (harness error). */
static int harness_sweep_eval_range(struct harness_sweep_ctx *c,
                                    const uint64_t *todo, uint64_t from,
                                    uint64_t to,
                                    struct harness_point_result *res) {
  const struct harness_sweep_opts *o = c->o;
  for (uint64_t k = from; k < to; k++) {
    uint64_t i = todo[k];
    struct harness_judgement j;
    double pt0 = harness_wall_s();
    uint64_t runs0 = c->runs;
    uint64_t rec_events = 0;
    c->last_memo = SIZE_MAX;
    if (harness_sweep_point(c, i, o->replay, 0, &rec_events, &j) != 0)
      return -1;
    uint64_t dbl = 0;
    if (j.kind != HARNESS_VK_FAILED && o->double_every && rec_events &&
        (o->only || harness_mix64(o->seed + i) % o->double_every == 0)) {
      dbl = 1 + harness_mix64(o->seed ^ (i * 0x100000001B3ull)) % rec_events;
      size_t e = c->last_memo;
      if (e != SIZE_MAX && c->memo[e].rec && dbl <= c->memo[e].rec->nev) {
        if (harness_sweep_double_from_rec(c, e, dbl, &j) != 0)
          return -1;
      } else if (harness_sweep_point(c, i, o->replay, dbl, NULL, &j) != 0) {
        return -1;
      }
    }
    struct harness_point_result *r = &res[k];
    memset(r, 0, sizeof(*r));
    r->point = i;
    r->dbl = dbl;
    r->runs = c->runs - runs0;
    r->wall_s = harness_wall_s() - pt0;
    r->kind = (int32_t)j.kind;
    memcpy(r->reason, j.reason, sizeof(r->reason));
    r->reason[sizeof(r->reason) - 1] = '\0';
  }
  return 0;
}

static int harness_full_write(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int harness_full_read(int fd, void *buf, size_t len) {
  uint8_t *p = buf;
  while (len) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* --jobs: worker w evaluates the w-th contiguous slice of todo[0..n) in a
 * forked copy of the sweep (the recording is shared copy-on-write) and
 * sends its results through a pipe; the parent reports them in point
 * order, so the report does not depend on the number of jobs. 0 or -1. */
static int harness_sweep_fork(struct harness_sweep_ctx *c,
                              const uint64_t *todo, uint64_t n, unsigned jobs,
                              struct harness_point_result *res) {
  pid_t pid[64];
  int fd[64];
  if (jobs > 64)
    jobs = 64;
  fflush(NULL);
  unsigned started = 0;
  int rc = 0;
  for (unsigned w = 0; w < jobs; w++) {
    int p[2];
    if (pipe(p) != 0) {
      rc = -1;
      break;
    }
    pid_t k = fork();
    if (k < 0) {
      close(p[0]);
      close(p[1]);
      rc = -1;
      break;
    }
    uint64_t from = n * w / jobs, to = n * (w + 1) / jobs;
    if (k == 0) {
      close(p[0]);
      for (unsigned v = 0; v < started; v++)
        close(fd[v]);
      int wrc = harness_sweep_eval_range(c, todo, from, to, res);
      if (wrc == 0)
        wrc = harness_full_write(p[1], res + from,
                                 (size_t)(to - from) * sizeof(*res));
      _exit(wrc == 0 ? 0 : 3);
    }
    close(p[1]);
    pid[started] = k;
    fd[started] = p[0];
    started++;
  }
  for (unsigned w = 0; w < started; w++) {
    uint64_t from = n * w / jobs, to = n * (w + 1) / jobs;
    if (rc == 0 && harness_full_read(fd[w], res + from,
                                     (size_t)(to - from) * sizeof(*res)) != 0)
      rc = -1;
    close(fd[w]);
    int status = 0;
    while (waitpid(pid[w], &status, 0) < 0 && errno == EINTR)
      ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      rc = -1;
  }
  if (rc != 0)
    c->worker_failed = true;
  return rc;
}

/* Step 1 of a sweep: record the clean run and its cut points, judge it
 * and print the summary line. 0 when it recovered, -1 otherwise. */
static int harness_sweep_clean(struct harness_sweep_ctx *c,
                               struct harness_sweep_stats *st) {
  const struct harness_sweep_opts *o = c->o;
  struct harness_link *l = c->l;
  if (harness_link_boot(l, o->start, true) != 0)
    return -1;
  if (harness_snap_push(c, &l->persisted) != 0)
    return -1;
  l->on_event = harness_sweep_record;
  l->ctx = c;
  struct harness_link_outcome oc;
  if (harness_link_run(l, false, true, o->bound_us, &oc) != 0 || c->oom)
    return -1;
  l->on_event = NULL;
  struct harness_judgement j;
  if (harness_link_judge(l, &oc, o->bound_us, &j) != 0)
    return -1;
  if (j.kind != HARNESS_VK_RECOVERED && !l->violation[0]) {
    snprintf(st->clean_reason, sizeof(st->clean_reason),
             "the clean run does not succeed: %s%s",
             j.kind == HARNESS_VK_REPORTED ? "ended with " : "",
             j.reason[0] ? j.reason : sqn_err_name(oc.err));
    return -1;
  }
  st->points = c->npts;
  fprintf(c->out,
          "sweep: %zu cut points in a clean run of %.1f virtual s "
          "(%zu-byte package %s, %zu flash writes)%s\n",
          c->npts, (double)(oc.end_us - oc.start_us) / 1e6, o->pkg->len,
          o->pkg->version_text, c->nsnaps - 1,
          o->mutation ? " — MUTATION " : "");
  if (o->mutation)
    fprintf(c->out, "sweep: persist filter '%s' simulates a broken flash "
                    "write ordering\n",
            harness_mutation_name(o->mutation));
  return 0;
}

/* The selected points (1-based), in order, into todo; returns how many. */
static uint64_t harness_sweep_select(const struct harness_sweep_ctx *c,
                                     uint64_t *todo) {
  const struct harness_sweep_opts *o = c->o;
  uint32_t stride = o->stride ? o->stride : 1;
  unsigned shard_m = o->shard.m ? o->shard.m : 1;
  unsigned shard_k = o->shard.k ? o->shard.k : 1;
  uint64_t sel = 0;
  for (uint64_t i = 1; i <= c->npts; i++) {
    if (o->only) {
      if (i != o->only)
        continue;
    } else {
      if ((i - 1) % stride != 0)
        continue;
      uint64_t idx = (i - 1) / stride;
      if (idx % shard_m != shard_k - 1)
        continue;
    }
    todo[sel++] = i;
  }
  return sel;
}

/* How many worker processes evaluate the sel selected points. */
static unsigned harness_sweep_jobs(const struct harness_sweep_opts *o,
                                   uint64_t sel) {
  unsigned jobs = o->jobs ? o->jobs : 1;
  if (o->only || jobs > sel)
    jobs = sel ? (unsigned)(sel < jobs ? sel : jobs) : 1;
  if (o->only)
    jobs = 1;
  return jobs;
}

/* Print a failed point with its reproduction line (and transcript). */
static void harness_sweep_report_fail(struct harness_sweep_ctx *c,
                                      const struct harness_point_result *r,
                                      unsigned *printed) {
  const struct harness_sweep_opts *o = c->o;
  uint64_t i = r->point, dbl = r->dbl;
  char desc[160];
  harness_sweep_describe(&c->pts[i - 1], desc, sizeof(desc));
  char dbl_text[64] = "";
  if (dbl)
    snprintf(dbl_text, sizeof(dbl_text), ", second cut at recovery "
                                         "point %llu",
             (unsigned long long)dbl);
  fprintf(c->out, "FAIL  point %llu/%zu (%s%s): %s\n",
          (unsigned long long)i, c->npts, desc, dbl_text, r->reason);
  fprintf(c->out, "  reproduce: %s --only %llu\n",
          o->repro ? o->repro : "sqn-scenario sweep",
          (unsigned long long)i);
  if (*printed < o->max_transcripts) {
    (*printed)++;
    harness_sweep_transcript(c, i, dbl);
    fputc('\n', c->out);
  }
}

/* Count and report one point's result. 0, or -1 when a row cannot be
 * added. */
static int harness_sweep_report(struct harness_sweep_ctx *c,
                                const struct harness_point_result *r,
                                struct harness_sweep_stats *st,
                                unsigned *printed) {
  const struct harness_sweep_opts *o = c->o;
  uint64_t i = r->point, dbl = r->dbl;
  if (dbl)
    st->doubles++;
  st->runs += r->runs;
  if (r->kind == HARNESS_VK_RECOVERED)
    st->recovered++;
  else if (r->kind == HARNESS_VK_REPORTED)
    st->reported++;
  if (r->kind == HARNESS_VK_FAILED) {
    st->failed++;
    if (!st->first_failed)
      st->first_failed = i;
    harness_sweep_report_fail(c, r, printed);
  } else if (o->only) {
    fprintf(c->out, "PASS  point %llu: %s%s%s\n", (unsigned long long)i,
            harness_verdict_kind_name(r->kind), r->reason[0] ? " — " : "",
            r->reason);
  }
  if ((o->junit || o->only) &&
      harness_row_add(c, i, r->kind, r->wall_s,
                      r->kind == HARNESS_VK_FAILED ? r->reason : NULL) != 0)
    return -1;
  if (o->only && o->max_transcripts && r->kind != HARNESS_VK_FAILED)
    harness_sweep_transcript(c, i, dbl);
  return 0;
}

/* Step 2 of a sweep: evaluate the selected points and report them in
 * point order. 0 when done (st->selected set), -1 on error. */
static int harness_sweep_points(struct harness_sweep_ctx *c,
                                struct harness_sweep_stats *st) {
  const struct harness_sweep_opts *o = c->o;
  if (o->only > c->npts) {
    fprintf(c->out, "sweep: --only %llu: the clean run has %zu cut points\n",
            (unsigned long long)o->only, c->npts);
    return -1;
  }
  uint64_t *todo = malloc((c->npts ? c->npts : 1) * sizeof(*todo));
  struct harness_point_result *res =
      calloc(c->npts ? c->npts : 1, sizeof(*res));
  if (!todo || !res) {
    free(todo);
    free(res);
    c->oom = true;
    return -1;
  }
  uint64_t sel = harness_sweep_select(c, todo);
  unsigned jobs = harness_sweep_jobs(o, sel);
  int erc = jobs > 1 ? harness_sweep_fork(c, todo, sel, jobs, res)
                     : harness_sweep_eval_range(c, todo, 0, sel, res);
  free(todo);
  if (erc != 0) {
    free(res);
    return -1;
  }
  /* Report in point order, whoever computed them. */
  unsigned printed = 0;
  for (uint64_t k = 0; k < sel; k++) {
    if (harness_sweep_report(c, &res[k], st, &printed) != 0) {
      free(res);
      return -1;
    }
  }
  free(res);
  st->selected = sel;
  return 0;
}

/* Release everything a sweep context holds (not the context itself). */
static void harness_sweep_ctx_free(struct harness_sweep_ctx *c) {
  if (c->l)
    harness_link_free(c->l);
  free(c->l);
  for (size_t i = 0; i < c->npts; i++)
    free(c->pts[i].why);
  free(c->pts);
  for (size_t i = 0; i < c->nsnaps; i++)
    sim_state_release(&c->snaps[i]);
  for (size_t i = 0; i < c->nmemo; i++) {
    sim_state_release(&c->memo[i].st);
    harness_rec_free(c->memo[i].rec);
  }
  free(c->memo);
  free(c->snaps);
  free(c->snap_json);
  for (size_t i = 0; i < c->nrows; i++)
    free(c->rows[i].msg);
  free(c->rows);
}

int harness_sweep(const struct harness_sweep_opts *o,
                  struct harness_sweep_stats *st) {
  memset(st, 0, sizeof(*st));
  double t0 = harness_wall_s();
  struct harness_sweep_ctx c;
  memset(&c, 0, sizeof(c));
  c.o = o;
  c.out = o->out ? o->out : stdout;
  int rc = -1;
  struct harness_link *l = calloc(1, sizeof(*l));
  if (!l)
    return -1;
  if (harness_link_init(l, o->profile, o->pkg) != 0) {
    harness_link_free(l);
    free(l);
    return -1;
  }
  c.l = l;
  l->byte_step = o->byte_step;
  l->mutation = o->mutation;
  /* The model's own broken ordering is left to the end-to-end judgement:
   * the shadow would flag it as torn first and hide what a user sees. */
  l->no_shadow = o->mutation == HARNESS_MUTATION_MODEL_VALID_EARLY;

  /* 1. record the clean run, 2. the points */
  if (harness_sweep_clean(&c, st) == 0 && harness_sweep_points(&c, st) == 0) {
    st->wall_s = harness_wall_s() - t0;
    if (o->junit)
      harness_sweep_junit(&c, st);
    rc = st->failed ? 1 : 0;
  }

  if (rc < 0 && !st->clean_reason[0] && c.worker_failed)
    snprintf(st->clean_reason, sizeof(st->clean_reason),
             "a --jobs worker process failed (out of memory or killed)");
  else if (rc < 0 && !st->clean_reason[0] && c.oom)
    snprintf(st->clean_reason, sizeof(st->clean_reason), "out of memory");
  st->wall_s = harness_wall_s() - t0;
  harness_sweep_ctx_free(&c);
  return rc;
}

/* --- package specs ---------------------------------------------------------- */

int harness_pkg_spec_build(const char *spec, enum sim_profile profile,
                           struct harness_pkg *p, char *err, size_t errcap) {
  struct harness_pkg_yaml y;
  memset(&y, 0, sizeof(y));
  y.size = 262144;
  y.updater_elf = true;
  char *recs[4];
  char buf[512], version[32] = "", family[8] = "", recbuf[128] = "";
  snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    char *val = eq ? eq + 1 : NULL;
    if (eq)
      *eq = '\0';
    char *end = NULL;
    if (!strcmp(tok, "size") && val) {
      y.size = strtoull(val, &end, 0);
      if (*end || !y.size) {
        snprintf(err, errcap, "--package: size '%s' is not a byte count",
                 val);
        return -1;
      }
    } else if (!strcmp(tok, "version") && val) {
      snprintf(version, sizeof(version), "%s", val);
      y.version = version;
    } else if (!strcmp(tok, "build") && val) {
      y.build = (uint32_t)strtoul(val, &end, 10);
      if (*end) {
        snprintf(err, errcap, "--package: build '%s' is not a number", val);
        return -1;
      }
    } else if (!strcmp(tok, "family") && val) {
      snprintf(family, sizeof(family), "%s", val);
      y.family = family;
    } else if (!strcmp(tok, "records") && val) {
      snprintf(recbuf, sizeof(recbuf), "%s", val);
      char *s2 = NULL;
      for (char *r = strtok_r(recbuf, "+", &s2); r && y.records_count < 4;
           r = strtok_r(NULL, "+", &s2))
        recs[y.records_count++] = r;
      y.records = recs;
    } else if (!strcmp(tok, "no-pack") && !val) {
      y.no_pack = true;
    } else if (!strcmp(tok, "no-elf") && !val) {
      y.updater_elf = false;
    } else {
      snprintf(err, errcap,
               "--package: unknown item '%s' (want size=, version=, build=, "
               "family=, records=, no-pack, no-elf)",
               tok);
      return -1;
    }
  }
  struct harness_scenario s;
  memset(&s, 0, sizeof(s));
  s.path = (char *)"--package";
  s.profile = profile;
  s.package = &y;
  return harness_pkg_build(&s, p, err, errcap);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast in-process link (see link.h).
 *
 * Overview. The updater and the model on the bridge (bridge.h), as in the
 * scenario runner, with the bridge's hooks for cut points: host bytes
 * split at byte steps, and a stop as soon as the power is cut.
 *
 * Cut points are counted from the model's trace (AT and STP lines), from
 * its persist callback (flash writes) and from the host byte count. The cut
 * itself cannot happen inside the model's callback (the model is mid-call),
 * so the link freezes the persisted flash at the cut event, ignores what
 * the model does for the rest of that call, and stops the run when the
 * call returns: to the flash that is the same as cutting at that instant.
 *
 * The shadow (write-ordering check) runs only while no fault is armed: it
 * follows consumption from BLOCK frames and their acks, which is exact in
 * a fault-free session and guesswork once frames are dropped or corrupted.
 */
#include "link.h"

#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/caba.h"
#include "sqnup/stp.h"
#include "sim/state_file.h"

#define HARNESS_LINK_MAX_STEPS 50000000ull
/* The model invalidates a slot at the first data callback of its record;
 * with other chunking that may come a little later than in our bytewise
 * walk, so "surely overwritten" starts this many bytes further. */
#define HARNESS_LINK_SLACK 256u

const char *harness_cut_kind_name(enum harness_cut_kind k) {
  switch (k) {
#define XX(name, word)                                                        \
  case HARNESS_CUT_##name:                                                    \
    return word;
    HARNESS_CUT_MAP(XX)
#undef XX
  default:
    return "?";
  }
}

const char *harness_mutation_name(enum harness_mutation m) {
  switch (m) {
#define XX(name, word)                                                        \
  case HARNESS_MUTATION_##name:                                               \
    return word;
    HARNESS_MUTATION_MAP(XX)
#undef XX
  default:
    return "?";
  }
}

int harness_mutation_parse(const char *word, enum harness_mutation *out) {
#define XX(name, w)                                                           \
  if (strcmp(word, w) == 0) {                                                 \
    *out = HARNESS_MUTATION_##name;                                           \
    return 0;                                                                 \
  }
  HARNESS_MUTATION_MAP(XX)
#undef XX
  return -1;
}

/* --- package layout -------------------------------------------------------- */

struct harness_walk_ctx {
  struct harness_link *l;
  uint64_t pos; /* stream offset of the byte being fed */
};

static int harness_slot_of_target(uint32_t target) {
  if (target == SQN_CABA_TARGET_UPDATER)
    return HARNESS_SLOT_UPDATER;
  if (target == SQN_CABA_TARGET_FFF)
    return HARNESS_SLOT_FFF;
  return -1;
}

static int harness_walk_cb(void *user, enum sqn_caba_event ev,
                           const struct sqn_caba_record *rec,
                           const uint8_t *data, size_t len) {
  struct harness_walk_ctx *w = user;
  (void)data, (void)len;
  if (!rec->has_target)
    return 0;
  int s = harness_slot_of_target(rec->target);
  if (s < 0)
    return 0;
  struct harness_slot_region *r = &w->l->region[s];
  if (ev == SQN_CABA_EV_DATA && !r->present) {
    r->present = true;
    r->start = w->pos + HARNESS_LINK_SLACK;
  } else if (ev == SQN_CABA_EV_END && r->present) {
    r->end = w->pos + 1;
    if (r->start > r->end)
      r->start = r->end;
    if (rec->image.found) {
      snprintf(r->version, sizeof(r->version), "%u.%u.%u.%u",
               rec->image.v[0], rec->image.v[1], rec->image.v[2],
               rec->image.v[3]);
      r->build = rec->image.build;
    } else {
      snprintf(r->version, sizeof(r->version), "unknown");
      r->build = 0;
    }
  }
  return 0;
}

int harness_link_init(struct harness_link *l, enum sim_profile profile,
                      const struct harness_pkg *pkg) {
  memset(l, 0, sizeof(*l));
  harness_post_init(&l->post, false);
  l->profile = profile;
  l->pkg = pkg;
  /* Bytewise, so that the callback knows the exact stream offset. */
  struct sqn_caba_walker *w = malloc(sizeof(*w));
  if (!w)
    return -1;
  struct harness_walk_ctx wc = {.l = l};
  sqn_caba_walker_init(w, harness_walk_cb, &wc);
  for (size_t i = 0; i < pkg->len && !w->err; i++) {
    wc.pos = i;
    sqn_caba_walker_feed(w, pkg->data + i, 1);
  }
  free(w);
  return 0;
}

void harness_link_free(struct harness_link *l) {
  if (l->m)
    sim_modem_free(l->m);
  l->m = NULL;
  sim_state_release(&l->persisted);
  harness_bridge_free(&l->br);
}

/* --- the shadow ------------------------------------------------------------ */

static void harness_shadow_add(struct harness_slot_shadow *sh,
                               const struct harness_slot_image *img) {
  for (unsigned i = 0; i < sh->n; i++) {
    const struct harness_slot_image *o = &sh->alt[i];
    if (o->torn == img->torn &&
        (img->torn ||
         (o->build == img->build && strcmp(o->version, img->version) == 0)))
      return;
  }
  if (sh->n < HARNESS_SLOT_ALTS)
    sh->alt[sh->n++] = *img;
}

static void harness_shadow_union(struct harness_slot_shadow *dst,
                                 const struct harness_slot_shadow *src) {
  for (unsigned i = 0; i < src->n; i++)
    harness_shadow_add(dst, &src->alt[i]);
}

/* What slot `s` may physically hold after `x` bytes of this session. */
static struct harness_slot_shadow harness_content_at(
    const struct harness_link *l, int s, uint64_t x) {
  const struct harness_slot_region *r = &l->region[s];
  if (!l->sh.otf || !r->present || x <= r->start)
    return l->sh.base[s];
  struct harness_slot_shadow c;
  memset(&c, 0, sizeof(c));
  c.n = 1;
  if (x < r->end) {
    c.alt[0].torn = true;
    return c;
  }
  snprintf(c.alt[0].version, sizeof(c.alt[0].version), "%s", r->version);
  c.alt[0].build = r->build;
  return c;
}

/* Everything the slot may hold at this instant: a BLOCK being processed
 * (pending) may be consumed up to any byte. */
static struct harness_slot_shadow harness_content_now(
    const struct harness_link *l, int s) {
  struct harness_slot_shadow a = harness_content_at(l, s, l->sh.consumed);
  if (l->sh.pending) {
    struct harness_slot_shadow b =
        harness_content_at(l, s, l->sh.consumed + l->sh.pending);
    harness_shadow_union(&a, &b);
  }
  return a;
}

static bool harness_content_matches(const struct harness_slot_shadow *c,
                                    const struct sim_image *img) {
  for (unsigned i = 0; i < c->n; i++)
    if (!c->alt[i].torn && strcmp(c->alt[i].version, img->version) == 0 &&
        c->alt[i].build == img->build)
      return true;
  return false;
}

/* Does the persisted flash describe what the slots hold? false, with the
 * reason in `why`, when it does not. */
static bool harness_shadow_ok(struct harness_link *l, char *why, size_t cap) {
  if (!l->shadow_armed)
    return true;
  static const char *const names[HARNESS_SLOT_N] = {"updater", "fff"};
  const struct sim_image *imgs[HARNESS_SLOT_N] = {&l->persisted.updater,
                                                  &l->persisted.fff};
  for (int s = 0; s < HARNESS_SLOT_N; s++) {
    const struct sim_image *img = imgs[s];
    if (!img->valid)
      continue;
    struct harness_slot_shadow c = harness_content_now(l, s);
    if (harness_content_matches(&c, img))
      continue;
    const struct harness_slot_region *r = &l->region[s];
    const struct harness_slot_image *holds = &c.alt[0];
    for (unsigned i = 0; i < c.n; i++)
      if (!c.alt[i].torn)
        holds = &c.alt[i];
    if (holds->torn)
      snprintf(why, cap,
               "TORN: the flash says the %s slot holds a valid %s [%u], but "
               "it is half overwritten (%llu package bytes consumed, its "
               "record spans %llu..%llu)",
               names[s], img->version, img->build,
               (unsigned long long)l->sh.consumed,
               (unsigned long long)(r->start > HARNESS_LINK_SLACK
                                        ? r->start - HARNESS_LINK_SLACK
                                        : 0),
               (unsigned long long)r->end);
    else
      snprintf(why, cap,
               "TORN: the flash says the %s slot holds a valid %s [%u], but "
               "it holds %s [%u] (%llu package bytes consumed)",
               names[s], img->version, img->build, holds->version,
               holds->build, (unsigned long long)l->sh.consumed);
    return false;
  }
  return true;
}

static void harness_shadow_from_flash(struct harness_link *l,
                                      const struct sim_state *st) {
  const struct sim_image *imgs[HARNESS_SLOT_N] = {&st->updater, &st->fff};
  for (int s = 0; s < HARNESS_SLOT_N; s++) {
    struct harness_slot_shadow *b = &l->sh.base[s];
    memset(b, 0, sizeof(*b));
    b->n = 1;
    b->alt[0].torn = !imgs[s]->valid;
    snprintf(b->alt[0].version, sizeof(b->alt[0].version), "%s",
             imgs[s]->version);
    b->alt[0].build = imgs[s]->build;
  }
  l->sh.otf = false;
  l->sh.consumed = l->sh.pending = 0;
}

/* A session ends (or the power goes): what was written stays written; a
 * BLOCK cut short leaves both "before" and "after" possible. */
static void harness_shadow_settle(struct harness_link *l) {
  if (l->sh.otf)
    for (int s = 0; s < HARNESS_SLOT_N; s++)
      l->sh.base[s] = harness_content_now(l, s);
  l->sh.otf = false;
  l->sh.consumed = l->sh.pending = 0;
}

/* --- events ------------------------------------------------------------------ */

static void harness_link_event(struct harness_link *l,
                               enum harness_cut_kind k) {
  if (l->cut)
    return;
  l->events++;
  l->ev_torn = !harness_shadow_ok(l, l->ev_why, sizeof(l->ev_why));
  if (l->ev_torn && !l->violation[0])
    memcpy(l->violation, l->ev_why, sizeof(l->violation));
  struct harness_cut_event ev = {.index = l->events,
                                 .kind = k,
                                 .t_us = l->br.now_us,
                                 .host_bytes = l->br.host_bytes,
                                 .writes = l->persisted.writes};
  if (l->on_event)
    l->on_event(l->ctx, &ev);
  if (l->cut_at && l->events == l->cut_at) {
    l->cut = true;
    l->cut_ev = ev;
    if (l->narr)
      harness_narrate(l->narr, l->br.now_us,
                      "POWER CUT at cut point %llu (%s)",
                      (unsigned long long)ev.index, harness_cut_kind_name(k));
  }
}

static void harness_link_tx(void *user, const uint8_t *buf, size_t len) {
  struct harness_link *l = user;
  if (l->cut)
    return;
  harness_bridge_to_host(&l->br, buf, len);
}

static void harness_link_trace(void *user, const struct sim_trace_event *ev) {
  struct harness_link *l = user;
  if (l->cut)
    return;
  if (l->narr)
    harness_narrate_sim(l->narr, ev);
  harness_post_event(&l->post, ev);
  switch (ev->kind) {
  case SIM_TRACE_AT_RX:
    harness_link_event(l, HARNESS_CUT_AT_RX);
    break;
  case SIM_TRACE_AT_TX:
    harness_link_event(l, HARNESS_CUT_AT_TX);
    break;
  case SIM_TRACE_STP_RX:
    if (l->sh.otf && ev->ev.type == SIM_EVENT_STP_FRAME &&
        ev->ev.op == SQN_STP_OP_BLOCK)
      l->sh.pending = ev->ev.plen;
    harness_link_event(l, HARNESS_CUT_STP_RX);
    break;
  case SIM_TRACE_STP_TX:
    /* A BLOCK ack's payload is the residue: bytes the modem did not take. */
    if (l->sh.otf && ev->ev.type == SIM_EVENT_STP_FRAME &&
        ev->ev.op == (SQN_STP_OP_BLOCK | SQN_STP_ACK) && l->sh.pending &&
        ev->raw_len >= SQN_STP_HDR_LEN + 2) {
      uint32_t residue = (uint32_t)ev->raw[SQN_STP_HDR_LEN] << 8 |
                         ev->raw[SQN_STP_HDR_LEN + 1];
      l->sh.consumed += residue < l->sh.pending ? l->sh.pending - residue : 0;
      l->sh.pending = 0;
    }
    harness_link_event(l, HARNESS_CUT_STP_TX);
    break;
  default:
    break;
  }
  if (ev->ev.type == SIM_EVENT_STP_OPEN) {
    harness_shadow_settle(l);
    l->sh.otf = strcmp(ev->ev.stp_mode, "ON_THE_FLY") == 0;
  } else if (ev->ev.type == SIM_EVENT_STP_CLOSE) {
    harness_shadow_settle(l);
  }
}

/* The persist filter: what a model with a broken write ordering would have
 * made durable (test hook; see enum harness_mutation). */
static void harness_link_mutate(struct harness_link *l, struct sim_state *st) {
  bool ongoing = strcmp(st->upgrade_status, "on-going") == 0;
  if (!ongoing) {
    l->pre_fff = st->fff;
    return;
  }
  switch (l->mutation) {
  case HARNESS_MUTATION_SKIP_INVALIDATE:
    /* The slot is overwritten while the flash still says it is valid. */
    if (!st->fff.valid && l->pre_fff.valid)
      st->fff = l->pre_fff;
    break;
  case HARNESS_MUTATION_VALID_EARLY:
    /* The new version is declared at the first byte, not the last. */
    if (!st->fff.valid && l->region[HARNESS_SLOT_FFF].present) {
      st->fff.valid = true;
      snprintf(st->fff.version, sizeof(st->fff.version), "%s",
               l->region[HARNESS_SLOT_FFF].version);
      st->fff.build = l->region[HARNESS_SLOT_FFF].build;
    }
    break;
  default:
    break;
  }
}

static void harness_link_persist(void *user, const struct sim_state *st) {
  struct harness_link *l = user;
  if (l->cut)
    return; /* no power: this write never happened */
  sim_state_release(&l->persisted);
  if (sim_state_copy(&l->persisted, st) != 0) {
    l->oom = true;
    return;
  }
  l->persists++;
  if (l->mutation == HARNESS_MUTATION_SKIP_INVALIDATE ||
      l->mutation == HARNESS_MUTATION_VALID_EARLY)
    harness_link_mutate(l, &l->persisted);
  harness_link_event(l, HARNESS_CUT_FLASH);
}

/* --- model life ---------------------------------------------------------- */

static int harness_link_boot_common(struct harness_link *l,
                                    const struct sim_state *st,
                                    bool reset_shadow,
                                    const struct harness_shadow_state *sh) {
  struct sim_state copy;
  memset(&copy, 0, sizeof(copy));
  /* `st` may be l->persisted itself. */
  if (sim_state_copy(&copy, st) != 0)
    return -1;
  if (l->m)
    sim_modem_free(l->m);
  l->m = NULL;
  sim_state_release(&l->persisted);
  l->persisted = copy;
  if (sh) {
    l->sh = *sh;
    harness_shadow_settle(l);
  } else if (reset_shadow) {
    harness_shadow_from_flash(l, &copy);
  } else {
    harness_shadow_settle(l);
  }
  l->pre_fff = copy.fff;
  l->violation[0] = '\0';
  l->ev_torn = false;
  l->shadow_armed = !l->no_shadow;
  l->cut = false;
  harness_bridge_drop_all(&l->br);
  harness_post_power(&l->post);
  struct sim_modem_config mc = {
      .profile = l->profile,
      .state = &copy,
      .time_scale = 1.0,
      .tx = harness_link_tx,
      .persist = harness_link_persist,
      .trace = harness_link_trace,
      .user = l,
      .debug_flags = l->mutation == HARNESS_MUTATION_MODEL_VALID_EARLY
                         ? SIM_DEBUG_MARK_VALID_EARLY
                         : 0u,
  };
  l->m = sim_modem_new(&mc, l->br.now_us);
  l->br.m = l->m;
  if (!l->m)
    return -1;
  harness_link_settle(l, 60ull * 1000000ull);
  return 0;
}

int harness_link_boot(struct harness_link *l, const struct sim_state *st,
                      bool reset_shadow) {
  return harness_link_boot_common(l, st, reset_shadow, NULL);
}

int harness_link_boot_shadow(struct harness_link *l, const struct sim_state *st,
                             const struct harness_shadow_state *sh) {
  return harness_link_boot_common(l, st, false, sh);
}

int harness_link_power_cycle(struct harness_link *l) {
  if (l->narr)
    harness_narrate(l->narr, l->br.now_us,
                    "Harness: the modem powers up again from its flash "
                    "(boot %d, fff %s %s-%u, updater %s, status %s)",
                    (int)l->persisted.boot_select,
                    l->persisted.fff.valid ? "valid" : "INVALID",
                    l->persisted.fff.version, l->persisted.fff.build,
                    l->persisted.updater.valid ? "valid" : "INVALID",
                    l->persisted.upgrade_status);
  /* Power stays off for a second: nothing in the model depends on it, but
   * the transcript reads like the bench. */
  l->br.now_us += 1000000u;
  return harness_link_boot(l, &l->persisted, false);
}

int harness_link_add_fault(struct harness_link *l, const struct sim_fault *f) {
  l->shadow_armed = false;
  return sim_modem_add_fault(l->m, f);
}

void harness_link_settle(struct harness_link *l, uint64_t max_us) {
  harness_bridge_settle(&l->br, max_us);
}

/* --- one run --------------------------------------------------------------- */

static int harness_link_write(void *user, const uint8_t *buf, size_t len) {
  struct harness_link *l = user;
  if (harness_bridge_to_modem(&l->br, buf, len) != 0) {
    l->oom = true;
    return -1;
  }
  return (int)len;
}

static int harness_link_set_baud(void *user, uint32_t baud) {
  struct harness_link *l = user;
  harness_bridge_drop_to_host(&l->br); /* bytes at the old rate are lost */
  sim_modem_set_host_baud(l->m, baud);
  return 0;
}

static int harness_link_read(void *user, enum sqn_update_src src,
                             uint64_t off, uint8_t *buf, size_t len) {
  struct harness_link *l = user;
  const struct harness_pkg *p = l->pkg;
  const uint8_t *d = src == SQN_UPDATE_SRC_PACKAGE ? p->data : p->elf;
  size_t n = src == SQN_UPDATE_SRC_PACKAGE ? p->len : p->elf_len;
  if (!d || off > n || len > n - off)
    return -1;
  memcpy(buf, d + off, len);
  return (int)len;
}

static void harness_link_upd_event(void *user,
                                   const struct sqn_update_event *ev) {
  struct harness_link *l = user;
  if (l->narr && !l->cut)
    harness_narrate_update(l->narr, ev);
}

static bool harness_link_is_cut(void *ctx) {
  return ((struct harness_link *)ctx)->cut;
}

static void harness_link_byte_step(void *ctx) {
  harness_link_event(ctx, HARNESS_CUT_BYTE);
}

int harness_link_run(struct harness_link *l, bool force, bool with_elf,
                     uint64_t bound_us, struct harness_link_outcome *out) {
  memset(out, 0, sizeof(*out));
  struct sqn_update_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.mode = SQN_UPDATE_MODE_UPGRADE;
  cfg.tx_buf = l->tx_buf;
  cfg.tx_cap = sizeof(l->tx_buf);
  cfg.rx_buf = l->rx_buf;
  cfg.rx_cap = sizeof(l->rx_buf);
  cfg.pkg_size = l->pkg->len;
  cfg.updater_size = (with_elf && l->pkg->elf) ? l->pkg->elf_len : 0;
  cfg.force = force;
  cfg.timeout_scale = 1.0;
  cfg.write = harness_link_write;
  cfg.set_baud = harness_link_set_baud;
  cfg.read_pkg = harness_link_read;
  cfg.event = harness_link_upd_event;
  cfg.user = l;
  if (l->checked_data && l->checked_data == l->pkg->data)
    cfg.checked = &l->checked;
  l->events = 0;
  l->cut = false;
  harness_bridge_drop_all(&l->br);
  /* The commands of this run are judged from here (post.h); a modem whose
   * flash already says success may be switched to FFF at once. */
  l->post.start_success =
      strcmp(sim_modem_state(l->m)->upgrade_status, "success") == 0;
  l->post.violation[0] = '\0';
  harness_post_run(&l->post, 1);
  out->start_us = l->br.now_us;
  out->err = 1;
  if (sqn_update_init(&l->u, &cfg) != 0) {
    out->err = SQN_E_BAD_ARGUMENTS;
    out->done = true;
    return 0;
  }
  if (l->narr)
    harness_narrator_set_host(l->narr, "sqn-update");
  sim_modem_set_host_baud(l->m, 921600);
  sqn_update_start(&l->u, l->br.now_us / 1000u);
  if (!cfg.checked && sqn_update_package_checked(&l->u, &l->checked) == 0)
    l->checked_data = l->pkg->data;
  l->br.host = &harness_bridge_sqn_update;
  l->br.h = &l->u;
  l->br.byte_step = l->byte_step;
  l->br.max_steps = HARNESS_LINK_MAX_STEPS;
  l->br.stopped = harness_link_is_cut;
  l->br.on_byte_step = harness_link_byte_step;
  l->br.ctx = l;
  enum harness_bridge_end end = harness_bridge_run(&l->br, bound_us);
  if (end == HARNESS_BRIDGE_OOM)
    l->oom = true;
  out->stuck = end == HARNESS_BRIDGE_STUCK;
  out->past_bound = end == HARNESS_BRIDGE_PAST_BOUND;
  if (l->narr)
    harness_narrate_flush(l->narr);
  out->cut = l->cut;
  out->done = sqn_update_done(&l->u);
  if (out->done)
    out->err = sqn_update_result(&l->u);
  out->end_us = l->br.now_us;
  return l->oom ? -1 : 0;
}

static struct harness_target harness_link_target(const struct harness_link *l) {
  struct harness_target t = {l->pkg->version_text, l->pkg->version.build};
  return t;
}

bool harness_link_runs_package(const struct harness_link *l) {
  struct harness_modem_view v;
  struct harness_target t = harness_link_target(l);
  char why[400];
  harness_view_model(&v, l->m);
  return harness_judge_success(&v, &t, why, sizeof(why)) == HARNESS_INV_NONE;
}

int harness_link_check_flash_json(const struct harness_link *l, char *why,
                                  size_t cap) {
  char *a = sim_state_to_json(&l->persisted);
  if (!a) {
    snprintf(why, cap, "TORN: the persisted flash does not serialise");
    return -1;
  }
  struct sim_state back;
  memset(&back, 0, sizeof(back));
  char err[256];
  int rc = 0;
  if (sim_state_from_json(&back, a, err, sizeof(err)) != 0) {
    snprintf(why, cap, "TORN: the persisted flash does not load back: %s",
             err);
    rc = -1;
    goto out_free_text;
  }
  char *b = sim_state_to_json(&back);
  if (!b || strcmp(a, b) != 0) {
    snprintf(why, cap,
             "TORN: the persisted flash changes through JSON (save, load, "
             "save differ)");
    rc = -1;
  }
  free(b);
  sim_state_release(&back);
out_free_text:
  free(a);
  return rc;
}

/* --- verdicts -------------------------------------------------------------- */

const char *harness_verdict_kind_name(enum harness_verdict_kind k) {
  switch (k) {
#define XX(name, word)                                                        \
  case HARNESS_VK_##name:                                                     \
    return word;
    HARNESS_VERDICT_KIND_MAP(XX)
#undef XX
  default:
    return "?";
  }
}

static const char *harness_link_mode(const struct harness_link *l) {
  struct harness_modem_view v;
  harness_view_model(&v, l->m);
  return harness_view_mode(&v);
}

/* The invariants every run must keep, whatever its result: within its
 * bound, never stuck, the flash describing the slots, success only with
 * the package running. 0, or -1 with j->reason. */
static int harness_link_run_ok(struct harness_link *l,
                               const struct harness_link_outcome *oc,
                               uint64_t bound_us, const char *what,
                               struct harness_judgement *j) {
  char why[400];
  if (harness_judge_bounded(oc->past_bound, oc->stuck, (double)bound_us / 1e6,
                            why, sizeof(why)) != HARNESS_INV_NONE) {
    snprintf(j->reason, sizeof(j->reason),
             "%s: %s (updater in %s, modem in %s)", what, why,
             sqn_update_state_name(l->u.state), harness_link_mode(l));
    return -1;
  }
  if (l->violation[0]) {
    snprintf(j->reason, sizeof(j->reason), "%s (during %s)", l->violation,
             what);
    return -1;
  }
  if (harness_judge_commands(&l->post, why, sizeof(why)) != HARNESS_INV_NONE) {
    snprintf(j->reason, sizeof(j->reason), "%s: %s", what, why);
    return -1;
  }
  if (oc->err == 0) {
    struct harness_modem_view v;
    struct harness_target t = harness_link_target(l);
    harness_link_settle(l, 60ull * 1000000ull);
    harness_view_model(&v, l->m);
    if (harness_judge_success(&v, &t, why, sizeof(why)) != HARNESS_INV_NONE) {
      snprintf(j->reason, sizeof(j->reason), "%s: %s", what, why);
      return -1;
    }
  }
  return 0;
}

int harness_link_judge(struct harness_link *l,
                       const struct harness_link_outcome *oc,
                       uint64_t bound_us, struct harness_judgement *j) {
  memset(j, 0, sizeof(*j));
  j->err = oc->err;
  j->kind = HARNESS_VK_FAILED;
  if (harness_link_run_ok(l, oc, bound_us, "the run", j) != 0)
    return 0;
  if (oc->err == 0) {
    j->kind = HARNESS_VK_RECOVERED;
    return 0;
  }
  enum sqn_next next = sqn_err_next(oc->err);
  if (next != SQN_NEXT_RERUN && next != SQN_NEXT_POWER_CYCLE &&
      next != SQN_NEXT_WAIT) {
    snprintf(j->reason, sizeof(j->reason),
             "wrong error: %s (\"%s\"; remedy: %s) for a valid package of "
             "the modem's family with its updater.elf (modem in %s)",
             sqn_err_name(oc->err), sqn_strerror(oc->err),
             sqn_next_text(next), harness_link_mode(l));
    return 0;
  }
  struct harness_link_outcome r;
  if (next == SQN_NEXT_RERUN) {
    /* As the user would: rerun, faults (the field's conditions) and all. */
    if (harness_link_run(l, false, true, bound_us, &r) != 0)
      return -1;
    if (harness_link_run_ok(l, &r, bound_us, "the rerun", j) != 0)
      return 0;
    if (r.err == 0) {
      j->kind = HARNESS_VK_REPORTED;
      snprintf(j->reason, sizeof(j->reason), "%s, then a rerun succeeded",
               sqn_err_name(oc->err));
      return 0;
    }
  } else if (next == SQN_NEXT_WAIT) {
    harness_link_settle(l, 30ull * 60ull * 1000000ull);
  }
  /* A power cycle clears the faults: what is left is the modem's state. */
  j->power_cycled = true;
  if (harness_link_power_cycle(l) != 0)
    return -1;
  if (harness_link_run(l, false, true, bound_us, &r) != 0)
    return -1;
  j->remedy_err = r.err;
  if (harness_link_run_ok(l, &r, bound_us, "the rerun after a power cycle",
                          j) != 0)
    return 0;
  struct harness_modem_view v;
  struct harness_target t = harness_link_target(l);
  char what[160];
  snprintf(what, sizeof(what), "not rerunnable: after %s (remedy: %s) and a "
           "power cycle", sqn_err_name(oc->err), sqn_next_text(next));
  harness_view_model(&v, l->m);
  if (harness_judge_remedy(what, r.err, &v, &t, j->reason,
                           sizeof(j->reason)) != HARNESS_INV_NONE)
    return 0;
  j->kind = HARNESS_VK_REPORTED;
  snprintf(j->reason, sizeof(j->reason),
           "%s (remedy: %s), then a power-cycled rerun succeeded",
           sqn_err_name(oc->err), sqn_next_text(next));
  return 0;
}

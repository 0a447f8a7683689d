/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast in-process link behind power-cut sweeps and fault campaigns: one
 * modem model and one sqn_update instance joined by two byte queues on a
 * virtual clock, with
 *   - cut points: every AT line in each direction, every STP frame in each
 *     direction, every flash write (the model's persist callback) and, if
 *     asked, every `byte_step` host bytes, numbered 1, 2, ... per run;
 *   - a power cut at cut point N: the flash freezes as last persisted and
 *     the run stops; harness_link_power_cycle() boots a new model from it;
 *   - the write-ordering check (the "shadow"): the link follows which
 *     package bytes the modem consumed and knows what each image slot
 *     physically holds (an old image, the package's image, or a torn mix);
 *     whenever the flash claims a slot valid while it holds a torn image,
 *     or names an image the slot does not hold, the run records a violation;
 *   - a persist filter that simulates broken flash-write orderings (test
 *     hook, see enum harness_mutation) without touching the model.
 *
 * Narration is optional (NULL narrator: nothing is formatted), so a sweep
 * runs quietly and replays a failing point with the transcript on.
 *
 * Objects: harness_link_init() / harness_link_free().
 */
#ifndef HARNESS_LINK_H
#define HARNESS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "narrate.h"
#include "post.h"
#include "pkgbuild.h"
#include "sim/fault.h"
#include "sim/modem.h"
#include "sqnup/update.h"

/* What a cut point is at. XX(NAME, "word") */
#define HARNESS_CUT_MAP(XX)                                                   \
  XX(AT_RX, "at<")    /* the modem received an AT command line */            \
  XX(AT_TX, "at>")    /* the modem sent a reply line */                      \
  XX(STP_RX, "stp<")  /* the modem decoded a request frame */                \
  XX(STP_TX, "stp>")  /* the modem sent a response frame */                  \
  XX(FLASH, "flash")  /* right after a flash write became durable */        \
  XX(BYTE, "byte")    /* after every byte_step host bytes */

enum harness_cut_kind {
#define XX(name, word) HARNESS_CUT_##name,
  HARNESS_CUT_MAP(XX)
#undef XX
  HARNESS_CUT_COUNT
};

const char *harness_cut_kind_name(enum harness_cut_kind k);

/* Broken flash-write orderings (test hook). The first two are simulated by
 * the link's persist filter; model-valid-early sets the model's own
 * SIM_DEBUG_MARK_VALID_EARLY (sim/modem.h) and turns the shadow off, so
 * that only the end-to-end judgement (the modem after the cut, the remedy
 * rerun) can catch it. */
#define HARNESS_MUTATION_MAP(XX)                                              \
  XX(NONE, "none")                                                            \
  XX(SKIP_INVALIDATE, "skip-invalidate") /* slots never marked invalid */    \
  XX(VALID_EARLY, "valid-early")         /* fff marked valid at first byte */ \
  XX(MODEL_VALID_EARLY, "model-valid-early") /* the model itself does it */

enum harness_mutation {
#define XX(name, word) HARNESS_MUTATION_##name,
  HARNESS_MUTATION_MAP(XX)
#undef XX
  HARNESS_MUTATION_COUNT
};

const char *harness_mutation_name(enum harness_mutation m);
int harness_mutation_parse(const char *word, enum harness_mutation *out);

/* A cut-point event, as passed to the recording hook. */
struct harness_cut_event {
  uint64_t index; /* 1-based within the run */
  enum harness_cut_kind kind;
  uint64_t t_us;
  uint64_t host_bytes; /* host -> modem bytes fed so far in this run */
  uint64_t writes;     /* flash writes persisted so far (this model life) */
};

/* What one image slot may physically hold: one image, or a torn mix. */
struct harness_slot_image {
  bool torn;            /* partly overwritten (or unknown at the start) */
  char version[24];     /* the image it holds when !torn */
  uint32_t build;
};

/* What the shadow knows about a slot: the set of contents it may have (a
 * cut inside a BLOCK leaves "before or after this block" open). */
#define HARNESS_SLOT_ALTS 4
struct harness_slot_shadow {
  unsigned n;
  struct harness_slot_image alt[HARNESS_SLOT_ALTS];
};

struct harness_slot_region {
  bool present;
  uint64_t start, end;  /* package bytes: first data byte (+slack), end */
  char version[24];
  uint32_t build;
};

enum harness_slot { HARNESS_SLOT_UPDATER, HARNESS_SLOT_FFF, HARNESS_SLOT_N };

/* The shadow as a value: what the slots hold and how far the current
 * ON_THE_FLY session got. Saved per cut point so a point can restart
 * from its snapshot with the right physical contents. */
struct harness_shadow_state {
  struct harness_slot_shadow base[HARNESS_SLOT_N]; /* before this session */
  bool otf;                     /* an ON_THE_FLY session is running */
  uint64_t consumed;            /* package bytes the modem took */
  uint32_t pending;             /* bytes of the BLOCK being processed */
};

struct harness_link {
  /* configuration (set before harness_link_start) */
  enum sim_profile profile;
  const struct harness_pkg *pkg;
  struct harness_narrator *narr;     /* NULL: quiet */
  enum harness_mutation mutation;
  uint32_t byte_step;                /* 0: no byte cut points */
  bool no_shadow;                    /* never check the write ordering */
  uint64_t cut_at;                   /* cut at this event index; 0: never */
  void (*on_event)(void *ctx, const struct harness_cut_event *ev);
  void *ctx;

  /* read-only state */
  struct sim_modem *m;
  struct sqn_update u;
  struct harness_bridge br;     /* the clock (br.now_us) and the queues */
  uint64_t events;      /* cut-point events in the current run */
  bool cut;             /* the power was cut at cut_at */
  struct harness_cut_event cut_ev;
  struct sim_state persisted;   /* flash as last persisted: survives cuts */
  uint64_t persists;            /* persist callbacks over the link's life */
  struct harness_shadow_state sh;
  char violation[320];          /* first write-ordering violation, or "" */
  struct harness_post post;     /* the host's commands in the current run */
  bool ev_torn;                 /* the last event violated it */
  char ev_why[320];             /* ... and how */
  bool oom;

  /* private */
  uint8_t tx_buf[SQN_UPDATE_TX_GOOD];
  uint8_t rx_buf[SQN_UPDATE_TX_GOOD];
  struct harness_slot_region region[HARNESS_SLOT_N];
  bool shadow_armed;            /* no fault armed: the shadow is exact */
  struct sim_image pre_fff;     /* fff as persisted before the upgrade */
  /* The updater's package check, walked in the first run and handed to
   * the later ones (sqn_update_config.checked): the package does not
   * change within a link. checked_data: the bytes it was found in. */
  struct sqn_update_checked checked;
  const uint8_t *checked_data;
};

/* How a run ended. */
struct harness_link_outcome {
  int err;          /* 0 or SQN_E_*; 1 when the updater never finished */
  bool done;
  bool cut;         /* stopped by the power cut */
  bool past_bound;
  bool stuck;
  uint64_t start_us, end_us;
};

/* Set up the slot regions from the package; 0 or -1 (OOM / bad package). */
int harness_link_init(struct harness_link *l, enum sim_profile profile,
                      const struct harness_pkg *pkg);
void harness_link_free(struct harness_link *l);

/* Power on a new model from `st` at the link's clock and let it boot. The
 * shadow starts from `st` when `reset_shadow` (a fresh modem), else it
 * keeps what the slots physically hold. 0 or -1. */
int harness_link_boot(struct harness_link *l, const struct sim_state *st,
                      bool reset_shadow);
/* Same, restoring the shadow saved with a cut point (snapshot restart). */
int harness_link_boot_shadow(struct harness_link *l, const struct sim_state *st,
                             const struct harness_shadow_state *sh);
/* Power cycle: a new model from the flash as persisted (after a cut: as it
 * was at the cut); faults and volatile state are gone. */
int harness_link_power_cycle(struct harness_link *l);
/* Arm a fault in the current model. 0 or -1. */
int harness_link_add_fault(struct harness_link *l, const struct sim_fault *f);
/* Let the modem finish booting/applying with a silent host (up to
 * `max_us` of virtual time). */
void harness_link_settle(struct harness_link *l, uint64_t max_us);

/* One updater run (fresh instance). Counts events from 1; cuts power at
 * cut_at. Returns 0, or -1 on OOM. */
int harness_link_run(struct harness_link *l, bool force, bool with_elf,
                     uint64_t bound_us, struct harness_link_outcome *out);

/* Does the modem run the package's version in FFF right now? */
bool harness_link_runs_package(const struct harness_link *l);

/* The flash as persisted serialises to JSON and loads back identically.
 * 0, or -1 with the reason in `why`. */
int harness_link_check_flash_json(const struct harness_link *l, char *why,
                                  size_t cap);

/* How a run is judged (docs/sweeps.md). XX(NAME, "word") */
#define HARNESS_VERDICT_KIND_MAP(XX)                                          \
  XX(RECOVERED, "recovered") /* succeeded with the package running */        \
  XX(REPORTED, "reported")   /* right error; its remedy then works */        \
  XX(FAILED, "FAILED")       /* an invariant broke */

enum harness_verdict_kind {
#define XX(name, word) HARNESS_VK_##name,
  HARNESS_VERDICT_KIND_MAP(XX)
#undef XX
};

const char *harness_verdict_kind_name(enum harness_verdict_kind k);

struct harness_judgement {
  enum harness_verdict_kind kind;
  int err;            /* the run's error (0: success) */
  int remedy_err;     /* the remedy run's result */
  bool power_cycled;  /* the remedy needed a power cycle */
  char reason[512];   /* FAILED: why; REPORTED: error and remedy */
};

/*
 * Judge a finished run `oc` on the link and, for an error, apply its remedy
 * (RERUN: rerun as is, then after a power cycle if the faults still bite;
 * POWER_CYCLE: power cycle, rerun; WAIT: let the modem settle 30 virtual
 * minutes, power cycle, rerun). Returns 0 (see j->kind) or -1 on OOM.
 */
int harness_link_judge(struct harness_link *l,
                       const struct harness_link_outcome *oc,
                       uint64_t bound_us, struct harness_judgement *j);

#endif /* HARNESS_LINK_H */

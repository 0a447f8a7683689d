/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario files (fixtures/scenarios/NAME.yaml): what a fault-injection run
 * sets up, runs and expects. Loaded with libcyaml; a malformed file is
 * rejected with "FILE:LINE: reason". The layout is documented with examples
 * in docs/scenarios.md; in short:
 *
 *   name: s01b-smswboot-always-refused      # defaults to the file name
 *   mode: F01                               # faults.md failure mode
 *   id: S01b                                # faults.md scenario id
 *   verdict: report                         # recover | report
 *   summary: "one line shown in the transcript"
 *   story: ["prose lines printed at the top of the narration", ...]
 *   skip: "needs <feature>"                 # reported as SKIP, not PASS
 *   profile: monarch1                       # | gm02s
 *   state: healthy                          # fixtures/states/<name>.json
 *   state_set: {boot: recovery, fff: {valid: false}}   # inline overrides
 *   package: {version: 5.1.1.0, build: 38638, size: 600000, no_pack: false,
 *             corrupt_at: 1234, truncate: 100, missing: false,
 *             updater_elf: true, family: lr5}
 *   bound: 900                              # virtual seconds per run
 *   rerun: succeeds                         # | fails | none
 *   # either one run at top level ...
 *   updater: {kind: in-process, force: false, args: [...]}
 *   faults: [ <sim/fault.h records> ]
 *   expect: {result: error, error: E_..., exit: 3, mode: fff,
 *            version: package, output_contains: [...], never_sent: [...],
 *            no_stp: true}
 *   # ... or several runs against the same modem, in order:
 *   runs:
 *     - {label: ..., power_cycle: false, updater: ..., faults: ..., expect: ...}
 *     - {label: ..., recap: "one line", ...}   # told in one line when
 *     - {label: ..., focus: true, ...}        # another run has focus: true
 *
 * The loaded struct is owned by the caller: harness_scenario_load() /
 * harness_scenario_free().
 */
#ifndef HARNESS_SCENARIO_H
#define HARNESS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/fault.h"
#include "sim/state.h"

#define HARNESS_VERDICT_MAP(XX) \
  XX(RECOVER, "recover")        \
  XX(REPORT, "report")

enum harness_verdict {
#define XX(n, w) HARNESS_VERDICT_##n,
  HARNESS_VERDICT_MAP(XX)
#undef XX
};

#define HARNESS_UPDATER_MAP(XX)     \
  XX(INPROC, "in-process")          \
  XX(PROCESS, "process")            \
  XX(EXTERNAL, "external")

enum harness_updater_kind {
#define XX(n, w) HARNESS_UPDATER_##n,
  HARNESS_UPDATER_MAP(XX)
#undef XX
};

/* What the invariant check does with the end state. */
#define HARNESS_RERUN_MAP(XX) \
  XX(SUCCEEDS, "succeeds")    \
  XX(FAILS, "fails")          \
  XX(NONE, "none")

enum harness_rerun {
#define XX(n, w) HARNESS_RERUN_##n,
  HARNESS_RERUN_MAP(XX)
#undef XX
};

const char *harness_rerun_name(enum harness_rerun r);

/* One image slot of an inline state; `valid` is required. */
struct harness_image_yaml {
  bool valid;
  char *version; /* NULL: keep */
  uint32_t build; /* 0: keep */
  char *ue;       /* NULL: keep */
};

struct harness_state_yaml {
  char *boot; /* ffh | fff | updater | recovery; NULL: keep */
  struct harness_image_yaml *fff, *updater, *bootrom;
  char *upgrade_status;
  char *fail_reason;
};

struct harness_pkg_yaml {
  char *version;     /* "5.1.1.0"; NULL: the family default */
  uint32_t build;    /* 0: the family default */
  char *family;      /* lr5 | lr6 | lr8; NULL: from the version */
  uint64_t size;     /* 0: the minimum */
  bool no_pack;
  uint64_t *corrupt_at; /* flip byte at this offset */
  uint64_t *truncate;   /* cut the file to this many bytes */
  bool missing;         /* hand the updater a path that does not exist */
  bool updater_elf;     /* also build an updater.elf */
  char **records;       /* subset of boot, updater, fff, fs */
  unsigned records_count;
};

struct harness_updater_yaml {
  enum harness_updater_kind kind;
  char *command;        /* external: shell-free argv template, {pty} etc. */
  char **args;          /* extra sqn-update arguments (process) */
  unsigned args_count;
  bool force;
  bool no_updater_elf;  /* do not pass the package's updater.elf */
  double timeout_scale; /* 0: 1 */
};

struct harness_expect_yaml {
  char *result;  /* success | error | any; NULL: from the verdict */
  char *error;   /* named error, e.g. E_ENTER_UPGRADE_REFUSED */
  int *exit;     /* exit status of a process / external host */
  char *mode;    /* off | ffh | ffh-elf | fff | updater | recovery */
  char *version; /* "package", "old" or a literal "5.1.1.0" */
  uint32_t build;
  char **output_contains;
  unsigned output_contains_count;
  char **never_sent; /* AT command prefixes the host must never send */
  unsigned never_sent_count;
  bool no_stp;       /* the host sent no STP frame at all */
};

struct harness_run_yaml {
  char *label;
  char *recap;      /* one-line summary when the run is not the focus */
  bool focus;       /* the run the scenario is about: narrated in full; the
                       other runs (re-establishing an earlier state) are
                       told in one line unless they fail or -v is given */
  bool power_cycle; /* power-cycle the modem before this run */
  struct harness_updater_yaml *updater;
  struct sim_fault *faults;
  unsigned faults_count;
  struct harness_expect_yaml *expect;
  double bound; /* 0: the scenario's */
};

struct harness_scenario {
  char *name;
  char *mode; /* F01..F29 */
  char *id;   /* S01a */
  enum harness_verdict verdict;
  char *summary;
  char **story;
  unsigned story_count;
  char *skip;
  enum sim_profile profile;
  char *state;
  struct harness_state_yaml *state_set;
  struct harness_pkg_yaml *package;
  double bound;          /* virtual seconds per run; 0: 3600 */
  enum harness_rerun rerun;
  bool rerun_force;      /* pass --force to the rerun */
  /* single-run shorthand */
  struct harness_updater_yaml *updater;
  struct sim_fault *faults;
  unsigned faults_count;
  struct harness_expect_yaml *expect;
  /* multi-run form */
  struct harness_run_yaml *runs;
  unsigned runs_count;

  /* filled by the loader, not from YAML */
  char *path;
};

/*
 * Load and check a scenario file. Returns NULL with "FILE:LINE: reason" (or
 * "FILE: reason" when no line is known) in `err` on any problem: a YAML
 * syntax error, an unknown key, a bad value, a missing required field or an
 * inconsistent combination (e.g. `runs` together with a top-level `expect`).
 */
struct harness_scenario *harness_scenario_load(const char *path, char *err,
                                               size_t errcap);
void harness_scenario_free(struct harness_scenario *s);
/* `sqn-scenario run --safe`: refuse what a scenario from a stranger could
 * abuse: a `command:` (or external updater), a named state that is a path,
 * updater arguments naming paths outside the scenario's folder. 0, or -1
 * with FILE:LINE in `err`. */
int harness_scenario_check_safe(const struct harness_scenario *s, char *err,
                                size_t errcap);

/* The effective run list: run i of the scenario, with the single-run
 * shorthand seen as run 0. */
unsigned harness_scenario_run_count(const struct harness_scenario *s);
void harness_scenario_run(const struct harness_scenario *s, unsigned i,
                          struct harness_run_yaml *out);

/*
 * Build the starting flash of the scenario: a named state
 * (<fixtures>/states/<name>.json), or factory when none, with state_set
 * applied. 0, or -1 with a message naming the file.
 */
int harness_scenario_state(const struct harness_scenario *s,
                           const char *fixtures, struct sim_state *out,
                           char *err, size_t errcap);

/* "fff" -> SIM_SMOD_FFF + 1 style: returns the sim_smod value, -1 for
 * "off", -2 for an unknown word. */
int harness_mode_parse(const char *word);
const char *harness_mode_word(int smod);

#endif /* HARNESS_SCENARIO_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The upgrade procedure as a sans-IO state machine.
 *
 * The caller owns the port and the clock. It feeds received bytes with
 * sqn_update_feed(), calls sqn_update_tick() when sqn_update_next_deadline()
 * is reached, and the library asks for bytes to be written, for the port to
 * be reopened at another rate and for package bytes through the callbacks in
 * struct sqn_update_config. The library never blocks, reads no clock,
 * allocates nothing and keeps no globals; several instances can coexist.
 *
 *   start -> DETECT (+++, AT at the configured rate then 115200, AT+SMOD?,
 *            ATI1) -> CHECK (family, downgrade, updater.elf for FFH)
 *     FFF (2)       -> AT+SMSWBOOT=3,1 (fallback 3,0 + AT^RESET) -> SMOD 4
 *     FFH (0)       -> AT+IPR=921600, AT+STP, updater.elf push -> SMOD 1
 *     RECOVERY (4), UPDATER (3), SMOD 1 -> push straight away
 *   PUSH: ATE0, AT+SMSTPU="ON_THE_FLY", STP -> AT+SMUPGRADE? until
 *   success -> AT+SMSWBOOT=1,1 (fallback 1,0 + AT^RESET) -> FFF boot
 *   (+SYSSTART or AT polling) -> ATI1 shows the package version -> DONE.
 *   Two-part packages (faults.md F20; cfg.pkg2_size): part 1 is pushed and
 *   applied, then part 2 right away in the same recovery session: no
 *   AT+SMSWBOOT=1,x, no reboot and no DONE between the parts; the run
 *   ends like a one-part run, verified against part 2's version.
 *   STORE method (SMOD 2 only, package <= 4 MiB): ATE0, AT+SMSTPU, STP into
 *   the modem's file system -> AT+SMUPGRADE (the modem applies the stored
 *   copy, silent, and boots FFF) -> AT+SMUPGRADE? -> ATI1 -> DONE. A
 *   "fail" verdict naming a CRC/checksum/signature means the stored copy
 *   differs from the package: it is sent again once, then E_IMAGE_CRC.
 *
 * Every wait has a bound (struct sqn_update_timeouts, defaults sized for
 * real hardware) multiplied by `timeout_scale`.
 *
 * Threading: none; all calls on one instance must be serialized. Callbacks
 * run synchronously from inside start/feed/tick and must not call back into
 * the same instance (except the read-only getters).
 */
#ifndef SQNUP_UPDATE_H
#define SQNUP_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqnup/at.h"
#include "sqnup/caba.h"
#include "sqnup/err.h"
#include "sqnup/stpm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SQN_UPDATE_NEVER UINT64_MAX
/* Minimum sizes of the caller's buffers. tx_buf holds one STP frame (the
 * block size is capped at tx_cap - 16; 8192 matches the modem's grant). */
#define SQN_UPDATE_TX_MIN 2048u
#define SQN_UPDATE_TX_GOOD 8192u
#define SQN_UPDATE_RX_MIN 64u

/* Coarse phases, for users (progress display, "may I cut power"). */
#define SQN_UPDATE_PHASE_MAP(XX)                                              \
  XX(IDLE, "idle")                                                            \
  XX(CHECK_FILE, "checking the package")                                      \
  XX(DETECT, "detecting the modem")                                           \
  XX(CHECK_MODEM, "checking compatibility")                                   \
  XX(ENTER_RECOVERY, "switching the modem to recovery")                       \
  XX(LOAD_UPDATER, "loading updater.elf")                                     \
  XX(TRANSFER, "transferring the package")                                    \
  XX(APPLY, "modem applying the package")                                     \
  XX(REBOOT, "booting the new firmware")                                      \
  XX(VERIFY, "verifying the version")                                         \
  XX(INFO, "reading modem information")                                       \
  XX(DONE, "done")

enum sqn_update_phase {
#define XX(name, text) SQN_UPDATE_PHASE_##name,
  SQN_UPDATE_PHASE_MAP(XX)
#undef XX
};

/* Fine-grained states (one variable, one switch, one set_state). */
#define SQN_UPDATE_STATE_MAP(XX)                                              \
  XX(IDLE)                                                                    \
  XX(ESC_GUARD)       /* silence before +++ */                                \
  XX(ESC_WAIT)        /* silence after +++ */                                 \
  XX(PROBE)           /* AT probing, rate alternation */                      \
  XX(SMOD)            /* AT+SMOD? */                                          \
  XX(ATI1)            /* ATI1: version and family */                          \
  XX(SHOWVER)         /* AT!="showver" (info) */                              \
  XX(STATUS)          /* AT+SMUPGRADE? (info) */                              \
  XX(SWBOOT3)         /* AT+SMSWBOOT=3,1 */                                   \
  XX(SWBOOT3_PAUSE)   /* wait before the 3,0 fallback */                      \
  XX(SWBOOT30)        /* AT+SMSWBOOT=3,0 */                                   \
  XX(RESET)           /* AT^RESET */                                          \
  XX(REBOOT_WAIT)     /* modem rebooting: wait, then probe */                 \
  XX(IPR)             /* AT+IPR=921600 (FFH) */                               \
  XX(STP_CMD)         /* AT+STP (FFH) */                                      \
  XX(ELF_PUSH)        /* STP: updater.elf */                                  \
  XX(ATE0)            /* ATE0 before SMSTPU */                                \
  XX(SMSTPU)          /* AT+SMSTPU="ON_THE_FLY" */                            \
  XX(PKG_PUSH)        /* STP: the package */                                  \
  XX(STORE_APPLY)     /* AT+SMUPGRADE: apply the stored copy (store) */       \
  XX(UPG_POLL)        /* AT+SMUPGRADE? until success/fail */                  \
  XX(UPG_PAUSE)       /* between status polls */                              \
  XX(SWBOOT1)         /* AT+SMSWBOOT=1,1 */                                   \
  XX(SWBOOT1_PAUSE)   /* wait before the 1,0 fallback */                      \
  XX(SWBOOT10)        /* AT+SMSWBOOT=1,0 */                                   \
  XX(VERIFY_SMOD)     /* AT+SMOD? after the final boot */                     \
  XX(VERIFY_ATI1)     /* ATI1 after the final boot */                         \
  XX(DONE)                                                                    \
  XX(FAILED)

enum sqn_update_state {
#define XX(name) SQN_UPDATE_ST_##name,
  SQN_UPDATE_STATE_MAP(XX)
#undef XX
  SQN_UPDATE_ST_COUNT
};

const char *sqn_update_state_name(enum sqn_update_state s); /* "PROBE" */
const char *sqn_update_phase_name(enum sqn_update_phase p); /* "TRANSFER" */
const char *sqn_update_phase_text(enum sqn_update_phase p);

#define SQN_UPDATE_EV_MAP(XX)                                                 \
  XX(PHASE)     /* phase changed; power_safe says if power may be cut now */  \
  XX(PROGRESS)  /* bytes done/total in the current transfer */                \
  XX(LOG)       /* a line of narration (text, level) */                       \
  XX(INFO)      /* modem information found (text "key=value") */             \
  XX(DONE)      /* the run ended; err is the result */

enum sqn_update_event_kind {
#define XX(name) SQN_UPDATE_EV_##name,
  SQN_UPDATE_EV_MAP(XX)
#undef XX
};
const char *sqn_update_event_name(enum sqn_update_event_kind k);

enum sqn_log_level { SQN_LOG_ERROR, SQN_LOG_WARN, SQN_LOG_INFO, SQN_LOG_DEBUG };

struct sqn_update_event {
  enum sqn_update_event_kind kind;
  uint64_t now_ms;
  enum sqn_update_phase phase;
  enum sqn_update_state state;
  bool power_safe;       /* may power be removed right now */
  uint64_t done, total;  /* PROGRESS: bytes of the current image */
  bool updater;          /* PROGRESS: the image is updater.elf */
  enum sqn_log_level level;
  const char *text;      /* LOG/INFO/DONE text; valid during the call */
  int err;               /* DONE: 0 or SQN_E_* */
};

/* Which file read_pkg reads. */
enum sqn_update_src {
  SQN_UPDATE_SRC_PACKAGE,
  SQN_UPDATE_SRC_UPDATER,
  SQN_UPDATE_SRC_PACKAGE2 /* part 2 of a two-part package (pkg2_size) */
};

enum sqn_update_mode {
  SQN_UPDATE_MODE_UPGRADE, /* the full procedure */
  SQN_UPDATE_MODE_INFO     /* detect and report; never writes to flash */
};

/* How the package reaches the modem (faults.md F13, F23, S26c). */
enum sqn_update_method {
  SQN_UPDATE_METHOD_ON_THE_FLY, /* default: flashed as it streams in */
  SQN_UPDATE_METHOD_STORE       /* stored in the modem's file system, then
                                   AT+SMUPGRADE; application (SMOD 2) only,
                                   at most SQN_UPDATE_STORE_MAX bytes; other
                                   cases fall back to ON_THE_FLY with a
                                   notice */
};
#define SQN_UPDATE_STORE_MAX 4194304u /* the modem's file-system limit */


/*
 * Bounds, in milliseconds before timeout_scale. A zero field takes the
 * default shown (sqn_update_default_timeouts()). Every wait of the run is
 * covered by one of them; none is unbounded.
 *
 * The three waits that may hide a flash commit (commit_ms, boot_ms, and the
 * store method's apply, which uses commit_ms) are 15 minutes: a real NB-IoT
 * commit on SQN3330 takes up to 10 (faults.md F11), and giving up early
 * makes users cut power mid-write. While they run, a LOG event says every
 * 30 s (scaled) how long the wait may still last, and the phase reports
 * power_safe = false. Running out of them is E_COMMIT_TIMEOUT ("do not cut
 * power"), never a power-cycle prompt.
 */
struct sqn_update_timeouts {
  uint32_t probe_ms;        /* 1000: one AT probe */
  uint32_t cmd_ms;          /* 5000: one AT command's final result */
  uint32_t guard_ms;        /* 1100: silence around +++ */
  uint32_t detect_rounds;   /* 5: probing rounds over both rates */
  uint32_t swboot_retry_ms; /* 5000: pause before an SMSWBOOT fallback */
  uint32_t mode_switch_ms;  /* 180000: modem silent after a mode switch
                               (SMSWBOOT=3,x / AT^RESET into recovery; the
                               field saw 120 s, faults.md S03a) */
  uint32_t ack_ms;          /* 120000: one STP response (real: up to 90 s) */
  uint32_t stp_retries;     /* 4: sends of one frame before giving up */
  uint32_t final_reset_ms;  /* 10000: ack of the final STP RESET */
  uint32_t updater_boot_ms; /* 300000: updater.elf start after its push */
  uint32_t commit_ms;       /* 900000: from the end of the push (or the
                               store method's AT+SMUPGRADE) until the modem
                               reports a final status (>= 10 min) */
  uint32_t boot_ms;         /* 900000: first boot of the new firmware after
                               AT+SMSWBOOT=1,x, which may still be
                               committing (S11a: 9 silent minutes) */
  uint32_t sysstart_ms;     /* 12000: wait for +SYSSTART before polling */
  uint32_t poll_ms;         /* 2000: pause between status polls */
  uint32_t max_reboots;     /* 3: unexpected reboots before E_MODEM_UNSTABLE */
};

void sqn_update_default_timeouts(struct sqn_update_timeouts *t);

/* What detection found (read-only, valid after the DETECT phase). */
struct sqn_modem_info {
  bool alive;
  int smod;              /* 0..4, -1 unknown (e.g. ERROR to everything) */
  uint32_t baud;         /* rate the modem answered at */
  bool echo;             /* echo was seen */
  char ue[32];           /* "5.0.0.0c" from ATI1 */
  char lr[40];           /* "LR5.1.1.0-33988" from ATI1 */
  struct sqn_image_version version; /* parsed lr */
  int family;            /* 5, 6, 8; 0 unknown */
  char bootloader[48];   /* showver Bootloader0 */
  uint32_t bootrom_build;/* build in its [brackets], 0 unknown */
  char upgrade_status[96]; /* AT+SMUPGRADE? text after the colon */
};

/* What the pre-flight check found in the package (read-only). */
struct sqn_pkg_info {
  uint64_t size;
  uint32_t records;
  bool has_fff, has_updater, has_bootrom, has_diff;
  struct sqn_image_version fff_version; /* first version text of target 2 */
  int family;                           /* fff_version.v[0], else the one
                                           family of the other records; 0
                                           unknown */
  /* Every image record, not the first: the family, chip and downgrade
   * checks look at all of them. */
  uint32_t fff_records;                 /* records for target 2 */
  uint32_t families;                    /* bit f: some record is LRf */
  struct sqn_image_version fff_min;     /* lowest fff version */
  /* Two-part packages (faults.md F20): the fff record's description says
   * "part N/2" (part 2: "part 2/2 from A.B.C.D [BUILD]", the intermediate
   * version part 1 leaves; sqnup/pkg.h). part 0: an ordinary package. */
  unsigned part, parts;
  struct sqn_image_version part_base;
};

/* What a run's package check found, kept for later runs over the very same
 * files (sqn_update_package_checked(), sqn_update_config.checked). */
struct sqn_update_checked {
  uint64_t pkg_size, pkg2_size; /* the files it was found in */
  struct sqn_pkg_info pkg, part1;
};

struct sqn_update_config {
  enum sqn_update_mode mode;
  /* Caller buffers; lifetime must exceed the instance. */
  uint8_t *tx_buf;            /* >= SQN_UPDATE_TX_MIN; 8192 recommended */
  size_t tx_cap;
  uint8_t *rx_buf;            /* >= SQN_UPDATE_RX_MIN: STP response frames */
  size_t rx_cap;
  /* Sizes of the files read through read_pkg. updater_size 0: none. */
  uint64_t pkg_size;
  uint64_t updater_size;
  /*
   * Two-part packages (faults.md F20, S20). pkg2_size > 0: the package
   * (SRC_PACKAGE) is part 1 and SRC_PACKAGE2 is part 2; both must carry
   * their part tags, the same family, and part 2 must name part 1's fff
   * version as its base (E_PARTS_MISMATCH), all checked before any byte
   * is sent. Part 2 follows part 1 in the same recovery session: no
   * reboot and no DONE in between. Alone, a part 1 is refused
   * (E_PART2_MISSING) unless `force`; forced, the run stops after part 1
   * is applied, without a reboot, with E_PART2_PENDING. A part 2 alone is
   * applied only on a modem whose ATI1 shows its base version; a modem
   * that cannot tell (recovery chain) needs `force` (E_PART1_MISSING).
   */
  uint64_t pkg2_size;
  /* What the caller last saw on this port (sqn-update's journal, keyed by
   * the port's stable id): the firmware family (5, 6, 8) the modem ran,
   * 0 unknown. Used for the chip check where the modem cannot tell
   * (RECOVERY, UPDATER, FFH answer ATI1 with ERROR). */
  int journal_family;
  /* Options. */
  uint32_t baud;              /* first rate to try; 0 = 921600 */
  bool force;                 /* allow family mismatch and downgrade */
  bool skip_if_current;       /* the modem already runs the package's
                                 version and build: DONE with 0 before any
                                 package byte is written (else the reflash
                                 is announced in a LOG event) */
  enum sqn_update_method method; /* 0 = ON_THE_FLY */
  double timeout_scale;       /* multiplies every bound; <= 0 means 1 */
  struct sqn_update_timeouts timeouts; /* zero fields = defaults */
  /*
   * Send bytes to the modem. Must take all `len` bytes (queue them) and
   * return len, or a negative value on a port error (-> SQN_E_IO). Must not
   * block for long: the library has no other way to wait.
   */
  int (*write)(void *user, const uint8_t *buf, size_t len);
  /* Reopen/reconfigure the port at `baud` before returning; bytes received
   * at the old rate may be discarded. 0 or negative (-> SQN_E_PORT;
   * SQN_E_PORT_BUSY is passed on as it is: another program has the port). */
  int (*set_baud)(void *user, uint32_t baud);
  /* Read `len` bytes of `src` at `offset` into `buf` (an MCU reads flash).
   * Returns len, or negative / short on error (-> SQN_E_IMAGE_NOT_FOUND). */
  int (*read_pkg)(void *user, enum sqn_update_src src, uint64_t offset,
                  uint8_t *buf, size_t len);
  /* Events; may be NULL. `ev` is valid during the call only. */
  void (*event)(void *user, const struct sqn_update_event *ev);
  void *user;
  /*
   * Optional: the package check of an earlier run over the very same files
   * (sqn_update_package_checked()). When its sizes match, the walk over the
   * package is skipped and what it found is taken as it is; every check on
   * those findings still runs. NULL: walk. For callers that run one package
   * again and again (power-cut sweeps); the bytes must not have changed.
   */
  const struct sqn_update_checked *checked;
};

/*
 * The instance. Caller-allocated (about 3.5 KiB, a third of it the CABA
 * walker of the pre-flight check); do not modify members directly.
 */
struct sqn_update {
  /* read-only */
  enum sqn_update_state state;
  enum sqn_update_phase phase;
  int result;                 /* 0 while running / on success */
  bool done;
  bool wrote;                 /* any byte was sent to the modem */
  bool stp_sent;              /* any STP byte was sent */
  struct sqn_modem_info modem;
  struct sqn_pkg_info pkg;    /* the package the run ends on: part 2 when
                                 two are given */
  struct sqn_pkg_info part1;  /* part 1 when two packages are given */
  uint32_t reboots;           /* unexpected reboots seen */
  uint32_t tx_at_lines;       /* AT commands sent */
  char last_cmd[48];          /* last AT command sent (for diagnostics) */
  char detail[256];           /* context of the result (record, offset...) */
  /* private */
  struct sqn_update_config cfg;
  struct sqn_update_timeouts t;
  uint64_t now;
  uint64_t deadline;          /* state timer */
  uint64_t phase_deadline;    /* bound of the current wait as a whole */
  uint64_t last_rx;           /* last time a byte arrived (guard time) */
  uint32_t cur_baud;
  uint32_t alt_baud;
  uint32_t attempts;          /* rate switches while probing */
  uint32_t probes;            /* probes at the current rate */
  uint32_t rounds;            /* ERROR answers to AT probes */
  uint32_t tries;             /* SMSWBOOT / verify retries */
  uint32_t stale;             /* final results without the answer the
                                 command asked for (late replies) */
  int probe_purpose;          /* what PROBE leads to (see update.c) */
  int probe_err;              /* error when PROBE's phase bound expires */
  bool noise;                 /* non-AT bytes seen while probing */
  bool elf_loaded;            /* updater.elf pushed in this run */
  bool pushed;                /* package pushed in this run */
  bool selected_fff;          /* SMSWBOOT=1,x answered OK */
  uint32_t push_attempts;
  bool commit_lost;           /* modem went away after the push */
  bool in_stp;                /* bytes go to the STP master */
  bool stp_crashed;           /* ^EXIT / +SYSSTART seen inside STP */
  uint8_t stp_tail[10];       /* last bytes of the STP stream (markers) */
  uint8_t stp_tail_len;
  bool exit_seen;             /* ^EXIT seen, +SYSSTART expected */
  uint64_t progress_at;       /* next "still waiting" message (long waits) */
  enum sqn_update_method method; /* in use (may fall back to ON_THE_FLY) */
  uint32_t crc_retries;       /* store: pushes again after a CRC verdict */
  uint8_t ppp_flags;          /* 0x7E bytes seen while first probing */
  uint8_t cur_part;           /* two parts: 1 while part 1 is pushed and
                                 applied, 2 after; 0 for one package */
  bool walked;                /* the package walk passed: pkg, part1 hold */
  struct sqn_at_client at;
  struct sqn_stpm stpm;
  struct sqn_caba_walker walker;
};

/*
 * Validate `cfg` and reset `u`. Returns 0, or SQN_E_BAD_ARGUMENTS (NULL
 * pointers, buffers too small, missing callbacks). No callback is called.
 */
int sqn_update_init(struct sqn_update *u, const struct sqn_update_config *cfg);

/*
 * Run the pre-flight package check (upgrade mode: size >= 128, CABA walk
 * with signatures, version and family; updater.elf magic) and begin
 * detection. Nothing is written to the modem when the check fails. Returns
 * 0 when the run started, or the error (the run is then done with it, and a
 * DONE event was sent).
 */
int sqn_update_start(struct sqn_update *u, uint64_t now_ms);

/* Bytes received from the modem at `now_ms`. */
void sqn_update_feed(struct sqn_update *u, uint64_t now_ms, const uint8_t *buf,
                     size_t len);
/* Advance time; call at or after sqn_update_next_deadline(). */
void sqn_update_tick(struct sqn_update *u, uint64_t now_ms);
/* Absolute time (ms) of the next tick needed, or SQN_UPDATE_NEVER. */
uint64_t sqn_update_next_deadline(const struct sqn_update *u);
/* Stop now (user abort): tries an STP RESET if a session is open. */
void sqn_update_abort(struct sqn_update *u, uint64_t now_ms);

bool sqn_update_done(const struct sqn_update *u);
/* 0 on a verified upgrade (or completed info), else SQN_E_*. */
int sqn_update_result(const struct sqn_update *u);
/* Is it safe to remove power from the modem right now? */
bool sqn_update_power_safe(const struct sqn_update *u);
/* Once the run's package walk has passed: what it found, for the `checked`
 * of later runs over the same files (0), else SQN_E_STATE. */
int sqn_update_package_checked(const struct sqn_update *u,
                               struct sqn_update_checked *out);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_UPDATE_H */

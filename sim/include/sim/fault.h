/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection for the emulated modem (faults.md section 2).
 *
 * A fault is one record: a trigger (when) and an action (what the modem then
 * does wrong). Records are plain data, composable (several may fire on the
 * same event, in the order they were added) and loadable from YAML, so
 * scenario files describe faults without code:
 *
 *   - name: s01a
 *     when: at            # trigger kind, see SIM_FAULT_TRIGGER_MAP
 *     match: "AT+SMSWBOOT=3,*"
 *     first: 1            # 1st matching occurrence ...
 *     last: 1             # ... up to this one; 0 = every time from `first`
 *     do: error           # action kind, see SIM_FAULT_ACTION_MAP
 *
 * Matching counts occurrences of the trigger, 1-based. `first` 0 is taken
 * as 1; `last` 0 means "and every later occurrence"; otherwise the fault
 * fires for occurrences first..last inclusive.
 *
 * Every duration (`delay_us`, `after_us`) is modem time: it is multiplied by
 * the modem's time_scale like every other modem delay.
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Triggers. XX(NAME, "yaml word", meaning)
 *  AT         a command line matching `match` arrives (case-insensitive; a
 *             pattern with '*' or '?' is a glob over the whole line, without
 *             them it is a prefix).
 *  STP_FRAME  the Nth decoded STP request frame of the session (N counts
 *             from 1 at the session's first frame).
 *  STP_OP     a request frame whose op is `op` (occurrences counted per op).
 *  STP_OFFSET a BLOCK whose data covers package byte `offset` (absolute).
 *  STP_PERCENT a BLOCK whose data covers `percent` % of `size` bytes (or of
 *             the first top-level record's length when `size` is 0; that is
 *             the whole package when it is PACK-wrapped).
 *  MODE       the modem finishes booting into `mode` (0 = any).
 *  ELAPSED    `after_us` of modem time have passed since the modem finished
 *             booting into `mode` (0 = any) in this power session.
 *  POWER_ON   the boot that follows the Nth power-on (counting the first)
 *             completes; fires before MODE faults, so ECHO_ON, DATA_MODE,
 *             SILENT and GARBLE describe "the modem comes up like this".
 */
#define SIM_FAULT_TRIGGER_MAP(XX)                                        \
  XX(AT, "at")                                                          \
  XX(STP_FRAME, "stp-frame")                                            \
  XX(STP_OP, "stp-op")                                                  \
  XX(STP_OFFSET, "stp-offset")                                          \
  XX(STP_PERCENT, "stp-percent")                                        \
  XX(MODE, "mode")                                                      \
  XX(ELAPSED, "elapsed")                                                \
  XX(POWER_ON, "power-on")

enum sim_fault_trigger {
#define XX(name, word) SIM_FAULT_ON_##name,
  SIM_FAULT_TRIGGER_MAP(XX)
#undef XX
  SIM_FAULT_ON_COUNT
};

/*
 * Actions. Which fields they use:
 *  ERROR        answer ERROR instead of executing the command (AT).
 *  REPLY        answer `text` (lines separated by '\n', framed in the mode's
 *               reply style) instead of executing the command; no final
 *               result is added, put "OK" in `text` if wanted (AT).
 *  NO_REPLY     execute nothing, answer nothing (AT); do not answer the
 *               frame (STP).
 *  DELAY        execute normally, send the answer `delay_us` later (AT, STP).
 *  SPLIT        send the answer in `count` chunks `delay_us` apart (AT, STP).
 *  URC          send the line `text` (reply style framed) before the answer;
 *               with non-AT triggers, send it right away.
 *  CRASH        print `text` (default "^EXIT: exception: 7"), lose volatile
 *               state (STP session, CFUN, echo), reboot after `delay_us`
 *               into boot_select.
 *  CORRUPT_MAGIC / _HCRC / _PCRC / _OP / _SID / _TID
 *               flip bits in that field of the STP response (STP).
 *  RESIDUE      answer the BLOCK with residue `count` (clamped to the block
 *               length); the model treats those bytes as not consumed.
 *  NACK         answer op | 0x40 instead of op | 0x80 and ignore the frame.
 *  DROP         do not answer this and the next `count`-1 frames; they are
 *               not processed either (count 0 = 1).
 *  GARBLE       garble every output byte from now on as at a wrong baud,
 *               until the next power cycle.
 *  SILENT       send nothing and ignore all input for `delay_us` (0 = until
 *               the next power cut).
 *  POWER_CUT    power cut now (volatile lost, flash as last persisted); the
 *               modem powers on again after `delay_us` (0 = stays off until
 *               sim_modem_power_on).
 *  REBOOT       "+SHUTDOWN"-less reboot into boot_select: volatile state
 *               is lost now, the boot starts after `delay_us` (a long
 *               silent flash commit followed by +SYSSTART, S11a).
 *  ECHO_ON      switch echo on (at boot with MODE / POWER_ON triggers).
 *  NUL          answer with `count` NUL bytes instead of the reply
 *               (count 0 = 1).
 *  DATA_MODE    enter data mode: input is ignored except "+++" with guard
 *               times, which answers OK and returns to command mode; with
 *               `count` non-zero "+++" is ignored too (S09b).
 *  FAIL_UPGRADE the running upgrade fails with reason `text` (e.g. a
 *               "failure[diffUpgrade,239] Patch didn't apply!" verdict).
 *  FLIP_STORE   flip one bit of fs_store at byte `count` % len (F23).
 *  DATA_MODE_STUCK
 *               DATA_MODE whose "+++" is ignored, whatever `count` says:
 *               only a power cycle brings command mode back (S09b).
 *  QUIET_BOOT   the next `count` boots (0 = 1), whatever starts them
 *               (AT^RESET, AT+SMSWBOOT=m,1, AT+CFUN=n,1, an upgrade
 *               apply, a REBOOT or CRASH fault, a power-on), print neither
 *               "+SHUTDOWN" nor "+SYSSTART"; the modem then answers AT as
 *               usual (S11b). Fired by an AT trigger it covers the reset
 *               that very command causes.
 *  UART_RESET   the next successful upgrade verdict resets the UART
 *               configuration in flash (state `uart_baud`): from the boot
 *               after it, FFF / UPDATER / RECOVERY come up at `count` baud
 *               (0 = 115200) instead of the profile's rate, until AT+IPR
 *               in one of those modes stores a new rate (S22, F22).
 */
#define SIM_FAULT_ACTION_MAP(XX)                                         \
  XX(ERROR, "error")                                                    \
  XX(REPLY, "reply")                                                    \
  XX(NO_REPLY, "no-reply")                                              \
  XX(DELAY, "delay")                                                    \
  XX(SPLIT, "split")                                                    \
  XX(URC, "urc")                                                        \
  XX(CRASH, "crash")                                                    \
  XX(CORRUPT_MAGIC, "corrupt-magic")                                    \
  XX(CORRUPT_HCRC, "corrupt-hcrc")                                      \
  XX(CORRUPT_PCRC, "corrupt-pcrc")                                      \
  XX(CORRUPT_OP, "corrupt-op")                                          \
  XX(CORRUPT_SID, "corrupt-sid")                                        \
  XX(CORRUPT_TID, "corrupt-tid")                                        \
  XX(RESIDUE, "residue")                                                \
  XX(NACK, "nack")                                                      \
  XX(DROP, "drop")                                                      \
  XX(GARBLE, "garble")                                                  \
  XX(SILENT, "silent")                                                  \
  XX(POWER_CUT, "power-cut")                                            \
  XX(REBOOT, "reboot")                                                  \
  XX(ECHO_ON, "echo-on")                                                \
  XX(NUL, "nul")                                                        \
  XX(DATA_MODE, "data-mode")                                            \
  XX(FAIL_UPGRADE, "fail-upgrade")                                      \
  XX(FLIP_STORE, "flip-store")                                          \
  XX(DATA_MODE_STUCK, "data-mode-stuck")                                \
  XX(QUIET_BOOT, "quiet-boot")                                          \
  XX(UART_RESET, "uart-reset")

enum sim_fault_action {
#define XX(name, word) SIM_FAULT_DO_##name,
  SIM_FAULT_ACTION_MAP(XX)
#undef XX
  SIM_FAULT_DO_COUNT
};

const char *sim_fault_trigger_name(enum sim_fault_trigger t); /* "at" */
const char *sim_fault_action_name(enum sim_fault_action a);   /* "error" */

/* Mode filter of MODE / ELAPSED triggers: enum sim_smod + 1, so that a
 * zero-initialised fault means "any mode". */
enum sim_fault_mode {
  SIM_FAULT_MODE_ANY = 0,
  SIM_FAULT_MODE_FFH = 1,
  SIM_FAULT_MODE_FFH_ELF = 2,
  SIM_FAULT_MODE_FFF = 3,
  SIM_FAULT_MODE_UPDATER = 4,
  SIM_FAULT_MODE_RECOVERY = 5
};

#define SIM_FAULT_NAME_MAX 32
#define SIM_FAULT_MATCH_MAX 64
#define SIM_FAULT_TEXT_MAX 160

/* Limits checked at load (sim_fault_check): a fault file cannot make the
 * emulator wait past overflow, allocate without bound or spin. */
#define SIM_FAULT_TIME_MAX_US (7ull * 24 * 3600 * 1000000) /* delay, after */
#define SIM_FAULT_OFFSET_MAX (1ull << 32)                  /* offset, size */
#define SIM_FAULT_NUL_MAX 4096u    /* NUL: bytes sent (per event) */
#define SIM_FAULT_SPLIT_MAX 1024u  /* SPLIT: chunks */
#define SIM_FAULT_COUNT_MAX (4u * 1024u * 1024u) /* any other count */
#define SIM_FAULT_FILE_MAX (1024u * 1024u)       /* fault file bytes */

/* One fault. Zero-initialise, then set what the trigger/action needs. */
struct sim_fault {
  char name[SIM_FAULT_NAME_MAX];   /* shown in FAULT trace events */
  enum sim_fault_trigger when;
  char match[SIM_FAULT_MATCH_MAX]; /* AT: prefix or glob */
  uint32_t first;                  /* 1-based occurrence (0 = 1) */
  uint32_t last;                   /* 0 = every occurrence from `first` */
  int32_t op;                      /* STP_OP */
  enum sim_fault_mode mode;        /* MODE / ELAPSED */
  uint64_t offset;                 /* STP_OFFSET */
  double percent;                  /* STP_PERCENT */
  uint64_t size;                   /* STP_PERCENT: package size, 0 = auto */
  uint64_t after_us;               /* ELAPSED */
  enum sim_fault_action action;
  char text[SIM_FAULT_TEXT_MAX];   /* REPLY, URC, CRASH, FAIL_UPGRADE */
  uint64_t delay_us;               /* DELAY, SPLIT gap, CRASH, POWER_CUT */
  uint32_t count;                  /* SPLIT, RESIDUE, DROP, NUL, FLIP_STORE,
                                      DATA_MODE, QUIET_BOOT, UART_RESET */
};

/* Check one fault for consistency; 0, or -1 with a message in `err`. */
int sim_fault_check(const struct sim_fault *f, char *err, size_t errcap);

/* Whether the AT line `line` matches a fault's `match` pattern: a
 * case-insensitive prefix, or a glob ('*' any run, '?' one character)
 * over the whole line when the pattern has either. Used by the model and
 * by the proxy, so that one fault file means the same in both. */
bool sim_fault_at_match(const char *pat, const char *line);
/* The same, with the YAML key the problem is about in *bad_key (NULL when
 * it is about the fault as a whole), for FILE:LINE in messages. */
int sim_fault_check_ex(const struct sim_fault *f, const char **bad_key,
                       char *err, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif /* SIM_FAULT_H */

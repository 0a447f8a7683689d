/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the modem model, shared by modem.c (power, boot, timers,
 * output, line, faults), at.c (AT layer) and upgrade.c (STP slave and
 * upgrade engine). Not installed.
 *
 * struct sim_modem is the configuration, the flash (st), the clock (now),
 * the output queue, and one part per concern; each part is written by its
 * owner and read by the others:
 *
 *   pwr  struct sim_power_part    modem.c   power, smod, boot target and
 *                                           timers, power-ons, store apply
 *   at   struct sim_at_part       at.c      link, echo, line assembly, data
 *                                           mode escape, UART and host rates
 *   stp  struct sim_stp_part      upgrade.c STP decoder, session, block
 *                                           dedup, counters, stream offsets
 *   upg  struct sim_upgrade_part  upgrade.c the upgrade run, store copy, ELF,
 *                                           images as last committed
 *   flt  struct sim_fault_part    modem.c   faults, pending fault effects,
 *                                           silence and garbling
 *
 * Separate state variables, one per concern (style rule 3), each changed
 * only by its setter, which traces old -> new (cfg.trace_transitions):
 *   power  OFF -> BOOTING -> ON ; ON -> APPLYING -> BOOTING   sim_set_power
 *   link   AT <-> STP ; AT <-> DATA                          sim_set_link
 *   smod   the running mode while ON                          sim_set_smod
 *
 * Files (the state file, fault YAML, traces) are not the model's: they are
 * in sim_files (sim/src/files), so sim_model needs only the codec.
 */
#ifndef SIM_MODEM_INTERNAL_H
#define SIM_MODEM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/fault.h"
#include "sim/modem.h"
#include "sim/state.h"
#include "sqnup/caba.h"
#include "sqnup/stp.h"

#define SIM_FAULTS_MAX 64
#define SIM_AT_LINE_MAX 1024
#define SIM_STP_MTS_APP 8192u
#define SIM_STP_MTS_FFH 2048u
#define SIM_US 1000000ull
/* Replies held back for later (DELAY, SPLIT) at most: beyond, lost. */
#define SIM_OUTQ_MAX 1024u

#define SIM_POWER_MAP(XX) XX(OFF) XX(BOOTING) XX(ON) XX(APPLYING)
enum sim_power {
#define XX(n) SIM_PWR_##n,
  SIM_POWER_MAP(XX)
#undef XX
};

#define SIM_LINK_MAP(XX) XX(AT) XX(STP) XX(DATA)
enum sim_link {
#define XX(n) SIM_LINK_##n,
  SIM_LINK_MAP(XX)
#undef XX
};

/* What an STP session's data becomes. */
#define SIM_STP_KIND_MAP(XX) XX(OTF) XX(STORE) XX(ELF)
enum sim_stp_kind {
#define XX(n) SIM_STP_##n,
  SIM_STP_KIND_MAP(XX)
#undef XX
};

/* Slots the upgrade engine writes. */
enum sim_slot { SIM_SLOT_BOOT = 0, SIM_SLOT_UPDATER, SIM_SLOT_FFF, SIM_SLOT_N };

struct sim_fault_rt {
  struct sim_fault f;
  uint32_t seen;       /* occurrences of the trigger so far */
  uint64_t elapsed_at; /* ELAPSED: armed deadline, SIM_NEVER when not */
};

/* Effects that faults put on one event (an AT line or an STP frame). */
enum sim_fx_reply { SIM_FX_NORMAL, SIM_FX_ERROR, SIM_FX_TEXT, SIM_FX_NOTHING,
                    SIM_FX_NUL };
struct sim_fx {
  enum sim_fx_reply reply;
  const char *text;
  uint32_t nul;
  uint64_t delay_us;     /* scaled */
  uint32_t split;
  uint64_t gap_us;       /* scaled */
  const char *urc[4];
  int nurc;
  unsigned corrupt;      /* bit per SIM_FAULT_DO_CORRUPT_* - CORRUPT_MAGIC */
  bool residue;
  uint32_t residue_n;
  bool nack;
  uint32_t drop;
  bool stop;             /* the modem went away (crash, cut, reboot, silent) */
};

struct sim_outq_item {
  uint64_t due;
  size_t len;
  uint8_t *data;
};

struct sim_upgrade {
  struct sqn_caba_walker walker;
  bool dry;              /* validate only (store apply pre-check) */
  bool started;          /* first data byte seen */
  bool marked[SIM_SLOT_N];
  bool staged[SIM_SLOT_N];
  struct sqn_image_version version[SIM_SLOT_N];
  uint64_t first_len;    /* first top-level record length (percent faults) */
  bool forced_fail;
  char forced_reason[SIM_FAULT_TEXT_MAX];
  unsigned part;         /* F20: the fff record's "part N/2" tag, 0 none */
  bool part_seen;        /* the fff record's tag was read */
};

/* ---- the parts of the modem's state --------------------------------------
 *
 * Each part has one owner that writes it; others read it. The mode, power
 * and link variables change only through their setters (below), which log
 * old -> new.
 */

/* Power and boot (modem.c): the power state, the running mode and the
 * timers that move them; what a power session remembers. */
struct sim_power_part {
  enum sim_power power;        /* sim_set_power */
  enum sim_smod smod;          /* sim_set_smod */
  enum sim_smod boot_target;
  uint64_t boot_done_at;
  uint64_t power_on_at;  /* OFF: scheduled power-on, or SIM_NEVER */
  uint64_t reboot_at;    /* ON/OFF gap before a fault reboot, or SIM_NEVER */
  bool boot_from_power_on;
  uint32_t power_ons;
  uint64_t apply_done_at; /* APPLYING: when the store apply ends */
  bool apply_ok;
  char apply_reason[160];
  uint64_t mode_since;
  bool elf_loaded;       /* FFH: an ELF was received into RAM */
  /* F20: part 1 of a two-part package was applied in this power session.
   * Survives resets (AT^RESET, SMSWBOOT=m,1), not a power cut: with
   * st.part2_pending set, an FFF boot without it hangs silently. */
  bool part1_live;
};

/* The AT server (at.c, and modem.c's data-mode escape): the link the UART
 * bytes go to, line assembly, data mode, and the UART line's rates. */
struct sim_at_part {
  enum sim_link link;          /* sim_set_link */
  bool echo;
  int cfun;
  char line[SIM_AT_LINE_MAX + 1];
  size_t line_len;
  bool line_overflow;
  bool last_cr;
  /* data mode */
  bool escape_disabled;
  uint64_t last_rx;
  uint64_t last_ppp; /* when the last PPP frame was sent in data mode */
  int plus_count;
  uint64_t plus_last;
  /* The modem's UART rate (0: not running), set at boot and by AT+IPR. */
  uint32_t uart_baud;
  /* The host's UART (section 7): rates it receives (in) and sends (out) at,
   * 0 where the shell could not read one. host_line: a rate was given; until
   * then there is no line to model (in-process hosts) and nothing garbles. */
  bool host_line;
  bool host_initial; /* only the first rate was given so far */
  uint32_t host_in;
  uint32_t host_out;
};

/* The STP slave (upgrade.c): decoder, session, and stream accounting. */
struct sim_stp_part {
  enum sim_stp_kind kind;
  struct sqn_stp_decoder dec;
  uint8_t *buf;
  bool session;
  uint16_t mts;
  uint16_t announced;
  bool have_block;       /* last BLOCK for duplicate detection */
  uint32_t last_block_tid;
  uint16_t last_block_len;
  uint16_t last_residue;
  uint32_t frames;
  uint32_t drop_left;
  uint64_t pkg_off;      /* package bytes consumed this session */
  bool skip_lf;
  /* Where a session ended inside one feed: every byte given to the decoder
   * is accounted for once, as part of a delivered frame or of a drop
   * (stp.h), so when the frame that ends the session is delivered the
   * accounted total is the stream offset of its last byte + 1. */
  uint64_t fed;          /* bytes given to the decoder since sim_stp_begin */
  uint64_t acct;         /* bytes delivered in frames or dropped */
  uint64_t end_pos;      /* acct when the session ended, or SIM_NEVER */
};

/* The upgrade engine (upgrade.c): the run in progress, the store copy,
 * the ELF, and the images as last committed to flash (modem.c's
 * sim_flash_commit names the slot a commit changed from them). */
struct sim_upgrade_part {
  struct sim_upgrade run;  /* cleared at each session */
  uint8_t *store;        /* the copy being received (no store_io) */
  size_t store_len, store_cap;
  bool store_overflow;
  bool store_io_err;     /* store_io failed during this session */
  uint8_t elf_head[4];
  uint64_t elf_len;
  struct sim_image committed[3]; /* fff, updater, bootrom */
};

/* The fault runtime (modem.c): the faults and the effects they leave for
 * later events. Not modem RAM: pending effects survive resets and power
 * cuts until used; silence and garbling end with their own timer or a
 * boot / power cut. */
struct sim_fault_part {
  struct sim_fault_rt faults[SIM_FAULTS_MAX];
  size_t nfaults;
  uint32_t quiet_boots;      /* QUIET_BOOT: boots left without URCs */
  uint32_t uart_reset_armed; /* UART_RESET: rate the next success sets */
  bool garble_fault;         /* GARBLE: every byte out is garbage */
  bool silent;               /* SILENT: nothing in, nothing out */
  uint64_t silent_until;     /* SIM_NEVER = until power cut */
};

struct sim_modem {
  struct sim_modem_config cfg;
  struct sim_state st; /* flash as last persisted */
  uint64_t now;

  struct sim_power_part pwr;
  struct sim_at_part at;
  struct sim_stp_part stp;
  struct sim_upgrade_part upg;
  struct sim_fault_part flt;

  /* output queue (delayed / split replies), modem.c */
  struct sim_outq_item *q;
  size_t qlen, qcap;
  uint64_t q_last_due;
};

/* modem.c */
/* The setters: every change of power, smod and link goes through one of
 * these; each traces old -> new (cfg.trace_transitions) when the value
 * changes. `why` says what moved it. */
void sim_set_power(struct sim_modem *m, enum sim_power p, const char *why);
void sim_set_smod(struct sim_modem *m, enum sim_smod s, const char *why);
void sim_set_link(struct sim_modem *m, enum sim_link l, const char *why);
const char *sim_power_name(enum sim_power p);
const char *sim_link_name(enum sim_link l);
void sim_trace(struct sim_modem *m, enum sim_trace_kind k, const void *raw,
               size_t raw_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same with typed content `e` (AT lines and STP frames are typed by
 * sim_trace itself). */
void sim_trace_ev(struct sim_modem *m, enum sim_trace_kind k,
                  const struct sim_event *e, const void *raw, size_t raw_len,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
uint64_t sim_scaled(const struct sim_modem *m, uint64_t us);
void sim_flash_commit(struct sim_modem *m, const char *what);
/* Send bytes now or after `delay_us` (already scaled); shaped by the line. */
void sim_out(struct sim_modem *m, const void *buf, size_t len,
             uint64_t delay_us);
void sim_out_fx(struct sim_modem *m, const uint8_t *buf, size_t len,
                const struct sim_fx *fx);
bool sim_mode_app_style(const struct sim_modem *m);
void sim_boot_start(struct sim_modem *m, const char *why);
void sim_boot_into(struct sim_modem *m, enum sim_smod target,
                   const char *why);
void sim_modem_do_power_cut(struct sim_modem *m, const char *why);
/* The rate a mode runs at (configured), and the profile's default. */
uint32_t sim_mode_baud(const struct sim_modem *m, enum sim_smod s);
/* Trace the line (both ends' rates, clean or garbled) after `why` ("boot",
 * "AT+IPR"; NULL: the host) changed one of them; nothing while no host rate
 * was given. */
void sim_line_trace(struct sim_modem *m, const char *why);
uint32_t sim_profile_baud(const struct sim_modem *m, enum sim_smod s);
const char *sim_smod_name(enum sim_smod s);
void sim_set_status(struct sim_modem *m, const char *status,
                    const char *reason);
/* Fire the faults of one trigger kind for an event; `ctx` as per kind. */
struct sim_fault_event {
  enum sim_fault_trigger when;
  const char *line;      /* AT */
  int op;                /* STP_OP */
  uint64_t off, len;     /* STP_OFFSET / STP_PERCENT: block data range */
  enum sim_smod mode;    /* MODE */
};
void sim_faults_fire(struct sim_modem *m, const struct sim_fault_event *ev,
                     struct sim_fx *fx);
size_t sim_escape(char *dst, size_t cap, const uint8_t *src, size_t len);

/* at.c */
void sim_at_reset(struct sim_modem *m);
void sim_at_feed(struct sim_modem *m, const uint8_t *buf, size_t len,
                 size_t *used);
void sim_at_reply_lines(struct sim_modem *m, const char *const *lines,
                        int n, int final, const struct sim_fx *fx);

/* upgrade.c */
int sim_stp_begin(struct sim_modem *m, enum sim_stp_kind kind);
/* Returns how many bytes STP took: all of them, unless the session ended
 * inside the buffer; the rest then belongs to the AT layer. */
size_t sim_stp_feed(struct sim_modem *m, const uint8_t *buf, size_t len);
void sim_stp_abort(struct sim_modem *m);
/* A committed fs store exists (in memory or in cfg.store_io's file). */
bool sim_store_present(const struct sim_modem *m);
/* AT+SMUPGRADE from the store; returns 0 when the apply started. */
int sim_store_apply_start(struct sim_modem *m);
void sim_store_apply_done(struct sim_modem *m);
/* An upgrade verdict was success: apply a pending UART_RESET. */
void sim_upgrade_success_hooks(struct sim_modem *m);

#endif /* SIM_MODEM_INTERNAL_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the update procedure, shared by its three files:
 *   update.c     public API, narration, port I/O, probing, URCs, STP glue
 *   steps.c      the AT conversation as a const step table (command,
 *                timeout, what OK / ERROR / silence lead to) and the
 *                decisions between steps
 *   preflight.c  the package checks before any byte is sent and the
 *                compatibility checks once the modem is known
 * Not a public header: nothing outside core/src/update includes it.
 */
#ifndef SQNUP_UPDATE_INT_H
#define SQNUP_UPDATE_INT_H

#include "sqnup/update.h"

/* What a PROBE ("is the modem there / back?") leads to. */
enum sqn_update_purpose {
  SQN_UPD_P_DETECT,   /* first contact */
  SQN_UPD_P_REDETECT, /* after an unexpected reboot */
  SQN_UPD_P_RECOVERY, /* after SMSWBOOT=3,x: expect SMOD 4 */
  SQN_UPD_P_UPDATER,  /* after the updater.elf push: expect SMOD 1 */
  SQN_UPD_P_COMMIT,   /* after the package push: status polling */
  SQN_UPD_P_FFF_BOOT  /* after SMSWBOOT=1,x: expect SMOD 2 */
};

#define SQN_UPD_BAUD_HIGH 921600u
#define SQN_UPD_BAUD_LOW 115200u
#define SQN_UPD_MAX_PUSHES 2u
/* The factory bootrom build of early SQN3330 modems (faults.md F18). */
#define SQN_UPD_OLD_BOOTROM 33080u
/* Long waits (commit, first boot of the new firmware) say every
 * SQN_UPD_PROGRESS_MS that they are still waiting and how long they will,
 * so that nobody cuts power thinking the tool hung (F11). */
#define SQN_UPD_PROGRESS_MS 30000u
/* Event texts: room for the longest error name, explanation, detail
 * (sizeof detail) and advice together; nothing is ever cut. They live on
 * the stack (two nest when the run ends), so the microcontroller build,
 * whose SQN_ERR_TERSE texts are short, sets a smaller size. */
#ifndef SQN_UPD_TEXT_MAX
#define SQN_UPD_TEXT_MAX 1024u
#endif
/* After +SHUTDOWN, the first poll of a rebooting modem: at once. A modem
 * that is up answers it, and a probe that lands in the boot is lost and
 * retried after probe_ms whenever it was sent, so any pause here would only
 * delay a fast modem (RECOVERY sends no +SYSSTART). */
#define SQN_UPD_REBOOT_POLL_MS 0u

/* update.c: narration and I/O */
void sqn_upd_copy(char *dst, size_t cap, const char *src);
void sqn_upd_log(struct sqn_update *u, enum sqn_log_level lvl,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sqn_upd_info(struct sqn_update *u, const char *key, const char *val);
void sqn_upd_set_phase(struct sqn_update *u, enum sqn_update_phase p);
void sqn_upd_set_state(struct sqn_update *u, enum sqn_update_state s);
uint64_t sqn_upd_ms(const struct sqn_update *u, uint32_t base);
void sqn_upd_finish(struct sqn_update *u, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool sqn_upd_write(struct sqn_update *u, const void *buf, size_t len);
void sqn_upd_cmd(struct sqn_update *u, enum sqn_update_state s,
                 const char *cmd, uint32_t timeout_ms);
void sqn_upd_wait(struct sqn_update *u, enum sqn_update_state s, uint32_t ms);
bool sqn_upd_baud(struct sqn_update *u, uint32_t baud);

/* update.c: probing */
void sqn_upd_arm(struct sqn_update *u, int purpose, int err,
                 uint32_t bound_ms);
void sqn_upd_probe_send(struct sqn_update *u);
void sqn_upd_escape(struct sqn_update *u);
void sqn_upd_wait_progress(struct sqn_update *u);
void sqn_upd_probe_timeout(struct sqn_update *u);
int sqn_upd_wait_err(const struct sqn_update *u, int purpose);
void sqn_upd_after_switch(struct sqn_update *u, int purpose,
                          uint32_t wait_ms);
void sqn_upd_start_stp(struct sqn_update *u, bool elf);

/* steps.c */
void sqn_upd_go(struct sqn_update *u, enum sqn_update_state s);
bool sqn_upd_reply_stale(struct sqn_update *u);
void sqn_upd_on_reply(struct sqn_update *u);
void sqn_upd_on_timeout(struct sqn_update *u);
void sqn_upd_push(struct sqn_update *u);

/* preflight.c */
int sqn_upd_preflight(struct sqn_update *u);
bool sqn_upd_check_modem(struct sqn_update *u);

#endif /* SQNUP_UPDATE_INT_H */

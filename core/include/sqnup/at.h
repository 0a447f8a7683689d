/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AT client: a byte-fed reply parser for the host side of the AT link.
 *
 * Bytes are split into lines on CR or LF (empty lines are ignored), so both
 * the application style "\r\nOK\r\n" and the bootloader style "OK\r\n" work.
 * A reply ends at its final result (OK, ERROR, +CME ERROR: n, +CMS ERROR: n,
 * NO CARRIER), never at a byte count. Unsolicited lines (+SYSSTART,
 * +SHUTDOWN, ^EXIT, +CPSMS, ...) are reported as URCs and kept out of the
 * reply, also when they arrive in the middle of one. The echo of the pending
 * command is skipped. NUL bytes are dropped; other control or 8-bit bytes
 * at the start of a line (UART garbage such as FE FD) are dropped, and a line
 * with such bytes after text is discarded whole as garbage.
 *
 *   line state:  START --printable--> TEXT --CR/LF--> classify
 *                  |  NUL / garbage: dropped    | garbage byte: TAINTED
 *                  +<---------------------------+<-- CR/LF (discard line)
 */
#ifndef SQNUP_AT_H
#define SQNUP_AT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SQN_AT_LINE_MAX 128 /* longer lines are cut (and still classified) */
#define SQN_AT_INFO_MAX 8   /* information lines kept per reply */
#define SQN_AT_INFO_LEN 96  /* bytes kept per information line */

#define SQN_AT_RESULT_MAP(XX)                                                 \
  XX(NONE)     /* no final result yet */                                     \
  XX(OK)                                                                      \
  XX(ERROR)                                                                   \
  XX(CME_ERROR) /* +CME ERROR / +CMS ERROR: code in `cme` */                  \
  XX(NO_CARRIER)

enum sqn_at_result {
#define XX(name) SQN_AT_RES_##name,
  SQN_AT_RESULT_MAP(XX)
#undef XX
};

#define SQN_AT_URC_MAP(XX)                                                    \
  XX(SYSSTART, "+SYSSTART")                                                   \
  XX(SHUTDOWN, "+SHUTDOWN")                                                   \
  XX(EXIT, "^EXIT")                                                           \
  XX(CPSMS, "+CPSMS")                                                         \
  XX(CEREG, "+CEREG")                                                         \
  XX(CREG, "+CREG")                                                           \
  XX(SQNSUPGRADE, "+SQNSUPGRADE")                                             \
  XX(OTHER, "")

enum sqn_at_urc {
#define XX(name, prefix) SQN_AT_URC_##name,
  SQN_AT_URC_MAP(XX)
#undef XX
};

const char *sqn_at_result_name(enum sqn_at_result r); /* "CME_ERROR" */
const char *sqn_at_urc_name(enum sqn_at_urc u);       /* "SYSSTART" */

#define SQN_AT_RX_MAP(XX) XX(START) XX(TEXT) XX(TAINTED)
enum sqn_at_rx_state {
#define XX(name) SQN_AT_RX_##name,
  SQN_AT_RX_MAP(XX)
#undef XX
};

/* Called for each URC line (text NUL-terminated, valid during the call). */
typedef void (*sqn_at_urc_cb)(void *user, enum sqn_at_urc urc,
                              const char *line);
/* Called for each information line as it arrives (`pending`: it belongs to
 * the reply awaited; false: no command was pending, a late reply or noise).
 * The whole line (up to SQN_AT_LINE_MAX), also the ones past
 * SQN_AT_INFO_MAX or SQN_AT_INFO_LEN that the info array does not keep:
 * a log sees every line without the client keeping them. */
typedef void (*sqn_at_line_cb)(void *user, const char *line, bool pending);

/*
 * The client. Caller-allocated; do not modify members directly. The reply
 * fields are valid from the final result until the next sqn_at_expect().
 */
struct sqn_at_client {
  /* read-only: the current reply */
  bool pending;                 /* a command awaits its final result */
  enum sqn_at_result result;    /* final result, NONE until then */
  int cme;                      /* +CME ERROR code, -1 if not numeric */
  unsigned n_info;              /* information lines (capped) */
  char info[SQN_AT_INFO_MAX][SQN_AT_INFO_LEN];
  bool echo_seen;               /* the command's echo came back */
  /* read-only: counters */
  uint32_t lines, urcs, garbage, unsolicited;
  /* private */
  enum sqn_at_rx_state rx;
  char line[SQN_AT_LINE_MAX + 1];
  size_t len;
  char cmd[SQN_AT_LINE_MAX + 1]; /* pending command, for echo detection */
  sqn_at_urc_cb on_urc;
  sqn_at_line_cb on_line;
  void *user;
};

void sqn_at_init(struct sqn_at_client *at, sqn_at_urc_cb on_urc, void *user);
/* Set (or clear with NULL) the line callback; after sqn_at_init. */
void sqn_at_on_line(struct sqn_at_client *at, sqn_at_line_cb on_line);
/*
 * Start waiting for the reply to `cmd` (the command text without its
 * terminator, e.g. "AT+SMOD?"; copied; NULL for "no command", e.g. a +++
 * escape). Clears the previous reply; a partial line is kept.
 */
void sqn_at_expect(struct sqn_at_client *at, const char *cmd);
/* Stop waiting (timeout); later lines are unsolicited. */
void sqn_at_cancel(struct sqn_at_client *at);
/* Forget a partial line (after a baud change). */
void sqn_at_reset_line(struct sqn_at_client *at);
/*
 * Feed received bytes. Returns how many were consumed: all of them, or fewer
 * when a final result ended the pending reply inside `buf` (the rest may be
 * a binary protocol and is left to the caller). Never fails.
 */
size_t sqn_at_feed(struct sqn_at_client *at, const uint8_t *buf, size_t len);
/* True once the pending command got its final result. */
bool sqn_at_done(const struct sqn_at_client *at);
/* First information line starting with `prefix` (case-sensitive), or NULL;
 * "" matches the first line. */
const char *sqn_at_info(const struct sqn_at_client *at, const char *prefix);
/* Classify one complete line (exposed for tests and the fuzz target):
 * returns a final result or NONE; *urc is set for URC lines (else -1). */
enum sqn_at_result sqn_at_classify(const char *line, int *urc, int *cme);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_AT_H */

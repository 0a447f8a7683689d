/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-chat engine: run a host chat script against a serial port.
 *
 * A script is data: one step per line, words and "quoted strings" (with
 * \r \n \t \\ \" \xHH escapes and ${NAME} variables). Steps:
 *
 *   open BAUD | reopen BAUD | close      port at BAUD, raw 8N1, no flow control
 *   flush                                discard pending input
 *   send STR                             write the bytes
 *   read N [timeout S]                   read exactly N bytes, or fewer at the
 *                                        timeout (pyserial read(N)); default 20 s
 *   read-any [N] [timeout S] [gap S]     first byte within timeout (20 s), then
 *                                        until `gap` (0.1 s) of silence or N bytes
 *   read-until STR [timeout S] [pause S] 50 ms windows until STR was seen
 *   expect-any STR... [else MSG]         the last reply equals one of them
 *   expect-contains STR [else MSG]       the last reply contains STR
 *   expect-not-contains STR [else MSG]
 *   sleep S
 *   loop-until-contains SEND WANT... [max N] [every S] [read N] [else MSG]
 *                                        send; read-any; until one WANT is seen
 *   stp-push FILE FLAVOR                 STP master as a named host does it:
 *                                        pycom, pycom2018, walter, walter-espidf,
 *                                        microchip
 *   print STR | print-reply              host console output
 *   fail MSG                             stop with MSG (exit 1)
 *   label NAME | goto NAME [max N]       a bounded goto fails after N jumps
 *   if-contains STR goto NAME | if-not-contains STR goto NAME
 *   if-size-over FILE N goto NAME | if-var NAME STR goto NAME
 *   set NAME STR | default NAME STR      default: only if NAME is unset
 *
 * ${REPLY} expands to the last reply, printable (Python-like escapes).
 * Every wait is bounded: real host tools often wait forever; a script gives
 * an explicit, generous bound, multiplied by the timeout scale. `sleep` and
 * read-until's `pause` are host pacing, multiplied by the sleep scale.
 */
#ifndef HARNESS_CHAT_H
#define HARNESS_CHAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HARNESS_CHAT_EXIT_OK 0
#define HARNESS_CHAT_EXIT_FAIL 1  /* the script failed (fail / else / bound) */
#define HARNESS_CHAT_EXIT_USAGE 2 /* bad command line or script parse error */
#define HARNESS_CHAT_EXIT_IO 3    /* port or file error */

struct harness_chat_script;

/* Parse a script file. NULL with "file:line: message" in `err`. */
struct harness_chat_script *harness_chat_load(const char *path, char *err,
                                              size_t errcap);
void harness_chat_free(struct harness_chat_script *s);

struct harness_chat_opts {
  double timeout_scale; /* multiplies every wait bound (default 1) */
  double sleep_scale;   /* multiplies sleeps and pauses (default 1) */
  FILE *out;            /* host console output (stdout) */
  FILE *transcript;     /* "> " / "< " lines with timestamps, or NULL */
  const char **vars;    /* NAME=VALUE strings, `nvars` of them; copied */
  size_t nvars;
};

/* Run the script against `port`. Returns a HARNESS_CHAT_EXIT_* code, with
 * the failure message (the script's own, e.g. "OSError: AT+SMSWBOOT=3,0
 * failed!", or one naming the step's file:line) in `msg`. */
int harness_chat_run(const struct harness_chat_script *s, const char *port,
                     const struct harness_chat_opts *o, char *msg,
                     size_t msgcap);

/* ---- internals shared by the engine's files ---- */

/* The serial port (port.c). */
struct harness_port {
  int fd;
  char path[256];
  uint32_t baud;
  FILE *transcript;
  uint64_t t0_us;
};
uint64_t harness_now_us(void);
int harness_port_open(struct harness_port *p, const char *path, uint32_t baud,
                      char *err, size_t errcap);
void harness_port_close(struct harness_port *p);
void harness_port_flush(struct harness_port *p);
/* Write all bytes within `timeout_us`; -1 with `err` on error/timeout. */
int harness_port_write(struct harness_port *p, const uint8_t *buf, size_t len,
                       uint64_t timeout_us, char *err, size_t errcap);
/* Read up to `len` bytes, waiting at most `timeout_us` in total; returns the
 * count (0 at timeout), -1 on error. */
long harness_port_read(struct harness_port *p, uint8_t *buf, size_t len,
                       uint64_t timeout_us);
/* Read what arrives: wait `first_us` for the first byte, then until `gap_us`
 * of silence or `len` bytes. */
long harness_port_read_any(struct harness_port *p, uint8_t *buf, size_t len,
                           uint64_t first_us, uint64_t gap_us);

/* STP masters (stp_master.c). */
struct harness_stp_opts {
  const char *flavor;
  double timeout_scale;
  FILE *out;
};
/* Push `data` as the flavor's host does. 0, or -1 with the host's failure
 * message in `err`. */
int harness_stp_push(struct harness_port *p, const uint8_t *data, size_t len,
                     const struct harness_stp_opts *o, char *err,
                     size_t errcap);
/* True if `flavor` names a known master. */
int harness_stp_flavor_known(const char *flavor);

#ifdef __cplusplus
}
#endif
#endif /* HARNESS_CHAT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AT client: host-side reply parser (see sqnup/at.h for the contract).
 *
 *   modem bytes --> [line assembly] --> line --> classify
 *                    START/TEXT/TAINTED       |-> echo of cmd: skipped
 *                                             |-> URC: on_urc()
 *                                             |-> final: result, stop feed
 *                                             '-> info line (if pending)
 *
 * Why lines and not byte counts: replies differ by mode (leading CR LF or
 * not), by echo, and URCs can land inside a reply (faults.md F10, S01c).
 * Why a line with garbage after text is dropped whole: at the wrong rate a
 * UART produces bytes like FE FD that must never be read as "OK".
 */
#include "sqnup/at.h"

#include <ctype.h>
#include <string.h>

#include "../sqn_libc.h"

static const struct {
  const char *prefix;
  enum sqn_at_urc urc;
} sqn_at_urcs[] = {
#define XX(name, prefix) {prefix, SQN_AT_URC_##name},
    SQN_AT_URC_MAP(XX)
#undef XX
};

const char *sqn_at_result_name(enum sqn_at_result r) {
  switch (r) {
#define XX(name)                                                               \
  case SQN_AT_RES_##name:                                                      \
    return #name;
    SQN_AT_RESULT_MAP(XX)
#undef XX
  }
  return "?";
}

const char *sqn_at_urc_name(enum sqn_at_urc u) {
  switch (u) {
#define XX(name, prefix)                                                       \
  case SQN_AT_URC_##name:                                                      \
    return #name;
    SQN_AT_URC_MAP(XX)
#undef XX
  }
  return "?";
}

void sqn_at_init(struct sqn_at_client *at, sqn_at_urc_cb on_urc, void *user) {
  memset(at, 0, sizeof *at);
  at->rx = SQN_AT_RX_START;
  at->cme = -1;
  at->on_urc = on_urc;
  at->user = user;
}

void sqn_at_on_line(struct sqn_at_client *at, sqn_at_line_cb on_line) {
  at->on_line = on_line;
}

void sqn_at_expect(struct sqn_at_client *at, const char *cmd) {
  at->pending = true;
  at->result = SQN_AT_RES_NONE;
  at->cme = -1;
  at->n_info = 0;
  at->echo_seen = false;
  at->cmd[0] = '\0';
  if (cmd) {
    size_t n = strlen(cmd);
    if (n > SQN_AT_LINE_MAX)
      n = SQN_AT_LINE_MAX;
    memcpy(at->cmd, cmd, n);
    at->cmd[n] = '\0';
  }
}

void sqn_at_cancel(struct sqn_at_client *at) { at->pending = false; }

void sqn_at_reset_line(struct sqn_at_client *at) {
  at->rx = SQN_AT_RX_START;
  at->len = 0;
}

bool sqn_at_done(const struct sqn_at_client *at) {
  return at->result != SQN_AT_RES_NONE;
}

const char *sqn_at_info(const struct sqn_at_client *at, const char *prefix) {
  size_t n = strlen(prefix);
  for (unsigned i = 0; i < at->n_info; i++)
    if (strncmp(at->info[i], prefix, n) == 0)
      return at->info[i];
  return NULL;
}

static bool sqn_at_prefix(const char *line, const char *p) {
  return strncmp(line, p, strlen(p)) == 0;
}

enum sqn_at_result sqn_at_classify(const char *line, int *urc, int *cme) {
  *urc = -1;
  if (cme)
    *cme = -1;
  if (strcmp(line, "OK") == 0)
    return SQN_AT_RES_OK;
  if (strcmp(line, "ERROR") == 0)
    return SQN_AT_RES_ERROR;
  if (strcmp(line, "NO CARRIER") == 0)
    return SQN_AT_RES_NO_CARRIER;
  if (sqn_at_prefix(line, "+CME ERROR") || sqn_at_prefix(line, "+CMS ERROR")) {
    const char *c = strchr(line, ':');
    if (cme && c) {
      char *end;
      long v = strtol(c + 1, &end, 10);
      if (end != c + 1 && v >= 0 && v < 100000)
        *cme = (int)v;
    }
    return SQN_AT_RES_CME_ERROR;
  }
  for (size_t i = 0; i < sizeof sqn_at_urcs / sizeof sqn_at_urcs[0]; i++) {
    const char *p = sqn_at_urcs[i].prefix;
    if (p[0] && sqn_at_prefix(line, p)) {
      *urc = (int)sqn_at_urcs[i].urc;
      break;
    }
  }
  return SQN_AT_RES_NONE;
}

static bool sqn_at_is_echo(const struct sqn_at_client *at, const char *line) {
  if (!at->pending || at->echo_seen || !at->cmd[0])
    return false;
  /* Echo returns the bytes as received; the AT prefix is case-insensitive. */
  for (size_t i = 0;; i++) {
    char a = line[i], b = at->cmd[i];
    if (toupper((unsigned char)a) != toupper((unsigned char)b))
      return false;
    if (!a)
      return true;
  }
}

/* Returns true when the line was the pending command's final result. */
static bool sqn_at_line_done(struct sqn_at_client *at) {
  int urc, cme;
  enum sqn_at_result r;

  while (at->len > 0 && at->line[at->len - 1] == ' ')
    at->len--; /* trailing blanks carry no meaning */
  at->line[at->len] = '\0';
  at->lines++;
  if (sqn_at_is_echo(at, at->line)) {
    at->echo_seen = true;
    return false;
  }
  r = sqn_at_classify(at->line, &urc, &cme);
  if (urc >= 0) {
    at->urcs++;
    if (at->on_urc)
      at->on_urc(at->user, (enum sqn_at_urc)urc, at->line);
    return false;
  }
  if (!at->pending) {
    /* A final result or text with no command pending: a late reply to a
     * timed-out command, or noise. Counted, never attributed. */
    at->unsolicited++;
    if (at->on_line && r == SQN_AT_RES_NONE)
      at->on_line(at->user, at->line, false);
    return false;
  }
  if (r != SQN_AT_RES_NONE) {
    at->result = r;
    at->cme = cme;
    at->pending = false;
    return true;
  }
  if (at->on_line)
    at->on_line(at->user, at->line, true);
  if (at->n_info < SQN_AT_INFO_MAX) {
    size_t n = at->len < SQN_AT_INFO_LEN - 1 ? at->len : SQN_AT_INFO_LEN - 1;
    memcpy(at->info[at->n_info], at->line, n);
    at->info[at->n_info][n] = '\0';
    at->n_info++;
  }
  return false;
}

static bool sqn_at_printable(uint8_t c) {
  return (c >= 0x20 && c < 0x7f) || c == '\t';
}

size_t sqn_at_feed(struct sqn_at_client *at, const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    uint8_t c = buf[i];
    if (c == 0) /* NUL: dropped anywhere (modem-model.md section 4) */
      continue;
    if (c == '\r' || c == '\n') {
      bool done = false;
      if (at->rx == SQN_AT_RX_TEXT)
        done = sqn_at_line_done(at);
      else if (at->rx == SQN_AT_RX_TAINTED)
        at->garbage++;
      sqn_at_reset_line(at);
      if (done)
        return i + 1;
      continue;
    }
    switch (at->rx) {
    case SQN_AT_RX_START:
      if (!sqn_at_printable(c) || c == ' ') {
        if (c != ' ')
          at->garbage++;
        break;
      }
      at->rx = SQN_AT_RX_TEXT;
      /* fall through */
    case SQN_AT_RX_TEXT:
      if (!sqn_at_printable(c)) {
        at->rx = SQN_AT_RX_TAINTED;
        break;
      }
      if (at->len < SQN_AT_LINE_MAX)
        at->line[at->len++] = (char)c;
      break;
    case SQN_AT_RX_TAINTED:
      break;
    }
  }
  return len;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Post-conditions from the trace (faults.md section 2).
 *
 * Overview. The tracker follows three facts through the model's typed
 * trace events (sim/modem.h, struct sim_event), whoever produced them
 * (in-process model, harness pty, sqn-sim's JSON trace file); it never
 * reads the events' text:
 *   mode      an UP event sets it; BOOT, REBOOT, POWER_OFF and POWER_ON
 *             clear it (the modem is not answering in any mode then);
 *   success   a successful VERDICT, or a "+SMUPGRADE: success" reply line;
 *   STP start AT+SMSTPU... / AT+STP open a pending start; the next final
 *             result line (OK / ERROR / +CME ERROR) accepts or refuses it.
 * A refused start followed by host bytes that look like STP (an AT line
 * holding the request magic "fast", or an over-long binary line, or a
 * decoded frame) is a violation: the host pushed data the modem refused.
 *
 * Mode is only known between boots: a command the modem receives while
 * booting is dropped by the model before it is traced, so it never reaches
 * the checks.
 */
#include "post.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/err.h"

void harness_post_init(struct harness_post *p, bool start_success) {
  memset(p, 0, sizeof(*p));
  p->smod = -1;
  p->start_success = start_success;
}

void harness_post_run(struct harness_post *p, unsigned run) {
  p->run = run;
  p->success_seen = false;
  p->stp_cmd_pending = false;
  p->stp_refused = false;
}

void harness_post_power(struct harness_post *p) {
  p->smod = -1;
  p->stp_cmd_pending = false;
  p->stp_refused = false;
}

static bool harness_post_prefix(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++)
    if (toupper((unsigned char)*s) != toupper((unsigned char)*prefix))
      return false;
  return true;
}

/* "AT+STP" as a command of its own (not AT+STPX...). */
static bool harness_post_is_at_stp(const char *line) {
  if (!harness_post_prefix(line, "AT+STP"))
    return false;
  unsigned char next = (unsigned char)line[6];
  return next == '\0' || !isalnum(next);
}

static bool harness_post_looks_stp(const struct sim_trace_event *ev) {
  static const uint8_t magic[4] = {'f', 'a', 's', 't'};
  if (ev->ev.type == SIM_EVENT_AT_OVERLONG)
    return true;
  for (size_t i = 0; ev->raw && i + 4 <= ev->raw_len; i++)
    if (memcmp(ev->raw + i, magic, 4) == 0)
      return true;
  return false;
}

static void harness_post_violate(struct harness_post *p, uint64_t t_us,
                                 const char *what, const char *line) {
  if (p->violation[0])
    return;
  char run[32];
  if (p->run)
    snprintf(run, sizeof(run), "run %u", p->run);
  else
    snprintf(run, sizeof(run), "the rerun check");
  snprintf(p->violation, sizeof(p->violation),
           "POST-CONDITION (%s, t=%.3f s): %s: \"%.60s\"", run,
           (double)t_us / 1e6, what, line);
  p->violation_t_us = t_us;
}

static void harness_post_mode(struct harness_post *p, const struct sim_event *e) {
  switch (e->type) {
  case SIM_EVENT_UP:
    p->smod = e->smod;
    break;
  case SIM_EVENT_BOOT:
  case SIM_EVENT_REBOOT:
  case SIM_EVENT_POWER_OFF:
  case SIM_EVENT_POWER_ON:
    p->smod = -1;
    break;
  default:
    break;
  }
}

static void harness_post_at_rx(struct harness_post *p,
                               const struct sim_trace_event *ev,
                               const char *line) {
  if (p->stp_refused && harness_post_looks_stp(ev)) {
    char what[120];
    snprintf(what, sizeof(what), "STP bytes sent after the modem refused %s",
             p->stp_cmd);
    harness_post_violate(p, ev->t_us, what, ev->text ? ev->text : line);
    return;
  }
  if (harness_post_prefix(line, "AT+SMSWBOOT=1") && !p->success_seen &&
      !p->start_success) {
    harness_post_violate(p, ev->t_us,
                         "the host switched the boot to the application "
                         "before the modem reported upgrade success",
                         line);
  }
  bool at_stp = harness_post_is_at_stp(line);
  if (at_stp && p->smod != 0) {
    char what[120];
    if (p->smod < 0)
      snprintf(what, sizeof(what), "AT+STP sent to a modem not in FFH "
                                   "(mode unknown)");
    else
      snprintf(what, sizeof(what), "AT+STP sent to a modem in SMOD %d, "
                                   "not FFH (SMOD 0)",
               p->smod);
    harness_post_violate(p, ev->t_us, what, line);
  }
  if (at_stp || harness_post_prefix(line, "AT+SMSTPU")) {
    p->stp_cmd_pending = true;
    snprintf(p->stp_cmd, sizeof(p->stp_cmd), "%.40s", line);
  }
}

static void harness_post_at_tx(struct harness_post *p, const char *line) {
  if (harness_post_prefix(line, "+SMUPGRADE: success"))
    p->success_seen = true;
  if (!p->stp_cmd_pending)
    return;
  if (strcmp(line, "OK") == 0) {
    p->stp_cmd_pending = false;
    p->stp_refused = false;
  } else if (strncmp(line, "ERROR", 5) == 0 ||
             strncmp(line, "+CME ERROR", 10) == 0) {
    p->stp_cmd_pending = false;
    p->stp_refused = true;
  }
}

void harness_post_event(struct harness_post *p,
                        const struct sim_trace_event *ev) {
  const char *t = ev->text ? ev->text : "";
  const char *line = ev->ev.line ? ev->ev.line : "";
  harness_post_mode(p, &ev->ev);
  if (ev->ev.type == SIM_EVENT_VERDICT && ev->ev.success)
    p->success_seen = true;
  switch (ev->kind) {
  case SIM_TRACE_AT_RX:
    harness_post_at_rx(p, ev, line);
    break;
  case SIM_TRACE_AT_TX:
    harness_post_at_tx(p, line);
    break;
  case SIM_TRACE_STP_RX:
  case SIM_TRACE_STP_DROP:
    if (p->stp_refused) {
      char what[120];
      snprintf(what, sizeof(what),
               "STP bytes sent after the modem refused %s", p->stp_cmd);
      harness_post_violate(p, ev->t_us, what, t);
    }
    break;
  default:
    break;
  }
}

/* --- the updater's report ------------------------------------------------ */

int harness_err_by_name(const char *name) {
#define XX(n, val, cls, safe, next, text, advice) \
  if (strcmp(name, "E_" #n) == 0)                 \
    return val;
  SQN_ERR_MAP(XX)
#undef XX
  return 1;
}

void harness_report_reset(struct harness_report *r) {
  memset(r, 0, sizeof(*r));
}

void harness_report_event(struct harness_report *r, const char *kind,
                          const char *text) {
  if (!text)
    text = "";
  if (strcmp(kind, "INFO") == 0) {
    if (strncmp(text, "version=", 8) == 0)
      snprintf(r->version, sizeof(r->version), "%.47s", text + 8);
    return;
  }
  if (strcmp(kind, "DONE") != 0)
    return;
  r->done = true;
  snprintf(r->text, sizeof(r->text), "%.319s", text);
  r->err = 0;
  r->err_name[0] = '\0';
  if (strncmp(text, "E_", 2) == 0) {
    size_t n = strcspn(text, ": ");
    if (n >= sizeof(r->err_name))
      n = sizeof(r->err_name) - 1;
    memcpy(r->err_name, text, n);
    r->err_name[n] = '\0';
    r->err = harness_err_by_name(r->err_name);
  }
}

int harness_report_load_log(struct harness_report *r, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[1024];
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char kind[16], state[32];
    int off = 0;
    /* "%8llu.%03llu %-8s %-12s %s": time, event, state, text */
    if (sscanf(line, "%*s %15s %31s %n", kind, state, &off) < 2)
      continue;
    if (off <= 0 || (size_t)off > strlen(line))
      off = (int)strlen(line);
    harness_report_event(r, kind, line + off);
  }
  fclose(f);
  return 0;
}

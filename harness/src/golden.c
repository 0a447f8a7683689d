/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Golden transcripts (golden.h).
 */
#include "golden.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario.h"

static void harness_golden_put(struct harness_golden *g, const char *fmt,
                               ...) {
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0 || g->oom)
    return;
  size_t ln = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  if (g->len + ln + 2 > g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 4096;
    while (cap < g->len + ln + 2)
      cap *= 2;
    char *t = realloc(g->text, cap);
    if (!t) {
      g->oom = true;
      return;
    }
    g->text = t;
    g->cap = cap;
  }
  memcpy(g->text + g->len, line, ln);
  g->len += ln;
  g->text[g->len++] = '\n';
  g->text[g->len] = '\0';
}

void harness_golden_end(struct harness_golden *g) {
  if (g->run_cmds || g->run_blocks || g->run_acks)
    harness_golden_put(g,
                       "stp data: %u BLOCK_CMD, %u BLOCK (%llu bytes), %u ACK",
                       g->run_cmds, g->run_blocks,
                       (unsigned long long)g->run_bytes, g->run_acks);
  g->run_cmds = g->run_blocks = g->run_acks = 0;
  g->run_bytes = 0;
}

/* A data-phase frame with good CRCs and a plain ACK: counted, not listed. */
static bool harness_golden_data(struct harness_golden *g,
                                const struct sim_trace_event *ev) {
  const uint8_t *r = ev->raw;
  if (!r || ev->raw_len < 16)
    return false;
  unsigned op = r[4];
  unsigned plen = (unsigned)(r[6] << 8 | r[7]);
  if (ev->kind == SIM_TRACE_STP_RX) {
    if ((op != 2 && op != 3) || !ev->text || strstr(ev->text, "BAD"))
      return false;
    if (op == 2)
      g->run_cmds++;
    else {
      g->run_blocks++;
      g->run_bytes += plen;
    }
    return true;
  }
  /* ACK of BLOCK_CMD (no payload) or of BLOCK (residue 0) */
  if (op == 0x82 && plen == 0)
    return g->run_acks++, true;
  if (op == 0x83 && plen == 2 && ev->raw_len >= 18 && !r[16] && !r[17])
    return g->run_acks++, true;
  return false;
}

void harness_golden_event(struct harness_golden *g,
                          const struct sim_trace_event *ev) {
  const char *t = ev->text ? ev->text : "";
  switch (ev->kind) {
  case SIM_TRACE_STP_RX:
  case SIM_TRACE_STP_TX:
    if (harness_golden_data(g, ev))
      return;
    harness_golden_end(g);
    harness_golden_put(g, "%s %s", ev->kind == SIM_TRACE_STP_RX ? "stp>"
                                                                : "stp<", t);
    return;
  case SIM_TRACE_AT_RX:
    harness_golden_end(g);
    harness_golden_put(g, "at> %s", t);
    return;
  case SIM_TRACE_AT_TX:
    harness_golden_end(g);
    harness_golden_put(g, "at< %s", t);
    return;
  case SIM_TRACE_STP_DROP:
    harness_golden_end(g);
    harness_golden_put(g, "drop %s", t);
    return;
  default:
    return; /* modes, flash, faults, timing: not the exchange */
  }
}

bool harness_golden_applies(const struct harness_scenario *s) {
  if (s->updater && s->updater->kind != HARNESS_UPDATER_INPROC)
    return false;
  for (unsigned i = 0; i < s->runs_count; i++)
    if (s->runs[i].updater && s->runs[i].updater->kind != HARNESS_UPDATER_INPROC)
      return false;
  return true;
}

void harness_golden_free(struct harness_golden *g) {
  free(g->text);
  memset(g, 0, sizeof *g);
}

void harness_golden_path(const char *scenario_path, char *out, size_t cap) {
  const char *slash = strrchr(scenario_path, '/');
  const char *base = slash ? slash + 1 : scenario_path;
  size_t dl = slash ? (size_t)(slash - scenario_path) : 0;
  size_t bl = strlen(base);
  if (bl > 5 && !strcmp(base + bl - 5, ".yaml"))
    bl -= 5;
  snprintf(out, cap, "%.*s%sgolden/%.*s.txt", (int)dl, scenario_path,
           slash ? "/" : "", (int)bl, base);
}

static char *harness_golden_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 8192, n = 0;
  char *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n - 1, f);
    if (n < cap - 1)
      break;
    char *nb = realloc(b, cap * 2);
    if (!nb) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
    cap *= 2;
  }
  fclose(f);
  if (b) {
    b[n] = '\0';
    *len = n;
  }
  return b;
}

enum harness_golden_verdict harness_golden_check(const char *scenario_path,
                                                 struct harness_golden *g,
                                                 bool update, char *msg,
                                                 size_t cap) {
  char path[4096];
  harness_golden_end(g);
  harness_golden_path(scenario_path, path, sizeof path);
  const char *have = g->text ? g->text : "";
  if (g->oom) {
    snprintf(msg, cap, "golden transcript: out of memory");
    return HARNESS_GOLDEN_ERROR;
  }
  if (update) {
    char dir[4096], tmp[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *s = strrchr(dir, '/');
    if (s) {
      *s = '\0';
      if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(msg, cap, "%s: %s", dir, strerror(errno));
        return HARNESS_GOLDEN_ERROR;
      }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(have, f) < 0 || fclose(f) != 0 || rename(tmp, path)) {
      snprintf(msg, cap, "%s: %s", path, strerror(errno));
      unlink(tmp);
      return HARNESS_GOLDEN_ERROR;
    }
    snprintf(msg, cap, "wrote %s", path);
    return HARNESS_GOLDEN_WRITTEN;
  }
  size_t wlen = 0;
  errno = 0;
  char *want = harness_golden_read(path, &wlen);
  if (!want) {
    if (errno == ENOENT)
      return HARNESS_GOLDEN_NONE;
    snprintf(msg, cap, "%s: %s", path, strerror(errno));
    return HARNESS_GOLDEN_ERROR;
  }
  if (!strcmp(want, have)) {
    free(want);
    return HARNESS_GOLDEN_SAME;
  }
  /* the first line that differs */
  const char *a = want, *b = have;
  unsigned line = 1;
  while (*a && *b) {
    size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
    if (la != lb || memcmp(a, b, la))
      break;
    a += la + (a[la] == '\n');
    b += lb + (b[lb] == '\n');
    line++;
  }
  snprintf(msg, cap,
           "the exchange differs from %s at line %u: want \"%.*s\", got "
           "\"%.*s\" (sqn-scenario run --update-golden rewrites it, if the "
           "change is meant)",
           path, line, (int)(*a ? strcspn(a, "\n") : 5), *a ? a : "(end)",
           (int)(*b ? strcspn(b, "\n") : 5), *b ? b : "(end)");
  free(want);
  return HARNESS_GOLDEN_DIFFERS;
}

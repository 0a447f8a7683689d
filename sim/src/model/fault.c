/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault records: names, consistency checks and matching an AT line.
 *
 * The YAML schema and loader are in the sim_files library
 * (sim/src/files/fault_yaml.c); firing lives in modem.c next to the
 * events that trigger it.
 */
#include "sim/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *sim_fault_trigger_name(enum sim_fault_trigger t)
{
  switch (t) {
#define XX(name, word)                                                       \
  case SIM_FAULT_ON_##name:                                                  \
    return word;
    SIM_FAULT_TRIGGER_MAP(XX)
#undef XX
  default:
    return "?";
  }
}

const char *sim_fault_action_name(enum sim_fault_action a)
{
  switch (a) {
#define XX(name, word)                                                       \
  case SIM_FAULT_DO_##name:                                                  \
    return word;
    SIM_FAULT_ACTION_MAP(XX)
#undef XX
  default:
    return "?";
  }
}

int sim_fault_check(const struct sim_fault *f, char *err, size_t errcap)
{
  const char *key;
  return sim_fault_check_ex(f, &key, err, errcap);
}

int sim_fault_check_ex(const struct sim_fault *f, const char **bad_key,
                       char *err, size_t errcap)
{
  const char *who = f->name[0] ? f->name : "fault";
  *bad_key = NULL;
  /* Bounds: a fault describes a field event, not a way to exhaust the
   * emulator. Each limit is far above what any field log shows. */
#define SIM_FAULT_RANGE(field, max, key, what)                               \
  if ((uint64_t)(field) > (uint64_t)(max)) {                                 \
    *bad_key = key;                                                          \
    return snprintf(err, errcap, "%s: %s %llu out of range (at most %llu%s)",\
                    who, key, (unsigned long long)(field),                   \
                    (unsigned long long)(max), what),                        \
           -1;                                                               \
  }
  SIM_FAULT_RANGE(f->delay_us, SIM_FAULT_TIME_MAX_US, "delay_us",
                  " us, 7 days");
  SIM_FAULT_RANGE(f->after_us, SIM_FAULT_TIME_MAX_US, "after_us",
                  " us, 7 days");
  SIM_FAULT_RANGE(f->offset, SIM_FAULT_OFFSET_MAX, "offset", " bytes");
  SIM_FAULT_RANGE(f->size, SIM_FAULT_OFFSET_MAX, "size", " bytes");
  if (f->action == SIM_FAULT_DO_NUL) {
    SIM_FAULT_RANGE(f->count, SIM_FAULT_NUL_MAX, "count", " NUL bytes");
  } else if (f->action == SIM_FAULT_DO_SPLIT) {
    SIM_FAULT_RANGE(f->count, SIM_FAULT_SPLIT_MAX, "count", " chunks");
  } else if (f->action != SIM_FAULT_DO_UART_RESET) {
    SIM_FAULT_RANGE(f->count, SIM_FAULT_COUNT_MAX, "count", "");
  }
#undef SIM_FAULT_RANGE
  /* FAIL_UPGRADE's text lands in the state file (printable only there);
   * REPLY/URC/CRASH texts are lines: no control bytes but '\n'. */
  for (const char *c = f->text; *c; c++) {
    unsigned char u = (unsigned char)*c;
    bool ok = u >= 0x20 && u < 0x7f;
    if (!ok && !(u == '\n' && f->action != SIM_FAULT_DO_FAIL_UPGRADE)) {
      *bad_key = "text";
      return snprintf(err, errcap,
                      "%s: text: character %d is not printable (0x%02x)", who,
                      (int)(c - f->text) + 1, u),
             -1;
    }
  }
  if ((unsigned)f->when >= SIM_FAULT_ON_COUNT)
    return snprintf(err, errcap, "%s: unknown trigger %d", who, (int)f->when),
           -1;
  if ((unsigned)f->action >= SIM_FAULT_DO_COUNT)
    return snprintf(err, errcap, "%s: unknown action %d", who,
                    (int)f->action),
           -1;
  if (f->when == SIM_FAULT_ON_AT && !f->match[0])
    return snprintf(err, errcap, "%s: trigger \"at\" needs \"match\"", who),
           -1;
  if (f->last && f->last < (f->first ? f->first : 1))
    return snprintf(err, errcap, "%s: last (%u) is before first (%u)", who,
                    f->last, f->first),
           -1;
  if (f->when == SIM_FAULT_ON_STP_OP && (f->op < 0 || f->op > 255))
    return snprintf(err, errcap, "%s: op %d out of 0..255", who, f->op), -1;
  if (f->when == SIM_FAULT_ON_STP_PERCENT &&
      !(f->percent >= 0.0 && f->percent <= 100.0))
    return snprintf(err, errcap, "%s: percent out of 0..100", who), -1;
  if ((unsigned)f->mode > SIM_FAULT_MODE_RECOVERY)
    return snprintf(err, errcap, "%s: unknown mode %d", who, (int)f->mode),
           -1;
  if (f->action == SIM_FAULT_DO_SPLIT && f->count < 2)
    return snprintf(err, errcap, "%s: split needs count >= 2", who), -1;
  /* The rate lands in the state file, which accepts no other values. */
  if (f->action == SIM_FAULT_DO_UART_RESET && f->count &&
      (f->count < 1200 || f->count > 4000000))
    return snprintf(err, errcap,
                    "%s: uart-reset count %u is not a UART rate (0 = 115200, "
                    "or 1200..4000000)",
                    who, f->count),
           -1;
  return 0;
}

/* ---- matching an AT line against a fault's `match` ---- */

/* Case-insensitive glob: '*' any run, '?' one character. */
static bool sim_glob(const char *p, const char *s)
{
  const char *star = NULL, *ss = NULL;
  while (*s) {
    char pc = *p, sc = *s;
    if (pc >= 'a' && pc <= 'z')
      pc = (char)(pc - 32);
    if (sc >= 'a' && sc <= 'z')
      sc = (char)(sc - 32);
    if (*p == '*') {
      star = p++;
      ss = s;
    } else if (*p && (*p == '?' || pc == sc)) {
      p++;
      s++;
    } else if (star) {
      p = star + 1;
      s = ++ss;
    } else {
      return false;
    }
  }
  while (*p == '*')
    p++;
  return !*p;
}

bool sim_fault_at_match(const char *pat, const char *line)
{
  if (strpbrk(pat, "*?"))
    return sim_glob(pat, line);
  size_t n = strlen(pat);
  for (size_t i = 0; i < n; i++) {
    char a = pat[i], b = line[i];
    if (!b)
      return false;
    if (a >= 'a' && a <= 'z')
      a = (char)(a - 32);
    if (b >= 'a' && b <= 'z')
      b = (char)(b - 32);
    if (a != b)
      return false;
  }
  return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario file loader.
 *
 * Overview: the YAML schema below is declared as libcyaml tables, nested as
 * the file is:
 *
 *   scenario ─┬─ state_set ── fff/updater/bootrom (image)
 *             ├─ package
 *             ├─ updater, faults[] (sim_fault_yaml_schema), expect   (1 run)
 *             └─ runs[] ── updater, faults[], expect                 (n runs)
 *
 * libcyaml does the syntax and type checks and logs a backtrace whose lines
 * carry "(line: N, column: M)"; the log callback collects that text and
 * harness_cyaml_error() turns it into "FILE:LINE: reason". Checks libcyaml
 * cannot express (one of `runs` or the shorthand, known words, a named state
 * that exists) follow in harness_scenario_check(), which finds the line of
 * the offending key by scanning the file text, so every rejection names a
 * line.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cyaml/cyaml.h>

#include "sim/fault_yaml.h"
#include "sim/state_file.h"

#define HARNESS_BOUND_DEFAULT 3600.0
/* Every number in a scenario is range-checked at load (FILE:LINE). */
#define HARNESS_BOUND_MAX (30.0 * 86400.0)   /* virtual seconds per run */
#define HARNESS_SCALE_MAX 1000.0             /* updater.timeout_scale */
#define HARNESS_PKG_MAX (64u * 1024u * 1024u) /* package.size and offsets */
#define HARNESS_RUNS_MAX 64u
#define HARNESS_FAULTS_MAX 64u               /* the model's fault table */
#define HARNESS_SCENARIO_FILE_MAX (1024u * 1024u)

const char *harness_rerun_name(enum harness_rerun r) {
  switch (r) {
#define XX(n, w) \
  case HARNESS_RERUN_##n: return w;
    HARNESS_RERUN_MAP(XX)
#undef XX
  }
  return "?";
}

/* --- schema ------------------------------------------------------------ */

static const cyaml_strval_t harness_verdict_strings[] = {
#define XX(n, w) {w, HARNESS_VERDICT_##n},
    HARNESS_VERDICT_MAP(XX)
#undef XX
};
static const cyaml_strval_t harness_updater_strings[] = {
#define XX(n, w) {w, HARNESS_UPDATER_##n},
    HARNESS_UPDATER_MAP(XX)
#undef XX
};
static const cyaml_strval_t harness_rerun_strings[] = {
#define XX(n, w) {w, HARNESS_RERUN_##n},
    HARNESS_RERUN_MAP(XX)
#undef XX
};
static const cyaml_strval_t harness_profile_strings[] = {
    {"monarch1", SIM_PROFILE_MONARCH1},
    {"gm02s", SIM_PROFILE_GM02S},
};

#define HARNESS_N(a) (sizeof(a) / sizeof((a)[0]))
#define HARNESS_OPT (CYAML_FLAG_OPTIONAL)
#define HARNESS_OPT_PTR (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)

static const cyaml_schema_value_t harness_string_schema = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

#define HARNESS_STR(key, type, member) \
  CYAML_FIELD_STRING_PTR(key, HARNESS_OPT_PTR, type, member, 0, CYAML_UNLIMITED)
#define HARNESS_STRSEQ(key, type, member)                                \
  CYAML_FIELD_SEQUENCE(key, HARNESS_OPT_PTR, type, member,               \
                       &harness_string_schema, 0, CYAML_UNLIMITED)

static const cyaml_schema_field_t harness_image_fields[] = {
    CYAML_FIELD_BOOL("valid", CYAML_FLAG_DEFAULT, struct harness_image_yaml,
                     valid),
    HARNESS_STR("version", struct harness_image_yaml, version),
    CYAML_FIELD_UINT("build", HARNESS_OPT, struct harness_image_yaml, build),
    HARNESS_STR("ue", struct harness_image_yaml, ue),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t harness_state_fields[] = {
    HARNESS_STR("boot", struct harness_state_yaml, boot),
    CYAML_FIELD_MAPPING_PTR("fff", HARNESS_OPT_PTR, struct harness_state_yaml,
                            fff, harness_image_fields),
    CYAML_FIELD_MAPPING_PTR("updater", HARNESS_OPT_PTR,
                            struct harness_state_yaml, updater,
                            harness_image_fields),
    CYAML_FIELD_MAPPING_PTR("bootrom", HARNESS_OPT_PTR,
                            struct harness_state_yaml, bootrom,
                            harness_image_fields),
    HARNESS_STR("upgrade_status", struct harness_state_yaml, upgrade_status),
    HARNESS_STR("fail_reason", struct harness_state_yaml, fail_reason),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t harness_pkg_fields[] = {
    HARNESS_STR("version", struct harness_pkg_yaml, version),
    CYAML_FIELD_UINT("build", HARNESS_OPT, struct harness_pkg_yaml, build),
    HARNESS_STR("family", struct harness_pkg_yaml, family),
    CYAML_FIELD_UINT("size", HARNESS_OPT, struct harness_pkg_yaml, size),
    CYAML_FIELD_BOOL("no_pack", HARNESS_OPT, struct harness_pkg_yaml, no_pack),
    CYAML_FIELD_UINT_PTR("corrupt_at", HARNESS_OPT_PTR,
                         struct harness_pkg_yaml, corrupt_at),
    CYAML_FIELD_UINT_PTR("truncate", HARNESS_OPT_PTR, struct harness_pkg_yaml,
                         truncate),
    CYAML_FIELD_BOOL("missing", HARNESS_OPT, struct harness_pkg_yaml, missing),
    CYAML_FIELD_BOOL("updater_elf", HARNESS_OPT, struct harness_pkg_yaml,
                     updater_elf),
    HARNESS_STRSEQ("records", struct harness_pkg_yaml, records),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t harness_updater_fields[] = {
    CYAML_FIELD_ENUM("kind", HARNESS_OPT, struct harness_updater_yaml, kind,
                     harness_updater_strings, HARNESS_N(harness_updater_strings)),
    HARNESS_STR("command", struct harness_updater_yaml, command),
    HARNESS_STRSEQ("args", struct harness_updater_yaml, args),
    CYAML_FIELD_BOOL("force", HARNESS_OPT, struct harness_updater_yaml, force),
    CYAML_FIELD_BOOL("no_updater_elf", HARNESS_OPT,
                     struct harness_updater_yaml, no_updater_elf),
    CYAML_FIELD_FLOAT("timeout_scale", HARNESS_OPT,
                      struct harness_updater_yaml, timeout_scale),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t harness_expect_fields[] = {
    HARNESS_STR("result", struct harness_expect_yaml, result),
    HARNESS_STR("error", struct harness_expect_yaml, error),
    CYAML_FIELD_INT_PTR("exit", HARNESS_OPT_PTR, struct harness_expect_yaml,
                        exit),
    HARNESS_STR("mode", struct harness_expect_yaml, mode),
    HARNESS_STR("version", struct harness_expect_yaml, version),
    CYAML_FIELD_UINT("build", HARNESS_OPT, struct harness_expect_yaml, build),
    HARNESS_STRSEQ("output_contains", struct harness_expect_yaml,
                   output_contains),
    HARNESS_STRSEQ("never_sent", struct harness_expect_yaml, never_sent),
    CYAML_FIELD_BOOL("no_stp", HARNESS_OPT, struct harness_expect_yaml,
                     no_stp),
    CYAML_FIELD_END,
};

#define HARNESS_RUN_PARTS(type)                                             \
  CYAML_FIELD_MAPPING_PTR("updater", HARNESS_OPT_PTR, type, updater,        \
                          harness_updater_fields),                          \
      CYAML_FIELD_SEQUENCE("faults", HARNESS_OPT_PTR, type, faults,         \
                           &sim_fault_yaml_schema, 0, CYAML_UNLIMITED),     \
      CYAML_FIELD_MAPPING_PTR("expect", HARNESS_OPT_PTR, type, expect,      \
                              harness_expect_fields)

static const cyaml_schema_field_t harness_run_fields[] = {
    HARNESS_STR("label", struct harness_run_yaml, label),
    HARNESS_STR("recap", struct harness_run_yaml, recap),
    CYAML_FIELD_BOOL("focus", HARNESS_OPT, struct harness_run_yaml, focus),
    CYAML_FIELD_BOOL("power_cycle", HARNESS_OPT, struct harness_run_yaml,
                     power_cycle),
    HARNESS_RUN_PARTS(struct harness_run_yaml),
    CYAML_FIELD_FLOAT("bound", HARNESS_OPT, struct harness_run_yaml, bound),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t harness_run_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct harness_run_yaml,
                        harness_run_fields),
};

static const cyaml_schema_field_t harness_scenario_fields[] = {
    HARNESS_STR("name", struct harness_scenario, name),
    HARNESS_STR("mode", struct harness_scenario, mode),
    HARNESS_STR("id", struct harness_scenario, id),
    CYAML_FIELD_ENUM("verdict", CYAML_FLAG_DEFAULT, struct harness_scenario,
                     verdict, harness_verdict_strings,
                     HARNESS_N(harness_verdict_strings)),
    HARNESS_STR("summary", struct harness_scenario, summary),
    HARNESS_STRSEQ("story", struct harness_scenario, story),
    HARNESS_STR("skip", struct harness_scenario, skip),
    CYAML_FIELD_ENUM("profile", HARNESS_OPT, struct harness_scenario, profile,
                     harness_profile_strings,
                     HARNESS_N(harness_profile_strings)),
    HARNESS_STR("state", struct harness_scenario, state),
    CYAML_FIELD_MAPPING_PTR("state_set", HARNESS_OPT_PTR,
                            struct harness_scenario, state_set,
                            harness_state_fields),
    CYAML_FIELD_MAPPING_PTR("package", HARNESS_OPT_PTR,
                            struct harness_scenario, package,
                            harness_pkg_fields),
    CYAML_FIELD_FLOAT("bound", HARNESS_OPT, struct harness_scenario, bound),
    CYAML_FIELD_ENUM("rerun", HARNESS_OPT, struct harness_scenario, rerun,
                     harness_rerun_strings, HARNESS_N(harness_rerun_strings)),
    CYAML_FIELD_BOOL("rerun_force", HARNESS_OPT, struct harness_scenario,
                     rerun_force),
    HARNESS_RUN_PARTS(struct harness_scenario),
    CYAML_FIELD_SEQUENCE("runs", HARNESS_OPT_PTR, struct harness_scenario,
                         runs, &harness_run_schema, 1, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t harness_scenario_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct harness_scenario,
                        harness_scenario_fields),
};

static int harness_key_line(const char *path, const char *key);
static int harness_ctrl_line(const char *path);
static long harness_content_line(const char *path);

/* --- libcyaml error capture --------------------------------------------- */

struct harness_cyaml_log {
  char text[1024];
  size_t len;
};

static void harness_cyaml_log_fn(cyaml_log_t level, void *ctx,
                                 const char *fmt, va_list args) {
  struct harness_cyaml_log *log = ctx;
  if (level < CYAML_LOG_ERROR || log->len + 1 >= sizeof(log->text))
    return;
  int n = vsnprintf(log->text + log->len, sizeof(log->text) - log->len, fmt,
                    args);
  if (n > 0) {
    log->len += (size_t)n;
    if (log->len >= sizeof(log->text))
      log->len = sizeof(log->text) - 1;
  }
}

static const cyaml_config_t harness_cyaml_base = {
    .log_fn = harness_cyaml_log_fn,
    .mem_fn = cyaml_mem,
    .log_level = CYAML_LOG_ERROR,
    .flags = CYAML_CFG_DEFAULT,
};

/*
 * libcyaml logs e.g.
 *   "Load: Unexpected key: bogus\nLoad: Backtrace:\n  in mapping field
 *    'bound' (line: 2, column: 8)\n"
 * The first message is the reason, the first "(line: N" is the innermost
 * context.
 */
static void harness_cyaml_error(const char *path, const char *log,
                                cyaml_err_t e, char *err, size_t errcap) {
  char reason[256] = "";
  const char *p = log;
  if (strncmp(p, "Load: ", 6) == 0)
    p += 6;
  size_t n = strcspn(p, "\n");
  if (n >= sizeof(reason))
    n = sizeof(reason) - 1;
  memcpy(reason, p, n);
  reason[n] = '\0';
  if (!reason[0])
    snprintf(reason, sizeof(reason), "%s", cyaml_strerror(e));

  char where[128] = "";
  const char *in = strstr(log, "  in ");
  if (in) {
    in += 5;
    size_t wn = strcspn(in, "(\n");
    while (wn > 0 && in[wn - 1] == ' ')
      wn--;
    if (wn >= sizeof(where))
      wn = sizeof(where) - 1;
    memcpy(where, in, wn);
    where[wn] = '\0';
  }
  const char *l = strstr(log, "(line: ");
  /* "Unexpected key: K" points at the enclosing mapping; the key's own
   * line is more useful. */
  const char *uk = strstr(log, "Unexpected key: ");
  if (uk) {
    char key[64];
    size_t kn = strcspn(uk + 16, "\n");
    if (kn < sizeof(key)) {
      memcpy(key, uk + 16, kn);
      key[kn] = '\0';
      int kl = harness_key_line(path, key);
      if (kl > 0) {
        snprintf(err, errcap, "%s:%d: unknown key '%s'", path, kl, key);
        return;
      }
    }
  }
  if (!l) {
    int cl = harness_ctrl_line(path);
    if (cl > 0) {
      snprintf(err, errcap, "%s:%d: %s", path, cl, reason);
      return;
    }
  }
  /* libyaml syntax errors come as "... at line N" in the message itself. */
  const char *l2 = strstr(log, "line ");
  long line = 0;
  if (l)
    line = strtol(l + 7, NULL, 10);
  else if (l2)
    line = strtol(l2 + 5, NULL, 10);
  if (line <= 0) {
    /* No line in libcyaml's log (e.g. the document is not a mapping at
     * all): point at the first line with content. */
    line = harness_content_line(path);
    if (!where[0] && strstr(reason, "Expecting MAPPING"))
      snprintf(reason, sizeof(reason),
               "not a scenario (expected a YAML mapping at the top)");
  }
  snprintf(err, errcap, "%s:%ld: %s%s%s%s", path, line, reason,
           where[0] ? " (in " : "", where, where[0] ? ")" : "");
  /* Strip a trailing colon left by libcyaml's phrasing. */
  size_t el = strlen(err);
  while (el > 0 && (err[el - 1] == ':' || err[el - 1] == ' '))
    err[--el] = '\0';
}

/* --- semantic checks ----------------------------------------------------- */

/* Line (1-based) of the first line whose key is `key`, or 0. */
static int harness_key_line(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char buf[1024];
  int line = 0, found = 0;
  size_t kl = strlen(key);
  while (fgets(buf, sizeof(buf), f)) {
    line++;
    const char *p = buf;
    while (*p == ' ' || *p == '-')
      p++;
    if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
      found = line;
      break;
    }
  }
  fclose(f);
  return found;
}

/* Line (1-based) of the first line that is neither blank nor a comment;
 * 1 when there is none. */
static long harness_content_line(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 1;
  char buf[1024];
  long line = 0, found = 0;
  while (!found && fgets(buf, sizeof(buf), f)) {
    line++;
    const char *p = buf + strspn(buf, " \t\r\n");
    if (*p && *p != '#')
      found = line;
  }
  fclose(f);
  return found > 0 ? found : 1;
}

/* Line of the first control byte libyaml refuses, or 0. */
static int harness_ctrl_line(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  int line = 1, c, found = 0;
  while ((c = fgetc(f)) != EOF) {
    if (c == '\n')
      line++;
    else if ((c < 0x20 && c != '\r' && c != '\t') || c == 0x7f) {
      found = line;
      break;
    }
  }
  fclose(f);
  return found;
}

static int harness_fail(const char *path, const char *key, char *err,
                        size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int harness_fail(const char *path, const char *key, char *err,
                        size_t errcap, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  int line = key ? harness_key_line(path, key) : 0;
  if (line > 0)
    snprintf(err, errcap, "%s:%d: %s", path, line, msg);
  else
    snprintf(err, errcap, "%s: %s", path, msg);
  return -1;
}

static const char *const harness_mode_words[] = {
    "ffh", "ffh-elf", "fff", "updater", "recovery",
};

int harness_mode_parse(const char *word) {
  if (strcmp(word, "off") == 0 || strcmp(word, "none") == 0)
    return -1;
  for (size_t i = 0; i < HARNESS_N(harness_mode_words); i++)
    if (strcmp(word, harness_mode_words[i]) == 0)
      return (int)i;
  return -2;
}

const char *harness_mode_word(int smod) {
  if (smod >= 0 && (size_t)smod < HARNESS_N(harness_mode_words))
    return harness_mode_words[smod];
  return "off";
}

static int harness_boot_parse(const char *word, enum sim_boot *out) {
  static const struct {
    const char *w;
    enum sim_boot b;
  } map[] = {{"ffh", SIM_BOOT_FFH},
             {"fff", SIM_BOOT_FFF},
             {"updater", SIM_BOOT_UPDATER},
             {"recovery", SIM_BOOT_RECOVERY}};
  for (size_t i = 0; i < HARNESS_N(map); i++)
    if (strcmp(word, map[i].w) == 0) {
      *out = map[i].b;
      return 0;
    }
  return -1;
}

static bool harness_version_ok(const char *v) {
  unsigned a, b, c, d;
  char tail;
  return sscanf(v, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4;
}

static int harness_check_expect(const char *path,
                                const struct harness_expect_yaml *e,
                                char *err, size_t errcap) {
  if (!e)
    return 0;
  if (e->result && strcmp(e->result, "success") != 0 &&
      strcmp(e->result, "error") != 0 && strcmp(e->result, "any") != 0)
    return harness_fail(path, "result", err, errcap,
                        "expect.result must be success, error or any, not "
                        "'%s'",
                        e->result);
  if (e->mode && harness_mode_parse(e->mode) == -2)
    return harness_fail(path, "mode", err, errcap,
                        "expect.mode '%s' is not one of off, ffh, ffh-elf, "
                        "fff, updater, recovery",
                        e->mode);
  if (e->version && strcmp(e->version, "package") != 0 &&
      strcmp(e->version, "old") != 0 && !harness_version_ok(e->version))
    return harness_fail(path, "version", err, errcap,
                        "expect.version must be package, old or A.B.C.D, not "
                        "'%s'",
                        e->version);
  if (e->error && strncmp(e->error, "E_", 2) != 0)
    return harness_fail(path, "error", err, errcap,
                        "expect.error '%s' is not a named error (E_...)",
                        e->error);
  return 0;
}

static int harness_check_updater(const char *path,
                                 const struct harness_updater_yaml *u,
                                 char *err, size_t errcap) {
  if (!u)
    return 0;
  if (u->kind == HARNESS_UPDATER_EXTERNAL && (!u->command || !u->command[0]))
    return harness_fail(path, "kind", err, errcap,
                        "an external updater needs a command (with {pty})");
  if (u->kind == HARNESS_UPDATER_EXTERNAL && !strstr(u->command, "{pty}"))
    return harness_fail(path, "command", err, errcap,
                        "the external command must contain {pty}");
  if (!(u->timeout_scale >= 0 && u->timeout_scale <= HARNESS_SCALE_MAX))
    return harness_fail(path, "timeout_scale", err, errcap,
                        "updater.timeout_scale %g out of range (0..%g)",
                        u->timeout_scale, HARNESS_SCALE_MAX);
  return 0;
}

static int harness_check_faults(const char *path, const struct sim_fault *f,
                                unsigned n, char *err, size_t errcap) {
  if (n > HARNESS_FAULTS_MAX)
    return harness_fail(path, "faults", err, errcap,
                        "%u faults in one run, at most %u", n,
                        HARNESS_FAULTS_MAX);
  for (unsigned i = 0; i < n; i++) {
    char why[256];
    const char *key = NULL;
    if (sim_fault_check_ex(&f[i], &key, why, sizeof(why)) != 0) {
      return harness_fail(path, key ? key : "faults", err, errcap,
                          "fault %u%s%s: %s", i + 1, f[i].name[0] ? " " : "",
                          f[i].name, why);
    }
  }
  return 0;
}

/* A bound in virtual seconds: positive, finite and at most a month (a
 * bigger one overflows the microsecond clock or means a typo). 0 is
 * "the default" and checked by the caller. */
static bool harness_bound_ok(double b) {
  return b == 0 || (b > 0 && b <= HARNESS_BOUND_MAX);
}

/* The starting state's boot selection and the package's options. */
static int harness_check_state_pkg(const struct harness_scenario *s,
                                   char *err, size_t errcap) {
  const char *path = s->path;
  if (s->state_set && s->state_set->boot) {
    enum sim_boot b;
    if (harness_boot_parse(s->state_set->boot, &b) != 0)
      return harness_fail(path, "boot", err, errcap,
                          "state_set.boot '%s' is not ffh, fff, updater or "
                          "recovery",
                          s->state_set->boot);
  }
  if (!s->package)
    return 0;
  if (s->package->version && !harness_version_ok(s->package->version))
    return harness_fail(path, "version", err, errcap,
                        "package.version '%s' is not A.B.C.D",
                        s->package->version);
  for (unsigned i = 0; i < s->package->records_count; i++) {
    const char *r = s->package->records[i];
    if (strcmp(r, "boot") && strcmp(r, "updater") && strcmp(r, "fff") &&
        strcmp(r, "fs"))
      return harness_fail(path, "records", err, errcap,
                          "package.records: '%s' is not boot, updater, fff "
                          "or fs",
                          r);
  }
  return 0;
}

/* The package's numbers in range. */
static int harness_check_pkg_ranges(const struct harness_scenario *s,
                                    char *err, size_t errcap) {
  const char *path = s->path;
  if (!s->package)
    return 0;
  if (s->package->size > HARNESS_PKG_MAX)
    return harness_fail(path, "size", err, errcap,
                        "package.size %llu out of range (at most %u bytes)",
                        (unsigned long long)s->package->size,
                        HARNESS_PKG_MAX);
  if (s->package->corrupt_at && *s->package->corrupt_at >= HARNESS_PKG_MAX)
    return harness_fail(path, "corrupt_at", err, errcap,
                        "package.corrupt_at %llu out of range (below %u)",
                        (unsigned long long)*s->package->corrupt_at,
                        HARNESS_PKG_MAX);
  if (s->package->truncate && *s->package->truncate > HARNESS_PKG_MAX)
    return harness_fail(path, "truncate", err, errcap,
                        "package.truncate %llu out of range (at most %u)",
                        (unsigned long long)*s->package->truncate,
                        HARNESS_PKG_MAX);
  return 0;
}

/* Run i (0-based) of the scenario: updater, expect, faults, bound. */
static int harness_check_run(const struct harness_scenario *s, unsigned i,
                             char *err, size_t errcap) {
  const char *path = s->path;
  struct harness_run_yaml r;
  harness_scenario_run(s, i, &r);
  if (harness_check_updater(path, r.updater, err, errcap) ||
      harness_check_expect(path, r.expect, err, errcap) ||
      harness_check_faults(path, r.faults, r.faults_count, err, errcap))
    return -1;
  if (!r.expect && !s->skip)
    return harness_fail(path, "runs", err, errcap,
                        "run %u has no `expect`", i + 1);
  if (!harness_bound_ok(r.bound))
    return harness_fail(path, "bound", err, errcap,
                        "run %u: bound: %g out of range (seconds, more than "
                        "0 and at most %g)",
                        i + 1, r.bound, HARNESS_BOUND_MAX);
  if (r.expect && r.expect->exit &&
      (*r.expect->exit < 0 || *r.expect->exit > 255))
    return harness_fail(path, "exit", err, errcap,
                        "run %u: expect.exit %d out of range (0..255)",
                        i + 1, *r.expect->exit);
  return 0;
}

/* A faults.md id like F01. */
static bool harness_mode_id_ok(const char *m) {
  return m[0] == 'F' && isdigit((unsigned char)m[1]) &&
         isdigit((unsigned char)m[2]) && !m[3];
}

static int harness_scenario_check(const struct harness_scenario *s,
                                  char *err, size_t errcap) {
  const char *path = s->path;
  bool shorthand = s->updater || s->faults_count || s->expect;
  if (s->runs_count && shorthand)
    return harness_fail(path, "runs", err, errcap,
                        "use either `runs` or top-level updater/faults/expect, "
                        "not both");
  if (!s->runs_count && !s->expect && !s->skip)
    return harness_fail(path, NULL, err, errcap,
                        "missing `expect` (or `runs`): a scenario must say "
                        "what it expects");
  if (s->mode && !harness_mode_id_ok(s->mode))
    return harness_fail(path, "mode", err, errcap,
                        "mode '%s' is not a faults.md id like F01", s->mode);
  if (!harness_bound_ok(s->bound))
    return harness_fail(path, "bound", err, errcap,
                        "bound: %g out of range (seconds, more than 0 and at "
                        "most %g)",
                        s->bound, HARNESS_BOUND_MAX);
  if (s->runs_count > HARNESS_RUNS_MAX)
    return harness_fail(path, "runs", err, errcap, "%u runs, at most %u",
                        s->runs_count, HARNESS_RUNS_MAX);
  if (harness_check_pkg_ranges(s, err, errcap) != 0 ||
      harness_check_state_pkg(s, err, errcap) != 0)
    return -1;
  unsigned n = harness_scenario_run_count(s);
  for (unsigned i = 0; i < n; i++)
    if (harness_check_run(s, i, err, errcap) != 0)
      return -1;
  return 0;
}

/* --- --safe: scenarios from strangers ------------------------------------ */

/* A path that stays inside the scenario's folder: relative, no "..". */
static bool harness_path_inside(const char *p) {
  if (!p || p[0] == '/' || p[0] == '~')
    return false;
  for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
    if ((c == p || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
      return false;
  return true;
}

int harness_scenario_check_safe(const struct harness_scenario *s, char *err,
                                size_t errcap) {
  const char *path = s->path;
  /* A named state is a file name in the fixtures' states folder. */
  if (s->state && (strchr(s->state, '/') || s->state[0] == '.'))
    return harness_fail(path, "state", err, errcap,
                        "--safe: state '%s' is not a plain state name",
                        s->state);
  unsigned n = harness_scenario_run_count(s);
  for (unsigned i = 0; i < n; i++) {
    struct harness_run_yaml r;
    harness_scenario_run(s, i, &r);
    if (!r.updater)
      continue;
    if (r.updater->kind == HARNESS_UPDATER_EXTERNAL || r.updater->command)
      return harness_fail(path, "command", err, errcap,
                          "--safe: run %u runs a command (%s); refused", i + 1,
                          r.updater->command ? r.updater->command
                                             : "external updater");
    for (unsigned k = 0; k < r.updater->args_count; k++) {
      const char *a = r.updater->args[k];
      const char *v = strchr(a, '=') ? strchr(a, '=') + 1 : a;
      if ((strchr(v, '/') || strstr(v, "..")) && !harness_path_inside(v))
        return harness_fail(path, "args", err, errcap,
                            "--safe: run %u: argument '%s' names a path "
                            "outside the scenario's folder; refused",
                            i + 1, a);
    }
  }
  return 0;
}

/* --- load/free ----------------------------------------------------------- */

void harness_scenario_free(struct harness_scenario *s) {
  if (!s)
    return;
  free(s->path);
  s->path = NULL;
  cyaml_free(&harness_cyaml_base, &harness_scenario_schema, s, 0);
}

struct harness_scenario *harness_scenario_load(const char *path, char *err,
                                               size_t errcap) {
  struct harness_cyaml_log log = {.len = 0};
  log.text[0] = '\0';
  cyaml_config_t cfg = harness_cyaml_base;
  cfg.log_ctx = &log;

  /* A regular file of sane size only: a FIFO or a device would block or
   * never end (O_NONBLOCK: opening a FIFO must not wait for a writer). */
  int probe = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (probe < 0) {
    snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat pst;
  if (fstat(probe, &pst) != 0 || !S_ISREG(pst.st_mode)) {
    close(probe);
    snprintf(err, errcap, "%s: not a regular file", path);
    return NULL;
  }
  close(probe);
  if ((uint64_t)pst.st_size > HARNESS_SCENARIO_FILE_MAX) {
    snprintf(err, errcap, "%s: %llu bytes, more than a scenario may hold (%u)",
             path, (unsigned long long)pst.st_size,
             HARNESS_SCENARIO_FILE_MAX);
    return NULL;
  }

  struct harness_scenario *s = NULL;
  cyaml_err_t e = cyaml_load_file(path, &cfg, &harness_scenario_schema,
                                  (cyaml_data_t **)&s, NULL);
  if (e != CYAML_OK) {
    harness_cyaml_error(path, log.text, e, err, errcap);
    return NULL;
  }
  if (!s) {
    snprintf(err, errcap, "%s: empty scenario file", path);
    return NULL;
  }
  s->path = strdup(path);
  if (!s->path) {
    snprintf(err, errcap, "%s: out of memory", path);
    goto out_free_scenario;
  }
  if (s->bound == 0)
    s->bound = HARNESS_BOUND_DEFAULT;
  if (harness_scenario_check(s, err, errcap) != 0)
    goto out_free_scenario;
  return s;

out_free_scenario:
  harness_scenario_free(s);
  return NULL;
}

unsigned harness_scenario_run_count(const struct harness_scenario *s) {
  return s->runs_count ? s->runs_count : 1;
}

void harness_scenario_run(const struct harness_scenario *s, unsigned i,
                          struct harness_run_yaml *out) {
  if (s->runs_count) {
    *out = s->runs[i];
  } else {
    memset(out, 0, sizeof(*out));
    out->updater = s->updater;
    out->faults = s->faults;
    out->faults_count = s->faults_count;
    out->expect = s->expect;
  }
  if (out->bound == 0)
    out->bound = s->bound;
}

/* --- starting state ------------------------------------------------------ */

static void harness_apply_image(struct sim_image *img,
                                const struct harness_image_yaml *y) {
  if (!y)
    return;
  img->valid = y->valid;
  if (y->version)
    snprintf(img->version, sizeof(img->version), "%s", y->version);
  if (y->build)
    img->build = y->build;
  if (y->ue)
    snprintf(img->ue, sizeof(img->ue), "%s", y->ue);
}

int harness_scenario_state(const struct harness_scenario *s,
                           const char *fixtures, struct sim_state *out,
                           char *err, size_t errcap) {
  sim_state_factory(out, s->profile);
  if (s->state) {
    char path[1024];
    char why[256] = "";
    snprintf(path, sizeof(path), "%s/states/%s.json", fixtures, s->state);
    struct sim_state loaded;
    memset(&loaded, 0, sizeof(loaded));
    if (sim_state_load(path, &loaded, why, sizeof(why)) != 0) {
      harness_fail(s->path, "state", err, errcap,
                   "named state '%s' (%s): %s", s->state, path,
                   why[0] ? why : strerror(errno));
      return -1;
    }
    sim_state_release(out);
    *out = loaded;
  }
  const struct harness_state_yaml *y = s->state_set;
  if (y) {
    if (y->boot)
      (void)harness_boot_parse(y->boot, &out->boot_select);
    harness_apply_image(&out->fff, y->fff);
    harness_apply_image(&out->updater, y->updater);
    harness_apply_image(&out->bootrom, y->bootrom);
    if (y->upgrade_status)
      snprintf(out->upgrade_status, sizeof(out->upgrade_status), "%s",
               y->upgrade_status);
    if (y->fail_reason)
      snprintf(out->fail_reason, sizeof(out->fail_reason), "%s",
               y->fail_reason);
  }
  out->profile = s->profile;
  return 0;
}

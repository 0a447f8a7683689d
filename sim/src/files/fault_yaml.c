/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault files (sim/fault_yaml.h): the libcyaml schema of one fault, which
 * scenario files embed, and the loader of a fault list, with messages in
 * the words of the file.
 */
#include "sim/fault_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- YAML ---------------------------------------------------------------- */

static const cyaml_strval_t sim_fault_trigger_strings[] = {
#define XX(name, word) {word, SIM_FAULT_ON_##name},
    SIM_FAULT_TRIGGER_MAP(XX)
#undef XX
};

static const cyaml_strval_t sim_fault_action_strings[] = {
#define XX(name, word) {word, SIM_FAULT_DO_##name},
    SIM_FAULT_ACTION_MAP(XX)
#undef XX
};

static const cyaml_strval_t sim_fault_mode_strings[] = {
    {"any", SIM_FAULT_MODE_ANY},         {"ffh", SIM_FAULT_MODE_FFH},
    {"ffh-elf", SIM_FAULT_MODE_FFH_ELF}, {"fff", SIM_FAULT_MODE_FFF},
    {"updater", SIM_FAULT_MODE_UPDATER}, {"recovery", SIM_FAULT_MODE_RECOVERY},
};

#define SIM_OPT CYAML_FLAG_OPTIONAL

const cyaml_schema_field_t sim_fault_yaml_fields[] = {
    CYAML_FIELD_STRING("name", SIM_OPT, struct sim_fault, name, 0),
    CYAML_FIELD_ENUM("when", CYAML_FLAG_DEFAULT, struct sim_fault, when,
                     sim_fault_trigger_strings,
                     CYAML_ARRAY_LEN(sim_fault_trigger_strings)),
    CYAML_FIELD_STRING("match", SIM_OPT, struct sim_fault, match, 0),
    CYAML_FIELD_UINT("first", SIM_OPT, struct sim_fault, first),
    CYAML_FIELD_UINT("last", SIM_OPT, struct sim_fault, last),
    CYAML_FIELD_INT("op", SIM_OPT, struct sim_fault, op),
    CYAML_FIELD_ENUM("mode", SIM_OPT, struct sim_fault, mode,
                     sim_fault_mode_strings,
                     CYAML_ARRAY_LEN(sim_fault_mode_strings)),
    CYAML_FIELD_UINT("offset", SIM_OPT, struct sim_fault, offset),
    CYAML_FIELD_FLOAT("percent", SIM_OPT, struct sim_fault, percent),
    CYAML_FIELD_UINT("size", SIM_OPT, struct sim_fault, size),
    CYAML_FIELD_UINT("after_us", SIM_OPT, struct sim_fault, after_us),
    CYAML_FIELD_ENUM("do", CYAML_FLAG_DEFAULT, struct sim_fault, action,
                     sim_fault_action_strings,
                     CYAML_ARRAY_LEN(sim_fault_action_strings)),
    CYAML_FIELD_STRING("text", SIM_OPT, struct sim_fault, text, 0),
    CYAML_FIELD_UINT("delay_us", SIM_OPT, struct sim_fault, delay_us),
    CYAML_FIELD_UINT("count", SIM_OPT, struct sim_fault, count),
    CYAML_FIELD_END};

const cyaml_schema_value_t sim_fault_yaml_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sim_fault,
                        sim_fault_yaml_fields),
};

static const cyaml_schema_value_t sim_fault_list_schema = {
    CYAML_VALUE_SEQUENCE(CYAML_FLAG_POINTER, struct sim_fault,
                         &sim_fault_yaml_schema, 0, CYAML_UNLIMITED),
};

/* libcyaml reports problems (with line numbers in recent versions) through
 * its log callback; keep the first error-level lines for the caller. */
struct sim_fault_log {
  char *buf;
  size_t cap;
  size_t len;
};

static void sim_fault_yaml_log(cyaml_log_t level, void *ctx, const char *fmt,
                               va_list args)
{
  struct sim_fault_log *log = ctx;
  if (level < CYAML_LOG_ERROR || !log || log->len + 2 >= log->cap)
    return;
  if (log->len)
    log->buf[log->len++] = '\n';
  int n = vsnprintf(log->buf + log->len, log->cap - log->len, fmt, args);
  if (n > 0)
    log->len += (size_t)n < log->cap - log->len ? (size_t)n
                                                 : log->cap - log->len - 1;
  while (log->len && (log->buf[log->len - 1] == '\n'))
    log->buf[--log->len] = '\0';
}

/* ---- libcyaml's messages, in the words of a fault file ------------------ */

/* The text after `tag` in `log`, up to the end of its line, without quotes.
 * False when `tag` is absent. */
static bool sim_fault_log_after(const char *log, const char *tag, char *out,
                                size_t cap)
{
  const char *p = strstr(log, tag);
  if (!p || !cap)
    return false;
  p += strlen(tag);
  size_t n = strcspn(p, "\n");
  if (n && *p == '\'' && p[n - 1] == '\'') {
    p++;
    n = n >= 2 ? n - 2 : 0;
  }
  if (n >= cap)
    n = cap - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return true;
}

/* The innermost "(line: N" of libcyaml's backtrace, 0 if none. */
static unsigned sim_fault_log_line(const char *log)
{
  const char *p = strstr(log, "(line: ");
  return p ? (unsigned)strtoul(p + 7, NULL, 10) : 0;
}

/* The line, at or after `from`, where `key:` stands as a mapping key;
 * `from` when it cannot be found (libcyaml names the mapping's line). */
static unsigned sim_fault_key_line(const char *path, unsigned from,
                                   const char *key)
{
  char line[512];
  unsigned no = 0;
  size_t klen = strlen(key);
  FILE *f = fopen(path, "r");
  if (!f || !klen)
    return from;
  while (fgets(line, sizeof line, f)) {
    const char *p = line;
    if (++no < from)
      continue;
    p += strspn(p, " \t");
    if (*p == '-') {
      p++;
      p += strspn(p, " \t");
    }
    if (!strncmp(p, key, klen) && (p[klen] == ':' || p[klen] == ' ')) {
      fclose(f);
      return no;
    }
  }
  fclose(f);
  return from;
}

/* The line of the `index`th (0-based) entry of the top-level sequence:
 * lines starting with "- " at the indentation of the first one. 0 when it
 * cannot be found (a flow-style list). */
static unsigned sim_fault_entry_line(const char *path, unsigned index)
{
  char line[512];
  unsigned no = 0, seen = 0;
  long indent = -1;
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f)) {
    no++;
    size_t sp = strspn(line, " ");
    if (line[sp] != '-' || (line[sp + 1] != ' ' && line[sp + 1] != '\n'))
      continue;
    if (indent < 0)
      indent = (long)sp;
    if ((long)sp != indent)
      continue;
    if (seen++ == index) {
      fclose(f);
      return no;
    }
  }
  fclose(f);
  return 0;
}

static void sim_fault_list_keys(char *out, size_t cap)
{
  size_t len = 0;
  out[0] = '\0';
  for (const cyaml_schema_field_t *fl = sim_fault_yaml_fields; fl->key; fl++) {
    int n = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", fl->key);
    if (n < 0 || (size_t)n >= cap - len)
      break;
    len += (size_t)n;
  }
}

static void sim_fault_list_words(const cyaml_strval_t *v, size_t nv, char *out,
                                 size_t cap)
{
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < nv; i++) {
    int n = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", v[i].str);
    if (n < 0 || (size_t)n >= cap - len)
      break;
    len += (size_t)n;
  }
}

/* "FILE:LINE: what went wrong" from libcyaml's error and log lines. */
static void sim_fault_yaml_message(const char *path, cyaml_err_t e,
                                   const char *log, char *err, size_t errcap)
{
  char word[128], field[64], list[400], what[600];
  unsigned line = sim_fault_log_line(log);

  if (sim_fault_log_after(log, "Unexpected key: ", word, sizeof word)) {
    sim_fault_list_keys(list, sizeof list);
    line = sim_fault_key_line(path, line, word);
    snprintf(what, sizeof what, "unknown key \"%s\" (valid keys: %s)", word,
             list);
  } else if (sim_fault_log_after(log, "Missing required mapping field: ", word,
                                 sizeof word)) {
    const char *entry = strstr(log, "in sequence entry");
    if (entry)
      line = sim_fault_log_line(entry);
    snprintf(what, sizeof what,
             "a fault without \"%s\" (every fault needs \"when\" and \"do\")",
             word);
  } else if (strstr(log, " value: ") &&
             sim_fault_log_after(log, "in mapping field ", field,
                                 sizeof field)) {
    const char *v = strstr(log, " value: ");
    sim_fault_log_after(v, " value: ", word, sizeof word);
    field[strcspn(field, " ")] = '\0';
    if (field[0] == '\'' && field[1]) {
      memmove(field, field + 1, strlen(field));
      field[strcspn(field, "'")] = '\0';
    }
    list[0] = '\0';
    if (!strcmp(field, "when"))
      sim_fault_list_words(sim_fault_trigger_strings,
                           CYAML_ARRAY_LEN(sim_fault_trigger_strings), list,
                           sizeof list);
    else if (!strcmp(field, "do"))
      sim_fault_list_words(sim_fault_action_strings,
                           CYAML_ARRAY_LEN(sim_fault_action_strings), list,
                           sizeof list);
    else if (!strcmp(field, "mode"))
      sim_fault_list_words(sim_fault_mode_strings,
                           CYAML_ARRAY_LEN(sim_fault_mode_strings), list,
                           sizeof list);
    /* A cut list of accepted words is fine: the field is named first. */
    if (snprintf(what, sizeof what, "bad value '%s' for \"%s\"%s%s%s", word,
                 field, list[0] ? " (one of: " : "", list,
                 list[0] ? ")" : "") >= (int)sizeof what)
      what[sizeof what - 2] = ')';
  } else if (strstr(log, "Expecting SEQUENCE")) {
    snprintf(what, sizeof what,
             "expected a list of faults (\"- when: ...\" entries)");
  } else if (strstr(log, "Expecting MAPPING")) {
    sim_fault_list_keys(list, sizeof list);
    snprintf(what, sizeof what, "a fault must be a mapping of keys (%s)",
             list);
  } else {
    /* Whatever else libcyaml says: its first line, without "Load: ". */
    const char *p = log;
    if (!strncmp(p, "Load: ", 6))
      p += 6;
    size_t n = strcspn(p, "\n");
    snprintf(what, sizeof what, "%s%s%.*s", cyaml_strerror(e),
             n ? ": " : "", (int)n, p);
  }
  if (line)
    snprintf(err, errcap, "%s:%u: %s", path, line, what);
  else
    snprintf(err, errcap, "%s: %s", path, what);
}

int sim_faults_load_yaml(const char *path, struct sim_fault *faults,
                         size_t max, char *err, size_t errcap)
{
  char logbuf[1024] = "";
  struct sim_fault_log log = {logbuf, sizeof(logbuf), 0};
  cyaml_config_t cfg = {
      .log_fn = sim_fault_yaml_log,
      .log_ctx = &log,
      .mem_fn = cyaml_mem,
      .log_level = CYAML_LOG_ERROR,
      .flags = CYAML_CFG_DEFAULT,
  };
  struct sim_fault *list = NULL;
  unsigned count = 0;
  int rc = -1;

  /* Only a regular file of sane size is parsed: a FIFO or a device would
   * block or never end. O_NONBLOCK: opening a FIFO must not wait. */
  int probe = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (probe < 0) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return -1;
  }
  struct stat pst;
  if (fstat(probe, &pst) != 0 || !S_ISREG(pst.st_mode)) {
    close(probe);
    snprintf(err, errcap, "%s: not a regular file", path);
    return -1;
  }
  close(probe);
  if ((uint64_t)pst.st_size > SIM_FAULT_FILE_MAX) {
    snprintf(err, errcap, "%s: %llu bytes, more than a fault file may hold "
             "(%u)", path, (unsigned long long)pst.st_size,
             SIM_FAULT_FILE_MAX);
    return -1;
  }
  cyaml_err_t e = cyaml_load_file(path, &cfg, &sim_fault_list_schema,
                                  (cyaml_data_t **)&list, &count);
  if (e != CYAML_OK) {
    sim_fault_yaml_message(path, e, logbuf, err, errcap);
    return -1;
  }
  if (count > max) {
    snprintf(err, errcap, "%s: %u faults, at most %zu supported", path, count,
             max);
    goto out_free_list;
  }
  for (unsigned i = 0; i < count; i++) {
    char inner[200];
    const char *sim_fault_bad_key = NULL;
    if (sim_fault_check_ex(&list[i], &sim_fault_bad_key, inner,
                           sizeof(inner))) {
      unsigned line = sim_fault_entry_line(path, i);
      if (line && sim_fault_bad_key)
        line = sim_fault_key_line(path, line, sim_fault_bad_key);
      if (line)
        snprintf(err, errcap, "%s:%u: fault #%u: %s", path, line, i + 1,
                 inner);
      else
        snprintf(err, errcap, "%s: fault #%u: %s", path, i + 1, inner);
      goto out_free_list;
    }
    faults[i] = list[i];
  }
  rc = (int)count;
out_free_list:
  cyaml_free(&cfg, &sim_fault_list_schema, list, count);
  return rc;
}

/*
 * Fault records: names, consistency checks and the YAML loader.
 *
 * The YAML schema is exported (sim_fault_yaml_schema) so scenario files can
 * embed fault lists; the runtime side (matching and firing) lives in
 * modem.c next to the events that trigger it.
 */
#include "sim/fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
  const char *who = f->name[0] ? f->name : "fault";
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
    log->buf[log->len++] = ' ';
  int n = vsnprintf(log->buf + log->len, log->cap - log->len, fmt, args);
  if (n > 0)
    log->len += (size_t)n < log->cap - log->len ? (size_t)n
                                                 : log->cap - log->len - 1;
  while (log->len && (log->buf[log->len - 1] == '\n'))
    log->buf[--log->len] = '\0';
}

int sim_faults_load_yaml(const char *path, struct sim_fault *faults,
                         size_t max, char *err, size_t errcap)
{
  char logbuf[512] = "";
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

  cyaml_err_t e = cyaml_load_file(path, &cfg, &sim_fault_list_schema,
                                  (cyaml_data_t **)&list, &count);
  if (e != CYAML_OK) {
    snprintf(err, errcap, "%s: %s%s%s", path, cyaml_strerror(e),
             logbuf[0] ? ": " : "", logbuf);
    return -1;
  }
  if (count > max) {
    snprintf(err, errcap, "%s: %u faults, at most %zu supported", path, count,
             max);
    goto out_free_list;
  }
  for (unsigned i = 0; i < count; i++) {
    char inner[200];
    if (sim_fault_check(&list[i], inner, sizeof(inner))) {
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

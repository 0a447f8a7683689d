/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tables generated from SQN_ERR_MAP, SQN_NEXT_MAP and SQN_EXIT_MAP.
 */
#include "sqnup/err.h"

#include <stddef.h>

struct sqn_err_row {
  int code;
  const char *name;
  const char *text;
  const char *advice;
  enum sqn_exit exit;
  enum sqn_next next;
  bool safe;
};

/* SQN_ERR_TERSE (the microcontroller build sets it): no per-error
 * explanation and advice, 5 KiB of text; sqn_strerror() then gives the
 * error's class (sqn_exit_text) and sqn_err_advice() its next step
 * (sqn_next_text), both shared by several errors. */
#if defined(SQN_ERR_TERSE) && SQN_ERR_TERSE
#define SQN_ERR_TEXTS(text, advice) NULL, NULL
#else
#define SQN_ERR_TEXTS(text, advice) (text), (advice)
#endif

static const struct sqn_err_row sqn_err_rows[] = {
#define XX(name, val, cls, safe, next, text, advice)                          \
  {(val), "E_" #name, SQN_ERR_TEXTS(text, advice), SQN_EXIT_##cls,            \
   SQN_NEXT_##next, (safe)},
    SQN_ERR_MAP(XX)
#undef XX
};

static const struct sqn_err_row *sqn_err_find(int err) {
  for (size_t i = 0; i < sizeof sqn_err_rows / sizeof sqn_err_rows[0]; i++)
    if (sqn_err_rows[i].code == err)
      return &sqn_err_rows[i];
  return NULL;
}

const char *sqn_err_name(int err) {
  const struct sqn_err_row *r = sqn_err_find(err);
  if (err == 0)
    return "OK";
  return r ? r->name : "E_UNKNOWN";
}

const char *sqn_strerror(int err) {
  const struct sqn_err_row *r = sqn_err_find(err);
  if (err == 0)
    return "success";
  if (!r)
    return "unknown error";
  return r->text ? r->text : sqn_exit_text(r->exit);
}

const char *sqn_err_advice(int err) {
  const struct sqn_err_row *r = sqn_err_find(err);
  if (err == 0)
    return "nothing to do";
  if (!r)
    return "report this as a bug";
  return r->advice ? r->advice : sqn_next_text(r->next);
}

enum sqn_next sqn_err_next(int err) {
  const struct sqn_err_row *r = sqn_err_find(err);
  return r ? r->next : (err == 0 ? SQN_NEXT_NONE : SQN_NEXT_RERUN);
}

const char *sqn_next_text(enum sqn_next next) {
  switch (next) {
#define XX(name, text)                                                         \
  case SQN_NEXT_##name:                                                        \
    return text;
    SQN_NEXT_MAP(XX)
#undef XX
  }
  return "?";
}

bool sqn_err_power_safe(int err) {
  const struct sqn_err_row *r = sqn_err_find(err);
  return r ? r->safe : true;
}

enum sqn_exit sqn_err_exit(int err) {
  const struct sqn_err_row *r = sqn_err_find(err);
  if (err == 0)
    return SQN_EXIT_OK;
  return r ? r->exit : SQN_EXIT_INTERNAL;
}

const char *sqn_exit_text(enum sqn_exit code) {
  switch (code) {
#define XX(name, val, text)                                                    \
  case SQN_EXIT_##name:                                                        \
    return text;
    SQN_EXIT_MAP(XX)
#undef XX
  }
  return "?";
}

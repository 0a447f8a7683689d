/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-chat script engine: parser and runner (step grammar in chat.h).
 *
 *   file --lines--> tokens --op table--> steps[] --run--> port / console
 *
 * Parsing checks everything that can be checked without the modem: the
 * op exists, its arguments have the right kinds, keywords belong to the op,
 * numbers parse, labels exist, STP flavors are known. So a script error is
 * reported as file:line before a single byte is sent.
 */
#include "chat.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Keywords that take one value after the positional arguments. */
#define HARNESS_KW_MAP(XX)                                                    \
  XX(TIMEOUT, "timeout") XX(GAP, "gap") XX(PAUSE, "pause") XX(EVERY, "every") \
  XX(MAX, "max") XX(READ, "read") XX(ELSE, "else") XX(GOTO, "goto")

enum harness_kw {
#define XX(name, word) HARNESS_KW_##name,
  HARNESS_KW_MAP(XX)
#undef XX
  HARNESS_KW_COUNT
};
static const char *const harness_kw_words[] = {
#define XX(name, word) word,
    HARNESS_KW_MAP(XX)
#undef XX
};
#define KW(name) (1u << HARNESS_KW_##name)

/*
 * Ops: XX(NAME, "word", min args, max args, arg kinds, keywords).
 * Kinds per position (the last repeats): s string, n number, w word or
 * string.
 */
#define HARNESS_CHAT_OP_MAP(XX)                                               \
  XX(OPEN, "open", 1, 1, "n", 0)                                              \
  XX(REOPEN, "reopen", 1, 1, "n", 0)                                          \
  XX(CLOSE, "close", 0, 0, "", 0)                                             \
  XX(FLUSH, "flush", 0, 0, "", 0)                                             \
  XX(SEND, "send", 1, 1, "s", 0)                                              \
  XX(READ, "read", 1, 1, "n", KW(TIMEOUT))                                    \
  XX(READ_ANY, "read-any", 0, 1, "n", KW(TIMEOUT) | KW(GAP))                  \
  XX(READ_UNTIL, "read-until", 1, 1, "s", KW(TIMEOUT) | KW(PAUSE) | KW(ELSE)) \
  XX(EXPECT_ANY, "expect-any", 1, 8, "s", KW(ELSE))                           \
  XX(EXPECT_CONTAINS, "expect-contains", 1, 1, "s", KW(ELSE))                 \
  XX(EXPECT_NOT_CONTAINS, "expect-not-contains", 1, 1, "s", KW(ELSE))         \
  XX(SLEEP, "sleep", 1, 1, "n", 0)                                            \
  XX(LOOP_UNTIL_CONTAINS, "loop-until-contains", 2, 8, "s",                   \
     KW(MAX) | KW(EVERY) | KW(READ) | KW(ELSE))                               \
  XX(STP_PUSH, "stp-push", 2, 2, "w", 0)                                      \
  XX(PRINT, "print", 1, 1, "s", 0)                                            \
  XX(PRINT_REPLY, "print-reply", 0, 0, "", 0)                                 \
  XX(FAIL, "fail", 1, 1, "s", 0)                                              \
  XX(LABEL, "label", 1, 1, "w", 0)                                            \
  XX(GOTO, "goto", 1, 1, "w", KW(MAX))                                              \
  XX(IF_CONTAINS, "if-contains", 1, 1, "s", KW(GOTO))                         \
  XX(IF_NOT_CONTAINS, "if-not-contains", 1, 1, "s", KW(GOTO))                 \
  XX(IF_SIZE_OVER, "if-size-over", 2, 2, "wn", KW(GOTO))                      \
  XX(IF_VAR, "if-var", 2, 2, "ws", KW(GOTO))                                  \
  XX(SET, "set", 2, 2, "ws", 0)                                              \
  XX(DEFAULT, "default", 2, 2, "ws", 0)

enum harness_chat_op {
#define XX(name, word, mn, mx, kinds, kws) HARNESS_CHAT_OP_##name,
  HARNESS_CHAT_OP_MAP(XX)
#undef XX
  HARNESS_CHAT_OP_COUNT
};

static const struct harness_chat_opdef {
  const char *word;
  unsigned min, max;
  const char *kinds;
  unsigned kws;
} harness_chat_ops[] = {
#define XX(name, word, mn, mx, kinds, kws) {word, mn, mx, kinds, kws},
    HARNESS_CHAT_OP_MAP(XX)
#undef XX
};

#define HARNESS_CHAT_MAX_ARGS 8

struct harness_bytes {
  uint8_t *p; /* NUL-terminated for convenience; may contain NULs */
  size_t n;
};

struct harness_chat_step {
  enum harness_chat_op op;
  unsigned line;
  unsigned nargs;
  struct harness_bytes arg[HARNESS_CHAT_MAX_ARGS];
  double num[HARNESS_CHAT_MAX_ARGS]; /* numeric value of "n" args */
  bool has_kw[HARNESS_KW_COUNT];
  struct harness_bytes kw[HARNESS_KW_COUNT];
  double kwnum[HARNESS_KW_COUNT];
  size_t target; /* step index of a goto label */
};

struct harness_chat_script {
  char *path;
  struct harness_chat_step *steps;
  size_t nsteps;
};

/* ---- parsing ---- */

static int harness_hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One token at *pp: a quoted string (escapes decoded) or a bare word.
 * Returns 1 with the token, 0 at end of line, -1 with `err`. */
static int harness_chat_token(const char **pp, struct harness_bytes *out,
                              bool *quoted, char *err, size_t errcap) {
  const char *p = *pp;
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
    p++;
  if (!*p || *p == '#')
    return 0;
  size_t cap = strlen(p) + 1;
  uint8_t *b = malloc(cap);
  size_t n = 0;
  if (!b) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  *quoted = *p == '"';
  if (*quoted) {
    p++;
    while (*p && *p != '"') {
      if (*p != '\\') {
        b[n++] = (uint8_t)*p++;
        continue;
      }
      p++;
      switch (*p) {
      case 'r': b[n++] = '\r'; p++; break;
      case 'n': b[n++] = '\n'; p++; break;
      case 't': b[n++] = '\t'; p++; break;
      case '\\': b[n++] = '\\'; p++; break;
      case '"': b[n++] = '"'; p++; break;
      case 'x': {
        int h = harness_hexval(p[1]), l = h < 0 ? -1 : harness_hexval(p[2]);
        if (h < 0 || l < 0) {
          snprintf(err, errcap, "bad \\x escape (two hex digits expected)");
          free(b);
          return -1;
        }
        b[n++] = (uint8_t)(h << 4 | l);
        p += 3;
        break;
      }
      default:
        snprintf(err, errcap, "unknown escape '\\%c'", *p ? *p : ' ');
        free(b);
        return -1;
      }
    }
    if (*p != '"') {
      snprintf(err, errcap, "unterminated string");
      free(b);
      return -1;
    }
    p++;
  } else {
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
      b[n++] = (uint8_t)*p++;
  }
  b[n] = 0;
  out->p = b;
  out->n = n;
  *pp = p;
  return 1;
}

static bool harness_parse_num(const struct harness_bytes *b, double *v) {
  char *end;
  if (b->n == 0 || strlen((const char *)b->p) != b->n)
    return false;
  errno = 0;
  *v = strtod((const char *)b->p, &end);
  return !errno && *end == '\0' && *v >= 0;
}

static void harness_step_release(struct harness_chat_step *st) {
  for (unsigned i = 0; i < HARNESS_CHAT_MAX_ARGS; i++)
    free(st->arg[i].p);
  for (unsigned i = 0; i < HARNESS_KW_COUNT; i++)
    free(st->kw[i].p);
}

void harness_chat_free(struct harness_chat_script *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nsteps; i++)
    harness_step_release(&s->steps[i]);
  free(s->steps);
  free(s->path);
  free(s);
}

/* A keyword option of a step (`timeout 5`, `goto LABEL`); 0 or -1. */
static int harness_chat_parse_kw(const char **p,
                                 const struct harness_chat_opdef *def, int kw,
                                 struct harness_chat_step *st, char *err,
                                 size_t errcap) {
  bool quoted;
  if (!(def->kws & (1u << kw))) {
    snprintf(err, errcap, "'%s' does not take '%s'", def->word,
             harness_kw_words[kw]);
    return -1;
  }
  if (st->has_kw[kw]) {
    snprintf(err, errcap, "'%s' given twice", harness_kw_words[kw]);
    return -1;
  }
  int r = harness_chat_token(p, &st->kw[kw], &quoted, err, errcap);
  if (r <= 0) {
    if (r == 0)
      snprintf(err, errcap, "'%s' needs a value", harness_kw_words[kw]);
    return -1;
  }
  st->has_kw[kw] = true;
  if (kw != HARNESS_KW_ELSE && kw != HARNESS_KW_GOTO &&
      (quoted || !harness_parse_num(&st->kw[kw], &st->kwnum[kw]))) {
    snprintf(err, errcap, "'%s' needs a number >= 0, not '%s'",
             harness_kw_words[kw], (char *)st->kw[kw].p);
    return -1;
  }
  return 0;
}

/* A positional argument of a step (kept in st, even on error); 0 or -1. */
static int harness_chat_parse_arg(const struct harness_chat_opdef *def,
                                  struct harness_bytes *tok, bool quoted,
                                  struct harness_chat_step *st, char *err,
                                  size_t errcap) {
  if (st->nargs >= def->max) {
    snprintf(err, errcap, "'%s' takes at most %u argument%s", def->word,
             def->max, def->max == 1 ? "" : "s");
    free(tok->p);
    return -1;
  }
  unsigned i = st->nargs++;
  st->arg[i] = *tok;
  size_t kl = strlen(def->kinds);
  char kind = def->kinds[i < kl ? i : kl - 1];
  if (kind == 'n' && (quoted || !harness_parse_num(tok, &st->num[i]))) {
    snprintf(err, errcap, "argument %u of '%s' must be a number, not '%s'",
             i + 1, def->word, (char *)tok->p);
    return -1;
  }
  if (kind == 's' && !quoted) {
    snprintf(err, errcap,
             "argument %u of '%s' must be a \"quoted string\", not '%s'",
             i + 1, def->word, (char *)tok->p);
    return -1;
  }
  return 0;
}

/* A parsed step is complete: enough arguments, its goto, a known flavor.
 * 1, or -1 with err. */
static int harness_chat_check_step(const struct harness_chat_opdef *def,
                                   const struct harness_chat_step *st,
                                   char *err, size_t errcap) {
  if (st->nargs < def->min) {
    snprintf(err, errcap, "'%s' needs %u argument%s", def->word, def->min,
             def->min == 1 ? "" : "s");
    return -1;
  }
  if ((def->kws & KW(GOTO)) && !st->has_kw[HARNESS_KW_GOTO]) {
    snprintf(err, errcap, "'%s' needs 'goto LABEL'", def->word);
    return -1;
  }
  if (st->op == HARNESS_CHAT_OP_STP_PUSH &&
      !harness_stp_flavor_known((char *)st->arg[1].p)) {
    snprintf(err, errcap,
             "unknown STP flavor '%s' (pycom, pycom2018, walter, "
             "walter-espidf, microchip)",
             (char *)st->arg[1].p);
    return -1;
  }
  return 1;
}

static int harness_chat_parse_line(const char *line, struct harness_chat_step *st,
                                   char *err, size_t errcap) {
  struct harness_bytes tok;
  bool quoted;
  const char *p = line;
  int r = harness_chat_token(&p, &tok, &quoted, err, errcap);
  if (r <= 0)
    return r; /* blank / comment, or error */
  int op = -1;
  for (int i = 0; i < HARNESS_CHAT_OP_COUNT && !quoted; i++)
    if (strcmp((char *)tok.p, harness_chat_ops[i].word) == 0)
      op = i;
  if (op < 0) {
    snprintf(err, errcap, "unknown step '%s'", (char *)tok.p);
    free(tok.p);
    return -1;
  }
  free(tok.p);
  const struct harness_chat_opdef *def = &harness_chat_ops[op];
  st->op = (enum harness_chat_op)op;
  bool in_kw = false;
  for (;;) {
    r = harness_chat_token(&p, &tok, &quoted, err, errcap);
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    int kw = -1;
    for (int i = 0; i < HARNESS_KW_COUNT && !quoted; i++)
      if (strcmp((char *)tok.p, harness_kw_words[i]) == 0)
        kw = i;
    if (kw >= 0) {
      free(tok.p);
      if (harness_chat_parse_kw(&p, def, kw, st, err, errcap) != 0)
        return -1;
      in_kw = true;
      continue;
    }
    if (in_kw) {
      snprintf(err, errcap, "unexpected '%s' after the options",
               (char *)tok.p);
      free(tok.p);
      return -1;
    }
    if (harness_chat_parse_arg(def, &tok, quoted, st, err, errcap) != 0)
      return -1;
  }
  return harness_chat_check_step(def, st, err, errcap);
}


static const char *harness_step_label(const struct harness_chat_step *st) {
  if (st->op == HARNESS_CHAT_OP_GOTO)
    return (const char *)st->arg[0].p;
  if (st->has_kw[HARNESS_KW_GOTO])
    return (const char *)st->kw[HARNESS_KW_GOTO].p;
  return NULL;
}

/* Open a regular file of at most `max` bytes for reading: a FIFO or a
 * device would block or never end (O_NONBLOCK: opening a FIFO does not
 * wait for a writer). NULL with a message naming the file. */
static FILE *harness_chat_open(const char *path, uint64_t max, char *err,
                               size_t errcap) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errcap, "%s: not a regular file", path);
    close(fd);
    return NULL;
  }
  if ((uint64_t)st.st_size > max) {
    snprintf(err, errcap, "%s: %llu bytes, more than %llu", path,
             (unsigned long long)st.st_size, (unsigned long long)max);
    close(fd);
    return NULL;
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    close(fd);
  }
  return f;
}

struct harness_chat_script *harness_chat_load(const char *path, char *err,
                                              size_t errcap) {
  char msg[256];
  FILE *f = harness_chat_open(path, 1024u * 1024u, err, errcap);
  if (!f)
    return NULL;
  struct harness_chat_script *s = calloc(1, sizeof *s);
  char *line = NULL;
  size_t lcap = 0, cap = 0;
  unsigned lineno = 0;
  if (!s || !(s->path = strdup(path))) {
    snprintf(err, errcap, "out of memory");
    goto out_free_script;
  }
  while (getline(&line, &lcap, f) >= 0) {
    lineno++;
    if (memchr(line, '\0', strlen(line) + 1) != line + strlen(line)) {
      snprintf(err, errcap, "%s:%u: NUL byte in script", path, lineno);
      goto out_free_script;
    }
    if (s->nsteps == cap) {
      size_t ncap = cap ? cap * 2 : 32;
      struct harness_chat_step *ns = realloc(s->steps, ncap * sizeof *ns);
      if (!ns) {
        snprintf(err, errcap, "out of memory");
        goto out_free_script;
      }
      s->steps = ns;
      cap = ncap;
    }
    struct harness_chat_step *st = &s->steps[s->nsteps];
    memset(st, 0, sizeof *st);
    st->line = lineno;
    int r = harness_chat_parse_line(line, st, msg, sizeof msg);
    if (r < 0) {
      harness_step_release(st);
      snprintf(err, errcap, "%s:%u: %s", path, lineno, msg);
      goto out_free_script;
    }
    if (r > 0)
      s->nsteps++;
  }
  if (ferror(f)) {
    snprintf(err, errcap, "%s: read error", path);
    goto out_free_script;
  }
  /* Resolve labels. */
  for (size_t i = 0; i < s->nsteps; i++) {
    const char *want = harness_step_label(&s->steps[i]);
    if (!want)
      continue;
    size_t j;
    for (j = 0; j < s->nsteps; j++)
      if (s->steps[j].op == HARNESS_CHAT_OP_LABEL &&
          strcmp((char *)s->steps[j].arg[0].p, want) == 0)
        break;
    if (j == s->nsteps) {
      snprintf(err, errcap, "%s:%u: no label '%s'", path, s->steps[i].line,
               want);
      goto out_free_script;
    }
    s->steps[i].target = j;
  }
  free(line);
  fclose(f);
  return s;

out_free_script:
  free(line);
  fclose(f);
  harness_chat_free(s);
  return NULL;
}

/* ---- running ---- */

#define HARNESS_REPLY_MAX 65536

struct harness_run {
  const struct harness_chat_script *s;
  const struct harness_chat_opts *o;
  const char *port_path;
  struct harness_port port;
  char **names;
  char **values;
  size_t nvars;
  uint8_t reply[HARNESS_REPLY_MAX + 1];
  size_t reply_len;
  unsigned *jumps; /* per step: times a bounded goto jumped */
  char *msg;
  size_t msgcap;
};

static const char *harness_var(struct harness_run *r, const char *name,
                               size_t n) {
  for (size_t i = r->nvars; i-- > 0;)
    if (strlen(r->names[i]) == n && memcmp(r->names[i], name, n) == 0)
      return r->values[i];
  return NULL;
}

static int harness_set_var(struct harness_run *r, const char *name,
                           const char *value) {
  char **nn = realloc(r->names, (r->nvars + 1) * sizeof *nn);
  if (!nn)
    return -1;
  r->names = nn;
  char **nv = realloc(r->values, (r->nvars + 1) * sizeof *nv);
  if (!nv)
    return -1;
  r->values = nv;
  r->names[r->nvars] = strdup(name);
  r->values[r->nvars] = strdup(value);
  if (!r->names[r->nvars] || !r->values[r->nvars]) {
    free(r->names[r->nvars]);
    free(r->values[r->nvars]);
    return -1;
  }
  r->nvars++;
  return 0;
}

/* The last reply as Python would print it inside quotes. */
static void harness_reply_repr(const struct harness_run *r, char *out,
                               size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < r->reply_len && o + 5 < cap; i++) {
    uint8_t c = r->reply[i];
    if (c == '\r')
      o += (size_t)snprintf(out + o, cap - o, "\\r");
    else if (c == '\n')
      o += (size_t)snprintf(out + o, cap - o, "\\n");
    else if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
  }
  out[o < cap ? o : cap - 1] = '\0';
}

/* Expand ${NAME} in `in`; the result is malloc'd and NUL-terminated. */
static int harness_expand(struct harness_run *r,
                          const struct harness_chat_step *st,
                          const struct harness_bytes *in,
                          struct harness_bytes *out) {
  size_t cap = in->n + 1, n = 0;
  uint8_t *b = malloc(cap);
  char repr[1024];
  if (!b)
    goto out_oom;
  for (size_t i = 0; i < in->n;) {
    const char *val = NULL;
    size_t skip = 1;
    if (in->p[i] == '$' && i + 1 < in->n && in->p[i + 1] == '{') {
      const uint8_t *close = memchr(in->p + i, '}', in->n - i);
      if (!close) {
        snprintf(r->msg, r->msgcap, "%s:%u: unterminated ${", r->s->path,
                 st->line);
        free(b);
        return -1;
      }
      const char *name = (const char *)in->p + i + 2;
      size_t nl = (size_t)((const char *)close - name);
      if (nl == 5 && memcmp(name, "REPLY", 5) == 0) {
        harness_reply_repr(r, repr, sizeof repr);
        val = repr;
      } else {
        val = harness_var(r, name, nl);
      }
      if (!val) {
        snprintf(r->msg, r->msgcap, "%s:%u: variable ${%.*s} is not set",
                 r->s->path, st->line, (int)nl, name);
        free(b);
        return -1;
      }
      skip = nl + 3;
    }
    size_t add = val ? strlen(val) : 1;
    if (n + add + 1 > cap) {
      cap = (n + add + 1) * 2;
      uint8_t *nb = realloc(b, cap);
      if (!nb)
        goto out_free_b;
      b = nb;
    }
    if (val)
      memcpy(b + n, val, add);
    else
      b[n] = in->p[i];
    n += add;
    i += skip;
  }
  b[n] = 0;
  out->p = b;
  out->n = n;
  return 0;

out_free_b:
  free(b);
out_oom:
  snprintf(r->msg, r->msgcap, "out of memory");
  return -1;
}

static bool harness_reply_contains(const struct harness_run *r,
                                   const struct harness_bytes *needle) {
  if (needle->n == 0)
    return true;
  if (needle->n > r->reply_len)
    return false;
  for (size_t i = 0; i + needle->n <= r->reply_len; i++)
    if (memcmp(r->reply + i, needle->p, needle->n) == 0)
      return true;
  return false;
}

static uint64_t harness_bound_us(const struct harness_run *r, double s) {
  return (uint64_t)(s * r->o->timeout_scale * 1e6);
}

static void harness_sleep(const struct harness_run *r, double s) {
  double t = s * r->o->sleep_scale;
  if (t <= 0)
    return;
  struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Fail the step: the script's `else` message if it has one, else `dflt`. */
static int harness_step_fail(struct harness_run *r,
                             const struct harness_chat_step *st,
                             const char *dflt) {
  if (st->has_kw[HARNESS_KW_ELSE]) {
    struct harness_bytes m;
    if (harness_expand(r, st, &st->kw[HARNESS_KW_ELSE], &m) != 0)
      return HARNESS_CHAT_EXIT_FAIL;
    snprintf(r->msg, r->msgcap, "%s", (char *)m.p);
    free(m.p);
  } else {
    snprintf(r->msg, r->msgcap, "%s:%u: %s", r->s->path, st->line, dflt);
  }
  return HARNESS_CHAT_EXIT_FAIL;
}

static int harness_need_port(struct harness_run *r,
                             const struct harness_chat_step *st) {
  if (r->port.fd >= 0)
    return 0;
  snprintf(r->msg, r->msgcap, "%s:%u: the port is not open (use 'open BAUD')",
           r->s->path, st->line);
  return -1;
}

static long harness_read_into_reply(struct harness_run *r, bool any, size_t n,
                                    uint64_t first_us, uint64_t gap_us) {
  if (n > HARNESS_REPLY_MAX)
    n = HARNESS_REPLY_MAX;
  long got = any ? harness_port_read_any(&r->port, r->reply, n, first_us,
                                         gap_us)
                 : harness_port_read(&r->port, r->reply, n, first_us);
  r->reply_len = got > 0 ? (size_t)got : 0;
  r->reply[r->reply_len] = 0;
  return got;
}

static void harness_print_reply(struct harness_run *r) {
  /* Lines without CR, blank lines dropped, as Python's print of the
   * decoded, stripped reply shows them. */
  const char *p = (const char *)r->reply, *end = p + r->reply_len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    const char *t = e;
    while (t > p && (t[-1] == '\r' || t[-1] == ' '))
      t--;
    if (t > p)
      fprintf(r->o->out, "%.*s\n", (int)(t - p), p);
    p = nl ? nl + 1 : end;
  }
  fflush(r->o->out);
}

/* One function per script operation with a body of its own (the rest are
 * a line in harness_run_step). Each runs in do { } while (0): `break` ends
 * the step with rc. */
static int harness_op_open(struct harness_run *r,
                           const struct harness_chat_step *st,
                           struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    harness_port_close(&r->port);
    if (harness_port_open(&r->port, r->port_path, (uint32_t)st->num[0], err,
                          sizeof err) != 0) {
      size_t n = strlen(r->port_path);
      if (n && strncmp(err, r->port_path, n) == 0 && err[n] == ':')
        /* The port is the problem, not the script line: say so first. */
        snprintf(r->msg, r->msgcap,
                 "sqn-chat: %s (opening the port at step %s:%u)", err,
                 r->s->path, st->line);
      else
        snprintf(r->msg, r->msgcap, "%s:%u: %s", r->s->path, st->line, err);
      rc = HARNESS_CHAT_EXIT_IO;
    }
    break;
  } while (0);
  return rc;
}

static int harness_op_send(struct harness_run *r,
                           const struct harness_chat_step *st,
                           struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (harness_need_port(r, st) != 0) {
      rc = HARNESS_CHAT_EXIT_USAGE;
      break;
    }
    if (harness_port_write(&r->port, a[0].p, a[0].n, harness_bound_us(r, 20),
                           err, sizeof err) != 0) {
      snprintf(r->msg, r->msgcap, "%s:%u: %s", r->s->path, st->line, err);
      rc = HARNESS_CHAT_EXIT_IO;
    }
    break;
  } while (0);
  return rc;
}

static int harness_op_read(struct harness_run *r,
                           const struct harness_chat_step *st,
                           struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (harness_need_port(r, st) != 0) {
      rc = HARNESS_CHAT_EXIT_USAGE;
      break;
    }
    bool any = st->op == HARNESS_CHAT_OP_READ_ANY;
    size_t n = st->nargs ? (size_t)st->num[0] : 1024;
    double to =
        st->has_kw[HARNESS_KW_TIMEOUT] ? st->kwnum[HARNESS_KW_TIMEOUT] : 20;
    double gap = st->has_kw[HARNESS_KW_GAP] ? st->kwnum[HARNESS_KW_GAP] : 0.1;
    if (harness_read_into_reply(r, any, n, harness_bound_us(r, to),
                                (uint64_t)(gap * 1e6)) < 0) {
      snprintf(r->msg, r->msgcap, "%s:%u: read error", r->s->path, st->line);
      rc = HARNESS_CHAT_EXIT_IO;
    }
  } while (0);
  return rc;
}

static int harness_op_read_until(struct harness_run *r,
                                 const struct harness_chat_step *st,
                                 struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (harness_need_port(r, st) != 0) {
      rc = HARNESS_CHAT_EXIT_USAGE;
      break;
    }
    double to =
        st->has_kw[HARNESS_KW_TIMEOUT] ? st->kwnum[HARNESS_KW_TIMEOUT] : 120;
    double pause =
        st->has_kw[HARNESS_KW_PAUSE] ? st->kwnum[HARNESS_KW_PAUSE] : 0;
    uint64_t deadline = harness_now_us() + harness_bound_us(r, to);
    r->reply_len = 0;
    for (;;) {
      long got = harness_port_read(&r->port, r->reply + r->reply_len,
                                   HARNESS_REPLY_MAX - r->reply_len, 50000);
      if (got < 0) {
        snprintf(r->msg, r->msgcap, "%s:%u: read error", r->s->path, st->line);
        rc = HARNESS_CHAT_EXIT_IO;
        break;
      }
      r->reply_len += (size_t)got;
      r->reply[r->reply_len] = 0;
      if (harness_reply_contains(r, &a[0]))
        break;
      if (r->reply_len == HARNESS_REPLY_MAX) {
        /* Keep the tail so a match across the cut is still found. */
        memmove(r->reply, r->reply + HARNESS_REPLY_MAX - 256, 256);
        r->reply_len = 256;
      }
      if (harness_now_us() >= deadline) {
        snprintf(err, sizeof err,
                 "read-until \"%s\": not seen within %.1f s (the bound; the "
                 "real host waits forever)",
                 (char *)a[0].p, to * r->o->timeout_scale);
        rc = harness_step_fail(r, st, err);
        break;
      }
      if (got == 0)
        harness_sleep(r, pause);
    }
  } while (0);
  return rc;
}

static int harness_op_expect_any(struct harness_run *r,
                                 const struct harness_chat_step *st,
                                 struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    bool ok = false;
    for (unsigned i = 0; i < st->nargs; i++)
      ok |= a[i].n == r->reply_len && memcmp(a[i].p, r->reply, a[i].n) == 0;
    if (!ok) {
      char repr[300];
      harness_reply_repr(r, repr, sizeof repr);
      snprintf(err, sizeof err, "unexpected reply '%s'", repr);
      rc = harness_step_fail(r, st, err);
    }
  } while (0);
  return rc;
}

static int harness_op_expect_contains(struct harness_run *r,
                                      const struct harness_chat_step *st,
                                      struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    bool want = st->op == HARNESS_CHAT_OP_EXPECT_CONTAINS;
    if (harness_reply_contains(r, &a[0]) != want) {
      char repr[300];
      harness_reply_repr(r, repr, sizeof repr);
      snprintf(err, sizeof err, "reply '%s' %s \"%s\"", repr,
               want ? "lacks" : "contains", (char *)a[0].p);
      rc = harness_step_fail(r, st, err);
    }
  } while (0);
  return rc;
}

static int harness_op_loop_until_contains(struct harness_run *r,
                                          const struct harness_chat_step *st,
                                          struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (harness_need_port(r, st) != 0) {
      rc = HARNESS_CHAT_EXIT_USAGE;
      break;
    }
    double max = st->has_kw[HARNESS_KW_MAX] ? st->kwnum[HARNESS_KW_MAX] : 100;
    double every =
        st->has_kw[HARNESS_KW_EVERY] ? st->kwnum[HARNESS_KW_EVERY] : 1.0;
    size_t n =
        st->has_kw[HARNESS_KW_READ] ? (size_t)st->kwnum[HARNESS_KW_READ] : 1024;
    bool found = false;
    for (double i = 0; i < max && !found && rc == 0; i++) {
      if (harness_port_write(&r->port, a[0].p, a[0].n, harness_bound_us(r, 20),
                             err, sizeof err) != 0) {
        snprintf(r->msg, r->msgcap, "%s:%u: %s", r->s->path, st->line, err);
        rc = HARNESS_CHAT_EXIT_IO;
        break;
      }
      /* The host's read: wait for the reply up to `every`, then pause. */
      uint64_t t0 = harness_now_us();
      if (harness_read_into_reply(r, true, n, harness_bound_us(r, every),
                                  100000) < 0) {
        rc = HARNESS_CHAT_EXIT_IO;
        snprintf(r->msg, r->msgcap, "%s:%u: read error", r->s->path, st->line);
        break;
      }
      for (unsigned w = 1; w < st->nargs && !found; w++)
        found = harness_reply_contains(r, &a[w]);
      if (!found) {
        double spent = (double)(harness_now_us() - t0) / 1e6;
        if (spent < every)
          harness_sleep(r, every - spent);
      }
    }
    if (!found && rc == 0) {
      snprintf(err, sizeof err, "no reply containing \"%s\" after %.0f tries",
               (char *)a[1].p, max);
      rc = harness_step_fail(r, st, err);
    }
  } while (0);
  return rc;
}

static int harness_op_stp_push(struct harness_run *r,
                               const struct harness_chat_step *st,
                               struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (harness_need_port(r, st) != 0) {
      rc = HARNESS_CHAT_EXIT_USAGE;
      break;
    }
    char why[300];
    FILE *f = harness_chat_open((char *)a[0].p, 64ull * 1024 * 1024, why,
                                sizeof why);
    if (!f) {
      snprintf(r->msg, r->msgcap, "%s:%u: %s", r->s->path, st->line, why);
      rc = HARNESS_CHAT_EXIT_IO;
      break;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
      if (len == cap) {
        cap = cap ? cap * 2 : 65536;
        uint8_t *nd = realloc(data, cap);
        if (!nd)
          break;
        data = nd;
      }
      size_t got = fread(data + len, 1, cap - len, f);
      if (got == 0)
        break;
      len += got;
    }
    bool bad = ferror(f) || !data;
    fclose(f);
    if (bad) {
      snprintf(r->msg, r->msgcap, "%s:%u: cannot read %s", r->s->path, st->line,
               (char *)a[0].p);
      free(data);
      rc = HARNESS_CHAT_EXIT_IO;
      break;
    }
    struct harness_stp_opts so = {.flavor = (char *)a[1].p,
                                  .timeout_scale = r->o->timeout_scale,
                                  .out = r->o->out};
    if (harness_stp_push(&r->port, data, len, &so, err, sizeof err) != 0) {
      snprintf(r->msg, r->msgcap, "%s", err);
      rc = HARNESS_CHAT_EXIT_FAIL;
    }
    free(data);
  } while (0);
  return rc;
}

static int harness_op_goto(struct harness_run *r,
                           const struct harness_chat_step *st,
                           struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (st->has_kw[HARNESS_KW_MAX] &&
        ++r->jumps[*pc - 1] > st->kwnum[HARNESS_KW_MAX]) {
      snprintf(err, sizeof err, "goto %s: more than %.0f times", (char *)a[0].p,
               st->kwnum[HARNESS_KW_MAX]);
      rc = harness_step_fail(r, st, err);
      break;
    }
    *pc = st->target;
    break;
  } while (0);
  return rc;
}

static int harness_op_if_size_over(struct harness_run *r,
                                   const struct harness_chat_step *st,
                                   struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    struct stat sb;
    if (stat((char *)a[0].p, &sb) != 0) {
      snprintf(r->msg, r->msgcap, "%s:%u: %s: %s", r->s->path, st->line,
               (char *)a[0].p, strerror(errno));
      rc = HARNESS_CHAT_EXIT_IO;
    } else if ((double)sb.st_size > st->num[1]) {
      *pc = st->target;
    }
  } while (0);
  return rc;
}

static int harness_op_if_var(struct harness_run *r,
                             const struct harness_chat_step *st,
                             struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    const char *v = harness_var(r, (char *)a[0].p, a[0].n);
    if (v && strcmp(v, (char *)a[1].p) == 0)
      *pc = st->target;
  } while (0);
  return rc;
}

static int harness_op_set(struct harness_run *r,
                          const struct harness_chat_step *st,
                          struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (harness_set_var(r, (char *)a[0].p, (char *)a[1].p) != 0) {
      snprintf(r->msg, r->msgcap, "out of memory");
      rc = HARNESS_CHAT_EXIT_IO;
    }
    break;
  } while (0);
  return rc;
}

static int harness_op_default(struct harness_run *r,
                              const struct harness_chat_step *st,
                              struct harness_bytes *a, size_t *pc) {
  int rc = HARNESS_CHAT_EXIT_OK;
  char err[1024];
  (void)a, (void)pc, (void)err;
  do {
    if (!harness_var(r, (char *)a[0].p, a[0].n) &&
        harness_set_var(r, (char *)a[0].p, (char *)a[1].p) != 0) {
      snprintf(r->msg, r->msgcap, "out of memory");
      rc = HARNESS_CHAT_EXIT_IO;
    }
    break;
  } while (0);
  return rc;
}

static int harness_run_step(struct harness_run *r,
                            const struct harness_chat_step *st, size_t *pc) {
  struct harness_bytes a[HARNESS_CHAT_MAX_ARGS];
  int rc = HARNESS_CHAT_EXIT_OK;
  unsigned ne = 0;

  memset(a, 0, sizeof a);
  for (; ne < st->nargs; ne++)
    if (harness_expand(r, st, &st->arg[ne], &a[ne]) != 0) {
      rc = HARNESS_CHAT_EXIT_USAGE;
      goto out_free_args;
    }
  (*pc)++;

  switch (st->op) {
  case HARNESS_CHAT_OP_OPEN:
  case HARNESS_CHAT_OP_REOPEN:
    rc = harness_op_open(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_CLOSE:
    harness_port_close(&r->port);
    break;
  case HARNESS_CHAT_OP_FLUSH:
    harness_port_flush(&r->port);
    break;
  case HARNESS_CHAT_OP_SEND:
    rc = harness_op_send(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_READ:
  case HARNESS_CHAT_OP_READ_ANY:
    rc = harness_op_read(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_READ_UNTIL:
    rc = harness_op_read_until(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_EXPECT_ANY:
    rc = harness_op_expect_any(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_EXPECT_CONTAINS:
  case HARNESS_CHAT_OP_EXPECT_NOT_CONTAINS:
    rc = harness_op_expect_contains(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_SLEEP:
    harness_sleep(r, st->num[0]);
    break;
  case HARNESS_CHAT_OP_LOOP_UNTIL_CONTAINS:
    rc = harness_op_loop_until_contains(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_STP_PUSH:
    rc = harness_op_stp_push(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_PRINT:
    fprintf(r->o->out, "%s\n", (char *)a[0].p);
    fflush(r->o->out);
    break;
  case HARNESS_CHAT_OP_PRINT_REPLY:
    harness_print_reply(r);
    break;
  case HARNESS_CHAT_OP_FAIL:
    snprintf(r->msg, r->msgcap, "%s", (char *)a[0].p);
    rc = HARNESS_CHAT_EXIT_FAIL;
    break;
  case HARNESS_CHAT_OP_LABEL:
    break;
  case HARNESS_CHAT_OP_GOTO:
    rc = harness_op_goto(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_IF_CONTAINS:
  case HARNESS_CHAT_OP_IF_NOT_CONTAINS:
    if (harness_reply_contains(r, &a[0]) ==
        (st->op == HARNESS_CHAT_OP_IF_CONTAINS))
      *pc = st->target;
    break;
  case HARNESS_CHAT_OP_IF_SIZE_OVER:
    rc = harness_op_if_size_over(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_IF_VAR:
    rc = harness_op_if_var(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_SET:
    rc = harness_op_set(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_DEFAULT:
    rc = harness_op_default(r, st, a, pc);
    break;
  case HARNESS_CHAT_OP_COUNT:
    break;
  
  }

out_free_args:
  for (unsigned i = 0; i < ne; i++)
    free(a[i].p);
  return rc;
}

int harness_chat_run(const struct harness_chat_script *s, const char *port,
                     const struct harness_chat_opts *o, char *msg,
                     size_t msgcap) {
  struct harness_run *r = calloc(1, sizeof *r);
  int rc = HARNESS_CHAT_EXIT_OK;
  if (!r) {
    snprintf(msg, msgcap, "out of memory");
    return HARNESS_CHAT_EXIT_IO;
  }
  r->s = s;
  r->o = o;
  r->port_path = port;
  r->port.fd = -1;
  r->port.transcript = o->transcript;
  r->port.t0_us = harness_now_us();
  r->msg = msg;
  r->msgcap = msgcap;
  msg[0] = '\0';
  r->jumps = calloc(s->nsteps + 1, sizeof *r->jumps);
  if (!r->jumps) {
    free(r);
    snprintf(msg, msgcap, "out of memory");
    return HARNESS_CHAT_EXIT_IO;
  }
  for (size_t i = 0; i < o->nvars && rc == 0; i++) {
    const char *eq = strchr(o->vars[i], '=');
    char name[128];
    if (!eq || eq == o->vars[i] || (size_t)(eq - o->vars[i]) >= sizeof name) {
      snprintf(msg, msgcap, "--var %s: expected NAME=VALUE", o->vars[i]);
      rc = HARNESS_CHAT_EXIT_USAGE;
      break;
    }
    memcpy(name, o->vars[i], (size_t)(eq - o->vars[i]));
    name[eq - o->vars[i]] = '\0';
    if (harness_set_var(r, name, eq + 1) != 0) {
      snprintf(msg, msgcap, "out of memory");
      rc = HARNESS_CHAT_EXIT_IO;
    }
  }
  /* A bound on steps too: a script looping on goto cannot hang the run. */
  size_t pc = 0, executed = 0;
  while (rc == 0 && pc < s->nsteps) {
    if (++executed > 1000000) {
      snprintf(msg, msgcap, "%s: more than 1000000 steps executed; a goto "
               "loop without an exit?", s->path);
      rc = HARNESS_CHAT_EXIT_FAIL;
      break;
    }
    rc = harness_run_step(r, &s->steps[pc], &pc);
  }
  harness_port_close(&r->port);
  for (size_t i = 0; i < r->nvars; i++) {
    free(r->names[i]);
    free(r->values[i]);
  }
  free(r->names);
  free(r->values);
  free(r->jumps);
  free(r);
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recorded sessions read back (sim/tracefile.h): format detection, the three
 * parsers and the stream splitter. Everything that reads trace text lives
 * here, so a change of a trace format touches one file.
 */
#include "sim/tracefile.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t sim_split_req[4] = {'f', 'a', 's', 't'};
static const uint8_t sim_split_rsp[4] = {'t', 's', 'a', 'f'};

const char *sim_tracefmt_name(enum sim_tracefmt f) {
  switch (f) {
  case SIM_TRACEFMT_JSON: return "json";
  case SIM_TRACEFMT_LOG: return "log";
  case SIM_TRACEFMT_SOCAT: return "socat";
  }
  return "?";
}

/* ---- splitter ---- */

void sim_splitter_init(struct sim_splitter *s, enum sim_trec_dir dir,
                       void (*unit)(void *, enum sim_trec_proto,
                                    const uint8_t *, size_t),
                       void *user) {
  s->dir = dir;
  s->state = SIM_SPLIT_IDLE;
  s->unit = unit;
  s->user = user;
  s->len = 0;
}

static void sim_split_emit(struct sim_splitter *s, enum sim_trec_proto proto) {
  if (s->len && s->unit)
    s->unit(s->user, proto, s->buf, s->len);
  s->len = 0;
  s->state = SIM_SPLIT_IDLE;
}

static void sim_split_byte(struct sim_splitter *s, uint8_t b) {
  const uint8_t *magic = s->dir == SIM_TREC_MODEM ? sim_split_rsp
                                                  : sim_split_req;
  switch (s->state) {
  case SIM_SPLIT_IDLE:
    if (b == '\r' || b == '\n')
      return;
    s->buf[0] = b;
    s->len = 1;
    s->state = b == magic[0] ? SIM_SPLIT_FRAME : SIM_SPLIT_LINE;
    return;
  case SIM_SPLIT_FRAME:
    s->buf[s->len++] = b;
    if (s->len <= 4 && b != magic[s->len - 1]) {
      /* Not a frame after all: what we have is the start of a line. */
      s->state = SIM_SPLIT_LINE;
      s->len--;
      sim_split_byte(s, b);
      return;
    }
    if (s->len >= 16) {
      size_t plen = (size_t)s->buf[6] << 8 | s->buf[7];
      if (s->len == 16 + plen)
        sim_split_emit(s, SIM_TREC_STP);
    }
    return;
  case SIM_SPLIT_LINE:
    if (b == '\r' || b == '\n') {
      sim_split_emit(s, SIM_TREC_AT);
      return;
    }
    s->buf[s->len++] = b;
    if (s->len >= SIM_SPLIT_LINE_MAX)
      sim_split_emit(s, SIM_TREC_RAW);
    return;
  }
}

void sim_splitter_feed(struct sim_splitter *s, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    sim_split_byte(s, p[i]);
}

void sim_splitter_flush(struct sim_splitter *s) {
  sim_split_emit(s, s->state == SIM_SPLIT_LINE ? SIM_TREC_AT : SIM_TREC_RAW);
}

bool sim_splitter_busy(const struct sim_splitter *s) {
  return s->state != SIM_SPLIT_IDLE;
}

/* ---- records ---- */

int sim_tracefile_add(struct sim_tracefile *tf, uint64_t t_us,
                      enum sim_trec_dir dir, enum sim_trec_proto proto,
                      const char *kind, const void *data, size_t len,
                      unsigned long line) {
  if (tf->n == tf->cap) {
    size_t cap = tf->cap ? tf->cap * 2 : 256;
    struct sim_trec *r = realloc(tf->rec, cap * sizeof *r);
    if (!r)
      return -1;
    tf->rec = r;
    tf->cap = cap;
  }
  struct sim_trec *r = &tf->rec[tf->n];
  memset(r, 0, sizeof *r);
  r->data = malloc(len + 1);
  if (!r->data)
    return -1;
  if (len)
    memcpy(r->data, data, len);
  r->data[len] = '\0';
  r->len = len;
  r->orig_len = len;
  r->t_us = t_us;
  r->dir = dir;
  r->proto = proto;
  r->line = line;
  snprintf(r->kind, sizeof r->kind, "%s", kind ? kind : "");
  tf->n++;
  return 0;
}

void sim_tracefile_free(struct sim_tracefile *tf) {
  for (size_t i = 0; i < tf->n; i++)
    free(tf->rec[i].data);
  free(tf->rec);
  memset(tf, 0, sizeof *tf);
}

static int sim_tf_fail(char *err, size_t cap, const char *path,
                       unsigned long line, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line)
    snprintf(err, cap, "%s:%lu: %s", path, line, msg);
  else
    snprintf(err, cap, "%s: %s", path, msg);
  return -1;
}

static int sim_tf_hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

size_t sim_unhex(const char *hex, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int hi = sim_tf_hexval(hex[2 * i]), lo = sim_tf_hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return i;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return n;
}

/* ---- json (sqn-sim --trace) ---- */

static int sim_tf_json_line(struct sim_tracefile *tf, const char *path,
                            unsigned long lineno, const char *line,
                            uint8_t **raw, size_t *rawcap, char *err,
                            size_t errcap) {
  json_error_t jerr;
  json_t *o = json_loads(line, 0, &jerr);
  json_int_t t;
  const char *kind = NULL, *text = NULL, *hex = NULL;
  if (!o || json_unpack_ex(o, &jerr, 0, "{s:I,s:s,s?s,s?s}", "t", &t, "kind",
                           &kind, "text", &text, "raw", &hex) != 0) {
    json_decref(o);
    return sim_tf_fail(err, errcap, path, lineno, "not a trace event: %s",
                       jerr.text);
  }
  if (t < 0) {
    json_decref(o);
    return sim_tf_fail(err, errcap, path, lineno, "negative time");
  }
  size_t rawn = 0;
  if (hex) {
    size_t hn = strlen(hex);
    if (hn % 2) {
      json_decref(o);
      return sim_tf_fail(err, errcap, path, lineno,
                         "odd number of hex digits in \"raw\"");
    }
    if (hn / 2 + 1 > *rawcap) {
      uint8_t *nr = realloc(*raw, hn / 2 + 1);
      if (!nr) {
        json_decref(o);
        return sim_tf_fail(err, errcap, path, lineno, "out of memory");
      }
      *raw = nr;
      *rawcap = hn / 2 + 1;
    }
    size_t good = sim_unhex(hex, *raw, hn / 2);
    if (good < hn / 2) {
      json_decref(o);
      return sim_tf_fail(err, errcap, path, lineno,
                         "bad hex digit in \"raw\" at byte %zu", good);
    }
    rawn = hn / 2;
  }
  if (!text)
    text = "";
  enum sim_trec_dir dir = SIM_TREC_NOTE;
  enum sim_trec_proto proto = SIM_TREC_TEXT;
  const void *data = text;
  size_t len = strlen(text);
  if (!strcmp(kind, "at<") || !strcmp(kind, "at>")) {
    dir = kind[2] == '<' ? SIM_TREC_HOST : SIM_TREC_MODEM;
    proto = SIM_TREC_AT;
    if (hex) {
      data = *raw;
      len = rawn;
    }
  } else if ((!strcmp(kind, "stp<") || !strcmp(kind, "stp>")) && hex) {
    dir = kind[3] == '<' ? SIM_TREC_HOST : SIM_TREC_MODEM;
    proto = rawn >= 16 ? SIM_TREC_STP : SIM_TREC_RAW;
    data = *raw;
    len = rawn;
  }
  int rc = sim_tracefile_add(tf, (uint64_t)t, dir, proto, kind, data, len,
                             lineno);
  if (rc == 0 && proto == SIM_TREC_STP) {
    struct sim_trec *r = &tf->rec[tf->n - 1];
    size_t full = 16 + ((size_t)r->data[6] << 8 | r->data[7]);
    if (len < full) {
      r->orig_len = full;
      if (strstr(text, "pcrc ok"))
        r->flags |= SIM_TREC_F_PCRC_OK;
      else if (strstr(text, "pcrc BAD"))
        r->flags |= SIM_TREC_F_PCRC_BAD;
    }
  }
  json_decref(o);
  if (rc != 0)
    return sim_tf_fail(err, errcap, path, lineno, "out of memory");
  return 0;
}

/* ---- log (sqn-update --log) ---- */

static int sim_tf_log_line(struct sim_tracefile *tf, const char *path,
                           unsigned long lineno, char *line, char *err,
                           size_t errcap) {
  unsigned long long s, ms;
  char ev[16];
  int off = 0;
  if (sscanf(line, "%llu.%3llu %15s %n", &s, &ms, ev, &off) != 3 || !off)
    return sim_tf_fail(err, errcap, path, lineno,
                       "not an sqn-update --log line");
  uint64_t t = (s * 1000 + ms) * 1000;
  char *rest = line + off;
  size_t n = strlen(rest);
  while (n && (rest[n - 1] == '\n' || rest[n - 1] == '\r'))
    rest[--n] = '\0';
  if (!strcmp(ev, "PROGRESS"))
    return sim_tracefile_add(tf, t, SIM_TREC_NOTE, SIM_TREC_TEXT, "PROGRESS",
                             rest, n, lineno) ? sim_tf_fail(err, errcap, path,
                             lineno, "out of memory") : 0;
  /* The state column, then the text. */
  char *text = rest;
  while (*text && *text != ' ')
    text++;
  while (*text == ' ')
    text++;
  int rc;
  if (!strncmp(text, "at> ", 4)) {
    rc = sim_tracefile_add(tf, t, SIM_TREC_HOST, SIM_TREC_AT, "at<", text + 4,
                           strlen(text + 4), lineno);
  } else if (!strncmp(text, "at< ", 4)) {
    /* "at< RESULT (N lines) for CMD": the final result only. */
    char *res = text + 4, *end = strstr(res, " (");
    size_t rn = end ? (size_t)(end - res) : strlen(res);
    rc = sim_tracefile_add(tf, t, SIM_TREC_MODEM, SIM_TREC_AT, "at>", res, rn,
                           lineno);
  } else if (!strncmp(text, "urc ", 4)) {
    rc = sim_tracefile_add(tf, t, SIM_TREC_MODEM, SIM_TREC_AT, "at>", text + 4,
                           strlen(text + 4), lineno);
  } else {
    char kind[16];
    snprintf(kind, sizeof kind, "%s", ev);
    for (char *k = kind; *k; k++)
      if (*k >= 'A' && *k <= 'Z')
        *k = (char)(*k - 'A' + 'a');
    rc = sim_tracefile_add(tf, t, SIM_TREC_NOTE, SIM_TREC_TEXT, kind, rest, n,
                           lineno);
  }
  return rc ? sim_tf_fail(err, errcap, path, lineno, "out of memory") : 0;
}

/* ---- socat -x ---- */

struct sim_tf_socat {
  struct sim_tracefile *tf;
  bool reads; /* keep each chunk as one RAW record */
  struct sim_splitter split[2];
  uint64_t t_us;
  unsigned long line;
  int oom;
};

static void sim_tf_socat_unit(void *user, enum sim_trec_proto proto,
                              const uint8_t *p, size_t n, enum sim_trec_dir d) {
  struct sim_tf_socat *sc = user;
  const char *kind = proto == SIM_TREC_STP ? (d == SIM_TREC_HOST ? "stp<"
                                                                 : "stp>")
                     : proto == SIM_TREC_AT ? (d == SIM_TREC_HOST ? "at<"
                                                                  : "at>")
                                            : "raw";
  if (sim_tracefile_add(sc->tf, sc->t_us, d, proto, kind, p, n, sc->line))
    sc->oom = 1;
}
static void sim_tf_socat_host(void *u, enum sim_trec_proto pr,
                              const uint8_t *p, size_t n) {
  sim_tf_socat_unit(u, pr, p, n, SIM_TREC_HOST);
}
static void sim_tf_socat_modem(void *u, enum sim_trec_proto pr,
                               const uint8_t *p, size_t n) {
  sim_tf_socat_unit(u, pr, p, n, SIM_TREC_MODEM);
}

/* "> 2024/03/05 10:11:12.123456  length=4 from=0 to=3": direction, time
 * of day in microseconds. */
static int sim_tf_socat_head(const char *line, int *dir, uint64_t *us) {
  unsigned y, mo, d, h, mi, sec;
  char c, fracs[16];
  if (sscanf(line, "%c %u/%u/%u %u:%u:%u.%15[0-9]", &c, &y, &mo, &d, &h, &mi,
             &sec, fracs) != 8 ||
      (c != '>' && c != '<') || !strstr(line, "length="))
    return -1;
  /* socat prints microseconds or (newer) nanoseconds: the first six
   * digits, padded, are microseconds */
  uint64_t frac = 0;
  bool more = true;
  for (size_t i = 0; i < 6; i++) {
    more = more && fracs[i];
    frac = frac * 10 + (more ? (uint64_t)(fracs[i] - '0') : 0);
  }
  *dir = c == '>' ? SIM_TREC_HOST : SIM_TREC_MODEM;
  /* Days matter only across midnight; count them roughly (monotonic). */
  uint64_t days = (uint64_t)y * 372 + mo * 31 + d;
  *us = ((days * 24 + h) * 3600 + (uint64_t)mi * 60 + sec) * 1000000u + frac;
  return 0;
}

/* With SIM_TRACEFILE_READS: one raw record per chunk header; each byte of
 * its hex lines is appended to it. */
static void sim_tf_socat_read_byte(struct sim_tf_socat *sc, int dir,
                                   uint8_t b) {
  struct sim_tracefile *tf = sc->tf;
  struct sim_trec *last = tf->n ? &tf->rec[tf->n - 1] : NULL;
  if (!last || last->line != sc->line || last->proto != SIM_TREC_RAW) {
    if (sim_tracefile_add(tf, sc->t_us, (enum sim_trec_dir)dir, SIM_TREC_RAW,
                          "read", NULL, 0, sc->line))
      sc->oom = 1;
    last = sc->oom ? NULL : &tf->rec[tf->n - 1];
  }
  if (!last)
    return;
  uint8_t *nd = realloc(last->data, last->len + 2);
  if (!nd) {
    sc->oom = 1;
    return;
  }
  last->data = nd;
  nd[last->len++] = b;
  nd[last->len] = '\0';
  last->orig_len = last->len;
}

/* " 41 54 0d 0a  AT..": pairs of hex digits until two spaces. Feeds the
 * bytes and returns where they end (line itself when there are none). */
static const char *sim_tf_socat_hex(struct sim_tf_socat *sc, int dir,
                                    const char *line) {
  const char *p = line;
  for (;;) {
    if (p[0] != ' ' || sim_tf_hexval(p[1]) < 0 || sim_tf_hexval(p[2]) < 0 ||
        (p[3] != ' ' && p[3] != '\n' && p[3] != '\0'))
      break;
    uint8_t b = (uint8_t)(sim_tf_hexval(p[1]) << 4 | sim_tf_hexval(p[2]));
    if (sc->reads)
      sim_tf_socat_read_byte(sc, dir, b);
    else
      sim_splitter_feed(&sc->split[dir], &b, 1);
    p += 3;
  }
  return p;
}

static int sim_tf_load_socat(FILE *f, const char *path,
                             struct sim_tracefile *tf, unsigned flags,
                             char *err, size_t errcap) {
  struct sim_tf_socat *sc = calloc(1, sizeof *sc);
  if (!sc)
    return sim_tf_fail(err, errcap, path, 0, "out of memory");
  sc->tf = tf;
  sc->reads = flags & SIM_TRACEFILE_READS;
  sim_splitter_init(&sc->split[0], SIM_TREC_HOST, sim_tf_socat_host, sc);
  sim_splitter_init(&sc->split[1], SIM_TREC_MODEM, sim_tf_socat_modem, sc);
  char *line = NULL;
  size_t cap = 0;
  unsigned long lineno = 0;
  int dir = -1, rc = 0;
  uint64_t t0 = 0;
  bool have_t0 = false;
  while (getline(&line, &cap, f) >= 0) {
    lineno++;
    if (line[0] == '>' || line[0] == '<') {
      uint64_t us;
      if (sim_tf_socat_head(line, &dir, &us) != 0) {
        rc = sim_tf_fail(err, errcap, path, lineno,
                         "not a socat -x chunk header");
        break;
      }
      if (!have_t0) {
        t0 = us;
        have_t0 = true;
      }
      sc->t_us = us >= t0 ? us - t0 : 0;
      sc->line = lineno;
      continue;
    }
    if (!strncmp(line, "--", 2) || line[0] == '\n' || line[0] == '\0')
      continue;
    if (dir < 0 || line[0] != ' ') {
      rc = sim_tf_fail(err, errcap, path, lineno,
                       "hex bytes outside a socat -x chunk");
      break;
    }
    if (sim_tf_socat_hex(sc, dir, line) == line) {
      rc = sim_tf_fail(err, errcap, path, lineno, "no hex bytes on the line");
      break;
    }
    if (sc->oom) {
      rc = sim_tf_fail(err, errcap, path, lineno, "out of memory");
      break;
    }
  }
  if (!rc) {
    sim_splitter_flush(&sc->split[0]);
    sim_splitter_flush(&sc->split[1]);
    if (sc->oom)
      rc = sim_tf_fail(err, errcap, path, lineno, "out of memory");
  }
  free(line);
  free(sc);
  return rc;
}

/* ---- entry point ---- */

int sim_tracefile_load(const char *path, struct sim_tracefile *tf, char *err,
                       size_t errcap) {
  return sim_tracefile_load_ex(path, tf, 0, err, errcap);
}

int sim_tracefile_load_ex(const char *path, struct sim_tracefile *tf,
                          unsigned flags, char *err, size_t errcap) {
  memset(tf, 0, sizeof *tf);
  FILE *f = fopen(path, "r");
  if (!f)
    return sim_tf_fail(err, errcap, path, 0, "%s", strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  unsigned long lineno = 0;
  int rc = 0;
  bool detected = false;
  uint8_t *raw = NULL;
  size_t rawcap = 0;

  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (strspn(line, " \t\r\n") == (size_t)len)
      continue;
    if (!detected) {
      detected = true;
      if (line[0] == '{') {
        tf->fmt = SIM_TRACEFMT_JSON;
      } else if ((line[0] == '>' || line[0] == '<') &&
                 strstr(line, "length=")) {
        tf->fmt = SIM_TRACEFMT_SOCAT;
        rewind(f);
        rc = sim_tf_load_socat(f, path, tf, flags, err, errcap);
        break;
      } else {
        tf->fmt = SIM_TRACEFMT_LOG;
      }
    }
    if (tf->fmt == SIM_TRACEFMT_JSON)
      rc = sim_tf_json_line(tf, path, lineno, line, &raw, &rawcap, err,
                            errcap);
    else
      rc = sim_tf_log_line(tf, path, lineno, line, err, errcap);
    if (rc)
      break;
  }
  if (!rc && ferror(f))
    rc = sim_tf_fail(err, errcap, path, lineno, "read error");
  if (!rc && !detected)
    rc = sim_tf_fail(err, errcap, path, 0, "empty trace");
  free(raw);
  free(line);
  fclose(f);
  if (rc)
    sim_tracefile_free(tf);
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-scenario import TRACE -o OUT.yaml   a recorded session as a scenario
 * sqn-scenario diff A B                   where two recorded sessions part
 *
 * Traces are read by sim/tracefile.h (sqn-sim and proxy traces, sqn-update
 * --log, socat -x dumps); this file never parses trace text itself.
 *
 * import:
 *  - the starting state: a healthy modem, with boot select from what the
 *    modem said about its mode (an "up: SMOD n" note, an AT+SMOD? reply);
 *  - the host: OUT.chat, a sqn-chat script sending what the host sent, in
 *    order, and checking after each command that the modem answered what
 *    the recording shows (the script fails where the exchange departs);
 *  - the modem's deviations: the host's commands are replayed against the
 *    emulator's model (virtual clock, no delays) from that state; where the
 *    recorded answer differs (ERROR where the model says OK, silence, other
 *    lines) a fault is added (error / no-reply / reply, on that command's
 *    occurrence) and the replay starts again, until the model answers as
 *    recorded. The faults go into the scenario and into OUT-faults.yaml
 *    (for sqn-sim --faults, or sqn-sim --proxy --faults against a real
 *    modem).
 * STP frames are replayed too: the host script sends each frame as
 * recorded and checks the modem's response frames byte for byte. A
 * sqn-sim trace holds only a BLOCK's header: --package FILE supplies the
 * payloads (each found by the header's payload CRC). STP deviations are
 * counted in the scenario's comment, not turned into faults.
 */
#include "import.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fault.h"
#include "sim/modem.h"
#include "sim/state_file.h"
#include "sim/tracefile.h"
#include "sqnup/crc.h"

#define IMP_MAX_FAULTS 64
#define IMP_MAX_LINES 64

/* ---- the exchange: host commands, each with the modem lines after it ---- */

struct imp_step {
  const struct sim_trec *cmd;           /* host AT line or STP frame */
  bool stp;
  uint8_t *frame;                       /* STP: the whole frame (owned) */
  size_t frame_len;
  const struct sim_trec *ans[IMP_MAX_LINES];
  size_t nans;
};

struct imp {
  struct sim_tracefile tf;
  struct imp_step *steps;
  size_t nsteps;
  size_t stp_frames;
  int boot;        /* enum sim_boot, or -1 unknown */
  unsigned baud;
  struct sim_fault faults[IMP_MAX_FAULTS];
  int nfaults;
  uint8_t *pkg;          /* --package: BLOCK payloads an emulator trace lacks */
  size_t pkg_len, pkg_off, pkg_prev;
  size_t stp_dev;        /* STP steps the model answered differently */
  long first_stp_dev;
  const char *fixtures;
};

/* The whole frame of a host STP record: as recorded, or its header plus the
 * package bytes whose CRC is the header's pcrc (the next slice, or the
 * previous one again: a resend). */
static int imp_fill_frame(struct imp *im, struct imp_step *st, char *err,
                          size_t errcap, const char *path) {
  const struct sim_trec *r = st->cmd;
  st->frame = malloc(r->orig_len);
  if (!st->frame)
    return -1;
  st->frame_len = r->orig_len;
  memcpy(st->frame, r->data, r->len);
  if (r->len == r->orig_len)
    return 0;
  size_t plen = r->orig_len - 16;
  uint16_t pcrc = (uint16_t)(r->data[14] << 8 | r->data[15]);
  if (!im->pkg) {
    snprintf(err, errcap, "%s:%lu: this trace holds only the header of an "
             "STP BLOCK; give the package with --package FILE", path, r->line);
    return -1;
  }
  size_t cand[2] = {im->pkg_off, im->pkg_prev};
  for (int i = 0; i < 2; i++) {
    size_t off = cand[i];
    if (off + plen > im->pkg_len || sqn_crc16(0, im->pkg + off, plen) != pcrc)
      continue;
    memcpy(st->frame + 16, im->pkg + off, plen);
    if (i == 0) {
      im->pkg_prev = off;
      im->pkg_off = off + plen;
    }
    return 0;
  }
  snprintf(err, errcap, "%s:%lu: no %zu package bytes at offset %zu with this "
           "BLOCK's payload CRC 0x%04x: not the package of this session?",
           path, r->line, plen, im->pkg_off, pcrc);
  return -1;
}

static bool imp_is_echo(const struct sim_trec *r, const struct sim_trec *cmd) {
  return cmd && r->len == cmd->len && !memcmp(r->data, cmd->data, r->len);
}

/* An STP frame of the recording: a host frame opens a step, a modem frame
 * answers the last one. */
static int imp_take_stp(struct imp *im, const struct sim_trec *r,
                        const char *path, char *err, size_t errcap) {
  im->stp_frames++;
  if (r->dir == SIM_TREC_HOST) {
    struct imp_step *st = &im->steps[im->nsteps++];
    st->cmd = r;
    st->stp = true;
    if (imp_fill_frame(im, st, err, errcap, path) != 0)
      return -1;
  } else if (im->nsteps) {
    struct imp_step *st = &im->steps[im->nsteps - 1];
    if (st->nans < IMP_MAX_LINES)
      st->ans[st->nans++] = r;
  }
  return 0;
}

/* The boot mode an SMOD value names. */
static int imp_boot_of_smod(int smod) {
  return smod <= 1 ? SIM_BOOT_FFH : smod == 3 ? SIM_BOOT_UPDATER
         : smod == 4 ? SIM_BOOT_RECOVERY : SIM_BOOT_FFF;
}

/* A text note of the recording: the host's baud rate, the boot mode. */
static void imp_take_text(struct imp *im, const struct sim_trec *r) {
  const char *t = (const char *)r->data;
  unsigned b;
  int smod;
  const char *ha = strstr(t, "host at ");
  if (!im->nsteps && ha && sscanf(ha, "host at %u baud", &b) == 1)
    im->baud = b;
  if (im->boot < 0 && sscanf(t, "up: SMOD %d", &smod) == 1)
    im->boot = smod == 0 || smod == 1 ? SIM_BOOT_FFH
               : smod == 3            ? SIM_BOOT_UPDATER
               : smod == 4            ? SIM_BOOT_RECOVERY
                                      : SIM_BOOT_FFF;
}

/* An AT line of the recording: a host line opens a step, a modem line
 * answers the last one (an AT+SMOD? reply also tells the boot mode). */
static void imp_take_at(struct imp *im, const struct sim_trec *r) {
  if (r->dir == SIM_TREC_HOST) {
    im->steps[im->nsteps++].cmd = r;
    return;
  }
  if (!im->nsteps)
    return;
  struct imp_step *s = &im->steps[im->nsteps - 1];
  if (s->nans < IMP_MAX_LINES && !(s->nans == 0 && imp_is_echo(r, s->cmd)))
    s->ans[s->nans++] = r;
  /* an AT+SMOD? reply tells the mode (before any reset) */
  if (im->boot < 0 && s->nans == 1 && !s->stp && s->cmd->len == 8 &&
      !strncasecmp((const char *)s->cmd->data, "AT+SMOD?", 8) &&
      r->len == 1 && r->data[0] >= '0' && r->data[0] <= '4')
    im->boot = imp_boot_of_smod(r->data[0] - '0');
}

static int imp_build_steps(struct imp *im, const char *path, char *err,
                           size_t errcap) {
  im->steps = calloc(im->tf.n + 1, sizeof *im->steps);
  if (!im->steps)
    return -1;
  im->boot = -1;
  for (size_t i = 0; i < im->tf.n; i++) {
    const struct sim_trec *r = &im->tf.rec[i];
    if (r->proto == SIM_TREC_STP) {
      if (imp_take_stp(im, r, path, err, errcap) != 0)
        return -1;
    } else if (r->proto == SIM_TREC_TEXT) {
      imp_take_text(im, r);
    } else if (r->proto == SIM_TREC_AT) {
      imp_take_at(im, r);
    }
  }
  return 0;
}

/* ---- replay against the model ---- */

struct imp_out {
  uint8_t buf[65536];
  size_t len;
};

static void imp_tx(void *user, const uint8_t *b, size_t n) {
  struct imp_out *o = user;
  if (n > sizeof o->buf - o->len)
    n = sizeof o->buf - o->len;
  memcpy(o->buf + o->len, b, n);
  o->len += n;
}

struct imp_lines {
  char line[IMP_MAX_LINES][256];
  size_t n;
};

static void imp_line_unit(void *user, enum sim_trec_proto pr,
                          const uint8_t *p, size_t n) {
  struct imp_lines *l = user;
  (void)pr;
  if (l->n < IMP_MAX_LINES)
    snprintf(l->line[l->n++], sizeof l->line[0], "%.*s", (int)n, p);
}

static void imp_settle(struct sim_modem *m, uint64_t *now) {
  for (int i = 0; i < 10000; i++) {
    uint64_t d = sim_modem_next_deadline(m);
    if (d == SIM_NEVER || d > *now + 600000000u)
      break;
    if (d > *now)
      *now = d;
    sim_modem_tick(m, *now);
  }
  *now += 1000;
  sim_modem_tick(m, *now);
}

/* fixtures/states/healthy.json, the scenario's `state: healthy`, with the
 * boot mode the recording showed. */
static int imp_start_state(const struct imp *im, struct sim_state *st,
                           char *err, size_t errcap) {
  char path[4096], lerr[256];
  snprintf(path, sizeof path, "%s/states/healthy.json", im->fixtures);
  if (sim_state_load(path, st, lerr, sizeof lerr) != 0) {
    snprintf(err, errcap, "the healthy state: %s", lerr);
    return -1;
  }
  if (im->boot >= 0)
    st->boot_select = (enum sim_boot)im->boot;
  return 0;
}

static bool imp_match(const char *pat, const char *line);

/* Replay with the faults found so far. Returns the index of the first step
 * whose answer differs (with a new fault added), or -1: all as recorded. */
static long imp_replay(struct imp *im, char *err, size_t errcap) {
  struct sim_state st;
  memset(&st, 0, sizeof st);
  if (imp_start_state(im, &st, err, errcap) != 0)
    return -2;
  struct imp_out *out = calloc(1, sizeof *out);
  if (!out) {
    sim_state_release(&st);
    snprintf(err, errcap, "out of memory");
    return -2;
  }
  struct sim_modem_config mc = {.profile = st.profile, .state = &st,
                                .time_scale = 0, .tx = imp_tx, .user = out};
  uint64_t now = 1000;
  struct sim_modem *m = sim_modem_new(&mc, now);
  sim_state_release(&st);
  if (!m) {
    free(out);
    snprintf(err, errcap, "cannot create the modem model");
    return -2;
  }
  for (int i = 0; i < im->nfaults; i++)
    sim_modem_add_fault(m, &im->faults[i]);
  imp_settle(m, &now);
  long bad = -1;
  im->stp_dev = 0;
  for (size_t i = 0; i < im->nsteps && bad < 0; i++) {
    const struct imp_step *s = &im->steps[i];
    out->len = 0;
    if (s->stp) {
      sim_modem_feed(m, now, s->frame, s->frame_len);
      imp_settle(m, &now);
      /* the recorded frames, then lines, against what the model sent */
      size_t off = 0;
      bool same = true;
      for (size_t k = 0; k < s->nans && same; k++) {
        const struct sim_trec *a = s->ans[k];
        if (a->proto != SIM_TREC_STP)
          continue;
        same = off + a->len <= out->len && !memcmp(out->buf + off, a->data,
                                                   a->len);
        off += a->len;
      }
      if (!same && im->stp_dev++ == 0)
        im->first_stp_dev = (long)i;
      continue;
    }
    sim_modem_feed(m, now, s->cmd->data, s->cmd->len);
    sim_modem_feed(m, now, (const uint8_t *)"\r", 1);
    imp_settle(m, &now);
    struct imp_lines got = {0};
    struct sim_splitter *sp = malloc(sizeof *sp);
    if (!sp)
      break;
    sim_splitter_init(sp, SIM_TREC_MODEM, imp_line_unit, &got);
    sim_splitter_feed(sp, out->buf, out->len);
    sim_splitter_flush(sp);
    free(sp);
    size_t skip = got.n && !strcmp(got.line[0], (const char *)s->cmd->data);
    bool same = got.n - skip == s->nans;
    for (size_t k = 0; same && k < s->nans; k++)
      same = !strcmp(got.line[skip + k], (const char *)s->ans[k]->data);
    if (same)
      continue;
    if (s->nans && s->ans[0]->proto == SIM_TREC_STP)
      continue; /* frames after a command line: not an AT answer */
    if (im->nfaults == IMP_MAX_FAULTS) {
      snprintf(err, errcap, "more than %d deviations", IMP_MAX_FAULTS);
      bad = -2;
      break;
    }
    /* a fault on this occurrence of the command */
    struct sim_fault *f = &im->faults[im->nfaults];
    memset(f, 0, sizeof *f);
    const char *cmd = (const char *)s->cmd->data;
    snprintf(f->match, sizeof f->match, "%s", cmd);
    uint32_t occ = 0;
    for (size_t j = 0; j <= i; j++)
      occ += !im->steps[j].stp &&
             imp_match(f->match, (const char *)im->steps[j].cmd->data);
    f->when = SIM_FAULT_ON_AT;
    f->first = f->last = occ;
    snprintf(f->name, sizeof f->name, "import-%d", im->nfaults + 1);
    if (s->nans == 0) {
      f->action = SIM_FAULT_DO_NO_REPLY;
    } else if (s->nans == 1 && !strcmp((const char *)s->ans[0]->data, "ERROR")) {
      f->action = SIM_FAULT_DO_ERROR;
    } else {
      f->action = SIM_FAULT_DO_REPLY;
      size_t l = 0;
      for (size_t k = 0; k < s->nans && l < sizeof f->text; k++)
        l += (size_t)snprintf(f->text + l, sizeof f->text - l, "%s%s",
                              k ? "\n" : "", (const char *)s->ans[k]->data);
    }
    im->nfaults++;
    bad = (long)i;
  }
  sim_modem_free(m);
  free(out);
  return bad;
}

/* The model's AT match: a glob with '*' or '?', else a prefix. */
static bool imp_glob(const char *p, const char *s) {
  if (!*p)
    return !*s;
  if (*p == '*')
    return imp_glob(p + 1, s) || (*s && imp_glob(p, s + 1));
  if (!*s)
    return false;
  char a = *p, b = *s;
  if (a >= 'a' && a <= 'z')
    a = (char)(a - 32);
  if (b >= 'a' && b <= 'z')
    b = (char)(b - 32);
  return (*p == '?' || a == b) && imp_glob(p + 1, s + 1);
}

static bool imp_match(const char *pat, const char *line) {
  if (strpbrk(pat, "*?"))
    return imp_glob(pat, line);
  return strncasecmp(pat, line, strlen(pat)) == 0;
}

/* ---- output ---- */

/* A chat string of bytes. sqn-chat expands ${NAME} after unescaping, so
 * a "${" in the data is written as ${DOLLAR}{ (the script sets DOLLAR). */
static void imp_quote(FILE *f, const uint8_t *p, size_t n, bool hex) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c == '$' && i + 1 < n && p[i + 1] == '{')
      fputs("${DOLLAR}", f);
    else if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (hex || c < 32 || c > 126)
      fprintf(f, "\\x%02x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static int imp_read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  size_t cap = 1 << 20, n = 0;
  uint8_t *b = malloc(cap);
  while (b) {
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (n < cap)
      break;
    uint8_t *nb = realloc(b, cap * 2);
    if (!nb) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
    cap *= 2;
  }
  int bad = !b || ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    if (!errno)
      errno = EIO;
    return -1;
  }
  *out = b;
  *len = n;
  return 0;
}

static int imp_write_chat(const struct imp *im, const char *path,
                          const char *trace) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fprintf(f, "# Imported by sqn-scenario import from %s (%s).\n"
             "# What the host sent, in order; after each command, what the\n"
             "# recording shows the modem answered is checked.\n",
          trace, sim_tracefmt_name(im->tf.fmt));
  fprintf(f, "set DOLLAR \"$\"\nopen %u\n", im->baud ? im->baud : 921600);
  for (size_t i = 0; i < im->nsteps; i++) {
    const struct imp_step *s = &im->steps[i];
    if (s->stp) {
      fputs("send ", f);
      imp_quote(f, s->frame, s->frame_len, false);
      fputc('\n', f);
      size_t total = 0, lines = 0;
      for (size_t k = 0; k < s->nans; k++)
        if (s->ans[k]->proto == SIM_TREC_STP)
          total += s->ans[k]->len;
        else
          lines++;
      if (total) {
        uint8_t *all = malloc(total);
        if (!all) {
          fclose(f);
          return -1;
        }
        size_t off = 0;
        for (size_t k = 0; k < s->nans; k++)
          if (s->ans[k]->proto == SIM_TREC_STP) {
            memcpy(all + off, s->ans[k]->data, s->ans[k]->len);
            off += s->ans[k]->len;
          }
        fprintf(f, "read %zu timeout 20\nexpect-any ", total);
        imp_quote(f, all, total, true);
        free(all);
        fprintf(f, " else \"step %zu: the modem's STP response differs "
                   "from the recording\"\n", i + 1);
      } else if (!lines) {
        fputs("read-any timeout 2\n", f);
      }
      for (size_t k = 0; k < s->nans; k++)
        if (s->ans[k]->proto != SIM_TREC_STP) {
          fputs("read-until ", f);
          imp_quote(f, s->ans[k]->data, s->ans[k]->len, false);
          fputs(" timeout 20\n", f);
        }
      continue;
    }
    fputs("send ", f);
    uint8_t line[300];
    size_t n = s->cmd->len < 296 ? s->cmd->len : 296;
    memcpy(line, s->cmd->data, n);
    line[n++] = '\r';
    line[n++] = '\n';
    imp_quote(f, line, n, false);
    fputc('\n', f);
    if (s->nans == 0) {
      fputs("read-any timeout 2\n", f);
      fprintf(f, "expect-any \"\" else \"step %zu: the recording shows no "
                 "answer\"\n", i + 1);
      continue;
    }
    fputs("read-until ", f);
    imp_quote(f, s->ans[s->nans - 1]->data, s->ans[s->nans - 1]->len,
              false);
    fputs(" timeout 20\n", f);
    for (size_t k = 0; k < s->nans; k++) {
      if (s->ans[k]->proto != SIM_TREC_AT)
        continue;
      fputs("expect-contains ", f);
      imp_quote(f, s->ans[k]->data, s->ans[k]->len, false);
      fprintf(f, " else \"step %zu: the modem did not answer as recorded\"\n",
              i + 1);
    }
  }
  return fclose(f);
}

static void imp_yaml_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', f);
    if (*s == '\n') {
      fputs("\\n", f);
      continue;
    }
    fputc(*s, f);
  }
  fputc('"', f);
}

static void imp_write_faults(FILE *f, const struct imp *im, const char *ind) {
  for (int i = 0; i < im->nfaults; i++) {
    const struct sim_fault *x = &im->faults[i];
    fprintf(f, "%s- name: \"%s\"\n%s  when: at\n%s  match: ", ind, x->name,
            ind, ind);
    imp_yaml_str(f, x->match);
    fprintf(f, "\n%s  first: %u\n%s  last: %u\n%s  do: %s\n", ind, x->first,
            ind, x->last, ind, sim_fault_action_name(x->action));
    if (x->text[0]) {
      fprintf(f, "%s  text: ", ind);
      imp_yaml_str(f, x->text);
      fputc('\n', f);
    }
  }
}

static const char *imp_boot_word(int b) {
  switch (b) {
  case SIM_BOOT_FFH: return "ffh";
  case SIM_BOOT_UPDATER: return "updater";
  case SIM_BOOT_RECOVERY: return "recovery";
  default: return "fff";
  }
}

static void imp_usage(FILE *f) {
  fputs("usage: sqn-scenario import TRACE -o|--output OUT.yaml [--name NAME]\n"
        "                           [--package FILE] [--fixtures DIR]\n"
        "       sqn-scenario diff TRACE_A TRACE_B\n"
        "\n"
        "import turns a recorded session (an sqn-sim or sqn-sim --proxy trace,\n"
        "sqn-update --log, or a socat -x hex dump whose first address is the\n"
        "host side) into a scenario: OUT.yaml, the host's chat script\n"
        "OUT.chat and its faults alone in OUT-faults.yaml. --package gives\n"
        "the STP BLOCK payloads an sqn-sim trace does not hold (each found by\n"
        "its CRC). diff prints where\n"
        "two recorded sessions part (AT lines and STP frames, times ignored).\n"
        "exit status: 0 ok (diff: same exchange), 1 the traces differ,\n"
        "             2 usage error, 3 bad trace file or cannot write\n",
        f);
}

static char *imp_sibling(const char *out, const char *suffix) {
  size_t n = strlen(out);
  if (n > 5 && !strcmp(out + n - 5, ".yaml"))
    n -= 5;
  char *p = malloc(n + strlen(suffix) + 1);
  if (p) {
    memcpy(p, out, n);
    strcpy(p + n, suffix);
  }
  return p;
}

struct imp_args {
  const char *trace, *out, *name, *package, *fixtures;
};

/* Parse import's arguments: -1 to go on, else the exit code. */
static int imp_parse_args(int argc, char **argv, struct imp_args *a) {
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      imp_usage(stdout);
      return 0;
    } else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) &&
               i + 1 < argc) {
      a->out = argv[++i];
    } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
      a->name = argv[++i];
    } else if (!strcmp(argv[i], "--fixtures") && i + 1 < argc) {
      a->fixtures = argv[++i];
    } else if (!strcmp(argv[i], "--package") && i + 1 < argc) {
      a->package = argv[++i];
    } else if (argv[i][0] != '-' && !a->trace) {
      a->trace = argv[i];
    } else {
      fprintf(stderr, "sqn-scenario import: unexpected argument '%s'\n",
              argv[i]);
      imp_usage(stderr);
      return 2;
    }
  }
  if (!a->trace || !a->out) {
    imp_usage(stderr);
    return 2;
  }
  return -1;
}

/* Write the faults file next to the scenario. 0, or -1 (reported). */
static int imp_write_faults_file(struct imp *im, const char *faults,
                                 const char *trace) {
  FILE *ff = fopen(faults, "w");
  if (!ff) {
    fprintf(stderr, "sqn-scenario: %s: %s\n", faults, strerror(errno));
    return -1;
  }
  fprintf(ff, "# The modem's deviations from the emulator's healthy behaviour "
              "in %s\n", trace);
  if (!im->nfaults)
    fputs("[]\n", ff);
  imp_write_faults(ff, im, "");
  fclose(ff);
  return 0;
}

/* Write the scenario YAML. 0, or -1 (reported). */
static int imp_write_scenario(struct imp *im, const struct imp_args *a,
                              const char *chat, const char *abs_chat) {
  const char *out = a->out, *trace = a->trace;
  FILE *f = fopen(out, "w");
  if (!f) {
    fprintf(stderr, "sqn-scenario: %s: %s\n", out, strerror(errno));
    return -1;
  }
  const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
  char defname[128];
  snprintf(defname, sizeof defname, "imported-%.*s",
           (int)(strlen(base) > 5 ? strlen(base) - 5 : strlen(base)), base);
  fprintf(f, "# Imported by sqn-scenario import from %s (format %s):\n"
             "# %zu host units (AT commands, STP frames), %zu STP frames in all, %d "
             "deviation(s) from the healthy emulator turned into faults.\n",
          trace, sim_tracefmt_name(im->tf.fmt), im->nsteps, im->stp_frames,
          im->nfaults);
  if (im->stp_dev)
    fprintf(f, "# The emulator answered %zu STP frame(s) differently from "
               "the recording (first: host unit %ld); STP deviations are "
               "not turned into faults.\n",
            im->stp_dev, im->first_stp_dev + 1);
  fprintf(f, "name: ");
  imp_yaml_str(f, a->name ? a->name : defname);
  fprintf(f, "\nid: \"IMPORT\"\nverdict: \"report\"\n"
             "summary: \"the recorded exchange, replayed against the "
             "emulator\"\nstate: \"healthy\"\n");
  if (im->boot >= 0)
    fprintf(f, "state_set:\n  boot: %s\n", imp_boot_word(im->boot));
  fprintf(f, "rerun: none\nbound: 900\nupdater:\n  kind: external\n"
             "  command: \"sqn-chat --timeout-scale {scale} --sleep-scale "
             "{scale} %s {pty}\"\n",
          abs_chat ? abs_chat : chat);
  if (im->nfaults) {
    fputs("faults:\n", f);
    imp_write_faults(f, im, "  ");
  }
  fputs("expect:\n  result: success\n", f);
  if (fclose(f) != 0) {
    fprintf(stderr, "sqn-scenario: %s: %s\n", out, strerror(errno));
    return -1;
  }
  return 0;
}

/* Build the steps, replay them and write the three files. 0, or -1
 * (reported). */
static int imp_convert(struct imp *im, const struct imp_args *a,
                       const char *chat, const char *faults,
                       char **abs_chat) {
  const char *trace = a->trace;
  char err[512];
  err[0] = '\0';
  if (!chat || !faults || imp_build_steps(im, trace, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err[0] ? err : "out of memory");
    return -1;
  }
  if (im->nsteps == 0) {
    fprintf(stderr, "sqn-scenario: %s: no AT command from the host in it\n",
            trace);
    return -1;
  }
  long r;
  int rounds = 0;
  while ((r = imp_replay(im, err, sizeof err)) >= 0 && rounds++ < 64)
    ;
  if (r == -2) {
    fprintf(stderr, "sqn-scenario: %s: %s\n", trace, err);
    return -1;
  }
  if (imp_write_chat(im, chat, trace) != 0) {
    fprintf(stderr, "sqn-scenario: %s: %s\n", chat, strerror(errno));
    return -1;
  }
  *abs_chat = realpath(chat, NULL);
  if (imp_write_faults_file(im, faults, trace) != 0 ||
      imp_write_scenario(im, a, chat, *abs_chat) != 0)
    return -1;
  printf("%s: %zu host units, %d fault(s), boot %s; host script %s\n",
         a->out, im->nsteps, im->nfaults,
         im->boot >= 0 ? imp_boot_word(im->boot) : "as healthy", chat);
  return 0;
}

int harness_main_import(int argc, char **argv, const char *fixtures) {
  struct imp_args a = {.fixtures = fixtures};
  int prc = imp_parse_args(argc, argv, &a);
  if (prc >= 0)
    return prc;
  struct imp *im = calloc(1, sizeof *im);
  char err[512];
  if (!im)
    return 3;
  im->fixtures = a.fixtures;
  if (sim_tracefile_load(a.trace, &im->tf, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err);
    free(im);
    return 3;
  }
  if (a.package && imp_read_file(a.package, &im->pkg, &im->pkg_len) != 0) {
    fprintf(stderr, "sqn-scenario: --package %s: %s\n", a.package,
            strerror(errno));
    sim_tracefile_free(&im->tf);
    free(im);
    return 3;
  }
  char *chat = imp_sibling(a.out, ".chat");
  char *faults = imp_sibling(a.out, "-faults.yaml");
  char *abs_chat = NULL;
  int rc = imp_convert(im, &a, chat, faults, &abs_chat) == 0 ? 0 : 3;
  free(abs_chat);
  free(chat);
  free(faults);
  for (size_t i = 0; im->steps && i < im->nsteps; i++)
    free(im->steps[i].frame);
  free(im->steps);
  free(im->pkg);
  sim_tracefile_free(&im->tf);
  free(im);
  return rc;
}

/* ---- diff ---- */

static bool diff_unit(const struct sim_trec *r) {
  return r->proto == SIM_TREC_AT || r->proto == SIM_TREC_STP ||
         r->proto == SIM_TREC_RAW;
}

static void diff_show(const char *path, const struct sim_trec *r) {
  if (!r) {
    printf("  %s: (ends)\n", path);
    return;
  }
  printf("  %s:%lu: %s ", path, r->line,
         r->dir == SIM_TREC_HOST ? "host -> modem" : "modem -> host");
  if (r->proto == SIM_TREC_AT) {
    printf("%.*s\n", (int)r->len, (const char *)r->data);
  } else {
    printf("%s %zu bytes:", r->proto == SIM_TREC_STP ? "STP frame" : "bytes",
           r->orig_len);
    for (size_t i = 0; i < r->len && i < 16; i++)
      printf(" %02x", r->data[i]);
    putchar('\n');
  }
}

int harness_main_diff(int argc, char **argv) {
  if (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
    imp_usage(stdout);
    return 0;
  }
  if (argc != 4) {
    imp_usage(stderr);
    return 2;
  }
  struct sim_tracefile a, b;
  char err[512];
  if (sim_tracefile_load(argv[2], &a, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err);
    return 3;
  }
  if (sim_tracefile_load(argv[3], &b, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-scenario: %s\n", err);
    sim_tracefile_free(&a);
    return 3;
  }
  size_t i = 0, j = 0, n = 0;
  int rc = 0;
  for (;;) {
    while (i < a.n && !diff_unit(&a.rec[i]))
      i++;
    while (j < b.n && !diff_unit(&b.rec[j]))
      j++;
    if (i == a.n && j == b.n)
      break;
    const struct sim_trec *x = i < a.n ? &a.rec[i] : NULL;
    const struct sim_trec *y = j < b.n ? &b.rec[j] : NULL;
    /* a frame recorded header-only matches the same frame in full */
    if (x && y && x->dir == y->dir && x->proto == y->proto &&
        (x->len == y->len ? !memcmp(x->data, y->data, x->len)
                          : x->proto == SIM_TREC_STP &&
                                x->orig_len == y->orig_len &&
                                !memcmp(x->data, y->data, 16))) {
      i++, j++, n++;
      continue;
    }
    printf("the traces part after %zu common units:\n", n);
    diff_show(argv[2], x);
    diff_show(argv[3], y);
    rc = 1;
    break;
  }
  if (!rc)
    printf("same exchange: %zu units (AT lines and STP frames)\n", n);
  sim_tracefile_free(&a);
  sim_tracefile_free(&b);
  return rc;
}

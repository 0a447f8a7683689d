/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-sim as a child process (run.c's --pty mode).
 *
 * Overview. The harness writes the modem's flash to a state file and the
 * run's faults to a YAML file, then starts
 *
 *   sqn-sim --state F --time-scale S --trace T [--faults FF] [--profile P]
 *
 * with stdout on a pipe (its first line is "pty: /dev/pts/N", read with a
 * bounded wait) and stderr in a file. The trace file is one JSON object per
 * line ({"t":us,"kind":"at<","text":"...","raw":"hex","event":...} with the
 * typed fields of sim/shell/trace.c, t in wall microseconds since sqn-sim
 * started); it is read incrementally, a partial
 * last line is kept for the next read, and each event is handed on as a
 * struct sim_trace_event whose time is harness virtual time:
 *
 *   virtual = v0 + t / scale       (scale = wall seconds per modem second)
 *
 * so the narration and the trace-based checks are the same code as for the
 * in-process model. Stopping is SIGTERM (sqn-sim saves the state and
 * exits), a bounded wait, then SIGKILL; always by the child's pid.
 */
#include "simproc.h"

#include "sim/tracefile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double harness_wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- faults file ------------------------------------------------------- */

/* A YAML double-quoted scalar. */
static void harness_yaml_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static const char *harness_fault_mode_word(enum sim_fault_mode m) {
  switch (m) {
  case SIM_FAULT_MODE_FFH: return "ffh";
  case SIM_FAULT_MODE_FFH_ELF: return "ffh-elf";
  case SIM_FAULT_MODE_FFF: return "fff";
  case SIM_FAULT_MODE_UPDATER: return "updater";
  case SIM_FAULT_MODE_RECOVERY: return "recovery";
  case SIM_FAULT_MODE_ANY: break;
  }
  return "any";
}

int harness_faults_write_yaml(const char *path, const struct sim_fault *f,
                              size_t n) {
  FILE *out = fopen(path, "w");
  if (!out)
    return -1;
  fputs("# written by sqn-scenario --pty for sqn-sim --faults\n", out);
  if (n == 0)
    fputs("[]\n", out);
  for (size_t i = 0; i < n; i++) {
    const struct sim_fault *x = &f[i];
    fputs("- name: ", out);
    harness_yaml_str(out, x->name);
    fprintf(out, "\n  when: %s\n", sim_fault_trigger_name(x->when));
    fputs("  match: ", out);
    harness_yaml_str(out, x->match);
    fprintf(out,
            "\n  first: %lu\n  last: %lu\n  op: %ld\n  mode: %s\n"
            "  offset: %llu\n  percent: %.17g\n  size: %llu\n"
            "  after_us: %llu\n  do: %s\n",
            (unsigned long)x->first, (unsigned long)x->last, (long)x->op,
            harness_fault_mode_word(x->mode), (unsigned long long)x->offset,
            x->percent, (unsigned long long)x->size,
            (unsigned long long)x->after_us, sim_fault_action_name(x->action));
    fputs("  text: ", out);
    harness_yaml_str(out, x->text);
    fprintf(out, "\n  delay_us: %llu\n  count: %lu\n",
            (unsigned long long)x->delay_us, (unsigned long)x->count);
  }
  int rc = ferror(out) ? -1 : 0;
  if (fclose(out) != 0)
    rc = -1;
  return rc;
}

/* --- the process -------------------------------------------------------- */

static void harness_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int harness_simproc_start(struct harness_simproc *p, const char *sim_bin,
                          const char *dir, const char *profile, double scale,
                          const struct sim_fault *faults, size_t nfaults,
                          uint64_t v0_us, char *err, size_t errcap) {
  unsigned starts = p->starts;
  memset(p, 0, sizeof(*p));
  p->starts = starts + 1;
  p->trace_fd = -1;
  p->exit_status = -1;
  p->scale = scale;
  snprintf(p->state_path, sizeof(p->state_path), "%s/state.json", dir);
  snprintf(p->faults_path, sizeof(p->faults_path), "%s/faults-%u.yaml", dir,
           p->starts);
  snprintf(p->trace_path, sizeof(p->trace_path), "%s/trace-%u.jsonl", dir,
           p->starts);
  snprintf(p->err_path, sizeof(p->err_path), "%s/sim-%u.err", dir,
           p->starts);
  if (nfaults && harness_faults_write_yaml(p->faults_path, faults, nfaults)) {
    snprintf(err, errcap, "cannot write %s: %s", p->faults_path,
             strerror(errno));
    return -1;
  }
  char scale_s[32];
  snprintf(scale_s, sizeof(scale_s), "%.17g", scale);
  const char *argv[16];
  int argc = 0;
  argv[argc++] = sim_bin;
  argv[argc++] = "--state";
  argv[argc++] = p->state_path;
  argv[argc++] = "--profile";
  argv[argc++] = profile;
  argv[argc++] = "--time-scale";
  argv[argc++] = scale_s;
  argv[argc++] = "--trace";
  argv[argc++] = p->trace_path;
  if (nfaults) {
    argv[argc++] = "--faults";
    argv[argc++] = p->faults_path;
  }
  argv[argc] = NULL;

  int out[2];
  if (pipe(out) != 0) {
    snprintf(err, errcap, "pipe: %s", strerror(errno));
    return -1;
  }
  int errfd = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   0600);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errcap, "fork: %s", strerror(errno));
    close(out[0]);
    close(out[1]);
    if (errfd >= 0)
      close(errfd);
    return -1;
  }
  if (pid == 0) {
    dup2(out[1], 1);
    if (errfd >= 0)
      dup2(errfd, 2);
    close(out[0]);
    close(out[1]);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      dup2(devnull, 0);
      close(devnull);
    }
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  if (errfd >= 0)
    close(errfd);
  p->pid = pid;
  p->wall0 = harness_wall_now();
  p->v0_us = v0_us;

  /* The first line, with a bounded wait: a broken sqn-sim must not hang
   * the harness. */
  char line[256];
  size_t len = 0;
  double deadline = p->wall0 + 10.0;
  bool got = false;
  while (!got && harness_wall_now() < deadline) {
    struct pollfd pf = {.fd = out[0], .events = POLLIN};
    int ms = (int)((deadline - harness_wall_now()) * 1000.0) + 1;
    if (poll(&pf, 1, ms) <= 0)
      continue;
    ssize_t n = read(out[0], line + len, sizeof(line) - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    line[len] = '\0';
    if (strchr(line, '\n') || len >= sizeof(line) - 1)
      got = true;
  }
  close(out[0]);
  line[len] = '\0';
  line[strcspn(line, "\n")] = '\0';
  if (!got || strncmp(line, "pty: ", 5) != 0) {
    char tail[256];
    harness_simproc_stop(p, NULL, NULL);
    harness_simproc_stderr(p, tail, sizeof(tail));
    snprintf(err, errcap, "%s did not print its \"pty: \" line within 10 s "
                          "(got \"%.60s\")%s%.200s",
             sim_bin, line, tail[0] ? "; stderr: " : "", tail);
    return -1;
  }
  snprintf(p->pty, sizeof(p->pty), "%.127s", line + 5);
  return 0;
}

uint64_t harness_simproc_vnow(const struct harness_simproc *p) {
  double dt = harness_wall_now() - p->wall0;
  if (dt < 0)
    dt = 0;
  return p->v0_us + (uint64_t)(dt / p->scale * 1e6);
}

/* --- the trace ------------------------------------------------------------- */

static int harness_trace_kind(const char *word, enum sim_trace_kind *out) {
#define XX(name, tag)                                                         \
  if (strcmp(word, tag) == 0) {                                               \
    *out = SIM_TRACE_##name;                                                  \
    return 0;                                                                 \
  }
  SIM_TRACE_MAP(XX)
#undef XX
  return -1;
}

static uint64_t harness_json_u64(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* The typed fields of a trace line (sim/shell/trace.c writes them) into
 * `e`; strings point into `o`, the image into `img`. */
static void harness_trace_typed(json_t *o, struct sim_event *e,
                                struct sim_image *img) {
  const char *word = json_string_value(json_object_get(o, "event"));
  memset(e, 0, sizeof(*e));
  if (!word || sim_event_type_parse(word, &e->type) != 0)
    return;
  e->smod = (int)json_integer_value(json_object_get(o, "smod"));
  e->baud = (uint32_t)harness_json_u64(o, "baud");
  e->line = json_string_value(json_object_get(o, "line"));
  e->op = (uint8_t)harness_json_u64(o, "op");
  e->sid = (uint8_t)harness_json_u64(o, "sid");
  e->tid = (uint32_t)harness_json_u64(o, "tid");
  e->plen = (uint32_t)harness_json_u64(o, "plen");
  e->stp_mode = json_string_value(json_object_get(o, "stp_mode"));
  e->mts = (uint32_t)harness_json_u64(o, "mts");
  e->writes = harness_json_u64(o, "writes");
  e->slot = json_string_value(json_object_get(o, "slot"));
  e->status = json_string_value(json_object_get(o, "status"));
  e->success = json_is_true(json_object_get(o, "success"));
  e->bytes = harness_json_u64(o, "bytes");
  e->reason = json_string_value(json_object_get(o, "reason"));
  e->fault = json_string_value(json_object_get(o, "fault"));
  e->trigger = json_string_value(json_object_get(o, "trigger"));
  e->action = json_string_value(json_object_get(o, "action"));
  e->count = (uint32_t)harness_json_u64(o, "count");
  json_t *im = json_object_get(o, "image");
  if (json_is_object(im)) {
    memset(img, 0, sizeof(*img));
    img->valid = json_is_true(json_object_get(im, "valid"));
    snprintf(img->version, sizeof(img->version), "%s",
             json_string_value(json_object_get(im, "version"))
                 ? json_string_value(json_object_get(im, "version"))
                 : "");
    img->build = (uint32_t)harness_json_u64(im, "build");
    e->image = img;
  }
}

/* One trace line -> fn. 0, or -1 with err. */
static int harness_trace_line(struct harness_simproc *p, const char *line,
                              void (*fn)(void *,
                                         const struct sim_trace_event *),
                              void *ctx, char *err, size_t errcap) {
  json_error_t je;
  json_t *o = json_loads(line, 0, &je);
  if (!o || !json_is_object(o)) {
    snprintf(err, errcap, "%s: malformed trace line: %s", p->trace_path,
             o ? "not an object" : je.text);
    json_decref(o);
    return -1;
  }
  json_t *t = json_object_get(o, "t");
  const char *kind = json_string_value(json_object_get(o, "kind"));
  const char *text = json_string_value(json_object_get(o, "text"));
  const char *raw = json_string_value(json_object_get(o, "raw"));
  struct sim_trace_event ev;
  memset(&ev, 0, sizeof(ev));
  if (!json_is_integer(t) || !kind || harness_trace_kind(kind, &ev.kind)) {
    snprintf(err, errcap, "%s: trace line without t/kind: %.80s",
             p->trace_path, line);
    json_decref(o);
    return -1;
  }
  ev.t_us = p->v0_us + (uint64_t)((double)json_integer_value(t) / p->scale);
  ev.text = text ? text : "";
  struct sim_image img;
  harness_trace_typed(o, &ev.ev, &img);
  uint8_t *bytes = NULL;
  if (raw && raw[0]) {
    size_t n = strlen(raw) / 2;
    bytes = malloc(n ? n : 1);
    if (bytes && sim_unhex(raw, bytes, n) == n) {
      ev.raw = bytes;
      ev.raw_len = n;
    }
  }
  if (fn)
    fn(ctx, &ev);
  free(bytes);
  json_decref(o);
  return 0;
}

int harness_simproc_poll_trace(struct harness_simproc *p,
                               void (*fn)(void *ctx,
                                          const struct sim_trace_event *ev),
                               void *ctx, char *err, size_t errcap) {
  if (p->trace_fd < 0) {
    p->trace_fd = open(p->trace_path, O_RDONLY | O_CLOEXEC);
    if (p->trace_fd < 0)
      return 0; /* not created yet */
  }
  int events = 0;
  for (;;) {
    if (p->tlen + 65536 + 1 > p->tcap) {
      size_t nc = p->tcap ? p->tcap * 2 : 131072;
      char *b = realloc(p->tbuf, nc);
      if (!b) {
        snprintf(err, errcap, "out of memory reading the trace");
        return -1;
      }
      p->tbuf = b;
      p->tcap = nc;
    }
    ssize_t n = read(p->trace_fd, p->tbuf + p->tlen, 65536);
    if (n <= 0)
      break;
    p->tlen += (size_t)n;
    p->tbuf[p->tlen] = '\0';
    size_t start = 0;
    for (;;) {
      char *nl = memchr(p->tbuf + start, '\n', p->tlen - start);
      if (!nl)
        break;
      *nl = '\0';
      if (nl > p->tbuf + start) {
        if (harness_trace_line(p, p->tbuf + start, fn, ctx, err, errcap))
          return -1;
        events++;
      }
      start = (size_t)(nl - p->tbuf) + 1;
    }
    memmove(p->tbuf, p->tbuf + start, p->tlen - start);
    p->tlen -= start;
  }
  return events;
}

int harness_simproc_stop(struct harness_simproc *p,
                         void (*fn)(void *ctx,
                                    const struct sim_trace_event *ev),
                         void *ctx) {
  if (p->pid > 0) {
    int status = 0;
    pid_t w = 0;
    kill(p->pid, SIGTERM);
    double deadline = harness_wall_now() + 5.0;
    while ((w = waitpid(p->pid, &status, WNOHANG)) == 0 &&
           harness_wall_now() < deadline)
      harness_sleep_ms(5);
    if (w == 0) {
      kill(p->pid, SIGKILL);
      w = waitpid(p->pid, &status, 0);
    }
    p->exit_status = (w == p->pid && WIFEXITED(status))
                         ? WEXITSTATUS(status)
                         : -1;
    p->pid = 0;
  }
  if (fn) {
    char err[256];
    (void)harness_simproc_poll_trace(p, fn, ctx, err, sizeof(err));
  }
  if (p->trace_fd >= 0)
    close(p->trace_fd);
  p->trace_fd = -1;
  free(p->tbuf);
  p->tbuf = NULL;
  p->tlen = p->tcap = 0;
  return p->exit_status == 0 ? 0 : -1;
}

void harness_simproc_stderr(const struct harness_simproc *p, char *out,
                            size_t cap) {
  out[0] = '\0';
  FILE *f = fopen(p->err_path, "r");
  if (!f)
    return;
  char line[256];
  size_t used = 0;
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!line[0])
      continue;
    int n = snprintf(out + used, cap - used, "%s%s", used ? " | " : "", line);
    if (n < 0 || (size_t)n >= cap - used) {
      /* keep the latest lines: start over with this one */
      used = 0;
      snprintf(out, cap, "%.*s", (int)(cap - 1), line);
      used = strlen(out);
      continue;
    }
    used += (size_t)n;
  }
  fclose(f);
}

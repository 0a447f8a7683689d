/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sqn-sim --proxy MODEM_TTY`: a fault-injecting proxy in front of a real
 * modem (or of another sqn-sim standing in for one).
 *
 *   host tool --- /dev/pts/N (our pty) === sqn-sim --proxy === MODEM_TTY
 *                                          | trace, faults
 *
 * Bytes are forwarded both ways. The modem port runs at the rate the host
 * set on the pty (read from the master's termios before every forward), so
 * AT+IPR and the host's own rate changes carry through. Both streams are cut
 * into AT lines and STP frames (sim_splitter) for the trace and for the
 * faults:
 *
 *   host -> modem  a line or frame is held until it is complete, then
 *                  forwarded (or not: faults); an unterminated line (e.g.
 *                  "+++") goes on after 20 ms of silence
 *   modem -> host  STP frames are held until complete (to corrupt them);
 *                  everything else is forwarded as it comes
 *
 * Faults use the fault-file format (sim/fault.h) with the emulator's
 * meaning where a proxy can give it:
 *   when: at        do: error | reply | no-reply | delay | urc | silent |
 *                       garble
 *   when: stp-frame | stp-op
 *                   do: drop (the request is not forwarded), no-reply (the
 *                       response is not forwarded), delay (the response),
 *                       corrupt-magic|hcrc|pcrc|op|sid|tid (bits of the
 *                       response), silent, garble
 *   silent          nothing is forwarded either way for delay_us (0 = until
 *                   the proxy stops): a hung modem
 *   garble          modem -> host bytes are garbled from then on, as at a
 *                   rate mismatch
 * A power cut (or anything that needs the modem's insides: crash, reboot,
 * mode triggers, upgrade faults) is impossible through a proxy; such a
 * fault file is refused.
 *
 * The trace is sqn-sim's (JSON lines, shell/trace.c), with full STP frames.
 * Fault decisions are made on whole units and queued with a release time;
 * the loop below only moves bytes (poll, read, write) and keeps the clock.
 */
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pty_rate.h"
#include "sim/fault_yaml.h"
#include "sim/tracefile.h"
#include "sqnup/crc.h"
#include "sqnup/stp.h"

#define PX_MAX_FAULTS 64
#define PX_LINE_GAP_US 20000u

struct px_chunk {
  struct px_chunk *next;
  uint64_t release_us;
  size_t len, off;
  uint8_t data[];
};

struct px_queue {
  struct px_chunk *head, **tail;
};

struct px_fault {
  struct sim_fault f;
  uint32_t seen;
};

struct px {
  int tty;
  struct sim_pty pty;
  FILE *trace;
  uint64_t t0_us;
  struct px_fault faults[PX_MAX_FAULTS];
  int nfaults;
  struct sim_splitter split[2]; /* [0] host -> modem, [1] modem -> host */
  uint8_t *hold[2];             /* bytes of the unit being received */
  size_t hold_len[2];
  size_t hold_sent[2];          /* of those, already forwarded */
  uint64_t last_rx_us[2];
  struct px_queue q[2];         /* [0] to the modem, [1] to the host */
  uint64_t now;
  uint32_t frames;              /* STP request frames seen */
  uint32_t op_seen[64];
  uint32_t baud;
  /* what happens to the next response frame */
  enum { PX_RSP_PASS, PX_RSP_DROP, PX_RSP_DELAY, PX_RSP_CORRUPT } rsp;
  enum sim_fault_action rsp_corrupt;
  uint64_t rsp_delay_us;
  uint64_t silent_until; /* UINT64_MAX: for good */
  bool garble;
  bool unit_done;        /* set by the splitter callback */
  bool unit_drop;        /* the unit must not be forwarded */
  uint64_t unit_delay_us;
};

static volatile sig_atomic_t px_stop;

static void px_on_signal(int sig) {
  (void)sig;
  px_stop = 1;
}

/* ---- trace ---- */

static void px_trace(struct px *p, enum sim_trace_kind k, const uint8_t *raw,
                     size_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void px_trace(struct px *p, enum sim_trace_kind k, const uint8_t *raw,
                     size_t n, const char *fmt, ...) {
  if (!p->trace)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  struct sim_trace_event ev = {.t_us = p->now - p->t0_us, .kind = k,
                               .text = text, .raw = raw, .raw_len = n};
  sim_trace_write_json(p->trace, &ev);
}

/* ---- queues ---- */

static void px_push(struct px *p, int to, const uint8_t *d, size_t n,
                    uint64_t delay_us) {
  if (!n)
    return;
  struct px_chunk *c = malloc(sizeof *c + n);
  if (!c) {
    fprintf(stderr, "sqn-sim: out of memory queueing %zu bytes\n", n);
    return;
  }
  c->next = NULL;
  c->len = n;
  c->off = 0;
  c->release_us = p->now + delay_us;
  memcpy(c->data, d, n);
  struct px_queue *q = &p->q[to];
  if (!q->tail)
    q->tail = &q->head;
  *q->tail = c;
  q->tail = &c->next;
}

static void px_queue_free(struct px_queue *q) {
  while (q->head) {
    struct px_chunk *c = q->head;
    q->head = c->next;
    free(c);
  }
  q->tail = &q->head;
}

/* ---- faults ---- */

static bool px_in_range(const struct sim_fault *f, uint32_t n) {
  uint32_t first = f->first ? f->first : 1;
  return n >= first && (f->last == 0 || n <= f->last);
}

/* Refuse what a proxy cannot do, naming the fault. */
static int px_fault_supported(const struct sim_fault *f, int i, char *err,
                              size_t cap) {
  bool at = f->when == SIM_FAULT_ON_AT;
  bool stp = f->when == SIM_FAULT_ON_STP_FRAME || f->when == SIM_FAULT_ON_STP_OP;
  const char *why = NULL;
  if (!at && !stp)
    why = "only at, stp-frame and stp-op triggers reach a proxy (it cannot "
          "see the modem boot or the upgrade inside it)";
  else
    switch (f->action) {
    case SIM_FAULT_DO_SILENT:
    case SIM_FAULT_DO_GARBLE:
    case SIM_FAULT_DO_DELAY:
    case SIM_FAULT_DO_NO_REPLY:
      break;
    case SIM_FAULT_DO_ERROR:
    case SIM_FAULT_DO_REPLY:
    case SIM_FAULT_DO_URC:
      if (!at)
        why = "error, reply and urc answer AT commands";
      break;
    case SIM_FAULT_DO_DROP:
    case SIM_FAULT_DO_CORRUPT_MAGIC:
    case SIM_FAULT_DO_CORRUPT_HCRC:
    case SIM_FAULT_DO_CORRUPT_PCRC:
    case SIM_FAULT_DO_CORRUPT_OP:
    case SIM_FAULT_DO_CORRUPT_SID:
    case SIM_FAULT_DO_CORRUPT_TID:
      if (!stp)
        why = "drop and corrupt-* act on STP frames";
      break;
    case SIM_FAULT_DO_POWER_CUT:
      why = "a power cut is impossible through a proxy: cut the real "
            "modem's power yourself";
      break;
    default:
      why = "a proxy cannot make the real modem do that";
    }
  if (why) {
    snprintf(err, cap, "fault %d (%s): when: %s, do: %s: %s", i + 1,
             f->name[0] ? f->name : "unnamed",
             sim_fault_trigger_name(f->when), sim_fault_action_name(f->action),
             why);
    return -1;
  }
  return 0;
}

static void px_fired(struct px *p, const struct px_fault *pf, const char *on) {
  px_trace(p, SIM_TRACE_FAULT, NULL, 0, "%s: %s -> %s",
           pf->f.name[0] ? pf->f.name : "fault", on,
           sim_fault_action_name(pf->f.action));
}

/* Actions common to both triggers. True when handled. */
static bool px_common_action(struct px *p, const struct sim_fault *f) {
  switch (f->action) {
  case SIM_FAULT_DO_SILENT:
    p->silent_until = f->delay_us ? p->now + f->delay_us : UINT64_MAX;
    p->unit_drop = true;
    return true;
  case SIM_FAULT_DO_GARBLE:
    p->garble = true;
    return true;
  default:
    return false;
  }
}

static void px_reply_host(struct px *p, const char *text) {
  char buf[SIM_FAULT_TEXT_MAX + 8];
  const char *s = text;
  while (*s) {
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    int len = snprintf(buf, sizeof buf, "\r\n%.*s\r\n", (int)n, s);
    px_push(p, 1, (const uint8_t *)buf, (size_t)len, 0);
    px_trace(p, SIM_TRACE_AT_TX, (const uint8_t *)s, n, "%.*s", (int)n, s);
    s = e ? e + 1 : s + n;
  }
}

static void px_at_faults(struct px *p, const char *line) {
  for (int i = 0; i < p->nfaults; i++) {
    struct px_fault *pf = &p->faults[i];
    if (pf->f.when != SIM_FAULT_ON_AT || !sim_fault_at_match(pf->f.match, line))
      continue;
    if (!px_in_range(&pf->f, ++pf->seen))
      continue;
    char on[96];
    snprintf(on, sizeof on, "at \"%.60s\" #%u", line, pf->seen);
    px_fired(p, pf, on);
    if (px_common_action(p, &pf->f))
      continue;
    switch (pf->f.action) {
    case SIM_FAULT_DO_ERROR:
      p->unit_drop = true;
      px_reply_host(p, "ERROR");
      break;
    case SIM_FAULT_DO_REPLY:
      p->unit_drop = true;
      px_reply_host(p, pf->f.text);
      break;
    case SIM_FAULT_DO_NO_REPLY:
      p->unit_drop = true;
      break;
    case SIM_FAULT_DO_URC:
      px_reply_host(p, pf->f.text);
      break;
    case SIM_FAULT_DO_DELAY:
      p->unit_delay_us += pf->f.delay_us;
      break;
    default:
      break;
    }
  }
}

static void px_stp_faults(struct px *p, const uint8_t *fr) {
  uint32_t n = ++p->frames;
  unsigned op = fr[4] & 0x3f;
  uint32_t opn = ++p->op_seen[op];
  for (int i = 0; i < p->nfaults; i++) {
    struct px_fault *pf = &p->faults[i];
    uint32_t k;
    if (pf->f.when == SIM_FAULT_ON_STP_FRAME)
      k = n;
    else if (pf->f.when == SIM_FAULT_ON_STP_OP && (unsigned)pf->f.op == op)
      k = opn;
    else
      continue;
    if (!px_in_range(&pf->f, k))
      continue;
    char on[64];
    snprintf(on, sizeof on, "%s #%u", sim_fault_trigger_name(pf->f.when), k);
    px_fired(p, pf, on);
    if (px_common_action(p, &pf->f))
      continue;
    switch (pf->f.action) {
    case SIM_FAULT_DO_DROP:
      p->unit_drop = true;
      break;
    case SIM_FAULT_DO_NO_REPLY:
      p->rsp = PX_RSP_DROP;
      break;
    case SIM_FAULT_DO_DELAY:
      p->rsp = PX_RSP_DELAY;
      p->rsp_delay_us = pf->f.delay_us;
      break;
    default: /* corrupt-* */
      p->rsp = PX_RSP_CORRUPT;
      p->rsp_corrupt = pf->f.action;
      break;
    }
  }
}

static void px_corrupt(uint8_t *fr, size_t n, enum sim_fault_action a) {
  switch (a) {
  case SIM_FAULT_DO_CORRUPT_MAGIC: fr[0] ^= 0x01; break;
  case SIM_FAULT_DO_CORRUPT_OP: fr[4] ^= 0x01; break;
  case SIM_FAULT_DO_CORRUPT_SID: fr[5] ^= 0x01; break;
  case SIM_FAULT_DO_CORRUPT_TID: fr[11] ^= 0x01; break;
  case SIM_FAULT_DO_CORRUPT_HCRC: fr[13] ^= 0x01; break;
  case SIM_FAULT_DO_CORRUPT_PCRC: fr[15] ^= 0x01; break;
  default: break;
  }
  (void)n;
}

/* ---- units ---- */

static void px_unit(struct px *p, int dir, enum sim_trec_proto proto,
                    const uint8_t *d, size_t n) {
  p->unit_done = true;
  if (proto == SIM_TREC_STP) {
    struct sqn_stp_hdr h;
    uint8_t *copy = NULL;
    const char *how = "";
    if (dir == 1 && p->rsp == PX_RSP_DROP) {
      px_trace(p, SIM_TRACE_FAULT, NULL, 0,
               "response not forwarded (%zu bytes)", n);
      return;
    }
    if (dir == 1 && p->rsp == PX_RSP_CORRUPT && (copy = malloc(n))) {
      /* the trace shows what the host gets */
      memcpy(copy, d, n);
      px_corrupt(copy, n, p->rsp_corrupt);
      d = copy;
      how = p->rsp_corrupt == SIM_FAULT_DO_CORRUPT_MAGIC ? " (corrupted: magic)"
            : " (corrupted)";
    }
    sqn_stp_hdr_parse(&h, d);
    uint16_t pc = sqn_crc16(0, d + 16, n - 16);
    px_trace(p, dir ? SIM_TRACE_STP_TX : SIM_TRACE_STP_RX, d, n,
             "op %s%x sid %u tid %lu plen %u hcrc %s pcrc %s%s",
             h.op >= 10 ? "0x" : "", h.op, h.sid, (unsigned long)h.tid,
             h.plen,
             h.hcrc == sqn_stp_hdr_crc(d) ? "ok" : h.hcrc ? "BAD" : "0",
             h.pcrc == pc ? "ok" : "BAD", how);
    free(copy);
    if (dir == 0)
      px_stp_faults(p, d);
    return;
  }
  char line[SIM_SPLIT_LINE_MAX + 1];
  memcpy(line, d, n);
  line[n] = '\0';
  px_trace(p, dir ? SIM_TRACE_AT_TX : SIM_TRACE_AT_RX, d, n, "%s", line);
  if (dir == 0 && proto == SIM_TREC_AT)
    px_at_faults(p, line);
}

static void px_unit_host(void *u, enum sim_trec_proto pr, const uint8_t *d,
                         size_t n) {
  px_unit(u, 0, pr, d, n);
}
static void px_unit_modem(void *u, enum sim_trec_proto pr, const uint8_t *d,
                          size_t n) {
  px_unit(u, 1, pr, d, n);
}

static uint8_t px_garble_byte(uint8_t b) {
  return (uint8_t)((b << 1) | 0x80) ^ 0x5a;
}

/* Forward the held bytes of direction `dir` (0 host -> modem). */
static void px_release(struct px *p, int dir, uint64_t delay_us) {
  uint8_t *d = p->hold[dir] + p->hold_sent[dir];
  size_t n = p->hold_len[dir] - p->hold_sent[dir];
  if (dir == 1 && p->garble)
    for (size_t i = 0; i < n; i++)
      d[i] = px_garble_byte(d[i]);
  if (p->silent_until > p->now)
    n = 0; /* a hung modem: nothing goes either way */
  px_push(p, dir == 0 ? 0 : 1, d, n, delay_us);
  p->hold_len[dir] = p->hold_sent[dir] = 0;
}

static void px_feed(struct px *p, int dir, const uint8_t *d, size_t n) {
  struct sim_splitter *s = &p->split[dir];
  for (size_t i = 0; i < n; i++) {
    bool was_frame = s->state == SIM_SPLIT_FRAME;
    p->hold[dir][p->hold_len[dir]++] = d[i];
    p->unit_done = p->unit_drop = false;
    p->unit_delay_us = 0;
    sim_splitter_feed(s, &d[i], 1);
    if (dir == 1 && p->unit_done && was_frame) {
      /* a whole response frame: apply the pending response fault */
      size_t off = p->hold_sent[1];
      uint8_t *fr = p->hold[1] + off;
      size_t fn = p->hold_len[1] - off;
      uint64_t delay = 0;
      bool drop = false;
      if (p->rsp == PX_RSP_DROP)
        drop = true;
      else if (p->rsp == PX_RSP_DELAY)
        delay = p->rsp_delay_us;
      else if (p->rsp == PX_RSP_CORRUPT && fn >= 16)
        px_corrupt(fr, fn, p->rsp_corrupt);
      p->rsp = PX_RSP_PASS;
      if (drop)
        p->hold_len[1] = p->hold_sent[1] = 0;
      else
        px_release(p, 1, delay);
      continue;
    }
    if (dir == 1 && s->state != SIM_SPLIT_FRAME) {
      px_release(p, 1, 0); /* lines and line ends go on at once */
      continue;
    }
    if (dir == 0 && (p->unit_done || s->state == SIM_SPLIT_IDLE)) {
      if (p->unit_drop)
        p->hold_len[0] = p->hold_sent[0] = 0;
      else
        px_release(p, 0, p->unit_delay_us);
    }
  }
}

/* ---- line rate ---- */

/* The modem port follows the host's rate on the pty, exactly (pty_rate.h:
 * any rate the host can set, 3686400 too). */
static void px_follow_rate(struct px *p) {
  uint32_t in = 0, out = 0;
  if (p->pty.rate_dirty)
    sim_pty_refresh_rate(&p->pty);
  if (sim_pty_host_rate(p->pty.master, &in, &out) == SIM_RATE_UNREAD || !out ||
      out == p->baud)
    return;
  if (sim_tty_set_rate(p->tty, in ? in : out, out) == 0)
    px_trace(p, SIM_TRACE_LINE, NULL, 0,
             "host at %lu baud, modem port set to %lu", (unsigned long)out,
             (unsigned long)out);
  else
    px_trace(p, SIM_TRACE_LINE, NULL, 0,
             "host at %lu baud; the modem port cannot follow: %s",
             (unsigned long)out, strerror(errno));
  p->baud = out;
}

static int px_open_tty(const char *path, char *err, size_t cap) {
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, cap, "--proxy %s: %s", path, strerror(errno));
    return -1;
  }
  struct termios tio;
  if (tcgetattr(fd, &tio) != 0) {
    snprintf(err, cap, "--proxy %s: not a serial port: %s", path,
             strerror(errno));
    close(fd);
    return -1;
  }
  cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~(tcflag_t)CRTSCTS;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  cfsetspeed(&tio, B115200);
  if (tcsetattr(fd, TCSANOW, &tio) != 0) {
    snprintf(err, cap, "--proxy %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* ---- the loop ---- */

/* Write what is due of queue `to` to fd. The released chunks go out in
 * one writev, so that what the other side sent in one piece (a reply and
 * its closing CRLF) reaches the reader in one piece too: a host that
 * reads "OK" and then expects an STP frame must not find the CRLF first
 * only because the proxy wrote it a syscall later. */
static int px_write_queue(struct px *p, int to, int fd) {
  struct px_queue *q = &p->q[to];
  while (q->head && q->head->release_us <= p->now) {
    struct iovec iov[16];
    int n = 0;
    for (struct px_chunk *c = q->head;
         c && c->release_us <= p->now && n < 16; c = c->next, n++) {
      iov[n].iov_base = c->data + c->off;
      iov[n].iov_len = c->len - c->off;
    }
    if (to == 0)
      px_follow_rate(p);
    ssize_t w = writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      if (errno == EIO && to == 1)
        return 0; /* no host on the pty right now */
      fprintf(stderr, "sqn-sim: write to %s: %s\n",
              to == 0 ? "the modem" : "the pty", strerror(errno));
      return -1;
    }
    size_t left = (size_t)w;
    while (left > 0 && q->head) {
      struct px_chunk *c = q->head;
      size_t k = c->len - c->off < left ? c->len - c->off : left;
      c->off += k;
      left -= k;
      if (c->off < c->len)
        break;
      q->head = c->next;
      if (!q->head)
        q->tail = &q->head;
      free(c);
    }
  }
  return 0;
}

/* An unterminated host line ("+++") is held: is some of it unsent? */
static bool px_line_held(const struct px *p) {
  return p->split[0].state == SIM_SPLIT_LINE &&
         p->hold_len[0] > p->hold_sent[0];
}

/* The poll timeout in ms: until the next queued release or line gap,
 * at most 200. */
static int px_poll_timeout(const struct px *p) {
  int timeout = -1;
  uint64_t next = UINT64_MAX;
  for (int i = 0; i < 2; i++)
    if (p->q[i].head && p->q[i].head->release_us < next)
      next = p->q[i].head->release_us;
  if (px_line_held(p) && p->last_rx_us[0] + PX_LINE_GAP_US < next)
    next = p->last_rx_us[0] + PX_LINE_GAP_US;
  if (next != UINT64_MAX)
    timeout = next > p->now ? (int)((next - p->now + 999) / 1000) : 0;
  if (timeout < 0 || timeout > 200)
    timeout = 200; /* the host may change its rate without sending */
  return timeout;
}

/* Read what side i (0 the pty, 1 the modem) has for us. 0, or -1 when
 * the modem port closed. */
static int px_read_side(struct px *p, int i, int fd) {
  uint8_t buf[4096];
  /* the pty master may be in packet mode: sim_pty_read strips it */
  ssize_t n = i == 0 ? sim_pty_read(&p->pty, buf, sizeof buf)
                     : read(fd, buf, sizeof buf);
  if (i == 0 && n == 0)
    return 0; /* a termios report, or nothing */
  if (n > 0) {
    p->last_rx_us[i] = p->now;
    if (i == 0)
      px_follow_rate(p);
    if (p->silent_until > p->now && i == 1)
      return 0; /* a hung modem says nothing */
    px_feed(p, i, buf, (size_t)n);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    if (i == 0)
      return 0; /* we hold a slave fd: should not happen */
    fprintf(stderr, "sqn-sim: the modem port closed (%s)\n",
            n == 0 ? "end of file" : strerror(errno));
    return -1;
  }
  return 0;
}

static int px_loop(struct px *p) {
  int fds[2] = {p->pty.master, p->tty};
  while (!px_stop) {
    p->now = sim_shell_now_us();
    px_follow_rate(p);
    if (px_write_queue(p, 0, p->tty) || px_write_queue(p, 1, p->pty.master))
      return SIM_EXIT_RUNTIME;
    /* an unterminated host line ("+++") goes on after a silence */
    if (px_line_held(p) && p->now - p->last_rx_us[0] >= PX_LINE_GAP_US) {
      size_t keep = p->hold_len[0];
      if (p->silent_until <= p->now)
        px_push(p, 0, p->hold[0] + p->hold_sent[0], keep - p->hold_sent[0], 0);
      p->hold_sent[0] = keep;
      continue;
    }
    int timeout = px_poll_timeout(p);
    struct pollfd pfd[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    for (int i = 0; i < 2; i++)
      if (p->q[i == 0 ? 1 : 0].head &&
          p->q[i == 0 ? 1 : 0].head->release_us <= p->now)
        pfd[i].events |= POLLOUT;
    int r = poll(pfd, 2, timeout);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "sqn-sim: poll: %s\n", strerror(errno));
      return SIM_EXIT_RUNTIME;
    }
    p->now = sim_shell_now_us();
    for (int i = 0; i < 2; i++) {
      if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      if (px_read_side(p, i, fds[i]) != 0)
        return SIM_EXIT_RUNTIME;
    }
  }
  return SIM_EXIT_OK;
}

int sim_proxy_main(const struct sim_proxy_config *cfg) {
  char err[512];
  int rc = SIM_EXIT_RUNTIME;
  struct px *p = calloc(1, sizeof *p);
  if (!p) {
    fprintf(stderr, "sqn-sim: out of memory\n");
    return SIM_EXIT_RUNTIME;
  }
  p->tty = -1;
  p->pty.master = p->pty.slave = -1;
  /* A stop request from here on ends in a clean exit that removes the
   * --link symlink: no default action kills us half set up. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = px_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);

  p->hold[0] = malloc(SIM_SPLIT_CAP + 16);
  p->hold[1] = malloc(SIM_SPLIT_CAP + 16);
  p->q[0].tail = &p->q[0].head;
  p->q[1].tail = &p->q[1].head;
  if (!p->hold[0] || !p->hold[1]) {
    fprintf(stderr, "sqn-sim: out of memory\n");
    goto out;
  }
  if (cfg->faults_path) {
    struct sim_fault *fs = calloc(PX_MAX_FAULTS, sizeof *fs);
    if (!fs)
      goto out;
    int n = sim_faults_load_yaml(cfg->faults_path, fs, PX_MAX_FAULTS, err,
                                 sizeof err);
    for (int i = 0; n > 0 && i < n; i++) {
      if (px_fault_supported(&fs[i], i, err, sizeof err) != 0) {
        n = -1;
        break;
      }
      p->faults[i].f = fs[i];
    }
    free(fs);
    if (n < 0) {
      fprintf(stderr, "sqn-sim: %s%s%s\n",
              strncmp(err, cfg->faults_path, strlen(cfg->faults_path))
                  ? cfg->faults_path : "",
              strncmp(err, cfg->faults_path, strlen(cfg->faults_path))
                  ? ": " : "",
              err);
      rc = SIM_EXIT_INPUT;
      goto out;
    }
    p->nfaults = n;
  }
  p->tty = px_open_tty(cfg->modem_tty, err, sizeof err);
  if (p->tty < 0) {
    fprintf(stderr, "sqn-sim: %s\n", err);
    goto out;
  }
  if (cfg->trace_path) {
    p->trace = fopen(cfg->trace_path, "w");
    if (!p->trace) {
      fprintf(stderr, "sqn-sim: --trace %s: %s\n", cfg->trace_path,
              strerror(errno));
      goto out;
    }
  }
  if (sim_pty_open(&p->pty, cfg->link, err, sizeof err) != 0) {
    fprintf(stderr, "sqn-sim: %s\n", err);
    goto out;
  }
  sim_splitter_init(&p->split[0], SIM_TREC_HOST, px_unit_host, p);
  sim_splitter_init(&p->split[1], SIM_TREC_MODEM, px_unit_modem, p);

  p->t0_us = p->now = sim_shell_now_us();
  px_trace(p, SIM_TRACE_MODE, NULL, 0, "proxy to %s, %d fault(s)",
           cfg->modem_tty, p->nfaults);
  printf("pty: %s\n", p->pty.name);
  fflush(stdout);
  rc = px_loop(p);
  /* what is still held or queued goes nowhere: say so */
  p->now = sim_shell_now_us();
  sim_splitter_flush(&p->split[0]);
  sim_splitter_flush(&p->split[1]);

out:
  sim_pty_close(&p->pty);
  if (p->tty >= 0)
    close(p->tty);
  if (p->trace)
    fclose(p->trace);
  px_queue_free(&p->q[0]);
  px_queue_free(&p->q[1]);
  free(p->hold[0]);
  free(p->hold[1]);
  free(p);
  return rc;
}

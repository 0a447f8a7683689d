/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libuv serving loop: the only place sqn-sim reads or writes the line.
 *
 *   pty master --uv_poll READABLE--> read() --> sim_modem_feed(now)
 *   sim_modem tx cb --> write queue --uv_poll WRITABLE--> write()
 *   after each model step: the shell's sync (flash durable), then write()
 *   uv_timer "deadline" re-armed to sim_modem_next_deadline() --> tick(now)
 *   uv_timer "pace" wakes the loop when a token bucket refills
 *   uv_signal SIGINT / SIGTERM --> stop, the caller saves the state
 *
 * Pacing (time scale > 0): a UART moves 10 bits per byte (8N1), so both
 * directions are metered by token buckets filled at uart_baud / 10 bytes per
 * second. Reads are paced too: bytes we leave in the pty stay in the kernel
 * buffer and eventually block the host's write(), just as a real line does.
 * With time scale 0 nothing is paced.
 *
 * Streaming (time scale 0): once the host has sent something and had its
 * answer, the next bytes are awaited in read() itself rather than in
 * epoll_wait (sim_serve_burst below).
 *
 * Time: the model runs on monotonic microseconds from uv_hrtime().
 */
#include "shell.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>


struct sim_bucket {
  double tokens;
  uint64_t last_us;
  /* The last transfer stopped for lack of tokens, with bytes still waiting:
   * the line is busy, so time keeps counting even when the loop runs late
   * (a loaded machine); the burst cap applies only to an idle line. */
  bool busy;
};

struct sim_serve {
  const struct sim_serve_config *cfg;
  uv_loop_t loop;
  uv_poll_t poll;
  uv_timer_t deadline;
  uv_timer_t pace;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_signal_t sighup;
  int poll_events;   /* events the poll handle is started with, 0 = stopped */
  bool hup_backoff;  /* the master hung up; polling paused until `pace` */
  struct sim_txq *q;
  struct sim_bucket rd;
  struct sim_bucket wr;
  int exit_code;
  int master_flags;  /* the master's file status flags (O_NONBLOCK) */
  bool burst_ok;     /* streaming in read() is possible (sim_serve_burst) */
  bool in_burst;
  uint8_t rbuf[16384]; /* host bytes: two whole 8,208-byte STP frames */
};

uint64_t sim_shell_now_us(void) { return uv_hrtime() / 1000u; }

static bool sim_serve_paced(const struct sim_serve *s) {
  return s->cfg->time_scale > 0;
}

/* Bytes per second on the line now: 10 bits per byte (8N1) at the modem's
 * exact rate, whatever it is (3686400 too). */
static double sim_serve_rate(const struct sim_serve *s) {
  return sim_modem_uart_baud(s->cfg->modem) / 10.0 / s->cfg->time_scale;
}

/* Refill a bucket at the modem's current line rate. An idle line banks at
 * most 10 ms worth (at least 1 byte) so coarse timers do not starve it; a
 * busy one banks what the elapsed time carried, so the average stays at the
 * line rate even when the loop is scheduled late. */
static void sim_serve_bucket_fill(struct sim_serve *s, struct sim_bucket *b,
                                  uint64_t now) {
  double rate = sim_serve_rate(s);
  double burst = rate / 100.0 < 1 ? 1 : rate / 100.0;
  if (now > b->last_us)
    b->tokens += (double)(now - b->last_us) * rate / 1e6;
  b->last_us = now;
  if (!b->busy && b->tokens > burst)
    b->tokens = burst;
}

/* Tokens worth a wake-up while the host streams: 1 ms of line time (at
 * least 1 byte), so a paced transfer moves in ms-sized reads instead of
 * spinning a few bytes at a time. */
static double sim_serve_min_tokens(const struct sim_serve *s) {
  double ms = sim_serve_rate(s) / 1000.0;
  return ms < 1 ? 1 : ms;
}

static void sim_serve_update_poll(struct sim_serve *s);
static void sim_serve_arm_deadline(struct sim_serve *s);

void sim_txq_push(struct sim_txq *q, const uint8_t *buf, size_t len) {
  size_t cap = q->flow ? SIM_TXQ_HARD : SIM_TXQ_FIFO;
  if (q->queued >= cap) {
    q->dropped += len;
    return;
  }
  if (len > cap - q->queued) {
    q->dropped += len - (cap - q->queued);
    len = cap - q->queued;
  }
  if (len == 0)
    return;
  struct sim_txq_chunk *c = malloc(sizeof *c + len);
  if (!c) {
    fprintf(stderr, "sqn-sim: out of memory queueing %zu bytes\n", len);
    return;
  }
  c->next = NULL;
  c->len = len;
  c->off = 0;
  memcpy(c->data, buf, len);
  if (!q->tail)
    q->tail = &q->head;
  *q->tail = c;
  q->tail = &c->next;
  q->queued += len;
}

void sim_txq_free(struct sim_txq *q) {
  while (q->head) {
    struct sim_txq_chunk *c = q->head;
    q->head = c->next;
    free(c);
  }
  q->tail = &q->head;
  q->queued = 0;
}

static void sim_serve_pace_cb(uv_timer_t *t) {
  struct sim_serve *s = t->data;
  s->hup_backoff = false;
  sim_serve_update_poll(s);
}

/* Write as much of the queue as the line and the bucket allow. */
static void sim_serve_flush_queue(struct sim_serve *s) {
  uint64_t now = sim_shell_now_us();
  if (sim_serve_paced(s))
    sim_serve_bucket_fill(s, &s->wr, now);
  struct sim_txq *q = s->q;
  /* Busy: stopped by the bucket with bytes to send (not by a full pty: a
   * host that does not read holds the line, as RTS/CTS would). */
  s->wr.busy = false;
  while (q->head) {
    struct sim_txq_chunk *c = q->head;
    size_t want = c->len - c->off;
    if (sim_serve_paced(s)) {
      size_t allow = (size_t)s->wr.tokens;
      if (allow == 0) {
        s->wr.busy = true;
        break;
      }
      if (want > allow)
        want = allow;
    }
    ssize_t n = write(s->cfg->pty->master, c->data + c->off, want);
    if (n < 0) {
      if (errno == EINTR && !s->in_burst)
        continue;
      /* In a burst, EINTR is the slice timer: the rest waits for the loop. */
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EIO &&
          errno != EINTR)
        fprintf(stderr, "sqn-sim: write to pty: %s\n", strerror(errno));
      break;
    }
    if (sim_serve_paced(s))
      s->wr.tokens -= (double)n;
    c->off += (size_t)n;
    q->queued -= (size_t)n;
    if (c->off == c->len) {
      q->head = c->next;
      if (!q->head)
        q->tail = &q->head;
      free(c);
    }
  }
}

/* Tell the model the host's rates as the pty last read them. */
static void sim_serve_host_rate(struct sim_serve *s) {
  struct sim_pty *p = s->cfg->pty;
  sim_pty_refresh_rate(p);
  sim_modem_set_host_rate(s->cfg->modem, p->host_in, p->host_out);
  /* Flow control too: with CRTSCTS a full FIFO blocks the modem. */
  struct termios tio;
  if (p->master >= 0 && tcgetattr(p->master, &tio) == 0)
    s->q->flow = (tio.c_cflag & CRTSCTS) != 0;
}

/* Read what the host sent, as much as pacing allows, in as few reads as the
 * kernel allows; the rate is re-read only when the host changed its termios
 * (or before every read where the kernel cannot report that). */
static bool sim_serve_read(struct sim_serve *s) {
  struct sim_pty *p = s->cfg->pty;
  bool fed = false;
  /* A change of settings ends a batch; a host changes its rate only a few
   * times a session, so a few rounds drain what follows it. */
  for (int round = 0; round < 4; round++) {
    size_t cap = sizeof s->rbuf;
    uint64_t now = sim_shell_now_us();
    if (sim_serve_paced(s)) {
      sim_serve_bucket_fill(s, &s->rd, now);
      size_t allow = (size_t)s->rd.tokens;
      if (allow < cap)
        cap = allow;
      if (cap == 0)
        return fed;
    }
    if (p->rate_poll || p->rate_dirty)
      sim_serve_host_rate(s);
    ssize_t n = sim_pty_read(p, s->rbuf, cap);
    if (sim_serve_paced(s))
      /* All the tokens allowed went, or the host filled the pty: it is
       * streaming, and time the loop spends late is still line time. A
       * short read (a request, a frame's tail) leaves the line idle. */
      s->rd.busy = n > 0 && p->read_full;
    if (n > 0) {
      if (sim_serve_paced(s))
        s->rd.tokens -= (double)n;
      sim_modem_feed(s->cfg->modem, now, s->rbuf, (size_t)n);
      fed = true;
    } else if (n < 0) {
      /* EIO: no slave open (should not happen while we hold one): back off
       * and poll again later rather than spin or exit. */
      if (errno == EIO)
        s->hup_backoff = true;
      return fed;
    }
    if (!p->rate_dirty)
      return fed;
  }
  return fed;
}

/* The shell asked the modem to vanish (a failed save): stop now, write
 * nothing more. */
static bool sim_serve_halted(struct sim_serve *s) {
  if (!s->cfg->halt || !*s->cfg->halt)
    return false;
  s->exit_code = SIM_EXIT_PERSIST;
  uv_stop(&s->loop);
  return true;
}

/* After every call into the model: first the flash changes of that step
 * are made durable (the shell's sync: one save however many changes), then
 * what the model queued is written. Never the other way round: the host
 * must not see an answer the state file does not hold. True when the modem
 * must vanish (a failed save). */
static bool sim_serve_step_done(struct sim_serve *s) {
  if (s->cfg->sync)
    s->cfg->sync(s->cfg->user);
  if (sim_serve_halted(s))
    return true;
  sim_serve_flush_queue(s);
  return false;
}

/* ---- streaming in read() ---------------------------------------------------
 *
 * An STP push is stop and wait: a frame, our ack, the next frame. Woken by
 * epoll_wait and then reading, the shell paid 15-20 % more per exchange on
 * Linux ptys than a peer that sleeps inside read() (bench_pingpong's floor;
 * docs/benchmarks.md). So at time scale 0, once the host has sent something
 * and had its answer, the shell waits for the host's next bytes in a
 * blocking read, feeds them to the model and writes the answer, without
 * going back to the loop, for as long as the host keeps talking. Bounds:
 *  - a SIM_BURST_SLICE_US interval timer (SIGALRM, handled without
 *    SA_RESTART) interrupts a read or write that blocks; an interrupted call
 *    ends the burst, so the loop serves its signals and timers at least that
 *    often while a host streams, and at once when it falls silent;
 *  - no burst starts, and a burst ends, when the model's next deadline is
 *    nearer than one slice, when output is still queued, when the host hangs
 *    up or the modem must stop;
 *  - paced lines (time scale > 0) and hosts whose rate must be read before
 *    every read (no packet mode) never burst.
 */
#define SIM_BURST_SLICE_US 50000

static void sim_serve_alarm_cb(int signum) { (void)signum; }

static bool sim_serve_burst_may_wait(struct sim_serve *s) {
  if (s->q->head || s->hup_backoff || (s->cfg->halt && *s->cfg->halt))
    return false;
  uint64_t d = sim_modem_next_deadline(s->cfg->modem);
  return d == SIM_NEVER || d > sim_shell_now_us() + SIM_BURST_SLICE_US;
}

static bool sim_serve_burst_begin(struct sim_serve *s) {
  static const struct itimerval slice = {{0, SIM_BURST_SLICE_US},
                                         {0, SIM_BURST_SLICE_US}};
  int fd = s->cfg->pty->master;
  if (fcntl(fd, F_SETFL, s->master_flags & ~O_NONBLOCK) != 0)
    return false;
  if (setitimer(ITIMER_REAL, &slice, NULL) != 0) {
    (void)fcntl(fd, F_SETFL, s->master_flags);
    return false;
  }
  s->in_burst = true;
  return true;
}

static void sim_serve_burst_end(struct sim_serve *s) {
  static const struct itimerval off = {{0, 0}, {0, 0}};
  (void)setitimer(ITIMER_REAL, &off, NULL);
  if (fcntl(s->cfg->pty->master, F_SETFL, s->master_flags) != 0) {
    /* A blocking master would hang the loop: stop streaming for good. */
    fprintf(stderr, "sqn-sim: fcntl: %s\n", strerror(errno));
    s->burst_ok = false;
  }
  s->in_burst = false;
}

static void sim_serve_burst(struct sim_serve *s) {
  struct sim_pty *p = s->cfg->pty;
  if (!s->burst_ok || sim_serve_paced(s) || p->rate_poll ||
      !sim_serve_burst_may_wait(s) || !sim_serve_burst_begin(s))
    return;
  for (;;) {
    ssize_t n = sim_pty_read_once(p, s->rbuf, sizeof s->rbuf);
    if (n < 0)
      break; /* EINTR: the slice is over; EIO: the loop backs off */
    if (p->rate_dirty)
      sim_serve_host_rate(s);
    if (n > 0)
      sim_modem_feed(s->cfg->modem, sim_shell_now_us(), s->rbuf, (size_t)n);
    if (sim_serve_step_done(s) || !sim_serve_burst_may_wait(s))
      break;
  }
  sim_serve_burst_end(s);
}

static void sim_serve_poll_cb(uv_poll_t *h, int status, int events) {
  struct sim_serve *s = h->data;
  bool fed = false;
  if (sim_serve_halted(s))
    return;
  if (status < 0) {
    s->hup_backoff = true;
  } else {
    if (events & UV_READABLE)
      fed = sim_serve_read(s);
    if (events & UV_DISCONNECT)
      s->hup_backoff = true;
  }
  if (sim_serve_step_done(s))
    return;
  if (fed) {
    sim_serve_burst(s);
    if (sim_serve_halted(s))
      return;
  }
  sim_serve_arm_deadline(s);
  sim_serve_update_poll(s);
}

static void sim_serve_deadline_cb(uv_timer_t *t) {
  struct sim_serve *s = t->data;
  /* What the modem sends now meets the rate the host has now. Without
   * change reports, or when pacing holds reads back (a booting modem's UART
   * reads nothing, so a report would wait behind it), read it here. */
  if (s->cfg->pty->rate_poll || sim_serve_paced(s))
    sim_serve_host_rate(s);
  sim_modem_tick(s->cfg->modem, sim_shell_now_us());
  if (sim_serve_step_done(s))
    return;
  sim_serve_arm_deadline(s);
  sim_serve_update_poll(s);
}

static void sim_serve_arm_deadline(struct sim_serve *s) {
  uint64_t d = sim_modem_next_deadline(s->cfg->modem);
  if (d == SIM_NEVER) {
    uv_timer_stop(&s->deadline);
    return;
  }
  uint64_t now = sim_shell_now_us();
  uint64_t ms = d > now ? (d - now + 999) / 1000 : 0;
  uv_timer_start(&s->deadline, sim_serve_deadline_cb, ms, 0);
}

/* Poll for what we can act on now; when a bucket or a hang-up holds us
 * back, let the pace timer wake us instead. */
static void sim_serve_update_poll(struct sim_serve *s) {
  int ev = 0;
  bool need_pace = s->hup_backoff;
  if (!s->hup_backoff) {
    /* With flow control a full FIFO blocks the modem: leave the host's
     * bytes in the pty until the host reads ours. */
    bool rd_ok = !(s->q->flow && s->q->queued >= SIM_TXQ_FIFO);
    bool wr_ok = s->q->head != NULL;
    if (!rd_ok)
      s->rd.busy = false; /* held by the host, not by the line: no credit */
    if (sim_serve_paced(s)) {
      uint64_t now = sim_shell_now_us();
      sim_serve_bucket_fill(s, &s->rd, now);
      sim_serve_bucket_fill(s, &s->wr, now);
      /* Streaming: wait for 1 ms worth. Idle: a request goes through as
       * soon as its first byte may. */
      if (s->rd.tokens < (s->rd.busy ? sim_serve_min_tokens(s) : 1)) {
        rd_ok = false;
        need_pace = true;
      }
      if (wr_ok && s->wr.tokens < 1) {
        wr_ok = false;
        need_pace = true;
      }
    }
    if (rd_ok)
      ev |= UV_READABLE;
    if (wr_ok)
      ev |= UV_WRITABLE;
  }
  if (ev != s->poll_events) {
    if (ev)
      uv_poll_start(&s->poll, ev, sim_serve_poll_cb);
    else
      uv_poll_stop(&s->poll);
    s->poll_events = ev;
  }
  if (need_pace && !uv_is_active((uv_handle_t *)&s->pace))
    uv_timer_start(&s->pace, sim_serve_pace_cb, s->hup_backoff ? 50 : 1, 0);
}

static void sim_serve_signal_cb(uv_signal_t *h, int signum) {
  struct sim_serve *s = h->data;
  (void)signum;
  s->exit_code = SIM_EXIT_OK;
  uv_stop(&s->loop);
}

static void sim_serve_close_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

int sim_serve(const struct sim_serve_config *cfg, uint64_t t0_us) {
  struct sim_serve s;
  int rc;

  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.q = cfg->txq;
  if (!s.q->tail)
    s.q->tail = &s.q->head;
  s.exit_code = SIM_EXIT_OK;
  s.rd.last_us = s.wr.last_us = t0_us;

  if ((rc = uv_loop_init(&s.loop)) != 0) {
    fprintf(stderr, "sqn-sim: uv_loop_init: %s\n", uv_strerror(rc));
    return SIM_EXIT_RUNTIME;
  }
  s.master_flags = fcntl(cfg->pty->master, F_GETFL);
  struct sigaction alarm_sa, alarm_old;
  memset(&alarm_sa, 0, sizeof alarm_sa);
  alarm_sa.sa_handler = sim_serve_alarm_cb; /* no SA_RESTART: see the burst */
  sigemptyset(&alarm_sa.sa_mask);
  s.burst_ok = s.master_flags >= 0 && (s.master_flags & O_NONBLOCK) &&
               sigaction(SIGALRM, &alarm_sa, &alarm_old) == 0;
  if ((rc = uv_poll_init(&s.loop, &s.poll, cfg->pty->master)) != 0) {
    fprintf(stderr, "sqn-sim: uv_poll_init: %s\n", uv_strerror(rc));
    goto out_close_loop;
  }
  uv_timer_init(&s.loop, &s.deadline);
  uv_timer_init(&s.loop, &s.pace);
  uv_signal_init(&s.loop, &s.sigint);
  uv_signal_init(&s.loop, &s.sigterm);
  uv_signal_init(&s.loop, &s.sighup);
  s.poll.data = s.deadline.data = s.pace.data = &s;
  s.sigint.data = s.sigterm.data = s.sighup.data = &s;
  uv_signal_start(&s.sigint, sim_serve_signal_cb, SIGINT);
  uv_signal_start(&s.sigterm, sim_serve_signal_cb, SIGTERM);
  /* A closed terminal stops us like Ctrl-C: saved, --link removed. */
  uv_signal_start(&s.sighup, sim_serve_signal_cb, SIGHUP);
  /* main() blocked them before announcing the pty; a signal that arrived
   * since is delivered now, to the handlers above. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);

  /* The host's rate before the modem says anything. */
  sim_serve_host_rate(&s);
  /* Output produced before the loop (none today) and the first deadline. */
  sim_serve_flush_queue(&s);
  sim_serve_arm_deadline(&s);
  sim_serve_update_poll(&s);

  uv_run(&s.loop, UV_RUN_DEFAULT);
  /* Closing the signal handles gives the signals back their default
   * action: hold them from here on, so a second Ctrl-C during the final
   * save stays pending (the caller keeps them blocked to exit). */
  sigprocmask(SIG_BLOCK, &stop_signals, NULL);

  uv_walk(&s.loop, sim_serve_close_cb, NULL);
  uv_run(&s.loop, UV_RUN_DEFAULT);
out_close_loop:
  if (uv_loop_close(&s.loop) != 0)
    fprintf(stderr, "sqn-sim: event loop did not close cleanly\n");
  if (s.burst_ok)
    (void)sigaction(SIGALRM, &alarm_old, NULL);
  return rc ? SIM_EXIT_RUNTIME : s.exit_code;
}

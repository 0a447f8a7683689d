/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-update: the command-line front end of libsqnup's update procedure.
 *
 * Everything here is presentation and plumbing: argument checks, the
 * package read by offset (pread into a 64 KiB read-ahead window, never
 * loaded whole), the termios port
 * (opened lazily when the procedure first asks for a rate, so a bad
 * package is reported before the port is touched), the driver loop
 * (core/port), and progress output for a terminal, a pipe or --json.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqnup/crc.h"
#include "sqnup/err.h"
#include "sqnup/stp.h"
#include "sqnup/transport.h"
#include "sqnup/update.h"
#include "tool.h"

struct cli {
  const char *port, *package, *updater, *log_path;
  const char *package2; /* part 2 of a two-part package (F20) */
  uint32_t baud;
  bool rtscts, force, json, info, skip_if_current;
  enum sqn_update_method method;
  double scale;
  int pkg_fd, elf_fd, pkg2_fd;
  uint64_t pkg_size, elf_size, pkg2_size;
  struct sqn_posix_tty tty;
  bool tty_open;
  FILE *log;
  bool term;           /* stderr is a terminal: live progress line */
  bool progress_line;  /* a \r line is showing */
  uint64_t t0, last_progress_ms, rate_t, rate_bytes;
  int last_decile;
  double rate;
  enum sqn_update_phase phase;
  int power_shown;     /* power safety last printed: -1 none, 0 or 1 */
  char port_err[520];  /* why the port could not be opened or set */
  const struct sqn_update *u; /* the run, for the "modem found" line */
  char journal[600];   /* this port's journal file; "" when it has no
                          stable id */
  int journal_family;  /* family read from it, 0 none */
  unsigned attempt;    /* detection attempts shown on a terminal */
  char detect_rate[24];
  /* --log: STP responses decoded from what arrives */
  struct sqn_stp_decoder stp_dec;
  uint8_t stp_buf[16 + 1024];
  bool stp_dec_ready;
  /* Read-ahead: the push asks for one 8 KiB block at a time, in order; one
   * pread per window instead of one per block. */
  int ra_fd;           /* whose bytes the window holds, -1 none */
  uint64_t ra_off;
  size_t ra_len;
  uint8_t ra_buf[64 * 1024];
};

static volatile int sqn_cli_stop;

static void sqn_cli_on_signal(int sig) {
  (void)sig;
  sqn_cli_stop = 1;
}

static void sqn_cli_usage(FILE *f) {
  fprintf(f,
          "usage: sqn-update --port PATH [--baud N] [--rtscts] [--updater FILE]\n"
          "                  [--force] [--skip-if-current]\n"
          "                  [--method on-the-fly|store] [--timeout-scale X]\n"
          "                  [--json] [--log FILE] PACKAGE [PART2]\n"
          "       sqn-update --port PATH [--baud N] [--rtscts] --info\n"
          "\n"
          "Upgrades (or rescues) a Sequans Monarch modem with a .dup PACKAGE and\n"
          "exits 0 only once the modem runs the package's version.\n"
          "\n"
          "  --port PATH         serial port (e.g. /dev/ttyUSB0)\n"
          "  --baud N            first rate to try (default 921600; 115200 is tried too)\n"
          "  --rtscts            hardware flow control\n"
          "  --updater FILE      updater.elf, needed when the modem is in FFH (SMOD 0)\n"
          "  --force             allow a downgrade, another firmware family, or a\n"
          "                      package without bootrom record on a [33080] bootrom\n"
          "  --skip-if-current   exit 0 without writing when the modem already runs\n"
          "                      the package's version and build (without it,\n"
          "                      such a reflash is announced and done)\n"
          "  --method M          on-the-fly (default: flashed as it streams, through\n"
          "                      recovery) or store (kept in the modem's file system,\n"
          "                      then AT+SMUPGRADE; application mode, <= 4 MiB;\n"
          "                      falls back to on-the-fly otherwise)\n"
          "  --timeout-scale X   multiply every timeout by X (default 1)\n"
          "  --json              one JSON event per line on stdout\n"
          "  --log FILE          full trace to FILE: AT lines as text, STP frames\n"
          "                      decoded, other bytes in hex, states\n"
          "  --info              print mode, versions and upgrade status; change nothing\n"
          "  --help              this text\n"
          "  --version           print the version and exit\n"
          "\n"
          "Two-part packages (e.g. CAT-M1 5.2-48829-1.dup and -2.dup): give both,\n"
          "part 1 first. Part 2 follows part 1 in the same session, with no reboot\n"
          "in between; the run ends on part 2's version. Part 1 alone is refused\n"
          "(--force applies it and stops: run part 2 before any power cycle); part\n"
          "2 alone needs a modem that shows part 1's intermediate version.\n"
          "\n"
          "Exit codes:\n");
#define XX(name, val, text) fprintf(f, "  %2d  %s\n", val, text);
  SQN_EXIT_MAP(XX)
#undef XX
}

static int sqn_cli_fail(struct cli *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *sqn_cli_log_refusal(const struct cli *c);
static int sqn_cli_fail(struct cli *c, int err, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->json) {
    printf("{\"event\":\"DONE\",\"err\":\"%s\",\"exit\":%d,\"power_safe\":true,"
           "\"text\":\"",
           sqn_err_name(err), (int)sqn_err_exit(err));
    for (const char *p = msg; *p; p++) {
      if (*p == '"' || *p == '\\')
        putchar('\\');
      if ((unsigned char)*p >= 0x20)
        putchar(*p);
    }
    printf("\"}\n");
  }
  /* The --log file carries the final report of every run, also of one
   * that stops before the procedure starts (a harness reads it). */
  if (!c->log && c->log_path && !sqn_cli_log_refusal(c))
    c->log = fopen(c->log_path, "w");
  if (c->log) {
    fprintf(c->log, "%8u.%03u %-8s %-12s %s: %s: %s. %s\n", 0u, 0u, "DONE",
            "IDLE", sqn_err_name(err), sqn_strerror(err), msg,
            sqn_err_advice(err));
    fflush(c->log);
  }
  fprintf(stderr, "sqn-update: %s: %s\n  %s\n  next: %s\n", sqn_err_name(err),
          msg, sqn_strerror(err), sqn_err_advice(err));
  return (int)sqn_err_exit(err);
}

/* ---- callbacks for the procedure ------------------------------------------ */

static void sqn_cli_json_str(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\u%04x", ch);
    else
      putchar(ch);
  }
  putchar('"');
}


/* ---- --log: the bytes on the wire ---------------------------------------
 * AT lines are logged as text by the library's "at> " / "at< " events; here
 * every STP frame, both directions, gets one decoded line (op, sid, tid,
 * payload length, CRC verdicts, the payload as text when it is text, else
 * its first 32 bytes in hex), and any other byte that is not text is
 * logged in hex. */
static void sqn_cli_log_stamp(struct cli *c) {
  uint64_t t = sqn_posix_now_ms() - c->t0;
  fprintf(c->log, "%8llu.%03llu ", (unsigned long long)(t / 1000),
          (unsigned long long)(t % 1000));
}

/* Printable ASCII (and, for a stream, line ends and the NULs the AT
 * parser drops); a payload must be printable to be shown as text. */
static bool sqn_cli_is_text(const uint8_t *b, size_t n, bool stream) {
  for (size_t i = 0; i < n; i++)
    if (!((b[i] >= 0x20 && b[i] < 0x7f) ||
          (stream && (b[i] == '\r' || b[i] == '\n' || b[i] == '\t' ||
                      b[i] == 0))))
      return false;
  return true;
}

static void sqn_cli_log_hex(struct cli *c, const uint8_t *b, size_t n) {
  size_t show = n > 32 ? 32 : n;
  for (size_t i = 0; i < show; i++)
    fprintf(c->log, "%s%02x", i ? " " : "", b[i]);
  if (show < n)
    fprintf(c->log, " ... (%zu bytes)", n);
}

static const char *sqn_cli_stp_op(uint8_t op) {
  switch (op & 0x3f) {
  case SQN_STP_OP_RESET:
    return "RESET";
  case SQN_STP_OP_OPEN:
    return "OPEN";
  case SQN_STP_OP_BLOCK_CMD:
    return "BLOCK_CMD";
  case SQN_STP_OP_BLOCK:
    return "BLOCK";
  case SQN_STP_OP_DATA_TYPE:
    return "DATA_TYPE";
  default:
    return "UNKNOWN";
  }
}

/* One frame: `raw` holds its 16 header bytes and plen payload bytes. */
static void sqn_cli_log_frame(struct cli *c, const char *dir,
                              const uint8_t *raw, bool hcrc_checked,
                              bool pcrc_checked) {
  struct sqn_stp_hdr h;
  const uint8_t *pl = raw + SQN_STP_HDR_LEN;
  sqn_stp_hdr_parse(&h, raw);
  bool hok = h.hcrc == sqn_stp_hdr_crc(raw);
  bool pok = h.pcrc == (h.plen ? sqn_crc16(0, pl, h.plen) : 0);
  sqn_cli_log_stamp(c);
  fprintf(c->log, "%s %s%s%s sid %u tid %lu len %u hcrc %04x %s pcrc %04x %s",
          dir, sqn_cli_stp_op(h.op), h.op & SQN_STP_ACK ? "|ACK" : "",
          h.op & SQN_STP_NACK ? "|NACK" : "", (unsigned)h.sid,
          (unsigned long)h.tid, (unsigned)h.plen, (unsigned)h.hcrc,
          hok ? "ok" : !hcrc_checked && h.hcrc == 0 ? "not computed" : "BAD",
          (unsigned)h.pcrc,
          pok ? "ok" : !pcrc_checked && h.pcrc == 0 ? "not computed" : "BAD");
  if (h.plen && sqn_cli_is_text(pl, h.plen, false)) {
    fputs(" payload \"", c->log);
    fwrite(pl, 1, h.plen, c->log);
    fputc('"', c->log);
  } else if (h.plen) {
    fputs(" payload ", c->log);
    sqn_cli_log_hex(c, pl, h.plen);
  }
  fputc('\n', c->log);
  fflush(c->log);
}

static void sqn_cli_rx_frame(void *user, const struct sqn_stp_frame *f) {
  struct cli *c = user;
  sqn_cli_log_frame(c, "STP<", f->raw, f->hcrc_checked, f->pcrc_checked);
}

static void sqn_cli_rx_drop(void *user, enum sqn_stp_drop why, size_t n) {
  struct cli *c = user;
  sqn_cli_log_stamp(c);
  fprintf(c->log, "STP< dropped %zu bytes: %s\n", n, sqn_stp_drop_text(why));
  fflush(c->log);
}

static void sqn_cli_on_rx(void *user, const uint8_t *buf, size_t len) {
  struct cli *c = user;
  if (!c->log)
    return;
  if (!c->stp_dec_ready) {
    struct sqn_stp_decoder_config dc = {
        .magic = SQN_STP_MAGIC_RSP, .buf = c->stp_buf,
        .buf_cap = sizeof c->stp_buf, .max_plen = 1024,
        .flags = SQN_STP_DEC_HCRC_ZERO_OK, .on_frame = sqn_cli_rx_frame,
        .on_drop = sqn_cli_rx_drop, .user = c};
    c->stp_dec_ready = sqn_stp_decoder_init(&c->stp_dec, &dc) == 0;
  }
  /* Outside STP, bytes that are not text (PPP, noise) in hex (text is
   * logged line by line by the library); inside, the decoder says what
   * every byte was. A session starts with the decoder empty. */
  if (!(c->u && c->u->in_stp)) {
    if (c->stp_dec_ready)
      sqn_stp_decoder_reset(&c->stp_dec);
    if (!sqn_cli_is_text(buf, len, true)) {
      sqn_cli_log_stamp(c);
      fputs("rx (not text) ", c->log);
      sqn_cli_log_hex(c, buf, len);
      fputc('\n', c->log);
      fflush(c->log);
    }
  } else if (c->stp_dec_ready) {
    sqn_stp_decoder_feed(&c->stp_dec, buf, len);
  }
}

static void sqn_cli_on_tx(struct cli *c, const uint8_t *buf, size_t len) {
  size_t i = 0;
  while (len - i >= SQN_STP_HDR_LEN && !memcmp(buf + i, "fast", 4)) {
    size_t plen = (size_t)buf[i + 6] << 8 | buf[i + 7];
    if (len - i < SQN_STP_HDR_LEN + plen)
      break;
    sqn_cli_log_frame(c, "STP>", buf + i, false, false);
    i += SQN_STP_HDR_LEN + plen;
  }
  if (i < len && !sqn_cli_is_text(buf + i, len - i, true)) {
    sqn_cli_log_stamp(c);
    fputs("tx (not text) ", c->log);
    sqn_cli_log_hex(c, buf + i, len - i);
    fputc('\n', c->log);
    fflush(c->log);
  }
}

static int sqn_cli_open_port(struct cli *c, uint32_t baud) {
  int rc;
  if (c->tty_open) {
    rc = sqn_posix_tty_set_baud(&c->tty, baud);
    if (rc && c->tty.err[0])
      snprintf(c->port_err, sizeof c->port_err, "%s", c->tty.err);
    return rc;
  }
  rc = sqn_posix_tty_open(&c->tty, c->port, baud, c->rtscts);
  if (rc != 0) {
    /* The cause (no such file, not a tty, busy ...) goes into the FAILED
     * detail of the DONE event; see sqn_cli_event. */
    snprintf(c->port_err, sizeof c->port_err, "%s", c->tty.err);
    if (c->json) {
      printf("{\"event\":\"LOG\",\"level\":\"error\",\"text\":");
      sqn_cli_json_str(c->tty.err);
      printf("}\n");
    }
    return rc == SQN_E_PORT_BUSY ? rc : SQN_E_PORT;
  }
  c->tty_open = true;
  c->tty.on_rx = sqn_cli_on_rx;
  c->tty.rx_user = c;
  return 0;
}

static int sqn_cli_write(void *user, const uint8_t *buf, size_t len) {
  struct cli *c = user;
  if (!c->tty_open)
    return SQN_E_PORT;
  if (c->log)
    sqn_cli_on_tx(c, buf, len);
  return sqn_posix_tty_write_all(&c->tty, buf, len, 10000);
}

static int sqn_cli_set_baud(void *user, uint32_t baud) {
  return sqn_cli_open_port(user, baud);
}

static int sqn_cli_pread(int fd, uint8_t *buf, size_t len, uint64_t off,
                         size_t *got) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
    if (n == 0)
      break; /* end of file */
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    done += (size_t)n;
  }
  *got = done;
  return 0;
}

static int sqn_cli_read_pkg(void *user, enum sqn_update_src src, uint64_t off,
                            uint8_t *buf, size_t len) {
  struct cli *c = user;
  int fd = src == SQN_UPDATE_SRC_PACKAGE    ? c->pkg_fd
           : src == SQN_UPDATE_SRC_PACKAGE2 ? c->pkg2_fd
                                            : c->elf_fd;
  size_t got;
  if (len > sizeof c->ra_buf)
    return sqn_cli_pread(fd, buf, len, off, &got) == 0 && got == len
               ? (int)len
               : -1;
  if (fd != c->ra_fd || off < c->ra_off || off + len > c->ra_off + c->ra_len) {
    c->ra_fd = -1;
    if (sqn_cli_pread(fd, c->ra_buf, sizeof c->ra_buf, off, &got) != 0)
      return -1;
    c->ra_fd = fd;
    c->ra_off = off;
    c->ra_len = got;
    if (len > got)
      return -1; /* the file is shorter than it was when checked */
  }
  memcpy(buf, c->ra_buf + (off - c->ra_off), len);
  return (int)len;
}

static void sqn_cli_clear_line(struct cli *c) {
  if (c->progress_line) {
    fputs("\r\033[K", stderr);
    c->progress_line = false;
  }
}

static const char *sqn_cli_power(bool safe) {
  return safe ? "power may be removed" : "DO NOT remove power";
}

static void sqn_cli_log_event(struct cli *c, const struct sqn_update_event *ev,
                              uint64_t t) {
  if (ev->kind == SQN_UPDATE_EV_PROGRESS)
    fprintf(c->log, "%8llu.%03llu PROGRESS %llu/%llu\n",
            (unsigned long long)(t / 1000), (unsigned long long)(t % 1000),
            (unsigned long long)ev->done, (unsigned long long)ev->total);
  else
    fprintf(c->log, "%8llu.%03llu %-8s %-12s %s\n",
            (unsigned long long)(t / 1000), (unsigned long long)(t % 1000),
            sqn_update_event_name(ev->kind), sqn_update_state_name(ev->state),
            ev->text ? ev->text : "");
  fflush(c->log);
}

static void sqn_cli_json_event(const struct sqn_update_event *ev, uint64_t t) {
  if (ev->kind == SQN_UPDATE_EV_LOG && ev->level == SQN_LOG_DEBUG)
    return;
  printf("{\"t_ms\":%llu,\"event\":\"%s\",\"phase\":\"%s\",\"state\":\"%s\","
         "\"power_safe\":%s",
         (unsigned long long)t, sqn_update_event_name(ev->kind),
         sqn_update_phase_name(ev->phase), sqn_update_state_name(ev->state),
         ev->power_safe ? "true" : "false");
  if (ev->kind == SQN_UPDATE_EV_PROGRESS)
    printf(",\"done\":%llu,\"total\":%llu,\"updater\":%s",
           (unsigned long long)ev->done, (unsigned long long)ev->total,
           ev->updater ? "true" : "false");
  if (ev->kind == SQN_UPDATE_EV_DONE)
    printf(",\"err\":\"%s\",\"exit\":%d", sqn_err_name(ev->err),
           (int)sqn_err_exit(ev->err));
  if (ev->text) {
    printf(",\"text\":");
    sqn_cli_json_str(ev->text);
  }
  printf("}\n");
  fflush(stdout);
}

static void sqn_cli_progress(struct cli *c, const struct sqn_update_event *ev) {
  double pct = ev->total ? 100.0 * (double)ev->done / (double)ev->total : 0;
  if (ev->now_ms > c->rate_t + 500) {
    c->rate = (double)(ev->done - c->rate_bytes) * 1000.0 /
              (double)(ev->now_ms - c->rate_t);
    c->rate_t = ev->now_ms;
    c->rate_bytes = ev->done;
  }
  if (c->term) {
    if (ev->now_ms < c->last_progress_ms + 100 && ev->done != ev->total)
      return;
    c->last_progress_ms = ev->now_ms;
    fprintf(stderr, "\r\033[K%s: %llu/%llu bytes %5.1f%% %7.1f kB/s  %s",
            ev->updater ? "updater.elf" : "package",
            (unsigned long long)ev->done, (unsigned long long)ev->total, pct,
            c->rate / 1000.0, sqn_cli_power(ev->power_safe));
    c->progress_line = true;
    return;
  }
  if ((int)(pct / 10.0) != c->last_decile) {
    c->last_decile = (int)(pct / 10.0);
    fprintf(stderr, "%s: %llu/%llu bytes %.0f%% (%s)\n",
            ev->updater ? "updater.elf" : "package",
            (unsigned long long)ev->done, (unsigned long long)ev->total, pct,
            sqn_cli_power(ev->power_safe));
  }
}

static const char *sqn_cli_mode_name(int smod) {
  switch (smod) {
  case 0:
    return "FFH";
  case 1:
    return "FFH+updater";
  case 2:
    return "FFF";
  case 3:
    return "UPDATER";
  case 4:
    return "RECOVERY";
  default:
    return "unknown";
  }
}

/* Detection on a terminal: each attempt (rate, answer) on the live line,
 * so that a minute of probing is never silent. */
static void sqn_cli_detect_line(struct cli *c, const struct sqn_update_event *ev) {
  const char *t = ev->text;
  if (!c->term || !t ||
      (ev->phase != SQN_UPDATE_PHASE_DETECT &&
       ev->phase != SQN_UPDATE_PHASE_INFO))
    return;
  if (strncmp(t, "port at ", 8) == 0) {
    c->attempt++;
    snprintf(c->detect_rate, sizeof c->detect_rate, "%s", t + 8);
  } else if (strncmp(t, "at> ", 4) != 0 && strncmp(t, "at< ", 4) != 0) {
    return;
  }
  sqn_cli_clear_line(c);
  fprintf(stderr, "detecting: attempt %u at %s: %s", c->attempt,
          c->detect_rate[0] ? c->detect_rate : "?", t);
  c->progress_line = true;
}

static void sqn_cli_plain_event(struct cli *c, const struct sqn_update_event *ev) {
  switch (ev->kind) {
  case SQN_UPDATE_EV_PHASE:
    sqn_cli_clear_line(c);
    if (ev->phase == SQN_UPDATE_PHASE_CHECK_MODEM && c->u)
      fprintf(stderr, "modem found: %s (SMOD %d), %s%s, at %u baud\n",
              sqn_cli_mode_name(c->u->modem.smod), c->u->modem.smod,
              c->u->modem.lr[0] ? "firmware " : "version unknown in this mode",
              c->u->modem.lr, (unsigned)c->u->modem.baud);
    fprintf(stderr, "== %s (%s)\n", ev->text, sqn_cli_power(ev->power_safe));
    c->power_shown = ev->power_safe;
    c->last_decile = -1;
    c->rate_t = ev->now_ms;
    c->rate_bytes = 0;
    break;
  case SQN_UPDATE_EV_PROGRESS:
    sqn_cli_progress(c, ev);
    break;
  case SQN_UPDATE_EV_LOG:
    if (ev->level == SQN_LOG_DEBUG) {
      sqn_cli_detect_line(c, ev);
      break;
    }
    sqn_cli_clear_line(c);
    fprintf(stderr, "%s%s\n", ev->level <= SQN_LOG_WARN ? "warning: " : "",
            ev->text);
    break;
  case SQN_UPDATE_EV_INFO:
    if (c->info) {
      sqn_cli_clear_line(c);
      printf("%s\n", ev->text);
    }
    break;
  case SQN_UPDATE_EV_DONE:
    sqn_cli_clear_line(c);
    if (ev->err)
      fprintf(stderr, "FAILED: %s\n  %s\n", ev->text,
              sqn_err_power_safe(ev->err) ? "It is safe to remove power now."
                                          : "Do NOT remove power now.");
    else
      fprintf(stderr, "%s\n", ev->text);
    break;
  }
}

static void sqn_cli_journal_write(struct cli *c, const char *lr);

static void sqn_cli_event(void *user, const struct sqn_update_event *in) {
  struct cli *c = user;
  if (in->kind == SQN_UPDATE_EV_INFO && in->text &&
      strncmp(in->text, "version=", 8) == 0)
    sqn_cli_journal_write(c, in->text + 8);
  struct sqn_update_event done_ev;
  char done_text[2048];
  const struct sqn_update_event *ev = in;
  uint64_t t = ev->now_ms - c->t0;

  /* A port failure: the library only knows that the rate could not be set;
   * the port layer knows why (e.g. "No such file or directory"). */
  if (ev->kind == SQN_UPDATE_EV_DONE &&
      (ev->err == SQN_E_PORT || ev->err == SQN_E_PORT_BUSY) &&
      c->port_err[0]) {
    done_ev = *ev;
    snprintf(done_text, sizeof done_text, "%s: %s: %s. %s",
             sqn_err_name(ev->err), sqn_strerror(ev->err), c->port_err,
             sqn_err_advice(ev->err));
    done_ev.text = done_text;
    ev = &done_ev;
  }
  if (c->log)
    sqn_cli_log_event(c, ev, t);
  if (c->json) {
    sqn_cli_json_event(ev, t);
    return;
  }
  /* Within a phase, say so whenever power safety changes (the phase line
   * gives the safety of the phase as a whole). DONE says it itself. */
  if (ev->kind != SQN_UPDATE_EV_PHASE && ev->kind != SQN_UPDATE_EV_DONE &&
      !(ev->kind == SQN_UPDATE_EV_LOG && ev->level == SQN_LOG_DEBUG) &&
      c->power_shown >= 0 && (int)ev->power_safe != c->power_shown) {
    sqn_cli_clear_line(c);
    fprintf(stderr, "-- %s\n",
            ev->power_safe ? "power may be removed now"
                           : "DO NOT remove power from now on");
    c->power_shown = ev->power_safe;
  }
  sqn_cli_plain_event(c, ev);
}

/* ---- the per-port journal ------------------------------------------------ */

/*
 * What sqn-update saw of the modem on a port, kept across runs so that a
 * modem in RECOVERY (ATI1 answers ERROR) can still be checked for its chip:
 * $XDG_STATE_HOME/sqnup/<id> (default ~/.local/state/sqnup/<id>), a few
 * "key=value" lines. <id> is the port's stable id: its /dev/serial/by-id
 * name, or the symlink given as --port (a udev or sqn-sim --link name).
 * A bare /dev/ttyUSBn or /dev/pts/N has no stable id: no journal.
 */
static bool sqn_cli_by_id(const char *port, char *out, size_t cap) {
  char want[512], got[512], path[768];
  DIR *d;
  struct dirent *e;
  bool found = false;
  if (!realpath(port, want) || !(d = opendir("/dev/serial/by-id")))
    return false;
  while (!found && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/dev/serial/by-id/%s", e->d_name);
    if (realpath(path, got) && strcmp(got, want) == 0) {
      snprintf(out, cap, "by-id_%s", e->d_name);
      found = true;
    }
  }
  closedir(d);
  return found;
}

static void sqn_cli_journal_path(struct cli *c) {
  char id[400] = "", dir[300];
  struct stat st;
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  c->journal[0] = '\0';
  if (!sqn_cli_by_id(c->port, id, sizeof id)) {
    char abs[400];
    if (lstat(c->port, &st) != 0 || !S_ISLNK(st.st_mode) ||
        !realpath(c->port, abs) || strncmp(c->port, "/dev/pts/", 9) == 0)
      return;
    /* the symlink's own absolute path, not its target */
    int n = -1;
    if (c->port[0] == '/')
      n = snprintf(id, sizeof id, "%s", c->port);
    else if (getcwd(abs, sizeof abs))
      n = snprintf(id, sizeof id, "%s/%s", abs, c->port);
    if (n < 0 || (size_t)n >= sizeof id)
      return; /* no id that fits: no journal */
  }
  for (char *p = id; *p; p++)
    if (*p == '/')
      *p = '_';
  int n;
  if (xdg && *xdg)
    n = snprintf(dir, sizeof dir, "%s/sqnup", xdg);
  else if (home && *home)
    n = snprintf(dir, sizeof dir, "%s/.local/state/sqnup", home);
  else
    return;
  if (n < 0 || (size_t)n >= sizeof dir)
    return; /* a truncated directory would be another file: no journal */
  char path[sizeof c->journal];
  n = snprintf(path, sizeof path, "%s/%s", dir, id);
  if (n < 0 || (size_t)n >= sizeof path)
    return;
  memcpy(c->journal, path, (size_t)n + 1);
}

static void sqn_cli_journal_read(struct cli *c) {
  char line[128];
  FILE *f;
  sqn_cli_journal_path(c);
  if (!c->journal[0] || !(f = fopen(c->journal, "r")))
    return;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "family=", 7) == 0)
      c->journal_family = atoi(line + 7);
  fclose(f);
}

/* Called with the version ATI1 showed (before any write of the run). */
static void sqn_cli_journal_write(struct cli *c, const char *lr) {
  char dir[600], tmp[620];
  char *slash;
  FILE *f;
  int fam = (lr[0] == 'L' && lr[1] == 'R') ? atoi(lr + 2) : 0;
  if (!c->journal[0] || fam <= 0)
    return;
  snprintf(dir, sizeof dir, "%s", c->journal);
  slash = strrchr(dir, '/');
  if (!slash)
    return;
  *slash = '\0';
  /* Every missing folder of the path (a fresh account has no ~/.local),
   * private as the XDG base directory specification asks. */
  for (char *q = dir + 1; *q; q++) {
    if (*q != '/')
      continue;
    *q = '\0';
    (void)mkdir(dir, 0700);
    *q = '/';
  }
  (void)mkdir(dir, 0700);
  snprintf(tmp, sizeof tmp, "%s.tmp", c->journal);
  f = fopen(tmp, "w");
  if (!f)
    return;
  fprintf(f, "chip=monarch%d\nfamily=%d\nversion=%s\n", fam == 8 ? 2 : 1,
          fam, lr);
  if (fclose(f) == 0)
    (void)rename(tmp, c->journal);
  else
    (void)unlink(tmp);
}

/* ---- arguments and input checks ------------------------------------------ */

static int sqn_cli_parse_u32(const char *s, uint32_t *out) {
  char *end;
  unsigned long v;
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v == 0 || v > 0xffffffffUL)
    return -1;
  *out = (uint32_t)v;
  return 0;
}

/* Open an input file: a regular file only. A FIFO, device or directory is
 * refused before it is opened for reading (a FIFO would block forever). */
static int sqn_cli_open_file(struct cli *c, const char *path, int *fd,
                             uint64_t *size, int missing_err) {
  struct stat st;
  if (stat(path, &st) != 0)
    return sqn_cli_fail(c, missing_err, "%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return sqn_cli_fail(c, missing_err, "%s: not a regular file (%s)", path,
                        S_ISDIR(st.st_mode)    ? "a directory"
                        : S_ISFIFO(st.st_mode) ? "a FIFO"
                        : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
                            ? "a device"
                            : "a special file");
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0)
    return sqn_cli_fail(c, missing_err, "%s: %s", path, strerror(errno));
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return sqn_cli_fail(c, missing_err, "%s: not a regular file", path);
  }
  /* Nothing a modem takes is this large: a 20 GB file is not checked for
   * minutes before being refused. */
  if ((uint64_t)st.st_size > 64ull * 1024 * 1024) {
    close(*fd);
    *fd = -1;
    return sqn_cli_fail(c, missing_err,
                        "%s: %llu bytes, larger than any plausible package "
                        "(at most 64 MiB)",
                        path, (unsigned long long)st.st_size);
  }
  *size = (uint64_t)st.st_size;
  return 0;
}

/* Why the log may not be written to `path`, or NULL: never onto an input
 * (package, part 2, updater, port), never onto anything but a regular file
 * or a new one. */
static const char *sqn_cli_log_refusal(const struct cli *c) {
  const char *inputs[] = {c->package, c->package2, c->updater, c->port};
  const char *names[] = {"the package", "part 2", "the updater",
                         "the serial port"};
  struct stat lst, ist;
  if (lstat(c->log_path, &lst) != 0)
    return errno == ENOENT ? NULL : "cannot be checked";
  if (stat(c->log_path, &lst) != 0 || !S_ISREG(lst.st_mode))
    return "is not a regular file";
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
    if (inputs[i] && stat(inputs[i], &ist) == 0 && ist.st_dev == lst.st_dev &&
        ist.st_ino == lst.st_ino)
      return names[i];
  return NULL;
}

static int sqn_cli_log_open(struct cli *c) {
  const char *why;
  if (!c->log_path || c->log)
    return 0;
  why = sqn_cli_log_refusal(c);
  if (why) {
    const char *path = c->log_path;
    c->log_path = NULL; /* the refusal itself is not logged there */
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS,
                        "--log %s: %s%s; refusing to overwrite it", path,
                        strncmp(why, "the ", 4) == 0 ? "is " : "", why);
  }
  c->log = fopen(c->log_path, "w");
  if (!c->log) {
    const char *path = c->log_path;
    c->log_path = NULL;
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "--log %s: %s", path,
                        strerror(errno));
  }
  return 0;
}

/* One option with its value (argv[*i + 1]); 0, or the exit code. */
static int sqn_cli_option(struct cli *c, const char *a, const char *v,
                          int *i) {
  static const char *const valued[] = {"--port", "--baud", "--updater",
                                       "--method", "--timeout-scale", "--log"};
  bool needs = false;
  for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
    needs |= strcmp(a, valued[k]) == 0;
  if (needs && !v)
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "%s needs a value", a);
  if (needs)
    (*i)++;
  if (!strcmp(a, "--port")) {
    c->port = v;
  } else if (!strcmp(a, "--baud")) {
    if (sqn_cli_parse_u32(v, &c->baud))
      return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "bad --baud '%s'", v);
  } else if (!strcmp(a, "--rtscts")) {
    c->rtscts = true;
  } else if (!strcmp(a, "--updater")) {
    c->updater = v;
  } else if (!strcmp(a, "--force")) {
    c->force = true;
  } else if (!strcmp(a, "--method")) {
    if (!strcmp(v, "on-the-fly") || !strcmp(v, "ON_THE_FLY"))
      c->method = SQN_UPDATE_METHOD_ON_THE_FLY;
    else if (!strcmp(v, "store"))
      c->method = SQN_UPDATE_METHOD_STORE;
    else
      return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS,
                          "bad --method '%s' (on-the-fly or store)", v);
  } else if (!strcmp(a, "--timeout-scale")) {
    char *end;
    c->scale = strtod(v, &end);
    if (end == v || *end || !(c->scale > 0) || c->scale > 1000)
      return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS,
                          "bad --timeout-scale '%s' (a number > 0)", v);
  } else if (!strcmp(a, "--skip-if-current")) {
    c->skip_if_current = true;
  } else if (!strcmp(a, "--json")) {
    c->json = true;
  } else if (!strcmp(a, "--log")) {
    c->log_path = v;
  } else if (!strcmp(a, "--info")) {
    c->info = true;
  } else {
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "unknown option '%s'", a);
  }
  return 0;
}

static int sqn_cli_positional(struct cli *c, const char *a) {
  bool digits = strspn(a, "0123456789") == strlen(a);
  if (!c->package) {
    c->package = a;
  } else if (!c->package2 && !digits) {
    /* PART1 PART2: the two parts of a two-part package, in order. */
    c->package2 = a;
  } else if (digits) {
    /* The legacy positional form "file 921600" lands here (F27). */
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS,
                        "unexpected argument '%s' (use --baud for a rate)", a);
  } else {
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS,
                        "unexpected argument '%s' (at most two package "
                        "files: PART1 PART2)",
                        a);
  }
  return 0;
}

/* -1: --help printed; 0: go on; else the exit code. */
static int sqn_cli_args(struct cli *c, int argc, char **argv) {
  int rc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      sqn_cli_usage(stdout);
      return -1;
    }
    if (a[0] == '-' && a[1])
      rc = sqn_cli_option(c, a, i + 1 < argc ? argv[i + 1] : NULL, &i);
    else
      rc = sqn_cli_positional(c, a);
    if (rc)
      return rc;
  }
  if (!c->port)
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "--port is required");
  if (c->info && c->package)
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "--info takes no package");
  if (!c->info && !c->package)
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "no PACKAGE given");
  return 0;
}

static int sqn_cli_package(struct cli *c, const char *path, int *fd,
                           uint64_t *size) {
  int rc = sqn_cli_open_file(c, path, fd, size, SQN_E_IMAGE_NOT_FOUND);
  if (rc)
    return rc;
  if (*size < 128)
    return sqn_cli_fail(c, SQN_E_IMAGE_TRUNCATED,
                        "%s: %llu bytes, a package has at least 128", path,
                        (unsigned long long)*size);
  return 0;
}

/* Input files first: nothing touches the port (or the log) before they
 * pass. */
static int sqn_cli_inputs(struct cli *c) {
  int rc;
  if (c->package &&
      (rc = sqn_cli_package(c, c->package, &c->pkg_fd, &c->pkg_size)))
    return rc;
  if (c->package2 &&
      (rc = sqn_cli_package(c, c->package2, &c->pkg2_fd, &c->pkg2_size)))
    return rc;
  if (c->updater) {
    rc = sqn_cli_open_file(c, c->updater, &c->elf_fd, &c->elf_size,
                           SQN_E_UPDATER_INVALID);
    if (rc)
      return rc;
    if (c->elf_size < 4)
      return sqn_cli_fail(c, SQN_E_UPDATER_INVALID,
                          "%s: %llu bytes, not an ELF image", c->updater,
                          (unsigned long long)c->elf_size);
  }
  return sqn_cli_log_open(c);
}

/* --info: the next step for the mode found. */
static const char *sqn_cli_next_step(int smod) {
  switch (smod) {
  case 2:
    return "the application runs: sqn-update --port PORT PACKAGE upgrades it";
  case 0:
    return "the modem is in its FFH bootloader: sqn-update --port PORT "
           "--updater updater.elf FULL_PACKAGE (no delta) rescues it";
  case 1:
  case 3:
  case 4:
    return "the application is not running (recovery chain): sqn-update "
           "--port PORT FULL_PACKAGE puts a working image back";
  default:
    return "the mode could not be read: rerun; if it persists, power-cycle "
           "the modem and rerun";
  }
}

static void sqn_cli_info_report(const struct cli *c, const struct sqn_update *u) {
  printf("mode=%s\n", sqn_cli_mode_name(u->modem.smod));
  printf("baud=%u\n", (unsigned)u->modem.baud);
  printf("next=%s\n", sqn_cli_next_step(u->modem.smod));
  (void)c;
}

static int sqn_cli_run(struct cli *c, struct sqn_update *u, uint8_t *tx,
                       size_t tx_cap, uint8_t *rx, size_t rx_cap) {
  struct sqn_update_config cfg;
  struct sigaction sa;
  int rc;
  memset(&cfg, 0, sizeof cfg);
  cfg.mode = c->info ? SQN_UPDATE_MODE_INFO : SQN_UPDATE_MODE_UPGRADE;
  cfg.tx_buf = tx;
  cfg.tx_cap = tx_cap;
  cfg.rx_buf = rx;
  cfg.rx_cap = rx_cap;
  cfg.pkg_size = c->pkg_size;
  cfg.pkg2_size = c->pkg2_size;
  cfg.updater_size = c->elf_size;
  cfg.baud = c->baud;
  cfg.force = c->force;
  cfg.skip_if_current = c->skip_if_current;
  sqn_cli_journal_read(c);
  cfg.journal_family = c->journal_family;
  cfg.method = c->method;
  cfg.timeout_scale = c->scale;
  cfg.write = sqn_cli_write;
  cfg.set_baud = sqn_cli_set_baud;
  cfg.read_pkg = sqn_cli_read_pkg;
  cfg.event = sqn_cli_event;
  cfg.user = c;
  if (sqn_update_init(u, &cfg) != 0)
    return sqn_cli_fail(c, SQN_E_BAD_ARGUMENTS, "bad configuration");
  c->u = u;
  /* Ctrl-C / SIGTERM: the loop aborts the run (an open STP session gets its
   * RESET), the port is closed as found, and the exit code is 130. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sqn_cli_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  c->t0 = sqn_posix_now_ms();
  rc = sqn_update_start(u, c->t0);
  if (rc == 0)
    rc = sqn_posix_run(u, &c->tty, &sqn_cli_stop);
  if (c->info && rc == 0 && !c->json)
    sqn_cli_info_report(c, u);
  return (int)sqn_err_exit(rc);
}

int main(int argc, char **argv) {
  if (sqn_tool_wants_version(argc, argv)) {
    sqn_tool_print_version(stdout, "sqn-update");
    return 0;
  }
  static struct sqn_update u;
  static uint8_t tx[8192 + 16];
  static uint8_t rx[256];
  struct cli c;
  int rc;

  memset(&c, 0, sizeof c);
  c.pkg_fd = c.elf_fd = c.pkg2_fd = c.ra_fd = -1;
  c.scale = 1.0;
  c.last_decile = -1;
  c.power_shown = -1;
  /* Know --log before anything can fail, wherever it stands: the log
   * carries the final report of every run (a harness reads it), written
   * only onto a path that passes sqn_cli_log_refusal(). */
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--log"))
      c.log_path = argv[i + 1];
  rc = sqn_cli_args(&c, argc, argv);
  if (rc < 0)
    return 0;
  if (rc == 0)
    rc = sqn_cli_inputs(&c);
  if (rc == 0) {
    c.term = !c.json && isatty(STDERR_FILENO);
    rc = sqn_cli_run(&c, &u, tx, sizeof tx, rx, sizeof rx);
  }
  if (c.tty_open)
    sqn_posix_tty_close(&c.tty);
  if (c.pkg_fd >= 0)
    close(c.pkg_fd);
  if (c.pkg2_fd >= 0)
    close(c.pkg2_fd);
  if (c.elf_fd >= 0)
    close(c.elf_fd);
  if (c.log)
    fclose(c.log);
  return rc;
}

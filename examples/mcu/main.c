/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqnup-mcu: example firmware that upgrades a Sequans Monarch modem on its
 * UART with libsqnup, on a bare-metal Cortex-M3.
 *
 *   sqnup-mcu PACKAGE [--baud N] [--force] [--timeout-scale X]
 *             [--updater FILE]
 *
 * The package (and updater.elf for a modem in FFH) comes from the board's
 * storage; progress and the result go to the board's console; the exit
 * status is sqn-update's for the same result (0 only on a verified
 * upgrade). On QEMU (board_qemu.c) the arguments, storage, console and
 * exit are semihosting, e.g.
 *
 *   qemu-system-arm -M mps2-an385 -nographic -monitor none \
 *     -semihosting-config enable=on,target=native,arg=sqnup-mcu,arg=pkg.dup \
 *     -kernel sqnup-mcu.elf -chardev serial,id=m,path=/dev/pts/3 \
 *     -serial chardev:m
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "sqnup/err.h"
#include "sqnup/update.h"
#include "sqnup_port.h"
#include "startup.h"
#include "tick.h"

/* All state is static: nothing of the updater lives on the stack. */
static struct sqn_update upd;
static struct sqnup_port port;
static char cmdline[512];

/* ---- console text without printf ---- */

static void out(const char *s) { board_console_write(s); }

static const char *num(uint64_t v) {
  static char buf[24];
  char *p = buf + sizeof buf - 1;
  *p = 0;
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return p;
}

static void out_line(const char *a, const char *b, const char *c) {
  out(a);
  if (b)
    out(b);
  if (c)
    out(c);
  out("\n");
}

/* ---- options ---- */

struct opts {
  const char *pkg, *updater;
  uint32_t baud;
  bool force;
  double scale;
};

static bool parse_u32(const char *s, uint32_t *v) {
  uint64_t x = 0;
  if (!*s)
    return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || (x = x * 10 + (uint64_t)(*s - '0')) > UINT32_MAX)
      return false;
  }
  *v = (uint32_t)x;
  return x > 0;
}

/* "0.25" -> 0.25; digits and one dot, nothing else. */
static bool parse_scale(const char *s, double *v) {
  double x = 0, f = 1;
  bool dot = false, digit = false;
  for (; *s; s++) {
    if (*s == '.' && !dot) {
      dot = true;
    } else if (*s >= '0' && *s <= '9') {
      digit = true;
      if (dot)
        x += (f /= 10) * (*s - '0');
      else
        x = x * 10 + (*s - '0');
    } else {
      return false;
    }
  }
  *v = x;
  return digit && x > 0 && x <= 1000;
}

static int usage_error(const char *what, const char *arg) {
  out_line("sqnup-mcu: E_BAD_ARGUMENTS: ", what, arg);
  out("usage: sqnup-mcu PACKAGE [--baud N] [--force] [--timeout-scale X] "
      "[--updater FILE]\n");
  return (int)sqn_err_exit(SQN_E_BAD_ARGUMENTS);
}

/* Split the command line in place (arguments hold no spaces). */
static int parse_args(char *line, struct opts *o) {
  char *argv[16];
  int argc = 0;
  for (char *p = line; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    if (argc == 16)
      return usage_error("too many arguments", NULL);
    argv[argc++] = p;
    while (*p && *p != ' ')
      p++;
    if (*p)
      *p++ = 0;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--force")) {
      o->force = true;
    } else if (!strcmp(a, "--baud")) {
      if (!v || !parse_u32(v, &o->baud))
        return usage_error("bad --baud ", v ? v : "(missing)");
      i++;
    } else if (!strcmp(a, "--timeout-scale")) {
      if (!v || !parse_scale(v, &o->scale))
        return usage_error("bad --timeout-scale ", v ? v : "(missing)");
      i++;
    } else if (!strcmp(a, "--updater")) {
      if (!v)
        return usage_error("--updater needs a file", NULL);
      o->updater = v;
      i++;
    } else if (a[0] == '-') {
      return usage_error("unknown option ", a);
    } else if (!o->pkg) {
      o->pkg = a;
    } else {
      return usage_error("unexpected argument ", a);
    }
  }
  if (!o->pkg)
    return usage_error("no PACKAGE given", NULL);
  return 0;
}

/* ---- events ---- */

static int last_decile = -1;
static uint32_t stack_at_run; /* stack depth where the updater starts */

static void on_event(void *user, const struct sqn_update_event *ev) {
  (void)user;
  switch (ev->kind) {
  case SQN_UPDATE_EV_PHASE:
    out_line("== ", ev->text,
             ev->power_safe ? " (power may be removed)"
                            : " (DO NOT remove power)");
    last_decile = -1;
    break;
  case SQN_UPDATE_EV_PROGRESS: {
    int d = ev->total ? (int)(ev->done * 10 / ev->total) : 0;
    if (d != last_decile) {
      last_decile = d;
      out(ev->updater ? "updater.elf: " : "package: ");
      out(num(ev->done));
      out("/");
      out_line(num(ev->total), " bytes", NULL);
    }
    break;
  }
  case SQN_UPDATE_EV_LOG:
    if (ev->level <= SQN_LOG_INFO)
      out_line(ev->level <= SQN_LOG_WARN ? "warning: " : "", ev->text, NULL);
    break;
  case SQN_UPDATE_EV_INFO:
    break;
  case SQN_UPDATE_EV_DONE:
    out_line(ev->err ? "FAILED: " : "", ev->text, NULL);
    break;
  }
}

/* ---- main ---- */

static int finish(int err, uint64_t t0) {
  out_line("sqnup-mcu: result ", sqn_err_name(err), NULL);
  out("sqnup-mcu: elapsed ");
  out_line(num(tick_now_ms() - t0), " ms", NULL);
  /* Deepest stack use since reset (painted by startup.c), and the part of
   * it below main: the updater, the port and the interrupt handlers. */
  uint32_t hw = stack_high_water();
  out("sqnup-mcu: stack high-water ");
  out(num(hw));
  out(" of ");
  out(num(stack_size()));
  out(" bytes; below main ");
  out_line(num(stack_at_run && hw > stack_at_run ? hw - stack_at_run : 0),
           NULL, NULL);
  out("sqnup-mcu: uart overruns ");
  out_line(num(board_modem_uart.overruns), NULL, NULL);
  return (int)sqn_err_exit(err);
}

static int open_file(const char *path, int *h, uint64_t *size, int err) {
  uint32_t sz;
  *h = board_file_open(path, &sz);
  if (*h < 0) {
    out_line("sqnup-mcu: ", sqn_err_name(err), NULL);
    out_line("  cannot open ", path, NULL);
    return err;
  }
  *size = sz;
  return 0;
}

int main(void) {
  struct opts o = {0};
  struct sqn_update_config cfg;
  uint64_t t0;
  int rc;

  board_init();
  tick_init(board_cpu_hz);
  t0 = tick_now_ms();
  if (board_cmdline(cmdline, sizeof cmdline) != 0)
    return usage_error("no command line", NULL);
  rc = parse_args(cmdline, &o);
  if (rc)
    return rc;

  memset(&cfg, 0, sizeof cfg);
  port.uart = &board_modem_uart;
  port.pkg = port.pkg2 = port.updater = -1;
  rc = open_file(o.pkg, &port.pkg, &cfg.pkg_size, SQN_E_IMAGE_NOT_FOUND);
  if (!rc && o.updater)
    rc = open_file(o.updater, &port.updater, &cfg.updater_size,
                   SQN_E_UPDATER_INVALID);
  if (rc)
    return finish(rc, t0);
  /* The UART starts at the first rate the updater will try; it asks for
   * every change itself. */
  if (cmsdk_uart_init(port.uart, o.baud ? o.baud : 921600u) != 0)
    return finish(SQN_E_PORT, t0);

  sqnup_port_config(&port, &cfg);
  cfg.mode = SQN_UPDATE_MODE_UPGRADE;
  cfg.baud = o.baud;
  cfg.force = o.force;
  cfg.timeout_scale = o.scale;
  cfg.event = on_event;
  if (sqn_update_init(&upd, &cfg) != 0)
    return finish(SQN_E_BAD_ARGUMENTS, t0);
  stack_at_run = stack_depth_now();
  rc = sqnup_port_run(&port, &upd);
  return finish(rc, t0);
}

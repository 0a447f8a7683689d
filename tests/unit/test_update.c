/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The update procedure against a scripted fake modem (no emulator): the
 * error table, the API contract, bounded detection of a silent modem, and a
 * RECOVERY push where every reply comes echoed, bootloader-style and cut
 * into whole / bytewise / random chunks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_ext.h"
#include "sqnup/stp.h"
#include "sqnup/update.h"
#include "update_int.h" /* sqn_upd_finish: every error text, whole */

/* ---- instances and fixtures ---------------------------------------------- */

struct fake {
  struct sqn_update u;
  uint8_t tx[8192 + 16], rx[128];
  uint64_t now;
  char wrote[8192];       /* AT text the host sent (binary skipped) */
  size_t wrote_len;
  unsigned writes, bauds;
  uint32_t baud;
  /* scripted modem */
  bool silent;
  bool in_stp;
  bool stp_done;
  char line[256];
  size_t line_len;
  uint8_t out[65536];     /* modem -> host, delivered by the loop */
  size_t out_len;
  enum sqn_feed_mode mode;
  uint64_t seed;
  struct sqn_stp_decoder dec;
  uint8_t dbuf[16 + 8192];
  uint8_t *img;
  size_t img_len;
  const uint8_t *pkg;
  size_t pkg_len;
  const char *status;     /* AT+SMUPGRADE? answer */
  int smod;
  unsigned reads;         /* read_pkg calls */
};

/* The `checked` fake_init hands the next instance (NULL: none). */
static const struct sqn_update_checked *fake_checked;

static uint8_t *load(const char *rel, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SQN_FIXTURES, rel);
  uint8_t *b = sqn_read_file(path, len);
  ck_assert_msg(b != NULL, "cannot read %s", path);
  return b;
}

static void fake_say(struct fake *f, const char *s) {
  size_t n = strlen(s);
  ck_assert_uint_lt(f->out_len + n, sizeof f->out);
  memcpy(f->out + f->out_len, s, n);
  f->out_len += n;
}

/* Bootloader style ("OK\r\n", no leading CR LF), echo on, garbage first. */
static void fake_reply(struct fake *f, const char *echo, const char *info,
                       const char *final) {
  fake_say(f, "\xfe\xfd");
  fake_say(f, echo);
  fake_say(f, "\r");
  if (info) {
    fake_say(f, info);
    fake_say(f, "\r\n");
  }
  fake_say(f, final);
  fake_say(f, "\r\n");
}

static void fake_line(struct fake *f, const char *l) {
  if (!strcmp(l, "AT") || !strcmp(l, "ATE0"))
    fake_reply(f, l, NULL, "OK");
  else if (!strcmp(l, "AT+SMOD?")) {
    char b[8];
    snprintf(b, sizeof b, "%d", f->smod);
    fake_reply(f, l, b, "OK");
  } else if (!strcmp(l, "AT+SMSTPU=\"ON_THE_FLY\"")) {
    fake_reply(f, l, NULL, "OK");
    f->in_stp = true;
  } else if (!strcmp(l, "AT+SMUPGRADE?")) {
    char b[96];
    snprintf(b, sizeof b, "+SMUPGRADE: %s", f->stp_done ? f->status : "on-going");
    fake_reply(f, l, b, "OK");
  } else if (!strcmp(l, "AT+SMSWBOOT=1,1")) {
    fake_reply(f, l, NULL, "OK");
    fake_say(f, "\r\n+SHUTDOWN\r\n");
    f->smod = 2;
    fake_say(f, "\r\n+SYSSTART\r\n");
  } else if (!strcmp(l, "AT!=\"showver\"")) {
    /* longer than the client keeps (SQN_AT_INFO_MAX lines) */
    fake_reply(f, l,
               "SYSTEM VERSION\r\n--------------\r\n"
               "  FIRMWARE VERSION\r\n    Bootloader0  : 5.1.1.0 [33080]\r\n"
               "    Bootloader1  : 5.1.1.0 [33988]\r\n"
               "    Bootloader2  : NA\r\n    NV Info      : 1.1,0,0\r\n"
               "    Software     : 5.1.1.0 [33988] by robot-soft at 2020\r\n"
               "    UE           : 5.0.0.0c\r\n  COMPONENTS\r\n"
               "    ZSP0         : 1.0.99-13604\r\n"
               "    ZSP1         : 1.0.99-12341\r\n"
               "    RF           : 1.1.0 tail line thirteen",
               "OK");
  } else if (!strcmp(l, "ATI1")) {
    fake_reply(f, l, f->smod == 2 ? "UE5.0.0.0d\r\nLR5.1.1.0-38638" : NULL,
               f->smod == 2 ? "OK" : "ERROR");
  } else {
    fake_reply(f, l, NULL, "ERROR");
  }
}

static void fake_stp_frame(void *user, const struct sqn_stp_frame *fr) {
  struct fake *f = user;
  uint8_t o[32], pl[4] = {1, 1, 0x20, 0x00};
  const struct sqn_stp_hdr *h = &fr->hdr;
  const uint8_t *p = NULL;
  uint16_t plen = 0;
  if (h->op == SQN_STP_OP_OPEN) {
    p = pl;
    plen = 4;
  } else if (h->op == SQN_STP_OP_BLOCK) {
    memcpy(f->img + f->img_len, fr->payload, h->plen);
    f->img_len += h->plen;
    pl[0] = pl[1] = 0;
    p = pl;
    plen = 2;
  }
  size_t n = sqn_stp_encode(o, sizeof o, SQN_STP_MAGIC_RSP,
                            (uint8_t)(h->op | 0x80), h->sid, h->tid, p, plen,
                            SQN_STP_ENC_ZERO_HCRC);
  memcpy(f->out + f->out_len, o, n);
  f->out_len += n;
  if (h->op == SQN_STP_OP_RESET && h->sid == 1) {
    f->in_stp = false;
    f->stp_done = true;
  }
}

/* ---- recording callbacks ------------------------------------------------- */

static int cb_write(void *user, const uint8_t *buf, size_t len) {
  struct fake *f = user;
  f->writes++;
  if (f->silent)
    return (int)len;
  if (f->in_stp) {
    sqn_stp_decoder_feed(&f->dec, buf, len);
    return (int)len;
  }
  if (f->wrote_len + len < sizeof f->wrote) {
    memcpy(f->wrote + f->wrote_len, buf, len);
    f->wrote_len += len;
  }
  for (size_t i = 0; i < len; i++) {
    char c = (char)buf[i];
    if (c == '\r' || c == '\n') {
      if (f->line_len) {
        f->line[f->line_len] = '\0';
        fake_line(f, f->line);
        f->line_len = 0;
      }
    } else if (f->line_len + 1 < sizeof f->line) {
      f->line[f->line_len++] = c;
    }
  }
  return (int)len;
}

static int cb_set_baud(void *user, uint32_t baud) {
  struct fake *f = user;
  f->bauds++;
  f->baud = baud;
  return 0;
}

static int cb_read_pkg(void *user, enum sqn_update_src src, uint64_t off,
                       uint8_t *buf, size_t len) {
  struct fake *f = user;
  ck_assert_int_eq(src, SQN_UPDATE_SRC_PACKAGE);
  f->reads++;
  if (off > f->pkg_len || len > f->pkg_len - off)
    return -1;
  memcpy(buf, f->pkg + off, len);
  return (int)len;
}

static void feed_host(void *user, const uint8_t *buf, size_t len) {
  struct fake *f = user;
  sqn_update_feed(&f->u, f->now, buf, len);
}

static void fake_init(struct fake *f, enum sqn_update_mode mode, double scale,
                      const uint8_t *pkg, size_t pkg_len) {
  memset(f, 0, sizeof *f);
  f->now = 5000;
  f->smod = 4;
  f->status = "success";
  f->pkg = pkg;
  f->pkg_len = pkg_len;
  if (pkg_len) {
    f->img = malloc(pkg_len);
    ck_assert_ptr_nonnull(f->img);
  }
  struct sqn_stp_decoder_config dc = {
      .magic = SQN_STP_MAGIC_REQ, .buf = f->dbuf, .buf_cap = sizeof f->dbuf,
      .max_plen = 8192, .on_frame = fake_stp_frame, .user = f};
  ck_assert_int_eq(sqn_stp_decoder_init(&f->dec, &dc), 0);
  struct sqn_update_config c = {
      .mode = mode, .tx_buf = f->tx, .tx_cap = sizeof f->tx, .rx_buf = f->rx,
      .rx_cap = sizeof f->rx, .pkg_size = pkg_len, .timeout_scale = scale,
      .write = cb_write,
      .set_baud = cb_set_baud, .read_pkg = cb_read_pkg, .user = f,
      .checked = fake_checked};
  ck_assert_int_eq(sqn_update_init(&f->u, &c), 0);
}

/* Deliver the modem's output (per feed mode), else jump to the deadline. */
static void fake_run(struct fake *f, uint64_t limit_ms) {
  uint64_t end = f->now + limit_ms;
  while (!sqn_update_done(&f->u) && f->now < end) {
    if (f->out_len) {
      uint8_t tmp[sizeof f->out];
      size_t n = f->out_len;
      memcpy(tmp, f->out, n);
      f->out_len = 0;
      sqn_feed(f->mode, f->seed++, tmp, n, feed_host, f);
      continue;
    }
    uint64_t d = sqn_update_next_deadline(&f->u);
    ck_assert(d != SQN_UPDATE_NEVER);
    if (d > f->now)
      f->now = d;
    sqn_update_tick(&f->u, f->now);
  }
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_update_err_table_fixed_and_complete) {
  ck_assert_int_eq(SQN_E_MODEM_NOT_DETECTED, -120);
  ck_assert_int_eq(SQN_E_COMMIT_TIMEOUT, -152);
  ck_assert_str_eq(sqn_err_name(SQN_E_MODEM_NOT_DETECTED),
                   "E_MODEM_NOT_DETECTED");
  ck_assert_str_eq(sqn_err_name(0), "OK");
  ck_assert_str_eq(sqn_err_name(-9999), "E_UNKNOWN");
#define XX(name, val, cls, safe, next, text, advice)                           \
  ck_assert_str_eq(sqn_err_name(val), "E_" #name);                             \
  ck_assert_uint_gt(strlen(sqn_strerror(val)), 10);                            \
  ck_assert_uint_gt(strlen(sqn_err_advice(val)), 10);                          \
  ck_assert_int_eq(sqn_err_exit(val), SQN_EXIT_##cls);                         \
  ck_assert_int_ne(sqn_err_exit(val), 0);                                      \
  ck_assert(sqn_err_power_safe(val) == (safe));
  SQN_ERR_MAP(XX)
#undef XX
  ck_assert(!sqn_err_power_safe(SQN_E_COMMIT_TIMEOUT));
  ck_assert_int_eq(sqn_err_next(SQN_E_RECOVERY_NEEDS_UPDATER_AND_FULL_IMAGE),
                   SQN_NEXT_SUPPLY_UPDATER);
  ck_assert_int_eq(sqn_err_exit(0), SQN_EXIT_OK);
  ck_assert_str_eq(sqn_next_text(SQN_NEXT_WAIT),
                   "wait; do not cut power; rerun after the modem answers");
}
END_TEST

static char done_text[2048];
static int done_err;
static void text_event(void *user, const struct sqn_update_event *ev) {
  (void)user;
  if (ev->kind == SQN_UPDATE_EV_DONE) {
    snprintf(done_text, sizeof done_text, "%s", ev->text);
    done_err = ev->err;
  }
}
static int text_write(void *user, const uint8_t *b, size_t n) {
  (void)user;
  (void)b;
  return (int)n;
}

/* The longest text of every error code (explanation, the longest detail
 * the instance can hold, advice) reaches the DONE event whole (issue: the
 * PART2_PENDING advice was cut at character 319). */
START_TEST(test_update_every_error_text_whole) {
  static const int errs[] = {
#define XX(name, val, cls, safe, next, text, advice) val,
      SQN_ERR_MAP(XX)
#undef XX
  };
  static struct sqn_update u;
  static uint8_t tx[SQN_UPDATE_TX_MIN], rx[SQN_UPDATE_RX_MIN];
  char detail[sizeof u.detail], want[2048];
  struct sqn_update_config c;
  memset(detail, 'd', sizeof detail - 1);
  detail[sizeof detail - 1] = '\0';
  for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
    memset(&c, 0, sizeof c);
    c.mode = SQN_UPDATE_MODE_INFO;
    c.tx_buf = tx;
    c.tx_cap = sizeof tx;
    c.rx_buf = rx;
    c.rx_cap = sizeof rx;
    c.write = text_write;
    c.event = text_event;
    ck_assert_int_eq(sqn_update_init(&u, &c), 0);
    done_text[0] = '\0';
    sqn_upd_finish(&u, errs[i], "%s", detail);
    snprintf(want, sizeof want, "%s: %s: %s. %s", sqn_err_name(errs[i]),
             sqn_strerror(errs[i]), detail, sqn_err_advice(errs[i]));
    ck_assert_int_eq(done_err, errs[i]);
    ck_assert_str_eq(done_text, want);
    ck_assert_uint_lt(strlen(want), SQN_UPD_TEXT_MAX);
  }
}
END_TEST

START_TEST(test_update_init_bad_config_rejected) {
  struct sqn_update u;
  uint8_t tx[100], rx[100];
  struct sqn_update_config c;
  memset(&c, 0, sizeof c);
  ck_assert_int_eq(sqn_update_init(&u, &c), SQN_E_BAD_ARGUMENTS);
  c.tx_buf = tx;
  c.tx_cap = sizeof tx; /* too small */
  c.rx_buf = rx;
  c.rx_cap = sizeof rx;
  c.write = cb_write;
  ck_assert_int_eq(sqn_update_init(&u, &c), SQN_E_BAD_ARGUMENTS);
  ck_assert_int_eq(sqn_update_init(NULL, &c), SQN_E_BAD_ARGUMENTS);
  ck_assert_str_eq(sqn_update_state_name(SQN_UPDATE_ST_PKG_PUSH), "PKG_PUSH");
  ck_assert_str_eq(sqn_update_phase_name(SQN_UPDATE_PHASE_APPLY), "APPLY");
  ck_assert_str_eq(sqn_update_event_name(SQN_UPDATE_EV_DONE), "DONE");
}
END_TEST

START_TEST(test_update_silent_modem_not_detected_within_bound) {
  struct fake f;
  fake_init(&f, SQN_UPDATE_MODE_INFO, 0.01, NULL, 0);
  f.silent = true;
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  uint64_t t0 = f.now;
  fake_run(&f, 3600000);
  ck_assert(sqn_update_done(&f.u));
  ck_assert_int_eq(sqn_update_result(&f.u), SQN_E_MODEM_NOT_DETECTED);
  /* 5 rounds x 2 rates x (escape 3 guards + 2 probes) x 0.01 scale, and
   * the two STP rescues of the first round (one probe bound each). */
  ck_assert_uint_le(f.now - t0,
                    10 * (3 * 1100 + 2 * 1000) / 100 + 2 * 1000 / 100 + 10);
  ck_assert_uint_ge(f.bauds, 10);
  ck_assert_uint_eq(sqn_update_next_deadline(&f.u), SQN_UPDATE_NEVER);
  /* After the end nothing moves. */
  unsigned w = f.writes;
  sqn_update_tick(&f.u, f.now + 100000);
  ck_assert_uint_eq(f.writes, w);
}
END_TEST

START_TEST(test_update_tick_before_deadline_does_nothing) {
  struct fake f;
  fake_init(&f, SQN_UPDATE_MODE_INFO, 1.0, NULL, 0);
  f.silent = true;
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  /* AT goes first, at once: no guard time before a modem that answers */
  ck_assert_uint_gt(f.writes, 0);
  ck_assert_int_eq(f.u.state, SQN_UPDATE_ST_PROBE);
  uint64_t d = sqn_update_next_deadline(&f.u);
  unsigned w = f.writes;
  ck_assert_uint_gt(d, f.now);
  sqn_update_tick(&f.u, d - 1);
  ck_assert_uint_eq(f.writes, w);
  ck_assert_int_eq(f.u.state, SQN_UPDATE_ST_PROBE);
  sqn_update_tick(&f.u, d); /* silent AT: silence before +++ */
  ck_assert_int_eq(f.u.state, SQN_UPDATE_ST_ESC_GUARD);
  ck_assert_uint_eq(f.writes, w);
  d = sqn_update_next_deadline(&f.u);
  sqn_update_tick(&f.u, d - 1);
  ck_assert_uint_eq(f.writes, w);
  sqn_update_tick(&f.u, d);
  ck_assert_uint_gt(f.writes, w); /* the +++ escape after the guard */
  ck_assert_int_eq(f.u.state, SQN_UPDATE_ST_ESC_WAIT);
}
END_TEST

START_TEST(test_update_scripted_recovery_echo_bootloader_style) {
  struct fake f;
  size_t len;
  uint8_t *pkg = load("packages/lr5-5.1.1.0-38638.dup", &len);
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  f.mode = (enum sqn_feed_mode)_i;
  f.seed = 99;
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  fake_run(&f, 3600000);
  ck_assert_msg(sqn_update_result(&f.u) == 0, "%s: %s",
                sqn_err_name(sqn_update_result(&f.u)), f.u.detail);
  ck_assert_mem_hex_eq(f.img, f.img_len, pkg, len);
  ck_assert(f.u.modem.echo);
  ck_assert(strstr(f.wrote, "SMSWBOOT=3") == NULL);
  ck_assert(strstr(f.wrote, "AT+SMSWBOOT=1,1") != NULL);
  ck_assert_str_eq(f.u.modem.lr, "LR5.1.1.0-38638");
  free(f.img);
  free(pkg);
}
END_TEST

/* A run handed an earlier run's package check reads nothing before it
 * talks to the modem, and still upgrades; the checks on the findings still
 * run; findings for other files are ignored. */
START_TEST(test_update_checked_package_skips_the_walk_not_the_checks) {
  struct fake f;
  struct sqn_update_checked ck, bad;
  size_t len;
  uint8_t *pkg = load("packages/lr5-5.1.1.0-38638.dup", &len);
  fake_checked = NULL;
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  ck_assert_int_eq(sqn_update_package_checked(&f.u, &ck), SQN_E_STATE);
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  ck_assert_uint_gt(f.reads, 0); /* the walk */
  ck_assert_int_eq(sqn_update_package_checked(&f.u, &ck), 0);
  ck_assert_uint_eq(ck.pkg_size, len);
  ck_assert(ck.pkg.has_fff);
  ck_assert_int_eq(ck.pkg.family, 5);
  free(f.img);

  fake_checked = &ck;
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  ck_assert_uint_eq(f.reads, 0);
  fake_run(&f, 3600000);
  ck_assert_msg(sqn_update_result(&f.u) == 0, "%s: %s",
                sqn_err_name(sqn_update_result(&f.u)), f.u.detail);
  ck_assert_mem_hex_eq(f.img, f.img_len, pkg, len);
  free(f.img);

  /* Findings that say "part 1 of 2" are judged as such: refused. */
  bad = ck;
  bad.pkg.part = 1;
  bad.pkg.parts = 2;
  fake_checked = &bad;
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), SQN_E_PART2_MISSING);
  ck_assert_uint_eq(f.writes, 0);
  free(f.img);

  /* Findings for a file of another size: walked again. */
  bad = ck;
  bad.pkg_size = len + 1;
  fake_checked = &bad;
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  ck_assert_uint_gt(f.reads, 0);
  free(f.img);
  fake_checked = NULL;
  free(pkg);
}
END_TEST

START_TEST(test_update_scripted_fail_status_rejected_verbatim) {
  struct fake f;
  size_t len;
  uint8_t *pkg = load("packages/lr5-5.1.1.0-38638.dup", &len);
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  f.status = "fail[crc] image mismatch";
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  fake_run(&f, 3600000);
  ck_assert_int_eq(sqn_update_result(&f.u), SQN_E_UPGRADE_REJECTED);
  ck_assert(strstr(f.u.detail, "fail[crc] image mismatch") != NULL);
  ck_assert(strstr(f.wrote, "AT+SMSWBOOT=1") == NULL);
  free(f.img);
  free(pkg);
}
END_TEST

START_TEST(test_update_scripted_status_never_final_commit_timeout) {
  struct fake f;
  size_t len;
  uint8_t *pkg = load("packages/lr5-5.1.1.0-38638.dup", &len);
  fake_init(&f, SQN_UPDATE_MODE_UPGRADE, 1.0, pkg, len);
  f.status = "on-going";
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  uint64_t t0 = f.now;
  fake_run(&f, 7200000);
  ck_assert_int_eq(sqn_update_result(&f.u), SQN_E_COMMIT_TIMEOUT);
  ck_assert_uint_ge(f.now - t0, 600000);
  ck_assert_uint_le(f.now - t0, 1000000);
  ck_assert(!sqn_update_power_safe(&f.u));
  free(f.img);
  free(pkg);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static char logged[16384];
static void log_event(void *user, const struct sqn_update_event *ev) {
  (void)user;
  if (ev->kind == SQN_UPDATE_EV_LOG && ev->text &&
      strlen(logged) + strlen(ev->text) + 2 < sizeof logged) {
    strcat(logged, ev->text);
    strcat(logged, "\n");
  }
}

/* Every line of a long multi-line reply reaches the log, also past the
 * SQN_AT_INFO_MAX lines the client keeps (a long showver's tail). */
START_TEST(test_update_log_has_every_line_of_a_long_reply) {
  struct fake f;
  fake_init(&f, SQN_UPDATE_MODE_INFO, 1.0, NULL, 0);
  f.smod = 2;
  logged[0] = '\0';
  f.u.cfg.event = log_event;
  ck_assert_int_eq(sqn_update_start(&f.u, f.now), 0);
  fake_run(&f, 600000);
  ck_assert_msg(sqn_update_result(&f.u) == 0, "%s: %s\n%s",
                sqn_err_name(sqn_update_result(&f.u)), f.u.detail, logged);
  ck_assert_uint_gt(13, SQN_AT_INFO_MAX);
  static const char *const want[] = {
      "at< SYSTEM VERSION\n", "at< Bootloader0  : 5.1.1.0 [33080]\n",
      "at< ZSP1         : 1.0.99-12341\n",
      "at< RF           : 1.1.0 tail line thirteen\n", "at< OK ("};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_msg(strstr(logged, want[i]), "no '%s' in\n%s", want[i], logged);
  ck_assert_str_eq(f.u.modem.bootloader, "5.1.1.0 [33080]");
}
END_TEST

static Suite *update_suite(void) {
  Suite *s = suite_create("update");
  TCase *tc = tcase_create("scripted");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_update_err_table_fixed_and_complete);
  tcase_add_test(tc, test_update_init_bad_config_rejected);
  tcase_add_test(tc, test_update_every_error_text_whole);
  tcase_add_test(tc, test_update_silent_modem_not_detected_within_bound);
  tcase_add_test(tc, test_update_tick_before_deadline_does_nothing);
  tcase_add_loop_test(tc, test_update_scripted_recovery_echo_bootloader_style,
                      0, 3);
  tcase_add_test(tc, test_update_checked_package_skips_the_walk_not_the_checks);
  tcase_add_test(tc, test_update_scripted_fail_status_rejected_verbatim);
  tcase_add_test(tc, test_update_scripted_status_never_final_commit_timeout);
  tcase_add_test(tc, test_update_log_has_every_line_of_a_long_reply);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(update_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

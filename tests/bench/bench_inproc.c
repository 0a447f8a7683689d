/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_inproc: the updater and the emulator model linked in one process,
 * on a virtual clock (no pty, no sleeping): what the state machines and
 * codecs cost per byte when the line costs nothing.
 *
 *   push   the modem model booted from fixtures/states/interrupted-upgrade
 *          (RECOVERY), AT+SMSTPU="ON_THE_FLY", then libsqnup's STP master
 *          (stpm.h) pushes the package: RESET, OPEN, 2 x N blocks, RESET.
 *          Timed from the first RESET to the final ack.
 *   full   the whole procedure (sqn_update: pre-flight check, detection,
 *          push, status polls, SMSWBOOT=1,1, FFF boot, ATI1 verify) against
 *          the model from the same state, modem and updater delays at real
 *          values but on the virtual clock.
 *
 * Baseline: memcpy of the package in the same run; rounds interleaved
 * (memcpy, push, full, memcpy, ...), medians printed. Requirement (issue):
 * at least 200 MB/s for the 5,665,583-byte push. Each run is checked: the
 * model must report upgrade success (push) or run FFF with the package's
 * version (full).
 *
 * usage: bench_inproc [--quick] [--rounds N] [--size BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "bridge.h"
#include "sim/modem.h"
#include "sim/state_file.h"
#include "sqnup/err.h"
#include "sqnup/stpm.h"
#include "sqnup/update.h"

/* The updater (or a bare STP master) and the model on the harness's
 * bridge (bridge.h), the same drive loop as the scenarios and sweeps. */
struct bench_link {
  struct sim_modem *m;
  struct harness_bridge hb; /* the clock (hb.now_us) and the queues */
  const uint8_t *pkg;
  size_t pkg_len;
  struct sqn_stpm stpm;
  struct sqn_update u;
  uint8_t tx[8192];
  uint8_t rx[256];
};

static void bench_modem_tx(void *user, const uint8_t *buf, size_t len) {
  struct bench_link *l = user;
  harness_bridge_to_host(&l->hb, buf, len);
}

static int bench_host_write(void *user, const uint8_t *buf, size_t len) {
  struct bench_link *l = user;
  return harness_bridge_to_modem(&l->hb, buf, len) != 0 ? -1 : (int)len;
}

static int bench_host_read(void *user, uint64_t off, uint8_t *buf,
                           size_t len) {
  struct bench_link *l = user;
  if (off > l->pkg_len || len > l->pkg_len - off)
    return -1;
  memcpy(buf, l->pkg + off, len);
  return (int)len;
}

static int bench_host_read_pkg(void *user, enum sqn_update_src src,
                               uint64_t off, uint8_t *buf, size_t len) {
  if (src != SQN_UPDATE_SRC_PACKAGE)
    return -1;
  return bench_host_read(user, off, buf, len);
}

static int bench_host_set_baud(void *user, uint32_t baud) {
  struct bench_link *l = user;
  sim_modem_set_host_baud(l->m, baud);
  return 0;
}

static int bench_link_init(struct bench_link *l, const uint8_t *pkg,
                           size_t len, double scale) {
  struct sim_state st;
  char path[512], err[256];
  memset(l, 0, sizeof *l);
  l->pkg = pkg;
  l->pkg_len = len;
  snprintf(path, sizeof path, "%s/states/interrupted-upgrade.json",
           SQN_FIXTURES);
  if (sim_state_load(path, &st, err, sizeof err) != 0) {
    fprintf(stderr, "bench_inproc: %s\n", err);
    return -1;
  }
  struct sim_modem_config mc = {
      .profile = st.profile,
      .state = &st,
      .time_scale = scale,
      .tx = bench_modem_tx,
      .user = l,
  };
  l->m = sim_modem_new(&mc, 1000000);
  sim_state_release(&st);
  if (!l->m) {
    fprintf(stderr, "bench_inproc: sim_modem_new failed\n");
    return -1;
  }
  harness_bridge_init(&l->hb, l->m, 1000000);
  sim_modem_set_host_baud(l->m, 921600);
  return 0;
}

static void bench_link_free(struct bench_link *l) {
  sim_modem_free(l->m);
  harness_bridge_free(&l->hb);
}

/* Boot, then AT+SMSTPU="ON_THE_FLY" and expect OK. 0 or -1. */
static int bench_enter_stp(struct bench_link *l) {
  static const char cmd[] = "AT+SMSTPU=\"ON_THE_FLY\"\r";
  harness_bridge_settle(&l->hb, 10000000); /* RECOVERY boot: 1.5 s */
  if (sim_modem_smod(l->m) != SIM_SMOD_RECOVERY) {
    fprintf(stderr, "bench_inproc: model booted SMOD %d, expected 4\n",
            (int)sim_modem_smod(l->m));
    return -1;
  }
  sim_modem_feed(l->m, l->hb.now_us, (const uint8_t *)cmd, sizeof cmd - 1);
  harness_bridge_idle(&l->hb, 1000);
  size_t n = harness_bridge_pending_to_host(&l->hb);
  if (n < 4 || !memmem(harness_bridge_peek_to_host(&l->hb), n, "OK\r\n", 4)) {
    fprintf(stderr, "bench_inproc: no OK to AT+SMSTPU (%zu bytes)\n", n);
    return -1;
  }
  harness_bridge_drop_to_host(&l->hb);
  return 0;
}

/* One push; returns wall seconds, or < 0 on failure. */
static double bench_push(const uint8_t *pkg, size_t len) {
  struct bench_link *l = malloc(sizeof *l);
  double secs = -1;
  if (!l)
    return -1;
  if (bench_link_init(l, pkg, len, 0.0) != 0) {
    free(l);
    return -1;
  }
  if (bench_enter_stp(l) != 0)
    goto out_free_link;
  struct sqn_stpm_config sc = {
      .tx_buf = l->tx,
      .tx_cap = sizeof l->tx,
      .rx_buf = l->rx,
      .rx_cap = sizeof l->rx,
      .total = len,
      .ack_ms = 2000,
      .final_ms = 2000,
      .retries = 4,
      .write = bench_host_write,
      .read = bench_host_read,
      .user = l,
  };
  if (sqn_stpm_init(&l->stpm, &sc) != 0) {
    fprintf(stderr, "bench_inproc: sqn_stpm_init failed\n");
    goto out_free_link;
  }
  double t0 = bench_now();
  if (sqn_stpm_start(&l->stpm, l->hb.now_us / 1000) != 0)
    goto out_free_link;
  l->hb.host = &harness_bridge_sqn_stpm;
  l->hb.h = &l->stpm;
  enum harness_bridge_end end = harness_bridge_run(&l->hb, 3600ull * 1000000);
  if (end != HARNESS_BRIDGE_DONE) {
    fprintf(stderr, "bench_inproc: push ended %s in %s\n",
            harness_bridge_end_name(end), sqn_stpm_state_name(l->stpm.state));
    goto out_free_link;
  }
  double t1 = bench_now();
  if (l->stpm.result != 0 || l->stpm.acked != len || l->stpm.resends) {
    fprintf(stderr, "bench_inproc: push ended %s (%s), %llu of %zu bytes, "
            "%u resends\n", sqn_stpm_state_name(l->stpm.state),
            sqn_err_name(l->stpm.result), (unsigned long long)l->stpm.acked,
            len, l->stpm.resends);
    goto out_free_link;
  }
  harness_bridge_idle(&l->hb, 1000);
  const struct sim_state *st = sim_modem_state(l->m);
  if (strcmp(st->upgrade_status, "success") != 0) {
    fprintf(stderr, "bench_inproc: model upgrade status \"%s\" %s\n",
            st->upgrade_status, st->fail_reason);
    goto out_free_link;
  }
  secs = t1 - t0;

out_free_link:
  bench_link_free(l);
  free(l);
  return secs;
}

/* One full procedure; wall seconds or < 0; *virt_s gets modem seconds. */
static double bench_full(const uint8_t *pkg, size_t len, double *virt_s) {
  struct bench_link *l = malloc(sizeof *l);
  double secs = -1;
  if (!l)
    return -1;
  if (bench_link_init(l, pkg, len, 1.0) != 0) {
    free(l);
    return -1;
  }
  struct sqn_update_config c = {
      .mode = SQN_UPDATE_MODE_UPGRADE,
      .tx_buf = l->tx,
      .tx_cap = sizeof l->tx,
      .rx_buf = l->rx,
      .rx_cap = sizeof l->rx,
      .pkg_size = len,
      .timeout_scale = 1.0,
      .write = bench_host_write,
      .set_baud = bench_host_set_baud,
      .read_pkg = bench_host_read_pkg,
      .user = l,
  };
  if (sqn_update_init(&l->u, &c) != 0) {
    fprintf(stderr, "bench_inproc: sqn_update_init failed\n");
    goto out_free_link;
  }
  uint64_t v0 = l->hb.now_us;
  double t0 = bench_now();
  if (sqn_update_start(&l->u, l->hb.now_us / 1000) != 0) {
    fprintf(stderr, "bench_inproc: sqn_update_start: %s: %s\n",
            sqn_err_name(sqn_update_result(&l->u)), l->u.detail);
    goto out_free_link;
  }
  /* Bound: two modem-hours of virtual time. */
  l->hb.host = &harness_bridge_sqn_update;
  l->hb.h = &l->u;
  enum harness_bridge_end end = harness_bridge_run(&l->hb, 7200ull * 1000000);
  if (end == HARNESS_BRIDGE_STUCK || end == HARNESS_BRIDGE_OOM) {
    fprintf(stderr, "bench_inproc: full run %s in %s\n",
            harness_bridge_end_name(end), sqn_update_state_name(l->u.state));
    goto out_free_link;
  }
  double t1 = bench_now();
  if (!sqn_update_done(&l->u) || sqn_update_result(&l->u) != 0) {
    fprintf(stderr, "bench_inproc: full run ended in %s: %s: %s\n",
            sqn_update_state_name(l->u.state),
            sqn_err_name(sqn_update_result(&l->u)), l->u.detail);
    goto out_free_link;
  }
  const struct sim_state *st = sim_modem_state(l->m);
  if (sim_modem_smod(l->m) != SIM_SMOD_FFF || !st->fff.valid ||
      strcmp(st->fff.version, BENCH_PKG_VERSION) != 0 ||
      st->fff.build != BENCH_PKG_BUILD) {
    fprintf(stderr, "bench_inproc: model runs SMOD %d fff %s-%u valid %d\n",
            (int)sim_modem_smod(l->m), st->fff.version,
            (unsigned)st->fff.build, (int)st->fff.valid);
    goto out_free_link;
  }
  *virt_s = (double)(l->hb.now_us - v0) / 1e6;
  secs = t1 - t0;

out_free_link:
  bench_link_free(l);
  free(l);
  return secs;
}

int main(int argc, char **argv) {
  struct bench_opts o = {.rounds = BENCH_DEFAULT_ROUNDS,
                         .size = BENCH_PKG_SIZE};
  double tm[BENCH_MAX_ROUNDS], tp[BENCH_MAX_ROUNDS], tf[BENCH_MAX_ROUNDS];
  double virt = 0;
  size_t len = 0;
  int rc = 1;

  int i = bench_parse_opts(&o, argc, argv, 1);
  if (i < 0)
    return 2;
  if (i < argc) {
    fprintf(stderr,
            "usage: bench_inproc [--quick] [--rounds N] [--size BYTES]\n");
    return 2;
  }
  if (o.quick) {
    o.size = 64 * 1024;
    o.rounds = 1;
  }
  uint8_t *pkg = bench_make_pkg(o.size, &len);
  if (!pkg)
    return 1;

  bench_print_machine();
  printf("package: %zu bytes (LR5 %s [%u]), modem model from "
         "interrupted-upgrade (RECOVERY), %d round(s)\n",
         len, BENCH_PKG_VERSION, BENCH_PKG_BUILD, o.rounds);

  for (int r = 0; r < o.rounds; r++) {
    tm[r] = bench_memcpy_secs(pkg, len, 1);
    tp[r] = bench_push(pkg, len);
    tf[r] = bench_full(pkg, len, &virt);
    if (tp[r] < 0 || tf[r] < 0)
      goto out_free_pkg;
  }
  double v[BENCH_MAX_ROUNDS];
  memcpy(v, tm, sizeof(double) * (size_t)o.rounds);
  double m = bench_median(v, o.rounds);
  memcpy(v, tp, sizeof(double) * (size_t)o.rounds);
  double p = bench_median(v, o.rounds);
  memcpy(v, tf, sizeof(double) * (size_t)o.rounds);
  double f = bench_median(v, o.rounds);

  bench_header_rounds("in-process updater <-> modem model, virtual clock "
                      "(time/base = time / memcpy of the package)");
  bench_row_rounds("memcpy of the package (baseline)", (double)len, tm,
                   o.rounds, m);
  bench_row_rounds("STP push (stpm <-> sim_model)", (double)len, tp, o.rounds,
                   m);
  bench_row_rounds("full procedure (sqn_update)", (double)len, tf, o.rounds,
                   m);
  printf("full procedure covers %.1f s of modem time (virtual clock)\n",
         virt);
  /* The requirement is about the genuine size; smaller runs only report. */
  if (len >= BENCH_PKG_SIZE) {
    bench_require("in-process push MB/s", (double)len / p / 1e6, ">=", 200);
    bench_require("in-process full procedure MB/s", (double)len / f / 1e6,
                  ">=", 200);
  }
  rc = 0;

out_free_pkg:
  free(pkg);
  return rc;
}

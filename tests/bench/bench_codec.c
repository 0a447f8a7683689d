/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_codec: throughput of the codecs over a genuine-layout package.
 *
 *   sqn_crc16, sqn_fletcher32, sqn_crc32   one pass over the package
 *   STP decoder                            the package as BLOCK frames of
 *                                          8192 bytes (16 + 8176), fed in
 *                                          4 KiB reads as from a tty
 *   CABA walker                            the package fed in 8176-byte
 *                                          blocks, as the modem gets it
 *
 * Baseline: a read-only pass over the same bytes in the same run (a
 * checksum reads its input once and writes nothing; memcpy, which also
 * writes, is shown as a row for reference). Rounds are interleaved (read,
 * memcpy, crc16, ..., walker; read, ...); each row prints the median, the
 * spread, every round, and the ratio to the read-only pass. Every pass is
 * checked (checksum against the portable code, frame count, no drop, walk
 * result), so a broken codec cannot look fast.
 *
 * Requirement (issue 15): sqn_crc16 and sqn_fletcher32 at >= 8 GB/s each
 * at the median of the rounds on the cache-resident 5.6 MB package.
 *
 * usage: bench_codec [--quick] [--rounds N] [--size BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "sqnup/caba.h"
#include "sqnup/crc.h"
#include "sqnup/stp.h"

#define BENCH_READ 4096u

static volatile uint32_t bench_sink_u32;
static volatile uint64_t bench_sink_u64;

struct bench_stp_count {
  uint32_t frames;
  uint64_t payload;
};

static void bench_stp_frame(void *user, const struct sqn_stp_frame *f) {
  struct bench_stp_count *c = user;
  c->frames++;
  c->payload += f->hdr.plen;
}

static int bench_caba_event(void *user, enum sqn_caba_event ev,
                            const struct sqn_caba_record *rec,
                            const uint8_t *data, size_t len) {
  (void)rec;
  (void)data;
  if (ev == SQN_CABA_EV_DATA)
    *(uint64_t *)user += len;
  return 0;
}

/* The package as consecutive BLOCK frames; malloc'd. */
static uint8_t *bench_stp_stream(const uint8_t *pkg, size_t len,
                                 size_t *out_len, uint32_t *frames) {
  size_t n = (len + BENCH_BLOCK - 1) / BENCH_BLOCK;
  size_t cap = len + n * SQN_STP_HDR_LEN;
  uint8_t *s = malloc(cap ? cap : 1);
  size_t pos = 0;
  if (!s)
    return NULL;
  for (size_t off = 0, tid = 3; off < len; off += BENCH_BLOCK, tid += 2) {
    uint16_t l = (uint16_t)(len - off < BENCH_BLOCK ? len - off : BENCH_BLOCK);
    size_t w = sqn_stp_encode(s + pos, cap - pos, SQN_STP_MAGIC_REQ,
                              SQN_STP_OP_BLOCK, 1, (uint32_t)tid, pkg + off, l,
                              0);
    if (w != SQN_STP_HDR_LEN + l) {
      free(s);
      return NULL;
    }
    pos += w;
  }
  *out_len = pos;
  *frames = (uint32_t)n;
  return s;
}

enum { B_READ, B_MEMCPY, B_CRC16, B_FLETCHER, B_CRC32, B_STP, B_CABA, B_COUNT };

static const char *const bench_names[B_COUNT] = {
    "read-only pass (baseline)", "memcpy", "sqn_crc16", "sqn_fletcher32",
    "sqn_crc32",         "STP decoder (8 KiB frames)", "CABA walker (8176 B feeds)"};

int main(int argc, char **argv) {
  struct bench_opts o = {.rounds = BENCH_DEFAULT_ROUNDS, .size = BENCH_PKG_SIZE};
  double t[B_COUNT][BENCH_MAX_ROUNDS];
  double med[B_COUNT];
  uint8_t stp_buf[SQN_STP_HDR_LEN + BENCH_BLOCK];
  size_t pkg_len = 0, stream_len = 0;
  uint32_t want_frames = 0;
  int rc = 1;

  int i = bench_parse_opts(&o, argc, argv, 1);
  if (i < 0)
    return 2;
  if (i < argc) {
    fprintf(stderr, "usage: bench_codec [--quick] [--rounds N] [--size BYTES]\n");
    return 2;
  }
  if (o.quick) {
    o.size = 64 * 1024;
    o.rounds = 1;
  }

  uint8_t *pkg = bench_make_pkg(o.size, &pkg_len);
  if (!pkg)
    return 1;
  uint8_t *dst = malloc(pkg_len);
  uint8_t *stream = bench_stp_stream(pkg, pkg_len, &stream_len, &want_frames);
  if (!dst || !stream) {
    fprintf(stderr, "bench_codec: out of memory\n");
    goto out_free;
  }
  memset(dst, 0, pkg_len);

  bench_print_machine();
  printf("package: %zu bytes (LR5 %s [%u], PACK + 4 UPGR), %d round(s)\n",
         pkg_len, BENCH_PKG_VERSION, BENCH_PKG_BUILD, o.rounds);

  /* The checksums the fast paths must reproduce. */
  uint16_t want_crc16 = sqn_crc16_portable(0, pkg, pkg_len);
  struct sqn_fletcher wf;
  sqn_fletcher_init(&wf);
  sqn_fletcher_update_portable(&wf, pkg, pkg_len);
  uint32_t want_fletcher = sqn_fletcher_final(&wf);
  /* Warm the caches and the page tables once. */
  bench_sink_u64 = bench_read_pass(pkg, pkg_len);
  memcpy(dst, pkg, pkg_len);

  for (int r = 0; r < o.rounds; r++) {
    double t0;
    uint32_t got;

    t0 = bench_now();
    bench_sink_u64 = bench_read_pass(pkg, pkg_len);
    t[B_READ][r] = bench_now() - t0;

    t0 = bench_now();
    memcpy(dst, pkg, pkg_len);
    __asm__ volatile("" : : "r"(dst) : "memory");
    t[B_MEMCPY][r] = bench_now() - t0;

    t0 = bench_now();
    got = sqn_crc16(0, pkg, pkg_len);
    t[B_CRC16][r] = bench_now() - t0;
    if (got != want_crc16) {
      fprintf(stderr, "bench_codec: sqn_crc16 0x%04X, portable 0x%04X\n",
              (unsigned)got, (unsigned)want_crc16);
      goto out_free;
    }

    t0 = bench_now();
    got = sqn_fletcher32(pkg, pkg_len);
    t[B_FLETCHER][r] = bench_now() - t0;
    if (got != want_fletcher) {
      fprintf(stderr, "bench_codec: sqn_fletcher32 0x%08X, portable 0x%08X\n",
              (unsigned)got, (unsigned)want_fletcher);
      goto out_free;
    }

    t0 = bench_now();
    bench_sink_u32 = sqn_crc32(0, pkg, pkg_len);
    t[B_CRC32][r] = bench_now() - t0;

    {
      struct sqn_stp_decoder d;
      struct bench_stp_count c = {0};
      struct sqn_stp_decoder_config dc = {
          .magic = SQN_STP_MAGIC_REQ,
          .buf = stp_buf,
          .buf_cap = sizeof stp_buf,
          .max_plen = BENCH_BLOCK,
          .on_frame = bench_stp_frame,
          .user = &c,
      };
      t0 = bench_now();
      if (sqn_stp_decoder_init(&d, &dc) != 0) {
        fprintf(stderr, "bench_codec: STP decoder init failed\n");
        goto out_free;
      }
      for (size_t off = 0; off < stream_len; off += BENCH_READ)
        sqn_stp_decoder_feed(&d, stream + off,
                             stream_len - off < BENCH_READ ? stream_len - off
                                                           : BENCH_READ);
      sqn_stp_decoder_flush(&d);
      t[B_STP][r] = bench_now() - t0;
      if (c.frames != want_frames || c.payload != pkg_len) {
        fprintf(stderr,
                "bench_codec: STP decoder delivered %u frames / %llu bytes, "
                "expected %u / %zu\n",
                c.frames, (unsigned long long)c.payload, want_frames, pkg_len);
        goto out_free;
      }
    }

    {
      struct sqn_caba_walker w;
      uint64_t data = 0;
      int wrc = 0;
      t0 = bench_now();
      sqn_caba_walker_init(&w, bench_caba_event, &data);
      for (size_t off = 0; off < pkg_len && wrc == 0; off += BENCH_BLOCK)
        wrc = sqn_caba_walker_feed(&w, pkg + off,
                                   pkg_len - off < BENCH_BLOCK ? pkg_len - off
                                                               : BENCH_BLOCK);
      if (wrc == 0)
        wrc = sqn_caba_walker_finish(&w);
      t[B_CABA][r] = bench_now() - t0;
      if (wrc != 0 || data == 0) {
        fprintf(stderr,
                "bench_codec: CABA walk failed at byte %llu: %s\n",
                (unsigned long long)w.err_offset, sqn_caba_strerror(wrc));
        goto out_free;
      }
    }
  }

  for (int b = 0; b < B_COUNT; b++) {
    double v[BENCH_MAX_ROUNDS];
    memcpy(v, t[b], sizeof(double) * (size_t)o.rounds);
    med[b] = bench_median(v, o.rounds);
  }

  bench_header_rounds("codec throughput (median of the rounds, spread "
                      "min-max; time/base = time / read-only pass over the "
                      "same bytes)");
  for (int b = 0; b < B_COUNT; b++) {
    double bytes = b == B_STP ? (double)stream_len : (double)pkg_len;
    double base = med[B_READ] * bytes / (double)pkg_len;
    bench_row_rounds(bench_names[b], bytes, t[b], o.rounds, base);
  }
  printf("\n");
  bool ok = true;
  ok &= bench_require("sqn_crc16 GB/s (median)",
                      (double)pkg_len / med[B_CRC16] / 1e9, ">=", 8);
  ok &= bench_require("sqn_fletcher32 GB/s (median)",
                      (double)pkg_len / med[B_FLETCHER] / 1e9, ">=", 8);
  (void)ok; /* figures, not a test: the exit status says the run worked */
  rc = 0;

out_free:
  free(stream);
  free(dst);
  free(pkg);
  return rc;
}

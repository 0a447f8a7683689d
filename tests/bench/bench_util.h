/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the benchmarks (tests/bench): a monotonic clock, medians,
 * the synthetic package every benchmark pushes, the memcpy baseline and the
 * table printer.
 *
 * Why ratios: the machine is shared and noisy, so an absolute MB/s says
 * little on its own. Every benchmark measures a baseline in the same run
 * (memcpy of the same bytes, or a plain pty ping-pong with the same frame
 * sizes), interleaves baseline and measured rounds so that noise hits both,
 * and prints the median of each together with their ratio.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The size of a genuine LR5 .dup (CATM1-38638), the workload of the issue. */
#define BENCH_PKG_SIZE 5665583u
/* STP max transfer granted by FFF/RECOVERY, and the data per BLOCK. */
#define BENCH_MTS 8192u
#define BENCH_BLOCK (BENCH_MTS - 16u)
#define BENCH_MAX_ROUNDS 64
/* Interleaved rounds by default: a requirement holds at the median of 9. */
#define BENCH_DEFAULT_ROUNDS 9

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);
/* Median of v[0..n) (sorts v in place); 0 for n == 0. */
double bench_median(double *v, int n);

/* Common command line: --quick, --rounds N, --size BYTES. */
struct bench_opts {
  bool quick;      /* tiny sizes for the ctest smoke run */
  int rounds;      /* interleaved rounds (medians are reported) */
  uint64_t size;   /* package size in bytes */
};

/*
 * Parse the common options into `o` (defaults: rounds, size given).
 * Unknown options are left to the caller: returns the index of the first
 * argument not understood, or -1 (with a message on stderr) on a bad value.
 */
int bench_parse_opts(struct bench_opts *o, int argc, char **argv, int i);

/*
 * Build a synthetic LR5 package (version 5.2.0.0 [48829], the genuine
 * layout: PACK + bootrom, updater, fff, fs) of exactly `size` bytes into a
 * malloc'd buffer. NULL with a message on stderr on failure.
 */
uint8_t *bench_make_pkg(uint64_t size, size_t *len);
#define BENCH_PKG_VERSION "5.2.0.0"
#define BENCH_PKG_BUILD 48829u

/* Write a whole buffer to a new file; 0 or -1 with a message on stderr. */
int bench_write_file(const char *path, const void *buf, size_t len);

/*
 * The read-only baseline: one pass that loads every byte of p[0..len) (16
 * bytes per load, four independent XOR chains) and returns their XOR, so
 * the compiler cannot drop it. A checksum reads its input once and writes
 * nothing, so this, not memcpy, is the floor it is compared with.
 */
uint64_t bench_read_pass(const uint8_t *p, size_t len);

/* Seconds one memcpy of `len` bytes takes (median of `reps` copies). */
double bench_memcpy_secs(const uint8_t *src, size_t len, int reps);

/* Table output. */
void bench_header(const char *title);
/* One row: name, bytes processed, median seconds, baseline seconds. */
void bench_row(const char *name, double bytes, double secs, double base_secs);
/*
 * One row from the rounds t[0..n) (not modified): median, spread (min-max),
 * MB/s at the median and median / base_secs; then, indented, every round in
 * ms in the order run.
 */
void bench_row_rounds(const char *name, double bytes, const double *t, int n,
                      double base_secs);
/* Header matching bench_row_rounds. */
void bench_header_rounds(const char *title);
/* A requirement verdict line: "REQ <what>: <value> <op> <limit> PASS|FAIL". */
bool bench_require(const char *what, double value, const char *op,
                   double limit);

/* Machine and date line (nproc, CPU model, UTC date) for the report. */
void bench_print_machine(void);

#endif /* BENCH_UTIL_H */

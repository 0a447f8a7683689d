/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the benchmarks; see bench_util.h.
 */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sqnup/pkg.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
  if (n <= 0)
    return 0;
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench_parse_u64(const char *opt, const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s ? s : "", &end, 0);
  if (!s || !*s || *end || errno || s[0] == '-') {
    fprintf(stderr, "%s: expected a positive number, got \"%s\"\n", opt,
            s ? s : "");
    return -1;
  }
  *out = v;
  return 0;
}

int bench_parse_opts(struct bench_opts *o, int argc, char **argv, int i) {
  for (; i < argc; i++) {
    uint64_t v;
    if (!strcmp(argv[i], "--quick")) {
      o->quick = true;
    } else if (!strcmp(argv[i], "--rounds")) {
      if (bench_parse_u64("--rounds", i + 1 < argc ? argv[i + 1] : NULL, &v))
        return -1;
      if (v < 1 || v > BENCH_MAX_ROUNDS) {
        fprintf(stderr, "--rounds: 1..%d\n", BENCH_MAX_ROUNDS);
        return -1;
      }
      o->rounds = (int)v;
      i++;
    } else if (!strcmp(argv[i], "--size")) {
      if (bench_parse_u64("--size", i + 1 < argc ? argv[i + 1] : NULL, &v))
        return -1;
      o->size = v;
      i++;
    } else {
      return i;
    }
  }
  return argc;
}

struct bench_sink {
  uint8_t *buf;
  size_t len, cap;
};

static int bench_sink_write(void *user, const void *buf, size_t len) {
  struct bench_sink *s = user;
  if (len > s->cap - s->len)
    return -1;
  memcpy(s->buf + s->len, buf, len);
  s->len += len;
  return 0;
}

uint8_t *bench_make_pkg(uint64_t size, size_t *len) {
  struct sqn_pkg_opts o;
  struct sqn_pkg_layout lay;
  struct bench_sink s = {0};
  int rc;

  if (sqn_pkg_opts_init(&o, SQN_PKG_FAMILY_LR5) != 0)
    return NULL;
  if (sqn_version_parse(&o.version, BENCH_PKG_VERSION " [48829]") != 0)
    return NULL;
  o.size = size;
  rc = sqn_pkg_layout(&o, &lay);
  if (rc != 0) {
    fprintf(stderr, "package of %llu bytes: %s (minimum %llu)\n",
            (unsigned long long)size, sqn_pkg_strerror(rc),
            (unsigned long long)lay.min_total);
    return NULL;
  }
  s.cap = (size_t)lay.total;
  s.buf = malloc(s.cap ? s.cap : 1);
  if (!s.buf) {
    fprintf(stderr, "package of %llu bytes: out of memory\n",
            (unsigned long long)size);
    return NULL;
  }
  rc = sqn_pkg_build(&o, bench_sink_write, &s);
  if (rc != 0 || s.len != s.cap) {
    fprintf(stderr, "package of %llu bytes: %s (%zu bytes written)\n",
            (unsigned long long)size, sqn_pkg_strerror(rc), s.len);
    free(s.buf);
    return NULL;
  }
  *len = s.len;
  return s.buf;
}

int bench_write_file(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  if (fwrite(buf, 1, len, f) != len) {
    fprintf(stderr, "%s: write: %s\n", path, strerror(errno));
    fclose(f);
    return -1;
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "%s: close: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

uint64_t bench_read_pass(const uint8_t *p, size_t len) {
  typedef uint64_t bench_v2 __attribute__((vector_size(16)));
  bench_v2 a = {0, 0}, b = a, c = a, d = a, x;
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    memcpy(&x, p + i, 16);
    a ^= x;
    memcpy(&x, p + i + 16, 16);
    b ^= x;
    memcpy(&x, p + i + 32, 16);
    c ^= x;
    memcpy(&x, p + i + 48, 16);
    d ^= x;
  }
  a ^= b ^ c ^ d;
  uint64_t r = a[0] ^ a[1];
  for (; i < len; i++)
    r ^= p[i];
  return r;
}

double bench_memcpy_secs(const uint8_t *src, size_t len, int reps) {
  double t[BENCH_MAX_ROUNDS];
  uint8_t *dst = malloc(len ? len : 1);
  if (!dst)
    return 0;
  if (reps > BENCH_MAX_ROUNDS)
    reps = BENCH_MAX_ROUNDS;
  /* Touch the destination first so that page faults are not measured. */
  memset(dst, 0, len);
  for (int i = 0; i < reps; i++) {
    double t0 = bench_now();
    memcpy(dst, src, len);
    /* Keep the copy observable so the compiler cannot drop it. */
    __asm__ volatile("" : : "r"(dst) : "memory");
    t[i] = bench_now() - t0;
  }
  free(dst);
  return bench_median(t, reps);
}

void bench_header(const char *title) {
  printf("\n== %s\n", title);
  printf("%-34s %12s %11s %10s %10s\n", "what", "bytes", "median ms", "MB/s",
         "time/base");
}

void bench_row(const char *name, double bytes, double secs, double base_secs) {
  double mbs = secs > 0 ? bytes / secs / 1e6 : 0;
  double ratio = base_secs > 0 ? secs / base_secs : 0;
  printf("%-34s %12.0f %11.3f %10.1f %9.2fx\n", name, bytes, secs * 1e3, mbs,
         ratio);
}

void bench_header_rounds(const char *title) {
  printf("\n== %s\n", title);
  printf("%-34s %12s %10s %19s %10s %10s\n", "what", "bytes", "median ms",
         "spread ms", "MB/s", "time/base");
}

void bench_row_rounds(const char *name, double bytes, const double *t, int n,
                      double base_secs) {
  double v[BENCH_MAX_ROUNDS];
  if (n > BENCH_MAX_ROUNDS)
    n = BENCH_MAX_ROUNDS;
  memcpy(v, t, sizeof(double) * (size_t)n);
  double med = bench_median(v, n); /* sorts v */
  double mbs = med > 0 ? bytes / med / 1e6 : 0;
  double ratio = base_secs > 0 ? med / base_secs : 0;
  char spread[40];
  snprintf(spread, sizeof spread, "%.3f-%.3f", n ? v[0] * 1e3 : 0,
           n ? v[n - 1] * 1e3 : 0);
  printf("%-34s %12.0f %10.3f %19s %10.1f %9.2fx\n", name, bytes, med * 1e3,
         spread, mbs, ratio);
  printf("    rounds ms:");
  for (int i = 0; i < n; i++)
    printf(" %.3f", t[i] * 1e3);
  printf("\n");
}

bool bench_require(const char *what, double value, const char *op,
                   double limit) {
  bool ok = strcmp(op, "<=") == 0 ? value <= limit : value >= limit;
  printf("REQ %-40s %8.2f %s %-8.2f %s\n", what, value, op, limit,
         ok ? "PASS" : "FAIL");
  return ok;
}

void bench_print_machine(void) {
  char model[128] = "unknown";
  char line[256];
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      if (!strncmp(line, "model name", 10)) {
        char *p = strchr(line, ':');
        if (p) {
          p++;
          while (*p == ' ' || *p == '\t')
            p++;
          p[strcspn(p, "\n")] = '\0';
          snprintf(model, sizeof model, "%s", p);
        }
        break;
      }
    }
    fclose(f);
  }
  time_t now = time(NULL);
  struct tm tm;
  char date[32] = "?";
  if (gmtime_r(&now, &tm))
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
  printf("machine: %ld CPU(s), %s; %s\n", sysconf(_SC_NPROCESSORS_ONLN), model,
         date);
}

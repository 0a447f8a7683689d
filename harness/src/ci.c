/* SPDX-License-Identifier: Apache-2.0 */
/* Shards from the CI environment and the JUnit merge (ci.h). */
#include "ci.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* --- shard from the environment ------------------------------------------- */

/* A whole decimal number in [lo, hi]; -1 otherwise. */
static int harness_env_num(const char *v, unsigned long lo, unsigned long hi,
                           unsigned long *out) {
  char *end;
  if (!v || !*v || *v == '-' || *v == '+')
    return -1;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (errno || *end || n < lo || n > hi)
    return -1;
  *out = n;
  return 0;
}

int harness_shard_from_env(const char *(*get)(const char *name),
                           struct harness_shard *out, const char **source,
                           char *err, size_t cap) {
  static const struct {
    const char *index, *total, *source;
    unsigned base; /* value of the first shard's index */
  } engines[] = {
      {"SQN_SHARD_INDEX", "SQN_SHARD_TOTAL", "SQN_SHARD_INDEX/SQN_SHARD_TOTAL",
       1},
      {"CI_NODE_INDEX", "CI_NODE_TOTAL", "CI_NODE_INDEX/CI_NODE_TOTAL (GitLab)",
       1},
      {"JOB_COMPLETION_INDEX", "SQN_SHARD_TOTAL",
       "JOB_COMPLETION_INDEX/SQN_SHARD_TOTAL (Kubernetes)", 0},
  };
  for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
    const char *iv = get(engines[i].index);
    if (!iv || !*iv)
      continue;
    const char *tv = get(engines[i].total);
    unsigned long m, k;
    if (!tv || !*tv) {
      snprintf(err, cap, "%s=%s is set but %s is not (the number of shards)",
               engines[i].index, iv, engines[i].total);
      return -1;
    }
    if (harness_env_num(tv, 1, 100000, &m) != 0) {
      snprintf(err, cap, "%s=%s: expected a number of shards from 1 to 100000",
               engines[i].total, tv);
      return -1;
    }
    if (harness_env_num(iv, engines[i].base, m - 1 + engines[i].base, &k) !=
        0) {
      snprintf(err, cap, "%s=%s: expected a shard index from %u to %lu "
               "(%s=%lu)", engines[i].index, iv, engines[i].base,
               m - 1 + engines[i].base, engines[i].total, m);
      return -1;
    }
    out->k = (unsigned)(k - engines[i].base + 1);
    out->m = (unsigned)m;
    if (source)
      *source = engines[i].source;
    return 1;
  }
  return 0;
}

/* --- JUnit merge ------------------------------------------------------------ */

struct harness_family {
  char *name; /* suite name, its "shard K/M" written "shard * /M" */
  unsigned m;
  unsigned char *seen; /* m flags */
  const char **file;   /* where each shard came from */
};

struct harness_merge {
  struct harness_family *fam;
  size_t nfam;
  FILE *body;
  struct harness_merge_stats *st;
  char *err;
  size_t cap;
};

static char *harness_slurp(const char *path, size_t *len, char *err,
                           size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  size_t n = 0, alloc = 65536;
  char *buf = malloc(alloc + 1);
  while (buf) {
    size_t r = fread(buf + n, 1, alloc - n, f);
    n += r;
    if (n < alloc)
      break;
    alloc *= 2;
    char *nb = realloc(buf, alloc + 1);
    if (!nb)
      free(buf);
    buf = nb;
  }
  if (!buf || ferror(f)) {
    snprintf(err, cap, "%s: cannot read: %s", path,
             buf ? strerror(errno) : "out of memory");
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* The value of attribute `attr` in the start tag [tag, end); NULL if absent.
 * Copies at most cap-1 bytes to out. */
static const char *harness_attr(const char *tag, const char *end,
                                const char *attr, char *out, size_t cap) {
  size_t al = strlen(attr);
  for (const char *p = tag; p + al + 2 < end; p++) {
    if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '\r') &&
        !strncmp(p, attr, al) && p[al] == '=' &&
        (p[al + 1] == '"' || p[al + 1] == '\'')) {
      char q = p[al + 1];
      const char *v = p + al + 2, *ve = memchr(v, q, (size_t)(end - v));
      if (!ve)
        return NULL;
      size_t n = (size_t)(ve - v) < cap - 1 ? (size_t)(ve - v) : cap - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
  }
  return NULL;
}

/* Occurrences of `needle` in [p, end). */
static unsigned long long harness_count(const char *p, const char *end,
                                        const char *needle) {
  unsigned long long n = 0;
  size_t nl = strlen(needle);
  while (p && p + nl <= end && (p = strstr(p, needle)) && p + nl <= end) {
    n++;
    p += nl;
  }
  return n;
}

/* Record "shard K/M" of a suite name; -1 (with err) on a duplicate. */
static int harness_merge_shard(struct harness_merge *mg, const char *name,
                               const char *file) {
  const char *s = strstr(name, "shard ");
  if (!s)
    return 0;
  char *end;
  unsigned long k = strtoul(s + 6, &end, 10);
  if (end == s + 6 || *end != '/')
    return 0;
  const char *mp = end + 1;
  unsigned long m = strtoul(mp, &end, 10);
  if (end == mp || k < 1 || m < 1 || k > m || m > 100000)
    return 0;
  char fam[512];
  snprintf(fam, sizeof(fam), "%.*s*/%lu%s", (int)(s + 6 - name), name, m, end);
  struct harness_family *f = NULL;
  for (size_t i = 0; i < mg->nfam; i++)
    if (!strcmp(mg->fam[i].name, fam))
      f = &mg->fam[i];
  if (!f) {
    struct harness_family *nf =
        realloc(mg->fam, (mg->nfam + 1) * sizeof(*mg->fam));
    if (!nf)
      goto oom;
    mg->fam = nf;
    f = &mg->fam[mg->nfam];
    memset(f, 0, sizeof(*f));
    f->name = strdup(fam);
    f->m = (unsigned)m;
    f->seen = calloc(m, 1);
    f->file = calloc(m, sizeof(*f->file));
    mg->nfam++;
    if (!f->name || !f->seen || !f->file)
      goto oom;
  }
  if (f->seen[k - 1]) {
    snprintf(mg->err, mg->cap, "%s: suite '%s' is also in %s (the same "
             "shard twice)", file, name, f->file[k - 1]);
    return -1;
  }
  f->seen[k - 1] = 1;
  f->file[k - 1] = file;
  return 0;
oom:
  snprintf(mg->err, mg->cap, "out of memory");
  return -1;
}

static int harness_merge_file(struct harness_merge *mg, const char *path) {
  size_t len;
  char *buf = harness_slurp(path, &len, mg->err, mg->cap);
  if (!buf)
    return -1;
  int rc = -1;
  if (strlen(buf) != len) {
    snprintf(mg->err, mg->cap, "%s: byte %zu: NUL byte in an XML file", path,
             strlen(buf));
    goto out;
  }
  unsigned found = 0;
  const char *p = buf, *end = buf + len;
  while ((p = strstr(p, "<testsuite"))) {
    char c = p[10];
    if (c == 's') { /* <testsuites> */
      p += 11;
      continue;
    }
    if (c != ' ' && c != '>' && c != '/' && c != '\t' && c != '\n' &&
        c != '\r') {
      p += 10;
      continue;
    }
    const char *tag_end = strchr(p, '>');
    if (!tag_end) {
      snprintf(mg->err, mg->cap, "%s: byte %zu: <testsuite> tag not closed",
               path, (size_t)(p - buf));
      goto out;
    }
    bool empty = tag_end[-1] == '/';
    const char *close = empty ? tag_end + 1 : strstr(tag_end, "</testsuite>");
    if (!close) {
      snprintf(mg->err, mg->cap, "%s: byte %zu: <testsuite> has no "
               "</testsuite>", path, (size_t)(p - buf));
      goto out;
    }
    const char *suite_end = empty ? close : close + 12;
    char v[512], name[512];
    if (!harness_attr(p + 10, tag_end, "name", name, sizeof(name)))
      snprintf(name, sizeof(name), "%s", "");
    struct harness_merge_stats *st = mg->st;
    st->tests += harness_attr(p + 10, tag_end, "tests", v, sizeof(v))
                     ? strtoull(v, NULL, 10)
                     : harness_count(tag_end, close, "<testcase");
    st->failures += harness_attr(p + 10, tag_end, "failures", v, sizeof(v))
                        ? strtoull(v, NULL, 10)
                        : harness_count(tag_end, close, "<failure");
    st->errors += harness_attr(p + 10, tag_end, "errors", v, sizeof(v))
                      ? strtoull(v, NULL, 10)
                      : harness_count(tag_end, close, "<error");
    st->skipped += harness_attr(p + 10, tag_end, "skipped", v, sizeof(v))
                       ? strtoull(v, NULL, 10)
                       : harness_count(tag_end, close, "<skipped");
    if (harness_attr(p + 10, tag_end, "time", v, sizeof(v)))
      st->time_s += strtod(v, NULL);
    if (harness_merge_shard(mg, name, path) != 0)
      goto out;
    fwrite(p, 1, (size_t)(suite_end - p), mg->body);
    fputc('\n', mg->body);
    st->suites++;
    found++;
    p = suite_end;
    if (p > end)
      break;
  }
  if (!found) {
    snprintf(mg->err, mg->cap, "%s: no <testsuite> element (not a JUnit "
             "XML file?)", path);
    goto out;
  }
  mg->st->files++;
  rc = 0;
out:
  free(buf);
  return rc;
}

int harness_junit_merge(const char *const *files, int nfiles, FILE *out,
                        FILE *report, struct harness_merge_stats *st,
                        char *err, size_t cap) {
  struct harness_merge mg = {.st = st, .err = err, .cap = cap};
  memset(st, 0, sizeof(*st));
  int rc = -1;
  mg.body = tmpfile();
  if (!mg.body) {
    snprintf(err, cap, "cannot create a temporary file: %s", strerror(errno));
    return -1;
  }
  for (int i = 0; i < nfiles; i++)
    if (harness_merge_file(&mg, files[i]) != 0)
      goto out;
  for (size_t i = 0; i < mg.nfam; i++) {
    for (unsigned k = 0; k < mg.fam[i].m; k++) {
      if (mg.fam[i].seen[k])
        continue;
      st->missing++;
      if (report) {
        const char *star = strstr(mg.fam[i].name, "shard */");
        int pre = star ? (int)(star - mg.fam[i].name) + 6 : 0;
        fprintf(report, "merge: missing: %.*s%u%s\n", pre, mg.fam[i].name,
                k + 1, mg.fam[i].name + pre + 1);
      }
    }
  }
  fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" "
               "skipped=\"%llu\" time=\"%.3f\">\n",
          st->tests, st->failures, st->errors, st->skipped, st->time_s);
  rewind(mg.body);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), mg.body)) > 0)
    fwrite(chunk, 1, n, out);
  fprintf(out, "</testsuites>\n");
  if (fflush(out) != 0 || ferror(out)) {
    snprintf(err, cap, "writing the merged report: %s", strerror(errno));
    goto out;
  }
  rc = 0;
out:
  fclose(mg.body);
  for (size_t i = 0; i < mg.nfam; i++) {
    free(mg.fam[i].name);
    free(mg.fam[i].seen);
    free(mg.fam[i].file);
  }
  free(mg.fam);
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario packages: sqn_pkg_build() into a growing buffer, then the
 * scenario's damage. The updater.elf comes from sqn_pkg_elf_build() with the
 * package's updater version.
 */
#include "pkgbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/pkg.h"

struct harness_buf {
  uint8_t *data;
  size_t len, cap;
};

static int harness_buf_write(void *user, const void *buf, size_t len) {
  struct harness_buf *b = user;
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + len)
      cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
      return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, buf, len);
  b->len += len;
  return 0;
}

void harness_pkg_free(struct harness_pkg *p) {
  free(p->data);
  free(p->elf);
  memset(p, 0, sizeof(*p));
}

/* The package options the scenario asks for; 0 or -1 (err set). */
static int harness_pkg_opts(const struct harness_scenario *s,
                            struct sqn_pkg_opts *o, char *err, size_t errcap) {
  const struct harness_pkg_yaml *y = s->package;
  enum sqn_pkg_family fam =
      s->profile == SIM_PROFILE_GM02S ? SQN_PKG_FAMILY_LR8 : SQN_PKG_FAMILY_LR5;
  if (y && y->family && sqn_pkg_family_parse(y->family, &fam) != 0) {
    snprintf(err, errcap, "%s: package.family '%s' is not lr5, lr6 or lr8",
             s->path, y->family);
    return -1;
  }
  if (y && y->version && !y->family) {
    unsigned major = (unsigned)atoi(y->version);
    if (major == 5 || major == 6 || major == 8)
      fam = (enum sqn_pkg_family)major;
  }
  if (sqn_pkg_opts_init(o, fam) != 0) {
    snprintf(err, errcap, "%s: cannot set up package options", s->path);
    return -1;
  }
  if (!y)
    return 0;
  if (y->version) {
    char text[48];
    snprintf(text, sizeof(text), "%s-%u", y->version,
             y->build ? y->build : o->version.build);
    if (sqn_version_parse(&o->version, text) != 0) {
      snprintf(err, errcap, "%s: package.version '%s' does not parse",
               s->path, y->version);
      return -1;
    }
  } else if (y->build) {
    o->version.build = y->build;
  }
  o->size = y->size;
  o->no_pack = y->no_pack;
  for (unsigned i = 0; i < y->records_count; i++)
    for (unsigned r = 0; r < SQN_PKG_REC_COUNT; r++)
      if (strcmp(y->records[i], sqn_pkg_rec_name((enum sqn_pkg_rec)r)) == 0)
        o->records |= SQN_PKG_REC_BIT(r);
  return 0;
}

/* The scenario's damage to the built package: a flipped byte, a cut. */
static int harness_pkg_damage(const struct harness_scenario *s,
                              struct harness_pkg *p, char *err,
                              size_t errcap) {
  const struct harness_pkg_yaml *y = s->package;
  if (y && y->corrupt_at) {
    if (*y->corrupt_at >= p->len) {
      snprintf(err, errcap,
               "%s: package.corrupt_at %llu is past the end (%zu bytes)",
               s->path, (unsigned long long)*y->corrupt_at, p->len);
      return -1;
    }
    p->data[*y->corrupt_at] ^= 0x5A;
  }
  if (y && y->truncate) {
    if (*y->truncate > p->len) {
      snprintf(err, errcap, "%s: package.truncate %llu is past the end",
               s->path, (unsigned long long)*y->truncate);
      return -1;
    }
    p->len = (size_t)*y->truncate;
  }
  p->missing = y && y->missing;
  return 0;
}

int harness_pkg_build(const struct harness_scenario *s, struct harness_pkg *p,
                      char *err, size_t errcap) {
  memset(p, 0, sizeof(*p));
  const struct harness_pkg_yaml *y = s->package;
  struct sqn_pkg_opts o;
  if (harness_pkg_opts(s, &o, err, errcap) != 0)
    return -1;
  struct harness_buf b = {0};
  int rc = sqn_pkg_build(&o, harness_buf_write, &b);
  if (rc != 0) {
    snprintf(err, errcap, "%s: package: %s (%s)", s->path,
             sqn_pkg_strerror(rc), sqn_pkg_err_name(rc));
    free(b.data);
    return -1;
  }
  p->data = b.data;
  p->len = b.len;
  p->version = o.version;
  snprintf(p->version_text, sizeof(p->version_text), "%u.%u.%u.%u",
           o.version.v[0], o.version.v[1], o.version.v[2], o.version.v[3]);
  if (harness_pkg_damage(s, p, err, errcap) != 0)
    goto out_free_pkg;
  if (y && y->updater_elf) {
    struct sqn_pkg_elf_opts eo = {.version = o.updater.found ? o.updater
                                                             : o.version,
                                  .label = "updater",
                                  .filler = 300000};
    struct harness_buf e = {0};
    rc = sqn_pkg_elf_build(&eo, harness_buf_write, &e);
    if (rc != 0) {
      snprintf(err, errcap, "%s: updater.elf: %s", s->path,
               sqn_pkg_strerror(rc));
      free(e.data);
      goto out_free_pkg;
    }
    p->elf = e.data;
    p->elf_len = e.len;
  }
  return 0;

out_free_pkg:
  harness_pkg_free(p);
  return -1;
}

static int harness_write_file(const char *path, const uint8_t *d, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  int rc = fwrite(d, 1, n, f) == n ? 0 : -1;
  if (fclose(f) != 0)
    rc = -1;
  return rc;
}

int harness_pkg_write(const struct harness_pkg *p, const char *dir,
                      char *pkg_path, size_t pkg_cap, char *elf_path,
                      size_t elf_cap) {
  if (p->missing) {
    snprintf(pkg_path, pkg_cap, "%s/no-such-package.dup", dir);
  } else {
    snprintf(pkg_path, pkg_cap, "%s/package.dup", dir);
    if (harness_write_file(pkg_path, p->data, p->len) != 0)
      return -1;
  }
  elf_path[0] = '\0';
  if (p->elf) {
    snprintf(elf_path, elf_cap, "%s/updater.elf", dir);
    if (harness_write_file(elf_path, p->elf, p->elf_len) != 0)
      return -1;
  }
  return 0;
}

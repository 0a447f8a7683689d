/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package a scenario pushes, built in memory with sqnup_pkg (synthetic:
 * no genuine firmware), then damaged as the scenario says (corrupt_at,
 * truncate). harness_pkg_build() / harness_pkg_free().
 */
#ifndef HARNESS_PKGBUILD_H
#define HARNESS_PKGBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "sqnup/caba.h"

struct harness_pkg {
  uint8_t *data; /* the .dup bytes */
  size_t len;
  uint8_t *elf;  /* updater.elf, or NULL */
  size_t elf_len;
  bool missing;  /* the updater is handed a path that does not exist */
  struct sqn_image_version version; /* fff version the package carries */
  char version_text[32];            /* "5.1.1.0" */
};

/* 0, or -1 with a message naming the scenario file in `err`. A scenario
 * without `package` gets the family default of its profile. */
int harness_pkg_build(const struct harness_scenario *s, struct harness_pkg *p,
                      char *err, size_t errcap);
void harness_pkg_free(struct harness_pkg *p);

/* Write the package (and elf when present) to files in `dir`; paths are
 * returned in pkg_path / elf_path (elf_path "" without an elf). 0 or -1. */
int harness_pkg_write(const struct harness_pkg *p, const char *dir,
                      char *pkg_path, size_t pkg_cap, char *elf_path,
                      size_t elf_cap);

#endif /* HARNESS_PKGBUILD_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pre-flight checks: the package walk before any byte is sent (size, CABA
 * records and signatures, versions, part tags, updater.elf magic) and the
 * compatibility checks once the modem is known (family, downgrade, part 2
 * alone, factory bootrom), all before the first byte that changes anything.
 */
#include <string.h>

#include "update_int.h"

#include "../sqn_libc.h"


/* The fff record's part tag (sqnup/pkg.h): "... part N/M" and optionally
 * " from A.B.C.D [BUILD]". Parsed here, not with sqnup_pkg (the updater
 * depends on the codec only). */
static void sqn_upd_part_tag(const char *descr, struct sqn_pkg_info *pk) {
  const char *p = strstr(descr, " part ");
  unsigned n = 0, m = 0;
  if (!p)
    return;
  for (p += 6; *p >= '0' && *p <= '9' && n < 100; p++)
    n = n * 10u + (unsigned)(*p - '0');
  if (*p++ != '/')
    return;
  for (; *p >= '0' && *p <= '9' && m < 100; p++)
    m = m * 10u + (unsigned)(*p - '0');
  if (n == 0 || m < 2 || n > m)
    return;
  pk->part = n;
  pk->parts = m;
  if (strncmp(p, " from ", 6) == 0 &&
      sqn_version_parse(&pk->part_base, p + 6) == 0)
    pk->part_base.found = true;
}

static int sqn_upd_walk_cb(void *user, enum sqn_caba_event ev,
                           const struct sqn_caba_record *rec,
                           const uint8_t *data, size_t len) {
  struct sqn_update *u = user;
  (void)data;
  (void)len;
  if (ev != SQN_CABA_EV_END)
    return 0;
  if (strcmp(rec->magic, "DIFF") == 0)
    u->pkg.has_diff = true;
  if (!rec->has_target)
    return 0;
  if (rec->image.found && rec->image.v[0] < 32)
    u->pkg.families |= 1u << rec->image.v[0];
  switch (rec->target) {
  case SQN_CABA_TARGET_FFF:
    u->pkg.has_fff = true;
    u->pkg.fff_records++;
    if (rec->image.found && !u->pkg.fff_version.found) {
      u->pkg.fff_version = rec->image;
      u->pkg.family = rec->image.v[0];
    }
    if (rec->image.found && (!u->pkg.fff_min.found ||
                             sqn_version_cmp(&rec->image, &u->pkg.fff_min) < 0))
      u->pkg.fff_min = rec->image;
    if (!u->pkg.part)
      sqn_upd_part_tag(rec->descr, &u->pkg);
    break;
  case SQN_CABA_TARGET_UPDATER:
    u->pkg.has_updater = true;
    break;
  case SQN_CABA_TARGET_BOOT:
    u->pkg.has_bootrom = true;
    break;
  default:
    break;
  }
  return 0;
}

/* Walk one package file into u->pkg (cleared first). 0 or the error. */
static int sqn_upd_walk_file(struct sqn_update *u, enum sqn_update_src src,
                             uint64_t size, const char *what) {
  uint64_t off = 0;
  int rc;
  memset(&u->pkg, 0, sizeof u->pkg);
  u->pkg.size = size;
  if (size < 128) {
    snprintf(u->detail, sizeof u->detail, "%s is %llu bytes (< 128)", what,
             (unsigned long long)size);
    return SQN_E_IMAGE_TRUNCATED;
  }
  sqn_caba_walker_init(&u->walker, sqn_upd_walk_cb, u);
  while (off < size) {
    size_t n = u->cfg.tx_cap;
    if ((uint64_t)n > size - off)
      n = (size_t)(size - off);
    rc = u->cfg.read_pkg(u->cfg.user, src, off, u->cfg.tx_buf, n);
    if (rc < 0 || (size_t)rc != n) {
      snprintf(u->detail, sizeof u->detail, "%s: read failed at byte %llu",
               what, (unsigned long long)off);
      return SQN_E_IMAGE_NOT_FOUND;
    }
    if (sqn_caba_walker_feed(&u->walker, u->cfg.tx_buf, n) != 0)
      break;
    off += n;
  }
  rc = u->walker.err ? u->walker.err : sqn_caba_walker_finish(&u->walker);
  u->pkg.records = u->walker.records;
  if (!u->pkg.family && u->pkg.families &&
      !(u->pkg.families & (u->pkg.families - 1)))
    for (int f = 0; f < 32; f++)
      if (u->pkg.families == 1u << f)
        u->pkg.family = f;
  if (rc) {
    snprintf(u->detail, sizeof u->detail,
             "%s%s%s at byte %llu, in record '%s' at offset %llu",
             src == SQN_UPDATE_SRC_PACKAGE2 ? what : "",
             src == SQN_UPDATE_SRC_PACKAGE2 ? ": " : "",
             sqn_caba_strerror(rc), (unsigned long long)u->walker.err_offset,
             u->walker.err_magic[0] ? u->walker.err_magic : "?",
             (unsigned long long)u->walker.err_record);
    return rc == SQN_CABA_E_TRUNCATED ? SQN_E_IMAGE_TRUNCATED
                                      : SQN_E_IMAGE_INVALID;
  }
  return 0;
}

/* Part tags after both walks (faults.md F20). 0 or the error. */
static int sqn_upd_check_parts(struct sqn_update *u) {
  const struct sqn_pkg_info *a = &u->part1, *b = &u->pkg;
  char v[40] = "?", base[40] = "none";
  if (!u->cfg.pkg2_size) {
    if (b->part && b->parts != 2) {
      snprintf(u->detail, sizeof u->detail,
               "package is part %u of %u; only two-part packages are known",
               b->part, b->parts);
      return SQN_E_PARTS_MISMATCH;
    }
    if (b->part == 1 && !u->cfg.force) {
      snprintf(u->detail, sizeof u->detail,
               "package is part 1 of 2; give part 2 after it");
      return SQN_E_PART2_MISSING;
    }
    if (b->part == 1)
      sqn_upd_log(u, SQN_LOG_WARN,
                  "part 1 of 2 alone (forced): the run stops after it, "
                  "without a reboot; apply part 2 in this power session");
    return 0;
  }
  if (a->fff_version.found)
    sqn_version_format(&a->fff_version, v, sizeof v);
  if (b->part_base.found)
    sqn_version_format(&b->part_base, base, sizeof base);
  if (a->part != 1 || a->parts != 2 || b->part != 2 || b->parts != 2) {
    snprintf(u->detail, sizeof u->detail,
             "first package is %s, second is %s; want part 1/2 then part 2/2",
             a->part ? (a->part == 1 ? "part 1" : "part 2") : "not a part",
             b->part ? (b->part == 1 ? "part 1" : "part 2") : "not a part");
    return SQN_E_PARTS_MISMATCH;
  }
  if (!a->fff_version.found || !b->part_base.found ||
      sqn_version_cmp(&a->fff_version, &b->part_base) != 0 ||
      a->family != b->family) {
    snprintf(u->detail, sizeof u->detail,
             "part 1 leaves LR%s (LR%d), part 2 needs LR%s (LR%d)", v,
             a->family, base, b->family);
    return SQN_E_PARTS_MISMATCH;
  }
  return 0;
}

/* The walk over the package (and part 2), or what an earlier run's walk
 * over the same files found (cfg.checked). */
static int sqn_upd_walk_files(struct sqn_update *u) {
  const struct sqn_update_checked *c = u->cfg.checked;
  int rc;
  if (c && c->pkg_size == u->cfg.pkg_size &&
      c->pkg2_size == u->cfg.pkg2_size) {
    u->pkg = c->pkg;
    u->part1 = c->part1;
  } else {
    rc = sqn_upd_walk_file(u, SQN_UPDATE_SRC_PACKAGE, u->cfg.pkg_size,
                           u->cfg.pkg2_size ? "part 1" : "package");
    if (rc)
      return rc;
    if (u->cfg.pkg2_size) {
      u->part1 = u->pkg;
      rc = sqn_upd_walk_file(u, SQN_UPDATE_SRC_PACKAGE2, u->cfg.pkg2_size,
                             "part 2");
      if (rc)
        return rc;
    }
  }
  if (u->cfg.pkg2_size)
    u->cur_part = 1;
  u->walked = true;
  return 0;
}

int sqn_update_package_checked(const struct sqn_update *u,
                               struct sqn_update_checked *out) {
  if (!u || !out || !u->walked)
    return SQN_E_STATE;
  memset(out, 0, sizeof *out);
  out->pkg_size = u->cfg.pkg_size;
  out->pkg2_size = u->cfg.pkg2_size;
  out->pkg = u->pkg;
  out->part1 = u->part1;
  return 0;
}

int sqn_upd_preflight(struct sqn_update *u) {
  uint64_t size = u->cfg.pkg_size;
  int rc;
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_CHECK_FILE);
  rc = sqn_upd_walk_files(u);
  if (rc)
    return rc;
  rc = sqn_upd_check_parts(u);
  if (rc)
    return rc;
  if ((u->pkg.part || u->part1.part) &&
      u->method == SQN_UPDATE_METHOD_STORE) {
    /* The store path boots the new firmware by itself: never between the
     * parts of a two-part package. */
    sqn_upd_log(u, SQN_LOG_INFO,
                "a two-part package goes on-the-fly, through recovery");
    u->method = SQN_UPDATE_METHOD_ON_THE_FLY;
  }
  if (u->cfg.updater_size) {
    uint8_t m[4];
    if (u->cfg.updater_size < 4 ||
        u->cfg.read_pkg(u->cfg.user, SQN_UPDATE_SRC_UPDATER, 0, m, 4) != 4) {
      snprintf(u->detail, sizeof u->detail, "updater file unreadable");
      return SQN_E_UPDATER_INVALID;
    }
    if (memcmp(m, "\x7f" "ELF", 4) != 0) {
      snprintf(u->detail, sizeof u->detail,
               "updater starts with %02x %02x %02x %02x, not 7f 45 4c 46",
               m[0], m[1], m[2], m[3]);
      return SQN_E_UPDATER_INVALID;
    }
  }
  if (u->method == SQN_UPDATE_METHOD_STORE && size > SQN_UPDATE_STORE_MAX) {
    /* S26c: never start a store upload that cannot fit. */
    sqn_upd_log(u, SQN_LOG_WARN,
                "package is %llu bytes, more than the %u the modem can store: "
                "using on-the-fly",
                (unsigned long long)size, SQN_UPDATE_STORE_MAX);
    u->method = SQN_UPDATE_METHOD_ON_THE_FLY;
  }
  {
    char v[40] = "none";
    if (u->pkg.fff_version.found)
      sqn_version_format(&u->pkg.fff_version, v, sizeof v);
    if (u->cfg.pkg2_size) {
      char w[40] = "none";
      if (u->part1.fff_version.found)
        sqn_version_format(&u->part1.fff_version, w, sizeof w);
      sqn_upd_log(u, SQN_LOG_INFO,
                  "part 1 of 2: %llu bytes, %u records, intermediate fff "
                  "version %s, family LR%d",
                  (unsigned long long)u->part1.size,
                  (unsigned)u->part1.records, w, u->part1.family);
    }
    sqn_upd_log(u, SQN_LOG_INFO,
                "%s: %llu bytes, %u records, fff version %s, family LR%d",
                u->cfg.pkg2_size ? "part 2 of 2" : "package",
                (unsigned long long)u->pkg.size, (unsigned)u->pkg.records, v,
                u->pkg.family);
  }
  return 0;
}

/* ---- compatibility, once the modem is known ------------------------------- */

/* "LR5 and LR6" for a family mask. */
static void sqn_upd_families_text(uint32_t mask, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (int f = 0; f < 32 && n + 12 < cap; f++)
    if (mask & (1u << f))
      n += (size_t)snprintf(out + n, cap - n, "%sLR%d", n ? " and " : "", f);
  if (!n)
    snprintf(out, cap, "no family (no record names a version)");
}

/* Every image record of the package must be of the modem's family (F19):
 * a package with no fff record is judged by its other records, one with
 * records of two families is refused whatever the modem runs. */
static bool sqn_upd_check_family(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  const struct sqn_pkg_info *pk = &u->pkg;
  uint32_t all = pk->families | u->part1.families;
  bool mixed = all & (all - 1);
  char fams[64];
  bool bad = mixed || (mi->family && (all & ~(1u << mi->family))) ||
             (mi->family && !all);
  if (!bad)
    return true;
  sqn_upd_families_text(all, fams, sizeof fams);
  if (!u->cfg.force) {
    if (mi->family)
      sqn_upd_finish(u, SQN_E_IMAGE_FAMILY_MISMATCH,
                     "modem runs LR%d (%s), package records are %s%s",
                     mi->family, mi->lr, fams,
                     pk->fff_records ? "" : " (no fff record)");
    else
      sqn_upd_finish(u, SQN_E_IMAGE_FAMILY_MISMATCH,
                     "package records are %s: one package is one family",
                     fams);
    return false;
  }
  sqn_upd_log(u, SQN_LOG_WARN, "family mismatch forced: LR%d -> %s",
              mi->family, fams);
  return true;
}

static bool sqn_upd_check_downgrade(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  const struct sqn_pkg_info *pk = &u->pkg;
  char a[40], b[40];
  /* the lowest fff record: a package never takes the modem backwards */
  if (!mi->version.found || !pk->fff_min.found ||
      sqn_version_cmp(&pk->fff_min, &mi->version) >= 0)
    return true;
  sqn_version_format(&mi->version, a, sizeof a);
  sqn_version_format(&pk->fff_min, b, sizeof b);
  if (!u->cfg.force) {
    sqn_upd_finish(u, SQN_E_DOWNGRADE_REFUSED, "modem runs %s, package is %s",
                   a, b);
    return false;
  }
  sqn_upd_log(u, SQN_LOG_WARN, "downgrade forced: %s -> %s", a, b);
  return true;
}

/* The modem already runs the package's version and build: with
 * skip_if_current the run ends here, successfully, before a byte of the
 * package is written; without it the reflash is announced. */
static bool sqn_upd_check_current(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  const struct sqn_pkg_info *pk = &u->pkg;
  char v[40];
  if (!mi->version.found || !pk->fff_version.found ||
      sqn_version_cmp(&pk->fff_version, &mi->version) != 0 ||
      sqn_version_cmp(&pk->fff_min, &mi->version) != 0)
    return true;
  if (mi->lr[0])
    snprintf(v, sizeof v, "%s", mi->lr);
  else
    sqn_version_format(&mi->version, v, sizeof v);
  if (u->cfg.skip_if_current) {
    sqn_upd_finish(u, 0,
                   "the modem already runs %s, the package's version and "
                   "build: nothing written (--skip-if-current)",
                   v);
    return false;
  }
  sqn_upd_log(u, SQN_LOG_INFO,
              "the modem already runs %s, the package's version and build: "
              "reflashing it (--skip-if-current would skip it)",
              v);
  return true;
}

/* A part 2 alone applies only on top of part 1's intermediate image. */
static bool sqn_upd_check_part2_alone(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  const struct sqn_pkg_info *pk = &u->pkg;
  char base[40] = "?";
  bool on_base;
  if (pk->part != 2 || u->cfg.pkg2_size)
    return true;
  if (pk->part_base.found)
    sqn_version_format(&pk->part_base, base, sizeof base);
  on_base = mi->version.found && pk->part_base.found &&
            sqn_version_cmp(&mi->version, &pk->part_base) == 0;
  if (on_base)
    return true;
  if (u->cfg.force) {
    sqn_upd_log(u, SQN_LOG_WARN,
                "part 2 alone forced: the modem does not show part 1's LR%s",
                base);
    return true;
  }
  if (mi->version.found)
    sqn_upd_finish(u, SQN_E_PART1_MISSING,
                   "modem runs %s, part 2 needs part 1's LR%s", mi->lr, base);
  else
    sqn_upd_finish(u, SQN_E_PART1_MISSING,
                   "modem in SMOD %d cannot report its version; part 2 "
                   "needs part 1's LR%s",
                   mi->smod, base);
  return false;
}

/* F18: the factory bootrom cannot recover reliably from a failed upgrade.
 * A package with a bootrom record replaces it (applied atomically once the
 * package checked out, by either method, as Pycom's tool does with its
 * built-in blob); one without leaves the modem on it, which is refused
 * unless forced. */
static bool sqn_upd_check_bootrom(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  const struct sqn_pkg_info *pk = &u->pkg;
  if (!mi->bootrom_build || mi->bootrom_build > SQN_UPD_OLD_BOOTROM)
    return true;
  if (!pk->has_bootrom && !u->part1.has_bootrom && !u->cfg.force) {
    sqn_upd_finish(u, SQN_E_BOOTROM_TOO_OLD,
                   "Bootloader0 is %s and the package has no bootrom record",
                   mi->bootloader);
    return false;
  }
  sqn_upd_log(u, SQN_LOG_WARN, "factory bootrom %s: %s", mi->bootloader,
              pk->has_bootrom ? "the package's bootrom record refreshes it"
                              : "no bootrom record in the package (forced)");
  return true;
}

/* The chip of a family: 1 Monarch 1 (LR5, LR6), 2 Monarch 2 (LR8), 0 ?. */
static int sqn_upd_chip(int family) {
  return family == 5 || family == 6 ? 1 : family == 8 ? 2 : 0;
}

/* A known chip mismatch is refused unless forced; an unknown chip (a modem
 * in RECOVERY with no journal) is a warning (modem-model.md 6: a foreign
 * image is written, reported "success" and never boots). */
static bool sqn_upd_check_chip(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  uint32_t all = u->pkg.families | u->part1.families;
  int fam = mi->family ? mi->family : u->cfg.journal_family;
  int chip = sqn_upd_chip(fam);
  uint32_t other = chip == 1 ? 1u << 8 : chip == 2 ? (1u << 5 | 1u << 6) : 0;
  if (!chip) {
    sqn_upd_log(u, SQN_LOG_WARN,
                "the modem's chip is unknown (SMOD %d, no journal for this "
                "port): an image for the other chip would be written and "
                "never boot; make sure the package is for this modem",
                mi->smod);
    return true;
  }
  if (!(all & other))
    return true;
  if (u->cfg.force) {
    sqn_upd_log(u, SQN_LOG_WARN, "chip mismatch forced: the modem is a "
                "Monarch %d, the package is not", chip);
    return true;
  }
  sqn_upd_finish(u, SQN_E_CHIP_MISMATCH,
                 "the modem is a Monarch %d (LR%d%s), the package is for "
                 "Monarch %d",
                 chip, fam, mi->family ? "" : ", from the journal",
                 chip == 1 ? 2 : 1);
  return false;
}

/* Unknown never skips a safety check: a mode that could not be read, or an
 * application (SMOD 2) whose version could not be read, refuses every
 * write the checks would have guarded, unless forced. */
static bool sqn_upd_check_known(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  bool unknown = mi->smod < 0 || (mi->smod == 2 && !mi->version.found);
  if (!unknown)
    return true;
  if (u->cfg.force) {
    sqn_upd_log(u, SQN_LOG_WARN,
                "modem %s unknown (forced): writing without the family and "
                "downgrade checks",
                mi->smod < 0 ? "mode" : "version");
    return true;
  }
  if (mi->smod < 0)
    sqn_upd_finish(u, SQN_E_MODEM_STATE_UNKNOWN,
                   "AT+SMOD? gave no mode that can be read");
  else
    sqn_upd_finish(u, SQN_E_MODEM_STATE_UNKNOWN,
                   "ATI1 gave no LR version in SMOD 2");
  return false;
}

/* Every check that must pass before the first write; false when the run
 * was finished with a refusal. Also settles the method. */
bool sqn_upd_check_modem(struct sqn_update *u) {
  const struct sqn_modem_info *mi = &u->modem;
  sqn_upd_set_phase(u, SQN_UPDATE_PHASE_CHECK_MODEM);
  if (!sqn_upd_check_known(u) || !sqn_upd_check_chip(u) ||
      !sqn_upd_check_family(u) ||
      !sqn_upd_check_downgrade(u) || !sqn_upd_check_part2_alone(u) ||
      !sqn_upd_check_current(u))
    return false;
  if (!mi->version.found)
    sqn_upd_log(u, SQN_LOG_WARN,
                "modem in SMOD %d (%s) cannot report its version or family: "
                "the family and downgrade checks cannot run; make sure the "
                "package is for this modem",
                mi->smod, mi->smod == 0   ? "FFH"
                          : mi->smod == 4 ? "RECOVERY"
                                          : "updater");
  if (!sqn_upd_check_bootrom(u))
    return false;
  if (u->method == SQN_UPDATE_METHOD_STORE && mi->smod != 2) {
    sqn_upd_log(u, SQN_LOG_INFO,
                "the store method needs the application (SMOD 2); modem is in "
                "SMOD %d: using on-the-fly",
                mi->smod);
    u->method = SQN_UPDATE_METHOD_ON_THE_FLY;
  }
  return true;
}

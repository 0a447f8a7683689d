/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic Sequans upgrade packages (.dup) and ELF images for tests, the
 * emulator and demos. Nothing here is genuine firmware: the bytes are made
 * up, but the container layout is the genuine one (protocol.md 5.3):
 *
 *   PACK v3 "Packed dup files", sig type 1            (absent with no_pack)
 *     UPGR v3 "bootrom upgrade package"  "toob" + opaque blob (sbpk, booosqn1)
 *     UPGR v3 "updater upgrade package"  8      + FFF!(ELF32 updater)
 *     UPGR v3 "fff upgrade package"      2      + FFF!(ELF32 fff + filler)
 *     UPGR v3 "fs upgrade package"       3      + opaque blob (.overlay)
 *
 * Every record is signed with type 1 (Fletcher-32, u32 LE) over header +
 * description + data; every FFF! image ends with its Fletcher-32 trailer.
 * The first "A.B.C.D [BUILD]" text of each record is its image version.
 *
 * Output is streamed through a write callback, so a 6 MB package needs no
 * more memory than a few KiB of stack; or it is written into a caller
 * buffer. The library allocates nothing, reads no clock and keeps no
 * globals; the same options always give the same bytes (the filler comes
 * from a PRNG seeded from the version and build).
 */
#ifndef SQNUP_PKG_H
#define SQNUP_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqnup/caba.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SQN_PKG_ERR_MAP(XX)                                                   \
  XX(INVAL, -1, "invalid argument")                                           \
  XX(BAD_VERSION, -2, "version is not one of the known families (5, 6, 8)")  \
  XX(FAMILY, -3, "family does not match the version's first number")        \
  XX(SIZE_TOO_SMALL, -4, "requested size is below the minimum package size") \
  XX(SIZE_TOO_LARGE, -5, "requested size does not fit the 32-bit size fields")\
  XX(NO_FFF, -6, "a requested size needs the fff record to pad")             \
  XX(WRITE, -7, "the write callback failed")                                  \
  XX(NOSPACE, -8, "output buffer too small")

enum sqn_pkg_err {
  SQN_PKG_OK = 0,
#define XX(name, val, text) SQN_PKG_E_##name = (val),
  SQN_PKG_ERR_MAP(XX)
#undef XX
};

/* Text for 0 and every SQN_PKG_E_*; "unknown error" otherwise. */
const char *sqn_pkg_strerror(int err);
/* "SIZE_TOO_SMALL"; "UNKNOWN" otherwise. */
const char *sqn_pkg_err_name(int err);

/* Families: the value is the version's first number. */
#define SQN_PKG_FAMILY_MAP(XX)                                                \
  XX(LR5, 5, "lr5", "Cat-M1", 1, 1, 0, 38638)                                 \
  XX(LR6, 6, "lr6", "NB-IoT", 0, 0, 0, 41019)                                 \
  XX(LR8, 8, "lr8", "Monarch 2", 2, 1, 0, 61488)

enum sqn_pkg_family {
  SQN_PKG_FAMILY_NONE = 0, /* derive from the version */
#define XX(name, val, text, what, b, c, d, build) SQN_PKG_FAMILY_##name = (val),
  SQN_PKG_FAMILY_MAP(XX)
#undef XX
};

/* "lr5" / "lr6" / "lr8"; NULL for anything else. */
const char *sqn_pkg_family_name(enum sqn_pkg_family f);
/* "Cat-M1" / "NB-IoT" / "Monarch 2"; NULL for anything else. */
const char *sqn_pkg_family_what(enum sqn_pkg_family f);
/* "lr5" or "LR5" -> SQN_PKG_FAMILY_LR5; 0 or SQN_PKG_E_INVAL. */
int sqn_pkg_family_parse(const char *text, enum sqn_pkg_family *out);
/* The family a version belongs to, or SQN_PKG_FAMILY_NONE. */
enum sqn_pkg_family sqn_pkg_family_of(const struct sqn_image_version *v);
/*
 * The default version of a family (lr5 5.1.1.0 [38638], lr6 6.0.0.0 [41019],
 * lr8 8.2.1.0 [61488]) into *out. 0 or SQN_PKG_E_INVAL.
 */
int sqn_pkg_family_default(enum sqn_pkg_family f,
                           struct sqn_image_version *out);

/*
 * Format "5.1.1.0 [38638]" (the in-image form) into buf. Returns the text
 * length, or SQN_PKG_E_NOSPACE when cap is too small (40 always suffices).
 */
int sqn_pkg_version_text(const struct sqn_image_version *v, char *buf,
                         size_t cap);

/*
 * Output sink: called with consecutive pieces of the output, in order.
 * Return 0 to go on, non-zero to stop the build with SQN_PKG_E_WRITE.
 * `buf` is only valid during the call.
 */
typedef int (*sqn_pkg_write_cb)(void *user, const void *buf, size_t len);

/* --- ELF32 images ------------------------------------------------------- */

/*
 * A small valid ELF32, big-endian, e_machine 0xA7 (as Monarch's
 * updater.elf), ET_EXEC, one PT_LOAD program header covering the file,
 * sections .rodata (version strings, first in the file after the headers),
 * .text (a few bytes standing for code), .shstrtab, and .data holding
 * `filler` deterministic bytes last so that it can grow to any size.
 */
#define SQN_PKG_ELF_MACHINE 0xA7u
#define SQN_PKG_ELF_FIXED 476u /* size with filler 0 */
#define SQN_PKG_LABEL_MAX 16   /* label length cap, NUL excluded */

struct sqn_pkg_elf_opts {
  struct sqn_image_version version; /* must be .found */
  const char *label;                /* "updater", "fff"; NULL: "image";
                                       copied; at most SQN_PKG_LABEL_MAX */
  uint32_t filler;                  /* .data bytes */
};

/* Size the ELF will have: SQN_PKG_ELF_FIXED + filler. */
uint64_t sqn_pkg_elf_size(const struct sqn_pkg_elf_opts *o);
/*
 * Stream the ELF to `write`. Returns 0, SQN_PKG_E_INVAL (bad options: the
 * callback is then never called) or SQN_PKG_E_WRITE.
 */
int sqn_pkg_elf_build(const struct sqn_pkg_elf_opts *o, sqn_pkg_write_cb write,
                      void *user);
/* Same into buf; *out_len gets the size. SQN_PKG_E_NOSPACE if cap is short
 * (buf untouched). */
int sqn_pkg_elf_build_buf(const struct sqn_pkg_elf_opts *o, uint8_t *buf,
                          size_t cap, size_t *out_len);

/* --- Packages ------------------------------------------------------------ */

/* Record selection bits, in the genuine order. */
enum sqn_pkg_rec {
  SQN_PKG_REC_BOOT = 0,
  SQN_PKG_REC_UPDATER = 1,
  SQN_PKG_REC_FFF = 2,
  SQN_PKG_REC_FS = 3,
  SQN_PKG_REC_COUNT = 4
};
#define SQN_PKG_REC_BIT(r) (1u << (r))
#define SQN_PKG_REC_ALL 0xFu

struct sqn_pkg_opts {
  /* public */
  struct sqn_image_version version;  /* the fff image; must be .found */
  struct sqn_image_version updater;  /* !found: same as version */
  struct sqn_image_version bootrom;  /* !found: same as version */
  enum sqn_pkg_family family;        /* NONE: from version.v[0] */
  uint64_t size;                     /* whole file; 0: the minimum */
  bool no_pack;                      /* records bare at top level */
  unsigned records;                  /* SQN_PKG_REC_BIT mask; 0: all */
  /*
   * Two-part packages (faults.md F20). 0: an ordinary one-part package.
   * 1 or 2: part N of a two-part package, marked in the fff record's
   * description (the only place a genuine header has free text):
   *   part 1: "fff upgrade package part 1/2"
   *   part 2: "fff upgrade package part 2/2 from 5.1.1.0 [39529]"
   * Part 1's fff version is the intermediate image; part 2 names it in
   * part_base, the version the modem must run before part 2 applies. A
   * part needs the fff record (SQN_PKG_E_NO_FFF) and part 2 a part_base
   * (SQN_PKG_E_INVAL). Nothing else in the layout changes.
   */
  unsigned part;
  struct sqn_image_version part_base; /* part 2: must be .found */
};

#define SQN_PKG_PARTS 2u /* the only multi-part layout known (48829-1/-2) */

/*
 * The fff record description for the options ("fff upgrade package",
 * or with the part tag above) into buf. Returns its length, or
 * SQN_PKG_E_INVAL (bad part options) / SQN_PKG_E_NOSPACE.
 */
int sqn_pkg_fff_descr(const struct sqn_pkg_opts *o, char *buf, size_t cap);
/*
 * Read a part tag from a record description: "... part N/M" and, optionally,
 * " from A.B.C.D [BUILD]". Returns 1 with *part, *parts (and *base, whose
 * .found says whether a base was named; any pointer may be NULL) when the
 * description carries a tag, 0 when it does not (an ordinary package).
 */
int sqn_pkg_part_parse(const char *descr, unsigned *part, unsigned *parts,
                       struct sqn_image_version *base);

/* Defaults for a family: its default version, all records, PACK, no size. */
int sqn_pkg_opts_init(struct sqn_pkg_opts *o, enum sqn_pkg_family f);

/* Where everything lands; offsets are from the start of the file. */
struct sqn_pkg_layout {
  /* read-only */
  enum sqn_pkg_family family;
  uint64_t total;        /* file size */
  uint64_t min_total;    /* file size with no filler */
  uint32_t filler;       /* fff ELF .data bytes */
  bool has_pack;
  uint64_t pack_offset, pack_length;
  struct {
    bool present;
    uint64_t offset;     /* UPGR header */
    uint64_t length;     /* whole UPGR record */
    uint32_t data_size;  /* UPGR data: target id + body */
  } rec[SQN_PKG_REC_COUNT];
};

/*
 * Check the options and compute the layout. Returns 0, SQN_PKG_E_INVAL,
 * SQN_PKG_E_BAD_VERSION, SQN_PKG_E_FAMILY, SQN_PKG_E_NO_FFF,
 * SQN_PKG_E_SIZE_TOO_SMALL (layout->min_total is still filled in, so the
 * caller can say what the minimum is) or SQN_PKG_E_SIZE_TOO_LARGE.
 */
int sqn_pkg_layout(const struct sqn_pkg_opts *o, struct sqn_pkg_layout *out);

/*
 * Stream the package to `write`. Returns 0 or any error of sqn_pkg_layout
 * (then the callback is never called), or SQN_PKG_E_WRITE.
 */
int sqn_pkg_build(const struct sqn_pkg_opts *o, sqn_pkg_write_cb write,
                  void *user);
/* Same into buf; *out_len gets the size. SQN_PKG_E_NOSPACE if cap is short
 * (buf untouched). */
int sqn_pkg_build_buf(const struct sqn_pkg_opts *o, uint8_t *buf, size_t cap,
                      size_t *out_len);

/* "boot", "updater", "fff", "fs" for a record or a target id; NULL else. */
const char *sqn_pkg_rec_name(enum sqn_pkg_rec r);
const char *sqn_pkg_target_name(uint32_t target);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_PKG_H */

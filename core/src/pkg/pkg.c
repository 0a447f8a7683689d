/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic .dup package builder, genuine layout (protocol.md 5.3):
 *
 *   PACK v3 hdr (18) | "Packed dup files\0" | data ............... | sig
 *                                           |
 *     UPGR v3 hdr (18) | descr | target u32 | body ............... | sig
 *                                           |
 *       bootrom body: "sbpk" len "booosqn1" "bootrom A.B.C.D [N]\0" filler
 *       updater/fff body: FFF! hdr (40) | ELF32 payload | Fletcher-32 LE
 *       fs body: ".overlay" tree names, filler
 *
 *   v3 header: magic[4] u16 3, u16 flags 0, u32 data size, u16 sig type 1,
 *              u16 sig size 4, u16 descr size (with NUL); all little-endian.
 *   sig type 1: Fletcher-32 (Sequans variant) of header + descr + data.
 *
 * The layout is computed first (every size is a function of the options),
 * so headers can be written before their data and the whole package streams
 * in one pass; the checksums of all open records are fed as bytes go out.
 * A requested total size is reached by growing the fff ELF's .data filler,
 * which is where genuine packages have their bulk too.
 */
#include <string.h>

#include "pkg_internal.h"

#define SQN_PKG_V3_HDR 18u
#define SQN_PKG_SIG 4u
#define SQN_PKG_BOOT_BODY 512u
#define SQN_PKG_FS_BODY 384u
#define SQN_PKG_FFF_TRAILER 4u

static const char sqn_pkg_pack_descr[] = "Packed dup files";

static const struct {
  const char *name;
  const char *descr;
  uint32_t target;
} sqn_pkg_recs[SQN_PKG_REC_COUNT] = {
    {"boot", "bootrom upgrade package", SQN_CABA_TARGET_BOOT},
    {"updater", "updater upgrade package", SQN_CABA_TARGET_UPDATER},
    {"fff", "fff upgrade package", SQN_CABA_TARGET_FFF},
    {"fs", "fs upgrade package", SQN_CABA_TARGET_FS},
};

/* --- names ------------------------------------------------------------- */

const char *sqn_pkg_strerror(int err) {
  switch (err) {
  case SQN_PKG_OK:
    return "success";
#define XX(name, val, text)                                                   \
  case SQN_PKG_E_##name:                                                      \
    return text;
    SQN_PKG_ERR_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

const char *sqn_pkg_err_name(int err) {
  switch (err) {
  case SQN_PKG_OK:
    return "OK";
#define XX(name, val, text)                                                   \
  case SQN_PKG_E_##name:                                                      \
    return #name;
    SQN_PKG_ERR_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}

const char *sqn_pkg_family_name(enum sqn_pkg_family f) {
  switch (f) {
#define XX(name, val, text, what, b, c, d, build)                             \
  case SQN_PKG_FAMILY_##name:                                                 \
    return text;
    SQN_PKG_FAMILY_MAP(XX)
#undef XX
  default:
    return NULL;
  }
}

const char *sqn_pkg_family_what(enum sqn_pkg_family f) {
  switch (f) {
#define XX(name, val, text, what, b, c, d, build)                             \
  case SQN_PKG_FAMILY_##name:                                                 \
    return what;
    SQN_PKG_FAMILY_MAP(XX)
#undef XX
  default:
    return NULL;
  }
}

int sqn_pkg_family_parse(const char *text, enum sqn_pkg_family *out) {
  if (!text || !out)
    return SQN_PKG_E_INVAL;
  if ((text[0] != 'l' && text[0] != 'L') || (text[1] != 'r' && text[1] != 'R'))
    return SQN_PKG_E_INVAL;
#define XX(name, val, text_, what, b, c, d, build)                            \
  if (text[2] == text_[2] && text[3] == '\0') {                               \
    *out = SQN_PKG_FAMILY_##name;                                             \
    return 0;                                                                 \
  }
  SQN_PKG_FAMILY_MAP(XX)
#undef XX
  return SQN_PKG_E_INVAL;
}

enum sqn_pkg_family sqn_pkg_family_of(const struct sqn_image_version *v) {
  if (!v || !v->found)
    return SQN_PKG_FAMILY_NONE;
  return sqn_pkg_family_name((enum sqn_pkg_family)v->v[0])
             ? (enum sqn_pkg_family)v->v[0]
             : SQN_PKG_FAMILY_NONE;
}

int sqn_pkg_family_default(enum sqn_pkg_family f,
                           struct sqn_image_version *out) {
  if (!out)
    return SQN_PKG_E_INVAL;
  switch (f) {
#define XX(name, val, text, what, b, c, d, build_)                            \
  case SQN_PKG_FAMILY_##name:                                                 \
    *out = (struct sqn_image_version){                                        \
        .found = true, .v = {val, b, c, d}, .build = build_};                 \
    return 0;
    SQN_PKG_FAMILY_MAP(XX)
#undef XX
  default:
    return SQN_PKG_E_INVAL;
  }
}

static size_t sqn_pkg_put_uint(char *p, uint32_t v) {
  char tmp[10];
  size_t n = 0, i;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (i = 0; i < n; i++)
    p[i] = tmp[n - 1 - i];
  return n;
}

int sqn_pkg_version_text(const struct sqn_image_version *v, char *buf,
                         size_t cap) {
  char t[40];
  size_t n = 0;
  if (!v || !buf)
    return SQN_PKG_E_INVAL;
  for (int i = 0; i < 4; i++) {
    if (i)
      t[n++] = '.';
    n += sqn_pkg_put_uint(t + n, v->v[i]);
  }
  t[n++] = ' ';
  t[n++] = '[';
  n += sqn_pkg_put_uint(t + n, v->build);
  t[n++] = ']';
  if (n + 1 > cap)
    return SQN_PKG_E_NOSPACE;
  memcpy(buf, t, n);
  buf[n] = '\0';
  return (int)n;
}

const char *sqn_pkg_rec_name(enum sqn_pkg_rec r) {
  return (unsigned)r < SQN_PKG_REC_COUNT ? sqn_pkg_recs[r].name : NULL;
}

const char *sqn_pkg_target_name(uint32_t target) {
  for (unsigned i = 0; i < SQN_PKG_REC_COUNT; i++)
    if (sqn_pkg_recs[i].target == target)
      return sqn_pkg_recs[i].name;
  return NULL;
}

/* --- layout ------------------------------------------------------------ */

int sqn_pkg_opts_init(struct sqn_pkg_opts *o, enum sqn_pkg_family f) {
  if (!o)
    return SQN_PKG_E_INVAL;
  memset(o, 0, sizeof *o);
  o->family = f;
  o->records = SQN_PKG_REC_ALL;
  return sqn_pkg_family_default(f, &o->version);
}

static unsigned sqn_pkg_mask(const struct sqn_pkg_opts *o) {
  return o->records ? o->records : SQN_PKG_REC_ALL;
}

/* UPGR data bytes (target id + body) for record r with fff filler F. */
static uint64_t sqn_pkg_rec_data(enum sqn_pkg_rec r, uint64_t filler) {
  switch (r) {
  case SQN_PKG_REC_BOOT:
    return 4u + SQN_PKG_BOOT_BODY;
  case SQN_PKG_REC_UPDATER:
    return 4u + SQN_FFF_HDR_LEN + SQN_PKG_ELF_FIXED + SQN_PKG_FFF_TRAILER;
  case SQN_PKG_REC_FFF:
    return 4u + SQN_FFF_HDR_LEN + SQN_PKG_ELF_FIXED + filler +
           SQN_PKG_FFF_TRAILER;
  case SQN_PKG_REC_FS:
  default:
    return 4u + SQN_PKG_FS_BODY;
  }
}

static uint64_t sqn_pkg_v3_len(const char *descr, uint64_t data) {
  return SQN_PKG_V3_HDR + strlen(descr) + 1 + data + SQN_PKG_SIG;
}

/* PACK data: the records inside it. */
static uint64_t sqn_pkg_pack_data(const struct sqn_pkg_layout *l) {
  return l->pack_length - SQN_PKG_V3_HDR - sizeof sqn_pkg_pack_descr -
         SQN_PKG_SIG;
}

/* --- two-part packages ------------------------------------------------- */

int sqn_pkg_fff_descr(const struct sqn_pkg_opts *o, char *buf, size_t cap) {
  char t[96];
  size_t n;
  const char *base = sqn_pkg_recs[SQN_PKG_REC_FFF].descr;
  if (!o || !buf)
    return SQN_PKG_E_INVAL;
  if (o->part > SQN_PKG_PARTS || (o->part == 2 && !o->part_base.found))
    return SQN_PKG_E_INVAL;
  n = strlen(base);
  memcpy(t, base, n);
  if (o->part) {
    memcpy(t + n, " part ", 6);
    n += 6;
    t[n++] = (char)('0' + o->part);
    t[n++] = '/';
    t[n++] = (char)('0' + SQN_PKG_PARTS);
  }
  if (o->part == 2) {
    int vl;
    memcpy(t + n, " from ", 6);
    n += 6;
    vl = sqn_pkg_version_text(&o->part_base, t + n, sizeof t - n);
    if (vl < 0)
      return SQN_PKG_E_INVAL;
    n += (size_t)vl;
  }
  /* The CABA walker reports at most SQN_CABA_DESCR_MAX - 1 characters: a
   * longer tag would be cut where hosts and the modem read it. */
  if (n >= SQN_CABA_DESCR_MAX)
    return SQN_PKG_E_INVAL;
  if (n + 1 > cap)
    return SQN_PKG_E_NOSPACE;
  memcpy(buf, t, n);
  buf[n] = '\0';
  return (int)n;
}

static unsigned sqn_pkg_digits(const char **p) {
  unsigned v = 0, n = 0;
  while (**p >= '0' && **p <= '9' && n < 4) {
    v = v * 10u + (unsigned)(**p - '0');
    (*p)++;
    n++;
  }
  return n ? v : 0;
}

int sqn_pkg_part_parse(const char *descr, unsigned *part, unsigned *parts,
                       struct sqn_image_version *base) {
  const char *p = descr ? strstr(descr, " part ") : NULL;
  unsigned a, b;
  if (base)
    memset(base, 0, sizeof *base);
  if (!p)
    return 0;
  p += 6;
  a = sqn_pkg_digits(&p);
  if (*p != '/')
    return 0;
  p++;
  b = sqn_pkg_digits(&p);
  if (a == 0 || b < 2 || a > b)
    return 0;
  if (part)
    *part = a;
  if (parts)
    *parts = b;
  if (base && strncmp(p, " from ", 6) == 0 &&
      sqn_version_parse(base, p + 6) == 0)
    base->found = true;
  return 1;
}

/* The description of record r for these options. */
static const char *sqn_pkg_descr_of(const struct sqn_pkg_opts *o,
                                    enum sqn_pkg_rec r, char *buf,
                                    size_t cap) {
  if (r == SQN_PKG_REC_FFF && o->part && sqn_pkg_fff_descr(o, buf, cap) > 0)
    return buf;
  return sqn_pkg_recs[r].descr;
}

/* Fill everything but the size checks for a given filler. */
static void sqn_pkg_place(const struct sqn_pkg_opts *o, uint64_t filler,
                          struct sqn_pkg_layout *l) {
  char descr[SQN_CABA_DESCR_MAX];
  unsigned mask = sqn_pkg_mask(o);
  uint64_t off = 0, inner = 0;

  l->has_pack = !o->no_pack;
  if (l->has_pack)
    off = SQN_PKG_V3_HDR + sizeof sqn_pkg_pack_descr;
  for (unsigned r = 0; r < SQN_PKG_REC_COUNT; r++) {
    l->rec[r].present = (mask & SQN_PKG_REC_BIT(r)) != 0;
    l->rec[r].offset = 0;
    l->rec[r].length = 0;
    l->rec[r].data_size = 0;
    if (!l->rec[r].present)
      continue;
    uint64_t data = sqn_pkg_rec_data((enum sqn_pkg_rec)r, filler);
    uint64_t len = sqn_pkg_v3_len(
        sqn_pkg_descr_of(o, (enum sqn_pkg_rec)r, descr, sizeof descr), data);
    l->rec[r].offset = off;
    l->rec[r].length = len;
    /* Truncation is caught by the caller's range checks on the totals. */
    l->rec[r].data_size = data > UINT32_MAX ? UINT32_MAX : (uint32_t)data;
    off += len;
    inner += len;
  }
  l->pack_offset = 0;
  l->pack_length = l->has_pack ? sqn_pkg_v3_len(sqn_pkg_pack_descr, inner) : 0;
  l->total = l->has_pack ? l->pack_length : inner;
}

int sqn_pkg_layout(const struct sqn_pkg_opts *o, struct sqn_pkg_layout *out) {
  struct sqn_pkg_layout l;
  enum sqn_pkg_family fam;

  if (!o || !out || !o->version.found)
    return SQN_PKG_E_INVAL;
  memset(&l, 0, sizeof l);
  if (o->records & ~SQN_PKG_REC_ALL)
    return SQN_PKG_E_INVAL;
  if (o->part) {
    char d[SQN_CABA_DESCR_MAX];
    if (sqn_pkg_fff_descr(o, d, sizeof d) < 0)
      return SQN_PKG_E_INVAL; /* also: a description the walker would cut */
    if (!(sqn_pkg_mask(o) & SQN_PKG_REC_BIT(SQN_PKG_REC_FFF)))
      return SQN_PKG_E_NO_FFF;
  }
  fam = sqn_pkg_family_of(&o->version);
  if (fam == SQN_PKG_FAMILY_NONE)
    return SQN_PKG_E_BAD_VERSION;
  if (o->family != SQN_PKG_FAMILY_NONE && o->family != fam)
    return SQN_PKG_E_FAMILY;
  l.family = fam;

  sqn_pkg_place(o, 0, &l);
  l.min_total = l.total;
  out->min_total = l.min_total;
  if (o->size && o->size != l.min_total) {
    if (!(sqn_pkg_mask(o) & SQN_PKG_REC_BIT(SQN_PKG_REC_FFF)))
      return SQN_PKG_E_NO_FFF;
    if (o->size < l.min_total)
      return SQN_PKG_E_SIZE_TOO_SMALL;
    if (o->size - l.min_total > UINT32_MAX - SQN_PKG_ELF_FIXED)
      return SQN_PKG_E_SIZE_TOO_LARGE;
    l.filler = (uint32_t)(o->size - l.min_total);
    sqn_pkg_place(o, l.filler, &l);
  }
  /* Every CABA and FFF! size field is 32 bits; the fff record and the PACK
   * around everything are the largest. */
  if (sqn_pkg_rec_data(SQN_PKG_REC_FFF, l.filler) > UINT32_MAX ||
      (l.has_pack && sqn_pkg_pack_data(&l) > UINT32_MAX))
    return SQN_PKG_E_SIZE_TOO_LARGE;
  *out = l;
  return 0;
}

/* --- emission ---------------------------------------------------------- */

static void sqn_pkg_v3_header(struct sqn__pkg_out *o, const char *magic,
                              uint32_t data_size, const char *descr) {
  uint8_t h[SQN_PKG_V3_HDR];
  size_t dl = strlen(descr) + 1;
  memcpy(h, magic, 4);
  sqn__pkg_put_le16(h + 4, 3);
  sqn__pkg_put_le16(h + 6, 0);
  sqn__pkg_put_le32(h + 8, data_size);
  sqn__pkg_put_le16(h + 12, 1); /* Fletcher-32, like every genuine file */
  sqn__pkg_put_le16(h + 14, SQN_PKG_SIG);
  sqn__pkg_put_le16(h + 16, (uint16_t)dl);
  sqn__pkg_out_bytes(o, h, sizeof h);
  sqn__pkg_out_bytes(o, descr, dl);
}

static void sqn_pkg_sum_le(struct sqn__pkg_out *o, const struct sqn_fletcher *f) {
  uint8_t s[4];
  sqn__pkg_put_le32(s, sqn_fletcher_final(f));
  sqn__pkg_out_bytes(o, s, sizeof s);
}

static void sqn_pkg_fff_image(struct sqn__pkg_out *o,
                              const struct sqn_pkg_elf_opts *e) {
  struct sqn_fletcher f;
  uint8_t h[SQN_FFF_HDR_LEN];
  memset(h, 0, sizeof h);
  memcpy(h, "FFF!", 4);
  sqn__pkg_put_le32(h + 8, 1); /* features: SLIM */
  sqn__pkg_put_le32(h + 28, (uint32_t)sqn_pkg_elf_size(e));
  sqn__pkg_put_le16(h + 36, 1); /* sig type: Fletcher-32 */
  sqn__pkg_put_le16(h + 38, 4); /* sig size */
  sqn__pkg_out_push(o, &f);
  sqn__pkg_out_bytes(o, h, sizeof h);
  sqn__pkg_elf_emit(o, e);
  sqn__pkg_out_pop(o);
  sqn_pkg_sum_le(o, &f);
}

/* bootrom: tags, then its version text, then opaque bytes. */
static void sqn_pkg_boot_body(struct sqn__pkg_out *o,
                              const struct sqn_image_version *v) {
  uint8_t b[64];
  size_t n = 0;
  struct sqn__pkg_rng rng;
  memcpy(b, "sbpk", 4);
  sqn__pkg_put_le32(b + 4, SQN_PKG_BOOT_BODY);
  memcpy(b + 8, "booosqn1", 8);
  memcpy(b + 16, "bootrom ", 8);
  n = 24;
  n += (size_t)sqn_pkg_version_text(v, (char *)b + n, sizeof b - n) + 1;
  sqn__pkg_out_bytes(o, b, n);
  sqn__pkg_rng_seed(&rng, v, 0x626f6f74u);
  sqn__pkg_out_filler(o, &rng, SQN_PKG_BOOT_BODY - n);
}

/* fs: a few path names (".overlay" is what genuine fs records carry). */
static void sqn_pkg_fs_body(struct sqn__pkg_out *o,
                            const struct sqn_image_version *v) {
  static const char names[] = "sqfsovl1\0/.overlay\0/.overlay/etc\0"
                              "/.overlay/etc/sqn_config.xml\0"
                              "/.overlay/var/lib/lte\0";
  struct sqn__pkg_rng rng;
  sqn__pkg_out_bytes(o, names, sizeof names);
  sqn__pkg_rng_seed(&rng, v, 0x66730000u);
  sqn__pkg_out_filler(o, &rng, SQN_PKG_FS_BODY - sizeof names);
}

static void sqn_pkg_upgr(struct sqn__pkg_out *o, const struct sqn_pkg_opts *opt,
                         const struct sqn_pkg_layout *l, enum sqn_pkg_rec r) {
  struct sqn_fletcher f;
  struct sqn_pkg_elf_opts e = {.version = opt->version};
  uint8_t t[4];
  char descr[SQN_CABA_DESCR_MAX];

  sqn__pkg_out_push(o, &f);
  sqn_pkg_v3_header(o, "UPGR", l->rec[r].data_size,
                    sqn_pkg_descr_of(opt, r, descr, sizeof descr));
  sqn__pkg_put_le32(t, sqn_pkg_recs[r].target);
  sqn__pkg_out_bytes(o, t, sizeof t);
  switch (r) {
  case SQN_PKG_REC_BOOT:
    sqn_pkg_boot_body(o, opt->bootrom.found ? &opt->bootrom : &opt->version);
    break;
  case SQN_PKG_REC_UPDATER:
    if (opt->updater.found)
      e.version = opt->updater;
    e.label = "updater";
    sqn_pkg_fff_image(o, &e);
    break;
  case SQN_PKG_REC_FFF:
    e.label = "fff";
    e.filler = l->filler;
    sqn_pkg_fff_image(o, &e);
    break;
  case SQN_PKG_REC_FS:
  default:
    sqn_pkg_fs_body(o, &opt->version);
    break;
  }
  sqn__pkg_out_pop(o);
  sqn_pkg_sum_le(o, &f);
}

int sqn_pkg_build(const struct sqn_pkg_opts *o, sqn_pkg_write_cb write,
                  void *user) {
  struct sqn_pkg_layout l;
  struct sqn__pkg_out out;
  struct sqn_fletcher pack;
  int rc;

  if (!write)
    return SQN_PKG_E_INVAL;
  rc = sqn_pkg_layout(o, &l);
  if (rc)
    return rc;
  sqn__pkg_out_init(&out, write, user);
  if (l.has_pack) {
    sqn__pkg_out_push(&out, &pack);
    sqn_pkg_v3_header(&out, "PACK", (uint32_t)sqn_pkg_pack_data(&l),
                      sqn_pkg_pack_descr);
  }
  for (unsigned r = 0; r < SQN_PKG_REC_COUNT; r++)
    if (l.rec[r].present)
      sqn_pkg_upgr(&out, o, &l, (enum sqn_pkg_rec)r);
  if (l.has_pack) {
    sqn__pkg_out_pop(&out);
    sqn_pkg_sum_le(&out, &pack);
  }
  return out.err;
}

int sqn_pkg_build_buf(const struct sqn_pkg_opts *o, uint8_t *buf, size_t cap,
                      size_t *out_len) {
  struct sqn__pkg_bufsink s = {buf, cap, 0};
  struct sqn_pkg_layout l;
  int rc = sqn_pkg_layout(o, &l);
  if (rc)
    return rc;
  if (!buf && cap)
    return SQN_PKG_E_INVAL;
  if (l.total > cap)
    return SQN_PKG_E_NOSPACE;
  rc = sqn_pkg_build(o, sqn__pkg_bufsink_write, &s);
  if (!rc && out_len)
    *out_len = s.len;
  return rc;
}

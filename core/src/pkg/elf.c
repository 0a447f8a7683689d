/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF32 builder: a small, valid, big-endian executable that stands for
 * Monarch's updater.elf and serves as the payload of synthetic FFF! images.
 * It is not code for any real core; it only has to look right to a parser
 * and to the modem model (which checks 7F 45 4C 46).
 *
 *   offset  size  what
 *        0    52  Elf32_Ehdr  (ELFCLASS32, ELFDATA2MSB, ET_EXEC, EM 0xA7)
 *       52    32  Elf32_Phdr  PT_LOAD, offset 0, the whole file, RWX
 *       84   128  .rodata     "<label> A.B.C.D [BUILD]\0" + a disclaimer
 *      212    32  .text       made-up instruction words (entry point)
 *      244    32  .shstrtab   section names
 *      276   200  Elf32_Shdr  x5: null .rodata .text .data .shstrtab
 *      476     F  .data       deterministic filler, any length
 *
 * The version string comes right after the headers so that it is the first
 * "A.B.C.D [BUILD]" text of any record that carries the ELF (modem-model.md
 * section 6); the filler is last so that the image can grow to any size
 * without moving anything else.
 */
#include <string.h>

#include "pkg_internal.h"

#define SQN_ELF_EHDR 52u
#define SQN_ELF_PHDR 32u
#define SQN_ELF_SHDR 40u
#define SQN_ELF_RODATA_OFF 84u
#define SQN_ELF_RODATA_LEN 128u
#define SQN_ELF_TEXT_OFF 212u
#define SQN_ELF_TEXT_LEN 32u
#define SQN_ELF_SHSTR_OFF 244u
#define SQN_ELF_SHSTR_LEN 32u
#define SQN_ELF_SHDRS_OFF 276u
#define SQN_ELF_SHNUM 5u
#define SQN_ELF_DATA_OFF (SQN_ELF_SHDRS_OFF + SQN_ELF_SHNUM * SQN_ELF_SHDR)
#define SQN_ELF_BASE 0x00100000u /* load address; arbitrary */

_Static_assert(SQN_ELF_DATA_OFF == SQN_PKG_ELF_FIXED, "ELF layout drifted");

/* ".rodata" at 1, ".text" at 9, ".data" at 15, ".shstrtab" at 21. */
static const char sqn_elf_shstrtab[SQN_ELF_SHSTR_LEN] =
    "\0.rodata\0.text\0.data\0.shstrtab";

/* Fixed bytes standing for code: a recognisable pattern, nothing more. */
static const uint8_t sqn_elf_text[SQN_ELF_TEXT_LEN] = {
    0x27, 0xbd, 0xff, 0xe0, 0xaf, 0xbf, 0x00, 0x1c, 0x3c, 0x04, 0x00, 0x10,
    0x24, 0x84, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x53, 0x51, 0x4e, 0x21};

static const char sqn_elf_disclaimer[] =
    "synthetic sqnup test image, not Sequans firmware";

int sqn__pkg_elf_check(const struct sqn_pkg_elf_opts *e) {
  if (!e || !e->version.found)
    return SQN_PKG_E_INVAL;
  if (e->label && strlen(e->label) > SQN_PKG_LABEL_MAX)
    return SQN_PKG_E_INVAL;
  if (e->filler > UINT32_MAX - SQN_PKG_ELF_FIXED)
    return SQN_PKG_E_SIZE_TOO_LARGE;
  return 0;
}

uint64_t sqn_pkg_elf_size(const struct sqn_pkg_elf_opts *o) {
  return (uint64_t)SQN_PKG_ELF_FIXED + (o ? o->filler : 0);
}

static void sqn_elf_shdr(uint8_t *p, uint32_t name, uint32_t type,
                         uint32_t flags, uint32_t addr, uint32_t off,
                         uint32_t size, uint32_t align) {
  memset(p, 0, SQN_ELF_SHDR);
  sqn__pkg_put_be32(p + 0, name);
  sqn__pkg_put_be32(p + 4, type);
  sqn__pkg_put_be32(p + 8, flags);
  sqn__pkg_put_be32(p + 12, addr);
  sqn__pkg_put_be32(p + 16, off);
  sqn__pkg_put_be32(p + 20, size);
  /* sh_link, sh_info 0 */
  sqn__pkg_put_be32(p + 32, align);
  /* sh_entsize 0 */
}

void sqn__pkg_elf_emit(struct sqn__pkg_out *o, const struct sqn_pkg_elf_opts *e) {
  uint8_t h[SQN_ELF_SHDRS_OFF]; /* everything before the section headers */
  uint8_t sh[SQN_ELF_SHNUM * SQN_ELF_SHDR];
  uint32_t total = SQN_PKG_ELF_FIXED + e->filler;
  const char *label = e->label ? e->label : "image";
  char vtext[40];
  size_t n;

  memset(h, 0, sizeof h);
  /* e_ident */
  h[0] = 0x7f;
  h[1] = 'E';
  h[2] = 'L';
  h[3] = 'F';
  h[4] = 1; /* ELFCLASS32 */
  h[5] = 2; /* ELFDATA2MSB */
  h[6] = 1; /* EV_CURRENT */
  sqn__pkg_put_be16(h + 16, 2); /* ET_EXEC */
  sqn__pkg_put_be16(h + 18, SQN_PKG_ELF_MACHINE);
  sqn__pkg_put_be32(h + 20, 1); /* e_version */
  sqn__pkg_put_be32(h + 24, SQN_ELF_BASE + SQN_ELF_TEXT_OFF); /* e_entry */
  sqn__pkg_put_be32(h + 28, SQN_ELF_EHDR);                   /* e_phoff */
  sqn__pkg_put_be32(h + 32, SQN_ELF_SHDRS_OFF);              /* e_shoff */
  sqn__pkg_put_be32(h + 36, 0);                              /* e_flags */
  sqn__pkg_put_be16(h + 40, SQN_ELF_EHDR);
  sqn__pkg_put_be16(h + 42, SQN_ELF_PHDR);
  sqn__pkg_put_be16(h + 44, 1);
  sqn__pkg_put_be16(h + 46, SQN_ELF_SHDR);
  sqn__pkg_put_be16(h + 48, SQN_ELF_SHNUM);
  sqn__pkg_put_be16(h + 50, 4); /* e_shstrndx: .shstrtab */

  /* One PT_LOAD over the whole file. */
  uint8_t *ph = h + SQN_ELF_EHDR;
  sqn__pkg_put_be32(ph + 0, 1);            /* PT_LOAD */
  sqn__pkg_put_be32(ph + 4, 0);            /* p_offset */
  sqn__pkg_put_be32(ph + 8, SQN_ELF_BASE); /* p_vaddr */
  sqn__pkg_put_be32(ph + 12, SQN_ELF_BASE);
  sqn__pkg_put_be32(ph + 16, total);
  sqn__pkg_put_be32(ph + 20, total);
  sqn__pkg_put_be32(ph + 24, 7); /* PF_R | PF_W | PF_X */
  sqn__pkg_put_be32(ph + 28, 4);

  /* .rodata: "<label> 5.1.1.0 [38638]\0<disclaimer>\0", zero padded. */
  char *ro = (char *)h + SQN_ELF_RODATA_OFF;
  n = strlen(label);
  memcpy(ro, label, n);
  ro[n++] = ' ';
  int vl = sqn_pkg_version_text(&e->version, vtext, sizeof vtext);
  memcpy(ro + n, vtext, (size_t)vl);
  n += (size_t)vl + 1;
  memcpy(ro + n, sqn_elf_disclaimer, sizeof sqn_elf_disclaimer);

  memcpy(h + SQN_ELF_TEXT_OFF, sqn_elf_text, sizeof sqn_elf_text);
  memcpy(h + SQN_ELF_SHSTR_OFF, sqn_elf_shstrtab, sizeof sqn_elf_shstrtab);

  memset(sh, 0, SQN_ELF_SHDR); /* [0] SHN_UNDEF */
  sqn_elf_shdr(sh + 1 * SQN_ELF_SHDR, 1, 1 /* PROGBITS */, 2 /* A */,
               SQN_ELF_BASE + SQN_ELF_RODATA_OFF, SQN_ELF_RODATA_OFF,
               SQN_ELF_RODATA_LEN, 4);
  sqn_elf_shdr(sh + 2 * SQN_ELF_SHDR, 9, 1, 6 /* AX */,
               SQN_ELF_BASE + SQN_ELF_TEXT_OFF, SQN_ELF_TEXT_OFF,
               SQN_ELF_TEXT_LEN, 4);
  sqn_elf_shdr(sh + 3 * SQN_ELF_SHDR, 15, 1, 3 /* WA */,
               SQN_ELF_BASE + SQN_ELF_DATA_OFF, SQN_ELF_DATA_OFF, e->filler, 1);
  sqn_elf_shdr(sh + 4 * SQN_ELF_SHDR, 21, 3 /* STRTAB */, 0, 0,
               SQN_ELF_SHSTR_OFF, SQN_ELF_SHSTR_LEN - 1, 1);

  sqn__pkg_out_bytes(o, h, sizeof h);
  sqn__pkg_out_bytes(o, sh, sizeof sh);

  struct sqn__pkg_rng rng;
  sqn__pkg_rng_seed(&rng, &e->version, 0x454c4600u ^ (uint32_t)n);
  sqn__pkg_out_filler(o, &rng, e->filler);
}

int sqn_pkg_elf_build(const struct sqn_pkg_elf_opts *o, sqn_pkg_write_cb write,
                      void *user) {
  struct sqn__pkg_out out;
  int rc = sqn__pkg_elf_check(o);
  if (rc)
    return rc;
  if (!write)
    return SQN_PKG_E_INVAL;
  sqn__pkg_out_init(&out, write, user);
  sqn__pkg_elf_emit(&out, o);
  return out.err;
}

int sqn_pkg_elf_build_buf(const struct sqn_pkg_elf_opts *o, uint8_t *buf,
                          size_t cap, size_t *out_len) {
  struct sqn__pkg_bufsink s = {buf, cap, 0};
  int rc = sqn__pkg_elf_check(o);
  if (rc)
    return rc;
  if (!buf && cap)
    return SQN_PKG_E_INVAL;
  if (sqn_pkg_elf_size(o) > cap)
    return SQN_PKG_E_NOSPACE;
  rc = sqn_pkg_elf_build(o, sqn__pkg_bufsink_write, &s);
  if (!rc && out_len)
    *out_len = s.len;
  return rc;
}

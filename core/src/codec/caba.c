/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming CABA walker: validates a .dup package as its bytes arrive.
 *
 * A package is a sequence of records; a PACK record's data is itself a
 * sequence of records. Every open record is a level on a small stack
 * (SQN_CABA_MAX_DEPTH), and the innermost level owns each incoming byte:
 *
 *   offset  +0        +hdr_len      +descr       +data_size     +sig
 *           | header  | description | data        | signature   |
 *   phase   HDR ----> DESCR ------> DATA -------> SIG --------> (pop)
 *                        BEGIN event  DATA events   END event
 *
 *   header v1 20 B: magic ver=1 flags size data_sum hdr_sum
 *          v2 16 B: magic ver=2 flags size sig_type sig_size
 *          v3 18 B: magic ver=3 flags size sig_type sig_size descr_size
 *
 * Bytes of a child are also data of every enclosing PACK, so each run a
 * level consumes is added to the sums of all its ancestors as well. Leaf
 * data is processed in runs (checksums, memchr for the version text), never
 * byte by byte, so the walker runs at memory speed.
 *
 * UPGR data has its own small machine (`part`):
 *
 *   TARGET (4 B) --boot/3--> OPAQUE
 *                --2/8-----> FFF_HDR (40 B) -> FFF_PAYLOAD -> FFF_TRAILER -> DONE
 *
 * Every failure goes through sqn_caba_fail(), which records the first error
 * only (sticky). Blame: the reported record is the innermost one that
 * contains the defect. Two cases need care because a size field decides
 * where the next header is read from:
 *
 *  - a child that does not fit its parent may have a damaged size itself, or
 *    sit in a parent whose size is damaged. The walker keeps walking the
 *    child (events suppressed, "pending"): if the child then verifies, the
 *    parent is blamed, otherwise the child. Either way the report is
 *    BAD_SIZE.
 *  - a child "header" without a valid magic or version is usually no header
 *    at all: the parent's size or header, or an unsigned sibling's size, is
 *    what is damaged. The enclosing PACK (which contains all of them) is
 *    blamed; see sqn_caba_hdr_blame().
 */
#include "sqnup/caba.h"

#include <string.h>

enum sqn_caba_phase {
  SQN_CABA_PH_HDR,
  SQN_CABA_PH_DESCR,
  SQN_CABA_PH_DATA,
  SQN_CABA_PH_SIG
};

enum sqn_caba_part {
  SQN_CABA_PART_OPAQUE,
  SQN_CABA_PART_TARGET,
  SQN_CABA_PART_FFF_HDR,
  SQN_CABA_PART_FFF_PAYLOAD,
  SQN_CABA_PART_FFF_TRAILER,
  SQN_CABA_PART_DONE
};

#define SQN_CABA_MIN_HDR 6u                  /* magic + version */
#define SQN_CABA_SCAN_KEEP sizeof(((struct sqn_caba_level *)0)->scan)

/* ---- errors ---- */

const char *sqn_caba_strerror(int err) {
  switch (err) {
  case SQN_CABA_OK:
    return "ok";
#define XX(name, val, text)                                                   \
  case SQN_CABA_E_##name:                                                     \
    return text;
    SQN_CABA_ERR_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

const char *sqn_caba_err_name(int err) {
  switch (err) {
  case SQN_CABA_OK:
    return "OK";
#define XX(name, val, text)                                                   \
  case SQN_CABA_E_##name:                                                     \
    return #name;
    SQN_CABA_ERR_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}

/* ---- helpers ---- */

static uint16_t sqn_caba_rd16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t sqn_caba_rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static size_t sqn_caba_min(size_t a, uint64_t b) {
  return b < a ? (size_t)b : a;
}

static bool sqn_caba_is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static struct sqn_caba_level *sqn_caba_top(struct sqn_caba_walker *w) {
  return &w->lv[w->depth - 1];
}

/* The one failure path. `blame` is the level index of the record to report
 * (-1: none). While a child overflows its parent (pending), any failure
 * means the child's own bytes are bad, so the child's BAD_SIZE is reported. */
static void sqn_caba_fail(struct sqn_caba_walker *w, int code, uint64_t off,
                          int blame) {
  if (w->err)
    return;
  if (w->pend >= 0) {
    code = SQN_CABA_E_BAD_SIZE;
    off = w->pend_offset;
    blame = w->pend;
  }
  w->err = code;
  w->err_offset = off;
  if (blame >= 0 && blame < w->depth) {
    w->err_record = w->lv[blame].rec.offset;
    memcpy(w->err_magic, w->lv[blame].rec.magic, sizeof w->err_magic);
  } else {
    w->err_record = off;
    w->err_magic[0] = '\0';
  }
}

/* Blame for a defect in the innermost record's header or description. A
 * header may be misplaced rather than damaged when an enclosing size is
 * wrong; the enclosing record, which holds both, is then blamed:
 *  - no valid magic/version (or a header cut by the end of the stream):
 *    these are not record bytes at all, e.g. the parent's size grew and its
 *    signature is read as a child, or the parent's version/description size
 *    is damaged and the first child is read from the wrong place;
 *  - the previous sibling carried no checksum: its size may be wrong.
 * err_offset still names the exact byte. */
static int sqn_caba_hdr_blame(const struct sqn_caba_walker *w, int code) {
  int idx = w->depth - 1;
  if (idx < 1)
    return idx;
  if (code == SQN_CABA_E_BAD_MAGIC || code == SQN_CABA_E_BAD_VERSION ||
      code == SQN_CABA_E_TRUNCATED || w->lv[idx - 1].prev_unsigned)
    return idx - 1;
  return idx;
}

/* Fail with a header/description defect of the innermost record. */
static void sqn_caba_fail_hdr(struct sqn_caba_walker *w, int code,
                              uint64_t off) {
  sqn_caba_fail(w, code, off, sqn_caba_hdr_blame(w, code));
}

static int sqn_caba_emit(struct sqn_caba_walker *w, enum sqn_caba_event ev,
                         struct sqn_caba_level *l, const uint8_t *data,
                         size_t len) {
  if (w->pend >= 0 || !w->cb)
    return 0;
  if (w->cb(w->user, ev, &l->rec, data, len) != 0) {
    sqn_caba_fail(w, SQN_CABA_E_ABORTED, w->offset, w->depth - 1);
    return -1;
  }
  return 0;
}

/*
 * Every byte of a child is data of each enclosing record: the same bytes
 * go into the sums of the records at levels [0, to) plus `extra` (an FFF
 * image's own sum). The Fletcher sums share one pass over the bytes
 * (sqn_fletcher_update_many), so a byte of an fff image inside an UPGR
 * record inside a PACK is read once, not three times.
 */
static void sqn_caba_sum_levels(struct sqn_caba_walker *w, int to,
                                struct sqn_fletcher *extra, const uint8_t *p,
                                size_t n) {
  struct sqn_fletcher *fs[SQN_CABA_MAX_DEPTH + 1];
  size_t k = 0;
  if (!n)
    return;
  if (extra)
    fs[k++] = extra;
  for (int i = 0; i < to; i++) {
    struct sqn_caba_level *l = &w->lv[i];
    if (l->sum_fl)
      fs[k++] = &l->fl;
    if (l->sum_crc)
      l->crc32 = sqn_crc32(l->crc32, p, n);
  }
  sqn_fletcher_update_many(fs, k, p, n);
}

/* Into the innermost record's sum and those around it. */
static void sqn_caba_sum(struct sqn_caba_walker *w, const uint8_t *p,
                         size_t n) {
  sqn_caba_sum_levels(w, w->depth, NULL, p, n);
}

/* Into the sums of the records around the innermost one only. */
static void sqn_caba_sum_outer(struct sqn_caba_walker *w, const uint8_t *p,
                               size_t n) {
  sqn_caba_sum_levels(w, w->depth - 1, NULL, p, n);
}

static void sqn_caba_advance(struct sqn_caba_walker *w, size_t n) {
  w->offset += n;
  for (int i = 0; i < w->depth; i++)
    w->lv[i].pos += n;
}

/* ---- version text scanner ---- */

/* Read a decimal number that ends just before s[*j], going backwards; at
 * most `maxd` digits and value <= `maxv`. A longer digit run is no match. */
static bool sqn_caba_back_num(const uint8_t *s, size_t *j, unsigned maxd,
                              uint32_t maxv, uint32_t *out) {
  unsigned d = 0;
  while (d < *j && d <= maxd && sqn_caba_is_digit(s[*j - 1 - d]))
    d++;
  if (d == 0 || d > maxd)
    return false;
  uint64_t v = 0;
  for (size_t k = *j - d; k < *j; k++)
    v = v * 10 + (uint64_t)(s[k] - '0');
  if (v > maxv)
    return false;
  *j -= d;
  *out = (uint32_t)v;
  return true;
}

/* Match "A.B.C.D [BUILD]" ending at s[close] == ']'. s[0] is either the
 * start of the record data or far enough back (the text is at most 36
 * bytes, and one more byte tells a 6th digit of A). */
static bool sqn_caba_version_at(const uint8_t *s, size_t close,
                                struct sqn_image_version *v) {
  size_t j = close;
  uint32_t x[4], build;
  if (!sqn_caba_back_num(s, &j, 10, UINT32_MAX, &build))
    return false;
  if (j < 2 || s[j - 1] != '[' || s[j - 2] != ' ')
    return false;
  j -= 2;
  for (int k = 3; k >= 0; k--) {
    if (!sqn_caba_back_num(s, &j, 5, 0xFFFFu, &x[k]))
      return false;
    if (k > 0) {
      if (j == 0 || s[j - 1] != '.')
        return false;
      j--;
    }
  }
  v->found = true;
  for (int k = 0; k < 4; k++)
    v->v[k] = (uint16_t)x[k];
  v->build = build;
  return true;
}

static void sqn_caba_scan(struct sqn_caba_level *l, const uint8_t *p,
                          size_t n) {
  const size_t keep = SQN_CABA_SCAN_KEEP;
  const uint8_t *q = p;
  size_t left = n;
  const uint8_t *c;
  while (left && (c = memchr(q, ']', left)) != NULL) {
    size_t i = (size_t)(c - p);
    if (i >= keep) {
      if (sqn_caba_version_at(p, i, &l->rec.image))
        return;
    } else {
      /* The text may start in earlier chunks: join the kept tail. */
      uint8_t tmp[2 * sizeof l->scan];
      memcpy(tmp, l->scan, l->scan_len);
      memcpy(tmp + l->scan_len, p, i + 1);
      if (sqn_caba_version_at(tmp, l->scan_len + i, &l->rec.image))
        return;
    }
    left -= (size_t)(c - q) + 1;
    q = c + 1;
  }
  if (n >= keep) {
    memcpy(l->scan, p + n - keep, keep);
    l->scan_len = (uint8_t)keep;
    return;
  }
  size_t total = l->scan_len + n;
  if (total > keep) {
    size_t drop = total - keep;
    memmove(l->scan, l->scan + drop, l->scan_len - drop);
    l->scan_len = (uint8_t)(l->scan_len - drop);
  }
  memcpy(l->scan + l->scan_len, p, n);
  l->scan_len = (uint8_t)(l->scan_len + n);
}

/* ---- UPGR data: target id and FFF! image ---- */

static bool sqn_caba_fff_slim(const uint8_t *h) {
  static const uint8_t tail[8] = {0, 0, 0, 0, 1, 0, 4, 0};
  if (sqn_caba_rd32(h + 4) != 0 || !(sqn_caba_rd32(h + 8) & 1u))
    return false;
  for (int i = 12; i < 28; i++)
    if (h[i])
      return false;
  return memcmp(h + 32, tail, sizeof tail) == 0;
}

/* Parse a run of UPGR data. Returns the
 * number of bytes before the byte at which a defect was found (n if none),
 * so that DATA events never include the byte that failed. Image payload
 * bytes go into the image's sum together with the record sums in one pass;
 * *summed tells the caller how much of the run the record sums have had. */
static size_t sqn_caba_upgr(struct sqn_caba_walker *w, struct sqn_caba_level *l,
                            const uint8_t *p, size_t n, size_t *summed) {
  const int me = w->depth - 1;
  uint64_t data0 = l->descr_end; /* stream offset of the data */
  size_t i = 0;
  while (i < n) {
    size_t take;
    switch (l->part) {
    case SQN_CABA_PART_TARGET:
      take = sqn_caba_min(n - i, 4 - l->part_pos);
      memcpy(l->tgt + l->part_pos, p + i, take);
      l->part_pos += take;
      i += take;
      if (l->part_pos < 4)
        break;
      l->rec.has_target = true;
      l->rec.target = sqn_caba_rd32(l->tgt);
      switch (l->rec.target) {
      case SQN_CABA_TARGET_FFF:
      case SQN_CABA_TARGET_UPDATER:
        l->part = SQN_CABA_PART_FFF_HDR;
        l->part_pos = 0;
        sqn_fletcher_init(&l->fff);
        break;
      case SQN_CABA_TARGET_BOOT:
      case SQN_CABA_TARGET_FS:
        l->part = SQN_CABA_PART_OPAQUE;
        break;
      default:
        sqn_caba_fail(w, SQN_CABA_E_BAD_TARGET, data0, me);
        return i - 1;
      }
      break;
    case SQN_CABA_PART_FFF_HDR: {
      uint64_t had = l->part_pos;
      take = sqn_caba_min(n - i, SQN_FFF_HDR_LEN - had);
      memcpy(l->fff_hdr + had, p + i, take);
      sqn_fletcher_update(&l->fff, p + i, take);
      l->part_pos += take;
      i += take;
      if (had < 4 && l->part_pos >= 4 && memcmp(l->fff_hdr, "FFF!", 4) != 0) {
        sqn_caba_fail(w, SQN_CABA_E_BAD_FFF_MAGIC, data0 + 4, me);
        return i - (size_t)(l->part_pos - 3);
      }
      if (l->part_pos < SQN_FFF_HDR_LEN)
        break;
      if (!sqn_caba_fff_slim(l->fff_hdr)) {
        sqn_caba_fail(w, SQN_CABA_E_BAD_FFF_HEADER, data0 + 4, me);
        return i - 1;
      }
      l->rec.has_fff = true;
      l->rec.fff_payload_len = sqn_caba_rd32(l->fff_hdr + 28);
      if ((uint64_t)l->rec.fff_payload_len + 4 + SQN_FFF_HDR_LEN + 4 !=
          l->rec.data_size) {
        sqn_caba_fail(w, SQN_CABA_E_BAD_FFF_LEN, data0 + 4 + 28, me);
        return i - 1;
      }
      l->part = SQN_CABA_PART_FFF_PAYLOAD;
      l->part_pos = 0;
      break;
    }
    case SQN_CABA_PART_FFF_PAYLOAD:
      take = sqn_caba_min(n - i, l->rec.fff_payload_len - l->part_pos);
      /* The record sums take the bytes before the payload first (order
       * matters), then the payload together with the image's own sum. */
      sqn_caba_sum(w, p + *summed, i - *summed);
      sqn_caba_sum_levels(w, w->depth, &l->fff, p + i, take);
      *summed = i + take;
      l->part_pos += take;
      i += take;
      if (l->part_pos == l->rec.fff_payload_len) {
        l->part = SQN_CABA_PART_FFF_TRAILER;
        l->part_pos = 0;
      }
      break;
    case SQN_CABA_PART_FFF_TRAILER:
      take = sqn_caba_min(n - i, 4 - l->part_pos);
      memcpy(l->tail + l->part_pos, p + i, take);
      l->part_pos += take;
      i += take;
      if (l->part_pos < 4)
        break;
      if (sqn_fletcher_final(&l->fff) != sqn_caba_rd32(l->tail)) {
        sqn_caba_fail(w, SQN_CABA_E_BAD_FFF_SUM,
                      data0 + 4 + SQN_FFF_HDR_LEN + l->rec.fff_payload_len,
                      me);
        return i - 1;
      }
      l->part = SQN_CABA_PART_DONE;
      break;
    default: /* OPAQUE, DONE: the FFF! length check leaves nothing after */
      i = n;
      break;
    }
  }
  return n;
}

/* ---- record structure ---- */

static int sqn_caba_push(struct sqn_caba_walker *w) {
  if (w->depth == SQN_CABA_MAX_DEPTH) {
    sqn_caba_fail(w, SQN_CABA_E_TOO_DEEP, w->offset, w->depth - 1);
    return -1;
  }
  if (w->depth > 0) {
    const struct sqn_caba_level *parent = sqn_caba_top(w);
    if (parent->data_end - w->offset < SQN_CABA_MIN_HDR) {
      sqn_caba_fail(w, SQN_CABA_E_BAD_SIZE, w->offset, w->depth - 1);
      return -1;
    }
  }
  struct sqn_caba_level *l = &w->lv[w->depth];
  memset(l, 0, sizeof *l);
  l->rec.offset = w->offset;
  l->rec.depth = (uint8_t)w->depth;
  l->phase = SQN_CABA_PH_HDR;
  w->depth++;
  w->hdr_have = 0;
  w->hdr_need = SQN_CABA_MIN_HDR;
  return 0;
}

/* The fixed header is complete in w->hdr: check it and lay out the record. */
static int sqn_caba_header_done(struct sqn_caba_walker *w,
                                struct sqn_caba_level *l) {
  const uint8_t *h = w->hdr;
  struct sqn_caba_record *r = &l->rec;
  uint64_t off = r->offset;
  r->flags = sqn_caba_rd16(h + 6);
  r->data_size = sqn_caba_rd32(h + 8);
  if (r->version == 1) {
    uint8_t tmp[20];
    memcpy(tmp, h, 16);
    memset(tmp + 16, 0, 4);
    if (sqn_fletcher32(tmp, sizeof tmp) != sqn_caba_rd32(h + 16)) {
      sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_HDR_SUM, off + 16);
      return -1;
    }
    l->v1_data_sum = sqn_caba_rd32(h + 12);
    l->sum_fl = 1;
    sqn_fletcher_init(&l->fl);
  } else {
    r->sig_type = sqn_caba_rd16(h + 12);
    r->sig_size = sqn_caba_rd16(h + 14);
    if (r->sig_type != 0 && r->sig_type != 1 && r->sig_type != 4) {
      sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_SIG_TYPE, off + 12);
      return -1;
    }
    if (r->sig_size != (r->sig_type ? 4 : 0)) {
      sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_SIG_SIZE, off + 14);
      return -1;
    }
    if (r->version == 3) {
      r->descr_size = sqn_caba_rd16(h + 16);
      if (r->descr_size == 0) {
        sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_DESCR, off + 16);
        return -1;
      }
    }
    if (r->sig_type == 1) {
      l->sum_fl = 1;
      sqn_fletcher_init(&l->fl);
      sqn_fletcher_update(&l->fl, h, l->hdr_len);
    } else if (r->sig_type == 4) {
      l->sum_crc = 1;
      l->crc32 = sqn_crc32(0, h, l->hdr_len);
    }
  }
  l->descr_end = off + l->hdr_len + r->descr_size;
  l->data_end = l->descr_end + r->data_size;
  l->end = l->data_end + r->sig_size;
  r->length = l->end - off;
  l->is_pack = memcmp(r->magic, "PACK", 4) == 0;
  l->part = memcmp(r->magic, "UPGR", 4) == 0 ? SQN_CABA_PART_TARGET
                                             : SQN_CABA_PART_OPAQUE;
  if (w->depth >= 2 && l->end > w->lv[w->depth - 2].data_end) {
    if (w->pend >= 0) {
      sqn_caba_fail(w, SQN_CABA_E_BAD_SIZE, off + 8, w->depth - 1);
      return -1;
    }
    w->pend = w->depth - 1;
    w->pend_offset = off + 8;
  }
  l->phase = SQN_CABA_PH_DESCR; /* empty for v1/v2: BEGIN comes at once */
  return 0;
}

/* The first bad magic byte among the `have` collected, or -1. */
static int sqn_caba_bad_magic(const uint8_t *h, size_t have) {
  for (size_t k = 0; k < have && k < 4; k++)
    if (h[k] < 0x20 || h[k] > 0x7E)
      return (int)k;
  return -1;
}

/* Collect fixed header bytes; each check runs once its bytes are all in. */
static size_t sqn_caba_step_hdr(struct sqn_caba_walker *w,
                                struct sqn_caba_level *l, const uint8_t *p,
                                size_t len) {
  size_t had = w->hdr_have;
  size_t n = sqn_caba_min(len, w->hdr_need - had);
  uint64_t off = l->rec.offset;
  memcpy(w->hdr + had, p, n);
  sqn_caba_sum_outer(w, p, n);
  sqn_caba_advance(w, n);
  w->hdr_have += n;
  if (had < 4 && w->hdr_have >= 4) {
    int k = sqn_caba_bad_magic(w->hdr, 4);
    if (k >= 0) {
      sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_MAGIC, off + (uint64_t)k);
      return n;
    }
    memcpy(l->rec.magic, w->hdr, 4);
  }
  if (had < SQN_CABA_MIN_HDR && w->hdr_have == SQN_CABA_MIN_HDR) {
    l->rec.version = sqn_caba_rd16(w->hdr + 4);
    switch (l->rec.version) {
    case 1: l->hdr_len = 20; break;
    case 2: l->hdr_len = 16; break;
    case 3: l->hdr_len = 18; break;
    default:
      sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_VERSION, off + 4);
      return n;
    }
    if (w->depth >= 2 && w->lv[w->depth - 2].data_end - off < l->hdr_len) {
      sqn_caba_fail(w, SQN_CABA_E_BAD_SIZE, off, w->depth - 2);
      return n;
    }
    w->hdr_need = l->hdr_len;
  }
  if (w->hdr_have == w->hdr_need && w->hdr_have > SQN_CABA_MIN_HDR)
    sqn_caba_header_done(w, l);
  return n;
}

static size_t sqn_caba_step_descr(struct sqn_caba_walker *w,
                                  struct sqn_caba_level *l, const uint8_t *p,
                                  size_t len) {
  size_t n = sqn_caba_min(len, l->descr_end - w->offset);
  uint64_t idx = w->offset - (l->rec.offset + l->hdr_len);
  if (idx < SQN_CABA_DESCR_MAX - 1) {
    size_t c = sqn_caba_min(n, SQN_CABA_DESCR_MAX - 1 - idx);
    memcpy(l->rec.descr + idx, p, c);
  }
  l->last = p[n - 1];
  sqn_caba_sum(w, p, n);
  sqn_caba_advance(w, n);
  return n;
}

static size_t sqn_caba_step_data(struct sqn_caba_walker *w,
                                 struct sqn_caba_level *l, const uint8_t *p,
                                 size_t len) {
  size_t n = sqn_caba_min(len, l->data_end - w->offset);
  size_t good = n, summed = 0;
  if (l->part != SQN_CABA_PART_OPAQUE)
    good = sqn_caba_upgr(w, l, p, n, &summed);
  if (good && sqn_caba_emit(w, SQN_CABA_EV_DATA, l, p, good) != 0)
    return 0;
  if (w->err)
    return 0;
  sqn_caba_sum(w, p + summed, n - summed);
  if (!l->rec.image.found)
    sqn_caba_scan(l, p, n);
  sqn_caba_advance(w, n);
  return n;
}

static size_t sqn_caba_step_sig(struct sqn_caba_walker *w,
                                struct sqn_caba_level *l, const uint8_t *p,
                                size_t len) {
  size_t n = sqn_caba_min(len, l->rec.sig_size - l->tail_have);
  memcpy(l->tail + l->tail_have, p, n);
  l->tail_have += (uint32_t)n;
  sqn_caba_sum_outer(w, p, n);
  sqn_caba_advance(w, n);
  return n;
}

/* Checks at the end of a leaf's data. */
static int sqn_caba_data_done(struct sqn_caba_walker *w,
                              struct sqn_caba_level *l) {
  const int me = w->depth - 1;
  uint64_t data0 = l->descr_end;
  switch (l->part) {
  case SQN_CABA_PART_TARGET:
    sqn_caba_fail(w, SQN_CABA_E_BAD_TARGET, data0, me);
    return -1;
  case SQN_CABA_PART_FFF_HDR:
    sqn_caba_fail(w,
                  l->part_pos < 4 ? SQN_CABA_E_BAD_FFF_MAGIC
                                  : SQN_CABA_E_BAD_FFF_LEN,
                  data0 + 4, me);
    return -1;
  default: /* FFF! payload and trailer end with the data: length checked */
    break;
  }
  if (l->rec.version == 1 &&
      sqn_fletcher_final(&l->fl) != l->v1_data_sum) {
    sqn_caba_fail(w, SQN_CABA_E_BAD_DATA_SUM, l->rec.offset + 12, me);
    return -1;
  }
  return 0;
}

/* The record's last byte is in: verify, report, pop. */
static int sqn_caba_record_done(struct sqn_caba_walker *w,
                                struct sqn_caba_level *l) {
  const int me = w->depth - 1;
  struct sqn_caba_record *r = &l->rec;
  if (r->version != 1 && r->sig_type != 0) {
    uint32_t want =
        r->sig_type == 1 ? sqn_fletcher_final(&l->fl) : l->crc32;
    if (want != sqn_caba_rd32(l->tail)) {
      sqn_caba_fail(w, SQN_CABA_E_BAD_SIG, l->data_end, me);
      return -1;
    }
  }
  r->sig_ok = true;
  if (sqn_caba_emit(w, SQN_CABA_EV_END, l, NULL, 0) != 0)
    return -1;
  w->records++;
  bool checked = r->version == 1 || r->sig_type != 0;
  w->depth--;
  if (w->depth > 0)
    w->lv[w->depth - 1].prev_unsigned = !checked;
  if (w->pend == me) {
    /* The child that overflowed verified: its parent's size is wrong. */
    w->pend = -1;
    sqn_caba_fail(w, SQN_CABA_E_BAD_SIZE, w->pend_offset, w->depth - 1);
    return -1;
  }
  return 0;
}

/* Run every transition that needs no more input (empty sections, ends). */
static void sqn_caba_settle(struct sqn_caba_walker *w) {
  while (!w->err && w->depth > 0) {
    struct sqn_caba_level *l = sqn_caba_top(w);
    switch (l->phase) {
    case SQN_CABA_PH_DESCR:
      if (w->offset != l->descr_end)
        return;
      if (l->rec.version == 3 && l->last != 0) {
        sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_DESCR, l->descr_end - 1);
        return;
      }
      l->phase = SQN_CABA_PH_DATA;
      if (sqn_caba_emit(w, SQN_CABA_EV_BEGIN, l, NULL, 0) != 0)
        return;
      break;
    case SQN_CABA_PH_DATA:
      if (w->offset != l->data_end)
        return;
      if (!l->is_pack && sqn_caba_data_done(w, l) != 0)
        return;
      l->phase = SQN_CABA_PH_SIG;
      break;
    case SQN_CABA_PH_SIG:
      if (l->tail_have != l->rec.sig_size)
        return;
      if (sqn_caba_record_done(w, l) != 0)
        return;
      break;
    default: /* HDR needs bytes */
      return;
    }
  }
}

/* ---- public API ---- */

void sqn_caba_walker_init(struct sqn_caba_walker *w, sqn_caba_cb cb,
                          void *user) {
  memset(w, 0, sizeof *w);
  w->cb = cb;
  w->user = user;
  w->pend = -1;
}

int sqn_caba_walker_feed(struct sqn_caba_walker *w, const uint8_t *buf,
                         size_t len) {
  while (!w->err && len > 0) {
    struct sqn_caba_level *l = w->depth ? sqn_caba_top(w) : NULL;
    if (!l || (l->is_pack && l->phase == SQN_CABA_PH_DATA)) {
      if (sqn_caba_push(w) != 0)
        break;
      l = sqn_caba_top(w);
    }
    size_t n;
    switch (l->phase) {
    case SQN_CABA_PH_HDR:
      n = sqn_caba_step_hdr(w, l, buf, len);
      break;
    case SQN_CABA_PH_DESCR:
      n = sqn_caba_step_descr(w, l, buf, len);
      break;
    case SQN_CABA_PH_DATA:
      n = sqn_caba_step_data(w, l, buf, len);
      break;
    default:
      n = sqn_caba_step_sig(w, l, buf, len);
      break;
    }
    buf += n;
    len -= n;
    sqn_caba_settle(w);
  }
  return w->err;
}

int sqn_caba_walker_finish(struct sqn_caba_walker *w) {
  if (w->err)
    return w->err;
  if (w->offset == 0)
    sqn_caba_fail(w, SQN_CABA_E_EMPTY, 0, -1);
  else if (w->depth > 0 && sqn_caba_top(w)->phase == SQN_CABA_PH_HDR) {
    /* The stream ends inside a header: it may be no header at all. */
    struct sqn_caba_level *l = sqn_caba_top(w);
    int k = sqn_caba_bad_magic(w->hdr, w->hdr_have);
    if (k >= 0)
      sqn_caba_fail_hdr(w, SQN_CABA_E_BAD_MAGIC, l->rec.offset + (uint64_t)k);
    else
      sqn_caba_fail_hdr(w, SQN_CABA_E_TRUNCATED, w->offset);
  } else if (w->depth > 0)
    sqn_caba_fail(w, SQN_CABA_E_TRUNCATED, w->offset, w->depth - 1);
  return w->err;
}

int sqn_caba_walk(const uint8_t *buf, size_t len, sqn_caba_cb cb, void *user,
                  struct sqn_caba_walker *w) {
  struct sqn_caba_walker local;
  if (!w)
    w = &local;
  sqn_caba_walker_init(w, cb, user);
  sqn_caba_walker_feed(w, buf, len);
  return sqn_caba_walker_finish(w);
}
